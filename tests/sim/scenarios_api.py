# SPDX-License-Identifier: LGPL-2.1-or-later
"""The API surface: hostile input, the introspection contract, and change signals that follow
the kernel when another tool moves a device."""

import os
import subprocess

import rawdbus
from expect import (BRIDGE, EDU, NIC_E, check_error, check_ok, check_unchanged,
                    wait_uevents_handled)
from harness import (DEVICE, MANAGER, MANAGER_PATH, NOBODY, PYTHON, SOURCE_ROOT, check,
                     check_equal, device_path, wait_until)
from registry import scenario

INVALID = "org.vfiod1.Error.InvalidArgument"
BAD_NAMES = [
    ("../../etc", INVALID),
    ("0000:01:00.0/../../../../etc", INVALID),
    ("/sys/devices/../../etc/passwd", INVALID),
    ("pci:../0000:01:00.0", INVALID),
    ("x" * 5000, INVALID),
    ("", INVALID),
    ("0000:99:00.0", "org.vfiod1.Error.NoSuchDevice"),
    ("platform:nonexistent.0", "org.vfiod1.Error.NoSuchDevice"),
    (BRIDGE, "org.vfiod1.Error.NotAssignable"),
]
BAD_OPTIONS = [
    {"no-such-option": ("s", "x")},
    {"lifetime": ("u", 1)},
    {"lifetime": ("s", "forever")},
    {"console": ("s", "maybe")},
    {"owner-uid": ("s", "root")},
    {"timeout-ms": ("s", "10")},
    {"driver": ("s", "e1000")},  # not a VFIO driver
]


@scenario("bad-names")
def bad_names(sim):
    """Every bad argument gets its named error, nothing changes, vfiod stays up. A NUL cannot be
    carried by a D-Bus string: sent raw, the bus drops the sender before vfiod sees it."""
    before = sim.kernel.snapshot()
    client = sim.client(NOBODY)
    for name, error in BAD_NAMES:
        shown = name if len(name) < 40 else name[:20] + "...(%d chars)" % len(name)
        for what, reply in (("AssignDevice", client.assign(name)),
                            ("PlanAssignment", client.plan(name)),
                            ("ReleaseDevice", client.release(name))):
            want = error
            if what == "PlanAssignment" and error == "org.vfiod1.Error.NotAssignable":
                continue  # a plan of a bridge may well answer with blockers instead
            if what == "ReleaseDevice" and error == "org.vfiod1.Error.NotAssignable":
                want = "org.vfiod1.Error.NotAssigned"
            reply_error = reply.error if not reply.ok else "success"
            check_equal(reply_error, want, "%s(%r)" % (what, shown))
    for options in BAD_OPTIONS:
        reply = client.assign(EDU, **{k.replace("-", "_"): v for k, v in options.items()})
        check_error(reply, INVALID)
    # The method call with the wrong signature never reaches a handler.
    reply = client.call(MANAGER_PATH, MANAGER, "AssignDevice", "(s)", [EDU])
    check(not reply.ok and reply.error.startswith("org.freedesktop.DBus.Error."),
          "AssignDevice with a wrong signature: %r" % reply)

    result = rawdbus.send_with_nul(sim.path("bus/system_bus_socket"), b"0000:01:00.0\0../../etc")
    check(result == "disconnected" or b"org.freedesktop.DBus.Error" in result,
          "the bus passed a string with a NUL on: %r" % (result,))
    check(sim.vfiod_alive(), "vfiod died")
    check(sim.root.get(MANAGER_PATH, MANAGER, "Version"), "Version after the bad input")
    check_unchanged(sim, before, "after all the bad input")


def compare(sim, reference, live_xml, what):
    live = sim.path("log/%s.xml" % what)
    with open(live, "w") as f:
        f.write(live_xml)
    tool = os.path.join(SOURCE_ROOT, "dbus", "compare-introspection.py")
    result = subprocess.run([PYTHON, tool, os.path.join(SOURCE_ROOT, "dbus", reference), live],
                            capture_output=True, text=True, timeout=30)
    check(result.returncode == 0, "%s differs from dbus/%s:\n%s%s"
          % (what, reference, result.stdout, result.stderr))


@scenario("introspection")
def introspection(sim):
    """Live Introspect of /org/vfiod1 and of a device object equals the reference XML."""
    compare(sim, "org.vfiod1.Manager.xml", sim.root.introspect(MANAGER_PATH), "manager")
    compare(sim, "org.vfiod1.Device.xml", sim.root.introspect(device_path(NIC_E)), "device")
    # Unprivileged callers see the same thing (reading is free).
    check_equal(sim.client(NOBODY).introspect(device_path(NIC_E)),
                sim.root.introspect(device_path(NIC_E)), "introspection as nobody")


def driver_announcements(signals, path):
    """Every Driver value announced for path, in order ("(invalidated)" when only named, for a
    re-read)."""
    out = []
    for s in signals:
        if s["member"] != "PropertiesChanged" or s["path"] != path or s["args"][0] != DEVICE:
            continue
        if "Driver" in s["args"][1]:
            out.append(s["args"][1]["Driver"])
        elif "Driver" in s["args"][2]:
            out.append("(invalidated)")
    return out


def driver_change(signals, path):
    """The first Driver value announced for path; None when nothing was announced."""
    values = driver_announcements(signals, path)
    return values[0] if values else None


