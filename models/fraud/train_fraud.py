#!/usr/bin/python3
"""Card-fraud check: a gradient-boosted tree model on generated transactions, as a repository model.

    train_fraud.py REPO_DIR [--reference DIR]

Trains sklearn's GradientBoostingClassifier on 60,000 transactions from generate_transactions.py
(seed 1), picks the decision threshold with the best F1 on 40,000 more (seed 2), and converts the
model to ai.onnx.ml TreeEnsembleClassifier with models/tabular/make_sklearn_models.py's converter.

The feature vector is what pipeline.json declares (COLUMNS below, in order): one-hot merchant
categories (an unknown category becomes all zeros) and card types (an unknown one is an error),
booleans as 0/1, and missing values replaced by declared defaults (-1 for a missing distance or
30-day average, a value no real row has, so the trees learn what missing means). featurize()
implements the same declaration in pandas for training and for Python-side comparisons.

Writes REPO_DIR/fraud/{config.pbtxt, pipeline.json, labels.txt, metadata.json, 1/model.onnx}.
With --reference DIR also DIR/fraud.json (300 new transactions, seed 3, as JSON records with
missing fields absent or null and a few unknown merchant categories, with sklearn's fraud
probability and decision) and DIR/fraud_gbt.pkl (the sklearn model, for Python baselines).
"""
import json
import math
import os
import pickle
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tabular"))
from generate_transactions import CARD_TYPES, MERCHANT_CATEGORIES, generate_frame  # noqa: E402
from make_sklearn_models import convert_gbc  # noqa: E402  (our onnx.helper converter)

SEED = 0
TRAIN_ROWS, VALID_ROWS, REFERENCE_ROWS = 60_000, 40_000, 300
LABELS = ["legitimate", "fraud"]

# The model's input, in feature order: exactly pipeline.json's "columns".
COLUMNS = [
    {"name": "amount", "type": "number"},
    {"name": "merchant_category", "type": "category", "vocabulary": MERCHANT_CATEGORIES,
     "encoding": "onehot", "unknown": -1},
    {"name": "hour", "type": "number"},
    {"name": "distance_from_home_km", "type": "number", "missing": -1},
    {"name": "card_present", "type": "bool"},
    {"name": "online", "type": "bool"},
    {"name": "transactions_last_24h", "type": "number", "missing": 0},
    {"name": "avg_amount_30d", "type": "number", "missing": -1},
    {"name": "card_type", "type": "category", "vocabulary": CARD_TYPES, "encoding": "onehot",
     "unknown": "error"},
    {"name": "account_age_days", "type": "number"},
    {"name": "foreign_transaction", "type": "bool", "missing": 0},
]
N_FEATURES = sum(len(c["vocabulary"]) if c["type"] == "category" else 1 for c in COLUMNS)


def _is_missing(v):
    return v is None or (isinstance(v, float) and math.isnan(v)) or v == ""


def _bool(v, name):
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, np.integer, float)) and v in (0, 1):
        return float(v)
    t = str(v).strip().lower()
    if t in ("true", "1", "yes"):
        return 1.0
    if t in ("false", "0", "no"):
        return 0.0
    raise ValueError(f"column '{name}': {v!r} is not a boolean")


def featurize(frame):
    """A DataFrame (or list of dicts) of transactions -> float32 [rows, N_FEATURES] as the
    pipeline declares it. Raises ValueError naming the column for rows the pipeline refuses."""
    df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(list(frame))
    out = np.zeros((len(df), N_FEATURES), dtype=np.float64)
    j = 0
    for col in COLUMNS:
        name, kind = col["name"], col["type"]
        if name not in df.columns:
            if "missing" not in col:
                raise ValueError(f"column '{name}' is missing")
            values = pd.Series([None] * len(df), dtype=object)
        else:
            values = df[name]
        width = len(col["vocabulary"]) if kind == "category" else 1
        if kind == "number" and values.dtype.kind in "if":
            v = values.to_numpy(dtype=np.float64)
            miss = np.isnan(v)
            if miss.any():
                if "missing" not in col:
                    raise ValueError(f"column '{name}' is missing")
                v = np.where(miss, col["missing"], v)
            out[:, j] = v
        elif kind == "bool" and values.dtype == np.bool_:
            out[:, j] = values.to_numpy(dtype=np.float64)
        else:
            index = {t: i for i, t in enumerate(col.get("vocabulary", []))}
            for r, v in enumerate(values.tolist()):
                if _is_missing(v):
                    if "missing" not in col:
                        raise ValueError(f"column '{name}' is missing")
                    if kind == "category":
                        raise ValueError(f"column '{name}': categories have no missing default")
                    out[r, j] = col["missing"]
                elif kind == "number":
                    out[r, j] = float(v)
                elif kind == "bool":
                    out[r, j] = _bool(v, name)
                else:
                    k = index.get(str(v), col["unknown"] if col["unknown"] != "error" else None)
                    if k is None:
                        raise ValueError(f"column '{name}': unknown category {v!r}")
                    if k >= 0:
                        out[r, j + k] = 1.0
        j += width
    return out.astype(np.float32)


