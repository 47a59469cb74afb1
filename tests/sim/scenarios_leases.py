# SPDX-License-Identifier: LGPL-2.1-or-later
"""Who holds an assignment, for how long, and who may end it; across daemon restarts too."""

import signal
import socket
import subprocess
import time

from expect import (EDU, EDU7, EDU9, NIC7, NIC_E, VFIO, assign_ok, check_error, check_group_fd,
                    check_ok, check_states, check_unchanged, wait_device_prop, wait_snapshot,
                    wait_states)
from harness import NOBODY, OTHER_UID, check, check_equal, wait_until
from registry import scenario

DENIED = "org.freedesktop.DBus.Error.AccessDenied"


def wait_name_gone(watcher, name):
    """Until the bus has announced that `name` left (so vfiod has been told as well)."""
    def gone():
        return any(s["member"] == "NameOwnerChanged" and s["args"][0] == name
                   and s["args"][2] == "" for s in watcher.signals())
    wait_until(gone, 10, "the bus to announce that %s left" % name)


@scenario("client-disconnect")
def client_disconnect(sim):
    """A client lease ends with its connection: killed client, group 7 back on host drivers."""
    before = sim.kernel.snapshot()
    client = sim.client(NOBODY)
    assign_ok(sim, client, NIC7, 7)
    check_states(sim, {EDU7: VFIO, NIC7: VFIO}, "after assign")
    client.kill()
    wait_snapshot(sim, before, "after the client died")
    wait_until(lambda: not sim.kernel.groups[7].node, 5, "/dev/vfio/7 to go")
    wait_device_prop(sim.root, NIC7, "State", "host")


@scenario("persistent-outlives-client")
def persistent_outlives_client(sim):
    before = sim.kernel.snapshot()
    watcher = sim.client(0)
    watcher.subscribe()
    client = sim.client(NOBODY)
    assign_ok(sim, client, NIC_E, 4, lifetime="persistent")
    name = client.name
    client.kill()
    wait_name_gone(watcher, name)
    check_equal(watcher.device_prop(NIC_E, "State"), "assigned", "State after the client left")
    time.sleep(0.5)  # room for a wrong release to happen
    check_states(sim, {NIC_E: VFIO}, "persistent lease after its client left")
    check_ok(sim.root.release(NIC_E), "ReleaseDevice by root")
    wait_snapshot(sim, before, "after release")


@scenario("release-by-other-denied", polkit_allowed=("org.vfiod1.assign",))
def release_by_other_denied(sim):
    """Another unprivileged user may not end someone's lease (no release-any for them)."""
    owner, other = sim.client(NOBODY), sim.client(OTHER_UID)
    fid = assign_ok(sim, owner, EDU, 2)
    check_error(other.release(EDU), DENIED)
    check_states(sim, {EDU: VFIO}, "after the denied release")
    check_equal(other.device_prop(EDU, "Owner"), owner.name, "Owner after the denied release")
    check_equal(owner.fdinfo(fid)["content"], "flags=1\n", "owner's fd after the denied release")
    check_ok(owner.release(EDU), "ReleaseDevice by the owner")
    wait_states(sim, {EDU: (None, None)}, "after the owner's release")


@scenario("polkit-denied", polkit_allowed=())
def polkit_denied(sim):
    """polkit says no: AccessDenied from vfiod (not from the bus policy), and nothing changed."""
    before = sim.kernel.snapshot()
    client = sim.client(NOBODY)
    reply = client.assign(NIC7)
    check_error(reply, DENIED)
    check("Rejected send message" not in reply.message, "the bus refused, not vfiod: %r" % reply)
    check(any("org.vfiod1.assign" in line for line in sim.polkit_checks()),
          "vfiod did not ask polkit")
    check_unchanged(sim, before, "after the denied assignment")
    check_equal(client.device_prop(NIC7, "State"), "host", "State")
    check(not sim.kernel.groups[7].node, "/dev/vfio/7 exists")


