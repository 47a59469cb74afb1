# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run the simulated kernel by hand:  /usr/bin/python3 -m simkernel PREFIX [--machine standard]

Mounts PREFIX/sys, PREFIX/dev and PREFIX/proc, creates PREFIX/run, and serves until SIGINT or
SIGTERM. Point vfiod at it with --root=PREFIX (and the GET_STATUS shim in LD_PRELOAD).
"""

import argparse
import os
import signal
import threading

from .fs import Mounts
from .topology import MACHINES


def main():
    parser = argparse.ArgumentParser(prog="simkernel")
    parser.add_argument("prefix")
    parser.add_argument("--machine", default="standard", choices=sorted(MACHINES))
    args = parser.parse_args()

    stop = threading.Event()
    # Set before libfuse starts: it only installs its own handlers where none exist.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    os.makedirs(os.path.join(args.prefix, "run", "vfiod-sim"), exist_ok=True)
    sock = os.path.join(args.prefix, "run", "vfiod-sim", "uevent.sock")
    kernel = MACHINES[args.machine](sock)
    mounts = Mounts(kernel, args.prefix)
    print("simulated kernel mounted under", args.prefix, flush=True)
    try:
        while not stop.wait(1):
            pass
    finally:
        mounts.close()
        kernel.close()


if __name__ == "__main__":
    main()
