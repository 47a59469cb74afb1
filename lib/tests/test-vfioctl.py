#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""vfioctl against the org.vfiod1 mock on a private bus: what it sends, what it prints, how it
exits. Usage: test-vfioctl.py PATH-TO-VFIOCTL [unittest arguments, e.g. Assign.test_command]"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mockbus  # noqa: E402

VFIOCTL = None
DEV0 = "/org/vfiod1/device/pci_3a0000_3a01_3a00_2e0"
DEV1 = "/org/vfiod1/device/pci_3a0000_3a01_3a00_2e1"
PLATFORM = "/org/vfiod1/device/platform_3afff51000_2eethernet"

# The exit codes vfioctl documents.
OK, USAGE, NO_DEVICE, ACCESS, BUSY, BLOCKED, FAILED, UNREACHABLE = range(8)

# Prints what the command inherited: the group fd's inode, the env, and its open fds.
CHILD = ("import os, json; fd = int(os.environ['VFIOD_GROUP_FD']);"
         "print(json.dumps({'ino': os.fstat(fd).st_ino, 'fd': fd,"
         " 'path': os.environ['VFIOD_DEVICE_PATH'],"
         " 'fds': sorted(int(f) for f in os.listdir('/proc/self/fd'))}))")


def vfioctl(*args, **kwargs):
    kwargs.setdefault("timeout", 30)
    return subprocess.run([VFIOCTL] + list(args), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, **kwargs)


class Reading(mockbus.MockBusTestCase):
    def test_list_json(self):
        r = vfioctl("list", "--json")
        self.assertEqual(r.returncode, OK, r.stderr)
        devices = json.loads(r.stdout)
        self.assertEqual([d["Path"] for d in devices], [DEV0, DEV1, PLATFORM])
        d = devices[0]
        self.assertEqual(d["Name"], "0000:01:00.0")
        self.assertEqual(d["Description"], 'Intel "82574L" Gigabit \\ Network\tConnection')
        self.assertEqual((d["VendorId"], d["DeviceId"], d["Class"]), (0x8086, 0x10D3, 0x020000))
        self.assertEqual(d["IommuGroup"], 12)
        self.assertIsNone(d["OwnerUid"])
        self.assertEqual(d["GroupPeers"], [DEV1])
        self.assertIs(d["Assignable"], True)
        p = devices[2]
        self.assertEqual((p["Bus"], p["IommuGroup"], p["Assignable"]), ("platform", -1, False))
        self.assertEqual(p["Blockers"], ["the device has no IOMMU group"])

    def test_list_table(self):
        r = vfioctl("list")
        self.assertEqual(r.returncode, OK, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 4)
        self.assertEqual(lines[1].split()[:5], ["0000:01:00.0", "pci", "12", "e1000e", "host"])
        self.assertEqual(lines[3].split()[:5], ["fff51000.ethernet", "platform", "-", "-", "host"])

    def test_show_every_name_form(self):
        for name in ["0000:01:00.0", "pci:0000:01:00.0",
                     "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0", DEV0]:
            with self.subTest(name=name):
                r = vfioctl("show", "--json", name)
                self.assertEqual(r.returncode, OK, r.stderr)
                self.assertEqual(json.loads(r.stdout)["Path"], DEV0)
        r = vfioctl("show", "0000:01:00.1")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertRegex(r.stdout, r"Id: 8086:10d3\n")
        self.assertRegex(r.stdout, r"IommuGroup: 12\n")
        self.assertRegex(r.stdout, r"GroupPeers: " + DEV0)

    def test_show_unknown_device(self):
        for name in ["0000:99:00.0", "/org/vfiod1/device/nothing"]:
            with self.subTest(name=name):
                r = vfioctl("show", name)
                self.assertEqual(r.returncode, NO_DEVICE, r.stderr)
                self.assertIn("org.vfiod1.Error.NoSuchDevice", r.stderr)

    def test_plan(self):
        r = vfioctl("plan", "0000:01:00.0")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertRegex(r.stdout, r"1\. fence +0000:01:00\.0 +driver_override=vfio-pci")
        self.assertIn("keep     0000:00:1c.0", r.stdout)
        self.assertIn("the host loses its network interface eno1", r.stdout)
        self.assertNotIn("Blockers", r.stdout)
        self.assertEqual(self.calls("PlanAssignment"), [["0000:01:00.0", {}]])

    def test_plan_with_blockers(self):
        r = vfioctl("plan", "platform:fff51000.ethernet")
        self.assertEqual(r.returncode, BLOCKED, r.stderr)
        self.assertIn("Blockers:\n  - the device has no IOMMU group", r.stdout)


