#!/usr/bin/python3
"""End-to-end accuracy of the repository's real models through their pipelines.

    pipeline_models_test.py NALAR_BINARY DATA_DIR BUNDLED_REPOSITORY

DATA_DIR is what scripts/make-test-models.sh makes (family "pipelines"): DATA_DIR/repository
holds the models fresh from their training scripts and DATA_DIR/reference the Python side's
answers (PyTorch, sklearn) and the held-out digit scans as PNG files.

- digits: the 450 held-out PNGs through one `nalar run --image ... --json`, through
  POST /v2/models/digits/classify (image/png bodies) and through KServe infer with a BYTES input
  (binary extension); each accuracy within 1% of PyTorch's on the same scans.
- breast cancer MLP and GBT: the 143 test cases as named-feature JSON through /classify and
  `nalar run --record`: labels equal to PyTorch's / sklearn's, probabilities within 1e-5.
- fraud: 300 new transactions (missing fields absent or null, some unknown merchant categories)
  through /classify, KServe infer and `--record`: decisions equal to sklearn's.
- bad input: a missing column, an unknown category and a corrupt PNG get 400 (or a failing
  `nalar run`) with an error naming the problem.
- the bundled repository (what `make serve` starts) loads and answers.
"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import numpy as np

from nalar_process import ServeProcess, free_port

NALAR, DATA, BUNDLED = sys.argv[1], sys.argv[2], sys.argv[3]
REPO = os.path.join(DATA, "repository")
REF = os.path.join(DATA, "reference")
FAILURES = []
PROB_TOL = 1e-5


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def load_ref(name):
    with open(os.path.join(REF, name)) as f:
        return json.load(f)


def read_png(name):
    with open(os.path.join(REF, "digits_png", name), "rb") as f:
        return f.read()


# ------------------------------------------------------------------------------- server




def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def parse(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


class Server(ServeProcess):
    def __init__(self, repo):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [NALAR, "serve", "--model-repository", repo, "--http-port", str(self.port),
             "--http-address", "127.0.0.1", "--grpc-port", str(free_port()),
             "--metrics-port", str(free_port())],
            ready=lambda: request("GET", self.base + "/v2/health/ready")[0] == 200)

    def post(self, path, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"Content-Type": content_type, **(headers or {})}
        status, hdrs, raw = request("POST", self.base + path, data, h)
        return status, hdrs, raw

    def classify(self, model, body, content_type="application/json"):
        status, _, raw = self.post(f"/v2/models/{model}/classify", body, content_type)
        return status, parse(raw), raw



# ------------------------------------------------------------------------------- helpers


def run_cli(model_dir, flag, values):
    """`nalar run MODEL_DIR --flag v1 --flag v2 ... --json` -> (returncode, parsed stdout, stderr)."""
    cmd = [NALAR, "run", model_dir, "--json"]
    for v in values:
        cmd += [flag, v]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return p.returncode, parse(p.stdout) if p.returncode == 0 else None, p.stderr


def top_index(pred):
    return int(pred["top"][0]["index"])


def class_probs(pred, n):
    """Probabilities by class index from a prediction's top list (top_k covers every class)."""
    p = np.full(n, np.nan)
    for t in pred["top"]:
        p[int(t["index"])] = float(t["probability"])
    return p


def well_formed(pred, labels, k):
    top = pred.get("top", [])
    probs = [t.get("probability") for t in top]
    return (len(top) == k and all(t.get("label") == labels[int(t.get("index"))] for t in top)
            and all(isinstance(p, (int, float)) and 0 <= p <= 1 for p in probs)
            and probs == sorted(probs, reverse=True))


def binary_infer(srv, model, inputs, outputs=None):
    """KServe infer with the binary tensor extension. inputs: [(name, datatype, shape, raw)]."""
    header = {"inputs": [{"name": n, "datatype": d, "shape": s,
                          "parameters": {"binary_data_size": len(raw)}} for n, d, s, raw in inputs]}
    if outputs:
        header["outputs"] = [{"name": o, "parameters": {"binary_data": False}} for o in outputs]
    h = json.dumps(header).encode()
    status, hdrs, raw = srv.post(f"/v2/models/{model}/infer", h + b"".join(r for *_, r in inputs),
                                 "application/octet-stream",
                                 {"Inference-Header-Content-Length": str(len(h))})
    n = int(hdrs.get("Inference-Header-Content-Length", len(raw)))
    return status, parse(raw[:n]), raw


