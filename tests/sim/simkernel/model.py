# SPDX-License-Identifier: LGPL-2.1-or-later
"""A model of the Linux driver core as vfiod sees it through sysfs (KERNEL.md has the facts).

Everything reacts synchronously to writes, as the kernel's sysfs stores do: by the time a write
returns, the driver links, the VFIO group node and the netdev children are what the kernel would
show. The facts modelled, with the kernel code they come from:

driver_override (drivers/base/driver.c driver_set_override, pci-sysfs.c)
  - a write of >= PAGE_SIZE - 1 (4095) bytes is EINVAL; the value ends at the first NUL or "\\n";
    "" / "\\n" / all-NUL clears; unset reads "(null)".
  - PCI match: an override naming another driver matches nothing; naming this driver matches even
    without an id (pci_device_id_any). platform: only strcmp with the driver's name.
  - writing it never unbinds or probes. On 6.1 both show and store take device_lock, so they block
    while that device's unbind is stuck in drv->remove (override_takes_device_lock).
bus attributes (drivers/base/bus.c, dd.c)
  - drivers_autoprobe: first character '0' turns it off, anything else on. It gates only new
    devices and newly registered drivers; bind, drivers_probe and new_id work regardless.
  - drivers_probe: unknown device ENODEV; bound already -> success without doing anything; a
    probe that the driver refuses STILL RETURNS SUCCESS (really_probe returns the error positive
    and __device_attach_driver moves on); framework errors (negative) become EINVAL.
  - bind: unknown device or no match (including an override naming another driver) ENODEV;
    already bound EBUSY; the driver's probe error is returned, -EPROBE_DEFER as EAGAIN.
  - unbind: ENODEV unless bound to this driver. Takes device_lock; the driver links go away
    before drv->remove runs (which is where a real unbind can hang), KOBJ_UNBIND comes last.
VFIO (drivers/vfio)
  - vfio-pci matches only through driver_override (override-only id table since 5.15) and
    refuses bridges, devices without an IOMMU group and denylisted devices (EINVAL), and PFs with
    VFs enabled (EBUSY).
  - /dev/vfio/<group> appears with the first vfio-bound member (uevent add
    /devices/virtual/vfio/<group>, then vfio-dev/vfioN, then bind) and disappears with the last.
    Only one open at a time (EBUSY). Its content here is "flags=<VFIO_GROUP_FLAGS>\\n": VIABLE when
    no member is bound to a driver that uses kernel DMA (vfio_group_get_status).
Not modelled: SET_CONTAINER and DMA ownership claims (no ioctls through FUSE), SR-IOV VF creation,
AMBA, new_id's remove_id, device fds.
"""

import contextlib
import errno
import itertools
import threading
import time

from . import layout
from .console import Console
from .tree import Tree, oserror
from .uevent import UeventSender

PAGE_SIZE = 4096
EPROBE_DEFER = 517
VFIO_GROUP_FLAGS_VIABLE = 1 << 0
VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1


class Driver:
    """A registered driver. ids: (vendor, device) pairs for PCI, compatible strings for platform."""

    dma_safe = False  # driver_managed_dma: binding it does not claim kernel DMA on the group
    override_only = False  # id table matches nothing unless driver_override names the driver

    def __init__(self, name, bus="pci", ids=(), module=None):
        self.name = name
        self.bus = bus
        self.ids = set(ids)
        self.dynids = set()
        self.module = module or name.replace("-", "_")

    def table_match(self, dev):
        if self.override_only:
            return False
        if dev.bus == "pci":
            return (dev.vendor, dev.device) in self.ids
        return bool(self.ids & set(dev.compatible)) or dev.base_name == self.name

    def probe(self, kernel, dev):
        """0, or the positive errno the driver's probe returns."""
        return 0

    def bound(self, kernel, dev):
        """Side effects of a successful probe (children, nodes)."""

    def remove(self, kernel, dev):
        """Side effects of drv->remove."""


class NetDriver(Driver):
    """A NIC driver (e1000-like): its probe registers a netdev, its remove unregisters it."""

    def bound(self, kernel, dev):
        if dev.ifname:
            layout.add_netdev(kernel, dev)

    def remove(self, kernel, dev):
        if dev.ifname:
            layout.remove_netdev(kernel, dev)


class PortDriver(Driver):
    """pcieport: binds PCIe root/downstream ports, manages no DMA of its own."""

    dma_safe = True

    def table_match(self, dev):
        return dev.pcie_port


