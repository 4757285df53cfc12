#!/usr/bin/python3
"""Writes the batch section of bench/RESULTS.md (between <!-- batch:begin --> and
<!-- batch:end -->) from bench/batch/run.sh's raw results."""
import json
import os
import sys

raw, agree, results, rows, images, threads = sys.argv[1:7]
runs = [json.loads(l) for l in open(raw) if l.strip()]
agreement = open(agree).read().strip().splitlines()[-1] if os.path.exists(agree) else ""


def pick(kind, name):
    for r in runs:
        if r["kind"] == kind and r["name"] == name:
            return r
    return None


lines = ["<!-- batch:begin -->", "## Batch inference (`make bench-batch`)", "",
         f"One run, {threads} threads, on this machine (2 cores shared with other work while "
         "measured, so absolute figures are noisy; both sides ran back to back in the same run). "
         "Wall time of the whole command: start-up (Python and library imports for the peers), "
         "reading and writing included. Peak RSS of the main process (`/usr/bin/time`; the "
         "DataLoader's worker processes are not counted).", ""]
for kind, title, unit, peer in [
        ("fraud", f"Fraud GBT over a generated CSV of {int(rows):,} transactions", "rows/s",
         "pandas_sklearn"),
        ("images", f"Digits CNN over {int(images):,} generated 64x64 JPEGs", "images/s",
         "pillow_torch_dataloader")]:
    n, p = pick(kind, "nalar"), pick(kind, peer)
    if not n or not p:
        continue
    lines += [f"### {title}", "", f"| job | {unit} | seconds | peak RSS (MB) |", "|---|---:|---:|---:|"]
    for r, label in [(n, "`nalar batch`"), (p, peer.replace("_", " + "))]:
        lines.append(f"| {label} | {r['rows_per_s']:,.0f} | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} |")
    lines += ["", f"Nalar / peer: **{n['rows_per_s'] / p['rows_per_s']:.2f}x** the {unit}, "
              f"**{n['peak_rss_mb'] / p['peak_rss_mb']:.2f}x** the peak RSS.", ""]
    if kind == "fraud" and agreement:
        lines += [f"Same answers: {agreement}.", ""]
lines.append("<!-- batch:end -->")
section = "\n".join(lines) + "\n"

text = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
b, e = text.find("<!-- batch:begin -->"), text.find("<!-- batch:end -->")
if b >= 0 and e > b:
    text = text[:b] + section + text[e + len("<!-- batch:end -->\n"):]
else:
    text = text.rstrip("\n") + "\n\n" + section
open(results, "w").write(text)
print(section)