def bytes_tensor(items):
    """BYTES elements in the binary extension's layout: 4-byte little-endian length + bytes."""
    return b"".join(struct.pack("<I", len(b)) + b for b in items)


def output_named(resp, *names):
    for o in (resp or {}).get("outputs", []):
        if o["name"] in names:
            return o
    return None


def first_column(out):
    """The best class of each example from an "index" output ([N] or [N, top_k])."""
    data = np.array(out["data"]).reshape(out["shape"])
    return [int(v) for v in (data if data.ndim == 1 else data[:, 0])]


def within(acc, ref_acc, what):
    check(abs(acc - ref_acc) <= 0.01,
          f"{what}: accuracy {acc:.4f} within 1% of PyTorch's {ref_acc:.4f}")


# ------------------------------------------------------------------------------- digits


def digits_cli():
    ref = load_ref("digits.json")
    files = [os.path.join(REF, "digits_png", f) for f in ref["files"]]
    labels = np.array(ref["labels"])
    t0 = time.time()
    rc, out, err = run_cli(os.path.join(REPO, "digits"), "--image", files)
    if not check(rc == 0 and isinstance(out, list) and len(out) == len(files),
                 f"digits: `nalar run --image` x{len(files)} --json answers every file ({err[-300:]})"):
        return
    pred = np.array([top_index(p) for p in out])
    acc = float((pred == labels).mean())
    agree = float((pred == np.array(ref["torch_pred"])).mean())
    print(f"     digits via nalar run: {acc:.4f} ({int((pred == labels).sum())}/{len(labels)}), "
          f"agreement with PyTorch {agree:.4f}, {time.time() - t0:.1f} s")
    within(acc, ref["torch_accuracy"], "digits via `nalar run`")
    check(all(well_formed(p, [str(i) for i in range(10)], 3) for p in out),
          "digits via `nalar run`: top 3 labels 0..9 with sorted probabilities")
    probs = np.array([class_probs(p, 10) for p in out])
    tp = np.array(ref["torch_probabilities"])
    top_diff = np.abs(probs[np.arange(len(pred)), pred] - tp[np.arange(len(pred)), pred]).max()
    # The pipeline's resize and normalisation are the training's (Pillow), so the answers agree.
    check(top_diff <= 1e-3, f"digits via `nalar run`: top-class probabilities within 1e-3 of "
          f"PyTorch's (largest difference {top_diff:.2e})")
    return acc


def digits_classify(srv):
    ref = load_ref("digits.json")
    labels = np.array(ref["labels"])
    pred, bad = [], []
    for f in ref["files"]:
        status, body, raw = srv.classify("digits", read_png(f), "image/png")
        if status != 200 or not body or len(body.get("predictions", [])) != 1:
            bad.append((f, status, raw[:200]))
            pred.append(-1)
            continue
        pred.append(top_index(body["predictions"][0]))
    check(not bad, f"digits: /classify with image/png bodies answers all {len(labels)} ({bad[:2]})")
    acc = float((np.array(pred) == labels).mean())
    print(f"     digits via /classify: {acc:.4f}")
    within(acc, ref["torch_accuracy"], "digits via POST /v2/models/digits/classify")
    status, body, _ = srv.classify("digits", read_png(ref["files"][0]), "image/png")
    check(status == 200 and body.get("model_name") == "digits" and "model_version" in body,
          "digits: /classify names the model and version")


