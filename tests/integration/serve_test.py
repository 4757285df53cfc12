#!/usr/bin/python3
"""Integration test for `nalar serve`: a real server on loopback, driven over HTTP.

    serve_test.py NALAR_BINARY MAKE_REPOSITORY_SCRIPT

Builds a test repository in a temp dir, starts the server on a free port and checks every
REST endpoint, the error table, binary/BYTES/FP16 tensors, classification, dynamic batching
under concurrency (batched results equal unbatched ones), queue-full rejection, explicit
load/unload, keep-alive, a slow client not blocking others, poll mode, and SIGTERM draining
in-flight requests before exiting 0. Clients: Python's http.client/urllib and curl.
"""
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import onnx
from onnx import numpy_helper

from nalar_process import ServeProcess, free_port

NALAR, MAKE_REPO = sys.argv[1], sys.argv[2]
FAILURES = []


def check(cond, what):
    if cond:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}")
        FAILURES.append(what)




class Server(ServeProcess):
    def __init__(self, repo, *extra):
        self.port = free_port()
        self.metrics_port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [NALAR, "serve", "--model-repository", repo, "--http-port", str(self.port),
             "--http-address", "127.0.0.1", "--metrics-port", str(self.metrics_port),
             "--grpc-port", "0", *extra],
            ready=lambda: request("GET", self.base + "/v2/health/ready")[0] == 200)