@scenario("double-assign-busy", polkit_allowed=("org.vfiod1.assign",))
def double_assign_busy(sim):
    """A group belongs to one lease: the same device, another member of the group, from another
    user or from root, is Busy, and the holder's fd stays good."""
    a, b = sim.client(NOBODY), sim.client(OTHER_UID)
    fid = assign_ok(sim, a, EDU7, 7)
    held = sim.kernel.snapshot()
    check_error(b.assign(EDU7), "org.vfiod1.Error.Busy")
    check_error(b.assign(NIC7), "org.vfiod1.Error.Busy")
    check_error(sim.root.assign(NIC7), "org.vfiod1.Error.Busy")
    check_error(a.assign(EDU7), "org.vfiod1.Error.Busy")
    check_unchanged(sim, held, "after the refused assignments")
    check_equal(a.fdinfo(fid)["content"], "flags=1\n", "holder's fd")
    check_ok(a.release(EDU7), "release")


def restart_and_readopt(sim, device, sig):
    sim.stop_vfiod(sig)
    check_states(sim, {device: VFIO}, "while vfiod is down")
    sim.start_vfiod()
    wait_device_prop(sim.root, device, "State", "assigned")
    check_states(sim, {device: VFIO}, "after restart")


@scenario("restart-readopt-persistent")
def restart_readopt_persistent(sim):
    """A persistent assignment survives a clean restart and a SIGKILL, is re-adopted (State
    assigned, release works) and released exactly."""
    before = sim.kernel.snapshot()
    root = sim.root
    fid = assign_ok(sim, root, NIC_E, 4, lifetime="persistent")
    root.close_fd(fid)
    restart_and_readopt(sim, NIC_E, signal.SIGTERM)
    restart_and_readopt(sim, NIC_E, signal.SIGKILL)
    check_error(sim.client(NOBODY).assign(NIC_E), "org.vfiod1.Error.Busy")
    check_ok(root.release(NIC_E), "ReleaseDevice after restarts")
    wait_snapshot(sim, before, "after release")


@scenario("restart-readopt-client")
def restart_readopt_client(sim):
    """A client lease survives a daemon restart (the journal records the unique name) and still
    ends when that client goes away."""
    before = sim.kernel.snapshot()
    client = sim.client(NOBODY)
    assign_ok(sim, client, EDU, 2)
    restart_and_readopt(sim, EDU, signal.SIGTERM)
    check_equal(sim.root.device_prop(EDU, "Owner"), client.name, "Owner after restart")
    client.kill()
    wait_snapshot(sim, before, "after the client left")


@scenario("service-manager-protocol")
def service_manager_protocol(sim):
    """What systemd sees (Type=dbus, WatchdogSec=): READY=1 only once org.vfiod1 is owned,
    WATCHDOG=1 pings at least every half period, STOPPING=1 and exit 0 on SIGTERM."""
    check_equal(sim.stop_vfiod(), 0, "exit status of the first vfiod")
    path = sim.path("run/notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(15)

    def receive(want):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            fields = sock.recv(4096).decode().split("\n")
            if want in fields:
                return fields
        raise AssertionError("no %s from vfiod" % want)

    watchdog_usec = 400000
    sim.start_vfiod({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(watchdog_usec)})
    receive("READY=1")
    reply = sim.root.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
                          "(s)", ["org.vfiod1"], dest="org.freedesktop.DBus")
    check(reply.ok and reply.value[0], "org.vfiod1 owned when READY=1 arrives")

    # sd-event pings at half the period; allow the loop a whole period between two pings.
    receive("WATCHDOG=1")
    start = time.monotonic()
    for _ in range(3):
        receive("WATCHDOG=1")
    elapsed = time.monotonic() - start
    check(elapsed < 3 * watchdog_usec / 1e6,
          "three watchdog pings took %.2fs, more than three periods" % elapsed)

    sim.vfiod.send_signal(signal.SIGTERM)
    receive("STOPPING=1")
    check_equal(sim.vfiod.wait(10), 0, "exit status after SIGTERM")
    sock.close()
    sim.start_vfiod()  # the runner ends every scenario with its own clean-exit check


