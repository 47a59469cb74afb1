#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The simulated kernel against the facts of KERNEL.md, driven through the mounted filesystem
with plain open/read/write, as vfiod drives it. Run: /usr/bin/python3 tests/sim/test_model.py"""

import errno
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from simkernel.fs import Mounts  # noqa: E402
from simkernel.model import NetDriver  # noqa: E402
from simkernel.topology import E1000, Builder, standard  # noqa: E402

NIC = "0000:05:02.0"  # e1000 in group 7 (with a bridge and an edu)
EDU = "0000:01:00.0"  # alone in group 2, no host driver
BRIDGE = "0000:04:00.0"


class SimTestCase(unittest.TestCase):
    machine = staticmethod(standard)

    def setUp(self):
        self.prefix = tempfile.mkdtemp(prefix="vfiod-simtest.")
        os.makedirs(os.path.join(self.prefix, "run", "vfiod-sim"))
        self.sock_path = os.path.join(self.prefix, "run", "vfiod-sim", "uevent.sock")
        self.kernel = self.machine(self.sock_path)
        self.mounts = Mounts(self.kernel, self.prefix)
        self.listener = None

    def tearDown(self):
        self.mounts.close()
        self.kernel.close()
        if self.listener:
            self.listener.close()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.prefix, rel)

    def dev(self, name, attr=""):
        return self.path("sys/bus/pci/devices/%s/%s" % (name, attr)).rstrip("/")

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read().decode()

    def write(self, rel, data):
        """Writes like `echo` does; returns 0 or the errno."""
        fd = os.open(self.path(rel), os.O_WRONLY)
        try:
            os.write(fd, data.encode() if isinstance(data, str) else data)
            return 0
        except OSError as e:
            return e.errno
        finally:
            os.close(fd)

    def driver(self, name):
        try:
            return os.path.basename(os.readlink(self.dev(name, "driver")))
        except FileNotFoundError:
            return None

    def override(self, name):
        return self.read("sys/bus/pci/devices/%s/driver_override" % name)

    def set_override(self, name, value):
        return self.write("sys/bus/pci/devices/%s/driver_override" % name, value)

    def listen(self):
        # Events of the machine's construction are still queued: let them go (to nobody) first,
        # so the listener sees only what the test does.
        self.kernel.uevents.flush()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.listener.bind(self.sock_path)
        self.listener.settimeout(2)

    def events(self):
        """Every uevent received so far, as (header, {key: value})."""
        self.kernel.uevents.flush()
        out = []
        self.listener.settimeout(0.2)
        while True:
            try:
                data = self.listener.recv(65536)
            except socket.timeout:
                return out
            fields = data.rstrip(b"\0").decode().split("\0")
            out.append((fields[0], dict(f.split("=", 1) for f in fields[1:])))


class Override(SimTestCase):
    def test_unset_reads_null(self):
        self.assertEqual(self.override(NIC), "(null)\n")

    def test_set_and_clear(self):
        self.assertEqual(self.set_override(NIC, "vfio-pci\n"), 0)
        self.assertEqual(self.override(NIC), "vfio-pci\n")
        self.assertEqual(self.set_override(NIC, "\n"), 0)
        self.assertEqual(self.override(NIC), "(null)\n")
        self.set_override(NIC, "vfio-pci")
        self.assertEqual(self.set_override(NIC, b"\0"), 0)  # all-NUL clears, as python writes
        self.assertEqual(self.override(NIC), "(null)\n")

    def test_stored_up_to_newline(self):
        self.set_override(NIC, "pci-stub\nvfio-pci\n")
        self.assertEqual(self.override(NIC), "pci-stub\n")

    def test_length_limit(self):
        self.assertEqual(self.set_override(NIC, "x" * 4095), errno.EINVAL)
        self.assertEqual(self.set_override(NIC, "x" * 5000), errno.EINVAL)
        self.assertEqual(self.override(NIC), "(null)\n")
        self.assertEqual(self.set_override(NIC, "x" * 4094), 0)
        self.assertEqual(self.override(NIC), "x" * 4094 + "\n")

    def test_never_unbinds_or_probes(self):
        self.set_override(NIC, "vfio-pci")
        self.assertEqual(self.driver(NIC), "e1000")
        self.set_override(EDU, "vfio-pci")
        self.assertIsNone(self.driver(EDU))


class Unbind(SimTestCase):
    def test_wrong_driver_enodev(self):
        self.assertEqual(self.write("sys/bus/pci/drivers/e1000e/unbind", NIC), errno.ENODEV)
        self.assertEqual(self.driver(NIC), "e1000")

    def test_unbind_removes_links_and_netdev(self):
        self.listen()
        self.assertTrue(os.path.exists(self.dev(NIC, "net/ens2")))
        self.assertEqual(self.write("sys/bus/pci/drivers/e1000/unbind", NIC + "\n"), 0)
        self.assertIsNone(self.driver(NIC))
        self.assertFalse(os.path.lexists(self.path("sys/bus/pci/drivers/e1000/" + NIC)))
        self.assertFalse(os.path.exists(self.dev(NIC, "net")))
        self.assertFalse(os.path.lexists(self.path("sys/class/net/ens2")))
        actions = [(h.split("@")[0], e["SUBSYSTEM"]) for h, e in self.events()]
        self.assertEqual(actions, [("remove", "net"), ("unbind", "pci")])
        self.assertEqual(self.write("sys/bus/pci/drivers/e1000/unbind", NIC), errno.ENODEV)

    def test_hung_unbind(self):
        hang = self.kernel.hang_unbind(NIC)
        result = []
        writer = threading.Thread(
            target=lambda: result.append(self.write("sys/bus/pci/drivers/e1000/unbind", NIC)))
        writer.start()
        self.assertTrue(hang.entered.wait(5))
        # The driver links go before drv->remove runs; the netdev only when remove finishes.
        self.assertIsNone(self.driver(NIC))
        self.assertTrue(os.path.exists(self.dev(NIC, "net/ens2")))
        # The rest of the tree keeps answering, including the same bus's other devices.
        self.assertEqual(self.override(EDU), "(null)\n")
        self.assertEqual(self.read("sys/bus/pci/drivers_autoprobe"), "1\n")
        # 6.1: driver_override show takes device_lock, held by the unbind.
        blocked = []
        reader = threading.Thread(target=lambda: blocked.append(self.override(NIC)))
        reader.start()
        reader.join(0.5)
        self.assertTrue(reader.is_alive())
        hang.release()
        writer.join(5)
        reader.join(5)
        self.assertEqual(result, [0])
        self.assertEqual(blocked, ["(null)\n"])
        self.assertFalse(os.path.exists(self.dev(NIC, "net")))


class Bind(SimTestCase):
    def test_no_match_enodev(self):
        self.assertEqual(self.write("sys/bus/pci/drivers/e1000/bind", EDU), errno.ENODEV)
        self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/bind", EDU), errno.ENODEV)
        self.assertEqual(self.write("sys/bus/pci/drivers/e1000/bind", "0000:99:00.0"),
                         errno.ENODEV)

    def test_override_mismatch_enodev(self):
        self.write("sys/bus/pci/drivers/e1000/unbind", NIC)
        self.set_override(NIC, "vfio-pci")
        self.assertEqual(self.write("sys/bus/pci/drivers/e1000/bind", NIC), errno.ENODEV)
        self.assertIsNone(self.driver(NIC))

    def test_already_bound_ebusy(self):
        self.assertEqual(self.write("sys/bus/pci/drivers/e1000/bind", NIC), errno.EBUSY)

    def test_vfio_refuses_bridge(self):
        self.set_override(BRIDGE, "vfio-pci")
        self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/bind", BRIDGE), errno.EINVAL)
        self.assertIsNone(self.driver(BRIDGE))

    def test_vfio_refuses_no_group_and_pf_with_vfs(self):
        b = Builder(self.kernel)
        b.edu("0000:05:04.0", BRIDGE, None)
        b.edu("0000:05:05.0", BRIDGE, 7, totalvfs=7, numvfs=2)
        for name, err in (("0000:05:04.0", errno.EINVAL), ("0000:05:05.0", errno.EBUSY)):
            self.set_override(name, "vfio-pci")
            self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/bind", name), err)
        self.assertEqual(self.read("sys/bus/pci/devices/0000:05:05.0/sriov_numvfs"), "2\n")

    def test_probe_errors_returned(self):
        self.set_override(EDU, "vfio-pci")
        self.kernel.fail_probe(EDU, "vfio-pci", errno.ENOMEM, times=1)
        self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/bind", EDU), errno.ENOMEM)
        self.kernel.fail_probe(EDU, "vfio-pci", 517, times=1)  # -EPROBE_DEFER
        self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/bind", EDU), errno.EAGAIN)
        self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/bind", EDU), 0)
        self.assertEqual(self.driver(EDU), "vfio-pci")


class DriversProbe(SimTestCase):
    def test_unknown_device(self):
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", "0000:99:00.0"), errno.ENODEV)

    def test_bound_is_noop(self):
        self.set_override(NIC, "vfio-pci")
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", NIC), 0)
        self.assertEqual(self.driver(NIC), "e1000")

    def test_respects_override(self):
        self.write("sys/bus/pci/drivers/e1000/unbind", NIC)
        self.set_override(NIC, "vfio-pci")
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", NIC), 0)
        self.assertEqual(self.driver(NIC), "vfio-pci")

    def test_failed_probe_still_succeeds(self):
        self.set_override(EDU, "vfio-pci")
        self.kernel.fail_probe(EDU, "vfio-pci", errno.EIO)
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", EDU), 0)
        self.assertIsNone(self.driver(EDU))
        self.set_override(BRIDGE, "vfio-pci")  # vfio-pci's own refusal, same story
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", BRIDGE), 0)
        self.assertIsNone(self.driver(BRIDGE))

    def test_framework_error_einval(self):
        self.write("sys/bus/pci/drivers/e1000/unbind", NIC)
        self.kernel.fail_probe(NIC, "e1000", -errno.EBUSY)
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", NIC), errno.EINVAL)

    def test_unregistered_override_fences(self):
        self.write("sys/bus/pci/drivers/e1000/unbind", NIC)
        self.set_override(NIC, "none")
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", NIC), 0)
        self.assertIsNone(self.driver(NIC))
        self.set_override(NIC, "\n")
        self.write("sys/bus/pci/drivers_probe", NIC)
        self.assertEqual(self.driver(NIC), "e1000")


class Autoprobe(SimTestCase):
    def test_gates_new_devices_and_drivers_only(self):
        self.assertEqual(self.read("sys/bus/pci/drivers_autoprobe"), "1\n")
        self.assertEqual(self.write("sys/bus/pci/drivers_autoprobe", "0"), 0)
        self.assertEqual(self.read("sys/bus/pci/drivers_autoprobe"), "0\n")
        Builder(self.kernel).nic("0000:05:03.0", E1000, "ens3", BRIDGE, 7)
        self.assertIsNone(self.driver("0000:05:03.0"))
        # drivers_probe and bind still work with autoprobe off.
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", "0000:05:03.0"), 0)
        self.assertEqual(self.driver("0000:05:03.0"), "e1000")
        self.kernel.register_driver(NetDriver("edu-host", ids=[(0x1234, 0x11E8)]))
        self.assertIsNone(self.driver(EDU))
        self.assertEqual(self.write("sys/bus/pci/drivers/edu-host/bind", EDU), 0)
        self.assertEqual(self.write("sys/bus/pci/drivers_autoprobe", "yes"), 0)
        self.assertEqual(self.read("sys/bus/pci/drivers_autoprobe"), "1\n")

    def test_new_device_probed_when_on(self):
        Builder(self.kernel).nic("0000:05:03.0", E1000, "ens3", BRIDGE, 7)
        self.assertEqual(self.driver("0000:05:03.0"), "e1000")

    def test_new_id_ignores_autoprobe(self):
        self.write("sys/bus/pci/drivers_autoprobe", "0")
        self.assertEqual(self.write("sys/bus/pci/drivers/pci-stub/new_id", "1234 11e8"), 0)
        self.assertEqual(self.driver(EDU), "pci-stub")
        self.assertEqual(self.driver("0000:06:00.0"), "pci-stub")
        self.assertEqual(self.write("sys/bus/pci/drivers/pci-stub/new_id", "1234 11e8"),
                         errno.EEXIST)


class VfioGroup(SimTestCase):
    def assign(self, name):
        self.set_override(name, "vfio-pci")
        drv = self.driver(name)
        if drv:
            self.assertEqual(self.write("sys/bus/pci/drivers/%s/unbind" % drv, name), 0)
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", name), 0)
        self.assertEqual(self.driver(name), "vfio-pci")

    def test_node_follows_members_and_viability(self):
        node = self.path("dev/vfio/7")
        self.assertFalse(os.path.exists(node))
        self.assign("0000:05:01.0")
        self.assertEqual(self.read("dev/vfio/7"), "flags=0\n")  # e1000 still has the NIC
        self.assertTrue(os.path.islink(self.path("sys/class/vfio/7")))
        self.assertTrue(os.path.isdir(self.dev("0000:05:01.0", "vfio-dev")))
        self.assign(NIC)
        self.assertEqual(self.read("dev/vfio/7"), "flags=1\n")  # the bridge is driverless
        for name in ("0000:05:01.0", NIC):
            self.assertEqual(self.write("sys/bus/pci/drivers/vfio-pci/unbind", name), 0)
            self.assertEqual(os.path.exists(node), name != NIC)
        self.assertFalse(os.path.lexists(self.path("sys/class/vfio/7")))

    def test_pcieport_bridge_keeps_group_viable(self):
        self.assign("0000:03:00.0")
        self.assertEqual(self.driver("0000:00:03.0"), "pcieport")
        self.assertEqual(self.read("dev/vfio/5"), "flags=1\n")

    def test_single_open(self):
        self.assign(EDU)
        fd = os.open(self.path("dev/vfio/2"), os.O_RDWR)
        with self.assertRaises(OSError) as cm:
            os.open(self.path("dev/vfio/2"), os.O_RDWR)
        self.assertEqual(cm.exception.errno, errno.EBUSY)
        # The fd outlives the node: afterwards it only reports ENODEV.
        self.write("sys/bus/pci/drivers/vfio-pci/unbind", EDU)
        with self.assertRaises(OSError) as cm:
            os.pread(fd, 64, 0)
        self.assertEqual(cm.exception.errno, errno.ENODEV)
        os.close(fd)
        self.write("sys/bus/pci/drivers_probe", EDU)
        fd = os.open(self.path("dev/vfio/2"), os.O_RDWR)
        self.assertEqual(os.pread(fd, 64, 0), b"flags=1\n")
        os.close(fd)
        # FUSE sends RELEASE asynchronously: the node is free again shortly after close().
        deadline = time.monotonic() + 5
        while True:
            try:
                os.close(os.open(self.path("dev/vfio/2"), os.O_RDWR))
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def test_chown_recorded(self):
        self.assign(EDU)
        os.chown(self.path("dev/vfio/2"), 4242, 4242)
        st = os.stat(self.path("dev/vfio/2"))
        self.assertEqual((st.st_uid, st.st_gid), (4242, 4242))
        self.assertIn(("/dev/vfio/2", 4242, 4242), self.kernel.chown_log)

    def test_uevent_order(self):
        self.listen()
        self.assign(EDU)
        self.write("sys/bus/pci/drivers/vfio-pci/unbind", EDU)
        got = [(h, e.get("SUBSYSTEM"), e.get("DRIVER")) for h, e in self.events()]
        syspath = "/devices/pci0000:00/0000:00:01.0/" + EDU
        self.assertEqual(got, [
            ("add@/devices/virtual/vfio/2", "vfio", None),
            ("add@%s/vfio-dev/vfio0" % syspath, "vfio-dev", None),
            ("bind@" + syspath, "pci", "vfio-pci"),
            ("remove@%s/vfio-dev/vfio0" % syspath, "vfio-dev", None),
            ("remove@/devices/virtual/vfio/2", "vfio", None),
            ("unbind@" + syspath, "pci", None)])


class Hotplug(SimTestCase):
    def test_vanish(self):
        self.listen()
        self.kernel.remove_device(NIC)
        self.assertFalse(os.path.lexists(self.dev(NIC)))
        self.assertFalse(os.path.lexists(self.path("sys/kernel/iommu_groups/7/devices/" + NIC)))
        self.assertEqual(self.write("sys/bus/pci/drivers_probe", NIC), errno.ENODEV)
        self.assertEqual([h.split("@")[0] for h, _ in self.events()], ["remove", "unbind", "remove"])

    def test_remove_attribute_and_rescan(self):
        self.assertEqual(self.write("sys/bus/pci/devices/%s/remove" % NIC, "1"), 0)
        self.assertFalse(os.path.lexists(self.dev(NIC)))
        self.assertEqual(self.write("sys/bus/pci/rescan", "1"), 0)
        self.assertEqual(self.driver(NIC), "e1000")

    def test_hot_add_into_group(self):
        Builder(self.kernel).edu("0000:05:04.0", BRIDGE, 7)
        members = sorted(os.listdir(self.path("sys/kernel/iommu_groups/7/devices")))
        self.assertEqual(members, [BRIDGE, "0000:05:01.0", NIC, "0000:05:04.0"])
        self.assertTrue(os.readlink(self.dev("0000:05:04.0", "iommu_group")).endswith("/7"))


class Platform(SimTestCase):
    def test_override_is_strcmp(self):
        base = "sys/bus/platform/devices/serial8250/"
        self.assertEqual(os.path.basename(os.readlink(self.path(base + "driver"))), "serial8250")
        self.assertEqual(self.write("sys/bus/platform/drivers/serial8250/unbind", "serial8250"), 0)
        self.assertEqual(self.write(base + "driver_override", "vfio-platform"), 0)
        self.assertEqual(self.write("sys/bus/platform/drivers/serial8250/bind", "serial8250"),
                         errno.ENODEV)
        self.assertEqual(self.write("sys/bus/platform/drivers_probe", "serial8250"), 0)
        self.assertFalse(os.path.lexists(self.path(base + "driver")))
        self.assertEqual(self.write(base + "driver_override", "serial8250"), 0)
        self.assertEqual(self.write("sys/bus/platform/drivers_probe", "serial8250"), 0)
        self.assertTrue(os.path.lexists(self.path(base + "driver")))


class Layout(SimTestCase):
    def test_write_only_attributes(self):
        with self.assertRaises(PermissionError):
            open(self.path("sys/bus/pci/drivers_probe"), "rb")
        with self.assertRaises(PermissionError):
            open(self.dev(NIC, "vendor"), "wb")

    def test_synthetic_uevent(self):
        self.listen()
        self.assertEqual(self.write("sys/bus/pci/devices/%s/uevent" % NIC, "change"), 0)
        self.assertEqual(self.write("sys/bus/pci/devices/%s/uevent" % NIC, "bogus"), errno.EINVAL)
        (header, env), = self.events()
        self.assertTrue(header.startswith("change@/devices/"))
        self.assertEqual(env["DRIVER"], "e1000")

    def test_removed_names_disappear_at_once(self):
        # The kernel caches names; the model must invalidate them before the write returns.
        link = self.dev(NIC, "driver")
        for _ in range(3):
            self.assertTrue(os.path.lexists(link))
            self.write("sys/bus/pci/drivers/e1000/unbind", NIC)
            self.assertFalse(os.path.lexists(link))
            self.assertFalse(os.path.exists(self.path("sys/class/net/ens2")))
            self.write("sys/bus/pci/drivers/e1000/bind", NIC)

    def test_attributes(self):
        self.assertEqual(self.read("sys/bus/pci/devices/%s/vendor" % NIC), "0x8086\n")
        self.assertEqual(self.read("sys/bus/pci/devices/%s/class" % NIC), "0x020000\n")
        uevent = self.read("sys/bus/pci/devices/%s/uevent" % NIC)
        self.assertIn("DRIVER=e1000\n", uevent)
        self.assertIn("PCI_SLOT_NAME=%s\n" % NIC, uevent)
        self.assertEqual(os.path.basename(os.readlink(self.dev(NIC, "subsystem"))), "pci")
        self.assertTrue(os.path.isdir(self.path("sys/bus/platform/devices/serial8250")))
        self.assertIn("swaps", os.listdir(self.path("proc")))


if __name__ == "__main__":
    # A handler of our own before libfuse starts, so SIGTERM (meson's timeout) unwinds and unmounts.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    unittest.main(verbosity=2)
