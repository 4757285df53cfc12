#!/usr/bin/python3
"""Integration test for pipelines (pipeline.json): `nalar run MODEL_DIR --record/--json` and a
real `nalar serve` (/classify and named-feature KServe inference), against numpy.

    pipeline_test.py NALAR_BINARY

Models are made here with onnx.helper: a linear fraud classifier (Gemm, softmax, one-hot
category, bool and defaulted columns, labels.txt, a threshold), an ai.onnx.ml LinearClassifier
with string labels (label tensor + probabilities), a linear regressor, a tiny image classifier
(channel means -> Gemm; references from Pillow + numpy) and text "echo" models that return
their input_ids / attention_mask / token_type_ids (WordPiece vocab from models/text).
"""
import io
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import numpy as np
import onnx
from PIL import Image
from onnx import TensorProto, helper, numpy_helper

from nalar_process import free_port

NALAR = sys.argv[1]
VOCAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "text",
                     "vocab.txt")
FAILURES = []
RNG = np.random.default_rng(7)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def save(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.ir_version = 8
    onnx.save(model, path)


# ---- models ------------------------------------------------------------------------------
MERCHANTS = ["grocery", "travel", "casino", "online"]
FRAUD_W = (0.15 * RNG.normal(size=(8, 3))).astype(np.float32)
FRAUD_B = RNG.normal(size=3).astype(np.float32)
FRAUD_LABELS = ["legit", "review", "fraud"]
FRAUD_THRESHOLD = 0.01  # the fraud class is rare with these weights: decisions go both ways
FRAUD_PIPELINE = {
    "input": {"kind": "tabular", "columns": [
        {"name": "amount", "type": "number"},
        {"name": "merchant", "type": "category", "vocabulary": MERCHANTS, "encoding": "onehot"},
        {"name": "hour", "type": "number", "missing": 12},
        {"name": "card_present", "type": "bool", "missing": False},
        {"name": "distance_km", "type": "number", "missing": 0.0}]},
    "output": {"activation": "softmax", "top_k": 2, "threshold": FRAUD_THRESHOLD, "positive_index": 2},
}

IRIS_W = RNG.normal(size=(3, 4)).astype(np.float32)  # LinearClassifier coefficients [classes, F]
IRIS_B = RNG.normal(size=3).astype(np.float32)
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]

REG_W = RNG.normal(size=(3, 1)).astype(np.float32)
REG_B = np.array([0.5], np.float32)


def make_models(repo):
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "B"], ["logits"])], "fraud",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(FRAUD_W, "W"), numpy_helper.from_array(FRAUD_B, "B")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
         f"{repo}/fraud/1/model.onnx")
    with open(f"{repo}/fraud/pipeline.json", "w") as f:
        json.dump(FRAUD_PIPELINE, f)
    with open(f"{repo}/fraud/labels.txt", "w") as f:
        f.write("\n".join(FRAUD_LABELS) + "\n")

    node = helper.make_node("LinearClassifier", ["x"], ["label", "probabilities"],
                            domain="ai.onnx.ml", coefficients=IRIS_W.flatten().tolist(),
                            intercepts=IRIS_B.tolist(), classlabels_strings=IRIS_CLASSES,
                            multi_class=1, post_transform="SOFTMAX")
    g = helper.make_graph(
        [node], "iris", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, ["batch"]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                             helper.make_opsetid("ai.onnx.ml", 1)]),
         f"{repo}/iris/1/model.onnx")
    with open(f"{repo}/iris/pipeline.json", "w") as f:
        json.dump({"input": {"kind": "tabular", "columns": [
            {"name": n} for n in ["sepal_length", "sepal_width", "petal_length", "petal_width"]]},
            "output": {"top_k": 3}}, f)

    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "B"], ["y"])], "reg",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["batch", 1])],
        [numpy_helper.from_array(REG_W.astype(np.float64), "W"),
         numpy_helper.from_array(REG_B.astype(np.float64), "B")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
         f"{repo}/price/1/model.onnx")
    # An older version that must not be picked.
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
         f"{repo}/price/0/model.onnx")
    with open(f"{repo}/price/pipeline.json", "w") as f:
        json.dump({"input": {"kind": "tabular", "columns": [
            {"name": "rooms"}, {"name": "area"}, {"name": "age", "missing": 10}]},
            "output": {"task": "regression", "threshold": 2.0}}, f)


