#!/usr/bin/python3
"""End-to-end image classification through `nalar serve`: raw JPEGs POSTed to
/v2/models/resnet18/classify (decode, shorter side 256, centre crop 224, ImageNet normalisation,
resnet18, softmax top-5 with labels) against, in the same run:
  - the same model fed ready-made FP32 tensors over binary /infer (what preparing costs a client),
  - the same pipeline done by hand in Python: Pillow decode + resize + crop + normalise, then
    torchvision's resnet18 (same architecture, random weights) in PyTorch.
The share of time spent preparing input is read from the server's own statistics
(/v2/models/<m>/stats: compute_input holds the pipeline's decode + resize + normalise time).

    classify_bench.py NALAR MODELS_DIR RESULTS.md [--seconds S] [--rounds R] [--concurrency C]
                      [--threads T] [--batch B] [--baseline OTHER_NALAR]

MODELS_DIR holds resnet18/model.onnx from bench/export_bench_models.py (random weights, dynamic
batch axis). --baseline runs the batched-request rows on another build too (before/after), both
servers up at once and measured in alternating rounds.
Prints the section and writes it into RESULTS.md (section "classify").
"""
import argparse
import base64
import contextlib
import http.client
import io
import json
import os
import signal
import socket
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

MODEL = "resnet18"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
PIPELINE = {
    "input": {"kind": "image", "resize": "shorter_side", "shorter_side": 256,
              "height": 224, "width": 224, "interpolation": "bilinear",
              "mean": MEAN, "std": STD},
    "output": {"activation": "softmax", "top_k": 5, "labels": "labels.txt"},
}
# Typical photo sizes (landscape and portrait), as a camera or a web page would send them.
SIZES = [(500, 375), (375, 500), (640, 480), (480, 640), (800, 600), (600, 800),
         (1024, 768), (768, 1024), (640, 427), (1024, 683)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def closed_loop(seconds, concurrency, one_call):
    """`concurrency` workers, each calling one_call(worker, n) back to back; returns the
    per-call latencies and the wall time. one_call returns the items it handled."""
    latencies, errors = [], []
    items = [0]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker(i):
        state = {}
        n = i
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                k = one_call(state, n)
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    items[0] += k
                n += concurrency
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(e))
        finally:
            if "conn" in state:
                state["conn"].close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} failed calls, first: {errors[0]}")
    return {"rate": items[0] / wall, "lat": latencies}


def http_call(port, make_request):
    def call(state, n):
        if "conn" not in state:
            state["conn"] = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        method, path, body, headers, k = make_request(n)
        state["conn"].request(method, path, body, headers)
        r = state["conn"].getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {data[:300]!r}")
        return k
    return call


