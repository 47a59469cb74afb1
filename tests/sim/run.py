#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs one sim scenario:  run.py NAME   (meson registers each as test 'sim-NAME')
           run.py --list             (names, one a line)
           run.py --check NAME...    (fails unless NAME... is exactly the registered set)

Environment: VFIOD_BIN (the built vfiod), VFIOD_SIM_PRELOAD (the GET_STATUS shim),
VFIOD_SOURCE_ROOT; VFIOD_SIM_KEEP=1 keeps the temporary prefix for a post-mortem.
"""

import signal
import sys
import time
import traceback

import harness
import scenarios_api  # noqa: F401  (each module registers its scenarios)
import scenarios_assign  # noqa: F401
import scenarios_console  # noqa: F401
import scenarios_faults  # noqa: F401
import scenarios_leases  # noqa: F401
from registry import SCENARIOS


def run(name):
    fn, sim_options = SCENARIOS[name]
    start = time.monotonic()
    sim = harness.Sim(**sim_options)
    try:
        fn(sim)
        harness.check(sim.vfiod_alive(), "vfiod is not running at the end of the scenario")
        # SIGTERM is a clean exit (CONTRACTS.md); under VFIOD_SIM_WRAPPER=valgrind this is also
        # where its error exit code shows.
        status = sim.stop_vfiod(signal.SIGTERM)
        harness.check_equal(status, 0, "vfiod's exit status after SIGTERM")
    except BaseException:
        print("FAIL sim-%s after %.1fs" % (name, time.monotonic() - start))
        traceback.print_exc(file=sys.stdout)
        print("--- vfiod log (for diagnosis only; nothing is asserted on it) ---")
        print(sim.log_tail())
        sim.close()
        return 1
    sim.close()
    print("ok sim-%s (%.1fs)" % (name, time.monotonic() - start))
    return 0


def main(argv):
    if argv[1:] == ["--list"]:
        print("\n".join(sorted(SCENARIOS)))
        return 0
    if argv[1:2] == ["--check"]:
        registered, listed = set(SCENARIOS), set(argv[2:])
        if registered != listed:
            print("registered but not in meson.build:", sorted(registered - listed))
            print("in meson.build but not registered:", sorted(listed - registered))
            return 1
        return 0
    if len(argv) != 2 or argv[1] not in SCENARIOS:
        print(__doc__)
        return 2
    return run(argv[1])


if __name__ == "__main__":
    # Our own SIGTERM handler before libfuse starts (it keeps existing ones), so a meson timeout
    # unwinds through Sim.close() and unmounts.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main(sys.argv))
