# SPDX-License-Identifier: LGPL-2.1-or-later
"""Assignments the kernel makes hard: a failing probe, a hanging unbind, a concurrent second
group, devices appearing in an assigned group (hot-added, probed late, or re-announced by
`udevadm trigger`), and vfiod killed half-way."""

import errno
import signal
import threading
import time

from expect import (BRIDGE, EDU, EDU7, EDU9, NIC7, NIC11, NIC_E, PORT_GROUP, VFIO, assign_ok,
                    check_error, check_group_fd, check_ok, check_states, wait_device_prop,
                    wait_snapshot, wait_states, wait_uevents_handled)
from harness import (DEVICE, MANAGER, MANAGER_PATH, NOBODY, PROPS, ScenarioFailure, check, check_equal,
                     device_path, wait_until)
from registry import scenario
from simkernel.topology import E1000, Builder


@scenario("failed-probe-rollback")
def failed_probe_rollback(sim):
    """vfio-pci's probe of the e1000 in group 7 fails. drivers_probe still returns success, so
    only re-reading the driver link shows it; every member must end exactly as before, including
    a foreign override the edu carried, and autoprobe must be back on."""
    sim.kernel.device(EDU7).override = "pci-stub"  # set at boot, e.g. by a udev rule
    before = sim.kernel.snapshot()
    sim.kernel.fail_probe(NIC7, "vfio-pci", errno.EIO)
    reply = sim.root.assign(EDU7)
    check_error(reply, "org.vfiod1.Error.RolledBack", mentions=NIC7)
    wait_snapshot(sim, before, "after the failed assignment", timeout=0)
    check(not sim.kernel.groups[7].node, "/dev/vfio/7 left behind")
    check(sim.vfiod_alive(), "vfiod died")
    check_equal(sim.root.device_prop(NIC7, "State"), "host", "State after rollback")
    check_equal(sim.root.device_prop(EDU7, "DriverOverride"), "pci-stub", "edu's override")


@scenario("hung-unbind-timeout")
def hung_unbind_timeout(sim):
    """The e1000e's unbind blocks in the kernel. The caller gets Timeout while the write is still
    blocked, other callers are answered meanwhile, and once the kernel lets go everything is back
    where it started."""
    before = sim.kernel.snapshot()
    hang = sim.kernel.hang_unbind(NIC_E)
    watcher = sim.client(0)
    watcher.subscribe()
    client = sim.client(NOBODY)
    call = client.start_assign(NIC_E, timeout_ms=("u", 1500))
    check(hang.entered.wait(10), "vfiod never unbound " + NIC_E)
    # Changes are announced when the loop is idle, and it is while the unbind waits.
    seen = []

    def announced_assigning():
        seen.extend(watcher.signals())
        return any(s["member"] == "PropertiesChanged" and s["path"] == device_path(NIC_E)
                   and s["args"][1].get("State") == "assigning" for s in seen)
    wait_until(announced_assigning, 5, "State assigning announced while the unbind hangs")

    other = sim.client(NOBODY)
    check(other.get(MANAGER_PATH, MANAGER, "Version"), "Version while the unbind hangs")
    check_ok(other.call(MANAGER_PATH, MANAGER, "ListDevices"), "ListDevices while it hangs")
    check_ok(other.plan(EDU), "PlanAssignment of another group while it hangs")
    # The device itself is locked by the kernel while its unbind runs: vfiod answers for it
    # without reading what would wait for that lock.
    check_equal(other.device_prop(NIC_E, "State"), "assigning", "State while its unbind hangs")
    check_ok(other.call(device_path(NIC_E), PROPS, "GetAll", "(s)", [DEVICE]),
             "GetAll of the device whose unbind hangs")

    reply = client.wait(call, timeout=15)
    check_error(reply, "org.vfiod1.Error.Timeout", mentions=NIC_E)
    check(not hang.finished.is_set(), "the unbind is no longer blocked: the test lost its point")
    wait_until(lambda: sim.kernel.snapshot()["autoprobe"], 5,
               "drivers_autoprobe back on after the failed transaction")
    check_ok(other.call(MANAGER_PATH, MANAGER, "ListDevices"), "ListDevices after the Timeout")
    # Meanwhile vfiod refuses to start anything on the stuck group.
    check(not other.assign(NIC_E).ok, "a second assignment of the stuck group succeeded")

    hang.release()
    wait_snapshot(sim, before, "after the hung unbind finally returned", timeout=15)
    check(not sim.kernel.groups[4].node, "/dev/vfio/4 left behind")
    wait_device_prop(other, NIC_E, "State", "host")