def get_json(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise SystemExit(f"GET {path}: HTTP {r.status} {body[:300]!r}")
    return json.loads(body)


def server_stats(port):
    s = get_json(port, f"/v2/models/{MODEL}/stats")["model_stats"][0]
    st = s["inference_stats"]
    return {k: st[k]["ns"] for k in ("success", "queue", "compute_input", "compute_infer",
                                     "compute_output")} | {"count": st["success"]["count"]}


@contextlib.contextmanager
def serve(nalar, repo, threads):
    port, metrics_port = free_port(), free_port()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [nalar, "serve", "--model-repository", repo, "--http-port", str(port),
         "--http-address", "127.0.0.1", "--metrics-port", str(metrics_port),
         "--grpc-port", str(free_port()), "--threads", str(threads)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", f"/v2/models/{MODEL}/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                log.seek(0)
                sys.exit("server did not start:\n" + log.read().decode(errors="replace"))
            time.sleep(0.2)
        yield port, metrics_port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def measure_server(port, seconds, concurrency, make_request):
    """Two interleavable halves are the caller's business; this is one timed run with the
    server's statistics over exactly that run."""
    before = server_stats(port)
    r = closed_loop(seconds, concurrency, http_call(port, make_request))
    after = server_stats(port)
    r["stats"] = {k: after[k] - before[k] for k in after}
    return r


def merge(*runs):
    out = {"rate": sum(r["rate"] for r in runs) / len(runs),
           "lat": [x for r in runs for x in r["lat"]]}
    if "stats" in runs[0]:
        out["stats"] = {k: sum(r["stats"][k] for r in runs) for k in runs[0]["stats"]}
    return out


def make_python_peer(jpegs, threads):
    """Pillow + PyTorch, the way a Python service would do it by hand."""
    import torch
    import torchvision
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    mean = np.array(MEAN, np.float32).reshape(3, 1, 1)
    std = np.array(STD, np.float32).reshape(3, 1, 1)
    prep_time = [0.0]
    lock = threading.Lock()

    def prepare(data):
        im = Image.open(io.BytesIO(data))
        im = im.convert("RGB")
        w, h = im.size
        s = 256
        nw, nh = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
        im = im.resize((nw, nh), Image.BILINEAR)
        left, top = int(round((nw - 224) / 2.0)), int(round((nh - 224) / 2.0))
        im = im.crop((left, top, left + 224, top + 224))
        x = np.asarray(im, np.float32).transpose(2, 0, 1) * (1 / 255.0)
        return (x - mean) / std

    def call(state, n):
        t0 = time.perf_counter()
        x = torch.from_numpy(prepare(jpegs[n % len(jpegs)])[None])
        t1 = time.perf_counter()
        with torch.inference_mode():
            p = torch.softmax(model(x), 1)
            torch.topk(p, 5)
        with lock:
            prep_time[0] += t1 - t0
        return 1

    return call, prep_time


def lat_ms(r, p):
    return percentile(r["lat"], p) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nalar")
    ap.add_argument("models")
    ap.add_argument("results")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=4,
                    help="interleaved rounds per cell (noise on a shared machine hits all alike)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads of the server's model and of the PyTorch peer; "
                         "model copies (instance_group) = cores / threads")
    ap.add_argument("--baseline", help="another nalar build for the batched-request row")
    args = ap.parse_args()

    model = os.path.join(args.models, MODEL, "model.onnx")
    if not os.path.exists(model):
        sys.exit(f"{model} is missing: run bench/export_bench_models.py {args.models} "
                 f"--only {MODEL}")
    tmp = tempfile.mkdtemp(prefix="nalar-classify-")
    repo = f"{tmp}/repo"
    os.makedirs(f"{repo}/{MODEL}/1")
    os.symlink(os.path.abspath(model), f"{repo}/{MODEL}/1/model.onnx")
    with open(f"{repo}/{MODEL}/pipeline.json", "w") as f:
        json.dump(PIPELINE, f)
    instances = max(1, (os.cpu_count() or 1) // args.threads)
    with open(f"{repo}/{MODEL}/config.pbtxt", "w") as f:
        f.write(f'name: "{MODEL}"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\n'
                f'instance_group [{{ count: {instances} kind: KIND_CPU }}]\n')
    with open(f"{repo}/{MODEL}/labels.txt", "w") as f:
        f.writelines(f"class_{i:04d}\n" for i in range(1000))
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
    b64 = [base64.b64encode(j).decode() for j in jpegs]
    path = f"/v2/models/{MODEL}/classify"

    def classify(n):
        return ("POST", path, jpegs[n % len(jpegs)], {"Content-Type": "image/jpeg"}, 1)

    def infer(n):
        return ("POST", f"/v2/models/{MODEL}/infer", header + tensor,
                {"Inference-Header-Content-Length": str(len(header)),
                 "Content-Type": "application/octet-stream"}, 1)

    def batched(n):
        body = json.dumps({"instances": [{"b64": b64[(n * args.batch + i) % len(b64)]}
                                         for i in range(args.batch)]})
        return ("POST", path, body, {"Content-Type": "application/json"}, args.batch)

    cores = os.cpu_count()
    peer, peer_prep = make_python_peer(jpegs, args.threads)
    closed_loop(1, 1, peer)  # warm-up
    concs = sorted({1, args.concurrency})
    rows = []
    half = args.seconds / args.rounds
    load_before = os.getloadavg()[0]
    with serve(args.nalar, repo, args.threads) as (port, metrics_port):
        # The answer is the pipeline's: labels from labels.txt, five of them.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", path, jpegs[0], {"Content-Type": "image/jpeg"})
        answer = json.loads(c.getresponse().read())
        c.close()
        text = json.dumps(answer)
        if "class_" not in text:
            sys.exit(f"unexpected /classify answer: {text[:300]}")
        closed_loop(1, 1, http_call(port, classify))  # warm-up
        closed_loop(1, 1, http_call(port, infer))
        for conc in concs:
            # Interleaved halves so that machine noise hits every contender the same way.
            runs = {"classify": [], "infer": [], "peer": []}
            for _ in range(args.rounds):
                runs["classify"].append(measure_server(port, half, conc, classify))
                runs["infer"].append(measure_server(port, half, conc, infer))
                peer_prep[0] = 0.0
                r = closed_loop(half, conc, peer)
                r["prep_share"] = peer_prep[0] / sum(r["lat"])
                runs["peer"].append(r)
            pr = merge(*runs["peer"])
            pr["prep_share"] = sum(r["prep_share"] for r in runs["peer"]) / args.rounds
            rows.append((conc, merge(*runs["classify"]), merge(*runs["infer"]), pr))
        c = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=30)
        c.request("GET", "/metrics")
        metrics = c.getresponse().read().decode()
        c.close()
        metric = next((ln for ln in metrics.splitlines()
                       if ln.startswith("nv_inference_compute_input_duration_us")
                       and MODEL in ln), None)
        if metric is None:
            sys.exit("nv_inference_compute_input_duration_us is missing from /metrics")
    # Batched requests: this build against the baseline build, both up at once, in alternating
    # rounds so that machine noise hits both alike.
    servers = [("this build (parallel decode)", args.nalar)]
    if args.baseline:
        servers.append(("baseline (serial decode)", args.baseline))
    with contextlib.ExitStack() as stack:
        ports = [stack.enter_context(serve(b, repo, args.threads))[0] for _, b in servers]
        for p in ports:
            closed_loop(1, 1, http_call(p, batched))
        runs = [[] for _ in servers]
        for _ in range(args.rounds):
            for i, p in enumerate(ports):
                runs[i].append(measure_server(p, half, 1, batched))
        batch_rows = [(name, merge(*r)) for (name, _), r in zip(servers, runs)]

    def share(st):
        return st["compute_input"] / st["success"] if st["success"] else 0.0

    lines = [
        "## End-to-end image classification (`make bench-classify`)",
        "",
        f"resnet18 (random weights, `bench/.models`, dynamic batch) served by `nalar serve` on "
        f"loopback with a pipeline.json (shorter side 256, centre crop 224, bilinear, ImageNet "
        f"mean/std, softmax top-5, labels.txt of 1000 labels). {len(jpegs)} photo-like JPEGs of "
        "375x500 to 1024x768 (quality 90) are POSTed as raw `image/jpeg` bodies to "
        f"`/v2/models/{MODEL}/classify` by Python client threads on keep-alive connections "
        f"(closed loop, {args.seconds:g} s per cell in {args.rounds} interleaved rounds, {cores} "
        "cores shared by the server, the clients and other work on the machine: load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after the run).",
        "",
        "- **prepare share (server)**: compute_input / request time from "
        "`/v2/models/resnet18/stats` over the run; compute_input counts the pipeline's JPEG "
        "decode, resize, crop and normalisation (as Triton counts input preparation), also in "
        "`nv_inference_compute_input_duration_us`.",
        "- **tensor /infer**: the same model given a ready FP32 [1,3,224,224] tensor over binary "
        "`/infer` (what the model alone costs through the server).",
        "- **Python peer**: the same pipeline by hand in this process: Pillow decode, "
        "`resize` to shorter side 256 (bilinear), crop 224, numpy normalisation, then "
        f"torchvision resnet18 in PyTorch {__import__('torch').__version__} "
        f"({args.threads} intra-op thread(s)), one Python thread per client.",
        f"- Both run the model with {args.threads} intra-op thread(s); the server keeps "
        f"{instances} model instance(s) (`instance_group`, one per core) so that concurrent "
        "clients run side by side, as the peer's threads do. (With intra-op threads on a "
        "machine whose cores other jobs also use, OpenMP barriers wait on preempted threads: "
        "`nalar bench` resnet18 measured 78 ms with 1 thread and 1148 ms with 2 while this "
        "report was made.)",
        "",
        "| clients | nalar classify img/s | p50 ms | p99 ms | prepare share (server) | "
        "tensor /infer img/s | Python peer img/s | peer p50 ms | peer p99 ms | "
        "peer prepare share | nalar / peer |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for conc, cl, inf, pr in rows:
        lines.append(
            f"| {conc} | {cl['rate']:.1f} | {lat_ms(cl, 50):.1f} | {lat_ms(cl, 99):.1f} | "
            f"{share(cl['stats']) * 100:.0f}% | {inf['rate']:.1f} | {pr['rate']:.1f} | "
            f"{lat_ms(pr, 50):.1f} | {lat_ms(pr, 99):.1f} | {pr['prep_share'] * 100:.0f}% | "
            f"{cl['rate'] / pr['rate']:.2f}x |")
    st = rows[0][1]["stats"]
    n = max(st["count"], 1)
    lines += [
        "",
        f"Server-side split at 1 client, per request: prepare (compute_input) "
        f"{st['compute_input'] / n / 1e6:.2f} ms, queue {st['queue'] / n / 1e6:.2f} ms, model "
        f"(compute_infer) {st['compute_infer'] / n / 1e6:.2f} ms, output "
        f"{st['compute_output'] / n / 1e6:.2f} ms, total {st['success'] / n / 1e6:.2f} ms.",
        "",
        f"Batched request: {args.batch} JPEGs in one JSON `/classify` request "
        "(`{\"instances\": [{\"b64\": ...}, ...]}`), 1 client; the server decodes the images of "
        "one request on up to min(cores, 8) threads.",
        "",
        "| server | images/s | request p50 ms | prepare per request ms |",
        "|---|---:|---:|---:|",
    ]
    for name, r in batch_rows:
        k = max(r["stats"]["count"], 1)
        lines.append(f"| {name} | {r['rate']:.1f} | {lat_ms(r, 50):.1f} | "
                     f"{r['stats']['compute_input'] / k / 1e6:.1f} |")
    lines += ["", "Before/after note: both servers run the same model; they differ only in how "
              "many threads decode one request's images. With 2 cores that the model instances "
              "and other jobs already keep busy, there is rarely an idle core to decode on, so "
              "read the two rows as equal unless they differ by more than run-to-run noise."] \
        if len(batch_rows) > 1 else []
    text = "\n".join(lines) + "\n"
    print(text)
    old = open(args.results).read() if os.path.exists(args.results) else "# Benchmark results\n"
    with open(args.results, "w") as f:
        f.write(replace_section(old, "classify", text))


if __name__ == "__main__":
    main()