class Options(mockbus.MockBusTestCase):
    def assert_options(self, method, expected):
        calls = self.calls(method)
        self.assertEqual(len(calls), 1)
        options = calls[0][1]
        self.assertEqual(dict(options), expected)
        types = {"driver": dbus.String, "lifetime": dbus.String, "console": dbus.String,
                 "owner-uid": dbus.UInt32, "timeout-ms": dbus.UInt32}
        for key, value in options.items():
            self.assertIsInstance(value, types[key], key)

    def test_plan_marshals_every_option(self):
        r = vfioctl("plan", "0000:01:00.0", "--driver=vfio-pci", "--console=takeover",
                    "--owner=nobody", "--timeout-ms", "2500")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assert_options("PlanAssignment", {"driver": "vfio-pci", "console": "takeover",
                                               "owner-uid": 65534, "timeout-ms": 2500})

    def test_assign_marshals_every_option(self):
        r = vfioctl("assign", "pci:0000:01:00.0", "--persistent", "--driver", "vfio-pci",
                    "--console=takeover", "--owner=4242", "--timeout-ms=99")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertEqual(r.stdout, DEV0 + "\n")
        self.assert_options("AssignDevice", {"driver": "vfio-pci", "lifetime": "persistent",
                                             "console": "takeover", "owner-uid": 4242,
                                             "timeout-ms": 99})
        self.assertEqual(self.calls("AssignDevice")[0][0], "pci:0000:01:00.0")

    def test_defaults_are_not_sent(self):
        # Left alone, the daemon's configured defaults apply; said explicitly, they are sent.
        r = vfioctl("assign", "0000:01:00.0", "--", "true")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assert_options("AssignDevice", {})
        r = vfioctl("plan", "0000:01:00.0", "--console=refuse")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assert_options("PlanAssignment", {"console": "refuse"})

    def test_bad_options_send_nothing(self):
        for args in [["assign", "0000:01:00.0"],  # no command, not persistent
                     ["assign", "0000:01:00.0", "--persistent", "--", "true"],
                     ["assign", "0000:01:00.0", "--persistent", "--timeout-ms=0"],
                     ["assign", "0000:01:00.0", "--persistent", "--timeout-ms=-5"],
                     ["assign", "0000:01:00.0", "--persistent", "--timeout-ms=4294967296"],
                     ["assign", "0000:01:00.0", "--persistent", "--console=maybe"],
                     ["assign", "0000:01:00.0", "--persistent", "--owner=no-such-user-here"],
                     ["assign", "0000:01:00.0", "--persistent", "--driver="],
                     ["plan", "0000:01:00.0", "--persistent"],
                     ["release", "0000:01:00.0", "--owner=root"],
                     ["release", "0000:01:00.0", "--console=refuse"],
                     ["release"], ["list", "extra"], ["show", "--json"], ["frobnicate"],
                     ["list", "--", "true"], ["plan", "0000:01:00.0", "--json"], []]:
            with self.subTest(args=args):
                r = vfioctl(*args)
                self.assertEqual(r.returncode, USAGE, r.stdout + r.stderr)
        self.assertEqual(self.calls("AssignDevice"), [])
        self.assertEqual(self.calls("PlanAssignment"), [])
        self.assertEqual(self.calls("ReleaseDevice"), [])


