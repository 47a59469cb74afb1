#!/usr/bin/python3
"""Fails when meson's test log records any test that did not pass (skips included).

For each such test it also prints why: the end of its stdout and stderr, then its failed TAP
lines with their diagnostics, most telling last. This runs last, so the reason stays in the
tail of a long CI log, where meson's own error logs, printed tiers earlier, have scrolled away.
"""
import json
import sys

TAIL_LINES = 12


def failed_tap(stdout):
    """The 'not ok' and 'Bail out!' lines of a TAP stream, each with its '#' diagnostics."""
    out = []
    keep = False
    for line in stdout.splitlines():
        if line.startswith('not ok') or line.startswith('Bail out!'):
            keep = True
            out.append(line)
        elif keep and line.startswith('#'):
            out.append(line)
        else:
            keep = False
    return out


def tail(text, n):
    lines = (text or '').rstrip('\n').splitlines()
    return lines[-n:]


def explain(entry):
    print(f'--- {entry.get("name")}: {entry.get("result")}, '
          f'exit status {entry.get("returncode")}, {entry.get("duration", 0):.1f}s')
    for name in ('stdout', 'stderr'):
        lines = tail(entry.get(name), TAIL_LINES)
        if lines:
            print(f'  last {len(lines)} lines of {name}:')
            for line in lines:
                print(f'    {line}')
    for line in failed_tap(entry.get('stdout') or ''):
        print(f'  {line}')


bad = []
count = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            count += 1
            if entry.get('result') not in ('OK', 'EXPECTEDFAIL'):
                bad.append(entry)
for entry in bad:
    explain(entry)
if count == 0:
    print('not passed: no tests ran')
for entry in bad:
    print(f'not passed: {entry.get("name")}: {entry.get("result")}')
sys.exit(1 if bad or count == 0 else 0)