@scenario("hung-probe-timeout")
def hung_probe_timeout(sim):
    """vfio-pci's probe of the edu blocks in the kernel. The probe runs in a worker, so vfiod
    answers others meanwhile (the edu included, without waiting for its lock); the caller gets
    Timeout; when the probe finally returns, the device goes back to where it was."""
    before = sim.kernel.snapshot()
    hang = sim.kernel.hang_probe(EDU, "vfio-pci")
    client = sim.client(NOBODY)
    call = client.start_assign(EDU, timeout_ms=("u", 1500))
    check(hang.entered.wait(10), "vfiod never probed " + EDU)

    other = sim.client(NOBODY)
    check(other.get(MANAGER_PATH, MANAGER, "Version"), "Version while the probe hangs")
    check_equal(other.device_prop(EDU, "State"), "assigning", "State while its probe hangs")
    check_ok(other.plan(NIC_E), "PlanAssignment of another group while the probe hangs")

    reply = client.wait(call, timeout=15)
    check_error(reply, "org.vfiod1.Error.Timeout", mentions=EDU)
    check(not hang.finished.is_set(), "the probe is no longer blocked: the test lost its point")
    check(not other.assign(EDU).ok, "a second assignment of the group with the stuck probe succeeded")

    hang.release()
    wait_snapshot(sim, before, "after the hung probe finally returned", timeout=15)
    check(not sim.kernel.groups[2].node, "/dev/vfio/2 left behind")
    wait_device_prop(other, EDU, "State", "host")
    check(sim.vfiod_alive(), "vfiod died")


@scenario("hung-release-timeout", config="[Daemon]\nUnbindTimeoutMs=1500\n")
def hung_release_timeout(sim):
    """The realistic hang: vfio-pci's unbind waits while a program still holds a device fd. The
    release reports Timeout (config UnbindTimeoutMs), vfiod keeps answering, and when the kernel
    finally lets go the device goes back to its host driver."""
    before = sim.kernel.snapshot()
    root = sim.root
    assign_ok(sim, root, NIC_E, 4, lifetime="persistent")
    hang = sim.kernel.hang_unbind(NIC_E)
    call = root.start_call(MANAGER_PATH, MANAGER, "ReleaseDevice", "(s)", [NIC_E])
    check(hang.entered.wait(10), "vfiod never unbound " + NIC_E)
    other = sim.client(NOBODY)
    check_ok(other.call(MANAGER_PATH, MANAGER, "ListDevices"), "ListDevices while it hangs")
    check_error(root.wait(call, timeout=15), "org.vfiod1.Error.Timeout", mentions=NIC_E)
    check(not hang.finished.is_set(), "the unbind is no longer blocked: the test lost its point")
    check_ok(other.call(MANAGER_PATH, MANAGER, "ListDevices"), "ListDevices after the Timeout")
    check_ok(other.plan(EDU), "PlanAssignment of another group after the Timeout")
    hang.release()
    wait_snapshot(sim, before, "after the hung unbind finally returned", timeout=15)
    wait_device_prop(other, NIC_E, "State", "host")


@scenario("hung-rebind-on-release", config="[Daemon]\nUnbindTimeoutMs=1500\n")
def hung_rebind_on_release(sim):
    """The host driver's probe hangs when the release binds it back (a GPU driver can take
    seconds). The bind runs in a worker: vfiod answers meanwhile, the device's State included.
    The release reports Busy naming the device; once the probe returns, the group is back on
    the host driver and vfiod lets it go."""
    before = sim.kernel.snapshot()
    root = sim.root
    assign_ok(sim, root, NIC_E, 4, lifetime="persistent")
    hang = sim.kernel.hang_probe(NIC_E, "e1000e")
    call = root.start_call(MANAGER_PATH, MANAGER, "ReleaseDevice", "(s)", [NIC_E])
    check(hang.entered.wait(10), "vfiod never bound %s back to e1000e" % NIC_E)

    other = sim.client(NOBODY)
    check(other.get(MANAGER_PATH, MANAGER, "Version"), "Version while the rebind hangs")
    check_equal(other.device_prop(NIC_E, "State"), "releasing", "State while its rebind hangs")
    check_ok(other.plan(EDU), "PlanAssignment of another group while the rebind hangs")

    check_error(root.wait(call, timeout=15), "org.vfiod1.Error.Busy", mentions=NIC_E)
    check(not hang.finished.is_set(), "the probe is no longer blocked: the test lost its point")
    hang.release()
    wait_snapshot(sim, before, "after the hung rebind finally returned", timeout=15)
    wait_device_prop(other, NIC_E, "State", "host")
    check(sim.vfiod_alive(), "vfiod died")


