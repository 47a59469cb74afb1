#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs a private dbus-daemon with a system-bus-like default policy (deny owning names, deny
method calls) plus dbus/org.vfiod1.conf, and checks what the policy must allow and forbid:
root may own org.vfiod1, an unprivileged user may not; an unprivileged user may call the vfiod
interfaces and the standard ones, and nothing else on org.vfiod1.

Needs root (to run a client as another uid) and busctl; the meson test is registered only then.
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

from private_bus import bus_config

HERE = os.path.dirname(os.path.abspath(__file__))
POLICY = os.path.join(HERE, "org.vfiod1.conf")
NOBODY = pwd.getpwnam("nobody")

# A stand-in service: owns org.vfiod1 and answers every call with UnknownMethod, so a call the
# policy lets through fails with UnknownMethod while a call it blocks fails with AccessDenied.
SERVICE = r"""
import dbus, dbus.mainloop.glib, sys
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
def reply_unknown(conn, msg):
    if msg.get_type() == 1:
        conn.send_message(dbus.lowlevel.ErrorMessage(
            msg, "org.freedesktop.DBus.Error.UnknownMethod", "stand-in"))
    return dbus.lowlevel.HANDLER_RESULT_HANDLED
bus.add_message_filter(reply_unknown)
bus.request_name("org.vfiod1", dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
print("ready", flush=True)
GLib.MainLoop().run()
"""


class BusPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        os.chmod(cls.tmp, 0o755)
        socket = os.path.join(cls.tmp, "bus")
        config = os.path.join(cls.tmp, "bus.conf")
        with open(config, "w", encoding="utf-8") as f:
            f.write(bus_config(socket, POLICY))
        cls.address = "unix:path=" + socket
        cls.bus = subprocess.Popen(["dbus-daemon", "--config-file=" + config, "--nofork",
                                    "--nopidfile", "--print-address"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.bus.stdout.readline()
        cls.service = subprocess.Popen([sys.executable, "-c", SERVICE, cls.address],
                                       stdout=subprocess.PIPE, text=True)
        if cls.service.stdout.readline().strip() != "ready":
            raise RuntimeError("stand-in service did not start")

    @classmethod
    def tearDownClass(cls):
        for p in (cls.service, cls.bus):
            p.terminate()
            p.wait()
        shutil.rmtree(cls.tmp)

    def busctl(self, *args, as_nobody=False):
        cmd = ["busctl", "--address=" + self.address] + list(args)
        if as_nobody:
            cmd = ["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}",
                   "--clear-groups"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20)

    def call(self, interface, member, as_nobody=True):
        return self.busctl("call", "org.vfiod1", "/org/vfiod1", interface, member,
                           as_nobody=as_nobody)

    def assert_allowed(self, interface, member):
        r = self.call(interface, member)
        # libdbus answers Peer.Ping itself; everything else reaches the stand-in.
        if r.returncode != 0:
            self.assertIn("stand-in", r.stderr, f"{interface}.{member} blocked: {r.stderr}")

    def assert_denied(self, interface, member):
        r = self.call(interface, member)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("stand-in", r.stderr)
        self.assertIn("denied", r.stderr.lower())

    def test_root_owns_the_name(self):
        r = self.busctl("status", "org.vfiod1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("UID=0", r.stdout)

    def test_unprivileged_user_cannot_own_the_name(self):
        code = ("import dbus,sys; b=dbus.bus.BusConnection(sys.argv[1]);"
                "b.request_name('org.vfiod1', dbus.bus.NAME_FLAG_DO_NOT_QUEUE)")
        r = subprocess.run(["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}",
                            "--clear-groups", sys.executable, "-c", code, self.address],
                           capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AccessDenied", r.stderr)

    def test_unprivileged_user_reaches_vfiod_interfaces(self):
        for interface, member in [("org.vfiod1.Manager", "ListDevices"),
                                  ("org.vfiod1.Manager", "AssignDevice"),
                                  ("org.vfiod1.Device", "Release"),
                                  ("org.freedesktop.DBus.Properties", "GetAll"),
                                  ("org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
                                  ("org.freedesktop.DBus.Introspectable", "Introspect"),
                                  ("org.freedesktop.DBus.Peer", "Ping")]:
            with self.subTest(member=member):
                self.assert_allowed(interface, member)

    def test_unprivileged_user_cannot_call_other_interfaces(self):
        self.assert_denied("org.example.Other", "Anything")
        self.assert_denied("org.freedesktop.DBus.Mock", "AddMethod")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("needs root to run a client as nobody", file=sys.stderr)
        sys.exit(1)
    unittest.main()