def best_f1_threshold(p, y):
    best = (0.0, 0.5)
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        pred = p >= t
        tp = float((pred & y).sum())
        f1 = 2 * tp / max(1.0, float(pred.sum() + y.sum()))
        if f1 > best[0]:
            best = (f1, float(t))
    return best[1]


def rates(p, y, t):
    pred = p >= t
    tp = int((pred & y).sum())
    return {"precision": round(tp / max(1, int(pred.sum())), 4),
            "recall": round(tp / max(1, int(y.sum())), 4),
            "flagged_share": round(float(pred.mean()), 5)}


CONFIG = """name: "fraud"
platform: "onnxruntime_onnx"
max_batch_size: 256
input [
  {
    name: "input"
    data_type: TYPE_FP32
    dims: [ %d ]
  }
]
output [
  {
    name: "probabilities"
    data_type: TYPE_FP32
    dims: [ 2 ]
    label_filename: "labels.txt"
  }
]
dynamic_batching {
  max_queue_delay_microseconds: 200
}
instance_group [ { count: 1, kind: KIND_CPU } ]
"""


def reference_records(seed):
    """New transactions as JSON-ready records: missing values absent or null (alternating),
    booleans as JSON booleans, and every 60th merchant category replaced by an unknown one."""
    df = generate_frame(REFERENCE_ROWS, seed)
    records = []
    for i, row in enumerate(df.drop(columns=["is_fraud"]).to_dict("records")):
        rec = {}
        for k, v in row.items():
            if isinstance(v, float) and math.isnan(v):
                if i % 2:
                    rec[k] = None
                continue
            rec[k] = v.item() if isinstance(v, np.generic) else v
        if i % 60 == 7:
            rec["merchant_category"] = "crypto_exchange"
        records.append(rec)
    return records, df["is_fraud"].to_numpy()


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
    t0 = time.time()
    train = generate_frame(TRAIN_ROWS, 1)
    valid = generate_frame(VALID_ROWS, 2)
    xtr, ytr = featurize(train), train["is_fraud"].to_numpy()
    gbt = GradientBoostingClassifier(n_estimators=120, max_depth=4, learning_rate=0.1,
                                     random_state=SEED).fit(xtr, ytr)
    pv = gbt.predict_proba(featurize(valid))[:, 1]
    yv = valid["is_fraud"].to_numpy().astype(bool)
    threshold = best_f1_threshold(pv, yv)
    auc = float(roc_auc_score(yv, pv))
    r = rates(pv, yv, threshold)
    print(f"fraud: validation ROC AUC {auc:.4f}, threshold {threshold:.2f}: precision "
          f"{r['precision']:.3f}, recall {r['recall']:.3f} (fraud share {yv.mean():.4f}), "
          f"trained in {time.time() - t0:.1f} s")

    d = os.path.join(repo, "fraud")
    os.makedirs(os.path.join(d, "1"), exist_ok=True)
    import onnx
    model = convert_gbc(gbt, N_FEATURES)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "1", "model.onnx"))
    write_text(os.path.join(d, "config.pbtxt"), CONFIG % N_FEATURES)
    write_text(os.path.join(d, "labels.txt"), "".join(f"{l}\n" for l in LABELS))
    pipeline = {"input": {"kind": "tabular", "input": "input", "dtype": "float32",
                          "columns": COLUMNS},
                "output": {"label_output": "label", "output": "probabilities",
                           "activation": "none", "top_k": 2, "labels": "labels.txt",
                           "threshold": threshold, "positive_index": 1}}
    write_text(os.path.join(d, "pipeline.json"), json.dumps(pipeline, indent=2) + "\n")
    meta = {"model": "fraud", "data": "models/fraud/generate_transactions.py (seed 1 train, "
            "seed 2 validation)", "train_examples": TRAIN_ROWS, "validation_examples": VALID_ROWS,
            "framework": "sklearn GradientBoostingClassifier (n_estimators=120, max_depth=4), "
            "converted by models/tabular/make_sklearn_models.py",
            "validation_roc_auc": round(auc, 4), "threshold": threshold,
            "validation_fraud_share": round(float(yv.mean()), 4), **r}
    write_text(os.path.join(d, "metadata.json"), json.dumps(meta, indent=2) + "\n")

    if ref:
        records, truth = reference_records(3)
        p = gbt.predict_proba(featurize(records))
        write_text(os.path.join(ref, "fraud.json"), json.dumps({
            "records": records, "is_fraud": truth.tolist(), "threshold": threshold,
            "probabilities": p.tolist(), "labels": gbt.predict(featurize(records)).tolist(),
            "decisions": (p[:, 1] >= threshold).tolist()}))
        with open(os.path.join(ref, "fraud_gbt.pkl"), "wb") as f:
            pickle.dump(gbt, f)


if __name__ == "__main__":
    main()
