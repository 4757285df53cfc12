#!/usr/bin/python3
"""End-to-end image classification through `nalar serve`: raw JPEGs POSTed to
/v2/models/resnet18/classify (decode, resize to 256 shorter side, centre crop 224, normalise,
resnet18, softmax top-5) against the same model fed ready-made FP32 tensors over the binary
/infer endpoint. The difference is the share of time spent preparing the input.

    classify_bench.py NALAR MODELS_DIR RESULTS.md [--seconds S] [--concurrency C]

MODELS_DIR holds resnet18/model.onnx from bench/export_bench_models.py (dynamic batch axis).
Prints the section and writes it into RESULTS.md (section "classify").
"""
import argparse
import http.client
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "image"))
from results_section import replace_section  # noqa: E402
from image_bench import photo_like  # noqa: E402

PIPELINE = {
    "input": {"kind": "image", "resize": "shorter_side", "shorter_side": 256,
              "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    "output": {"activation": "softmax", "top_k": 5},
}
SIZES = [(640, 480), (480, 640), (800, 600), (1024, 768), (500, 375), (375, 500)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def load(port, seconds, concurrency, make_request):
    """Closed loop: `concurrency` clients, each on its own keep-alive connection."""
    latencies, errors = [], []
    stop = time.time() + seconds
    lock = threading.Lock()

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = i
        while time.time() < stop:
            method, path, body, headers = make_request(n)
            t0 = time.perf_counter()
            conn.request(method, path, body, headers)
            r = conn.getresponse()
            data = r.read()
            dt = time.perf_counter() - t0
            with lock:
                if r.status == 200:
                    latencies.append(dt)
                else:
                    errors.append(data[:200])
            n += concurrency
        conn.close()

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]!r}")
    return len(latencies) / wall, statistics.median(latencies) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nalar")
    ap.add_argument("models")
    ap.add_argument("results")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args()

    model = os.path.join(args.models, "resnet18", "model.onnx")
    if not os.path.exists(model):
        sys.exit(f"{model} is missing: run bench/export_bench_models.py {args.models} --only resnet18")
    tmp = tempfile.mkdtemp()
    os.makedirs(f"{tmp}/repo/resnet18/1")
    os.symlink(os.path.abspath(model), f"{tmp}/repo/resnet18/1/model.onnx")
    with open(f"{tmp}/repo/resnet18/pipeline.json", "w") as f:
        json.dump(PIPELINE, f)
    jpegs = []
    for i, (w, h) in enumerate(SIZES):
        buf = io.BytesIO()
        Image.fromarray(photo_like(w, h, i)).save(buf, format="JPEG", quality=90)
        jpegs.append(buf.getvalue())
    tensor = np.random.default_rng(0).normal(size=(1, 3, 224, 224)).astype(np.float32).tobytes()
    header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 224, 224],
                                     "parameters": {"binary_data_size": len(tensor)}}],
                         "outputs": [{"name": "output", "parameters": {"classification": 5}}]}
                        ).encode()

    port = free_port()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [args.nalar, "serve", "--model-repository", f"{tmp}/repo", "--http-port", str(port),
         "--http-address", "127.0.0.1", "--metrics-port", str(free_port()),
         "--grpc-port", str(free_port())], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/v2/health/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                log.seek(0)
                sys.exit("server did not start:\n" + log.read().decode(errors="replace"))
            time.sleep(0.2)

        def classify(n):
            return ("POST", "/v2/models/resnet18/classify", jpegs[n % len(jpegs)],
                    {"Content-Type": "image/jpeg"})

        def infer(n):
            return ("POST", "/v2/models/resnet18/infer", header + tensor,
                    {"Inference-Header-Content-Length": str(len(header)),
                     "Content-Type": "application/octet-stream"})

        load(port, 1, 1, classify)  # warm-up
        load(port, 1, 1, infer)
        rows = []
        for conc in sorted({1, args.concurrency}):
            # Interleaved halves so that machine noise hits both the same way.
            c1, l1 = load(port, args.seconds / 2, conc, classify)
            t1, m1 = load(port, args.seconds / 2, conc, infer)
            c2, l2 = load(port, args.seconds / 2, conc, classify)
            t2, m2 = load(port, args.seconds / 2, conc, infer)
            rows.append((conc, (c1 + c2) / 2, (l1 + l2) / 2, (t1 + t2) / 2, (m1 + m2) / 2))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    lines = [
        "## End-to-end image classification (`make bench-classify`)",
        "",
        f"resnet18 (random weights, bench/.models) served by `nalar serve`; {len(jpegs)} photo-like "
        "JPEGs of 375-1024 px (quality 90) POSTed as `image/jpeg` to `/classify` (decode, shorter "
        "side 256, centre crop 224, ImageNet normalisation, model, softmax top-5), against the same "
        "model given a ready FP32 [1,3,224,224] tensor over binary `/infer` (top-5 classification). "
        "Prepare share = 1 - (tensor latency / classify latency), i.e. the part of a classify "
        f"request spent decoding and preparing. Closed loop, {args.seconds:g} s per row "
        f"(interleaved halves), {os.cpu_count()} cores shared with the server.",
        "",
        "| clients | classify images/s | classify p50 ms | tensor infer/s | tensor p50 ms | prepare share |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for conc, cr, cl, tr, tl in rows:
        lines.append(f"| {conc} | {cr:.1f} | {cl:.1f} | {tr:.1f} | {tl:.1f} | "
                     f"{max(0.0, 1 - tl / cl) * 100:.0f}% |")
    text = "\n".join(lines) + "\n"
    print(text)
    old = open(args.results).read() if os.path.exists(args.results) else "# Benchmark results\n"
    with open(args.results, "w") as f:
        f.write(replace_section(old, "classify", text))


if __name__ == "__main__":
    main()
