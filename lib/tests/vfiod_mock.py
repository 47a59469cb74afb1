# SPDX-License-Identifier: LGPL-2.1-or-later
"""python-dbusmock template of org.vfiod1 for testing libvfiod and vfioctl without the daemon.

It speaks the API of dbus/org.vfiod1.*.xml with three made-up devices and the simplest state
model that lets a client see its calls take effect: AssignDevice marks the group assigned and
returns an fd of the file named by the "group-file" parameter; ReleaseDevice puts it back.
Tests inspect the arguments the mock received with the org.freedesktop.DBus.Mock interface
(GetMethodCalls), change properties with UpdateProperties, and replace a method with AddMethod
to make it fail with a chosen error.
"""

import os

import dbus

from dbusmock import mockobject

BUS_NAME = "org.vfiod1"
MAIN_OBJ = "/org/vfiod1"
MAIN_IFACE = "org.vfiod1.Manager"
DEVICE_IFACE = "org.vfiod1.Device"
DEVICE_PREFIX = "/org/vfiod1/device"
SYSTEM_BUS = True
IS_OBJECT_MANAGER = True

ERROR = "org.vfiod1.Error."


def path_encode(name):
    """What sd_bus_path_encode() makes of a device name."""
    out = []
    for ch in name:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        else:
            out.append("_%02x" % ord(ch))
    return DEVICE_PREFIX + "/" + "".join(out)


def device_properties(bus, name, vendor, device, klass, description, driver, group, peers,
                      blockers=(), boot_vga=False):
    return {
        "Name": dbus.String(name),
        "Bus": dbus.String(bus),
        "SysfsPath": dbus.String("/sys/devices/pci0000:00/0000:00:1c.0/" + name
                                 if bus == "pci" else "/sys/devices/platform/" + name),
        "VendorId": dbus.UInt16(vendor),
        "DeviceId": dbus.UInt16(device),
        "Class": dbus.UInt32(klass),
        "Description": dbus.String(description),
        "Driver": dbus.String(driver),
        "DriverOverride": dbus.String(""),
        "IommuGroup": dbus.Int32(group),
        "GroupPeers": dbus.Array([dbus.ObjectPath(path_encode(p)) for p in peers],
                                 signature="o"),
        "State": dbus.String("host"),
        "Owner": dbus.String(""),
        "OwnerUid": dbus.UInt32(0xFFFFFFFF),
        "BootVga": dbus.Boolean(boot_vga),
        "Assignable": dbus.Boolean(not blockers),
        "Blockers": dbus.Array(list(blockers), signature="s"),
    }


DEVICES = [
    ("pci", "0000:01:00.0", 0x8086, 0x10D3, 0x020000,
     'Intel "82574L" Gigabit \\ Network\tConnection', "e1000e", 12,
     ["pci:0000:01:00.1"], ()),
    ("pci", "0000:01:00.1", 0x8086, 0x10D3, 0x020000, "", "e1000e", 12,
     ["pci:0000:01:00.0"], ()),
    ("platform", "fff51000.ethernet", 0, 0, 0, "", "", -1, [],
     ("the device has no IOMMU group",)),
]


def find(mock, name):
    """Resolves a device name the way the daemon documents it, or raises NoSuchDevice."""
    for path, obj in mockobject.objects.items():
        if not path.startswith(DEVICE_PREFIX + "/"):
            continue
        p = obj.props[DEVICE_IFACE]
        if name in (str(p["Name"]), f'{p["Bus"]}:{p["Name"]}', str(p["SysfsPath"])):
            return obj
    raise dbus.exceptions.DBusException(f"No device {name!r}", name=ERROR + "NoSuchDevice")


def group_members(obj):
    peers = [mockobject.objects[str(p)] for p in obj.props[DEVICE_IFACE]["GroupPeers"]]
    return [obj] + peers


