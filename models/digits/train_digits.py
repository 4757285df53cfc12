#!/usr/bin/python3
"""Handwritten digits: a small CNN trained on sklearn's digits data, exported to ONNX.

    train_digits.py REPO_DIR [--reference DIR]

sklearn's load_digits holds 1,797 8x8 scans with ink levels 0..16. Each scan becomes an 8-bit
grayscale image (level * 255 / 16), upscaled to 28x28 with Pillow's bilinear filter, scaled to
[0, 1] and standardised with the training set's mean and std; that is exactly what the model's
pipeline.json declares, so `nalar run models/repository/digits --image scan.png` sends an 8x8 (or
any size) PNG through the same steps. Fixed stratified split: 1,347 train, 450 test.

Writes REPO_DIR/digits/{config.pbtxt, labels.txt, pipeline.json, metadata.json, 1/model.onnx}.
With --reference DIR it also writes what the tests compare against: DIR/digits.json (test
indices, true labels, PyTorch's predictions and probabilities) and DIR/digits_png/<i>_<label>.png,
the held-out scans as 8x8 grayscale PNGs.
"""
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 0
SIZE = 28
EPOCHS = 20


def scans_as_pixels(images):
    """[N, 8, 8] ink levels 0..16 -> [N, 8, 8] uint8 grayscale (0 background, 255 full ink)."""
    return np.round(np.asarray(images, dtype=np.float64) * 255.0 / 16.0).astype(np.uint8)


def load_split():
    """The fixed split: (train pixels, train labels, test pixels, test labels, test indices)."""
    d = load_digits()
    pixels = scans_as_pixels(d.images)
    idx = np.arange(len(d.target))
    tr, te = train_test_split(idx, test_size=450, random_state=SEED, stratify=d.target)
    return pixels[tr], d.target[tr], pixels[te], d.target[te], te


def upscale(pixels):
    """[N, h, w] uint8 -> [N, 28, 28] uint8 with Pillow's bilinear resize (what the pipeline does)."""
    return np.stack([np.asarray(Image.fromarray(p, mode="L").resize((SIZE, SIZE), Image.BILINEAR))
                     for p in pixels])


def to_tensor(pixels28, mean, std):
    x = (pixels28.astype(np.float32) * np.float32(1.0 / 255.0) - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(x[:, None, :, :].astype(np.float32))


class DigitNet(nn.Module):
    """28x28x1 -> conv16 -> pool -> conv32 -> pool -> fc64 -> 10 logits."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(),
                                        nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def train(x, y):
    torch.manual_seed(SEED)
    model = DigitNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(SEED)
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), 64):
            b = order[start:start + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[b]), labels[b])
            loss.backward()
            opt.step()
    model.eval()
    return model


CONFIG = """name: "digits"
platform: "onnxruntime_onnx"
max_batch_size: 64
input [
  {
    name: "image"
    data_type: TYPE_FP32
    dims: [ 1, 28, 28 ]
  }
]
output [
  {
    name: "logits"
    data_type: TYPE_FP32
    dims: [ 10 ]
    label_filename: "labels.txt"
  }
]
dynamic_batching {
  max_queue_delay_microseconds: 500
}
instance_group [ { count: 1, kind: KIND_CPU } ]
"""


def pipeline_json(mean, std):
    return {
        "input": {"kind": "image", "input": "image", "color": "gray", "resize": "exact",
                  "interpolation": "bilinear", "height": SIZE, "width": SIZE,
                  "scale": 1.0 / 255.0, "mean": [mean], "std": [std], "layout": "NCHW",
                  "dtype": "float32", "max_pixels": 4000000, "max_bytes": 8 << 20},
        "output": {"output": "logits", "activation": "softmax", "top_k": 3,
                   "labels": "labels.txt"},
    }


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        sys.exit(__doc__)
    repo = args[0]
    ref = sys.argv[sys.argv.index("--reference") + 1] if "--reference" in sys.argv else None
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    xtr8, ytr, xte8, yte, te_idx = load_split()
    xtr28, xte28 = upscale(xtr8), upscale(xte8)
    # Rounded so pipeline.json states exactly what training used.
    mean = round(float((xtr28 / 255.0).mean()), 4)
    std = round(float((xtr28 / 255.0).std()), 4)
    model = train(to_tensor(xtr28, mean, std), ytr)
    with torch.no_grad():
        probs = torch.softmax(model(to_tensor(xte28, mean, std)), dim=1).numpy()
    pred = probs.argmax(axis=1)
    accuracy = float((pred == yte).mean())
    print(f"digits: test accuracy {accuracy:.4f} ({int((pred == yte).sum())}/{len(yte)}), "
          f"trained in {time.time() - t0:.1f} s")

    d = os.path.join(repo, "digits")
    os.makedirs(os.path.join(d, "1"), exist_ok=True)
    path = os.path.join(d, "1", "model.onnx")
    torch.onnx.export(model, to_tensor(xte28[:2], mean, std), path, input_names=["image"],
                      output_names=["logits"], opset_version=13,
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path))
    write_text(os.path.join(d, "config.pbtxt"), CONFIG)
    write_text(os.path.join(d, "labels.txt"), "".join(f"{i}\n" for i in range(10)))
    write_text(os.path.join(d, "pipeline.json"), json.dumps(pipeline_json(mean, std), indent=2) + "\n")
    meta = {"model": "digits", "data": "sklearn.datasets.load_digits, 8x8 upscaled to 28x28",
            "train_examples": int(len(ytr)), "test_examples": int(len(yte)),
            "test_accuracy": round(accuracy, 4), "mean": mean, "std": std, "epochs": EPOCHS,
            "framework": f"torch {torch.__version__}", "opset": 13}
    write_text(os.path.join(d, "metadata.json"), json.dumps(meta, indent=2) + "\n")

    if ref:
        png_dir = os.path.join(ref, "digits_png")
        os.makedirs(png_dir, exist_ok=True)
        files = []
        for i, (p, label) in enumerate(zip(xte8, yte)):
            name = f"{i:03d}_{label}.png"
            Image.fromarray(p, mode="L").save(os.path.join(png_dir, name))
            files.append(name)
        write_text(os.path.join(ref, "digits.json"), json.dumps({
            "test_indices": te_idx.tolist(), "labels": yte.tolist(), "files": files,
            "torch_pred": pred.tolist(), "torch_accuracy": accuracy,
            "torch_probabilities": probs.tolist()}))


if __name__ == "__main__":
    main()
