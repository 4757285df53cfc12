#!/usr/bin/python3
"""The fraud batch job done the way a user would without Nalar: pandas reads the CSV in chunks,
vectorised pandas/numpy code builds the features pipeline.json declares, sklearn's
GradientBoostingClassifier (the model Nalar's ONNX file was converted from) predicts, and each
chunk's rows are appended to the output CSV.

    fraud_pandas.py MODEL.pkl INPUT.csv OUTPUT.csv THRESHOLD [CHUNK_ROWS]
Prints one JSON line: rows, seconds, rows_per_s.
"""
import json
import os
import pickle
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "models", "fraud"))
from train_fraud import COLUMNS, LABELS  # noqa: E402  (the feature declaration)


def features(df):
    cols = []
    for c in COLUMNS:
        v = df[c["name"]]
        if c["type"] == "category":
            s = v.astype(str)
            known = s.isin(c["vocabulary"]) | v.isna()
            if c["unknown"] == "error" and not known.all():
                raise ValueError(f"unknown {c['name']}")
            cols.extend((s == cat).to_numpy(np.float32) for cat in c["vocabulary"])
        elif c["type"] == "bool":
            if v.dtype != bool:
                v = v.map({True: 1.0, False: 0.0, "true": 1.0, "false": 0.0})
                if "missing" in c:
                    v = v.fillna(c["missing"])
            cols.append(v.to_numpy(np.float32))
        else:
            if "missing" in c:
                v = v.fillna(c["missing"])
            cols.append(v.to_numpy(np.float32))
    return np.stack(cols, axis=1)


def main():
    pkl, src, dst, threshold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    chunk_rows = int(sys.argv[5]) if len(sys.argv) > 5 else 100_000
    with open(pkl, "rb") as f:
        clf = pickle.load(f)
    t0 = time.time()
    rows = 0
    labels = np.array(LABELS)
    with open(dst, "w") as out:
        for i, chunk in enumerate(pd.read_csv(src, chunksize=chunk_rows)):
            p = clf.predict_proba(features(chunk))
            top = p.argmax(axis=1)
            res = pd.DataFrame({"transaction_id": chunk["transaction_id"].to_numpy(),
                                "label": labels[top], "probability": p.max(axis=1),
                                "decision": p[:, 1] >= threshold})
            res.to_csv(out, header=i == 0, index=False)
            rows += len(chunk)
    secs = time.time() - t0
    print(json.dumps({"rows": rows, "seconds": secs, "rows_per_s": rows / secs}))


if __name__ == "__main__":
    main()