def digits_infer(srv):
    """KServe infer: the pipeline model's public input is one BYTES tensor of encoded images."""
    ref = load_ref("digits.json")
    labels = np.array(ref["labels"])
    status, _, raw = request("GET", srv.base + "/v2/models/digits")
    meta = parse(raw) or {}
    byte_inputs = [i for i in meta.get("inputs", []) if i.get("datatype") == "BYTES"]
    if not check(status == 200 and len(byte_inputs) == 1,
                 f"digits: metadata shows one BYTES input for encoded images ({meta.get('inputs')})"):
        return
    name = byte_inputs[0]["name"]
    pred = []
    for start in range(0, len(labels), 16):
        files = ref["files"][start:start + 16]
        pngs = [read_png(f) for f in files]
        status, resp, raw = binary_infer(srv, "digits", [(name, "BYTES", [len(pngs)],
                                                          bytes_tensor(pngs))])
        out = output_named(resp, "index")
        if status != 200 or out is None or len(out.get("data", [])) < len(pngs):
            check(False, f"digits: KServe infer with BYTES PNGs ({status} {raw[:300]!r})")
            return
        pred += first_column(out)
    check(len(pred) == len(labels),
          f"digits: KServe infer (binary BYTES, 16 PNGs a request) answers all {len(labels)}")
    acc = float((np.array(pred) == labels).mean())
    print(f"     digits via KServe infer: {acc:.4f}")
    within(acc, ref["torch_accuracy"], "digits via KServe infer with BYTES input")
    # JSON forms: a base64 string per image (KServe infer and /classify instances).
    pngs = [read_png(f) for f in ref["files"][:8]]
    b64 = [base64.b64encode(p).decode() for p in pngs]
    status, _, raw = srv.post("/v2/models/digits/infer", {"inputs": [
        {"name": name, "datatype": "BYTES", "shape": [len(b64)], "data": b64,
         "parameters": {"content_type": "base64"}}], "outputs": [{"name": "index"}]})
    out = output_named(parse(raw), "index")
    got = first_column(out) if out else []
    check(status == 200 and got == ref["torch_pred"][:8],
          f"digits: KServe JSON infer with 8 base64 PNGs equals PyTorch ({status} {raw[:200]!r})")
    status, body, raw = srv.classify("digits", {"instances": [{"b64": b} for b in b64]})
    got = [top_index(p) for p in body["predictions"]] if status == 200 else []
    check(got == ref["torch_pred"][:8],
          f"digits: /classify with JSON {{\"b64\": ...}} instances equals PyTorch ({raw[:200]!r})")


# ------------------------------------------------------------------------------- breast cancer


def compare_tabular(what, preds, want_labels, want_probs):
    if not check(isinstance(preds, list) and len(preds) == len(want_labels),
                 f"{what}: one prediction per record"):
        return
    labels = np.array([top_index(p) for p in preds])
    probs = np.array([class_probs(p, want_probs.shape[1]) for p in preds])
    diff = float(np.nanmax(np.abs(probs - want_probs))) if not np.isnan(probs).all() else np.inf
    same = int((labels == want_labels).sum())
    check(same == len(want_labels), f"{what}: labels equal ({same}/{len(want_labels)})")
    check(not np.isnan(probs).any() and diff <= PROB_TOL,
          f"{what}: probabilities within {PROB_TOL:g} (largest difference {diff:.2e})")


def breast_cancer(srv):
    ref = load_ref("breast_cancer.json")
    records = ref["records"]
    mlp_p = np.array(ref["mlp_probabilities"])
    gbt_p = np.array(ref["gbt_probabilities"])
    wants = {"breast_cancer_mlp": (mlp_p.argmax(axis=1), mlp_p, "PyTorch"),
             "breast_cancer_gbt": (np.array(ref["gbt_labels"]), gbt_p, "sklearn")}
    for model, (want_l, want_p, who) in wants.items():
        status, body, raw = srv.classify(model, {"instances": records})
        if check(status == 200 and body is not None,
                 f"{model}: /classify with {len(records)} named-feature records ({raw[:200]!r})"):
            compare_tabular(f"{model} via /classify vs {who}", body.get("predictions"), want_l, want_p)
            check(all(well_formed(p, ref["classes"], 2) for p in body["predictions"]),
                  f"{model}: labels malignant/benign with sorted probabilities")
        rc, out, err = run_cli(os.path.join(REPO, model), "--record",
                               [json.dumps(r) for r in records])
        if check(rc == 0, f"{model}: `nalar run --record` x{len(records)} ({err[-300:]})"):
            compare_tabular(f"{model} via `nalar run --record` vs {who}", out, want_l, want_p)
    # Accuracy on the held-out cases, for the report.
    for model, (want_l, _, _) in wants.items():
        print(f"     {model}: held-out accuracy {float((want_l == np.array(ref['labels'])).mean()):.4f}")


# ------------------------------------------------------------------------------- fraud


def compare_fraud(what, preds, ref):
    want = np.array(ref["decisions"])
    p_fraud = np.array(ref["probabilities"])[:, 1]
    if not check(isinstance(preds, list) and len(preds) == len(want) and
                 all(isinstance(p.get("decision"), bool) for p in preds),
                 f"{what}: a yes/no decision for each of {len(want)} transactions"):
        return
    got = np.array([p["decision"] for p in preds])
    # A probability within float32 rounding of the threshold may fall either side.
    borderline = np.abs(p_fraud - ref["threshold"]) < 1e-6
    same = (got == want) | borderline
    check(same.all(), f"{what}: decisions equal to sklearn's ({int((got == want).sum())}/{len(want)}, "
          f"{int(want.sum())} flagged, {int(borderline.sum())} borderline)")
    probs = np.array([class_probs(p, 2)[1] for p in preds])
    diff = float(np.max(np.abs(probs - p_fraud)))
    check(diff <= PROB_TOL, f"{what}: fraud probabilities within {PROB_TOL:g} ({diff:.2e})")