IMG_W = RNG.normal(size=(3, 3)).astype(np.float32)
IMG_B = RNG.normal(size=3).astype(np.float32)
IMG_LABELS = ["red", "green", "blue"]
IMG_MEAN, IMG_STD = 0.5, 0.25


def make_image_text_models(repo):
    g = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0),
         helper.make_node("Gemm", ["m", "W", "B"], ["logits"])], "img",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(IMG_W, "W"), numpy_helper.from_array(IMG_B, "B")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
         f"{repo}/colors/1/model.onnx")
    with open(f"{repo}/colors/pipeline.json", "w") as f:
        json.dump({"input": {"kind": "image", "mean": [IMG_MEAN] * 3, "std": [IMG_STD] * 3},
                   "output": {"activation": "softmax", "top_k": 3}}, f)
    with open(f"{repo}/colors/labels.txt", "w") as f:
        f.write("\n".join(IMG_LABELS) + "\n")

    # Text echo: values = ids, mask, type ids (as floats) side by side.
    def echo(name, seq, pipeline):
        names = ["input_ids", "attention_mask", "token_type_ids"]
        nodes = [helper.make_node("Cast", [n], [n + "_f"], to=TensorProto.FLOAT) for n in names]
        nodes.append(helper.make_node("Concat", [n + "_f" for n in names], ["echo"], axis=1))
        g = helper.make_graph(
            nodes, name, [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", seq])
                          for n in names],
            [helper.make_tensor_value_info("echo", TensorProto.FLOAT, ["batch", None])])
        save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
             f"{repo}/{name}/1/model.onnx")
        with open(f"{repo}/{name}/pipeline.json", "w") as f:
            json.dump(pipeline, f)
        with open(VOCAB) as src, open(f"{repo}/{name}/vocab.txt", "w") as dst:
            dst.write(src.read())

    echo("echo8", 8, {"input": {"kind": "text"}, "output": {"task": "regression"}})
    echo("echo_strict", "seq", {"input": {"kind": "text", "max_length": 6, "padding": "longest",
                                          "truncation": False},
                                "output": {"task": "regression"}})


def png_bytes(arr, fmt="PNG"):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def image_reference(data):
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if img.size != (8, 8):
        img = img.resize((8, 8), Image.BILINEAR)
    x = (np.asarray(img, np.float32) / 255.0 - IMG_MEAN) / IMG_STD
    return softmax(x.mean(axis=(0, 1)) @ IMG_W + IMG_B)


VOCAB_IDS = None


def wordpiece_ids(text, length=None):
    """Reference for the simple texts used here: lowercase words that are whole vocab entries."""
    global VOCAB_IDS
    if VOCAB_IDS is None:
        with open(VOCAB) as f:
            VOCAB_IDS = {w.rstrip("\n"): i for i, w in enumerate(f)}
    ids = [VOCAB_IDS["[CLS]"]] + [VOCAB_IDS[w] for w in text.lower().split()] + [VOCAB_IDS["[SEP]"]]
    return ids


def echo_values(ids, length):
    pad = length - len(ids)
    return ids + [0] * pad + [1] * len(ids) + [0] * pad + [0] * length


# ---- references --------------------------------------------------------------------------
def fraud_features(r):
    onehot = [1.0 if r.get("merchant") == m else 0.0 for m in MERCHANTS]
    cp = r.get("card_present", False)
    if isinstance(cp, str):
        cp = cp.lower() in ("true", "yes", "1")
    return [float(r["amount"])] + onehot + [float(r.get("hour", 12)), float(cp),
                                            float(r.get("distance_km", 0.0))]


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def fraud_reference(records):
    x = np.array([fraud_features(r) for r in records], np.float32)
    return softmax(x @ FRAUD_W + FRAUD_B)


def iris_reference(x):
    return softmax(np.asarray(x, np.float32) @ IRIS_W.T + IRIS_B)


def check_top(pred, probs, labels, k, what):
    order = np.argsort(-probs, kind="stable")[:k]
    got_idx = [t["index"] for t in pred["top"]]
    check(got_idx == order.tolist(), f"{what}: top-{k} indices {got_idx} == {order.tolist()}")
    got_p = np.array([t["probability"] for t in pred["top"]])
    check(np.allclose(got_p, probs[order], atol=1e-5), f"{what}: probabilities match numpy")
    check([t["label"] for t in pred["top"]] == [labels[i] for i in order], f"{what}: labels")


