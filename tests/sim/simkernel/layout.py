# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where things appear in the simulated sys/, dev/ and proc/, and what the attributes contain.

The shapes follow Debian's 6.1 kernel (KERNEL.md): devices under /sys/devices, bus views as
relative symlinks, driver directories with bind/unbind, /sys/kernel/iommu_groups, the vfio class
and /dev/vfio. Every function here runs with the model's lock held; the semantics of writes live
in model.py, this file only lays out files and wires them to the model.
"""

import itertools

VFIO_MAJOR = 243
VFIO_DEV_MAJOR = 240
_minors = itertools.count(0)

# IORESOURCE_* flags as /sys/.../resource prints them.
IORESOURCE_MEM = 0x200
IORESOURCE_SIZEALIGN = 0x40000
PCI_RESOURCE_LINES = 13  # six BARs, the ROM and the SR-IOV BARs of a non-bridge


def _rw(kernel, path, read, write, mode=0o644):
    return kernel.tree.file(path, lambda: read().encode(), write, mode=mode)


def publish_skeleton(kernel):
    t = kernel.tree
    for d in ("/sys/devices/pci0000:00", "/sys/devices/platform", "/sys/devices/virtual",
              "/sys/kernel/iommu_groups", "/sys/module", "/sys/class/vfio", "/sys/class/vfio-dev",
              "/sys/class/net", "/sys/class/iommu", "/sys/class/graphics", "/sys/class/drm",
              "/sys/class/block", "/sys/block", "/sys/firmware", "/dev/vfio"):
        t.mkdir(d)
    t.const("/sys/devices/pci0000:00/uevent", "")
    for bus in kernel.buses.values():
        _publish_bus(kernel, bus)
    if kernel.iommu:
        t.mkdir("/sys/devices/virtual/iommu/dmar0")
        t.link("/sys/class/iommu/dmar0", "/sys/devices/virtual/iommu/dmar0")
    # The container node: every open is a new container, so any number of opens succeed.
    t.file("/dev/vfio/vfio", lambda: b"", lambda data: len(data), mode=0o666, size=0)
    t.mkdir("/sys/devices/virtual/misc/vfio")
    t.const("/sys/devices/virtual/misc/vfio/dev", "10:196")
    _publish_proc(kernel)


def _publish_bus(kernel, bus):
    t = kernel.tree
    base = "/sys/bus/" + bus.name
    t.mkdir(base + "/devices")
    t.mkdir(base + "/drivers")
    _rw(kernel, base + "/drivers_autoprobe", lambda: "%d\n" % bus.autoprobe,
        lambda data: kernel.write_autoprobe(bus.name, data))
    t.file(base + "/drivers_probe", None, lambda data: kernel.write_drivers_probe(bus.name, data))
    t.file(base + "/uevent", None, lambda data: len(data))
    if bus.name == "pci":
        t.file(base + "/rescan", None, lambda data: kernel.write_rescan(bus.name, data))
        t.mkdir(base + "/slots")


def _publish_proc(kernel):
    t = kernel.tree
    t.const("/proc/self/mountinfo", "\n".join([
        "21 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro",
        "22 21 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw",
        "23 21 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:3 - proc proc rw",
        "24 21 0:5 / /dev rw,nosuid,relatime shared:4 - devtmpfs udev rw,mode=755",
        "25 21 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,mode=755"]))
    t.const("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority")
    t.const("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-56-amd64 root=/dev/vda1 ro "
            "intel_iommu=on iommu=pt")
    t.const("/proc/sys/kernel/osrelease", "6.1.0-56-amd64")
    t.file("/proc/iomem", lambda: _locked(kernel, _iomem).encode(), None, mode=0o444)
    t.mkdir("/proc/self/fd")


def _locked(kernel, show):
    """A show callback that walks the model (reads come from FUSE threads, outside the lock)."""
    with kernel.lock:
        return show(kernel)


def _iomem(kernel):
    """/proc/iomem with every PCI memory BAR, named by its device, and inside it the driver
    bound to it (request_mem_region by the driver's name) and any firmware framebuffer."""
    lines = ["00000000-00000fff : Reserved", "00001000-0009fbff : System RAM",
             "00100000-3ffdffff : System RAM", "c0000000-febfffff : PCI Bus 0000:00"]
    regions = kernel.console.iomem_regions()  # firmware framebuffers, inside a GPU's BAR
    bars = sorted((start, end, dev) for dev in kernel.buses["pci"].devices.values()
                  for _, start, end, flags in dev.resources if flags & IORESOURCE_MEM)
    for start, end, dev in bars:
        lines.append("  %08x-%08x : %s" % (start, end, dev.name))
        if dev.bound_driver and not dev.bound_driver.startswith("vfio"):
            lines.append("    %08x-%08x : %s" % (start, end, dev.bound_driver))
        lines += ["    %08x-%08x : %s" % r for r in regions if start <= r[0] and r[1] <= end]
    return "\n".join(lines) + "\n"


def publish_driver(kernel, drv):
    t = kernel.tree
    base = "/sys/bus/%s/drivers/%s" % (drv.bus, drv.name)
    t.mkdir(base)
    t.file(base + "/bind", None, lambda data: kernel.write_bind(drv, data))
    t.file(base + "/unbind", None, lambda data: kernel.write_unbind(drv, data))
    t.file(base + "/uevent", None, lambda data: len(data))
    if drv.bus == "pci":
        t.file(base + "/new_id", None, lambda data: kernel.write_new_id(drv, data))
        t.file(base + "/remove_id", None, lambda data: len(data))
    module = "/sys/module/" + drv.module
    t.const(module + "/initstate", "live")
    t.const(module + "/refcnt", "0")
    t.link(module + "/drivers/%s:%s" % (drv.bus, drv.name), base)
    t.link(base + "/module", module)


def _pci_modalias(dev):
    c = dev.class_code
    return "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X" % (
        dev.vendor, dev.device, dev.subvendor, dev.subdevice, c >> 16, (c >> 8) & 0xFF, c & 0xFF)


def _modalias(dev):
    if dev.bus == "pci":
        return _pci_modalias(dev)
    if dev.compatible:
        return "of:N%sT(null)C%s" % (dev.base_name.split(".")[-1], dev.compatible[0])
    return "platform:" + dev.base_name


def uevent_env(dev, action):
    """The environment the bus's uevent callback adds (dev_uevent + pci_uevent)."""
    env = {"SUBSYSTEM": dev.bus}
    # At KOBJ_UNBIND time dev->driver is already NULL, so no DRIVER key.
    if dev.driver is not None and action != "unbind":
        env["DRIVER"] = dev.driver.name
    if dev.override is not None and dev.bus == "platform":
        env["DRIVER_OVERRIDE"] = dev.override
    if dev.bus == "pci":
        env["PCI_CLASS"] = "%X" % dev.class_code
        env["PCI_ID"] = "%04X:%04X" % (dev.vendor, dev.device)
        env["PCI_SUBSYS_ID"] = "%04X:%04X" % (dev.subvendor, dev.subdevice)
        env["PCI_SLOT_NAME"] = dev.name
    env["MODALIAS"] = _modalias(dev)
    return env


def _uevent_file(dev):
    env = uevent_env(dev, "show")
    env.pop("SUBSYSTEM")
    return "".join("%s=%s\n" % kv for kv in env.items())


def _config_space(dev):
    """The first 256 bytes of config space: ids, class, header type, subsystem ids."""
    cfg = bytearray(256)
    cfg[0:2] = dev.vendor.to_bytes(2, "little")
    cfg[2:4] = dev.device.to_bytes(2, "little")
    cfg[8] = dev.revision
    cfg[9:12] = dev.class_code.to_bytes(3, "little")
    cfg[14] = 1 if dev.is_bridge else 0
    if not dev.is_bridge:
        cfg[44:46] = dev.subvendor.to_bytes(2, "little")
        cfg[46:48] = dev.subdevice.to_bytes(2, "little")
    return bytes(cfg)


def _resource_file(dev):
    bars = {index: (start, end, flags) for index, start, end, flags in dev.resources}
    return "".join("0x%016x 0x%016x 0x%016x\n" % bars.get(i, (0, 0, 0))
                   for i in range(PCI_RESOURCE_LINES))


def publish_device(kernel, dev):
    t = kernel.tree
    p = dev.syspath
    t.mkdir(p)
    t.file(p + "/driver_override", lambda: kernel.read_override(dev).encode(),
           lambda data: kernel.write_override(dev, data), mode=0o644)
    _rw(kernel, p + "/uevent", lambda: _uevent_file(dev), lambda data: kernel.write_uevent(dev, data))
    t.const(p + "/modalias", _modalias(dev))
    t.link(p + "/subsystem", "/sys/bus/" + dev.bus)
    t.link("/sys/bus/%s/devices/%s" % (dev.bus, dev.name), p)
    t.mkdir(p + "/power")
    t.const(p + "/power/control", "auto", mode=0o644)
    if dev.bus == "pci":
        _publish_pci_attributes(kernel, dev)
    if dev.group is not None:
        t.link(p + "/iommu_group", "/sys/kernel/iommu_groups/%d" % dev.group)
        t.link("/sys/kernel/iommu_groups/%d/devices/%s" % (dev.group, dev.name), p)
        if kernel.iommu:
            t.link(p + "/iommu", "/sys/devices/virtual/iommu/dmar0")


def _publish_pci_attributes(kernel, dev):
    t = kernel.tree
    p = dev.syspath
    for attr, value in (("vendor", dev.vendor), ("device", dev.device),
                        ("subsystem_vendor", dev.subvendor), ("subsystem_device", dev.subdevice)):
        t.const("%s/%s" % (p, attr), "0x%04x" % value)
    t.const(p + "/class", "0x%06x" % dev.class_code)
    t.const(p + "/revision", "0x%02x" % dev.revision)
    t.const(p + "/irq", "0")
    t.const(p + "/numa_node", "-1", mode=0o644)
    t.const(p + "/local_cpulist", "0-1")
    t.const(p + "/enable", "1", mode=0o600)
    t.const(p + "/d3cold_allowed", "1", mode=0o644)
    t.file(p + "/resource", lambda: _resource_file(dev).encode(), None, mode=0o444)
    config = _config_space(dev)
    t.file(p + "/config", lambda: config, None, mode=0o644, size=256)
    t.file(p + "/remove", None, lambda data: kernel.write_remove(dev, data))
    t.file(p + "/rescan", None, lambda data: len(data))
    if (dev.class_code >> 8) == 0x0300 and dev.boot_vga is not None:
        t.const(p + "/boot_vga", "%d" % dev.boot_vga)
    if dev.totalvfs is not None:
        t.const(p + "/sriov_totalvfs", "%d" % dev.totalvfs)
        t.const(p + "/sriov_numvfs", "%d" % dev.numvfs)
        t.const(p + "/sriov_drivers_autoprobe", "1")


def unpublish_device(kernel, dev):
    t = kernel.tree
    t.remove("/sys/bus/%s/devices/%s" % (dev.bus, dev.name))
    if dev.group is not None:
        t.remove("/sys/kernel/iommu_groups/%d/devices/%s" % (dev.group, dev.name))
    t.remove(dev.syspath)


def clone_device(dev):
    """A fresh Device with the same identity, for re-enumeration after `remove`."""
    return type(dev)(dev.bus, dev.name, dev.syspath, dev.parent, dev.vendor, dev.device,
                 dev.subvendor, dev.subdevice, dev.class_code, dev.revision, dev.group,
                 dev.ifname, dev.netdev_up, dev.boot_vga, dev.totalvfs, dev.numvfs,
                 dev.resources, dev.pcie_port, dev.compatible)


def publish_group(kernel, group):
    base = "/sys/kernel/iommu_groups/%d" % group.id
    kernel.tree.mkdir(base + "/devices")
    kernel.tree.const(base + "/type", "DMA-FQ")
    kernel.tree.const(base + "/reserved_regions", "0x00000000fee00000 0x00000000feefffff msi")


def unpublish_group(kernel, group):
    kernel.tree.remove("/sys/kernel/iommu_groups/%d" % group.id)


def add_driver_links(kernel, dev):
    """driver_sysfs_add: both directions of the binding."""
    drv = "/sys/bus/%s/drivers/%s" % (dev.bus, dev.driver.name)
    kernel.tree.link(drv + "/" + dev.name, dev.syspath)
    kernel.tree.link(dev.syspath + "/driver", drv)


def remove_driver_links(kernel, dev, drv):
    kernel.tree.remove("/sys/bus/%s/drivers/%s/%s" % (dev.bus, drv.name, dev.name))
    kernel.tree.remove(dev.syspath + "/driver")


def netdev_state(kernel, dev):
    """IFF_UP in flags and operstate, as `ip link set up/down` leaves them."""
    p = "%s/net/%s" % (dev.syspath, dev.ifname)
    up = dev.netdev_up
    kernel.tree.const(p + "/flags", "0x1003" if up else "0x1002", mode=0o644)
    kernel.tree.const(p + "/operstate", "up" if up else "down")


def add_netdev(kernel, dev):
    t = kernel.tree
    p = "%s/net/%s" % (dev.syspath, dev.ifname)
    t.mkdir(p)
    netdev_state(kernel, dev)
    t.const(p + "/type", "1")
    t.const(p + "/address", "52:54:00:12:34:%02x" % (sum(dev.name.encode()) & 0xFF))
    t.const(p + "/uevent", "INTERFACE=%s" % dev.ifname, mode=0o644)
    t.link(p + "/device", dev.syspath)
    t.link(p + "/subsystem", "/sys/class/net")
    t.link("/sys/class/net/" + dev.ifname, p)
    kernel.uevents.emit("add", p[len("/sys"):], {"SUBSYSTEM": "net", "INTERFACE": dev.ifname})


def remove_netdev(kernel, dev):
    p = "%s/net/%s" % (dev.syspath, dev.ifname)
    kernel.uevents.emit("remove", p[len("/sys"):], {"SUBSYSTEM": "net", "INTERFACE": dev.ifname})
    kernel.tree.remove("/sys/class/net/" + dev.ifname)
    kernel.tree.remove(dev.syspath + "/net")


def add_group_node(kernel, group):
    """The group's char device: /sys/devices/virtual/vfio/<id> and /dev/vfio/<id>."""
    t = kernel.tree
    minor = next(_minors)
    sys_path = "/sys/devices/virtual/vfio/%d" % group.id
    t.mkdir(sys_path)
    t.const(sys_path + "/dev", "%d:%d" % (VFIO_MAJOR, minor))
    t.const(sys_path + "/uevent", "MAJOR=%d\nMINOR=%d\nDEVNAME=vfio/%d"
            % (VFIO_MAJOR, minor, group.id), mode=0o644)
    t.link(sys_path + "/subsystem", "/sys/class/vfio")
    t.link("/sys/class/vfio/%d" % group.id, sys_path)
    node = t.file("/dev/vfio/%d" % group.id, mode=0o600, size=0)
    node.read = lambda: kernel.group_read(group, node).encode()
    node.write = kernel.group_write  # opened O_RDWR like the char device; write(2) is EINVAL
    node.on_open = lambda handle: kernel.group_open(group, handle)
    node.on_release = lambda handle: kernel.group_release(group, handle)
    group.node = node
    group.open_file = None
    kernel.uevents.emit("add", sys_path[len("/sys"):], {
        "SUBSYSTEM": "vfio", "MAJOR": str(VFIO_MAJOR), "MINOR": str(minor),
        "DEVNAME": "vfio/%d" % group.id})


def remove_group_node(kernel, group):
    """The node goes; an fd still open on it keeps working only to report ENODEV."""
    t = kernel.tree
    sys_path = "/sys/devices/virtual/vfio/%d" % group.id
    kernel.uevents.emit("remove", sys_path[len("/sys"):], {
        "SUBSYSTEM": "vfio", "DEVNAME": "vfio/%d" % group.id})
    t.remove("/dev/vfio/%d" % group.id)
    t.remove("/sys/class/vfio/%d" % group.id)
    t.remove(sys_path)
    group.node = None
    group.open_file = None


def add_vfio_dev(kernel, dev):
    t = kernel.tree
    p = "%s/vfio-dev/%s" % (dev.syspath, dev.vfio_dev)
    t.mkdir(p)
    t.const(p + "/dev", "%d:%d" % (VFIO_DEV_MAJOR, next(_minors)))
    t.link(p + "/subsystem", "/sys/class/vfio-dev")
    t.link("/sys/class/vfio-dev/" + dev.vfio_dev, p)
    kernel.uevents.emit("add", p[len("/sys"):], {"SUBSYSTEM": "vfio-dev"})


def remove_vfio_dev(kernel, dev):
    p = "%s/vfio-dev/%s" % (dev.syspath, dev.vfio_dev)
    kernel.uevents.emit("remove", p[len("/sys"):], {"SUBSYSTEM": "vfio-dev"})
    kernel.tree.remove("/sys/class/vfio-dev/" + dev.vfio_dev)
    kernel.tree.remove(dev.syspath + "/vfio-dev")
