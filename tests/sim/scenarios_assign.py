# SPDX-License-Identifier: LGPL-2.1-or-later
"""Assignments that go right: one device, a whole group with a bridge, a device with no host
driver, and a node handed to another uid."""

import errno
import os

from expect import (BRIDGE, EDU, EDU7, NIC7, NIC_E, PORT_GROUP, VFIO, assign_ok,
                    check_equal, check_group_fd, check_fd_dead, check_ok, check_states, wait_device_prop,
                    wait_snapshot)
from harness import DEVICE, NOBODY, OTHER_UID, check, device_path, wait_until
from registry import scenario


@scenario("single-device")
def single_device(sim):
    """An unprivileged client (polkit allows assign) moves the e1000e alone in group 4."""
    before = sim.kernel.snapshot()
    client = sim.client(NOBODY)
    fid = assign_ok(sim, client, NIC_E, 4)
    check_states(sim, {NIC_E: VFIO}, "after assign")
    check(not os.path.exists(sim.path("sys/class/net/enp2s0")), "enp2s0 still exists")
    check_equal(sim.kernel.snapshot()["autoprobe"], True, "drivers_autoprobe after assign")
    check(any("org.vfiod1.assign" in line for line in sim.polkit_checks()),
          "vfiod did not ask polkit for org.vfiod1.assign")
    check_equal(client.device_prop(NIC_E, "State"), "assigned", "State")
    check_equal(client.device_prop(NIC_E, "Owner"), client.name, "Owner")
    check_equal(client.device_prop(NIC_E, "OwnerUid"), 0xFFFFFFFF, "OwnerUid (no owner-uid given)")
    check_equal(client.device_prop(NIC_E, "Driver"), "vfio-pci", "Driver property")

    check_ok(client.release(NIC_E), "ReleaseDevice")
    wait_snapshot(sim, before, "after release")
    check(os.path.exists(sim.path("sys/class/net/enp2s0")), "enp2s0 did not come back")
    check(not os.path.exists(sim.group_node(4)), "/dev/vfio/4 still exists after release")
    check_fd_dead(client, fid)
    check_equal(client.device_prop(NIC_E, "State"), "host", "State after release")


@scenario("changed-during-authorization")
def changed_during_authorization(sim):
    """While polkit is still deciding, the NIC's interface goes up: once authorized, vfiod must
    refuse on what the kernel shows then (the plan from before authorization said assignable),
    write nothing, and assign once the interface is down again. Root callers skip polkit and are
    covered by every other scenario."""
    before = sim.kernel.snapshot()
    polkit = ("/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.DBus.Mock")
    check_ok(sim.root.call(*polkit, "SimulateHangActions", "(as)", [["org.vfiod1.assign"]],
                           dest="org.freedesktop.PolicyKit1"), "SimulateHangActions")
    client = sim.client(NOBODY)
    call = client.start_assign(NIC_E)
    wait_until(lambda: sim.root.call(*polkit, "HaveHangingCalls", "()", [],
                                     dest="org.freedesktop.PolicyKit1").value[0] > 0,
               10, "vfiod asking polkit")
    sim.kernel.set_netdev_up(NIC_E, True)
    check_ok(sim.root.call(*polkit, "SimulateHangActions", "(as)", [[]],
                           dest="org.freedesktop.PolicyKit1"), "SimulateHangActions off")
    check_ok(sim.root.call(*polkit, "ReleaseHangingCalls", "()", [],
                           dest="org.freedesktop.PolicyKit1"), "ReleaseHangingCalls")
    reply = client.wait(call, timeout=15)
    check(not reply.ok and reply.error.startswith("org.vfiod1.Error."),
          "assigning a NIC that went up during authorization: %r" % reply)
    check("enp2s0" in reply.message, "the error does not name enp2s0: %r" % reply.message)
    sim.kernel.set_netdev_up(NIC_E, False)
    wait_snapshot(sim, before, "after the refused assignment", timeout=0)
    assign_ok(sim, client, NIC_E, 4)
    check_ok(client.release(NIC_E), "ReleaseDevice")
    wait_snapshot(sim, before, "after release")