@scenario("properties-changed-other-tool")
def properties_changed_other_tool(sim):
    """Another tool (this test, writing the simulated sysfs) unbinds and rebinds the e1000e:
    vfiod's device object emits PropertiesChanged for Driver each time."""
    watcher = sim.client(NOBODY)
    path = device_path(NIC_E)
    check_equal(watcher.device_prop(NIC_E, "Driver"), "e1000e", "Driver before")
    watcher.subscribe()

    for action, want in (("unbind", ""), ("bind", "e1000e")):
        with open(sim.path("sys/bus/pci/drivers/e1000e/" + action), "w") as f:
            f.write(NIC_E)
        seen = []

        def announced():
            seen.extend(watcher.signals())
            value = driver_change(seen, path)
            return None if value is None else (value,)  # "" is an answer too
        (value,) = wait_until(announced, 10, "PropertiesChanged(Driver) after the %s" % action)
        if value == "(invalidated)":
            value = watcher.device_prop(NIC_E, "Driver")
        check_equal(value, want, "Driver announced after the " + action)
        check_equal(watcher.device_prop(NIC_E, "Driver"), want, "Driver read after the " + action)
    check_ok(watcher.call(MANAGER_PATH, MANAGER, "ListDevices"), "ListDevices")


@scenario("own-binding-announced-once")
def own_binding_announced_once(sim):
    """vfiod announces an assignment and a release when they are done. The kernel's report of
    the bind or unbind comes later (udevd passes it on after its rules; held back here until
    the final state was announced) and only confirms the driver that was shown: nothing more is
    announced for the device. Another tool's bind is (properties-changed-other-tool)."""
    watcher = sim.client(0)
    watcher.subscribe()
    client = sim.client(NOBODY)
    path = device_path(EDU)
    seen = []

    def final(state, driver):
        seen.extend(watcher.signals())
        return any(s["member"] == "PropertiesChanged" and s["path"] == path
                   and s["args"][1].get("State") == state
                   and s["args"][1].get("Driver") == driver for s in seen)

    for step, state, driver in (("assign", "assigned", "vfio-pci"), ("release", "host", "")):
        before = len(sim.kernel.uevents.history)
        sim.kernel.uevents.hold()
        try:
            if step == "assign":
                check_ok(client.assign(EDU), "AssignDevice(%s)" % EDU)
            else:
                check_ok(client.release(EDU), "ReleaseDevice(%s)" % EDU)
            wait_until(lambda: final(state, driver), 10,
                       "State %r and Driver %r announced after the %s" % (state, driver, step))
            watcher.signals()  # drained: all of it came before the kernel's report
            del seen[:]
        finally:
            sim.kernel.uevents.release()
        actions = [a for a, devpath, _ in sim.kernel.uevents.history[before:]
                   if devpath.endswith("/" + EDU)]
        check(("bind" if step == "assign" else "unbind") in actions,
              "the kernel reported the %s of %s: %r" % (step, EDU, actions))
        wait_uevents_handled(sim)
        seen.extend(watcher.signals())
        check_equal(driver_announcements(seen, path), [],
                    "Driver announced for %s after the kernel reported its %s" % (EDU, step))
        check_equal(watcher.device_prop(EDU, "Driver"), driver, "Driver read after the " + step)
    client.close()
    watcher.close()


def state_changes(signals, path):
    """The State values announced for path, in order."""
    return [s["args"][1]["State"] for s in signals
            if s["member"] == "PropertiesChanged" and s["path"] == path
            and s["args"][0] == DEVICE and "State" in s["args"][1]]


@scenario("changes-merged-per-pass")
def changes_merged_per_pass(sim):
    """Changes are announced once the loop has nothing more urgent, with the values of that
    moment. Another tool has already put the edu on vfio-pci, so its assignment needs no unbind
    and no probe: the whole transaction runs in one pass of the loop, and watchers see it
    assigned, never a stale "assigning". A transaction that waits for a worker is announced as
    "assigning" meanwhile (hung-unbind-timeout checks that). Assignable and Blockers, a whole
    plan each, are announced as invalidated and read on demand."""
    with open(sim.path("sys/bus/pci/devices/%s/driver_override" % EDU), "w") as f:
        f.write("vfio-pci")
    with open(sim.path("sys/bus/pci/drivers_probe"), "w") as f:
        f.write(EDU)
    check_equal(sim.kernel.state(EDU), ("vfio-pci", "vfio-pci"), "the edu on vfio-pci")
    wait_uevents_handled(sim)

    watcher = sim.client(0)
    watcher.subscribe()
    path = device_path(EDU)
    seen = []

    def states():
        seen.extend(watcher.signals())
        return state_changes(seen, path)

    client = sim.client(NOBODY)
    check_ok(client.assign(EDU), "AssignDevice(%s)" % EDU)
    wait_until(lambda: states() or None, 10, "a State change announced for " + EDU)
    check_equal(states()[0], "assigned", "first State announced after the assignment")
    # The plan-backed properties are announced by name; a read gives their value.
    signal = next(s for s in seen if s["member"] == "PropertiesChanged" and s["path"] == path
                  and "State" in s["args"][1])
    for prop in ("Assignable", "Blockers"):
        check(prop in signal["args"][2] and prop not in signal["args"][1],
              "%s not announced as invalidated: %r" % (prop, signal["args"]))
    check_equal(watcher.device_prop(EDU, "Assignable"), False, "Assignable while assigned")
    check(watcher.device_prop(EDU, "Blockers"), "Blockers empty while assigned")
    client.close()
    watcher.close()
