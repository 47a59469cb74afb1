#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests of compare-introspection.py on the reference XML and on altered copies of it."""

import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "compare-introspection.py")
MANAGER = os.path.join(HERE, "org.vfiod1.Manager.xml")
DEVICE = os.path.join(HERE, "org.vfiod1.Device.xml")

STANDARD = """
 <interface name="org.freedesktop.DBus.Peer">
  <method name="Ping"/>
 </interface>
 <interface name="org.freedesktop.DBus.Introspectable">
  <method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method>
 </interface>
"""


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def sd_bus_shape(text):
    """What sd-bus would export for a faithful vtable: no comments, no annotation for
    EMITS_CHANGE properties, extra standard interfaces and child nodes."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r'\s*<annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" '
                  r'value="true"/>', "", text)
    return text.replace("</node>", STANDARD + ' <node name="device"/>\n</node>')


class CompareIntrospection(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def run_compare(self, reference, live_text):
        live = os.path.join(self.tmp.name, "live.xml")
        with open(live, "w", encoding="utf-8") as f:
            f.write(live_text)
        return subprocess.run([sys.executable, SCRIPT, reference, live],
                              capture_output=True, text=True)

    def assert_differs(self, reference, live_text, *expected):
        r = self.run_compare(reference, live_text)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for e in expected:
            self.assertIn(e, r.stdout)

    def test_identical_files(self):
        for ref in (MANAGER, DEVICE):
            r = self.run_compare(ref, read(ref))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(r.stdout, "")

    def test_sd_bus_shaped_output_matches(self):
        for ref in (MANAGER, DEVICE):
            r = self.run_compare(ref, sd_bus_shape(read(ref)))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_renamed_argument(self):
        text = read(MANAGER).replace('<arg name="group_fd" type="h"', '<arg name="fd" type="h"')
        self.assert_differs(MANAGER, text, "org.vfiod1.Manager.AssignDevice (method): arguments")

    def test_changed_argument_type(self):
        text = read(MANAGER).replace('name="blockers" type="as"', 'name="blockers" type="a(ss)"')
        self.assert_differs(MANAGER, text, "PlanAssignment (method): arguments")

    def test_swapped_direction(self):
        text = read(DEVICE).replace('name="group_fd" type="h" direction="out"',
                                    'name="group_fd" type="h" direction="in"')
        self.assert_differs(DEVICE, text, "org.vfiod1.Device.Assign (method)")

    def test_missing_method(self):
        text = re.sub(r'<method name="ListDevices">.*?</method>', "", read(MANAGER), flags=re.S)
        self.assert_differs(MANAGER, text, "ListDevices (method): missing from the live object")

    def test_extra_property(self):
        text = read(DEVICE).replace("</interface>",
                                    '<property name="Extra" type="s" access="read"/></interface>')
        self.assert_differs(DEVICE, text, "Extra (property): exported but not in the reference")

    def test_property_type_and_access(self):
        text = read(DEVICE).replace('name="IommuGroup" type="i" access="read"',
                                    'name="IommuGroup" type="u" access="readwrite"')
        self.assert_differs(DEVICE, text, "IommuGroup (property): type 'u', reference 'i'",
                            "IommuGroup (property): access 'readwrite'")

    def test_const_property_that_emits(self):
        # A CONST property exported as EMITS_CHANGE: sd-bus omits the annotation.
        text = re.sub(r'(<property name="BootVga" type="b" access="read">)\s*<annotation[^>]*/>',
                      r"\1", read(DEVICE))
        self.assert_differs(DEVICE, text, "BootVga (property): annotations")

    def test_changing_property_without_signal(self):
        text = read(DEVICE).replace(
            '<property name="State" type="s" access="read">\n'
            '      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="true"/>',
            '<property name="State" type="s" access="read">\n'
            '      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="false"/>')
        self.assert_differs(DEVICE, text, "State (property): annotations")

    def test_privileged_method(self):
        # sd-bus marks methods without SD_BUS_VTABLE_UNPRIVILEGED; unprivileged callers would fail.
        text = read(MANAGER).replace(
            '<method name="ReleaseDevice">',
            '<method name="ReleaseDevice">\n'
            '<annotation name="org.freedesktop.systemd1.Privileged" value="true"/>')
        self.assert_differs(MANAGER, text, "ReleaseDevice (method): annotations")

    def test_missing_interface(self):
        self.assert_differs(MANAGER, "<node>" + STANDARD + "</node>",
                            "interface org.vfiod1.Manager: missing from the live object")

    def test_other_interface_exported(self):
        device_iface = re.search(r"<interface.*</interface>", read(DEVICE), flags=re.S).group(0)
        text = read(MANAGER).replace("</node>", device_iface + "</node>")
        self.assert_differs(MANAGER, text,
                            "interface org.vfiod1.Device: exported but not in the reference")

    def test_unreadable_input(self):
        r = self.run_compare(MANAGER, "<node><interface")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