@scenario("multi-device-group")
def multi_device_group(sim):
    """Group 7: a driverless pcie-pci-bridge (stays), an edu and an e1000 (move). Group 5: a
    pcieport root port (stays) and an e1000 (moves)."""
    before = sim.kernel.snapshot()
    root = sim.root
    plan = root.plan(NIC7)
    check_ok(plan, "PlanAssignment")
    steps, warnings, blockers = plan.value
    check_equal(blockers, [], "plan blockers")
    by_action = {}
    for action, device, _detail in steps:
        by_action.setdefault(action, set()).add(device)
    check_equal(by_action.get("fence"), {EDU7, NIC7}, "devices the plan fences")
    check(BRIDGE in by_action.get("keep", set()), "plan does not keep the bridge: %r" % steps)
    check(BRIDGE not in by_action.get("unbind", set()) | by_action.get("probe", set()),
          "plan moves the bridge: %r" % steps)
    wait_snapshot(sim, before, "after PlanAssignment (a dry run)", timeout=0)

    watcher = sim.client(0)
    watcher.subscribe()
    fid = assign_ok(sim, root, NIC7, 7)
    check_states(sim, {BRIDGE: (None, None), EDU7: VFIO, NIC7: VFIO}, "group 7 assigned")
    peers = root.device_prop(NIC7, "GroupPeers")
    check_equal(set(peers) - {device_path(NIC7)}, {device_path(BRIDGE), device_path(EDU7)},
                "GroupPeers of " + NIC7)
    # The announcements of one pass share one listing of the group: each member's signal still
    # names the other two, never itself. The last full announcement of a member that moved
    # shows what a read shows.
    group7 = {BRIDGE, EDU7, NIC7}
    announced, last = {}, {}

    def peers_announced():
        for s in watcher.signals():
            if s["member"] != "PropertiesChanged" or s["args"][0] != DEVICE:
                continue
            if "GroupPeers" in s["args"][1]:
                announced[s["path"]] = set(s["args"][1]["GroupPeers"])
            if "State" in s["args"][1]:
                last[s["path"]] = s["args"][1]
        return (all(device_path(d) in announced for d in group7)
                and all(last.get(device_path(d), {}).get("State") == "assigned"
                        for d in (EDU7, NIC7))) or None
    wait_until(peers_announced, 10, "group 7 announced as assigned, with GroupPeers")
    for dev in group7:
        check_equal(announced[device_path(dev)], {device_path(d) for d in group7 - {dev}},
                    "GroupPeers announced for " + dev)
    for dev in (EDU7, NIC7):
        for prop in ("Driver", "DriverOverride", "IommuGroup", "Owner", "OwnerUid"):
            check_equal(last[device_path(dev)][prop], root.device_prop(dev, prop),
                        "%s announced for %s" % (prop, dev))
    watcher.close()
    for dev in (EDU7, NIC7):
        check_equal(root.device_prop(dev, "State"), "assigned", "State of " + dev)
    check_ok(root.release(EDU7), "ReleaseDevice through another member")
    wait_snapshot(sim, before, "group 7 after release")
    check(os.path.exists(sim.path("sys/class/net/ens2")), "ens2 did not come back")
    check_fd_dead(root, fid)

    port, nic = PORT_GROUP
    assign_ok(sim, root, nic, 5)
    check_states(sim, {port: ("pcieport", None), nic: VFIO}, "group 5 assigned")
    check_ok(root.release(nic), "ReleaseDevice group 5")
    wait_snapshot(sim, before, "group 5 after release")


@scenario("no-host-driver")
def no_host_driver(sim):
    """The edu has no host driver: nothing to unbind, and after release it is back unbound with
    no override left behind (not fenced by accident)."""
    before = sim.kernel.snapshot()
    client = sim.client(NOBODY)
    fid = assign_ok(sim, client, EDU, 2)
    check_states(sim, {EDU: VFIO}, "after assign")
    check_ok(client.release(EDU), "ReleaseDevice")
    wait_snapshot(sim, before, "after release")
    check_states(sim, {EDU: (None, None)}, "edu after release")
    check_fd_dead(client, fid)
    check_equal(client.device_prop(EDU, "DriverOverride"), "", "DriverOverride after release")


@scenario("owner-uid")
def owner_uid(sim):
    """owner-uid chowns the group node so a program of that uid can open it itself (QEMU under
    libvirt); the fd of the reply is closed first because the kernel allows one open."""
    before = sim.kernel.snapshot()
    root = sim.root
    reply = root.assign(EDU, lifetime="persistent", owner_uid=("u", OTHER_UID))
    fid = check_group_fd(sim, root, reply, 2, EDU)
    node = sim.group_node(2)
    check_equal(os.stat(node).st_uid, OTHER_UID, "owner of " + node)
    check(any(p == "/dev/vfio/2" and uid == OTHER_UID for p, uid, _ in sim.kernel.chown_log),
          "no chown of /dev/vfio/2 to %d recorded: %r" % (OTHER_UID, sim.kernel.chown_log))
    check_equal(root.device_prop(EDU, "OwnerUid"), OTHER_UID, "OwnerUid")
    root.close_fd(fid)
    wait_until(lambda: not sim.kernel.groups[2].open_file, 5, "the node to be closed")

    stranger = sim.client(NOBODY)
    check_equal(stranger.open(node)["errno"], errno.EACCES, "open by uid %d" % NOBODY)
    owner = sim.client(OTHER_UID)
    opened = owner.open(node)
    check_equal(opened["errno"], 0, "open by the owner uid %d" % OTHER_UID)
    check_equal(opened["info"]["content"], "flags=1\n", "status through the owner's own fd")
    owner.close_fd(opened["info"]["fid"])

    check_ok(root.release(EDU), "ReleaseDevice")
    wait_snapshot(sim, before, "after release")
    wait_device_prop(root, EDU, "State", "host")


@scenario("holder-refused")
def holder_refused(sim):
    """A NIC whose interface is up is in use: the plan names it as a blocker, the assignment is
    refused with a named error before anything is written, and works once it is down."""
    before = sim.kernel.snapshot()
    sim.kernel.set_netdev_up(NIC_E, True)
    plan = sim.root.plan(NIC_E)
    check_ok(plan, "PlanAssignment")
    blockers = plan.value[2]
    check(any("enp2s0" in b for b in blockers), "no blocker names enp2s0: %r" % (blockers,))
    reply = sim.root.assign(NIC_E)
    check(not reply.ok and reply.error.startswith("org.vfiod1.Error."),
          "assigning a NIC that is up: %r" % reply)
    check("enp2s0" in reply.message, "the error does not name enp2s0: %r" % reply.message)
    wait_snapshot(sim, before, "after the refused assignment", timeout=0)
    sim.kernel.set_netdev_up(NIC_E, False)
    assign_ok(sim, sim.root, NIC_E, 4)
    check_ok(sim.root.release(NIC_E), "ReleaseDevice")
    wait_snapshot(sim, before, "after release")
