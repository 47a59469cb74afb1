#!/usr/bin/python3
"""Checks .ci/fail-on-skip.py on made-up meson logs: its exit status, and that a failed test's
'not ok' lines and their diagnostics come last, just above the summary, where the tail of a CI
log shows them."""
import json
import os
import subprocess
import sys
import tempfile

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fail-on-skip.py')


def entry(name, result, stdout='', stderr='', returncode=0):
    return {'name': name, 'result': result, 'stdout': stdout, 'stderr': stderr,
            'returncode': returncode, 'duration': 1.5}


def run(*logs):
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, entries in enumerate(logs):
            path = os.path.join(tmp, f'log{i}.json')
            with open(path, 'w') as f:
                for e in entries:
                    f.write(json.dumps(e) + '\n')
            paths.append(path)
        p = subprocess.run([sys.executable, SCRIPT] + paths, capture_output=True, text=True)
    return p.returncode, p.stdout.splitlines()


def expect(cond, what, out):
    if not cond:
        print(f'FAIL: {what}\n--- output:\n' + '\n'.join(out))
        sys.exit(1)


ok = entry('vfiod:unit / a', 'OK')
rc, out = run([ok], [entry('vfiod:fuzz / b', 'EXPECTEDFAIL')])
expect(rc == 0 and out == [], 'passing logs: exit 0, nothing printed', out)

rc, out = run([ok, entry('vfiod:sim / skipped', 'SKIP', returncode=77)])
expect(rc == 1, 'a skipped test fails the run', out)
expect(out[-1] == 'not passed: vfiod:sim / skipped: SKIP', 'the skip is named last', out)

tap = 'ok 1 - first\nnot ok 2 - second\n#   expected: x\n#   actual: y\nok 3 - third\n1..3\n'
rc, out = run([entry('vfiod:vm / scenario', 'ERROR', tap, '# vm: guest rc=1\n', 1), ok])
expect(rc == 1, 'a failed TAP test fails the run', out)
expect(out[-4:] == ['  not ok 2 - second', '  #   expected: x', '  #   actual: y',
                    'not passed: vfiod:vm / scenario: ERROR'],
       'failed TAP lines with their diagnostics, then the summary, come last', out)
expect('    # vm: guest rc=1' in out, "the end of the test's stderr is shown", out)

rc, out = run([])
expect(rc == 1 and out == ['not passed: no tests ran'], 'an empty log fails the run', out)
print('ok: fail-on-skip.py names what did not pass, and why, at the end')