def request(method, url, body=None, headers=None):
    """Returns (status, headers, body bytes)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(base, path):
    status, _, body = request("GET", base + path)
    return status, (json.loads(body) if body else None)


def post_json(base, path, obj):
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    status, headers, body = request("POST", base + path, data, {"Content-Type": "application/json"})
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return status, parsed


def mlp_reference(model_path, x):
    m = onnx.load(model_path)
    w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    h = np.maximum(x @ w["W1"] + w["B1"], 0)
    logits = h @ w["W2"] + w["B2"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def infer_body(x, name="INPUT0", datatype="FP32"):
    return {"inputs": [{"name": name, "shape": list(x.shape), "datatype": datatype,
                        "data": x.flatten().tolist()}]}


def binary_request(inputs, outputs=None, binary_output=True):
    """inputs: [(name, datatype, shape, raw bytes)] -> (body, header length)."""
    header = {"inputs": [{"name": n, "datatype": d, "shape": s,
                          "parameters": {"binary_data_size": len(raw)}} for n, d, s, raw in inputs],
              "parameters": {"binary_data_output": binary_output}}
    if outputs:
        header["outputs"] = outputs
    h = json.dumps(header).encode()
    return h + b"".join(raw for *_, raw in inputs), len(h)


def split_binary_response(headers, body):
    n = int(headers.get("Inference-Header-Content-Length", len(body)))
    meta = json.loads(body[:n])
    out, pos = {}, n
    for o in meta["outputs"]:
        size = o.get("parameters", {}).get("binary_data_size")
        if size is not None:
            out[o["name"]] = body[pos:pos + size]
            pos += size
    return meta, out


def main():
    tmp = tempfile.mkdtemp(prefix="nalar-serve-test-")
    try:
        repo = os.path.join(tmp, "repo")
        subprocess.check_call(["/usr/bin/python3", MAKE_REPO, repo, "--test"])
        run_main_server(repo)
        run_poll_server(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"\n{len(FAILURES)} check(s) failed:")
        for f in FAILURES:
            print("  " + f)
        sys.exit(1)
    print("\nall serve checks passed")


def run_main_server(repo):
    srv = Server(repo, "--model-control-mode", "explicit", "--load-model", "*")
    base = srv.base
    try:
        endpoints(base, repo)
        errors(base)
        binary_tensors(base, repo)
        batching(base, repo)
        queue_full(base)
        load_unload(base)
        connections(srv)
        metrics(srv)
    except Exception:
        srv.dump_log()
        raise
    # SIGTERM while a request is in flight: it must finish, then the process exits 0.
    x = np.random.default_rng(5).standard_normal((64, 1024)).astype(np.float32)
    body, hlen = binary_request([("INPUT0", "FP32", [64, 1024], x.tobytes())])
    results = []

    def slow_request():
        results.append(request("POST", base + "/v2/models/slow/infer", body,
                               {"Inference-Header-Content-Length": str(hlen)})[0])

    threads = [threading.Thread(target=slow_request) for _ in range(1)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    code = srv.stop()
    for t in threads:
        t.join()
    check(code == 0, f"SIGTERM: exit status 0 (got {code})")
    check(results == [200], f"SIGTERM: the in-flight request finished with 200 ({results})")
    try:
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    check(refused, "SIGTERM: no longer accepting connections")


def endpoints(base, repo):
    st, body = get_json(base, "/v2/health/live")
    check(st == 200 and body == {"live": True}, "GET /v2/health/live")
    st, body = get_json(base, "/v2/health/ready")
    check(st == 200 and body == {"ready": True}, "GET /v2/health/ready")
    st, body = get_json(base, "/v2")
    check(st == 200 and body["name"] == "nalar" and "binary_tensor_data" in body["extensions"]
          and "classification" in body["extensions"], "GET /v2 server metadata")
    st, body = get_json(base, "/v2/models/mlp")
    check(st == 200 and body["name"] == "mlp" and body["versions"] == ["1"]
          and body["inputs"] == [{"name": "INPUT0", "datatype": "FP32", "shape": [-1, 4]}]
          and body["outputs"] == [{"name": "OUTPUT0", "datatype": "FP32", "shape": [-1, 3]}],
          "GET /v2/models/mlp metadata")
    st, body = get_json(base, "/v2/models/mlp/versions/1")
    check(st == 200 and body["name"] == "mlp", "GET /v2/models/mlp/versions/1 metadata")
    st, body = get_json(base, "/v2/models/versioned")
    check(st == 200 and body["versions"] == ["2", "3"], "version policy latest{2} loads 2 and 3")
    st, body = get_json(base, "/v2/models/versioned/versions/1")
    check(st == 404 and "error" in body, "version outside the policy -> 404")
    st, body = get_json(base, "/v2/models/mlp/ready")
    check(st == 200 and body["ready"] is True, "GET /v2/models/mlp/ready")
    st, body = get_json(base, "/v2/models/versioned/versions/2/ready")
    check(st == 200 and body["ready"] is True, "GET .../versions/2/ready")
    st, body = get_json(base, "/v2/models/broken/ready")
    check(st == 400 and body["ready"] is False, "broken model: ready -> 400 false")
    st, body = get_json(base, "/v2/models/nope/ready")
    check(st == 404 and "error" in body, "unknown model ready -> 404")
    st, body = get_json(base, "/v2/models/mlp/config")
    check(st == 200 and body["max_batch_size"] == 8 and body["input"][0]["dims"] == [4]
          and body["dynamic_batching"]["preferred_batch_size"] == [4, 8], "GET .../config")
    st, body = get_json(base, "/v2/models/mlp_auto/config")
    check(st == 200 and body["max_batch_size"] == 8 and "dynamic_batching" in body
          and body["input"][0] == {"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [4]},
          "config generated from the model (symbolic batch dim -> max_batch_size 8)")
    st, body = post_json(base, "/v2/repository/index", {})
    states = {(e["name"], e.get("version")): e["state"] for e in body}
    broken = [e for e in body if e["name"] == "broken"]
    check(st == 200 and states.get(("mlp", "1")) == "READY"
          and states.get(("versioned", "3")) == "READY" and broken
          and broken[0]["state"] == "UNAVAILABLE" and "not a valid ONNX" in broken[0]["reason"],
          "POST /v2/repository/index (READY models, broken one UNAVAILABLE with reason)")
    bad = [e for e in body if e["name"] == "bad_warmup"]
    check(bad and bad[0]["state"] == "UNAVAILABLE" and "warmup" in bad[0].get("reason", ""),
          "a failing model_warmup keeps the model UNAVAILABLE")
    st, body = get_json(base, "/v2/models/mlp/stats")
    check(st == 200 and body["model_stats"][0]["inference_count"] == 0,
          "warmup runs do not count as inferences")
    st, body = post_json(base, "/v2/repository/index", {"ready": True})
    check(st == 200 and all(e["state"] == "READY" for e in body), "index with ready: true")

    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    want = mlp_reference(f"{repo}/mlp/1/model.onnx", x)
    st, body = post_json(base, "/v2/models/mlp/infer", dict(infer_body(x), id="req-7"))
    ok = st == 200 and body["id"] == "req-7" and body["model_name"] == "mlp"
    ok = ok and body["outputs"][0]["shape"] == [3, 3] and body["outputs"][0]["datatype"] == "FP32"
    ok = ok and np.allclose(np.array(body["outputs"][0]["data"]).reshape(3, 3), want, atol=1e-5)
    check(ok, "POST infer with JSON tensors matches numpy")
    nested = {"inputs": [{"name": "INPUT0", "shape": [3, 4], "datatype": "FP32",
                          "data": x.tolist()}]}
    st, body = post_json(base, "/v2/models/mlp/versions/1/infer", nested)
    check(st == 200 and np.allclose(np.array(body["outputs"][0]["data"]).reshape(3, 3), want,
                                    atol=1e-5), "infer with nested JSON data, explicit version")
    # curl as the client.
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-H",
                          "Content-Type: application/json", "-d", json.dumps(infer_body(x)),
                          base + "/v2/models/mlp_auto/infer"], capture_output=True, text=True)
    body_text, code = out.stdout.rsplit("\n", 1)
    check(code == "200" and np.allclose(
        np.array(json.loads(body_text)["outputs"][0]["data"]).reshape(3, 3), want, atol=1e-5),
        "curl infer on the generated-config model")

    st, body = post_json(base, "/v2/models/mlp/infer", dict(
        infer_body(x), outputs=[{"name": "OUTPUT0", "parameters": {"classification": 2}}]))
    labels = ["setosa", "versicolor", "virginica"]
    expect = []
    for row in want:
        top = np.argsort(-row, kind="stable")[:2]
        expect.append([(i, labels[i]) for i in top])
    got = [[(int(s.split(":")[1]), s.split(":")[2]) for s in body["outputs"][0]["data"][r * 2:r * 2 + 2]]
           for r in range(3)] if st == 200 else None
    check(st == 200 and body["outputs"][0]["datatype"] == "BYTES"
          and body["outputs"][0]["shape"] == [3, 2] and got == expect,
          "classification extension: top-2 'value:index:label'")

    st, body = post_json(base, "/v2/models/strings/infer", {"inputs": [
        {"name": "IN", "shape": [2, 2], "datatype": "BYTES", "data": [["a", "héllo"], ["", "x\"y"]]}]})
    check(st == 200 and body["outputs"][0]["data"] == ["a", "héllo", "", "x\"y"]
          and body["outputs"][0]["datatype"] == "BYTES", "BYTES tensors as JSON strings")

    st, body = get_json(base, "/v2/models/mlp/stats")
    s = body["model_stats"][0] if st == 200 else {}
    check(st == 200 and s.get("name") == "mlp" and s["inference_stats"]["success"]["count"] >= 3
          and s["inference_count"] >= 9 and "batch_stats" in s, "GET .../stats")
    st, body = get_json(base, "/v2/models/stats")
    check(st == 200 and len(body["model_stats"]) >= 6, "GET /v2/models/stats (all models)")


def errors(base):
    x = np.ones((1, 4), np.float32)
    cases = [
        ("malformed JSON", b'{"inputs": [', 400),
        ("not an object", b'[1, 2]', 400),
        ("no inputs", {"inputs": []}, 400),
        ("wrong input name", infer_body(x, name="NOPE"), 400),
        ("wrong shape", infer_body(np.ones((1, 5), np.float32)), 400),
        ("wrong rank", infer_body(np.ones((4,), np.float32)), 400),
        ("wrong datatype", infer_body(x.astype(np.float64), datatype="FP64"), 400),
        ("unknown datatype", infer_body(x, datatype="FP33"), 400),
        ("batch above max_batch_size", infer_body(np.ones((9, 4), np.float32)), 400),
        ("data length mismatch", {"inputs": [{"name": "INPUT0", "shape": [1, 4],
                                              "datatype": "FP32", "data": [1, 2, 3]}]}, 400),
        ("too much data", {"inputs": [{"name": "INPUT0", "shape": [1, 4],
                                       "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}, 400),
        ("overflowing shape", {"inputs": [{"name": "INPUT0", "shape": [2**40, 2**40, 4],
                                           "datatype": "FP32", "data": [1]}]}, 400),
        ("huge shape, little data", {"inputs": [{"name": "INPUT0", "shape": [8, 2**30],
                                                 "datatype": "FP32", "data": [1]}]}, 400),
        ("negative dim", {"inputs": [{"name": "INPUT0", "shape": [-1, 4],
                                      "datatype": "FP32", "data": [1, 2, 3, 4]}]}, 400),
        ("string in FP32 data", {"inputs": [{"name": "INPUT0", "shape": [1, 4],
                                             "datatype": "FP32", "data": [1, 2, "x", 4]}]}, 400),
        ("unknown output", dict(infer_body(x), outputs=[{"name": "NOPE"}]), 400),
    ]
    for what, body, want in cases:
        st, resp = post_json(base, "/v2/models/mlp/infer", body)
        check(st == want and isinstance(resp, dict) and isinstance(resp.get("error"), str),
              f"error: {what} -> {want} (got {st} {resp})")
    st, resp = post_json(base, "/v2/models/nope/infer", infer_body(x))
    check(st == 404 and "error" in resp, "error: unknown model -> 404")
    st, resp = post_json(base, "/v2/models/mlp/versions/9/infer", infer_body(x))
    check(st == 404 and "error" in resp, "error: unknown version -> 404")
    st, resp = post_json(base, "/v2/models/mlp/versions/abc/infer", infer_body(x))
    check(st == 404 and "error" in resp, "error: non-numeric version -> 404")
    st, resp = get_json(base, "/v2/nothing/here")
    check(st == 404 and "error" in resp, "error: unknown path -> 404")
    st, _, raw = request("GET", base + "/v2/models/mlp/infer")
    check(st == 405 and "error" in json.loads(raw), "error: GET on infer -> 405")
    # Oversized body (64 MiB default limit), sent with curl: refused from the headers alone.
    big = tempfile.NamedTemporaryFile()
    big.truncate(65 << 20)
    big.flush()
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--data-binary", "@" + big.name,
                          base + "/v2/models/mlp/infer"], capture_output=True, text=True)
    body_text, code = out.stdout.rsplit("\n", 1)
    check(code == "413" and "error" in json.loads(body_text), f"error: oversized body -> 413 (curl)")
    # Binary extension errors.
    body, hlen = binary_request([("INPUT0", "FP32", [1, 4], b"\0" * 12)])
    st, _, raw = request("POST", base + "/v2/models/mlp/infer", body,
                         {"Inference-Header-Content-Length": str(hlen)})
    check(st == 400 and "error" in json.loads(raw), "error: binary_data_size mismatch -> 400")
    st, _, raw = request("POST", base + "/v2/models/mlp/infer", body,
                         {"Inference-Header-Content-Length": str(len(body) + 5)})
    check(st == 400 and "error" in json.loads(raw), "error: header length beyond body -> 400")
    body, hlen = binary_request([("INPUT0", "FP32", [1, 4], b"\0" * 16)])
    st, _, raw = request("POST", base + "/v2/models/mlp/infer", body + b"junk",
                         {"Inference-Header-Content-Length": str(hlen)})
    check(st == 400 and "error" in json.loads(raw), "error: unclaimed binary bytes -> 400")
    # The server goes on serving everyone else.
    st, resp = post_json(base, "/v2/models/mlp/infer", infer_body(x))
    check(st == 200 and len(resp["outputs"][0]["data"]) == 3, "still serving after bad requests")


def binary_tensors(base, repo):
    x = np.random.default_rng(2).standard_normal((2, 4)).astype(np.float32)
    want = mlp_reference(f"{repo}/mlp/1/model.onnx", x)
    body, hlen = binary_request([("INPUT0", "FP32", [2, 4], x.tobytes())])
    st, headers, raw = request("POST", base + "/v2/models/mlp/infer", body,
                               {"Inference-Header-Content-Length": str(hlen)})
    meta, outs = split_binary_response(headers, raw) if st == 200 else ({}, {})
    got = np.frombuffer(outs.get("OUTPUT0", b""), np.float32)
    check(st == 200 and meta["outputs"][0]["parameters"]["binary_data_size"] == 24
          and got.size == 6 and np.allclose(got.reshape(2, 3), want, atol=1e-5),
          "binary tensor extension: FP32 in and out")
    # Binary in, JSON out for one output.
    body, hlen = binary_request([("INPUT0", "FP32", [2, 4], x.tobytes())],
                                outputs=[{"name": "OUTPUT0", "parameters": {"binary_data": False}}])
    st, headers, raw = request("POST", base + "/v2/models/mlp/infer", body,
                               {"Inference-Header-Content-Length": str(hlen)})
    check(st == 200 and np.allclose(np.array(json.loads(raw)["outputs"][0]["data"]).reshape(2, 3),
                                    want, atol=1e-5), "binary input, JSON output")
    h = np.array([[1.5, -2.25], [65504, 2**-24]], np.float16)
    body, hlen = binary_request([("IN", "FP16", [2, 2], h.tobytes())])
    st, headers, raw = request("POST", base + "/v2/models/halfs/infer", body,
                               {"Inference-Header-Content-Length": str(hlen)})
    meta, outs = split_binary_response(headers, raw) if st == 200 else ({}, {})
    check(st == 200 and meta["outputs"][0]["datatype"] == "FP16"
          and outs.get("OUT") == h.tobytes(), "FP16 as binary, bit-exact round trip")
    bf = struct.pack("<4H", 0x3fc0, 0xc010, 0x7f7f, 0x0001)  # 1.5, -2.25, max, tiny
    body, hlen = binary_request([("IN", "BF16", [2, 2], bf)])
    st, headers, raw = request("POST", base + "/v2/models/bhalfs/infer", body,
                               {"Inference-Header-Content-Length": str(hlen)})
    meta, outs = split_binary_response(headers, raw) if st == 200 else ({}, {})
    check(st == 200 and meta["outputs"][0]["datatype"] == "BF16" and outs.get("OUT") == bf,
          "BF16 as binary, bit-exact round trip")
    # Raw binary request (Inference-Header-Content-Length: 0): the body is the only input.
    one = x[:1]
    st, headers, raw = request("POST", base + "/v2/models/mlp/infer", one.tobytes(),
                               {"Inference-Header-Content-Length": "0"})
    check(st == 200 and np.allclose(np.array(json.loads(raw)["outputs"][0]["data"]),
                                    want[0], atol=1e-5), "raw binary request (header length 0)")
    # Chunked request body, sent by curl.
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", json.dumps(infer_body(x)),
                          base + "/v2/models/mlp/infer"], capture_output=True, text=True)
    body_text, code = out.stdout.rsplit("\n", 1)
    check(code == "200" and np.allclose(
        np.array(json.loads(body_text)["outputs"][0]["data"]).reshape(2, 3), want, atol=1e-5),
        "chunked request body (curl)")
    # A JSON body over 1 MiB: curl sends "Expect: 100-continue" and must not stall on it
    # (curl waits 1 s for the interim response; a cheap endpoint keeps the timing meaningful).
    big = np.random.default_rng(9).standard_normal((64, 1024)).astype(np.float32)
    path = os.path.join(tempfile.gettempdir(), f"nalar-serve-big-{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump(infer_body(big), f)
    t0 = time.time()
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                          "Expect: 100-continue", "--data-binary", "@" + path,
                          base + "/v2/repository/index"], capture_output=True, text=True)
    os.unlink(path)
    check(out.stdout == "200" and time.time() - t0 < 0.9,
          f"1.3 MB JSON body with Expect: 100-continue (curl) in {time.time() - t0:.2f}s")
    strings = [b"abc", b"", "héllo".encode(), b"\x00\xff"]
    raw_in = b"".join(struct.pack("<I", len(s)) + s for s in strings)
    body, hlen = binary_request([("IN", "BYTES", [2, 2], raw_in)])
    st, headers, raw = request("POST", base + "/v2/models/strings/infer", body,
                               {"Inference-Header-Content-Length": str(hlen)})
    meta, outs = split_binary_response(headers, raw) if st == 200 else ({}, {})
    check(st == 200 and outs.get("OUT") == raw_in, "BYTES as binary (length-prefixed), round trip")


def batching(base, repo):
    """Concurrent requests of different batch sizes: every result equals the unbatched one."""
    rng = np.random.default_rng(3)
    _, before = get_json(base, "/v2/models/mlp/stats")
    before = before["model_stats"][0]
    sizes = [1, 2, 3, 1, 1, 2, 1, 4] * 4
    xs = [rng.standard_normal((n, 4)).astype(np.float32) for n in sizes]
    results = [None] * len(xs)

    def worker(i):
        st, body = post_json(base, "/v2/models/mlp/infer", infer_body(xs[i]))
        results[i] = (st, body)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = True
    for x, (st, body) in zip(xs, results):
        want = mlp_reference(f"{repo}/mlp/1/model.onnx", x)
        ok = ok and st == 200 and body["outputs"][0]["shape"] == [len(x), 3] and np.allclose(
            np.array(body["outputs"][0]["data"]).reshape(len(x), 3), want, atol=1e-5)
    check(ok, f"{len(xs)} concurrent requests of batch 1-4: each result equals numpy")
    _, after = get_json(base, "/v2/models/mlp/stats")
    after = after["model_stats"][0]
    runs = after["execution_count"] - before["execution_count"]
    rows = after["inference_count"] - before["inference_count"]
    big = [b["batch_size"] for b in after["batch_stats"] if b["batch_size"] > 4]
    check(rows == sum(sizes) and runs < len(xs) and big,
          f"dynamic batching joined requests: {len(xs)} requests, {rows} rows in {runs} runs, "
          f"batch sizes > 4 seen: {sorted(set(big))}")


def queue_full(base):
    """max_queue_size 1 on a slow model: concurrent requests beyond it get 503."""
    x = np.random.default_rng(4).standard_normal((64, 1024)).astype(np.float32)
    body, hlen = binary_request([("INPUT0", "FP32", [64, 1024], x.tobytes())])
    codes = []
    lock = threading.Lock()

    def worker():
        st, _, raw = request("POST", base + "/v2/models/slow/infer", body,
                             {"Inference-Header-Content-Length": str(hlen)})
        with lock:
            codes.append((st, raw if st != 200 else b""))

    for _ in range(3):
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if any(st == 503 for st, _ in codes):
            break
    rejected = [raw for st, raw in codes if st == 503]
    check(rejected and all(st in (200, 503) for st, _ in codes)
          and b"queue" in rejected[0] and "error" in json.loads(rejected[0]),
          f"max_queue_size -> 503 with an error ({len(rejected)} of {len(codes)} rejected)")


def load_unload(base):
    x = np.ones((1, 4), np.float32)
    st, _ = post_json(base, "/v2/repository/models/mlp_auto/unload", {})
    check(st == 200, "POST .../mlp_auto/unload")
    st, body = get_json(base, "/v2/models/mlp_auto/ready")
    check(st == 400 and body["ready"] is False, "unloaded model is not ready")
    st, body = post_json(base, "/v2/models/mlp_auto/infer", infer_body(x))
    check(st == 404 and "error" in body, "infer on an unloaded model -> 404")
    st, body = post_json(base, "/v2/repository/index", {})
    check(any(e["name"] == "mlp_auto" and e["state"] == "UNAVAILABLE" for e in body),
          "index shows the unloaded model UNAVAILABLE")
    st, _ = post_json(base, "/v2/repository/models/mlp_auto/load", {})
    check(st == 200, "POST .../mlp_auto/load")
    st, body = post_json(base, "/v2/models/mlp_auto/infer", infer_body(x))
    check(st == 200, "infer after reload")
    # Load with a config given in the request (max_batch_size 2 instead of the generated 8).
    cfg = json.dumps({"max_batch_size": 2, "input": [{"name": "INPUT0", "data_type": "TYPE_FP32",
                                                      "dims": [4]}]})
    st, body = post_json(base, "/v2/repository/models/mlp_auto/load", {"parameters": {"config": cfg}})
    check(st == 200, "load with a config override")
    st, body = get_json(base, "/v2/models/mlp_auto/config")
    check(st == 200 and body["max_batch_size"] == 2, "the override config is in effect")
    st, body = post_json(base, "/v2/models/mlp_auto/infer", infer_body(np.ones((3, 4), np.float32)))
    check(st == 400 and "error" in body, "batch 3 above the override's max_batch_size 2 -> 400")
    st, body = post_json(base, "/v2/repository/models/mlp_auto/load",
                         {"parameters": {"config": "{not json"}})
    check(st == 400 and "error" in body, "load with a malformed config -> 400")
    st, body = post_json(base, "/v2/repository/models/nope/load", {})
    check(st == 404 and "error" in body, "load of a model not in the repository -> 404")


def connections(srv):
    # Keep-alive: several requests on one connection.
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    socks, ok = set(), True
    for _ in range(5):
        conn.request("GET", "/v2/health/live")
        r = conn.getresponse()
        ok = ok and r.status == 200 and json.loads(r.read()) == {"live": True}
        socks.add(id(conn.sock))
    conn.close()
    check(ok and len(socks) == 1, "keep-alive: 5 requests on one connection")
    # Pipelining: two requests written at once, two answers in order.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /v2/models/nope HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    check(data.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 404" in data, "pipelined requests")
    # A slow client holding half a request does not block anyone else.
    slow = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    slow.sendall(b"POST /v2/models/mlp/infer HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{\"in")
    t0 = time.time()
    st, _ = get_json(srv.base, "/v2/health/ready")
    check(st == 200 and time.time() - t0 < 2, "a slow client does not block others")
    slow.close()
    # Garbage on the wire gets a 400 and the server keeps going.
    g = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    g.sendall(b"\x00\x01garbage\r\n\r\n")
    reply = g.recv(4096)
    g.close()
    check(reply.startswith(b"HTTP/1.1 400"), "malformed HTTP -> 400")
    # Many connections at once.
    conns = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(200)]
    for c in conns:
        c.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    good = sum(1 for c in conns if c.recv(4096).startswith(b"HTTP/1.1 200"))
    for c in conns:
        c.close()
    check(good == 200, f"200 concurrent connections answered ({good})")


def metrics(srv):
    st, headers, body = request("GET", f"http://127.0.0.1:{srv.metrics_port}/metrics")
    text = body.decode()
    lines = {l.split(" ")[0]: l.split(" ")[1] for l in text.splitlines() if l and l[0] != "#"}
    ok = st == 200 and headers.get("Content-Type", "").startswith("text/plain")
    ok = ok and int(lines.get('nv_inference_request_success{model="mlp",version="1"}', 0)) > 30
    ok = ok and int(lines.get('nv_inference_exec_count{model="mlp",version="1"}', 0)) > 0
    ok = ok and 'nv_inference_pending_request_count{model="slow",version="1"}' in lines
    ok = ok and "# TYPE nv_inference_queue_duration_us counter" in text
    check(ok, "GET /metrics on the metrics port (Prometheus text, Triton names)")


def run_poll_server(tmp):
    repo = os.path.join(tmp, "pollrepo")
    os.makedirs(repo)
    shutil.copytree(os.path.join(tmp, "repo", "mlp"), os.path.join(repo, "mlp"))
    srv = Server(repo, "--model-control-mode", "poll", "--repository-poll-secs", "1")
    try:
        st, body = post_json(srv.base, "/v2/repository/models/mlp/unload", {})
        check(st == 400 and "error" in body, "poll mode: unload API refused (400)")
        shutil.copytree(os.path.join(tmp, "repo", "mlp_auto"), os.path.join(repo, "added"))
        deadline, st = time.time() + 20, 0
        while time.time() < deadline and st != 200:
            time.sleep(0.3)
            st, _ = get_json(srv.base, "/v2/models/added/ready")
        check(st == 200, "poll mode: a new model folder gets loaded")
        shutil.rmtree(os.path.join(repo, "added"))
        deadline = time.time() + 20
        while time.time() < deadline and st == 200:
            time.sleep(0.3)
            st, _ = get_json(srv.base, "/v2/models/added/ready")
        check(st != 200, "poll mode: a removed model folder gets unloaded")
        st, _ = get_json(srv.base, "/v2/models/mlp/ready")
        check(st == 200, "poll mode: the unchanged model stays ready")
    except Exception:
        srv.dump_log()
        raise
    check(srv.stop() == 0, "poll server: SIGTERM exits 0")


if __name__ == "__main__":
    main()