def fraud(srv):
    ref = load_ref("fraud.json")
    records = ref["records"]
    status, body, raw = srv.classify("fraud", {"instances": records})
    if check(status == 200 and body is not None, f"fraud: /classify with {len(records)} records "
             f"({raw[:300]!r})"):
        compare_fraud("fraud via /classify", body.get("predictions"), ref)
    rc, out, err = run_cli(os.path.join(REPO, "fraud"), "--record",
                           [json.dumps(r) for r in records])
    if check(rc == 0, f"fraud: `nalar run --record` x{len(records)} ({err[-300:]})"):
        compare_fraud("fraud via `nalar run --record`", out, ref)
    fraud_infer(srv, ref)


def fraud_infer(srv, ref):
    """KServe infer on the pipeline's public inputs: one tensor per column."""
    status, _, raw = request("GET", srv.base + "/v2/models/fraud")
    meta = parse(raw) or {}
    inputs = {i["name"]: i for i in meta.get("inputs", [])}
    records = [r for r in ref["records"] if all(r.get(k) is not None for k in inputs)][:40]
    if not check(status == 200 and "amount" in inputs and "merchant_category" in inputs,
                 f"fraud: metadata lists the named columns as inputs ({list(inputs)})"):
        return
    body = {"inputs": []}
    for name, spec in inputs.items():
        values = [r[name] for r in records]
        if spec["datatype"] == "BOOL":
            values = [bool(v) for v in values]
        elif spec["datatype"] != "BYTES":
            values = [float(v) for v in values]
        body["inputs"].append({"name": name, "datatype": spec["datatype"],
                               "shape": [len(records), 1] if len(spec.get("shape", [])) > 1
                               else [len(records)], "data": values})
    status, _, raw = srv.post("/v2/models/fraud/infer", body)
    resp = parse(raw)
    out = output_named(resp, "decision")
    if not check(status == 200 and out is not None, f"fraud: KServe infer with named columns "
                 f"({status} {raw[:300]!r})"):
        return
    idx = [ref["records"].index(r) for r in records]
    want = np.array(ref["decisions"])[idx]
    got = np.array([bool(v) for v in np.ravel(out["data"])])
    check(len(got) == len(want) and (got == want).all(),
          f"fraud: KServe infer decisions equal to sklearn's ({len(records)} transactions)")


# ------------------------------------------------------------------------------- bad input


def error_names(status, raw, *words):
    body = parse(raw) or {}
    msg = str(body.get("error", "")).lower()
    return status == 400 and all(w.lower() in msg for w in words), msg


