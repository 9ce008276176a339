#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A strict parser of the Prometheus text format (0.0.4) for the tests:
exits 1 naming the first bad line; prints "name value" per sample."""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*)?,?\})? (\S+)( -?\d+)?$"
                    % (NAME, LABEL, LABEL))
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(n, line, why):
    print("metrics line %d: %s: %r" % (n, why, line))
    sys.exit(1)


def main():
    typed = {}
    hists = {}
    seen_samples = set()
    text = sys.stdin.read()
    if not text.endswith("\n"):
        fail(0, "", "does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            if not re.match(r"^# HELP %s( .*)?$" % NAME, line):
                fail(n, line, "bad HELP")
            continue
        if line.startswith("# TYPE "):
            m = re.match(r"^# TYPE (%s) (\S+)$" % NAME, line)
            if not m or m.group(2) not in TYPES:
                fail(n, line, "bad TYPE")
            if m.group(1) in typed:
                fail(n, line, "TYPE twice")
            if m.group(1) in seen_samples:
                fail(n, line, "TYPE after its samples")
            typed[m.group(1)] = m.group(2)
            continue
        if line.startswith("#") or line == "":
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(n, line, "not a sample")
        name, value = m.group(1), m.group(3)
        try:
            float(value)
        except ValueError:
            if value not in ("+Inf", "-Inf", "NaN"):
                fail(n, line, "bad value")
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if base in typed and typed[base] == "histogram":
            seen_samples.add(base)
        else:
            seen_samples.add(name)
        if name.endswith("_bucket") and typed.get(base) == "histogram":
            le = re.search(r'le="([^"]*)"', m.group(2) or "")
            if not le:
                fail(n, line, "bucket without le")
            h = hists.setdefault(base, [])
            bound = float(le.group(1))
            if h and (bound <= h[-1][0] or float(value) < h[-1][1]):
                fail(n, line, "buckets not increasing and cumulative")
            h.append((bound, float(value)))
        if name.endswith("_count") and typed.get(base) == "histogram":
            h = hists.get(base)
            if not h or h[-1][0] != float("inf") or h[-1][1] != float(value):
                fail(n, line, "no +Inf bucket equal to the count")
        print(name, value)


main()
