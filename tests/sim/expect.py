# SPDX-License-Identifier: LGPL-2.1-or-later
"""Assertions the scenarios share: on the simulated kernel's state and on bus replies only."""

import errno
import os

from harness import FUSE_SUPER_MAGIC, ScenarioFailure, check, check_equal, device_path, wait_until

# Devices of the standard machine (simkernel/topology.py) the scenarios use.
EDU = "0000:01:00.0"  # group 2, alone, no host driver
NIC_E = "0000:02:00.0"  # group 4, alone, e1000e, enp2s0
PORT_GROUP = ("0000:00:03.0", "0000:03:00.0")  # group 5: pcieport root port + e1000
BRIDGE = "0000:04:00.0"  # group 7: pcie-pci-bridge (driverless) ...
EDU7 = "0000:05:01.0"  # ... an edu ...
NIC7 = "0000:05:02.0"  # ... and an e1000 (ens2)
EDU9 = "0000:06:00.0"  # group 9, alone
NIC11 = "0000:07:00.0"  # group 11, alone, e1000e
GROUP7 = (BRIDGE, EDU7, NIC7)
VFIO = ("vfio-pci", "vfio-pci")  # (driver, override) of an assigned member


def check_error(reply, name, mentions=None):
    """The call failed with exactly this D-Bus error name (and a message naming `mentions`)."""
    check(not reply.ok, "expected %s, but the call succeeded: %r" % (name, reply))
    check_equal(reply.error, name, "error name (message: %r)" % reply.message)
    if mentions:
        check(mentions in reply.message,
              "error message %r does not mention %r" % (reply.message, mentions))


def check_ok(reply, what):
    check(reply.ok, "%s failed: %r" % (what, reply))


def check_states(sim, expected, what):
    """expected: {device: (driver, override)} as the simulated sysfs shows them now."""
    got = {name: sim.kernel.state(name) for name in expected}
    check_equal(got, dict(expected), what)


def wait_states(sim, expected, what, timeout=10):
    def reached():
        return all(sim.kernel.state(n) == s for n, s in expected.items())
    try:
        wait_until(reached, timeout, what)
    except ScenarioFailure:
        check_states(sim, expected, what)  # fails with the difference


def wait_snapshot(sim, before, what, timeout=10):
    """Every device of the bus and drivers_autoprobe back to `before` (a kernel snapshot)."""
    try:
        wait_until(lambda: sim.kernel.snapshot() == before, timeout, what)
    except ScenarioFailure:
        now = sim.kernel.snapshot()
        diff = {n: (before["devices"].get(n), s) for n, s in now["devices"].items()
                if before["devices"].get(n) != s}
        raise ScenarioFailure("%s: differences (before, now): %r, autoprobe %r -> %r"
                              % (what, diff, before["autoprobe"], now["autoprobe"]))


def check_unchanged(sim, before, what):
    wait_snapshot(sim, before, what, timeout=0)


def group_open(sim, group):
    with sim.kernel.lock:
        g = sim.kernel.groups.get(group)
        return g is not None and g.open_file is not None


def check_group_fd(sim, client, reply, group, device):
    """AssignDevice's reply: (h, o) with the fd on the simulator's /dev/vfio/<group>, viable, and
    the only open of that node. Returns the client's fid."""
    check_ok(reply, "AssignDevice(%s)" % device)
    check_equal(len(reply.fds), 1, "fds in the AssignDevice reply")
    check_equal(reply.value[1], device_path(device), "object path in the reply")
    info = reply.fds[0]
    check_equal(info["fstype"], FUSE_SUPER_MAGIC, "filesystem of the received fd")
    node = sim.group_node(group)
    st = os.stat(node)
    check_equal((info["dev"], info["ino"]), (st.st_dev, st.st_ino),
                "received fd vs %s (dev, ino)" % node)
    check_equal(info.get("content"), "flags=1\n", "group status read through the received fd")
    # vfiod closed its own copy: the client's fd is the one open the kernel allows.
    check(group_open(sim, group), "group %d node is not open after the reply" % group)
    try:
        os.close(os.open(node, os.O_RDWR))
        raise ScenarioFailure("a second open of %s succeeded: the fd is not the holder" % node)
    except OSError as e:
        check_equal(e.errno, errno.EBUSY, "second open of " + node)
    return info["fid"]


def check_fd_dead(client, fid):
    """After release the group is gone: the client's fd reports ENODEV, as the kernel's does."""
    info = client.fdinfo(fid)
    check_equal(info.get("content_errno"), errno.ENODEV, "read on the released group's fd")


def assign_ok(sim, client, device, group, **options):
    return check_group_fd(sim, client, client.assign(device, **options), group, device)


def wait_device_prop(client, device, prop, value, timeout=10):
    try:
        wait_until(lambda: client.device_prop(device, prop) == value, timeout)
    except ScenarioFailure:
        check_equal(client.device_prop(device, prop), value, "%s of %s" % (prop, device))


def wait_uevents_handled(sim):
    """Returns once vfiod has handled every uevent the simulated kernel sent so far. vfiod reads
    them in order from one socket and answers each with PropertiesChanged on the device's object,
    so a synthetic "change" of a device no scenario moves here (the edu of group 9) is a barrier."""
    watcher = sim.client(0)
    watcher.subscribe()
    path = device_path(EDU9)
    with open(sim.path("sys/bus/pci/devices/%s/uevent" % EDU9), "w") as f:
        f.write("change")
    seen = []

    def announced():
        seen.extend(watcher.signals())
        return any(s["member"] == "PropertiesChanged" and s["path"] == path for s in seen)
    wait_until(announced, 10, "vfiod to handle a synthetic change of " + EDU9)
    watcher.close()
