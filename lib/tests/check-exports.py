#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The library exports exactly what the header declares public, every one of those symbols is
in the version script, and nothing else leaks (hidden visibility works).
Usage: check-exports.py LIBRARY HEADER VERSION-SCRIPT"""

import re
import subprocess
import sys


def main(library, header, script):
    nm = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True,
                        text=True, check=True).stdout
    exported = {line.split()[-1].split("@")[0] for line in nm.splitlines()
                if line.split()[1] in "TDBR"}
    with open(header, encoding="utf-8") as f:
        declared = set(re.findall(r"_VFIOD_PUBLIC_[^;(]*?\b(vfiod_\w+)\(", f.read()))
    with open(script, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    listed = set(re.findall(r"^\s*(vfiod_\w+);", text, flags=re.M))

    problems = []
    for name, got in [("exported by the library", exported), ("in the version script", listed)]:
        for s in sorted(declared - got):
            problems.append(f"{s}: declared public but not {name}")
        for s in sorted(got - declared):
            problems.append(f"{s}: {name} but not declared public in the header")
    if not declared:
        problems.append("no public declarations found in the header")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
