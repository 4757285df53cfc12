#!/usr/bin/python3
"""Replaces one section of bench/RESULTS.md with the text on stdin.

    some_report | bench/results_section.py NAME [RESULTS.md]

Each benchmark (engine, serve, image, batch) owns the text between `<!-- NAME:begin -->` and
`<!-- NAME:end -->`, so running one benchmark never erases another's figures. A missing section
is appended at the end.
"""
import os
import sys


def replace_section(text, name, body):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    i, j = text.find(begin), text.find(end)
    if i >= 0 and j > i:
        return text[:i] + block + text[j + len(end):]
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("\n" if text else "") + block + "\n"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    name = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) == 3 else os.path.join(os.path.dirname(__file__), "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    new = replace_section(text, name, sys.stdin.read())
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