class StubDriver(Driver):
    """pci-stub: claims devices (by ids= or override) and does nothing with them."""

    dma_safe = True


# A few entries of vfio_pci_dev_below_3 / the denylist (QAT, DSA, IAX) vfio-pci refuses.
VFIO_PCI_DENYLIST = {(0x8086, 0x0435), (0x8086, 0x37C8), (0x8086, 0x19E2), (0x8086, 0x0B25)}


class VfioDriver(Driver):
    """vfio-pci and vfio-platform: override-only, refuse what the real probe refuses, and own the
    group's /dev/vfio node while at least one member is bound."""

    dma_safe = True
    override_only = True

    def probe(self, kernel, dev):
        if dev.bus == "pci":
            if (dev.vendor, dev.device) in VFIO_PCI_DENYLIST:
                return errno.EINVAL
            if dev.is_bridge:
                return errno.EINVAL  # vfio_pci_probe: hdr_type != normal
            if dev.numvfs > 0:
                return errno.EBUSY
        if dev.group is None:
            return errno.EINVAL  # vfio_group_find_or_alloc without noiommu
        return 0

    def bound(self, kernel, dev):
        if dev.bus == "pci" and (dev.class_code >> 8) == 0x0300:
            kernel.console.remove_conflicting_pci(dev)  # vfio_pci_vga_init
        group = kernel.groups[dev.group]
        if group.vfio_members == 0:
            layout.add_group_node(kernel, group)
        group.vfio_members += 1
        dev.vfio_dev = "vfio%d" % next(kernel.vfio_dev_ids)
        layout.add_vfio_dev(kernel, dev)

    def remove(self, kernel, dev):
        group = kernel.groups[dev.group]
        layout.remove_vfio_dev(kernel, dev)
        dev.vfio_dev = None
        group.vfio_members -= 1
        if group.vfio_members == 0:
            layout.remove_group_node(kernel, group)


class Device:
    def __init__(self, bus, name, syspath, parent=None, vendor=0, device=0, subvendor=0,
                 subdevice=0, class_code=0xFF0000, revision=0, group=None, ifname=None,
                 netdev_up=False, boot_vga=None, totalvfs=None, numvfs=0, resources=(),
                 pcie_port=False, compatible=()):
        self.bus = bus
        self.name = name
        self.syspath = syspath  # "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"
        self.parent = parent  # name of the parent device on the same bus, or None
        self.vendor, self.device = vendor, device
        self.subvendor, self.subdevice = subvendor, subdevice
        self.class_code, self.revision = class_code, revision
        self.group = group  # IOMMU group number or None
        self.ifname, self.netdev_up = ifname, netdev_up
        self.boot_vga = boot_vga
        self.totalvfs, self.numvfs = totalvfs, numvfs
        self.resources = list(resources)  # (index, start, end, flags)
        self.pcie_port = pcie_port
        self.compatible = list(compatible)
        self.driver = None  # Driver; still set while drv->remove runs, as dev->driver is
        self.unbinding = False  # links removed, remove() not finished yet
        self.override = None
        self.vfio_dev = None
        self.present = True
        self.dlock = threading.Lock()  # device_lock()
        self.dlock_waiters = 0  # sysfs readers and writers blocked on dlock right now

    @property
    def is_bridge(self):
        return self.bus == "pci" and (self.class_code >> 8) in (0x0604, 0x0607, 0x0609)

    @property
    def base_name(self):
        return self.name.rsplit(".", 1)[0] if self.bus == "platform" else self.name

    @property
    def bound_driver(self):
        """What the `driver` link shows: nothing while the unbind is in progress."""
        return None if self.driver is None or self.unbinding else self.driver.name


class Group:
    def __init__(self, gid):
        self.id = gid
        self.members = []  # Device
        self.vfio_members = 0
        self.node = None  # tree File for /dev/vfio/<id> while it exists
        self.open_file = None  # the one open of the node, as the kernel allows
        self.opens = 0  # successful opens over the lifetime, for tests
        self.container_set = False


class Bus:
    def __init__(self, name):
        self.name = name
        self.autoprobe = True
        self.drivers = {}  # name -> Driver, in registration order (the probe order)
        self.devices = {}  # name -> Device


