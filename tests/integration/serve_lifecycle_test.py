#!/usr/bin/python3
"""Lifecycle integration test for `nalar serve`: memory across load/unload cycles and reloads
under sustained load (serve_test.py covers the endpoints, the error table and SIGTERM draining).

    serve_lifecycle_test.py NALAR_BINARY MAKE_REPOSITORY_SCRIPT

1. Explicit mode: 1,000 cycles of load and unload (every 10th with an inference); the server's RSS (/proc/PID/status)
   stays within 10% of its value after the first 100 cycles, and the model still answers.
2. Poll mode: a new version directory appears while clients send requests non-stop; no request
   fails, and afterwards version 2 answers (its own outputs, model_version "2").
3. Explicit mode: re-load (new version on disk, then POST .../load) and a re-load with a config
   override, both under sustained load; no request fails and the new version serves afterwards.
4. --model-config-name: configs/<name>.pbtxt where a model has one, else config.pbtxt; and
   `reshape` on inputs and outputs (clients see dims [4], the model [2, 2]).
"""
import http.client
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from nalar_process import ServeProcess, free_port

NALAR, MAKE_REPO = sys.argv[1], sys.argv[2]
FAILURES = []
spec = importlib.util.spec_from_file_location("make_repository", MAKE_REPO)
make_repository = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_repository)

CONFIG = """name: "m"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 3 ] } ]
dynamic_batching { max_queue_delay_microseconds: 100 }
"""
X = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)


def check(cond, what):
    print(f"{'ok  ' if cond else 'FAIL'} {what}", flush=True)
    if not cond:
        FAILURES.append(what)




