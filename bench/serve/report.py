#!/usr/bin/python3
"""Turns bench/.results/serve_raw.jsonl into the text of the serve section of bench/RESULTS.md.

    report.py RAW SECONDS REPS GRPC(0|1) | bench/results_section.py serve
"""
import json
import os
import statistics
import sys



def load(raw):
    rows = [json.loads(l) for l in open(raw) if l.strip()]
    groups = {}
    for r in rows:
        key = (r["scenario"], r.get("tool"), r.get("proto") or r.get("target"), r["c"])
        groups.setdefault(key, []).append(r)
    return groups


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def agg(groups, key):
    """median and (min, max) of rps and latencies over the repetitions; errors summed."""
    runs = [r["result"] for r in groups.get(key, [])]
    ok = [x for x in runs if x.get("errors", 0) >= 0 and x.get("rps")]
    if not ok:
        err = next((x.get("first_error") for x in runs if x.get("first_error")), "no run")
        return {"missing": err}
    out = {"errors": sum(x.get("errors", 0) for x in runs), "n": len(ok)}
    for f in ("rps", "p50_us", "p99_us", "p999_us"):
        vals = [x[f] for x in ok if x.get(f) is not None]
        out[f] = med(vals)
        out[f + "_range"] = (min(vals), max(vals)) if vals else None
    errs = [x.get("first_error") for x in runs if x.get("first_error")]
    out["first_error"] = errs[0] if errs else ""
    return out


def fmt_rps(a):
    if "missing" in a:
        return "n/a"
    lo, hi = a["rps_range"]
    return f"{a['rps']:,.0f} ({lo:,.0f}-{hi:,.0f})" if a["n"] > 1 else f"{a['rps']:,.0f}"


def fmt_us(a, f):
    if "missing" in a or a.get(f) is None:
        return "n/a"
    v = a[f]
    return f"{v / 1000:.2f} ms" if v >= 10000 else f"{v:.0f} µs"


def fmt_p50(a):
    if "missing" in a or a.get("p50_us") is None:
        return "n/a"
    s = fmt_us(a, "p50_us")
    if a["n"] > 1:
        lo, hi = a["p50_us_range"]
        s += f" ({lo:.0f}-{hi:.0f})" if hi < 10000 else f" ({lo / 1000:.1f}-{hi / 1000:.1f} ms)"
    return s


def rep_ratios(groups, ka, kb):
    """Per-repetition ratio of req/s (a / b): median and range, or None."""
    a = {r["rep"]: r["result"].get("rps") for r in groups.get(ka, [])}
    b = {r["rep"]: r["result"].get("rps") for r in groups.get(kb, [])}
    vals = [a[k] / b[k] for k in a if a[k] and b.get(k)]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def fmt_ratio(r, pct=False):
    if r is None:
        return "n/a"
    f = (lambda v: f"{v:.0%}") if pct else (lambda v: f"{v:.2f}x")
    return f"{f(r[0])} ({f(r[1])}-{f(r[2])})" if r[1] != r[2] else f(r[0])


def ratio(a, b):
    if "missing" in a or "missing" in b or not b["rps"]:
        return None
    return a["rps"] / b["rps"]