def set_state(obj, state, driver, owner_uid):
    obj.UpdateProperties(DEVICE_IFACE, {
        "State": dbus.String(state),
        "Driver": dbus.String(driver),
        "DriverOverride": dbus.String("vfio-pci" if state == "assigned" else ""),
        "OwnerUid": dbus.UInt32(owner_uid),
    })


def assign(mock, name, options):
    obj = find(mock, name)
    props = obj.props[DEVICE_IFACE]
    if props["Blockers"]:
        raise dbus.exceptions.DBusException(str(props["Blockers"][0]),
                                            name=ERROR + "NotAssignable")
    if props["State"] != "host":
        raise dbus.exceptions.DBusException(f"{name} is assigned", name=ERROR + "Busy")
    owner_uid = int(options.get("owner-uid", 0xFFFFFFFF))
    for member in group_members(obj):
        member.host_driver = str(member.props[DEVICE_IFACE]["Driver"])
        set_state(member, "assigned", str(options.get("driver", "vfio-pci")), owner_uid)
    fd = os.open(mock.group_file, os.O_RDWR | os.O_CLOEXEC)
    # dbus-python duplicates the fd into the message; ours is closed right after.
    reply = (dbus.types.UnixFd(fd), dbus.ObjectPath(obj.path))
    os.close(fd)
    return reply


def release(mock, name):
    obj = find(mock, name)
    if obj.props[DEVICE_IFACE]["State"] != "assigned":
        raise dbus.exceptions.DBusException(f"{name} is not assigned", name=ERROR + "NotAssigned")
    for member in group_members(obj):
        set_state(member, "host", member.host_driver, 0xFFFFFFFF)


def plan(mock, name, options):
    obj = find(mock, name)
    driver = str(options.get("driver", "vfio-pci"))
    steps = []
    for member in group_members(obj):
        n = str(member.props[DEVICE_IFACE]["Name"])
        steps += [("fence", n, f"driver_override={driver}"),
                  ("unbind", n, str(member.props[DEVICE_IFACE]["Driver"])),
                  ("probe", n, driver)]
    steps.append(("keep", "0000:00:1c.0", "pcieport bridge stays"))
    warnings = ["the host loses its network interface eno1"]
    blockers = list(obj.props[DEVICE_IFACE]["Blockers"])
    return (dbus.Array(steps, signature="(sss)"), dbus.Array(warnings, signature="s"),
            dbus.Array(blockers, signature="s"))


def load(mock, parameters):
    mock.group_file = str(parameters.get("group-file", "/dev/null"))
    mock.AddProperties(MAIN_IFACE, {
        "Version": dbus.String("0.1"),
        "Features": dbus.Array(["iommu", "cdev"], signature="s"),
    })
    mock.AddMethods(MAIN_IFACE, [
        ("AssignDevice", "sa{sv}", "ho", lambda self, n, o: assign(self, n, o)),
        ("ReleaseDevice", "s", "", lambda self, n: release(self, n)),
        ("PlanAssignment", "sa{sv}", "a(sss)asas", lambda self, n, o: plan(self, n, o)),
        ("ListDevices", "", "ao", lambda self: dbus.Array(
            [dbus.ObjectPath(p) for p in sorted(mockobject.objects)
             if p.startswith(DEVICE_PREFIX + "/")], signature="o")),
    ])
    for bus, name, vendor, device, klass, description, driver, group, peers, blockers in DEVICES:
        path = path_encode(f"{bus}:{name}")
        mock.AddObject(path, DEVICE_IFACE,
                       device_properties(bus, name, vendor, device, klass, description, driver,
                                         group, peers, blockers), [])
        obj = mockobject.objects[path]
        obj.AddMethods(DEVICE_IFACE, [
            ("Assign", "a{sv}", "h",
             lambda self, o: assign(self, str(self.props[DEVICE_IFACE]["Name"]), o)[0]),
            ("Release", "", "", lambda self: release(self, str(self.props[DEVICE_IFACE]["Name"]))),
        ])
        obj.group_file = mock.group_file
