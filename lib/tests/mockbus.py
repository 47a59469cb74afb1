# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private system bus with the org.vfiod1 mock on it, for the lib suite's tests.

As a program: mockbus.py PROGRAM [ARG...] runs PROGRAM with $DBUS_SYSTEM_BUS_ADDRESS pointing
at such a bus and $VFIOD_TEST_GROUP_FILE naming the file the mock's AssignDevice hands out,
and exits with PROGRAM's status.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import dbus
import dbusmock

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "vfiod_mock.py")
SERVER = os.path.join(HERE, "mock-server.py")
MOCK_IFACE = "org.freedesktop.DBus.Mock"


class MockService:
    """The mock process and its scratch directory; the bus must already be running."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        # Stands in for /dev/vfio/N: the tests recognise it by its inode.
        self.group_file = os.path.join(self.tmp.name, "group")
        with open(self.group_file, "w", encoding="utf-8") as f:
            f.write("group\n")
        self.group_ino = os.stat(self.group_file).st_ino
        self.log = open(os.path.join(self.tmp.name, "mock.log"), "wb")
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, SERVER, TEMPLATE, json.dumps({"group-file": self.group_file}),
             os.path.join(self.tmp.name, "calls.log")],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the org.vfiod1 mock did not start")

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait()
            self.process.stdout.close()
            self.process = None

    def close(self):
        self.stop()
        self.log.close()
        self.tmp.cleanup()


class MockBusTestCase(dbusmock.DBusTestCase):
    """Each test class gets its own bus; each test its own fresh mock and group file."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_system_bus()
        cls.address = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
        cls.bus = cls.get_dbus(system_bus=True)

    def setUp(self):
        self.service = MockService()
        self.tmp = self.service.tmp
        self.group_file = self.service.group_file
        self.group_ino = self.service.group_ino
        self.service.start()

    def tearDown(self):
        self.service.close()

    def start_mock(self):
        self.service.start()

    def stop_mock(self):
        self.service.stop()

    def mock_object(self, path):
        return dbus.Interface(self.bus.get_object("org.vfiod1", path), MOCK_IFACE)

    def calls(self, method, path="/org/vfiod1"):
        """The argument lists of every call of @method the mock received, oldest first."""
        return [args for _, args in self.mock_object(path).GetMethodCalls(method)]

    def wait_for_match_rule(self, fragment, timeout=20):
        """Waits until some connection on the bus has a match rule containing @fragment."""
        stats = dbus.Interface(self.bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus"),
                               "org.freedesktop.DBus.Debug.Stats")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(fragment in str(rule) for rules in stats.GetAllMatchRules().values()
                   for rule in rules):
                return
            time.sleep(0.05)
        raise AssertionError(f"no match rule with {fragment!r} appeared")

    def fail_with(self, method, error_name, message="injected failure", path="/org/vfiod1",
                  in_sig="sa{sv}", out_sig="ho"):
        code = f"raise dbus.exceptions.DBusException({message!r}, name={error_name!r})"
        self.mock_object(path).AddMethod("", method, in_sig, out_sig, code)


def main(argv):
    dbusmock.DBusTestCase.start_system_bus()
    service = MockService()
    try:
        service.start()
        env = dict(os.environ, VFIOD_TEST_GROUP_FILE=service.group_file)
        return subprocess.run(argv, env=env, check=False).returncode
    finally:
        service.close()
        dbusmock.DBusTestCase.tearDownClass()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