def records_for_test(n):
    out = []
    for i in range(n):
        r = {"amount": float(np.round(RNG.uniform(0.1, 4), 2)),
             "merchant": MERCHANTS[i % len(MERCHANTS)]}
        if i % 2 == 0:
            r["hour"] = int(RNG.integers(0, 24))
        if i % 3 == 0:
            r["card_present"] = bool(i % 2)
        if i % 4 == 1:
            r["distance_km"] = float(np.round(RNG.uniform(0, 50), 1))
        out.append(r)
    return out


# ---- nalar run ---------------------------------------------------------------------------
def run(*args):
    p = subprocess.run([NALAR, "run", *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_run(repo):
    records = records_for_test(6)
    args = [f"{repo}/fraud", "--json"]
    for r in records:
        args += ["--record", json.dumps(r)]
    rc, out, err = run(*args)
    check(rc == 0, f"run --record --json exits 0 ({err.strip()})")
    preds = json.loads(out) if rc == 0 else []
    check(len(preds) == len(records), "run --json: one prediction per record")
    ref = fraud_reference(records)
    for i, p in enumerate(preds):
        check_top(p, ref[i], FRAUD_LABELS, 2, f"run record {i}")
        check(p["decision"] == bool(ref[i][2] >= FRAUD_THRESHOLD), f"run record {i}: decision")

    # Text output: 'label  probability' lines and the decision.
    rc, out, err = run(f"{repo}/fraud", "--record", json.dumps(records[0]), "--top-k", "3")
    lines = out.strip().split("\n")
    order = np.argsort(-ref[0])
    want = [f"{FRAUD_LABELS[i]}  {ref[0][i]:.4f}" for i in order]
    check(rc == 0 and lines[:3] == want, f"run text output {lines[:3]} == {want}")
    check(lines[-1] == f"decision: {'true' if ref[0][2] >= FRAUD_THRESHOLD else 'false'}", "run text decision")

    # CSV-style strings are parsed.
    rc, out, _ = run(f"{repo}/fraud", "--json", "--record",
                     '{"amount": "42.5", "merchant": "casino", "card_present": "yes"}')
    r = {"amount": 42.5, "merchant": "casino", "card_present": True}
    check(rc == 0 and np.allclose([t["probability"] for t in json.loads(out)[0]["top"]],
                                  np.sort(fraud_reference([r])[0])[::-1][:2], atol=1e-5),
          "run: numbers and booleans given as strings")

    # ai.onnx.ml classifier: the model's own string labels, probabilities from the model.
    x = RNG.normal(size=(3, 4)).round(3)
    args = [f"{repo}/iris", "--json"]
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    for row in x:
        args += ["--record", json.dumps(dict(zip(names, row.tolist())))]
    rc, out, err = run(*args)
    check(rc == 0, f"run ai.onnx.ml classifier ({err.strip()})")
    ref = iris_reference(x)
    for i, p in enumerate(json.loads(out) if rc == 0 else []):
        check(p["top"][0]["label"] == IRIS_CLASSES[int(ref[i].argmax())],
              f"classifier row {i}: label {p['top'][0]['label']}")
        check(np.allclose([t["probability"] for t in p["top"]], np.sort(ref[i])[::-1], atol=1e-5),
              f"classifier row {i}: probabilities")

    # Regression: values and a threshold decision, float64 model input adopted.
    rc, out, err = run(f"{repo}/price", "--json", "--record", '{"rooms": 3, "area": 1.5}')
    want = float((np.array([3, 1.5, 10.0]) @ REG_W.astype(np.float64) + 0.5)[0])
    got = json.loads(out)[0] if rc == 0 else {}
    check(rc == 0 and abs(got["values"][0] - want) < 1e-4 and "top" not in got,
          f"run regression value {got.get('values')} == {want:.5f} ({err.strip()})")
    check(got.get("decision") == (want >= 2.0), "run regression decision")

    # Errors: one line naming the problem, non-zero exit.
    for args, needle in [
        ([f"{repo}/fraud", "--record", '{"merchant": "travel"}'],
         "column 'amount': missing value and no default"),
        ([f"{repo}/fraud", "--record", '{"amount": 1, "merchant": "bank"}'],
         "column 'merchant': unknown category 'bank'"),
        ([f"{repo}/fraud", "--record", '{"amount": "lots", "merchant": "travel"}'],
         "column 'amount': 'lots' is not a number"),
        ([f"{repo}/fraud", "--record", '{"amount": 1'], "--record 1"),
        ([f"{repo}/fraud", "--text", "hello"], "takes --record examples, not --text"),
        ([f"{repo}/fraud", "--record", "{}", "--top-k", "0"], "--top-k must be at least 1"),
        ([f"{repo}/nothere", "--record", "{}"], "nothere"),
    ]:
        rc, out, err = run(*args)
        check(rc != 0 and needle in err and err.count("\n") == 1,
              f"run error: {needle!r} in {err.strip()!r}")

    # A broken pipeline.json is reported with the member.
    os.makedirs(f"{repo}/../broken/1", exist_ok=True)
    bad = f"{repo}/../broken"
    save(onnx.load(f"{repo}/fraud/1/model.onnx"), f"{bad}/1/model.onnx")
    with open(f"{bad}/pipeline.json", "w") as f:
        json.dump({"input": {"kind": "tabular", "columns": [{"name": "a"}]}}, f)
    rc, _, err = run(bad, "--record", '{"a": 1}')
    check(rc != 0 and "make 1 features but model input 'x'" in err, f"feature count: {err.strip()}")


def test_run_image_text(repo):
    tmp = os.path.dirname(repo)
    imgs = {
        "exact.png": png_bytes(RNG.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)),
        "big.png": png_bytes(RNG.integers(0, 256, size=(20, 14, 3), dtype=np.uint8)),
        "gray.png": png_bytes(RNG.integers(0, 256, size=(8, 8), dtype=np.uint8)),
        "photo.jpg": png_bytes(RNG.integers(0, 256, size=(8, 8, 3), dtype=np.uint8), "JPEG"),
    }
    args = [f"{repo}/colors", "--json"]
    for name, data in imgs.items():
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(data)
        args += ["--image", os.path.join(tmp, name)]
    rc, out, err = run(*args)
    check(rc == 0, f"run --image --json ({err.strip()})")
    for (name, data), p in zip(imgs.items(), json.loads(out) if rc == 0 else []):
        ref = image_reference(data)
        # 8x8 inputs need no resize (exact); the resized one may differ by 1/255 per pixel.
        tol = 1e-5 if name != "big.png" else 5e-3
        got = np.array([t["probability"] for t in p["top"]])
        check([t["label"] for t in p["top"]] == [IMG_LABELS[i] for i in np.argsort(-ref)] and
              np.allclose(got, np.sort(ref)[::-1], atol=tol), f"run --image {name} vs Pillow")
    with open(os.path.join(tmp, "bad.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0garbage")
    rc, _, err = run(f"{repo}/colors", "--image", os.path.join(tmp, "bad.jpg"))
    check(rc != 0 and "bad.jpg" in err and err.count("\n") == 1, f"corrupt JPEG: {err.strip()}")

    texts = ["the world", "A world on the", "the " * 20]
    args = [f"{repo}/echo8", "--json"]
    for t in texts:
        args += ["--text", t]
    rc, out, err = run(*args)
    check(rc == 0, f"run --text ({err.strip()})")
    preds = json.loads(out) if rc == 0 else []
    for t, p in zip(texts[:2], preds):
        want = echo_values(wordpiece_ids(t), 8)
        check(p["values"] == want, f"text {t!r}: ids/mask/types padded to 8: {p['values']}")
    if len(preds) == 3:
        ids = wordpiece_ids("the " * 6)  # truncated to 8 with [SEP] kept last
        check(preds[2]["values"][:8] == ids and preds[2]["values"][8:16] == [1] * 8,
              f"long text truncated to max_length 8: {preds[2]['values'][:8]}")
    rc, _, err = run(f"{repo}/echo_strict", "--text", "the " * 10)
    check(rc != 0 and "max_length 6" in err and "truncation is off" in err,
          f"truncation off: {err.strip()}")
    rc, out, err = run(f"{repo}/echo_strict", "--json", "--text", "the world")
    check(rc == 0 and json.loads(out)[0]["values"] == echo_values(wordpiece_ids("the world"), 4),
          f"padding longest: one text keeps its own length ({err.strip()})")


# ---- nalar serve -------------------------------------------------------------------------


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post(base, path, obj, content_type="application/json"):
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    status, body = request("POST", base + path, data, {"Content-Type": content_type})
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def test_serve(repo):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([NALAR, "serve", "--model-repository", repo, "--http-port", str(port),
                             "--http-address", "127.0.0.1", "--metrics-port", str(free_port()),
                             "--grpc-port", str(free_port())], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if request("GET", base + "/v2/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        serve_checks(base)
        serve_image_text_checks(base)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        check(rc == 0, "server exits 0 on SIGTERM")
        if FAILURES:
            log.seek(0)
            sys.stdout.write(log.read().decode(errors="replace"))


def serve_checks(base):
    records = records_for_test(12)  # more than max_batch_size 8: /classify splits them
    ref = fraud_reference(records)
    status, body = post(base, "/v2/models/fraud/classify", {"instances": records})
    check(status == 200, f"/classify instances: {status} {body}")
    preds = body["predictions"] if status == 200 else []
    check(body and body.get("model_name") == "fraud" and body.get("model_version") == "1",
          "/classify names the model and version")
    check(len(preds) == 12, "/classify: 12 predictions for 12 instances")
    for i, p in enumerate(preds):
        check_top(p, ref[i], FRAUD_LABELS, 2, f"/classify instance {i}")
        check(p["decision"] == bool(ref[i][2] >= FRAUD_THRESHOLD), f"/classify instance {i}: decision")

    status, body = post(base, "/v2/models/fraud/versions/1/classify?top_k=4", records[0])
    check(status == 200 and len(body["predictions"]) == 1 and
          len(body["predictions"][0]["top"]) == 3, "/classify one object, top_k capped at 3")

    for payload, ctype, code, needle in [
        ({"instances": [records[0], {"merchant": "travel"}]}, "application/json", 400,
         "example 1: column 'amount': missing value and no default"),
        ({"instances": [{"amount": 1, "merchant": "pawn"}]}, "application/json", 400,
         "unknown category 'pawn'"),
        (b"{not json", "application/json", 400, ""),
        ({"instances": []}, "application/json", 400, "non-empty"),
        (b"\xff\xd8\xff", "image/jpeg", 415, "application/json"),
        (b"amount,merchant\n1,travel\n", "text/csv", 415, "unsupported Content-Type"),
    ]:
        status, body = post(base, "/v2/models/fraud/classify", payload, ctype)
        check(status == code and body and needle in body.get("error", ""),
              f"/classify error {code}: {needle!r} in {body}")
    status, body = post(base, "/v2/models/nope/classify", records[0])
    check(status == 404, "/classify unknown model: 404")

    # KServe inference with one input per column (mixed shapes and datatypes), pipeline outputs.
    n = 5
    rs = records[:n]
    inputs = [
        {"name": "amount", "datatype": "FP64", "shape": [n], "data": [r["amount"] for r in rs]},
        {"name": "merchant", "datatype": "BYTES", "shape": [n, 1],
         "data": [r["merchant"] for r in rs]},
        {"name": "hour", "datatype": "INT64", "shape": [n], "data": [r.get("hour", 12) for r in rs]},
        {"name": "card_present", "datatype": "BOOL", "shape": [n],
         "data": [bool(r.get("card_present", False)) for r in rs]},
    ]
    want = fraud_reference([{**r, "distance_km": 0.0} for r in rs])
    status, body = post(base, "/v2/models/fraud/infer", {"inputs": inputs})
    check(status == 200, f"named-feature infer: {status} {body}")
    outs = {o["name"]: o for o in body["outputs"]} if status == 200 else {}
    check(set(outs) == {"logits", "label", "probability", "index", "decision"},
          f"default outputs: raw + pipeline ({sorted(outs)})")
    if outs:
        order = np.argsort(-want, axis=1, kind="stable")[:, :2]
        check(outs["index"]["shape"] == [n, 2] and outs["index"]["datatype"] == "INT64" and
              np.array(outs["index"]["data"]).reshape(n, 2).tolist() == order.tolist(),
              "infer: index [N,2] INT64")
        check(outs["label"]["datatype"] == "BYTES" and outs["label"]["data"] ==
              [FRAUD_LABELS[i] for i in order.flatten()], "infer: label [N,2] BYTES")
        check(np.allclose(np.array(outs["probability"]["data"]).reshape(n, 2),
                          np.take_along_axis(want, order, 1), atol=1e-5), "infer: probability")
        check(outs["decision"]["shape"] == [n] and outs["decision"]["data"] ==
              [bool(p >= FRAUD_THRESHOLD) for p in want[:, 2]], "infer: decision [N] BOOL")
        logits = np.array(outs["logits"]["data"]).reshape(n, 3)
        check(np.allclose(softmax(logits), want, atol=1e-5), "infer: raw logits still there")

    status, body = post(base, "/v2/models/fraud/infer", {
        "inputs": inputs, "outputs": [{"name": "label", "parameters": {"classification": 3}},
                                      {"name": "decision"}]})
    check(status == 200 and [o["name"] for o in body["outputs"]] == ["label", "decision"] and
          body["outputs"][0]["shape"] == [n, 3], "infer: requested pipeline outputs, k=3")

    # The model's own tensor input still works.
    x = np.array([fraud_features(r) for r in rs], np.float32)
    status, body = post(base, "/v2/models/fraud/infer", {"inputs": [
        {"name": "x", "datatype": "FP32", "shape": [n, 8], "data": x.flatten().tolist()}],
        "outputs": [{"name": "logits"}]})
    check(status == 200 and np.allclose(np.array(body["outputs"][0]["data"]).reshape(n, 3),
                                        x @ FRAUD_W + FRAUD_B, atol=1e-4),
          "infer: the model's tensor input passes through")

    for payload, needle in [
        ({"inputs": [{"name": "amount", "datatype": "FP32", "shape": [1], "data": [1]}]},
         "column 'merchant': missing value and no default"),
        ({"inputs": [{"name": "colour", "datatype": "FP32", "shape": [1], "data": [1]}]},
         "unexpected input 'colour'"),
        ({"inputs": [{"name": "amount", "datatype": "FP32", "shape": [2], "data": [1, 2]},
                     {"name": "merchant", "datatype": "BYTES", "shape": [1], "data": ["x"]}]},
         "columns disagree on the number of rows"),
        ({"inputs": [{"name": "amount", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]},
         "[N] or [N,1]"),
        ({"inputs": [{"name": "amount", "datatype": "FP32", "shape": [9], "data": [1] * 9},
                     {"name": "merchant", "datatype": "BYTES", "shape": [9],
                      "data": ["travel"] * 9}]},
         "9 examples in one request, more than the max_batch_size 8 of model 'fraud'"),
        ({"inputs": [{"name": "amount", "datatype": "FP16", "shape": [1], "data": [1]},
                     {"name": "merchant", "datatype": "BYTES", "shape": [1], "data": ["travel"]}]},
         "a column is FP32, FP64, INT64, INT32, BOOL or BYTES"),
    ]:
        status, body = post(base, "/v2/models/fraud/infer", payload)
        check(status == 400 and needle in body.get("error", ""), f"infer error: {needle!r} in {body}")

    # Metadata and config report the pipeline's inputs and outputs.
    status, raw = request("GET", base + "/v2/models/fraud")
    meta = json.loads(raw)
    check([i["name"] for i in meta["inputs"]] ==
          ["amount", "merchant", "hour", "card_present", "distance_km"] and
          [i["datatype"] for i in meta["inputs"]] == ["FP32", "BYTES", "FP32", "BOOL", "FP32"],
          f"metadata inputs are the columns: {meta['inputs']}")
    check({"label": "BYTES", "probability": "FP32", "index": "INT64", "decision": "BOOL"}.items()
          <= {o["name"]: o["datatype"] for o in meta["outputs"]}.items(),
          f"metadata outputs include the pipeline's: {meta['outputs']}")
    status, raw = request("GET", base + "/v2/models/fraud/config")
    cfg = json.loads(raw)
    check(any(i["name"] == "distance_km" and i.get("optional") for i in cfg["input"]),
          "config: defaulted columns are optional inputs")

    # ai.onnx.ml classifier served: labels from the label tensor, probabilities from the model.
    x = RNG.normal(size=(4, 4)).round(3)
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    status, body = post(base, "/v2/models/iris/classify",
                        {"instances": [dict(zip(names, r.tolist())) for r in x]})
    ref = iris_reference(x)
    check(status == 200 and [p["top"][0]["label"] for p in body["predictions"]] ==
          [IRIS_CLASSES[i] for i in ref.argmax(1)], f"iris /classify labels: {body}")
    status, body = post(base, "/v2/models/iris/infer", {"inputs": [
        {"name": n, "datatype": "FP32", "shape": [4], "data": x[:, j].tolist()}
        for j, n in enumerate(names)], "outputs": [{"name": "label"}, {"name": "probability"}]})
    check(status == 200 and body["outputs"][0]["data"][::3] ==
          [IRIS_CLASSES[i] for i in ref.argmax(1)] and
          np.allclose(np.array(body["outputs"][1]["data"]).reshape(4, 3), -np.sort(-ref, 1),
                      atol=1e-5), "iris infer: label output shadows the model's, probabilities")

    # Regression model: values, decision; no label outputs.
    status, body = post(base, "/v2/models/price/classify", {"rooms": 1, "area": 2, "age": 3})
    want = float(np.array([1, 2, 3.0]) @ REG_W.astype(np.float64) + 0.5)
    check(status == 200 and abs(body["predictions"][0]["values"][0] - want) < 1e-4,
          f"price /classify value: {body}")
    status, body = post(base, "/v2/models/price/infer", {"inputs": [
        {"name": "rooms", "datatype": "INT64", "shape": [1], "data": [1]},
        {"name": "area", "datatype": "FP32", "shape": [1], "data": [2]}],
        "outputs": [{"name": "label"}]})
    check(status == 400 and "unexpected inference output 'label'" in body.get("error", ""),
          f"regression has no label output: {body}")

    # base64 BYTES in JSON is decoded (here into a category column).
    b64 = base64.b64encode(b"travel").decode()
    status, body = post(base, "/v2/models/fraud/infer", {"inputs": [
        {"name": "amount", "datatype": "FP32", "shape": [1], "data": [10]},
        {"name": "merchant", "datatype": "BYTES", "shape": [1], "data": [b64],
         "parameters": {"content_type": "base64"}}], "outputs": [{"name": "probability"}]})
    want = fraud_reference([{"amount": 10, "merchant": "travel"}])[0]
    check(status == 200 and np.allclose(body["outputs"][0]["data"], np.sort(want)[::-1][:2],
                                        atol=1e-5), f"base64 BYTES input decoded: {body}")
    status, body = post(base, "/v2/models/fraud/infer", {"inputs": [
        {"name": "merchant", "datatype": "BYTES", "shape": [1], "data": ["!!"],
         "parameters": {"content_type": "base64"}}]})
    check(status == 400 and "base64" in body.get("error", ""), "invalid base64 is a 400")


def serve_image_text_checks(base):
    a = png_bytes(RNG.integers(0, 256, size=(8, 8, 3), dtype=np.uint8))
    b = png_bytes(RNG.integers(0, 256, size=(8, 8, 3), dtype=np.uint8), "JPEG")
    ra, rb = image_reference(a), image_reference(b)

    status, body = post(base, "/v2/models/colors/classify", a, "image/png")
    check(status == 200 and np.allclose([t["probability"] for t in body["predictions"][0]["top"]],
                                        np.sort(ra)[::-1], atol=1e-5), f"/classify image/png: {body}")
    status, body = post(base, "/v2/models/colors/classify?top_k=1", b, "image/jpeg")
    check(status == 200 and body["predictions"][0]["top"][0]["label"] == IMG_LABELS[rb.argmax()]
          and len(body["predictions"][0]["top"]) == 1, "/classify image/jpeg, top_k=1")
    status, body = post(base, "/v2/models/colors/classify", b"\x89PNG\r\n\x1a\nbroken", "image/png")
    check(status == 400 and "PNG" in body.get("error", ""), f"/classify corrupt PNG: {body}")
    status, body = post(base, "/v2/models/colors/classify",
                        {"instances": [{"b64": base64.b64encode(a).decode()},
                                       {"b64": base64.b64encode(b).decode()}]})
    check(status == 200 and [p["top"][0]["label"] for p in body["predictions"]] ==
          [IMG_LABELS[ra.argmax()], IMG_LABELS[rb.argmax()]], "/classify JSON b64 instances")
    # Nine images in one request are decoded side by side: each answer stays with its image,
    # a bad one is named by its position, and the decode time shows in compute_input.
    imgs = [png_bytes(RNG.integers(0, 256, size=(8, 8, 3), dtype=np.uint8), "JPEG" if i % 2
                      else "PNG") for i in range(9)]
    def stat(name):
        _, st = request("GET", base + "/v2/models/colors/stats")
        return json.loads(st)["model_stats"][0]["inference_stats"][name]["count"]
    before = stat("compute_input")
    status, body = post(base, "/v2/models/colors/classify",
                        {"instances": [{"b64": base64.b64encode(m).decode()} for m in imgs]})
    check(status == 200 and len(body["predictions"]) == 9 and all(
        np.allclose([t["probability"] for t in p["top"]], np.sort(image_reference(m))[::-1],
                    atol=1e-5) for p, m in zip(body["predictions"], imgs)),
        f"/classify 9 images: {body}")
    check(stat("compute_input") > before, "/classify counts in compute_input")
    bad = [base64.b64encode(m).decode() for m in imgs]
    bad[6] = base64.b64encode(b"\x89PNG\r\n\x1a\nbroken").decode()
    status, body = post(base, "/v2/models/colors/classify", {"instances": [{"b64": x} for x in bad]})
    check(status == 400 and "example 6" in body.get("error", ""),
          f"/classify names the bad image of 9: {body}")

    # KServe: BYTES input named like the model input, binary extension, [N,1].
    header = json.dumps({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [2, 1],
                                     "parameters": {"binary_data_size": 8 + len(a) + len(b)}}],
                         "outputs": [{"name": "probability"}, {"name": "label"}]}).encode()
    data = header + len(a).to_bytes(4, "little") + a + len(b).to_bytes(4, "little") + b
    status, raw = request("POST", base + "/v2/models/colors/infer", data,
                          {"Inference-Header-Content-Length": str(len(header))})
    body = json.loads(raw)
    check(status == 200 and np.allclose(np.array(body["outputs"][0]["data"]).reshape(2, 3),
                                        [np.sort(ra)[::-1], np.sort(rb)[::-1]], atol=1e-5) and
          body["outputs"][1]["data"][::3] == [IMG_LABELS[ra.argmax()], IMG_LABELS[rb.argmax()]],
          f"infer BYTES images via the binary extension: {body}")
    # JSON base64 BYTES.
    status, body = post(base, "/v2/models/colors/infer", {"inputs": [
        {"name": "x", "datatype": "BYTES", "shape": [1], "data": [base64.b64encode(a).decode()],
         "parameters": {"content_type": "base64"}}], "outputs": [{"name": "index"}]})
    check(status == 200 and body["outputs"][0]["data"] == np.argsort(-ra).tolist(),
          f"infer base64 BYTES image in JSON: {body}")
    # Raw body (Inference-Header-Content-Length: 0): the image is the only input.
    status, raw = request("POST", base + "/v2/models/colors/infer", a,
                          {"Inference-Header-Content-Length": "0"})
    body = json.loads(raw)
    outs = {o["name"]: o for o in body.get("outputs", [])}
    check(status == 200 and outs["label"]["data"][0] == IMG_LABELS[ra.argmax()],
          f"infer raw image body: {body}")
    status, body = post(base, "/v2/models/colors/infer", {"inputs": [
        {"name": "x", "datatype": "BYTES", "shape": [1], "data": ["not an image"]}]})
    check(status == 400 and "example 0" in body.get("error", ""), f"infer bad image: {body}")
    meta = json.loads(request("GET", base + "/v2/models/colors")[1])
    check(meta["inputs"] == [{"name": "x", "datatype": "BYTES", "shape": [-1, 1]}],
          f"image metadata input: {meta['inputs']}")

    # Texts.
    status, body = post(base, "/v2/models/echo8/classify", {"instances": ["the world",
                                                                          {"text": "a world"}]})
    check(status == 200 and [p["values"] for p in body["predictions"]] ==
          [echo_values(wordpiece_ids(t), 8) for t in ["the world", "a world"]],
          f"/classify texts: {body}")
    status, body = post(base, "/v2/models/echo_strict/infer", {"inputs": [
        {"name": "text", "datatype": "BYTES", "shape": [2], "data": ["the world", "on"]}]})
    want = [echo_values(wordpiece_ids(t), 4) for t in ["the world", "on"]]
    check(status == 200 and np.array(body["outputs"][0]["data"]).reshape(2, 12).tolist() == want,
          f"infer texts, padding longest: {body}")
    status, body = post(base, "/v2/models/echo_strict/classify", {"text": "the " * 10})
    check(status == 400 and "example 0" in body.get("error", ""), f"text too long: {body}")
    status, body = post(base, "/v2/models/echo8/classify", a, "image/png")
    check(status == 415, "image to a text model: 415")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        make_models(repo)
        make_image_text_models(repo)
        test_run(repo)
        test_run_image_text(repo)
        test_serve(repo)
    print(f"\n{len(FAILURES)} failure(s)")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
