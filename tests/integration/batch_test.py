#!/usr/bin/env python3
"""`nalar batch` end to end: real model files (made here with onnx.helper), real input files,
the real binary. Checks known answers against numpy, the errors file, kill -9 + --resume,
shards + merge, and bounded memory.

usage: batch_test.py NALAR PIPELINES_DATA
  PIPELINES_DATA: tests/data/pipelines (repository/ with pipeline.json models and reference/ with
  sklearn's and PyTorch's answers), made by scripts/make-test-models.sh.
"""
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NALAR = os.path.abspath(sys.argv[1])
PIPELINES = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
FAILURES = []
PASSED = 0


def check(cond, what):
    global PASSED
    if cond:
        PASSED += 1
    else:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)


def batch(*args, ok=True, env=None):
    p = subprocess.run([NALAR, "batch", *map(str, args)], capture_output=True, text=True, env=env)
    if ok and p.returncode != 0:
        raise SystemExit(f"nalar batch {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def summary_of(p):
    return json.loads(p.stdout.strip().splitlines()[-1])


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


# ---- models ------------------------------------------------------------------------------------

def make_mlp(path, features=4, hidden=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((features, hidden)).astype(np.float32)
    b1 = rng.standard_normal(hidden).astype(np.float32)
    w2 = rng.standard_normal((hidden, classes)).astype(np.float32)
    b2 = rng.standard_normal(classes).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "W2", "b2"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["prob"], axis=1)]
    g = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", features])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", classes])],
        [numpy_helper.from_array(a, n) for a, n in [(w1, "W1"), (b1, "b1"), (w2, "W2"), (b2, "b2")]])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)

    def ref(x):
        h = np.maximum(x.astype(np.float32) @ w1 + b1, 0)
        z = h @ w2 + b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return ref


def make_dot(path, features):
    """y = x . w (one value per row): cheap per byte, for the memory test's wide rows."""
    w = np.linspace(-1, 1, features, dtype=np.float32).reshape(features, 1)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "dot",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
        [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)
    return lambda x: x @ w


def write_csv(path, x, ids=True, opener=open):
    with opener(path, "wt") as f:
        f.write(("id," if ids else "") + ",".join(f"f{i}" for i in range(x.shape[1])) + "\n")
        for i, r in enumerate(x):
            f.write((f"r{i}," if ids else "") + ",".join(repr(float(v)) for v in r) + "\n")


def read_csv_out(path):
    lines = read(path, "r").splitlines()
    header = lines[0].split(",")
    rows = [l.split(",") for l in lines[1:]]
    return header, rows


# ---- tests -------------------------------------------------------------------------------------