class Assign(mockbus.MockBusTestCase):
    def test_command_inherits_group_fd(self):
        r = vfioctl("assign", "0000:01:00.0", "--", sys.executable, "-c", CHILD)
        self.assertEqual(r.returncode, OK, r.stderr)
        seen = json.loads(r.stdout)
        self.assertEqual(seen["ino"], self.group_ino)
        self.assertEqual(seen["path"], DEV0)
        # stdio, the group fd, and the one listdir() itself opens: nothing else leaked.
        self.assertEqual(len(seen["fds"]), 5, seen)
        self.assertIn(seen["fd"], seen["fds"])
        self.assertEqual(self.calls("ReleaseDevice"), [["0000:01:00.0"]])

    def test_command_status_is_passed_on(self):
        r = vfioctl("assign", "0000:01:00.0", "--", "sh", "-c", "exit 42")
        self.assertEqual(r.returncode, 42, r.stderr)
        self.assertEqual(self.calls("ReleaseDevice"), [["0000:01:00.0"]])
        r = vfioctl("assign", "0000:01:00.0", "--", "/nonexistent/program")
        self.assertEqual(r.returncode, 127, r.stderr)
        self.assertEqual(len(self.calls("ReleaseDevice")), 2)

    def test_device_is_assigned_while_command_runs(self):
        # The command asks the mock (through vfioctl) what state its device is in.
        r = vfioctl("assign", "0000:01:00.0", "--", VFIOCTL, "show", "--json", "0000:01:00.1")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertEqual(json.loads(r.stdout)["State"], "assigned")
        r = vfioctl("show", "--json", "0000:01:00.1")
        self.assertEqual(json.loads(r.stdout)["State"], "host")

    def test_signals_are_forwarded(self):
        script = ("import signal, sys, time\n"
                  "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7 + 30))\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(60)\n")
        p = subprocess.Popen([VFIOCTL, "assign", "0000:01:00.0", "--", sys.executable, "-c",
                              script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(p.stdout.readline().strip(), "ready")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 37, err)
        self.assertEqual(self.calls("ReleaseDevice"), [["0000:01:00.0"]])

    def test_command_not_run_when_assign_fails(self):
        marker = os.path.join(self.tmp.name, "ran")
        r = vfioctl("assign", "platform:fff51000.ethernet", "--", "touch", marker)
        self.assertEqual(r.returncode, BLOCKED, r.stderr)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(self.calls("ReleaseDevice"), [])

    def test_release(self):
        self.assertEqual(vfioctl("assign", "0000:01:00.0", "--persistent").returncode, OK)
        r = vfioctl("release", "0000:01:00.1")
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertEqual(self.calls("ReleaseDevice"), [["0000:01:00.1"]])
        r = vfioctl("release", "0000:01:00.1")
        self.assertEqual(r.returncode, BLOCKED, r.stderr)
        self.assertIn("org.vfiod1.Error.NotAssigned", r.stderr)


class Errors(mockbus.MockBusTestCase):
    EXPECTED = [
        ("org.vfiod1.Error.NoSuchDevice", NO_DEVICE),
        ("org.freedesktop.DBus.Error.AccessDenied", ACCESS),
        ("org.vfiod1.Error.Busy", BUSY),
        ("org.vfiod1.Error.NotAssignable", BLOCKED),
        ("org.vfiod1.Error.GroupNotViable", BLOCKED),
        ("org.vfiod1.Error.ConsoleInUse", BLOCKED),
        ("org.vfiod1.Error.Unsupported", BLOCKED),
        ("org.vfiod1.Error.NotAssigned", BLOCKED),
        ("org.vfiod1.Error.Timeout", FAILED),
        ("org.vfiod1.Error.RolledBack", FAILED),
        ("org.vfiod1.Error.InvalidArgument", USAGE),
        ("org.example.Error.SomethingNew", FAILED),
    ]

    def test_error_names_map_to_exit_codes(self):
        for name, code in self.EXPECTED:
            with self.subTest(error=name):
                message = f"probe of 0000:01:00.0 failed ({name})"
                self.fail_with("AssignDevice", name, message)
                r = vfioctl("assign", "0000:01:00.0", "--persistent")
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertIn(message, r.stderr)
                self.assertEqual(r.stdout, "")
                self.fail_with("ReleaseDevice", name, message, in_sig="s", out_sig="")
                r = vfioctl("release", "0000:01:00.0")
                self.assertEqual(r.returncode, code, r.stderr)

    def test_daemon_not_running(self):
        self.stop_mock()
        for args in [["list"], ["show", "0000:01:00.0"], ["assign", "x", "--persistent"]]:
            with self.subTest(args=args):
                r = vfioctl(*args)
                self.assertEqual(r.returncode, UNREACHABLE, r.stderr)

    def test_bus_unreachable(self):
        missing = "unix:path=" + os.path.join(self.tmp.name, "no-bus-here")
        r = vfioctl("--bus-address=" + missing, "list")
        self.assertEqual(r.returncode, UNREACHABLE, r.stderr)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=missing)
        r = vfioctl("list", env=env)
        self.assertEqual(r.returncode, UNREACHABLE, r.stderr)

    def test_bus_address_option(self):
        env = dict(os.environ)
        env.pop("DBUS_SYSTEM_BUS_ADDRESS")
        env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent"
        r = vfioctl("--bus-address", self.address, "list", "--json", env=env)
        self.assertEqual(r.returncode, OK, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)), 3)