class Hang:
    """Fault: the next unbind of one device blocks inside drv->remove until released."""

    def __init__(self):
        self.entered = threading.Event()  # the unbind is blocked now
        self.finished = threading.Event()  # and has gone on since
        self._released = threading.Event()

    def release(self):
        self._released.set()

    def block(self):
        self.entered.set()
        self._released.wait()
        self.finished.set()


def _sysfs_name(data):
    """What bus_find_device_by_name compares: up to the first NUL, one trailing newline ignored."""
    s = data[:PAGE_SIZE].split(b"\0", 1)[0].decode("latin-1")
    return s[:-1] if s.endswith("\n") else s


class ModelLock:
    """The model's one lock (re-entrant). When the outermost holder lets go, the names removed
    meanwhile are handed to the FUSE layer, outside the lock (the kernel may have to wait for a
    lookup that needs it) and before the write that removed them returns."""

    def __init__(self, kernel):
        self.kernel = kernel
        self._lock = threading.RLock()
        self._local = threading.local()

    def __enter__(self):
        self._lock.acquire()
        self._local.depth = getattr(self._local, "depth", 0) + 1
        return self

    def __exit__(self, *exc):
        self._local.depth -= 1
        unlinked = None
        if self._local.depth == 0 and self.kernel.tree.unlinked:
            unlinked, self.kernel.tree.unlinked = self.kernel.tree.unlinked, []
        self._lock.release()
        invalidate = self.kernel.invalidate
        if unlinked and invalidate:
            invalidate(unlinked)
        return False