def test_csv_jsonl_npy(d):
    ref = make_mlp(f"{d}/mlp.onnx")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 4)).astype(np.float32)
    want = ref(x)
    write_csv(f"{d}/in.csv", x)
    s = summary_of(batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/in.csv", "--output",
                         f"{d}/out.csv", "--keep-columns", "id", "--chunk-rows", "700",
                         "--batch-size", "64", "--json", "--quiet"))
    check(s["rows_read"] == 3000 and s["predicted"] == 3000 and s["failed"] == 0, f"csv summary {s}")
    header, rows = read_csv_out(f"{d}/out.csv")
    check(header == ["id", "prob_0", "prob_1", "prob_2"], f"csv header {header}")
    got = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float32)
    check([r[0] for r in rows] == [f"r{i}" for i in range(3000)], "csv ids in input order")
    check(got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-6),
          f"csv predictions match numpy (max diff {np.abs(got - want).max()})")
    check(read(f"{d}/out.csv.errors.jsonl") == b"", "csv: empty errors file")

    # gzip input gives the same output bytes.
    write_csv(f"{d}/in.csv.gz", x, opener=gzip.open)
    batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/in.csv.gz", "--output", f"{d}/outgz.csv",
          "--keep-columns", "id", "--chunk-rows", "700", "--batch-size", "64", "--quiet")
    check(read(f"{d}/outgz.csv") == read(f"{d}/out.csv"), "gzip CSV input == plain CSV input")

    # A glob over two files: rows in file order.
    write_csv(f"{d}/part-a.csv", x[:1000])
    write_csv(f"{d}/part-b.csv", x[1000:2500])
    batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/part-*.csv", "--output", f"{d}/glob.jsonl",
          "--keep-columns", "id", "--quiet")
    objs = [json.loads(l) for l in read(f"{d}/glob.jsonl", "r").splitlines()]
    got = np.array([o["prob"] for o in objs], dtype=np.float32)
    check(got.shape == (2500, 3) and np.allclose(got, want[:2500], rtol=1e-5, atol=1e-6),
          "glob of two CSVs -> JSONL in order")
    check([o["id"] for o in objs] == [f"r{i}" for i in range(1000)] + [f"r{i}" for i in range(1500)],
          "glob: kept ids per file")

    # JSON Lines: arrays and objects (kept member, features in member order).
    with open(f"{d}/in.jsonl", "w") as f:
        for i, r in enumerate(x[:500]):
            if i % 2:
                f.write(json.dumps([float(v) for v in r]) + "\n")
            else:
                f.write(json.dumps({"id": i, "a": float(r[0]), "b": float(r[1]), "c": float(r[2]),
                                    "d": float(r[3])}) + "\n")
    batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/in.jsonl", "--output", f"{d}/outj.jsonl",
          "--keep-columns", "id", "--quiet")
    objs = [json.loads(l) for l in read(f"{d}/outj.jsonl", "r").splitlines()]
    got = np.array([o["prob"] for o in objs], dtype=np.float32)
    check(len(objs) == 500 and np.allclose(got, want[:500], rtol=1e-5, atol=1e-6),
          "jsonl predictions match numpy")
    check(all(o["id"] == (i if i % 2 == 0 else None) for i, o in enumerate(objs)),
          "jsonl kept column (null where absent)")

    # .npy in, .npy out (float64 input converted to the model's float32).
    np.save(f"{d}/in.npy", x.astype(np.float64))
    batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/in.npy", "--output", f"{d}/out.npy",
          "--chunk-rows", "1000", "--quiet")
    got = np.load(f"{d}/out.npy")
    check(got.dtype == np.float32 and got.shape == (3000, 3) and
          np.allclose(got, want, rtol=1e-5, atol=1e-6), "npy predictions match numpy")
    # Two-file npy input with the model taking the rows as they are.
    np.save(f"{d}/n1.npy", x[:100])
    np.save(f"{d}/n2.npy", x[100:300])
    batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/n?.npy", "--output", f"{d}/out2.csv",
          "--quiet")
    _, rows = read_csv_out(f"{d}/out2.csv")
    got = np.array([[float(v) for v in r] for r in rows], dtype=np.float32)
    check(np.allclose(got, want[:300], rtol=1e-5, atol=1e-6), "two .npy files -> CSV")