@scenario("concurrent-groups")
def concurrent_groups(sim):
    """Two groups at once. The hotplug window (drivers_autoprobe off) is reference-counted: while
    the first transaction is stuck in its unbind, the second completes and autoprobe stays off
    until the first one finishes too."""
    before = sim.kernel.snapshot()
    a, b = sim.client(NOBODY), sim.client(0)
    hang = sim.kernel.hang_unbind(NIC11)
    slow = b.start_assign(NIC11, timeout_ms=("u", 30000))
    check(hang.entered.wait(10), "vfiod never unbound " + NIC11)
    check_equal(sim.kernel.snapshot()["autoprobe"], False, "autoprobe during the transaction")

    fid_a = assign_ok(sim, a, EDU9, 9)
    check_equal(sim.kernel.snapshot()["autoprobe"], False,
                "autoprobe after the second group finished while the first is still running")
    hang.release()
    check_group_fd(sim, b, b.wait(slow), 11, NIC11)
    check_states(sim, {EDU9: VFIO, NIC11: VFIO}, "both groups assigned")
    check_equal(sim.kernel.snapshot()["autoprobe"], True, "autoprobe after both finished")

    # And two at the very same time, without help.
    c1, c2 = a.start_assign(EDU), b.start_assign(NIC_E)
    check_group_fd(sim, a, a.wait(c1), 2, EDU)
    check_group_fd(sim, b, b.wait(c2), 4, NIC_E)
    check_equal(a.fdinfo(fid_a)["content"], "flags=1\n", "first fd still valid")

    r1 = a.start_call(MANAGER_PATH, MANAGER, "ReleaseDevice", "(s)", [EDU9])
    r2 = b.start_call(MANAGER_PATH, MANAGER, "ReleaseDevice", "(s)", [NIC11])
    check_ok(a.wait(r1), "release group 9")
    check_ok(b.wait(r2), "release group 11")
    check_ok(a.release(EDU), "release group 2")
    check_ok(b.release(NIC_E), "release group 4")
    wait_snapshot(sim, before, "after all releases")


HOT_ADDED = "0000:05:03.0"  # an e1000 hot-added behind the bridge of group 7


def wait_newcomer_assigned(sim, name):
    """A device that appeared in an assigned group ends fenced AND bound to vfio-pci: vfiod
    probes it once no host driver holds it. Waiting for less is not enough: while a host driver's
    unbind runs, the driver link is already gone but the driver still owns the device's DMA (the
    group is not viable), exactly as in the kernel."""
    try:
        wait_until(lambda: sim.kernel.state(name) == VFIO, 10)
    except ScenarioFailure:
        raise ScenarioFailure("hot-added %s not fenced and bound to vfio-pci: (driver, override)"
                              " = %r" % (name, sim.kernel.state(name)))


def check_group7_with_newcomer(sim, client):
    check_states(sim, {EDU7: VFIO, NIC7: VFIO, BRIDGE: (None, None)}, "the original members")
    check_equal(sim.kernel.group_flags(sim.kernel.groups[7]), 1, "group 7 viability")
    check_equal(client.device_prop(HOT_ADDED, "State"), "assigned", "State of the newcomer")


def release_group7_with_newcomer(sim, client):
    """Release hands the newcomer to the kernel's probe (it never had a driver of ours to return
    to): it gets its host driver, as if it had just appeared on a host that owns the group."""
    check_ok(client.release(EDU7), "ReleaseDevice")
    wait_states(sim, {EDU7: (None, None), NIC7: ("e1000", None), BRIDGE: (None, None),
                      HOT_ADDED: ("e1000", None)}, "group 7 after release")
    check_equal(sim.kernel.snapshot()["autoprobe"], True, "drivers_autoprobe after release")


@scenario("hot-add-fenced")
def hot_add_fenced(sim):
    """A device hot-added into an assigned group gets the host driver at once (autoprobe is on
    again); vfiod must fence it: override vfio-pci, the host driver taken back, the group
    viable."""
    root = sim.root
    assign_ok(sim, root, EDU7, 7, lifetime="persistent")
    Builder(sim.kernel).nic(HOT_ADDED, E1000, "ens3", BRIDGE, 7)
    wait_newcomer_assigned(sim, HOT_ADDED)
    check_group7_with_newcomer(sim, root)
    release_group7_with_newcomer(sim, root)