def reference(model_path, x):
    m = onnx.load(model_path)
    w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    logits = np.maximum(x @ w["W1"] + w["B1"], 0) @ w["W2"] + w["B2"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def add_version(model_dir, version, seed, tmp, **shape):
    """Writes version `version` elsewhere and renames it in, so a poll never sees half of it."""
    staging = os.path.join(tmp, f"staging-{version}")
    make_repository.save(make_repository.mlp(seed, **shape), os.path.join(staging, "model.onnx"))
    os.rename(staging, os.path.join(model_dir, str(version)))
    return os.path.join(model_dir, str(version), "model.onnx")


class Server(ServeProcess):
    def __init__(self, repo, *extra):
        self.port = free_port()
        self.conn = None
        super().__init__(
            [NALAR, "serve", "--model-repository", repo, "--http-port", str(self.port),
             "--http-address", "127.0.0.1", "--metrics-port", str(free_port()), *extra],
            ready=self.probe_ready, timeout=60)

    def probe_ready(self):
        try:
            return self.call("GET", "/v2/health/ready")[0] == 200
        except OSError:
            self.conn = None  # a refused connection: open a fresh one next time
            return False

    def call(self, method, path, body=None):
        """One request on a kept-alive connection: (status, parsed JSON body)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, data, {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0



class Load:
    """Clients sending inference requests non-stop on their own keep-alive connections."""

    def __init__(self, port, clients=4):
        self.port, self.stop_flag = port, threading.Event()
        self.lock = threading.Lock()
        self.ok, self.failed, self.by_version = 0, [], {}
        body = json.dumps({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32",
                                       "data": X.flatten().tolist()}]}).encode()
        self.body = body
        self.threads = [threading.Thread(target=self.client) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def client(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stop_flag.is_set():
            try:
                conn.request("POST", "/v2/models/m/infer", self.body,
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                raw = r.read()
                if r.status != 200:
                    with self.lock:
                        self.failed.append(f"HTTP {r.status}: {raw[:200]!r}")
                    continue
                out = json.loads(raw)
                with self.lock:
                    self.ok += 1
                    v = out["model_version"]
                    self.by_version[v] = self.by_version.get(v, 0) + 1
            except (OSError, http.client.HTTPException, ValueError) as e:
                with self.lock:
                    self.failed.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.close()

    def count(self):
        with self.lock:
            return self.ok

    def finish(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()


def infer(srv):
    st, body = srv.call("POST", "/v2/models/m/infer",
                        {"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32",
                                     "data": X.flatten().tolist()}]})
    if st != 200:
        return st, None, None
    return st, body["model_version"], np.array(body["outputs"][0]["data"], np.float32).reshape(1, 3)


def wait_for(pred, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def load_unload_cycles(tmp):
    repo = os.path.join(tmp, "cycles")
    os.makedirs(os.path.join(repo, "m"))
    # 0.5 MB of weights (4 -> 32768 -> 3): a version that leaked its session would add ~50%
    # to the RSS within 100 cycles.
    v1 = add_version(os.path.join(repo, "m"), 1, 11, tmp, hidden=32768)
    with open(os.path.join(repo, "m", "config.pbtxt"), "w") as f:
        f.write(CONFIG)
    srv = Server(repo, "--model-control-mode", "explicit")
    try:
        cycles, warm, bad = 1000, 100, []
        ref1 = reference(v1, X)
        samples = {}
        t0 = time.time()
        for i in range(1, cycles + 1):
            st, body = srv.call("POST", "/v2/repository/models/m/load", {})
            if st != 200:
                bad.append(f"load {i}: {st} {body}")
            if i % 10 == 0:  # the model answers while loaded (a first run costs ~10 ms)
                st, _, y = infer(srv)
                if st != 200 or not np.allclose(y, ref1, atol=1e-5):
                    bad.append(f"infer after load {i}: {st}")
            st, body = srv.call("POST", "/v2/repository/models/m/unload", {})
            if st != 200:
                bad.append(f"unload {i}: {st} {body}")
            if i == warm or i % 250 == 0:
                samples[i] = srv.rss_kb()
        secs = time.time() - t0
        check(not bad, f"{cycles} load/unload cycles (100 with inference) all answered correctly in {secs:.1f} s "
                       f"({len(bad)} bad: {bad[:3]})")
        base = samples[warm]
        worst = max(samples.values())
        print("     RSS (kB) after cycles: " + ", ".join(f"{k}: {v}" for k, v in sorted(samples.items())))
        check(worst <= base * 1.10,
              f"RSS after {cycles} cycles within 10% of its value after {warm} "
              f"({base} kB -> max {worst} kB, {100.0 * (worst - base) / base:+.1f}%)")
        st, body = srv.call("GET", "/v2/models/m/ready")
        check(st != 200, "the model is unloaded after the last cycle")
        st, _ = srv.call("POST", "/v2/repository/models/m/load", {})
        st2, _, y = infer(srv)
        check(st == 200 and st2 == 200 and np.allclose(y, reference(v1, X), atol=1e-5),
              "load after the cycles answers correctly")
    except Exception:
        srv.dump_log()
        raise
    check(srv.stop() == 0, "cycles server: SIGTERM exits 0")


def poll_reload_under_load(tmp):
    repo = os.path.join(tmp, "poll")
    os.makedirs(os.path.join(repo, "m"))
    with open(os.path.join(repo, "m", "config.pbtxt"), "w") as f:
        f.write(CONFIG)
    add_version(os.path.join(repo, "m"), 1, 21, tmp)
    srv = Server(repo, "--model-control-mode", "poll", "--repository-poll-secs", "1")
    try:
        load = Load(srv.port)
        wait_for(lambda: load.count() > 200, 20)
        before = load.count()
        v2 = add_version(os.path.join(repo, "m"), 2, 22, tmp)
        swapped = wait_for(lambda: load.by_version.get("2", 0) > 200, 30)
        load.finish()
        check(swapped, f"poll mode: version 2 serves after its directory appeared under load "
                       f"({load.by_version})")
        check(not load.failed and load.ok > before,
              f"poll mode: zero failed requests during the reload ({load.ok} ok, "
              f"{len(load.failed)} failed: {load.failed[:3]})")
        st, ver, y = infer(srv)
        check(st == 200 and ver == "2" and np.allclose(y, reference(v2, X), atol=1e-5),
              "poll mode: after the reload the answers are version 2's")
    except Exception:
        srv.dump_log()
        raise
    check(srv.stop() == 0, "poll server: SIGTERM exits 0")


def explicit_reload_under_load(tmp):
    repo = os.path.join(tmp, "explicit")
    os.makedirs(os.path.join(repo, "m"))
    with open(os.path.join(repo, "m", "config.pbtxt"), "w") as f:
        f.write(CONFIG)
    add_version(os.path.join(repo, "m"), 1, 31, tmp)
    srv = Server(repo, "--model-control-mode", "explicit", "--load-model", "m")
    try:
        load = Load(srv.port)
        wait_for(lambda: load.count() > 200, 20)
        v3 = add_version(os.path.join(repo, "m"), 3, 33, tmp)
        time.sleep(0.5)
        check(load.by_version.get("3", 0) == 0, "explicit mode: a new version on disk is not "
                                                 "picked up before the load call")
        st, body = srv.call("POST", "/v2/repository/models/m/load", {})
        check(st == 200, f"explicit re-load under load -> 200 ({st} {body})")
        n3 = load.by_version.get("3", 0)
        wait_for(lambda: load.by_version.get("3", 0) > n3 + 200, 20)
        # Re-load again with a config override (smaller max_batch_size), still under load.
        cfg = json.dumps({"max_batch_size": 4, "dynamic_batching": {}})
        for _ in range(5):
            st, body = srv.call("POST", "/v2/repository/models/m/load",
                                {"parameters": {"config": cfg}})
            if st != 200:
                break
        check(st == 200, f"explicit re-load with a config override x5 under load ({st} {body})")
        wait_for(lambda: load.count() > n3 + 400, 20)
        load.finish()
        check(not load.failed,
              f"explicit mode: zero failed requests across 6 re-loads ({load.ok} ok, "
              f"{len(load.failed)} failed: {load.failed[:3]})")
        st, ver, y = infer(srv)
        check(st == 200 and ver == "3" and np.allclose(y, reference(v3, X), atol=1e-5),
              "explicit mode: version 3 answers after the re-load")
        st, body = srv.call("GET", "/v2/models/m/config")
        check(st == 200 and body["max_batch_size"] == 4, "the override config is in effect")
    except Exception:
        srv.dump_log()
        raise
    check(srv.stop() == 0, "explicit server: SIGTERM exits 0")


def custom_config_name(tmp):
    repo = os.path.join(tmp, "configs")
    for name in ("m", "n"):
        os.makedirs(os.path.join(repo, name))
        with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
            f.write(CONFIG.replace('name: "m"', f'name: "{name}"'))
        add_version(os.path.join(repo, name), 1, 41, tmp)
    os.makedirs(os.path.join(repo, "m", "configs"))
    with open(os.path.join(repo, "m", "configs", "small.pbtxt"), "w") as f:
        f.write(CONFIG.replace("max_batch_size: 8", "max_batch_size: 2"))
    # reshape: the model takes and returns [batch, 2, 2] (x * 2); clients use [batch, 4].
    graph = helper.make_graph(
        [helper.make_node("Add", ["IN", "IN"], ["OUT"])], "r",
        [helper.make_tensor_value_info("IN", TensorProto.FLOAT, ["batch", 2, 2])],
        [helper.make_tensor_value_info("OUT", TensorProto.FLOAT, ["batch", 2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    reshape_cfg = """max_batch_size: 4
input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] reshape: { shape: [ 2, 2 ] } } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ %s ] reshape: { shape: [ 2, 2 ] } } ]
dynamic_batching { max_queue_delay_microseconds: 2000 }
"""
    for name, out_dims in (("r", "4"), ("r_bad", "5")):
        make_repository.save(model, os.path.join(repo, name, "1", "model.onnx"))
        with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
            f.write(reshape_cfg % out_dims)
    srv = Server(repo, "--model-config-name", "small")
    try:
        st, m = srv.call("GET", "/v2/models/m/config")
        st2, n = srv.call("GET", "/v2/models/n/config")
        check(st == 200 and m["max_batch_size"] == 2 and st2 == 200 and n["max_batch_size"] == 8,
              "--model-config-name: configs/small.pbtxt for m, config.pbtxt for n")
        st, body = srv.call("POST", "/v2/models/m/infer",
                            {"inputs": [{"name": "INPUT0", "shape": [3, 4], "datatype": "FP32",
                                         "data": [0.0] * 12}]})
        check(st == 400 and "max_batch_size 2" in body["error"],
              "--model-config-name: the custom config's limit applies (batch 3 -> 400)")
        st, cfg = srv.call("GET", "/v2/models/r/config")
        st2, meta = srv.call("GET", "/v2/models/r")
        shape = cfg["input"][0].get("reshape", {}).get("shape") if st == 200 else None
        check(shape in ([2, 2], ["2", "2"]), f"reshape: in the model config ({shape})")
        check(st2 == 200 and meta["inputs"][0]["shape"] == [-1, 4] and
              meta["outputs"][0]["shape"] == [-1, 4], f"reshape: metadata shows the client dims ({meta})")
        results = []

        def send(rows):
            x = np.arange(rows * 4, dtype=np.float32).reshape(rows, 4) + rows
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            conn.request("POST", "/v2/models/r/infer", json.dumps(
                {"inputs": [{"name": "IN", "shape": [rows, 4], "datatype": "FP32",
                             "data": x.flatten().tolist()}]}), {"Content-Type": "application/json"})
            r = conn.getresponse()
            body = json.loads(r.read())
            results.append((r.status, x, body))

        threads = [threading.Thread(target=send, args=(n,)) for n in (1, 2, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = len(results) == 3
        for st, x, body in results:
            out = body.get("outputs", [{}])[0]
            ok = ok and st == 200 and out.get("shape") == list(x.shape) and np.allclose(
                np.array(out.get("data")), (2 * x).flatten())
        check(ok, "reshape: [n, 4] in, the model runs [n, 2, 2], [n, 4] out (batched together)")
        st, index = srv.call("POST", "/v2/repository/index", {})
        bad = [e for e in index if e["name"] == "r_bad"]
        check(bad and bad[0]["state"] == "UNAVAILABLE" and "reshape" in bad[0].get("reason", ""),
              f"reshape: dims [5] vs shape [2, 2] refuses the load with a reason ({bad})")
    except Exception:
        srv.dump_log()
        raise
    check(srv.stop() == 0, "config-name server: SIGTERM exits 0")
    bad = subprocess.run([NALAR, "serve", "--model-repository", repo, "--model-config-name",
                          "../x", "--http-port", "0"], capture_output=True, text=True, timeout=30)
    check(bad.returncode != 0 and "--model-config-name" in bad.stderr,
          f"--model-config-name with a slash is refused ({bad.stderr.strip()[:100]})")


def main():
    tmp = tempfile.mkdtemp(prefix="nalar-serve-lifecycle-")
    t0 = time.time()
    try:
        load_unload_cycles(tmp)
        poll_reload_under_load(tmp)
        explicit_reload_under_load(tmp)
        custom_config_name(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{time.time() - t0:.1f} s")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed:")
        for f in FAILURES:
            print("  " + f)
        sys.exit(1)
    print("all lifecycle checks passed")


if __name__ == "__main__":
    main()
