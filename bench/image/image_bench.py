#!/usr/bin/python3
"""Image preprocessing throughput: Nalar's image stage vs Pillow, same files, same run.

    image_bench.py NALAR_IMAGE_PREP RESULTS.md [--seconds S] [--reps R]

Work per image (both sides): decode a JPEG from memory, RGB, resize the shorter side to 224 with
antialiased bilinear (Pillow's Image.resize BILINEAR) and centre-crop 224x224 (torchvision's
Resize(224) + CenterCrop(224) on PIL images), giving 224x224x3 uint8 pixels. The JPEGs are
generated (photo-like: smooth shading, edges, sensor noise), 224 to 1024 px, quality 90, 4:2:0.
Rows: Pillow on one thread; Nalar on one thread; Nalar with two threads (two images at a time,
as a server handles concurrent requests); and Nalar with DCT-domain downscaling (libjpeg-turbo
scaled decode, like Pillow's draft(); faster but not bit-exact with Pillow, so off by default).
The median of the repetitions is reported in the image section of RESULTS.md (only that
section is replaced).
"""
import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import time

import numpy as np
import PIL
from PIL import Image

SIZES = [(224, 224), (320, 240), (500, 375), (640, 480), (480, 640), (800, 600), (1024, 768),
         (768, 1024), (1024, 1024), (1024, 683)]


def photo_like(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([120 + 80 * np.sin(x / 53 + seed), 110 + 70 * np.cos(y / 41),
                    100 + 60 * np.sin((x + y) / 67)], -1)
    for _ in range(12):  # a few flat objects with hard edges
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, max(w, h) / 4)
        img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_images(directory):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for i, (w, h) in enumerate(SIZES):
        path = os.path.join(directory, f"photo_{w}x{h}.jpg")
        if not os.path.exists(path):
            Image.fromarray(photo_like(w, h, i)).save(path, quality=90, subsampling=2)
        paths.append(path)
    return paths


def pillow_prepare(data):
    im = Image.open(io.BytesIO(data))
    if im.mode != "RGB":  # (torchvision's loader always converts; skipping the copy is faster)
        im = im.convert("RGB")
    w, h = im.size
    if w <= h:
        nw, nh = 224, int(224 * h / w)
    else:
        nw, nh = int(224 * w / h), 224
    im = im.resize((nw, nh), Image.BILINEAR)
    left, top = int(round((nw - 224) / 2.0)), int(round((nh - 224) / 2.0))
    return np.asarray(im.crop((left, top, left + 224, top + 224)))


def pillow_bench(blobs, seconds):
    for b in blobs:
        pillow_prepare(b)  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        pillow_prepare(blobs[done % len(blobs)])
        done += 1
    return done / (time.perf_counter() - start)


def nalar_bench(tool, paths, seconds, threads, extra=()):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = [tool, "--resize", "shorter_side", "--height", "224", "--width", "224", "--dtype",
            "uint8", "--layout", "NHWC", *extra, "--threads", str(threads)]
    subprocess.run(args + ["--bench", "0.3"] + paths, check=True, capture_output=True, env=env)
    out = subprocess.run(args + ["--bench", str(seconds)] + paths, check=True,
                         capture_output=True, text=True, env=env).stdout
    return json.loads(out)["images_per_s"]


def write_section(results_md, section):
    """Replaces only the image section (bench/results_section.py keeps the others)."""
    script = os.path.join(os.path.dirname(__file__), "..", "results_section.py")
    subprocess.run(["/usr/bin/python3", script, "image", results_md], input=section, text=True,
                   check=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tool")
    p.add_argument("results_md")
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--images", default=os.path.join(os.path.dirname(__file__), "..", ".image"))
    a = p.parse_args()
    paths = make_images(a.images)
    blobs = [open(x, "rb").read() for x in paths]
    # Same output on both sides before timing anything.
    for path, blob in zip(paths, blobs):
        out = os.path.join(a.images, "check.npy")
        subprocess.run([a.tool, "--resize", "shorter_side", "--dtype", "uint8", "--layout", "NHWC",
                        path, out], check=True, capture_output=True)
        if not np.array_equal(np.load(out), pillow_prepare(blob)):
            raise SystemExit(f"image bench: Nalar and Pillow disagree on {path}")
    load_before = os.getloadavg()[0]
    rows = {"pillow_1t": [], "nalar_1t": [], "nalar_2t": [], "nalar_dct_1t": []}
    for rep in range(a.reps):  # interleaved so drifts in machine load hit every row alike
        rows["pillow_1t"].append(pillow_bench(blobs, a.seconds))
        rows["nalar_1t"].append(nalar_bench(a.tool, paths, a.seconds, 1))
        rows["nalar_2t"].append(nalar_bench(a.tool, paths, a.seconds, 2))
        rows["nalar_dct_1t"].append(nalar_bench(a.tool, paths, a.seconds, 1, ["--dct-scaling"]))
        print(f"image bench: rep {rep + 1}/{a.reps} " +
              ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in rows.items()))
    med = {k: statistics.median(v) for k, v in rows.items()}
    base = med["pillow_1t"]
    names = {"pillow_1t": f"Pillow {PIL.__version__}, 1 thread",
             "nalar_1t": "Nalar, 1 thread",
             "nalar_2t": "Nalar, 2 threads (2 images at a time)",
             "nalar_dct_1t": "Nalar, 1 thread, DCT-scaled decode (opt-in, not Pillow-exact)"}
    lines = ["## Image preprocessing (JPEG decode + resize 224 shorter side + centre crop)", "",
             f"{len(paths)} generated photo-like JPEGs, 224-1024 px (quality 90, 4:2:0); output "
             "224x224x3 uint8, identical to Pillow's for every file (checked before timing). "
             f"Median of {a.reps} interleaved runs of {a.seconds:g} s; {platform.machine()}, "
             f"{os.cpu_count()} cores, load average {load_before:.1f} before the run (other jobs "
             "share the machine: compare ratios, not absolute rates). `make bench-image` "
             "(bench/image/image_bench.py).", "",
             "| pipeline | images/s | vs Pillow |", "|---|---:|---:|"]
    for k in rows:
        lines.append(f"| {names[k]} | {med[k]:.0f} | {med[k] / base:.2f}x |")
    write_section(a.results_md, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
