#!/usr/bin/python3
"""Breast cancer diagnosis from 30 measurements: a PyTorch MLP and a gradient-boosted tree model.

    train_breast_cancer.py REPO_DIR [--reference DIR]

Data: sklearn's load_breast_cancer (569 Wisconsin diagnostic cases, 30 features, classes
malignant / benign). Fixed stratified split: 426 train, 143 test. Both models take the 30
features in sklearn's order under safe snake_case names ("mean radius" -> mean_radius), which
pipeline.json declares, so clients send {"mean_radius": 17.99, ...}.

- breast_cancer_mlp: 30 -> 32 -> 16 -> 2 ReLU MLP in PyTorch. Standardisation (training mean and
  std) is part of the network, so the exported ONNX graph takes raw measurements; the pipeline
  applies softmax to the logits.
- breast_cancer_gbt: sklearn GradientBoostingClassifier (100 trees, depth 3) converted to
  ai.onnx.ml TreeEnsembleClassifier by models/tabular/make_sklearn_models.py's converter; the
  pipeline reports the classifier's label and probabilities.

Writes REPO_DIR/breast_cancer_{mlp,gbt}/. With --reference DIR also DIR/breast_cancer.json:
the test records as named-feature objects with true labels, PyTorch's probabilities and
sklearn's labels and predict_proba.
"""
import json
import os
import re
import sys
import time

import numpy as np
import onnx
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tabular"))
from make_sklearn_models import convert_gbc  # noqa: E402  (our onnx.helper converter)

SEED = 0
EPOCHS = 300


def snake(name):
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def load_split():
    d = load_breast_cancer()
    names = [snake(n) for n in d.feature_names]
    assert len(set(names)) == len(names)
    x = d.data.astype(np.float32)
    xtr, xte, ytr, yte, _, rows = train_test_split(
        x, d.target, np.arange(len(x)), test_size=143, random_state=SEED, stratify=d.target)
    return names, list(d.target_names), xtr, xte, ytr, yte, d.data[rows]


class DiagnosisMLP(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(mean))
        self.register_buffer("std", torch.from_numpy(std))
        self.net = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                                 nn.Linear(16, 2))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def train_mlp(xtr, ytr):
    torch.manual_seed(SEED)
    mean = xtr.mean(axis=0).astype(np.float32)
    std = xtr.std(axis=0).astype(np.float32)
    model = DiagnosisMLP(mean, std)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    x = torch.from_numpy(xtr)
    y = torch.from_numpy(ytr.astype(np.int64))
    for _ in range(EPOCHS):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    return model


def config(name, inputs, outputs, max_batch=64):
    def block(kind, items):
        rows = []
        for n, dtype, dims, extra in items:
            rows.append(f'  {{\n    name: "{n}"\n    data_type: {dtype}\n    dims: [ {dims} ]\n{extra}  }}')
        return f"{kind} [\n" + ",\n".join(rows) + "\n]\n"
    return (f'name: "{name}"\nplatform: "onnxruntime_onnx"\nmax_batch_size: {max_batch}\n'
            + block("input", inputs) + block("output", outputs)
            + "dynamic_batching {\n  max_queue_delay_microseconds: 200\n}\n"
            "instance_group [ { count: 1, kind: KIND_CPU } ]\n")


def tabular_pipeline(input_name, names, output):
    return {"input": {"kind": "tabular", "input": input_name, "dtype": "float32",
                      "columns": [{"name": n, "type": "number"} for n in names]},
            "output": output}


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_model_dir(d, model, cfg, pipeline, labels, meta):
    os.makedirs(os.path.join(d, "1"), exist_ok=True)
    if model is not None:
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(d, "1", "model.onnx"))
    write_text(os.path.join(d, "config.pbtxt"), cfg)
    write_text(os.path.join(d, "pipeline.json"), json.dumps(pipeline, indent=2) + "\n")
    write_text(os.path.join(d, "labels.txt"), "".join(f"{l}\n" for l in labels))
    write_text(os.path.join(d, "metadata.json"), json.dumps(meta, indent=2) + "\n")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        sys.exit(__doc__)
    repo = args[0]
    ref = sys.argv[sys.argv.index("--reference") + 1] if "--reference" in sys.argv else None
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    names, classes, xtr, xte, ytr, yte, raw_test = load_split()

    mlp = train_mlp(xtr, ytr)
    with torch.no_grad():
        mlp_proba = torch.softmax(mlp(torch.from_numpy(xte)), dim=1).numpy()
    mlp_acc = float((mlp_proba.argmax(axis=1) == yte).mean())

    gbt = GradientBoostingClassifier(n_estimators=100, max_depth=3, learning_rate=0.1,
                                     random_state=SEED).fit(xtr, ytr)
    gbt_label = gbt.predict(xte)
    gbt_proba = gbt.predict_proba(xte)
    gbt_acc = float((gbt_label == yte).mean())
    print(f"breast_cancer: test accuracy MLP {mlp_acc:.4f}, GBT {gbt_acc:.4f} "
          f"({len(yte)} test cases), trained in {time.time() - t0:.1f} s")

    d = os.path.join(repo, "breast_cancer_mlp")
    os.makedirs(os.path.join(d, "1"), exist_ok=True)
    torch.onnx.export(mlp, torch.from_numpy(xte[:2]), os.path.join(d, "1", "model.onnx"),
                      input_names=["features"], output_names=["logits"], opset_version=13,
                      dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    common = {"data": "sklearn.datasets.load_breast_cancer", "train_examples": int(len(ytr)),
              "test_examples": int(len(yte)), "features": names}
    write_model_dir(
        d, None,
        config("breast_cancer_mlp", [("features", "TYPE_FP32", "30", "")],
               [("logits", "TYPE_FP32", "2", '    label_filename: "labels.txt"\n')]),
        tabular_pipeline("features", names, {"output": "logits", "activation": "softmax",
                                             "top_k": 2, "labels": "labels.txt"}),
        classes,
        dict(model="breast_cancer_mlp", framework=f"torch {torch.__version__}",
             test_accuracy=round(mlp_acc, 4), **common))
    onnx.checker.check_model(onnx.load(os.path.join(d, "1", "model.onnx")))

    write_model_dir(
        os.path.join(repo, "breast_cancer_gbt"), convert_gbc(gbt, 30),
        config("breast_cancer_gbt", [("input", "TYPE_FP32", "30", "")],
               # The label output ([batch], no dims left) is taken from the model as it is.
               [("probabilities", "TYPE_FP32", "2", '    label_filename: "labels.txt"\n')]),
        tabular_pipeline("input", names, {"label_output": "label", "output": "probabilities",
                                          "activation": "none", "top_k": 2,
                                          "labels": "labels.txt"}),
        classes,
        dict(model="breast_cancer_gbt", framework="sklearn GradientBoostingClassifier "
             "(n_estimators=100, max_depth=3), converted by models/tabular/make_sklearn_models.py",
             test_accuracy=round(gbt_acc, 4), **common))

    if ref:
        records = [{n: float(v) for n, v in zip(names, row)} for row in raw_test]
        write_text(os.path.join(ref, "breast_cancer.json"), json.dumps({
            "features": names, "classes": classes, "records": records, "labels": yte.tolist(),
            "mlp_probabilities": mlp_proba.tolist(), "mlp_accuracy": mlp_acc,
            "gbt_labels": gbt_label.tolist(), "gbt_probabilities": gbt_proba.tolist(),
            "gbt_accuracy": gbt_acc}))


if __name__ == "__main__":
    main()