class Kernel:
    def __init__(self, uevent_socket=None, override_takes_device_lock=True, iommu=True):
        self.tree = Tree()
        self.invalidate = None  # set by the FUSE layer: called with the names removed
        self.lock = ModelLock(self)  # guards model and tree; never held while blocking
        self.buses = {"pci": Bus("pci"), "platform": Bus("platform")}
        self.groups = {}
        self.uevents = UeventSender(uevent_socket)
        self.override_takes_device_lock = override_takes_device_lock
        self.iommu = iommu
        self.vfio_dev_ids = itertools.count(0)
        self.probe_failures = {}  # (device, driver) -> [errno, remaining or None]
        self.hangs = {}  # device name -> Hang
        self.probe_hangs = {}  # (device name, driver name) -> Hang
        self.all_hangs = []
        self.chown_log = []  # (path, uid, gid)
        self.chmod_log = []  # (path, mode)
        self.removed = {}  # name -> Device removed through its `remove` attribute (for rescan)
        with self.lock:
            layout.publish_skeleton(self)
            self.console = Console(self)

    # ----- topology (the machine at boot) and hotplug -----

    def register_driver(self, drv):
        """Registers a driver (module load): with autoprobe on, it binds what it matches."""
        with self.lock:
            bus = self.buses[drv.bus]
            bus.drivers[drv.name] = drv
            layout.publish_driver(self, drv)
            autoprobe = bus.autoprobe
            candidates = list(bus.devices.values())
        if autoprobe:
            for dev in candidates:
                self._attach_one(drv, dev)

    def add_device(self, dev, probe=True):
        """Adds a device (boot or hot-add): uevent add, then the initial probe when autoprobe is on."""
        with self.lock:
            bus = self.buses[dev.bus]
            if dev.name in bus.devices:
                raise ValueError("duplicate device " + dev.name)
            bus.devices[dev.name] = dev
            if dev.group is not None:
                group = self.groups.get(dev.group)
                if group is None:
                    group = self.groups[dev.group] = Group(dev.group)
                    layout.publish_group(self, group)
                group.members.append(dev)
            layout.publish_device(self, dev)
            self.emit(dev, "add")
            autoprobe = probe and bus.autoprobe
        if autoprobe:
            with dev.dlock, self.lock:
                if dev.driver is None:
                    self._device_attach(dev)
        return dev

    def probe_late(self, name, timeout=10):
        """The first probe of a device added with probe=False, running late (asynchronous
        probing, or a driver module that udev loads for the new device): it takes the device lock,
        waits there until another thread blocks on that lock (vfiod reading driver_override,
        which takes it on 6.1), binds whatever matches then, and lets go. Returns the driver
        bound (or None); raises TimeoutError when nobody came."""
        dev = self.device(name)
        with dev.dlock:
            deadline = time.monotonic() + timeout
            while dev.dlock_waiters == 0:
                if time.monotonic() > deadline:
                    raise TimeoutError("nobody waited for the device lock of " + name)
                time.sleep(0.002)
            with self.lock:
                if dev.driver is None:
                    self._device_attach(dev)
                return dev.bound_driver

    def remove_device(self, name, bus="pci"):
        """Hot-unplug: children first, the driver released (which can hang like an unbind)."""
        with self.lock:
            dev = self.buses[bus].devices.get(name)
            if dev is None:
                raise KeyError(name)
            children = [d.name for d in self.buses[bus].devices.values() if d.parent == name]
        for child in children:
            self.remove_device(child, bus)
        with dev.dlock:
            self._release_driver(dev)
            with self.lock:
                self._unlink_device(dev)
        return dev

    def unregister_device_locked(self, dev):
        """device_unregister from inside another device's probe (platform_device_unregister of a
        firmware framebuffer by the aperture code). The caller holds the model's lock; the
        device's own lock is not taken, which only matters for a concurrent sysfs access to that
        very device."""
        self._release_driver(dev)
        self._unlink_device(dev)

    def _unlink_device(self, dev):
        del self.buses[dev.bus].devices[dev.name]
        dev.present = False
        if dev.group is not None:
            group = self.groups[dev.group]
            group.members.remove(dev)
            if not group.members:
                layout.unpublish_group(self, group)
                del self.groups[dev.group]
        self.emit(dev, "remove")
        layout.unpublish_device(self, dev)

    def set_netdev_up(self, name, up):
        """Another tool brings the device's network interface up or down."""
        with self.lock:
            dev = self.buses["pci"].devices[name]
            dev.netdev_up = up
            if self.tree.exists("%s/net/%s" % (dev.syspath, dev.ifname)):
                layout.netdev_state(self, dev)

    # ----- fault injection -----

    def fail_probe(self, device, driver, err=errno.EIO, times=None):
        """The probe of device by driver fails with err (positive: the driver's own refusal, as
        drivers do; negative: a framework error such as -EBUSY from IOMMU ownership)."""
        with self.lock:
            self.probe_failures[(device, driver)] = [err, times]

    def hang_unbind(self, device):
        """The next unbind of device blocks inside drv->remove until .release()."""
        hang = Hang()
        with self.lock:
            self.hangs[device] = hang
            self.all_hangs.append(hang)
        return hang

    def hang_probe(self, device, driver):
        """The next probe of device by driver (through drivers_probe or the driver's bind file)
        blocks inside drv->probe, holding only the device lock, until .release(); the probe then
        binds as usual."""
        hang = Hang()
        with self.lock:
            self.probe_hangs[(device, driver)] = hang
            self.all_hangs.append(hang)
        return hang

    def release_all_hangs(self):
        with self.lock:
            hangs = list(self.all_hangs)
            self.hangs.clear()
            self.probe_hangs.clear()
        for hang in hangs:
            hang.release()

    # ----- reading state (never takes a device lock, so tests can look during a hang) -----

    def device(self, name, bus="pci"):
        with self.lock:
            return self.buses[bus].devices.get(name)

    def state(self, name, bus="pci"):
        """(driver as the `driver` link shows it, override) or None when the device is gone."""
        with self.lock:
            dev = self.buses[bus].devices.get(name)
            return None if dev is None else (dev.bound_driver, dev.override)

    def snapshot(self, bus="pci"):
        with self.lock:
            devices = {n: (d.bound_driver, d.override) for n, d in self.buses[bus].devices.items()}
            return {"autoprobe": self.buses[bus].autoprobe, "devices": devices}

    def group_flags(self, group):
        """VFIO_GROUP_GET_STATUS flags as vfio_group_get_status computes them."""
        with self.lock:
            if group.container_set:
                return VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE
            for dev in group.members:
                # dev->driver is set until remove() returns, and so is the DMA ownership claim.
                if dev.driver is not None and not dev.driver.dma_safe:
                    return 0
            return VFIO_GROUP_FLAGS_VIABLE

    def emit(self, dev, action, extra=None):
        env = layout.uevent_env(dev, action)
        env.update(extra or {})
        self.uevents.emit(action, dev.syspath[len("/sys"):], env)

    # ----- matching and probing (callers hold dev.dlock and self.lock) -----

    def match(self, drv, dev):
        """bus->match: pci_bus_match / platform_match with driver_override."""
        if drv.bus != dev.bus:
            return False
        if dev.override is not None:
            # PCI: a matching override stands in for an id (pci_device_id_any); platform: strcmp.
            return dev.override == drv.name
        if dev.bus == "pci" and (dev.vendor, dev.device) in drv.dynids:
            return True
        return drv.table_match(dev)

    def _probe(self, drv, dev):
        """really_probe: 0 bound, a positive errno the driver returned, or a negative framework
        error."""
        fault = self.probe_failures.get((dev.name, drv.name))
        if fault is not None:
            err, remaining = fault
            if remaining is not None:
                fault[1] -= 1
                if fault[1] <= 0:
                    del self.probe_failures[(dev.name, drv.name)]
            return err
        err = drv.probe(self, dev)
        if err:
            return err
        dev.driver = drv
        drv.bound(self, dev)
        layout.add_driver_links(self, dev)
        self.emit(dev, "bind")
        return 0

    def _device_attach(self, dev):
        """__device_attach: every matching driver in order until one binds. Returns 1 bound,
        0 nothing bound (refusals included), negative framework error."""
        for drv in list(self.buses[dev.bus].drivers.values()):
            if not self.match(drv, dev):
                continue
            r = self._probe(drv, dev)
            if r == 0:
                return 1
            if r < 0:
                return r
        return 0

    def _attach_one(self, drv, dev):
        """__driver_attach for one device (driver registration, new_id)."""
        with dev.dlock, self.lock:
            if dev.present and dev.driver is None and self.match(drv, dev):
                self._probe(drv, dev)

    def _release_driver(self, dev):
        """__device_release_driver; the caller holds dev.dlock. An armed Hang blocks here, with
        only the device lock held, between the link removal and drv->remove."""
        with self.lock:
            drv = dev.driver
            if drv is None:
                return
            dev.unbinding = True
            layout.remove_driver_links(self, dev, drv)
            hang = self.hangs.pop(dev.name, None)
        if hang is not None:
            hang.block()
        with self.lock:
            drv.remove(self, dev)
            dev.driver = None
            dev.unbinding = False
            self.emit(dev, "unbind")

    # ----- sysfs stores and shows (called by the attribute files) -----

    def _find(self, bus, data):
        dev = self.buses[bus].devices.get(_sysfs_name(data))
        if dev is None:
            raise oserror(errno.ENODEV)
        return dev

    @contextlib.contextmanager
    def _sysfs_device_lock(self, dev):
        """device_lock() as a sysfs show/store takes it, counted while it waits."""
        with self.lock:
            dev.dlock_waiters += 1
        try:
            dev.dlock.acquire()
        finally:
            with self.lock:
                dev.dlock_waiters -= 1
        try:
            yield
        finally:
            dev.dlock.release()

    def read_override(self, dev):
        if self.override_takes_device_lock:
            with self._sysfs_device_lock(dev):
                return self._show_override(dev)
        return self._show_override(dev)

    def _show_override(self, dev):
        with self.lock:
            return "%s\n" % ("(null)" if dev.override is None else dev.override)

    def write_override(self, dev, data):
        count = min(len(data), PAGE_SIZE)
        if count >= PAGE_SIZE - 1:
            raise oserror(errno.EINVAL)
        text = data[:count].split(b"\0", 1)[0].decode("latin-1")
        value = text.split("\n", 1)[0] or None  # "" and "\n" clear
        if self.override_takes_device_lock:
            with self._sysfs_device_lock(dev), self.lock:
                dev.override = value
        else:
            with self.lock:
                dev.override = value
        return count

    def write_autoprobe(self, bus, data):
        with self.lock:
            self.buses[bus].autoprobe = not data.startswith(b"0")
        return len(data)

    def write_drivers_probe(self, bus, data):
        with self.lock:
            dev = self._find(bus, data)
            if dev.driver is not None:  # bus_rescan_devices_helper: bound -> nothing to do
                return len(data)
        with dev.dlock:
            with self.lock:
                hang = None
                for drv in self.buses[dev.bus].drivers.values():
                    if dev.driver is None and self.match(drv, dev):
                        hang = self.probe_hangs.pop((dev.name, drv.name), None)
                        break
            if hang is not None:
                hang.block()
            with self.lock:
                if not dev.present:
                    raise oserror(errno.ENODEV)
                r = self._device_attach(dev) if dev.driver is None else 1
        if r < 0:
            raise oserror(errno.EINVAL)
        return len(data)

    def write_bind(self, drv, data):
        with self.lock:
            dev = self._find(drv.bus, data)
            if drv.name not in self.buses[drv.bus].drivers or not self.match(drv, dev):
                raise oserror(errno.ENODEV)
        with dev.dlock:
            with self.lock:
                hang = self.probe_hangs.pop((dev.name, drv.name), None) if dev.driver is None \
                    else None
            if hang is not None:
                hang.block()
            with self.lock:
                if not dev.present:
                    raise oserror(errno.ENODEV)
                if dev.driver is not None:
                    raise oserror(errno.EBUSY)
                r = self._probe(drv, dev)
        if r == EPROBE_DEFER or r == -EPROBE_DEFER:
            raise oserror(errno.EAGAIN)
        if r:
            raise oserror(abs(r))
        return len(data)

    def write_unbind(self, drv, data):
        with self.lock:
            dev = self._find(drv.bus, data)
            if dev.driver is not drv:
                raise oserror(errno.ENODEV)
        with dev.dlock:
            # Someone else may have unbound it while we waited for the lock: then nothing to do,
            # and the write still succeeds (device_release_driver_internal).
            with self.lock:
                still = dev.driver is drv
            if still:
                self._release_driver(dev)
        return len(data)

    def write_new_id(self, drv, data):
        fields = data[:PAGE_SIZE].split(b"\0", 1)[0].split()
        try:
            nums = [int(f, 16) for f in fields[:2]]
        except ValueError:
            raise oserror(errno.EINVAL)
        if len(nums) < 2:
            raise oserror(errno.EINVAL)
        key = (nums[0], nums[1])
        with self.lock:
            if key in drv.dynids or (not drv.override_only and key in drv.ids):
                raise oserror(errno.EEXIST)
            drv.dynids.add(key)
            candidates = list(self.buses[drv.bus].devices.values())
        # driver_attach ignores drivers_autoprobe: every matching unbound device binds now.
        for dev in candidates:
            self._attach_one(drv, dev)
        return len(data)

    def write_remove(self, dev, data):
        if data[:1] not in (b"1", b"y", b"Y"):
            return len(data)
        self.remove_device(dev.name, dev.bus)
        with self.lock:
            self.removed[dev.name] = dev
        return len(data)

    def write_rescan(self, bus, data):
        """Re-enumerates devices removed through their `remove` attribute, parents first."""
        if data[:1] not in (b"1", b"y", b"Y"):
            return len(data)
        with self.lock:
            pending = list(self.removed.values())
            self.removed.clear()
        pending.sort(key=lambda d: d.syspath.count("/"))
        for old in pending:
            self.add_device(layout.clone_device(old))
        return len(data)

    def write_uevent(self, dev, data):
        """kobject_synth_uevent: emits the event, changes nothing."""
        action = data[:PAGE_SIZE].split(b"\0", 1)[0].decode("latin-1").split()
        valid = ("add", "remove", "change", "move", "online", "offline", "bind", "unbind")
        if not action or action[0] not in valid:
            raise oserror(errno.EINVAL)
        with self.lock:
            self.emit(dev, action[0], {"SYNTH_UUID": "0"})
        return len(data)

    def chown(self, node, uid, gid):
        with self.lock:
            if uid != -1 and uid != 0xFFFFFFFF:
                node.uid = uid
            if gid != -1 and gid != 0xFFFFFFFF:
                node.gid = gid
            self.chown_log.append((node.path(), uid, gid))

    def chmod(self, node, mode):
        with self.lock:
            node.mode = (node.mode & ~0o7777) | (mode & 0o7777)
            self.chmod_log.append((node.path(), mode & 0o7777))

    # ----- the VFIO group node -----

    def group_open(self, group, handle):
        with self.lock:
            if group.node is None or group.node.dead:
                raise oserror(errno.ENODEV)
            if group.open_file is not None:
                raise oserror(errno.EBUSY)
            group.open_file = handle
            group.opens += 1

    def group_release(self, group, handle):
        with self.lock:
            if group.open_file is handle:
                group.open_file = None

    def group_write(self, data):
        raise oserror(errno.EINVAL)  # vfio_group_fops has no write

    def group_read(self, group, node):
        if node.dead:
            raise oserror(errno.ENODEV)
        return "flags=%d\n" % self.group_flags(group)

    def close(self):
        self.release_all_hangs()
        self.uevents.close()
