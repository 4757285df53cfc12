#!/usr/bin/python3
"""Times the PyTorch (Debian torch) original of a benchmark model; for the tree ensemble, the
sklearn original. Prints one JSON object like `nalar bench --json`.

Usage: torch_bench.py NAME MODEL_DIR BATCH THREADS WARMUP ITERATIONS
"""
import json
import os
import pickle
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import export_bench_models as ebm  # noqa: E402


def main():
    name, model_dir, batch, threads, warmup, iters = sys.argv[1:7]
    batch, threads, warmup, iters = int(batch), int(threads), int(warmup), int(iters)
    torch.set_num_threads(threads)
    if name == "gbt":
        with open(os.path.join(model_dir, "sklearn.pkl"), "rb") as f:
            clf = pickle.load(f)
        x = np.random.randn(batch, 32).astype(np.float32)
        fn = lambda: clf.predict_proba(x)  # noqa: E731
        runtime = "sklearn"
    else:
        builder, specs = ebm.torch_models()[name]
        torch.manual_seed(0)
        model = builder().eval()
        inputs = ebm.example_inputs(specs, batch)

        def fn():
            with torch.no_grad():
                model(*inputs)
        runtime = "pytorch"
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    s = sorted(ms)
    pct = lambda q: s[min(len(s) - 1, round(q * (len(s) - 1)))]  # noqa: E731
    mean = sum(ms) / len(ms)
    print(json.dumps({"runtime": runtime, "latency_ms": {"min": s[0], "p50": pct(0.5),
                      "p90": pct(0.9), "p99": pct(0.99), "mean": mean},
                      "throughput_per_s": batch * 1000 / mean,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