class Monitor(mockbus.MockBusTestCase):
    def start_monitor(self):
        p = subprocess.Popen([VFIOCTL, "monitor"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        # The monitor has its matches once it has asked for the baseline.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            objects = self.mock_object("/org/vfiod1").GetCalls()
            if any(str(c[1]) == "GetManagedObjects" for c in objects):
                break
            time.sleep(0.05)
        return p

    def test_monitor_reports_changes(self):
        p = self.start_monitor()
        self.assertEqual(vfioctl("assign", "0000:01:00.0", "--persistent").returncode, OK)
        mock = self.mock_object("/org/vfiod1")
        props = {"Name": "0000:02:00.0", "Bus": "pci", "State": "host", "Driver": "nvme"}
        new = "/org/vfiod1/device/pci_3a0000_3a02_3a00_2e0"
        mock.AddObject(new, "org.vfiod1.Device", props, [])
        mock.EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesAdded", "oa{sa{sv}}",
                        [dbus.ObjectPath(new), {"org.vfiod1.Device": props}])
        mock.RemoveObject(new)
        mock.EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "oas",
                        [dbus.ObjectPath(new), ["org.vfiod1.Device"]])
        expected = [
            "changed pci:0000:01:00.0 driver=vfio-pci state=assigned owner=-",
            "changed pci:0000:01:00.1 driver=vfio-pci state=assigned owner=-",
            "added pci:0000:02:00.0 driver=nvme state=host owner=-",
            "removed pci:0000:02:00.0 driver=nvme state=host owner=-",
        ]
        lines = [p.stdout.readline().rstrip("\n") for _ in expected]
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=20)
        self.assertEqual(p.returncode, OK)
        self.assertEqual(lines, expected)

    def test_monitor_follows_daemon_restart(self):
        p = self.start_monitor()
        self.stop_mock()
        removed = sorted(p.stdout.readline().split()[1] for _ in range(3))
        self.assertEqual(removed, ["pci:0000:01:00.0", "pci:0000:01:00.1",
                                   "platform:fff51000.ethernet"])
        self.start_mock()
        added = sorted(p.stdout.readline().split()[:2] for _ in range(3))
        self.assertEqual([a[0] for a in added], ["added"] * 3)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=20)
        self.assertEqual(p.returncode, OK)

    def test_monitor_started_before_daemon(self):
        self.stop_mock()
        p = subprocess.Popen([VFIOCTL, "monitor"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        # NameOwnerChanged is the last match it adds before asking for the baseline.
        self.wait_for_match_rule("arg0='org.vfiod1'")
        self.assertIsNone(p.poll())
        self.start_mock()
        added = sorted(p.stdout.readline().split()[:2] for _ in range(3))
        self.assertEqual(added, [["added", "pci:0000:01:00.0"], ["added", "pci:0000:01:00.1"],
                                 ["added", "platform:fff51000.ethernet"]])
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=20)
        self.assertEqual(p.returncode, OK)


if __name__ == "__main__":
    VFIOCTL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