def section(groups, secs, reps, grpc):
    L = ["## Serving (`make bench-serve`)", ""]
    L.append(f"`nalar serve` on loopback, {os.cpu_count()} cores shared by the server and the load "
             f"generator; closed loop, {secs} s measured after 1 s warm-up, {reps} repetition(s): "
             "median, range in brackets. Client: `nalar-loadgen` (HTTP/1.1 keep-alive, epoll; "
             "gRPC callback API) unless the row says wrk. Models: `mlp` is the tabular MLP "
             "(64-256-256-2, `dynamic_batching {}`, max_batch_size 64), `resnet18` (224x224, "
             "`dynamic_batching {}`, max_batch_size 16), `tiny` a 4-16-3 MLP without batching. "
             "Every request carries one sample (batch 1).")
    L.append("")
    L.append("| model | protocol | concurrency | req/s | p50 | p99 | p99.9 | errors |")
    L.append("|---|---|---|---|---|---|---|---|")
    protos = ["rest_json", "rest_binary"] + (["grpc"] if grpc else [])
    for model in ("tiny", "mlp", "resnet18"):
        for proto in (["rest_json"] if model == "tiny" else protos):
            for c in (1, 16, 64):
                a = agg(groups, (model, "loadgen", proto, c))
                L.append(f"| {model} | {proto.replace('_', ' ')} | {c} | {fmt_rps(a)} | {fmt_p50(a)} | "
                         f"{fmt_us(a, 'p99_us')} | {fmt_us(a, 'p999_us')} | "
                         f"{a.get('errors', 'n/a')} |")
    if not grpc:
        L.append("")
        L.append("gRPC rows: the server in this tree does not serve gRPC yet.")

    L += ["", "### Ceiling: nginx answering a static 200 on loopback (same client, same concurrency)",
          "", "| client | concurrency | nginx req/s | nalar `tiny` REST JSON req/s | nalar / nginx | "
          "nginx p50 | nalar p50 |", "|---|---|---|---|---|---|---|"]
    verdicts = []
    for tool, cs in (("loadgen", (1, 16, 64)), ("wrk", (16, 64))):
        for c in cs:
            n = agg(groups, ("ceiling", tool, "nginx", c))
            t = agg(groups, ("tiny", tool, "rest_json", c))
            r = rep_ratios(groups, ("tiny", tool, "rest_json", c), ("ceiling", tool, "nginx", c))
            if r is not None and c == 64:
                verdicts.append(r[0])
            L.append(f"| {tool} | {c} | {fmt_rps(n)} | {fmt_rps(t)} | {fmt_ratio(r, True)} | "
                     f"{fmt_p50(n)} | {fmt_p50(t)} |")
    if verdicts:
        L.append("")
        L.append("Ratios are taken per repetition (server and nginx measured back to back), then "
                 "the median.")
        L.append(f"Target tiny-model REST req/s >= 50% of the ceiling at concurrency 64: "
                 f"{', '.join(f'{v:.0%}' for v in verdicts)} (loadgen, wrk) -> "
                 f"**{'met' if min(verdicts) >= 0.5 else 'not met'}**.")

    b = agg(groups, ("batch", "loadgen", "rest_binary", 64))
    nb = agg(groups, ("nobatch", "loadgen", "rest_binary", 64))
    r = rep_ratios(groups, ("batch", "loadgen", "rest_binary", 64),
                   ("nobatch", "loadgen", "rest_binary", 64))
    L += ["", "### Dynamic batching against none (`mlp`, REST binary, concurrency 64)", "",
          "| model config | req/s | p50 | p99 |", "|---|---|---|---|",
          f"| dynamic_batching {{}} | {fmt_rps(b)} | {fmt_p50(b)} | {fmt_us(b, 'p99_us')} |",
          f"| no batching | {fmt_rps(nb)} | {fmt_p50(nb)} | {fmt_us(nb, 'p99_us')} |", ""]
    if r is not None:
        L.append(f"Throughput ratio per repetition {fmt_ratio(r)} (target >= 3x: "
                 f"**{'met' if r[0] >= 3 else 'not met'}** on the median).")

    # Server overhead at p50: client latency at concurrency 1, minus the engine's own p50 for
    # the same model (`nalar bench`, same run), minus what loopback plus the client cost (nginx's
    # p50 with the same client).
    L += ["", "### Server overhead at p50 (`tiny`, REST JSON, concurrency 1)", ""]
    eng = [r["result"]["latency_ms"]["p50"] * 1000 for rows in groups.values() for r in rows
           if r["scenario"] == "tiny_engine" and "latency_ms" in r.get("result", {})]
    stats = [r for rows in groups.values() for r in rows if r["scenario"] == "tiny_stats" and r["c"] == 1]
    mean_in_server = []
    for s in stats:
        dc, dns = s["after"][0] - s["before"][0], s["after"][1] - s["before"][1]
        if dc > 0:
            mean_in_server.append(dns / dc / 1000)
    t1 = agg(groups, ("tiny", "loadgen", "rest_json", 1))
    n1 = agg(groups, ("ceiling", "loadgen", "nginx", 1))
    if eng and "missing" not in t1 and "missing" not in n1:
        e = med(eng)
        raw_over = t1["p50_us"] - e
        net_over = raw_over - n1["p50_us"]
        ms = f"{med(mean_in_server):.1f} µs" if mean_in_server else "n/a"
        L += ["| client p50 | engine p50 (`nalar bench`) | engine mean in the server (stats) | "
              "client p50 - engine p50 | nginx p50 (loopback + client) | server overhead |",
              "|---|---|---|---|---|---|",
              f"| {t1['p50_us']:.1f} µs | {e:.1f} µs | {ms} | {raw_over:.1f} µs | "
              f"{n1['p50_us']:.1f} µs | **{net_over:.1f} µs** |", "",
              f"Target server overhead < 50 µs at p50: **{'met' if net_over < 50 else 'not met'}** "
              f"({net_over:.1f} µs; {raw_over:.1f} µs without subtracting the loopback and client "
              f"cost measured against nginx)."]
    errs = sorted({a for rows in groups.values() for r in rows
                   for a in [r.get("result", {}).get("first_error")] if a})
    if errs:
        L += ["", "First errors seen: " + "; ".join(e[:160] for e in errs[:5])]
    return "\n".join(L) + "\n"


def main():
    raw, secs, reps, grpc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    sys.stdout.write(section(load(raw), secs, reps, grpc))


if __name__ == "__main__":
    main()
