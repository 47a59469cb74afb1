#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The simulated display (simkernel/console.py) against what the VM tier saw on Debian's 6.1 and
6.12 kernels with QEMU's VGA and bochs-display, driven through the mounted filesystem as vfiod
drives it. Run: /usr/bin/python3 tests/sim/test_console_model.py"""

import errno
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from simkernel.topology import BOOT_GPU, SECOND_GPU, bochs_drm, gpu  # noqa: E402
from test_model import SimTestCase  # noqa: E402

FBCON = "(M) frame buffer device"
DUMMY = "(S) dummy device"


class ConsoleTestCase(SimTestCase):
    machine = staticmethod(gpu)

    def fbs(self):
        """fbN -> (name, the device it belongs to)."""
        out = {}
        for name in os.listdir(self.path("sys/class/graphics")):
            if name.startswith("fb") and name[2:].isdigit():
                dev = os.path.realpath(self.path("sys/class/graphics/%s/device" % name))
                out[name] = (self.read("sys/class/graphics/%s/name" % name).strip(),
                             os.path.basename(dev))
        return out

    def vtcons(self):
        return {v: (self.read("sys/class/vtconsole/%s/name" % v).strip(),
                    self.read("sys/class/vtconsole/%s/bind" % v).strip())
                for v in os.listdir(self.path("sys/class/vtconsole"))}

    def firmware_fbs(self):
        return sorted(n for n in os.listdir(self.path("sys/bus/platform/devices"))
                      if "framebuffer" in n)

    def to_vfio(self, name):
        self.assertEqual(self.set_override(name, "vfio-pci"), 0)
        if self.driver(name):
            self.write("sys/bus/pci/drivers/%s/unbind" % self.driver(name), name)
        self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/bind", name), 0)

    def from_vfio(self, name, driver=None):
        self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/unbind", name), 0)
        self.assertEqual(self.set_override(name, "\n"), 0)
        if driver:
            self.assertEqual(self.write("sys/bus/pci/drivers/%s/bind" % driver, name), 0)

    def load_bochs(self):
        self.kernel.register_driver(bochs_drm())


class FirmwareConsole(ConsoleTestCase):
    def test_boot_state(self):
        self.assertEqual(self.fbs(), {"fb0": ("VESA VGA", "vesa-framebuffer.0")})
        self.assertEqual(self.vtcons(), {"vtcon0": (DUMMY, "0"), "vtcon1": (FBCON, "1")})
        self.assertEqual(self.read("sys/bus/pci/devices/%s/boot_vga" % BOOT_GPU), "1\n")
        self.assertFalse(os.path.exists(self.dev(SECOND_GPU, "boot_vga")))  # not VGA class
        iomem = self.read("proc/iomem").splitlines()
        at = iomem.index("  c0000000-c0ffffff : %s" % BOOT_GPU)
        self.assertEqual(iomem[at + 1], "    c0000000-c03e7fff : vesafb")
        self.assertEqual(self.read("proc/sys/kernel/osrelease"), "6.1.0-56-amd64\n")

    def test_vfio_on_boot_gpu_takes_the_console_for_good(self):
        self.to_vfio(BOOT_GPU)
        self.assertEqual(self.firmware_fbs(), [])  # sysfb_disable()
        self.assertEqual(self.fbs(), {})
        self.assertFalse(os.path.exists(self.path("dev/fb0")))
        # The last framebuffer went: fbcon's console driver is unregistered.
        self.assertEqual(self.vtcons(), {"vtcon0": (DUMMY, "1")})
        self.from_vfio(BOOT_GPU)
        self.assertEqual((self.firmware_fbs(), self.fbs()), ([], {}))
        self.assertEqual(self.write("sys/bus/platform/drivers/vesa-framebuffer/bind",
                                    "vesa-framebuffer.0"), errno.ENODEV)

    def test_vfio_on_secondary_changes_nothing(self):
        before = (self.fbs(), self.vtcons(), self.firmware_fbs())
        self.to_vfio(SECOND_GPU)
        self.assertEqual((self.fbs(), self.vtcons(), self.firmware_fbs()), before)

    def test_native_driver_replaces_the_firmware_framebuffer(self):
        self.load_bochs()
        self.assertEqual(self.firmware_fbs(), [])
        self.assertEqual(self.fbs(), {"fb0": ("bochs-drmdrmfb", BOOT_GPU),
                                      "fb1": ("bochs-drmdrmfb", SECOND_GPU)})
        self.assertEqual(self.vtcons(), {"vtcon0": (DUMMY, "0"), "vtcon1": (FBCON, "1")})
        self.assertTrue(os.path.exists(self.dev(BOOT_GPU, "drm/card0/dev")))


class NativeConsole(ConsoleTestCase):
    def setUp(self):
        super().setUp()
        self.load_bochs()

    def test_boot_gpu_away_with_a_second_framebuffer(self):
        # VM tier, both kernels: "consoles while assigned: fb1 ...;vtcon1 bind=0", and after the
        # release bochs-drm's fb0 is primary again and fbcon takes the consoles back by itself.
        self.to_vfio(BOOT_GPU)
        self.assertEqual(self.fbs(), {"fb1": ("bochs-drmdrmfb", SECOND_GPU)})
        self.assertEqual(self.vtcons(), {"vtcon0": (DUMMY, "1"), "vtcon1": (FBCON, "0")})
        self.from_vfio(BOOT_GPU, "bochs-drm")
        self.assertEqual(self.fbs()["fb0"], ("bochs-drmdrmfb", BOOT_GPU))
        self.assertEqual(self.vtcons(), {"vtcon0": (DUMMY, "0"), "vtcon1": (FBCON, "1")})

    def test_secondary_away_keeps_the_console(self):
        self.to_vfio(SECOND_GPU)
        self.assertEqual(self.fbs(), {"fb0": ("bochs-drmdrmfb", BOOT_GPU)})
        self.assertEqual(self.vtcons(), {"vtcon0": (DUMMY, "0"), "vtcon1": (FBCON, "1")})

    def test_vtconsole_bind(self):
        self.to_vfio(BOOT_GPU)
        self.assertEqual(self.write("sys/class/vtconsole/vtcon1/bind", "1\n"), 0)
        self.assertEqual(self.vtcons(), {"vtcon0": (DUMMY, "0"), "vtcon1": (FBCON, "1")})
        self.assertEqual(self.write("sys/class/vtconsole/vtcon0/bind", "1\n"), 0)
        self.assertEqual(self.vtcons()["vtcon1"], (FBCON, "0"))
        self.assertEqual(self.write("sys/class/vtconsole/vtcon1/bind", "x"), errno.EINVAL)
        self.assertEqual(self.write("sys/class/vtconsole/vtcon0/bind", "0"), errno.EINVAL)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    unittest.main(verbosity=2)
