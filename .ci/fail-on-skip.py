#!/usr/bin/python3
"""Fails when meson's test log records any test that did not pass (skips included)."""
import json
import sys

bad = []
count = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            count += 1
            if entry.get("result") not in ("OK", "EXPECTEDFAIL"):
                bad.append(f'{entry.get("name")}: {entry.get("result")}')
if count == 0:
    bad.append("no tests ran")
for b in bad:
    print("not passed:", b)
sys.exit(1 if bad else 0)