@scenario("hot-add-late-probe")
def hot_add_late_probe(sim):
    """The kernel's first probe of a hot-added device runs while vfiod handles its add event:
    vfiod has read the driver link (none yet), then waits for the device lock (reading
    driver_override) that the probe holds while it binds e1000. Fencing after that is too late
    for this probe, and drivers_probe leaves a bound device alone: vfiod must see the host driver
    that arrived meanwhile and take it back."""
    root = sim.root
    assign_ok(sim, root, EDU7, 7, lifetime="persistent")
    # Whatever vfiod still does for the assignment's own events must not be what meets the
    # probe below: only its handling of the newcomer's add.
    wait_uevents_handled(sim)
    Builder(sim.kernel).nic(HOT_ADDED, E1000, "ens3", BRIDGE, 7, probe=False)
    check_equal(sim.kernel.probe_late(HOT_ADDED), "e1000", "driver of the late first probe")
    wait_newcomer_assigned(sim, HOT_ADDED)
    check_group7_with_newcomer(sim, root)
    release_group7_with_newcomer(sim, root)


@scenario("synthetic-add-changes-nothing")
def synthetic_add_changes_nothing(sim):
    """`udevadm trigger` sends an "add" for every device already there. For the members of
    assigned groups that is no hot-add: the bridges vfiod keeps (a root port on pcieport, a
    driverless pcie-pci-bridge) stay as they are, the moved members stay assigned."""
    before = sim.kernel.snapshot()
    root = sim.root
    port, nic = PORT_GROUP
    assign_ok(sim, root, nic, 5, lifetime="persistent")
    assign_ok(sim, root, EDU7, 7, lifetime="persistent")
    for name in (port, nic, BRIDGE, EDU7, NIC7):
        with open(sim.path("sys/bus/pci/devices/%s/uevent" % name), "w") as f:
            f.write("add")
    # vfiod handles uevents in order: once a real newcomer after them is fenced and bound, the
    # synthetic ones were handled too.
    Builder(sim.kernel).nic(HOT_ADDED, E1000, "ens3", BRIDGE, 7)
    wait_newcomer_assigned(sim, HOT_ADDED)
    check_states(sim, {port: ("pcieport", None), nic: VFIO, BRIDGE: (None, None), EDU7: VFIO,
                       NIC7: VFIO}, "members after the synthetic add events")
    for name in (port, BRIDGE):
        check_equal(root.device_prop(name, "State"), "host", "State of the bridge " + name)
    check_ok(root.release(nic), "ReleaseDevice group 5")
    release_group7_with_newcomer(sim, root)
    before["devices"][HOT_ADDED] = ("e1000", None)
    wait_snapshot(sim, before, "after both releases")


@scenario("killed-mid-transaction")
def killed_mid_transaction(sim):
    """vfiod is SIGKILLed while the e1000 of group 7 is being unbound (the edu already fenced,
    autoprobe off). The unbind then completes in the kernel. The restarted vfiod must roll the
    unfinished transaction back: every member and autoprobe as before."""
    before = sim.kernel.snapshot()
    hang = sim.kernel.hang_unbind(NIC7)
    call = sim.root.start_assign(EDU7, timeout_ms=("u", 60000))
    check(hang.entered.wait(10), "vfiod never unbound " + NIC7)
    check_equal(sim.kernel.state(EDU7)[1], "vfio-pci", "edu fenced before the unbind")
    sim.vfiod.send_signal(signal.SIGKILL)
    hang.release()  # a killed process stuck in a sysfs write only dies once the write returns
    sim.stop_vfiod(signal.SIGKILL)
    check(not sim.root.wait(call).ok, "the interrupted AssignDevice succeeded")
    check(sim.kernel.snapshot() != before, "nothing had changed before the kill: not mid-way")

    sim.start_vfiod()
    wait_snapshot(sim, before, "after restart (rollback of the unfinished transaction)")
    check(not sim.kernel.groups[7].node, "/dev/vfio/7 left behind")
    for dev in (EDU7, NIC7):
        wait_device_prop(sim.root, dev, "State", "host")



def answered_quickly(client, path, iface, method, sig="", args=(), what=""):
    """A call vfiod must answer although a device's unbind is stuck: a main loop that read that
    device's driver_override would wait for the device lock and never answer."""
    reply = client.wait(client.start_call(path, iface, method, sig, args), timeout=5)
    check(reply.ok, "%s failed: %r" % (what or method, reply))
    return reply.value


