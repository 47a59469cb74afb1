#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The GET_STATUS shim: with it, VFIO_GROUP_GET_STATUS on a simulated group node returns the
model's viability; without it FUSE answers ENOTTY; other fds reach the real ioctl.
Run: VFIOD_SIM_PRELOAD=build/tests/sim/preload-getstatus.so /usr/bin/python3 tests/sim/test_preload.py
"""

import json
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_model import EDU, NIC, SimTestCase  # noqa: E402

# Runs in a child with or without the shim; prints (errno or 0, flags) per request.
PROBE = r"""
import errno, fcntl, json, os, struct, sys
VFIO_GROUP_GET_STATUS = 0x3B67
out = []
for path, argsz in json.loads(sys.argv[1]):
    fd = os.open(path, os.O_RDWR)
    try:
        buf = fcntl.ioctl(fd, VFIO_GROUP_GET_STATUS, struct.pack("II", argsz, 0xdead))
        out.append([0, struct.unpack("II", buf)[1]])
    except OSError as e:
        out.append([e.errno, None])
    os.close(fd)
print(json.dumps(out))
"""


class Shim(SimTestCase):
    def probe(self, requests, preload=True):
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        if preload:
            env["LD_PRELOAD"] = os.environ["VFIOD_SIM_PRELOAD"]
        out = subprocess.run(["/usr/bin/python3", "-c", PROBE, json.dumps(requests)], env=env,
                             check=True, capture_output=True, text=True, timeout=30).stdout
        return [tuple(r) for r in json.loads(out)]

    def move(self, name):
        self.set_override(name, "vfio-pci")
        drv = self.driver(name)
        if drv:
            self.write("sys/bus/pci/drivers/%s/unbind" % drv, name)
        self.write("sys/bus/pci/drivers_probe", name)

    def test_status_from_model(self):
        self.move(EDU)
        self.move("0000:05:01.0")  # group 7 still has the e1000 NIC on its host driver
        g2, g7 = self.path("dev/vfio/2"), self.path("dev/vfio/7")
        self.assertEqual(self.probe([[g2, 8], [g7, 8], [g2, 4]]),
                         [(0, 1), (0, 0), (22, None)])  # EINVAL: argsz too small
        self.move(NIC)
        self.assertEqual(self.probe([[g7, 8]]), [(0, 1)])

    def test_without_shim_fuse_refuses(self):
        self.move(EDU)
        self.assertEqual(self.probe([[self.path("dev/vfio/2"), 8]], preload=False),
                         [(25, None)])  # ENOTTY

    def test_other_fds_reach_the_kernel(self):
        self.assertEqual(self.probe([["/dev/null", 8]]), [(25, None)])


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if not os.path.exists(os.environ.get("VFIOD_SIM_PRELOAD", "")):
        sys.exit("VFIOD_SIM_PRELOAD must name the built preload-getstatus.so")
    unittest.main(verbosity=2)