def bad_input(srv, tmp):
    ref = load_ref("fraud.json")
    good = dict(next(r for r in ref["records"] if r.get("avg_amount_30d") is not None))

    missing = {k: v for k, v in good.items() if k != "amount"}
    status, _, raw = srv.classify("fraud", {"instances": [missing]})
    ok, msg = error_names(status, raw, "amount")
    check(ok, f"bad input: a record without 'amount' -> 400 naming it ({status} {msg})")
    rc, _, err = run_cli(os.path.join(REPO, "fraud"), "--record", [json.dumps(missing)])
    check(rc != 0 and "amount" in err, f"bad input: `nalar run --record` without amount fails "
          f"naming it ({err.strip()[-200:]})")

    unknown = dict(good, card_type="platinum")
    status, _, raw = srv.classify("fraud", {"instances": [unknown]})
    ok, msg = error_names(status, raw, "card_type", "platinum")
    check(ok, f"bad input: unknown card_type 'platinum' -> 400 naming both ({status} {msg})")
    rc, _, err = run_cli(os.path.join(REPO, "fraud"), "--record", [json.dumps(unknown)])
    check(rc != 0 and "card_type" in err,
          f"bad input: `nalar run --record` with an unknown card_type fails ({err.strip()[-200:]})")

    # Unknown merchant categories are allowed by policy (all-zero one-hot): still an answer.
    status, body, _ = srv.classify("fraud", {"instances": [dict(good, merchant_category="casino")]})
    check(status == 200 and isinstance(body["predictions"][0].get("decision"), bool),
          "fraud: an unknown merchant_category is accepted (unknown policy -1)")

    status, _, raw = srv.classify("fraud", {"instances": [dict(good, amount="a lot")]})
    ok, msg = error_names(status, raw, "amount")
    check(ok, f"bad input: a non-numeric amount -> 400 naming the column ({status} {msg})")

    status, _, raw = srv.classify("breast_cancer_gbt", {"instances": [{"mean_radius": 12.0}]})
    ok, msg = error_names(status, raw, "mean_texture")
    check(ok, f"bad input: a breast cancer record with one feature -> 400 naming a missing one "
          f"({status} {msg})")

    ref_d = load_ref("digits.json")
    png = read_png(ref_d["files"][0])
    corrupt = {"truncated PNG": png[:len(png) // 2],
               "PNG with garbage after the signature": png[:8] + os.urandom(200)}
    for what, data in corrupt.items():
        status, _, raw = srv.classify("digits", data, "image/png")
        body = parse(raw) or {}
        msg = str(body.get("error", "")).lower()
        check(status == 400 and ("png" in msg or "image" in msg),
              f"bad input: {what} -> 400 naming the image problem ({status} {msg})")
        path = os.path.join(tmp, "corrupt.png")
        with open(path, "wb") as f:
            f.write(data)
        rc, _, err = run_cli(os.path.join(REPO, "digits"), "--image", [path])
        check(rc != 0 and "corrupt.png" in err,
              f"bad input: `nalar run --image` with a {what} fails naming the file "
              f"({err.strip()[-200:]})")
    status, _, raw = srv.classify("digits", b"GIF89a not a supported image", "image/png")
    check(status == 400 and "error" in (parse(raw) or {}),
          f"bad input: an unsupported image format -> 400 ({status} {raw[:200]!r})")


# ------------------------------------------------------------------------------- bundled


def bundled():
    """The committed repository `make serve` starts: every model loads and answers."""
    srv = Server(BUNDLED)
    try:
        status, _, raw = srv.post("/v2/repository/index", {})
        index = {m["name"]: m.get("state") for m in parse(raw) or []}
        want = ["breast_cancer_gbt", "breast_cancer_mlp", "digits", "fraud", "mlp"]
        check(all(index.get(m) == "READY" for m in want),
              f"bundled repository: {', '.join(want)} are READY ({index})")
        ref = load_ref("digits.json")
        hits = 0
        for f, label in list(zip(ref["files"], ref["labels"]))[:40]:
            status, body, _ = srv.classify("digits", read_png(f), "image/png")
            hits += status == 200 and top_index(body["predictions"][0]) == label
        check(hits >= 38, f"bundled digits: {hits}/40 held-out scans right")
        bc = load_ref("breast_cancer.json")
        status, body, _ = srv.classify("breast_cancer_gbt", {"instances": bc["records"][:20]})
        right = sum(top_index(p) == l for p, l in zip(body["predictions"], bc["labels"][:20])) \
            if status == 200 else 0
        check(status == 200 and right >= 18, f"bundled breast_cancer_gbt: {right}/20 right")
        fr = load_ref("fraud.json")
        status, body, _ = srv.classify("fraud", {"instances": fr["records"][:50]})
        check(status == 200 and all(isinstance(p.get("decision"), bool)
                                    for p in body["predictions"]),
              "bundled fraud: a decision for each of 50 transactions")
        x = np.zeros((1, 4), dtype=np.float32)
        status, _, _ = srv.post("/v2/models/mlp/infer", {"inputs": [
            {"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": x.ravel().tolist()}]})
        check(status == 200, "bundled mlp: tensor infer still works")
    except Exception:
        srv.dump_log()
        raise
    finally:
        srv.stop()


def main():
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="nalar-pipeline-test-") as tmp:
        digits_cli()
        srv = Server(REPO)
        try:
            digits_classify(srv)
            digits_infer(srv)
            breast_cancer(srv)
            fraud(srv)
            bad_input(srv, tmp)
        except Exception:
            srv.dump_log()
            raise
        finally:
            code = srv.stop()
        check(code == 0, f"server exits 0 on SIGTERM (got {code})")
        bundled()
    print(f"\n{time.time() - t0:.1f} s")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed:")
        for f in FAILURES:
            print("  " + f)
        sys.exit(1)
    print("all pipeline model checks passed")


if __name__ == "__main__":
    main()