class IdentityLookups:
    """dbus-monitor on the sim's bus, recording the calls that ask the bus who a connection is."""

    MEMBERS = ("GetConnectionUnixUser", "GetConnectionCredentials", "GetConnectionUnixProcessID")

    def __init__(self, sim):
        self.path = sim.path("log/identity-monitor.txt")
        rules = ["type='method_call',interface='org.freedesktop.DBus',member='%s'" % m
                 for m in self.MEMBERS]
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen(["dbus-monitor", "--address", sim.bus_address, "--monitor"]
                                     + rules, stdout=self.out, stderr=subprocess.STDOUT)
        # The monitor is in place once it records a lookup of our own.
        probe = sim.client(0)
        wait_until(lambda: probe.call("/org/freedesktop/DBus", "org.freedesktop.DBus",
                                      "GetConnectionUnixUser", "(s)", [probe.name],
                                      dest="org.freedesktop.DBus").ok
                   and any(s == probe.name for s, _, _ in self.calls()),
                   10, "dbus-monitor to see the bus's traffic (%s)" % self.path)
        self.vfiod = probe.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner",
                                "(s)", ["org.vfiod1"], dest="org.freedesktop.DBus").value[0]

    def calls(self):
        """(sender, member, first string argument) of every lookup seen so far."""
        self.out.flush()
        found, header = [], None
        with open(self.path) as f:
            for line in f:
                if line.startswith("method call "):
                    fields = dict(p.split("=", 1) for p in line.replace(";", "").split()
                                  if "=" in p)
                    header = (fields.get("sender"), fields.get("member"))
                elif header and line.strip().startswith("string "):
                    found.append((header[0], header[1], line.strip()[len("string "):].strip('"')))
                    header = None
        return found

    def by_vfiod(self, name):
        return [c for c in self.calls() if c[0] == self.vfiod and c[2] == name]

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)
        self.out.close()


@scenario("caller-identified-once")
def caller_identified_once(sim):
    """vfiod asks the bus who a connection is once, without blocking: requests sent together by
    a new client all wait for that one answer, later requests reuse it, and each connection gets
    its own answer (a root caller's does not carry over to an unprivileged one)."""
    monitor = IdentityLookups(sim)
    try:
        root = sim.client(0)
        check_ok(root.plan(EDU), "PlanAssignment by root")
        assign_ok(sim, root, EDU, 2, lifetime="persistent")
        check_ok(root.release(EDU), "ReleaseDevice by root")
        wait_states(sim, {EDU: (None, None)}, "after root's release")
        checks_before = len(sim.polkit_checks())

        client = sim.client(NOBODY)
        first, second = client.start_assign(EDU), client.start_assign(EDU9)
        check_group_fd(sim, client, client.wait(first), 2, EDU)
        check_group_fd(sim, client, client.wait(second), 9, EDU9)
        check_ok(client.release(EDU), "ReleaseDevice(EDU) by its owner")
        check_ok(client.release(EDU9), "ReleaseDevice(EDU9) by its owner")
        wait_states(sim, {EDU: (None, None), EDU9: (None, None)}, "after the owner's releases")
        # The unprivileged client was asked about as itself: polkit decided its two assigns.
        check_equal(len(sim.polkit_checks()) - checks_before, 2,
                    "polkit checks for the unprivileged client's assigns")

        other = sim.client(OTHER_UID)
        check_error(other.release(EDU), "org.vfiod1.Error.NotAssigned")

        for who, want in ((root, 1), (client, 1)):
            got = monitor.by_vfiod(who.name)
            check_equal(len(got), want, "identity lookups by vfiod for %s (%s)" % (who.name, got))
        check_equal([c[1] for c in monitor.by_vfiod(client.name)], ["GetConnectionUnixUser"],
                    "how vfiod asked")
        # NotAssigned is decided before anyone is asked who the caller is.
        check_equal(monitor.by_vfiod(other.name), [], "lookups for a caller refused early")
        check(sim.vfiod_alive(), "vfiod died")
    finally:
        monitor.close()
