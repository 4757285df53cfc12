#!/usr/bin/python3
"""wrk --latency output on stdin -> one JSON line {TAG, "result": {...}} in loadgen's field names.

    parse_wrk.py '"rep": 1, "scenario": ...'
"""
import json
import re
import sys

UNIT = {"us": 1.0, "ms": 1e3, "s": 1e6}


def usecs(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * UNIT[m.group(2)] if m else None


def main():
    tag, text = sys.argv[1], sys.stdin.read()
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
        for q, key in (("50", "p50_us"), ("90", "p90_us"), ("99", "p99_us")):
            m = re.search(rf"^\s+{q}%\s+(\S+)", text, re.M)
            if m:
                r[key] = usecs(m.group(1))
        m = re.search(r"(\d+) requests in", text)
        r["requests"] = int(m.group(1)) if m else 0
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        errors = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        if m:
            errors += sum(int(g) for g in m.groups())
        r["errors"] = errors
    else:
        r = {"errors": -1, "first_error": text.strip()[-300:]}
    print("{" + tag + ", \"result\": " + json.dumps(r) + "}")


if __name__ == "__main__":
    main()
