#!/usr/bin/python3
"""Integration test for pipelines (pipeline.json): `nalar run MODEL_DIR --record/--json` and a
real `nalar serve` (/classify and named-feature KServe inference), against numpy.

    pipeline_test.py NALAR_BINARY

Models are made here with onnx.helper: a linear fraud classifier (Gemm, softmax, one-hot
category, bool and defaulted columns, labels.txt, a threshold), an ai.onnx.ml LinearClassifier
with string labels (label tensor + probabilities), and a linear regressor.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NALAR = sys.argv[1]
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
FRAUD_W = RNG.normal(size=(8, 3)).astype(np.float32)
FRAUD_B = RNG.normal(size=3).astype(np.float32)
FRAUD_LABELS = ["legit", "review", "fraud"]
FRAUD_PIPELINE = {
    "input": {"kind": "tabular", "columns": [
        {"name": "amount", "type": "number"},
        {"name": "merchant", "type": "category", "vocabulary": MERCHANTS, "encoding": "onehot"},
        {"name": "hour", "type": "number", "missing": 12},
        {"name": "card_present", "type": "bool", "missing": False},
        {"name": "distance_km", "type": "number", "missing": 0.0}]},
    "output": {"activation": "softmax", "top_k": 2, "threshold": 0.4, "positive_index": 2},
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
        r = {"amount": float(np.round(RNG.uniform(1, 500), 2)),
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
        check(p["decision"] == bool(ref[i][2] >= 0.4), f"run record {i}: decision")

    # Text output: 'label  probability' lines and the decision.
    rc, out, err = run(f"{repo}/fraud", "--record", json.dumps(records[0]), "--top-k", "3")
    lines = out.strip().split("\n")
    order = np.argsort(-ref[0])
    want = [f"{FRAUD_LABELS[i]}  {ref[0][i]:.4f}" for i in order]
    check(rc == 0 and lines[:3] == want, f"run text output {lines[:3]} == {want}")
    check(lines[-1] == f"decision: {'true' if ref[0][2] >= 0.4 else 'false'}", "run text decision")

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


# ---- nalar serve -------------------------------------------------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
        check(p["decision"] == bool(ref[i][2] >= 0.4), f"/classify instance {i}: decision")

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
              [bool(p >= 0.4) for p in want[:, 2]], "infer: decision [N] BOOL")
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


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        make_models(repo)
        test_run(repo)
        test_serve(repo)
    print(f"\n{len(FAILURES)} failure(s)")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