def test_bad_rows(d):
    make_mlp(f"{d}/mlp.onnx")
    lines = ["id,a,b,c,d",
             "r1,1,2,3,4",                  # row 1 ok
             "r2,1,zwei,3,4",               # row 2 bad number
             "r3,1,2,3",                    # row 3 wrong arity
             "r4,1,,3,4",                   # row 4 missing value
             "",                            # blank line: not a row
             'r5,"1,5",2,3,4',              # row 5 quoted comma -> bad number
             'r6,"unterminated,2,3,4',      # row 6 unterminated quote (runs to the end)
             ]
    with open(f"{d}/bad.csv", "w") as f:
        f.write("\n".join(lines[:6]) + "\nr7,1e3,2,3,4\n" + "\n".join(lines[6:]) + "\n")
    p = batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/bad.csv", "--output", f"{d}/bad.csv.out.csv",
              "--keep-columns", "id", "--errors", f"{d}/bad_errors.jsonl", "--json", "--quiet")
    s = summary_of(p)
    errs = [json.loads(l) for l in read(f"{d}/bad_errors.jsonl", "r").splitlines()]
    by_row = {e["row"]: e for e in errs}
    check(s["rows_read"] == s["predicted"] + s["failed"], f"rows read = predicted + failed {s}")
    check(s["predicted"] == 2 and s["failed"] == 5, f"csv bad rows counted {s}")
    check(sorted(by_row) == [2, 3, 4, 6, 7], f"csv error rows {sorted(by_row)}")
    check("bad number 'zwei'" in by_row[2]["reason"] and by_row[2]["line"] == 3 and
          by_row[2]["raw"] == "r2,1,zwei,3,4" and by_row[2]["file"].endswith("bad.csv"),
          f"bad number error {by_row.get(2)}")
    check("wrong arity" in by_row[3]["reason"], f"wrong arity error {by_row.get(3)}")
    check("missing value" in by_row[4]["reason"], f"missing value error {by_row.get(4)}")
    check("bad number '1,5'" in by_row[6]["reason"] and by_row[6]["line"] == 8,
          f"quoted field error {by_row.get(6)}")
    check("unterminated" in by_row[7]["reason"], f"unterminated quote {by_row.get(7)}")
    _, rows = read_csv_out(f"{d}/bad.csv.out.csv")
    check([r[0] for r in rows] == ["r1", "r7"], f"good rows kept in order {rows}")

    with open(f"{d}/bad.jsonl", "w", encoding="utf-8") as f:
        f.write('[1, 2, 3, 4]\n')                       # 1 ok
        f.write('{"a": 1, "b": 2, "c": \n')             # 2 broken JSON
        f.write('[1, 2, 3]\n')                          # 3 wrong arity
        f.write('{"a": 1, "b": "x", "c": 3, "d": 4}\n') # 4 bad number
        f.write('\n')                                   # blank: no row
        f.write('"just a string"\n')                    # 5 not an object/array
        f.write('[1, 2, 3, 4\n')                        # 6 broken JSON
        f.write('{"a": 1, "b": 2, "c": 3, "d": 4}\n')   # 7 ok
        f.write('[1, 2, 3, "\xff"]\n')                  # 8 bad number with non-ASCII
    s = summary_of(batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/bad.jsonl", "--output",
                         f"{d}/badj.jsonl", "--json", "--quiet"))
    errs = [json.loads(l) for l in read(f"{d}/badj.jsonl.errors.jsonl", "r").splitlines()]
    by_row = {e["row"]: e for e in errs}
    check(s["predicted"] == 2 and s["failed"] == 6 and s["rows_read"] == 8, f"jsonl summary {s}")
    check(sorted(by_row) == [2, 3, 4, 5, 6, 8], f"jsonl error rows {sorted(by_row)}")
    check("broken JSON" in by_row[2]["reason"] and by_row[2]["line"] == 2, f"broken json {by_row.get(2)}")
    check("wrong arity" in by_row[3]["reason"], f"jsonl arity {by_row.get(3)}")
    check("member 'b'" in by_row[4]["reason"], f"jsonl bad member {by_row.get(4)}")
    check(by_row[6]["line"] == 7 and by_row[8]["line"] == 9, "jsonl line numbers count blank lines")

    # --max-errors: more than N failures stop the job with a non-zero exit.
    p = batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/bad.csv", "--output", f"{d}/max.csv",
              "--keep-columns", "id", "--max-errors", "2", "--quiet", ok=False)
    check(p.returncode != 0 and "--max-errors 2" in p.stderr, f"--max-errors aborts: {p.stderr}")
    p = batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/bad.csv", "--output", f"{d}/max5.csv",
              "--keep-columns", "id", "--max-errors", "5", "--quiet", ok=False)
    check(p.returncode == 0, "--max-errors 5 with 5 failures completes")

    # Whole-job problems are errors, not rows.
    p = batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/nothing-*.csv", "--output", f"{d}/x.csv",
              ok=False)
    check(p.returncode != 0 and "matches no file" in p.stderr, "missing input named")
    with open(f"{d}/wide.csv", "w") as f:
        f.write("a,b,c\n1,2,3\n")
    p = batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/wide.csv", "--output", f"{d}/w.csv",
              ok=False)
    check(p.returncode != 0 and "takes 4 values" in p.stderr, f"feature count mismatch: {p.stderr}")
    with open(f"{d}/trunc.csv.gz", "wb") as f:
        f.write(gzip.compress(("a,b,c,d\n" + "1,2,3,4\n" * 5000).encode())[:-40])
    p = batch("--model", f"{d}/mlp.onnx", "--input", f"{d}/trunc.csv.gz", "--output", f"{d}/t.csv",
              ok=False)
    check(p.returncode != 0, f"truncated gzip is an error, not a silent end: {p.stderr}")


