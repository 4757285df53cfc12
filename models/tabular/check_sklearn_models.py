#!/usr/bin/python3
"""Runs every model made by make_sklearn_models.py through `nalar run` and compares with sklearn.

Usage: /usr/bin/python3 models/tabular/check_sklearn_models.py OUTDIR NALAR_BIN [--filter SUBSTR]

For each OUTDIR/<name>/ it runs
    NALAR_BIN run OUTDIR/<name>/model.onnx --input NAME=FILE.npy ... --output-dir TMP
and compares TMP/<output name>.npy with the expected file named in meta.json: labels, integers and
strings exactly; floats within 1e-5 absolute (probabilities, scores) plus 1e-5 relative (so that
regression values in the hundreds are held to float32 precision). Prints 'N passed, M failed' and
exits non-zero when anything fails.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ATOL = 1e-5
RTOL = 1e-5


def compare(name, expected, actual):
    if expected.shape != actual.shape:
        return "%s: shape %s, expected %s" % (name, actual.shape, expected.shape)
    if expected.dtype.kind in "USO":
        if actual.dtype.kind not in "USO":
            return "%s: dtype %s, expected strings" % (name, actual.dtype)
        bad = np.nonzero(expected.astype(str) != actual.astype(str))
        if bad[0].size:
            i = tuple(b[0] for b in bad)
            return "%s: %d strings differ, first at %s: %r vs %r" % (
                name, bad[0].size, i, actual[i], expected[i])
        return ""
    if expected.dtype != actual.dtype:
        return "%s: dtype %s, expected %s" % (name, actual.dtype, expected.dtype)
    if expected.dtype.kind in "iub":
        bad = np.nonzero(expected != actual)
        if bad[0].size:
            i = tuple(b[0] for b in bad)
            return "%s: %d values differ, first at %s: %s vs %s" % (
                name, bad[0].size, i, actual[i], expected[i])
        return ""
    e = expected.astype(np.float64)
    a = actual.astype(np.float64)
    with np.errstate(invalid="ignore"):
        same = (np.abs(e - a) <= ATOL + RTOL * np.abs(e)) | (np.isnan(e) & np.isnan(a)) | (e == a)
    if not same.all():
        bad = np.nonzero(~same)
        i = tuple(b[0] for b in bad)
        return "%s: %d values differ, worst |diff| %.3g, first at %s: %r vs %r" % (
            name, bad[0].size, np.nanmax(np.abs(e - a)), i, a[i], e[i])
    return ""


def check_case(case_dir, nalar_bin):
    with open(os.path.join(case_dir, "meta.json")) as f:
        meta = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [nalar_bin, "run", os.path.join(case_dir, "model.onnx")]
        for iname, rel in sorted(meta["inputs"].items()):
            cmd += ["--input", "%s=%s" % (iname, os.path.join(case_dir, rel))]
        cmd += ["--output-dir", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            return "nalar run failed (%d): %s" % (proc.returncode, proc.stderr.strip()[-400:])
        for oname, rel in sorted(meta["outputs"].items()):
            path = os.path.join(tmp, oname + ".npy")
            if not os.path.exists(path):
                return "no output file %s.npy" % oname
            diff = compare(oname, np.load(os.path.join(case_dir, rel), allow_pickle=False),
                           np.load(path, allow_pickle=False))
            if diff:
                return diff
    return ""


def main():
    args = [a for a in sys.argv[1:]]
    filt = ""
    if "--filter" in args:
        i = args.index("--filter")
        filt = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    outdir, nalar_bin = args
    cases = sorted(d for d in os.listdir(outdir)
                   if os.path.exists(os.path.join(outdir, d, "meta.json")) and filt in d)
    if not cases:
        print("no cases in %s (run make_sklearn_models.py first)" % outdir, file=sys.stderr)
        return 2
    passed = failed = 0
    for name in cases:
        reason = check_case(os.path.join(outdir, name), nalar_bin)
        if reason:
            failed += 1
            print("FAIL %s: %s" % (name, reason))
        else:
            passed += 1
            print("PASS %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