@scenario("restart-during-stuck-unbind", config="[Daemon]\nUnbindTimeoutMs=60000\n")
def restart_during_stuck_unbind(sim):
    """vfiod is SIGKILLed while releasing group 7, after unbinding one member. The other member's
    unbind from vfio-pci is then started by someone else and blocks in vfio-pci's remove, as when
    a program keeps its device fd open (the kernel holds the device lock; on 6.1 reading
    driver_override waits for it). The restarted vfiod must come up and answer at once for that
    device and the others without touching it, and finish the release once the kernel lets go."""
    before = sim.kernel.snapshot()
    assign_ok(sim, sim.root, NIC7, 7, lifetime="persistent")
    hangs = {dev: sim.kernel.hang_unbind(dev) for dev in (EDU7, NIC7)}
    call = sim.root.start_call(MANAGER_PATH, MANAGER, "ReleaseDevice", "(s)", [NIC7])
    wait_until(lambda: any(h.entered.is_set() for h in hangs.values()), 10,
               "vfiod unbinding a member of group 7")
    ours = EDU7 if hangs[EDU7].entered.is_set() else NIC7
    stuck = NIC7 if ours == EDU7 else EDU7
    sim.vfiod.send_signal(signal.SIGKILL)
    hangs[ours].release()  # a killed process stuck in a sysfs write only dies once it returns
    sim.stop_vfiod(signal.SIGKILL)
    check(not sim.root.wait(call).ok, "the interrupted ReleaseDevice succeeded")
    check_equal(sim.kernel.state(stuck), VFIO, stuck + " still assigned when vfiod died")

    vfio_pci = sim.kernel.buses["pci"].drivers["vfio-pci"]
    unbind = threading.Thread(target=sim.kernel.write_unbind,
                              args=(vfio_pci, stuck.encode()), daemon=True)
    unbind.start()
    check(hangs[stuck].entered.wait(10), "the foreign unbind of %s never started" % stuck)

    started = time.monotonic()
    sim.start_vfiod()
    check(time.monotonic() - started < 10, "vfiod took %.1fs to start while %s's unbind was "
          "stuck" % (time.monotonic() - started, stuck))
    other = sim.client(NOBODY)
    for dev in (stuck, ours, NIC_E):
        answered_quickly(other, device_path(dev), PROPS, "GetAll", "(s)", [DEVICE],
                         "GetAll of " + dev)
        answered_quickly(other, device_path(dev), "org.freedesktop.DBus.Introspectable",
                         "Introspect", what="Introspect of " + dev)
    answered_quickly(other, MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                     "GetManagedObjects")
    check_equal(other.device_prop(stuck, "State"), "releasing", "State of " + stuck)
    blockers = answered_quickly(other, MANAGER_PATH, MANAGER, "PlanAssignment", "(sa{sv})",
                                [stuck, {}], "PlanAssignment of " + stuck)[2]
    check(any("still waiting for a program to close its VFIO device fd" in b for b in blockers),
          "no blocker names the pending unbind: %r" % (blockers,))
    check(not hangs[stuck].finished.is_set(), "the unbind is no longer blocked: the test lost "
          "its point")
    check_equal(sim.kernel.state(stuck), (None, "vfio-pci"), stuck + " while its unbind hangs")

    hangs[stuck].release()
    unbind.join(10)
    wait_snapshot(sim, before, "after the stuck unbind returned", timeout=15)
    check(not sim.kernel.groups[7].node, "/dev/vfio/7 left behind")
    for dev in (EDU7, NIC7):
        wait_device_prop(other, dev, "State", "host")


@scenario("device-vanishes")
def device_vanishes(sim):
    """A member of an assigned group is hot-unplugged. vfiod keeps serving, forgets the device,
    and releasing the group restores the members that are still there."""
    client = sim.client(NOBODY)
    assign_ok(sim, client, NIC7, 7)
    sim.kernel.remove_device(EDU7)
    wait_until(lambda: device_path(EDU7) not in client.call(
        MANAGER_PATH, MANAGER, "ListDevices").value[0], 10, EDU7 + " to leave ListDevices")
    check_states(sim, {NIC7: VFIO, BRIDGE: (None, None)}, "the members left")
    check_ok(client.release(NIC7), "ReleaseDevice after a member vanished")
    wait_states(sim, {NIC7: ("e1000", None), BRIDGE: (None, None)}, "after release")
    check_equal(sim.kernel.snapshot()["autoprobe"], True, "drivers_autoprobe")
    check(not sim.kernel.groups[7].node, "/dev/vfio/7 left behind")
