#!/usr/bin/python3
"""Exports the benchmark models (random weights, nothing downloaded) to OUTDIR/<name>/model.onnx
with a dynamic batch axis, plus OUTDIR/<name>/inputs.json describing the inputs.

Usage: /usr/bin/python3 bench/export_bench_models.py OUTDIR [--only a,b]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "torch"))

BERT_SEQ = 128


def bert_base():
    from export_models import BertEncoder  # the parity test's encoder, at BERT-base size
    return BertEncoder(vocab=30522, hidden=768, heads=12, ffn=3072, layers=12, max_pos=512)


class TabularMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                 nn.Linear(256, 2))

    def forward(self, x):
        return torch.softmax(self.net(x), dim=-1)


def torch_models():
    """name -> (builder, [(input name, dtype, shape without batch)])"""
    image = [("input", "float32", [3, 224, 224])]
    return {
        "resnet50": (lambda: torchvision.models.resnet50(), image),
        "resnet18": (lambda: torchvision.models.resnet18(), image),
        "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), image),
        "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(), image),
        "bert_base": (bert_base, [("input_ids", "int64", [BERT_SEQ]),
                                  ("attention_mask", "int64", [BERT_SEQ])]),
        "mlp": (TabularMLP, [("input", "float32", [64])]),
    }


def example_inputs(specs, batch=1):
    out = []
    for _, dtype, shape in specs:
        if dtype == "int64":
            out.append(torch.ones([batch] + shape, dtype=torch.int64))
        else:
            out.append(torch.randn([batch] + shape))
    return tuple(out)


def export_torch(name, outdir):
    builder, specs = torch_models()[name]
    torch.manual_seed(0)
    model = builder().eval()
    names = [s[0] for s in specs]
    outputs = ["output"] if name != "bert_base" else ["last_hidden_state", "pooled"]
    dynamic = {n: {0: "batch"} for n in names + outputs}
    with torch.no_grad():
        torch.onnx.export(model, example_inputs(specs), os.path.join(outdir, "model.onnx"),
                          input_names=names, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=13, do_constant_folding=True)
    return specs


def export_gbt(outdir):
    """100 trees of depth 6 on a synthetic 32-feature binary task, through our ONNX-ML converter."""
    sys.path.insert(0, os.path.join(ROOT, "models", "tabular"))
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier
    import make_sklearn_models as conv
    x, y = make_classification(n_samples=4000, n_features=32, random_state=0)
    clf = GradientBoostingClassifier(n_estimators=100, max_depth=6, random_state=0).fit(x, y)
    model = conv.convert_gbc(clf, 32)
    import onnx
    onnx.save(model, os.path.join(outdir, "model.onnx"))
    import pickle
    with open(os.path.join(outdir, "sklearn.pkl"), "wb") as f:
        pickle.dump(clf, f)
    return [(model.graph.input[0].name, "float32", [32])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    names = list(torch_models()) + ["gbt"]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    for name in names:
        d = os.path.join(args.outdir, name)
        if os.path.exists(os.path.join(d, "inputs.json")):
            continue
        os.makedirs(d, exist_ok=True)
        specs = export_gbt(d) if name == "gbt" else export_torch(name, d)
        with open(os.path.join(d, "inputs.json"), "w") as f:
            json.dump([{"name": n, "dtype": t, "shape": s} for n, t, s in specs], f)
        print(f"exported {name}", flush=True)


if __name__ == "__main__":
    main()