def test_pipelines(d):
    """Named columns (the fraud GBT with sklearn's answers) and images (the digits CNN with
    PyTorch's answers) through the models' pipeline.json."""
    repo, ref = f"{PIPELINES}/repository", f"{PIPELINES}/reference"
    fraud = json.load(open(f"{ref}/fraud.json"))
    recs = fraud["records"]
    cols = ["transaction_id", "amount", "merchant_category", "hour", "distance_from_home_km",
            "card_present", "online", "transactions_last_24h", "avg_amount_30d", "card_type",
            "account_age_days", "foreign_transaction"]
    # JSONL as given (missing members absent or null) and CSV with the columns shuffled.
    with open(f"{d}/fraud.jsonl", "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    order = cols[::-1]

    def cell(v):
        return "" if v is None else ("true" if v is True else "false" if v is False else str(v))
    with open(f"{d}/fraud.csv", "w") as f:
        f.write(",".join(order) + "\n")
        for r in recs:
            f.write(",".join(cell(r.get(c)) for c in order) + "\n")
    p_fraud = np.array([p[1] for p in fraud["probabilities"]])
    for ext in ("jsonl", "csv"):
        s = summary_of(batch("--model", f"{repo}/fraud", "--input", f"{d}/fraud.{ext}",
                             "--output", f"{d}/fraud_out_{ext}.jsonl", "--keep-columns",
                             "transaction_id", "--batch-size", "64", "--json", "--quiet"))
        out = [json.loads(l) for l in read(f"{d}/fraud_out_{ext}.jsonl", "r").splitlines()]
        check(s["predicted"] == len(recs) and s["failed"] == 0, f"fraud {ext}: all predicted {s}")
        ids = [o["transaction_id"] for o in out]
        check(ids == [r["transaction_id"] for r in recs], f"fraud {ext}: ids in order")
        dec = [o["decision"] for o in out]
        check(dec == fraud["decisions"], f"fraud {ext}: decisions equal sklearn's")
        prob = np.array([o["probability"] if o["label"] == "fraud" else 1 - o["probability"]
                         for o in out])
        check(np.allclose(prob, p_fraud, atol=1e-5),
              f"fraud {ext}: probabilities match sklearn (max diff {np.abs(prob - p_fraud).max()})")
    # Bad records: a missing column, an unknown category, a bad number, broken JSON.
    bad = [dict(recs[0]), dict(recs[1]), dict(recs[2]), None, dict(recs[3])]
    del bad[0]["amount"]
    bad[1]["card_type"] = "platinum"
    bad[2]["hour"] = "noon"
    with open(f"{d}/fraud_bad.jsonl", "w") as f:
        for r in bad:
            f.write((json.dumps(r) if r is not None else '{"amount": 12.5, "hour": ') + "\n")
    s = summary_of(batch("--model", f"{repo}/fraud", "--input", f"{d}/fraud_bad.jsonl", "--output",
                         f"{d}/fraud_bad_out.csv", "--json", "--quiet"))
    errs = {e["row"]: e for e in map(json.loads, read(f"{d}/fraud_bad_out.csv.errors.jsonl", "r").splitlines())}
    check(s["predicted"] == 1 and s["failed"] == 4, f"fraud bad rows {s}")
    check("column 'amount'" in errs.get(1, {}).get("reason", "") and
          "missing" in errs[1]["reason"], f"missing column named {errs.get(1)}")
    check("platinum" in errs.get(2, {}).get("reason", ""), f"unknown category named {errs.get(2)}")
    check("'hour'" in errs.get(3, {}).get("reason", ""), f"bad number named {errs.get(3)}")
    check("broken JSON" in errs.get(4, {}).get("reason", ""), f"broken JSON {errs.get(4)}")
    with open(f"{d}/fraud_nocol.csv", "w") as f:
        keep = [c for c in cols if c != "amount"]
        f.write(",".join(keep) + "\n")
        for r in recs[:10]:
            f.write(",".join(cell(r.get(c)) for c in keep) + "\n")
    s = summary_of(batch("--model", f"{repo}/fraud", "--input", f"{d}/fraud_nocol.csv", "--output",
                         f"{d}/fraud_nocol_out.csv", "--json", "--quiet"))
    errs = [json.loads(l) for l in read(f"{d}/fraud_nocol_out.csv.errors.jsonl", "r").splitlines()]
    check(s["failed"] == 10 and [e["row"] for e in errs] == list(range(1, 11)) and
          all("column 'amount'" in e["reason"] for e in errs), "CSV without a needed column")

    # Images: the held-out digit PNGs, a few as JPEG too, and corrupt files.
    from PIL import Image
    digits = json.load(open(f"{ref}/digits.json"))
    img_dir = f"{d}/images"
    os.makedirs(f"{img_dir}/sub")
    files = digits["files"][:120]
    for f in files:
        shutil.copy(f"{ref}/digits_png/{f}", f"{img_dir}/{f}")
    with open(f"{img_dir}/sub/broken.png", "wb") as f:
        f.write(read(f"{ref}/digits_png/{files[0]}")[:60])
    with open(f"{img_dir}/zz_not_an_image.jpg", "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 this is not really a JPEG" * 3)
    s = summary_of(batch("--model", f"{repo}/digits", "--input", img_dir, "--output",
                         f"{d}/digits.csv", "--batch-size", "16", "--chunk-rows", "50", "--json",
                         "--quiet"))
    check(s["rows_read"] == 122 and s["predicted"] == 120 and s["failed"] == 2, f"images {s}")
    header, rows = read_csv_out(f"{d}/digits.csv")
    check(header == ["label", "probability"], f"image header {header}")
    got = [int(r[0]) for r in rows]
    want = digits["torch_pred"][:120]
    check(got == want, f"digit labels equal PyTorch's ({sum(a == b for a, b in zip(got, want))}/120)")
    tp = np.array(digits["torch_probabilities"][:120]).max(axis=1)
    gp = np.array([float(r[1]) for r in rows])
    check(np.allclose(gp, tp, atol=1e-4), f"digit probabilities match PyTorch ({np.abs(gp - tp).max()})")
    errs = [json.loads(l) for l in read(f"{d}/digits.csv.errors.jsonl", "r").splitlines()]
    names = sorted(os.path.basename(e["file"]) for e in errs)
    check(names == ["broken.png", "zz_not_an_image.jpg"] and
          all(e["reason"] and e["raw"] is None for e in errs), f"corrupt images reported {errs}")
    by = {os.path.basename(e["file"]): e["row"] for e in errs}
    check(by.get("broken.png") == 121 and by.get("zz_not_an_image.jpg") == 122,
          f"corrupt images' row numbers (sorted file order) {by}")
    # JPEG: the same digits re-encoded at high quality classify the same.
    jdir = f"{d}/jpegs"
    os.makedirs(jdir)
    for f in files[:40]:
        Image.open(f"{ref}/digits_png/{f}").convert("L").save(f"{jdir}/{f[:-4]}.jpg", quality=98)
    batch("--model", f"{repo}/digits", "--input", f"{jdir}/*.jpg", "--output", f"{d}/dj.jsonl",
          "--quiet")
    out = [json.loads(l) for l in read(f"{d}/dj.jsonl", "r").splitlines()]
    agree = sum(int(o["label"]) == w for o, w in zip(out, want[:40]))
    check(len(out) == 40 and agree >= 39, f"JPEG digits agree with PyTorch on PNG ({agree}/40)")


def make_big_csv(d, rows, bad_every=997):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((rows, 4)).astype(np.float32)
    with open(f"{d}/big.csv", "w") as f:
        f.write("id,a,b,c,d\n")
        for i, r in enumerate(x):
            if i % bad_every == 5:
                f.write(f"r{i},oops,1,2,3\n")
            else:
                f.write(f"r{i},{r[0]:.6g},{r[1]:.6g},{r[2]:.6g},{r[3]:.6g}\n")


def test_resume(d):
    make_mlp(f"{d}/mlp.onnx")
    make_big_csv(d, 300_000)
    common = ["--model", f"{d}/mlp.onnx", "--input", f"{d}/big.csv", "--keep-columns", "id",
              "--chunk-rows", "10000", "--batch-size", "500", "--quiet"]
    batch(*common, "--output", f"{d}/ref.csv")
    ref_out, ref_err = read(f"{d}/ref.csv"), read(f"{d}/ref.csv.errors.jsonl")
    # Same job, killed at random moments, resumed until done.
    rnd = random.Random(1234)
    for trial in range(3):
        out = f"{d}/kill{trial}.csv"
        kills = 0
        resume = []
        while True:
            p = subprocess.Popen([NALAR, "batch", *common, "--output", out, *resume],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                p.wait(timeout=rnd.uniform(0.05, 1.0))
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
            resume = ["--resume"]
            if p.returncode not in (0, -signal.SIGKILL):
                print(p.stderr.read().decode())
            if p.returncode != -signal.SIGKILL:
                break
            if kills > 40:
                break
        check(p.returncode == 0, f"trial {trial}: finished after {kills} kills")
        check(read(out) == ref_out and read(out + ".errors.jsonl") == ref_err,
              f"trial {trial}: output after {kills} kill -9 + --resume is byte-identical")
        check(not os.path.exists(out + ".parts"), "parts folder removed at the end")
    # Starting again without --resume over unfinished parts is refused, not silently wiped.
    os.makedirs(f"{d}/stale.csv.parts")
    p = batch(*common, "--output", f"{d}/stale.csv", ok=False)
    check(p.returncode != 0 and "--resume" in p.stderr, "unfinished job not overwritten")
    # --resume of a different job is refused.
    p = subprocess.Popen([NALAR, "batch", *common, "--output", f"{d}/other.csv"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    if os.path.exists(f"{d}/other.csv.parts"):
        q = batch(*[c if c != "10000" else "5000" for c in common], "--output", f"{d}/other.csv",
                  "--resume", ok=False)
        check(q.returncode != 0 and "different job" in q.stderr, "resume of another job refused")
    return ref_out, ref_err, common


def test_shards(d, ref_out, ref_err, common):
    for n in (2, 3):
        outs = []
        for i in range(n):
            out = f"{d}/shard{n}_{i}.csv"
            batch(*common, "--output", out, "--shard", f"{i}/{n}")
            outs.append(out)
        lens = [len(read(o)) for o in outs]
        check(all(l < len(ref_out) for l in lens), f"{n} shards each hold a part ({lens})")
        batch("merge", "--output", f"{d}/merged{n}.csv", *reversed(outs))
        check(read(f"{d}/merged{n}.csv") == ref_out and
              read(f"{d}/merged{n}.csv.errors.jsonl") == ref_err,
              f"{n} shards + merge == single run (byte-identical)")
    p = batch("merge", "--output", f"{d}/m.csv", f"{d}/shard3_0.csv", f"{d}/shard3_2.csv", ok=False)
    check(p.returncode != 0 and "missing" in p.stderr, "merge with a shard missing is refused")
    # npy shards too.
    np.save(f"{d}/s.npy", np.random.default_rng(3).standard_normal((10_000, 4)).astype(np.float32))
    base = ["--model", f"{d}/mlp.onnx", "--input", f"{d}/s.npy", "--chunk-rows", "900", "--quiet"]
    batch(*base, "--output", f"{d}/s_ref.npy")
    for i in range(4):
        batch(*base, "--output", f"{d}/s{i}.npy", "--shard", f"{i}/4")
    batch("merge", "--output", f"{d}/s_merged.npy", *[f"{d}/s{i}.npy" for i in range(4)])
    check(read(f"{d}/s_merged.npy") == read(f"{d}/s_ref.npy"), "npy: 4 shards + merge == single run")


def peak_rss_mb(cmd):
    """Runs cmd, sampling its VmHWM (peak RSS of its own image; getrusage in the parent would
    also count the RSS this test had when it forked)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = 0.0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024.0)
        except OSError:
            pass
        time.sleep(0.05)
    return peak, p.returncode, p.stdout.read().decode()


def sanitized_build():
    """True when NALAR is an AddressSanitizer build (it links libasan)."""
    out = subprocess.run(["ldd", NALAR], capture_output=True, text=True).stdout
    return "libasan" in out


def test_memory(d):
    cap_mb = 48  # the bound this test sets for the job's peak RSS
    features = 256
    make_dot(f"{d}/dot.onnx", features)
    rows = (20 * cap_mb * 2**20) // (features * 4) + 1
    arr = np.lib.format.open_memmap(f"{d}/huge.npy", mode="w+", dtype=np.float32,
                                    shape=(rows, features))
    step = 65536
    for s in range(0, rows, step):
        arr[s:s + step] = (np.arange(s, min(rows, s + step), dtype=np.float32)[:, None] % 7)
    del arr
    size_mb = os.path.getsize(f"{d}/huge.npy") / 2**20
    if sanitized_build():
        # ASan's shadow memory and allocator make the process ~160 MB before it reads a row, and
        # its quarantine holds freed memory back. Under a sanitizer the bound is therefore the
        # same job's peak on a 1/20 input plus the cap (quarantine off in both runs): memory
        # must still not grow with the input. The release build checks the absolute cap.
        os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                      ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
        small = np.load(f"{d}/huge.npy", mmap_mode="r")[: rows // 20]
        np.save(f"{d}/small.npy", small)
        base, rc0, _ = peak_rss_mb([NALAR, "batch", "--model", f"{d}/dot.onnx", "--input",
                                    f"{d}/small.npy", "--output", f"{d}/small_out.npy",
                                    "--json", "--quiet"])
        check(rc0 == 0, "sanitizer build: baseline job on a 1/20 input ran")
        cap_mb = base + cap_mb
        print(f"sanitizer build: cap = baseline {base:.1f} MB + 48 MB")
    rss, rc, out = peak_rss_mb([NALAR, "batch", "--model", f"{d}/dot.onnx", "--input",
                                f"{d}/huge.npy", "--output", f"{d}/huge_out.npy", "--json",
                                "--quiet"])
    s = json.loads(out.strip().splitlines()[-1]) if rc == 0 else {}
    rss = max(rss, s.get("peak_rss_mb", 0))
    check(rc == 0 and s.get("predicted") == rows, f"huge npy job ran ({rc}, {s})")
    check(size_mb >= 20 * 48, f"input {size_mb:.0f} MB is 20x the 48 MB cap")
    check(rss < cap_mb, f"peak RSS {rss:.1f} MB stays under the {cap_mb} MB cap "
          f"(input {size_mb:.0f} MB; job reports {s.get('peak_rss_mb')})")
    print(f"memory: input {size_mb:.0f} MB, peak RSS {rss:.1f} MB (cap {cap_mb} MB)")
    y = np.load(f"{d}/huge_out.npy", mmap_mode="r")
    w = np.linspace(-1, 1, features, dtype=np.float32)
    idx = np.array([0, 1, 6, rows // 2, rows - 1])
    want = (idx % 7).astype(np.float32)[:, None] * w.sum()
    check(np.allclose(y[idx], want, rtol=1e-4, atol=1e-3), "huge npy answers")
    os.remove(f"{d}/huge.npy")
    os.remove(f"{d}/huge_out.npy")


def main():
    d = tempfile.mkdtemp(prefix="nalar_batch_test_")
    try:
        t0 = time.time()
        test_csv_jsonl_npy(d)
        test_bad_rows(d)
        if PIPELINES:
            test_pipelines(d)
        ref_out, ref_err, common = test_resume(d)
        test_shards(d, ref_out, ref_err, common)
        test_memory(d)
        print(f"batch_test: {PASSED} checks passed, {len(FAILURES)} failed "
              f"({time.time() - t0:.1f} s)")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
