#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs 70-vfiod.rules through `udevadm test` on a made-up device and checks what udev writes.

Each case runs in a private mount namespace (unshare) with tmpfs mounted over /sys, /run, /etc
and the system rules directory, so udevadm sees only a fake device, only our rules, and only
the reservation files the case creates, and its attribute writes land in the fake tree. The
machine's own /sys is never visible to it. Needs root.
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "70-vfiod.rules")
UDEV_RULE_DIRS = ["/usr/lib/udev/rules.d", "/usr/local/lib/udev/rules.d"]


def fs_type(path):
    return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True,
                          check=True).stdout.strip()


def write(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def inside(spec):
    """Runs in the private namespace: build the fake world, run udevadm, report."""
    if os.readlink("/proc/self/ns/mnt") == os.readlink(f"/proc/{os.getppid()}/ns/mnt"):
        sys.exit("not in a private mount namespace; refusing to touch /sys")
    rules_text = open(RULES, encoding="utf-8").read()
    for target in ["/sys", "/run", "/etc"] + [d for d in UDEV_RULE_DIRS if os.path.isdir(d)]:
        subprocess.run(["mount", "-t", "tmpfs", "vfiod-test", target], check=True)
    if fs_type("/sys") != "tmpfs":
        sys.exit("/sys is not the test's tmpfs; refusing to go on")
    write("/etc/udev/rules.d/70-vfiod.rules", rules_text)

    bus, name = spec["bus"], spec["name"]
    parent = "/sys/devices/pci0000:00" if bus == "pci" else "/sys/devices/platform"
    device = os.path.join(parent, name)
    write(os.path.join(device, "uevent"), spec.get("uevent", ""))
    write(os.path.join(device, "driver_override"))
    write(f"/sys/bus/{bus}/uevent")
    write(f"/sys/bus/{bus}/drivers_probe")
    os.symlink(f"/sys/bus/{bus}", os.path.join(device, "subsystem"))
    for path, text in spec.get("files", {}).items():
        write(path, text)

    env = dict(os.environ, SYSTEMD_DEVICE_VERIFY_SYSFS="0", SYSTEMD_LOG_LEVEL="info")
    r = subprocess.run(["udevadm", "test", "--action=" + spec.get("action", "add"), device],
                       capture_output=True, text=True, env=env, check=False)
    properties = dict(line.split("=", 1) for line in r.stdout.splitlines()
                      if "=" in line and not line.startswith("run:"))
    print(json.dumps({
        "returncode": r.returncode,
        "stderr": r.stderr,
        "override": open(os.path.join(device, "driver_override"), encoding="utf-8").read(),
        "probe": open(f"/sys/bus/{bus}/drivers_probe", encoding="utf-8").read(),
        "properties": properties,
        "run": [line[5:].strip().strip("'") for line in r.stdout.splitlines()
                if line.startswith("run:")],
    }))


def run_case(spec):
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), "--inside", json.dumps(spec)],
                       capture_output=True, text=True, timeout=60, check=False)
    if r.returncode != 0:
        raise AssertionError(f"namespace helper failed: {r.stderr}")
    return json.loads(r.stdout)


PCI = {"bus": "pci", "name": "0000:01:00.0",
       "uevent": "PCI_SLOT_NAME=0000:01:00.0\nMODALIAS=pci:v00008086d000010D3sv*sd*bc02sc00i00\n"}
PLATFORM = {"bus": "platform", "name": "fff51000.ethernet",
            "uevent": "OF_NAME=ethernet\nMODALIAS=of:NethernetT(null)Csnps,dwmac\n"}
RUN_DIR = "/run/vfiod/reservations/"
ETC_DIR = "/etc/vfiod/reservations.d/"


class Rules(unittest.TestCase):
    def assert_reserved(self, result, driver, name):
        self.assertEqual(result["returncode"], 0, result["stderr"])
        self.assertEqual(result["override"], driver)
        self.assertEqual(result["probe"], name)
        self.assertIn(f"kmod load {driver}", result["run"])
        self.assertEqual(result["properties"].get("VFIOD_DRIVER"), driver)

    def assert_untouched(self, result):
        self.assertEqual(result["returncode"], 0, result["stderr"])
        self.assertEqual(result["override"], "")
        self.assertEqual(result["probe"], "")
        self.assertFalse([r for r in result["run"] if r.startswith("kmod load")], result["run"])

    def test_runtime_reservation(self):
        r = run_case(dict(PCI, files={RUN_DIR + "pci:0000:01:00.0": "VFIOD_DRIVER=vfio-pci\n"}))
        self.assert_reserved(r, "vfio-pci", "0000:01:00.0")
        self.assertIn(":vfiod:", r["properties"]["TAGS"])

    def test_persistent_reservation_of_platform_device(self):
        r = run_case(dict(PLATFORM, files={
            ETC_DIR + "platform:fff51000.ethernet": "VFIOD_DRIVER=vfio-platform\n"}))
        self.assert_reserved(r, "vfio-platform", "fff51000.ethernet")

    def test_runtime_file_wins(self):
        r = run_case(dict(PCI, files={RUN_DIR + "pci:0000:01:00.0": "VFIOD_DRIVER=vfio-pci\n",
                                      ETC_DIR + "pci:0000:01:00.0": "VFIOD_DRIVER=mlx5_vfio_pci\n"}))
        self.assert_reserved(r, "vfio-pci", "0000:01:00.0")

    def test_variant_driver(self):
        r = run_case(dict(PCI, files={ETC_DIR + "pci:0000:01:00.0": "VFIOD_DRIVER=mlx5_vfio_pci\n"}))
        self.assert_reserved(r, "mlx5_vfio_pci", "0000:01:00.0")

    def test_no_reservation(self):
        r = run_case(dict(PCI, files={RUN_DIR + "pci:0000:02:00.0": "VFIOD_DRIVER=vfio-pci\n"}))
        self.assert_untouched(r)
        self.assertIn(":vfiod:", r["properties"]["TAGS"])

    def test_not_a_vfio_driver(self):
        for driver in ["e1000e", "vfio-pcie", "", "vfio-pci; rm -rf /"]:
            with self.subTest(driver=driver):
                r = run_case(dict(PCI, files={
                    RUN_DIR + "pci:0000:01:00.0": f"VFIOD_DRIVER={driver}\n"}))
                self.assert_untouched(r)

    def test_only_at_add(self):
        r = run_case(dict(PCI, action="change",
                          files={RUN_DIR + "pci:0000:01:00.0": "VFIOD_DRIVER=vfio-pci\n"}))
        self.assert_untouched(r)
        self.assertIn(":vfiod:", r["properties"]["TAGS"])

    def test_other_buses_ignored(self):
        r = run_case({"bus": "usb", "name": "1-1", "uevent": "DEVTYPE=usb_device\n",
                      "files": {RUN_DIR + "usb:1-1": "VFIOD_DRIVER=vfio-pci\n"}})
        self.assert_untouched(r)
        self.assertNotIn("vfiod", r["properties"].get("TAGS", ""))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(json.loads(sys.argv[2]))
        sys.exit(0)
    if os.geteuid() != 0:
        sys.exit("needs root for a private mount namespace")
    unittest.main(verbosity=2)
