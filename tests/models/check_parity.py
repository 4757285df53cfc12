#!/usr/bin/python3
"""Real-architecture parity: runs `nalar run` on every exported model and compares with PyTorch.

Usage: check_parity.py OUTDIR NALAR_BIN [--rtol R] [--atol A] [--filter REGEX] [--timeout S]

OUTDIR is what models/torch/export_models.py wrote: OUTDIR/<name>/model.onnx and, per batch
size, OUTDIR/<name>/b<B>/{inputs,expected}/<tensor name>.npy. A case passes when every expected
output exists with the same shape and np.allclose(actual, expected, rtol, atol) holds.
Prints one line per case (max abs/rel deviation and the share of the tolerance used, i.e.
max |a-e| / (atol + rtol*|e|)), the largest deviation overall and finally 'parity: N passed, M failed';
exits 1 if any case failed, 2 if there was nothing to check.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

# Relative deviation is reported only where |expected| is at least this large, so that values
# near zero (where the absolute tolerance governs) do not dominate it.
REL_FLOOR = 1e-3


def find_cases(outdir, pattern):
    cases = []
    for name in sorted(os.listdir(outdir)):
        model = os.path.join(outdir, name, "model.onnx")
        if not os.path.isfile(model):
            continue
        for sub in sorted(os.listdir(os.path.join(outdir, name))):
            case_dir = os.path.join(outdir, name, sub)
            if not re.fullmatch(r"b\d+", sub) or not os.path.isdir(case_dir):
                continue
            case = f"{name}/{sub}"
            if pattern and not re.search(pattern, case):
                continue
            cases.append((case, model, case_dir))
    return cases


def compare(actual, expected, rtol, atol):
    """Returns (ok, max_abs, max_rel, tol_use, reason)."""
    if actual.shape != expected.shape:
        return False, float("inf"), float("inf"), float("inf"), f"shape {list(actual.shape)} != {list(expected.shape)}"
    if actual.dtype != expected.dtype:
        return False, float("inf"), float("inf"), float("inf"), f"dtype {actual.dtype} != {expected.dtype}"
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    if a.size == 0:
        return True, 0.0, 0.0, 0.0, ""
    diff = np.abs(a - e)
    diff[np.isnan(diff)] = np.inf  # NaN anywhere counts as an infinite deviation
    max_abs = float(diff.max())
    big = np.abs(e) >= REL_FLOOR
    max_rel = float((diff[big] / np.abs(e[big])).max()) if big.any() else 0.0
    # Share of the tolerance used by the worst element (> 1 fails): how close a pass was.
    tol_use = float((diff / (atol + rtol * np.abs(e))).max())
    ok = bool(np.allclose(a, e, rtol=rtol, atol=atol))
    reason = ""
    if not ok:
        bad = int(np.count_nonzero(~np.isclose(a, e, rtol=rtol, atol=atol)))
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
        reason = (f"{bad}/{a.size} elements off; worst at {list(map(int, worst))}: "
                  f"got {a[worst]:.7g}, want {e[worst]:.7g}")
    return ok, max_abs, max_rel, tol_use, reason


def run_case(case, model, case_dir, nalar, args, records):
    """Returns whether the case passed; appends (max_abs, max_rel, 'case/output') to records
    for every output that could be compared numerically."""
    expected_dir = os.path.join(case_dir, "expected")
    expected = sorted(f[:-4] for f in os.listdir(expected_dir) if f.endswith(".npy"))
    with tempfile.TemporaryDirectory(prefix="nalar-parity-") as tmp:
        cmd = [nalar, "run", model, "--input-dir", os.path.join(case_dir, "inputs"),
               "--output-dir", tmp]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"FAIL {case}: nalar run timed out after {args.timeout} s")
            return False
        except OSError as e:
            print(f"FAIL {case}: cannot run {nalar}: {e}")
            return False
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            print(f"FAIL {case}: nalar run exited {proc.returncode}: "
                  f"{err[-1] if err else '(no stderr)'}")
            return False
        ok, case_abs, case_rel, case_use, details = True, 0.0, 0.0, 0.0, []
        for out in expected:
            path = os.path.join(tmp, out + ".npy")
            if not os.path.isfile(path):
                ok = False
                details.append(f"{out}: missing output file")
                case_abs = case_rel = case_use = float("inf")
                continue
            try:
                actual = np.load(path, allow_pickle=False)
            except Exception as e:  # a malformed .npy is a failure of the engine, not the test
                ok = False
                details.append(f"{out}: unreadable .npy ({e})")
                case_abs = case_rel = case_use = float("inf")
                continue
            want = np.load(os.path.join(expected_dir, out + ".npy"), allow_pickle=False)
            good, max_abs, max_rel, tol_use, reason = compare(actual, want, args.rtol, args.atol)
            if np.isfinite(max_abs):
                records.append((max_abs, max_rel, f"{case}/{out}", tol_use))
            case_abs, case_rel = max(case_abs, max_abs), max(case_rel, max_rel)
            case_use = max(case_use, tol_use)
            if not good:
                ok = False
                details.append(f"{out}: {reason}")
    status = "ok  " if ok else "FAIL"
    print(f"{status} {case}: max abs dev {case_abs:.3g}, max rel dev {case_rel:.3g},"
          f" tolerance used {100 * case_use:.3g}% ({len(expected)} output{'s' if len(expected) != 1 else ''})")
    for d in details:
        print(f"       {d}")
    return ok


def main():
    ap = argparse.ArgumentParser(description="nalar vs PyTorch parity on exported models")
    ap.add_argument("outdir")
    ap.add_argument("nalar")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--filter", help="regex on '<model>/b<B>'")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per nalar run")
    args = ap.parse_args()

    if not os.path.isdir(args.outdir):
        print(f"parity: no test data at {args.outdir} (run scripts/make-test-models.sh)")
        return 2
    cases = find_cases(args.outdir, args.filter)
    if not cases:
        print(f"parity: no cases in {args.outdir} (run scripts/make-test-models.sh)")
        return 2

    passed = failed = 0
    records = []
    for case, model, case_dir in cases:
        ok = run_case(case, model, case_dir, args.nalar, args, records)
        passed += ok
        failed += not ok
    if records:
        worst_abs = max(records, key=lambda r: r[0])
        worst_rel = max(records, key=lambda r: r[1])
        worst_use = max(records, key=lambda r: r[3])
        print(f"largest deviation: abs {worst_abs[0]:.3g} ({worst_abs[2]}), "
              f"rel {worst_rel[1]:.3g} ({worst_rel[2]}), tolerance used "
              f"{100 * worst_use[3]:.3g}% ({worst_use[2]}); over {len(records)} compared outputs, "
              f"rtol {args.rtol:g} atol {args.atol:g}")
    else:
        print("largest deviation: none (no output could be compared)")
    print(f"parity: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
