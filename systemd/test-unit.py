#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the configured vfiod.service offline: `systemd-analyze verify` must accept it without a
single warning, and `systemd-analyze security --offline` must rate it at most 3.5, so that no
hardening option is lost silently. ExecStart= is pointed at an existing binary because verify
insists the command exists, and the unit is checked from a private copy."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ANALYZE = os.environ.get("SYSTEMD_ANALYZE", "systemd-analyze")
THRESHOLD = "35"  # tenths: exposure 3.5


def main(unit):
    with open(unit, encoding="utf-8") as f:
        text = f.read()
    if not re.search(r"^ExecStart=/\S+/vfiod$", text, flags=re.M):
        print("ExecStart= does not run an absolute .../vfiod", file=sys.stderr)
        return 1
    text = re.sub(r"^ExecStart=.*$", "ExecStart=" + shutil.which("true"), text, flags=re.M)
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "vfiod.service")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(text)
        # verify only warns (exit 0) about unknown keys; any output at all is a failure.
        v = subprocess.run([ANALYZE, "verify", copy], capture_output=True, text=True, cwd=tmp)
        problems = [l for l in (v.stdout + v.stderr).splitlines() if l.strip()]
        if v.returncode != 0 or problems:
            print("systemd-analyze verify:", *problems, sep="\n  ", file=sys.stderr)
            return 1
        s = subprocess.run([ANALYZE, "security", "--offline=true", "--threshold=" + THRESHOLD,
                            copy], capture_output=True, text=True, cwd=tmp)
        print(s.stdout.strip().splitlines()[-1] if s.stdout.strip() else s.stderr)
        if s.returncode != 0:
            print(s.stdout, s.stderr, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
