# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ready-made machines. The standard one mirrors the QEMU q35 + intel-iommu rigs of KERNEL.md:
each device behind a plain root port is alone in its group (the port has its own), a root port
with ACS disabled shares its group with its endpoint, and everything behind a pcie-pci-bridge is
one group with the bridge.

  group  device        what                          driver at boot
  0      0000:00:00.0  host bridge                   -
  1      0000:00:01.0  root port                     pcieport
  2      0000:01:00.0  edu (1234:11e8)               - (no host driver exists)
  3      0000:00:02.0  root port                     pcieport
  4      0000:02:00.0  e1000e (8086:10d3), enp2s0    e1000e
  5      0000:00:03.0  root port, ACS off            pcieport (stays when the group moves)
  5      0000:03:00.0  e1000 (8086:100e), enp3s0     e1000
  6      0000:00:04.0  root port                     pcieport
  7      0000:04:00.0  pcie-pci-bridge               - (a bridge: stays)
  7      0000:05:01.0  edu                           -
  7      0000:05:02.0  e1000, ens2                   e1000
  8,10   0000:00:05.0, 0000:00:06.0  root ports      pcieport
  9      0000:06:00.0  edu                           -
  11     0000:07:00.0  e1000e, enp7s0                e1000e
  -      serial8250    platform device, no group     serial8250
"""

from .gpu import DrmDriver, FirmwareFbDriver
from .model import Device, Driver, Kernel, NetDriver, PortDriver, StubDriver, VfioDriver

EDU = (0x1234, 0x11E8)
E1000 = (0x8086, 0x100E)
E1000E = (0x8086, 0x10D3)
IORESOURCE_MEM_BAR = 0x40200  # IORESOURCE_MEM | IORESOURCE_SIZEALIGN


def standard_drivers():
    return [PortDriver("pcieport", module="pcieport"),
            NetDriver("e1000", ids=[E1000]),
            NetDriver("e1000e", ids=[E1000E]),
            StubDriver("pci-stub"),
            VfioDriver("vfio-pci"),
            Driver("serial8250", bus="platform")]


class Builder:
    """Adds devices to a kernel with the parent's syspath and a distinct BAR each."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.next_bar = 0xFE000000

    def pci(self, name, ids=(0x1B36, 0x0001), class_code=0xFF0000, parent=None, group=None,
            probe=True, **kwargs):
        base = self.kernel.device(parent).syspath if parent else "/sys/devices/pci0000:00"
        resources = kwargs.pop("resources", None)
        if resources is None:
            resources = [(0, self.next_bar, self.next_bar + 0xFFFFF, IORESOURCE_MEM_BAR)]
            self.next_bar += 0x100000
        dev = Device("pci", name, base + "/" + name, parent=parent, vendor=ids[0],
                     device=ids[1], subvendor=0x1AF4, subdevice=0x1100, class_code=class_code,
                     group=group, resources=resources, **kwargs)
        return self.kernel.add_device(dev, probe=probe)

    def root_port(self, name, group):
        return self.pci(name, (0x1B36, 0x000C), 0x060400, group=group, pcie_port=True,
                        resources=[])

    def edu(self, name, parent, group, **kwargs):
        return self.pci(name, EDU, 0x00FF00, parent=parent, group=group, **kwargs)

    def nic(self, name, ids, ifname, parent, group, **kwargs):
        return self.pci(name, ids, 0x020000, parent=parent, group=group, ifname=ifname, **kwargs)

    def platform(self, name, group=None, compatible=()):
        dev = Device("platform", name, "/sys/devices/platform/" + name, group=group,
                     compatible=compatible)
        return self.kernel.add_device(dev)


def standard(uevent_socket=None, **kernel_options):
    k = Kernel(uevent_socket, **kernel_options)
    for drv in standard_drivers():
        k.register_driver(drv)
    b = Builder(k)
    b.pci("0000:00:00.0", (0x8086, 0x29C0), 0x060000, group=0, resources=[])
    b.root_port("0000:00:01.0", 1)
    b.edu("0000:01:00.0", "0000:00:01.0", 2)
    b.root_port("0000:00:02.0", 3)
    b.nic("0000:02:00.0", E1000E, "enp2s0", "0000:00:02.0", 4)
    b.root_port("0000:00:03.0", 5)
    b.nic("0000:03:00.0", E1000, "enp3s0", "0000:00:03.0", 5)
    b.root_port("0000:00:04.0", 6)
    b.pci("0000:04:00.0", (0x1B36, 0x000E), 0x060400, parent="0000:00:04.0", group=7,
          resources=[])
    b.edu("0000:05:01.0", "0000:04:00.0", 7)
    b.nic("0000:05:02.0", E1000, "ens2", "0000:04:00.0", 7)
    b.root_port("0000:00:05.0", 8)
    b.edu("0000:06:00.0", "0000:00:05.0", 9)
    b.root_port("0000:00:06.0", 10)
    b.nic("0000:07:00.0", E1000E, "enp7s0", "0000:00:06.0", 11)
    b.platform("serial8250")
    return k


BOCHS = (0x1234, 0x1111)
BOOT_GPU = "0000:00:07.0"
SECOND_GPU = "0000:08:00.0"
IORESOURCE_MEM = 0x200


def bochs_drm():
    return DrmDriver("bochs-drm", ids=[BOCHS])


def gpu(uevent_socket=None, firmware="vesa", native=False, reserve_secondary=False,
        **kernel_options):
    """The standard machine plus the VM tier's vga profiles, booted with bochs not loaded:

      group  device        what                                        at boot
      12     0000:00:07.0  boot VGA 1234:1111, class 0x030000,         - (fb: vesafb/efifb)
                           boot_vga=1, BAR0 c0000000-c0ffffff
      13     0000:00:08.0  root port                                   pcieport
      14     0000:08:00.0  bochs-display 1234:1111, class 0x038000,    -
                           BAR0 c1000000-c1ffffff
      -      vesa-framebuffer.0 (or efi-framebuffer.0)                 vesafb: fb0 over
                           c0000000-c03e7fff, inside the boot GPU's BAR0; fbcon on it (vtcon1)

    native=True loads bochs-drm at boot, as a desktop would (kernel.register_driver(bochs_drm())
    does the same later): its probe of the boot GPU removes the firmware framebuffer, its own
    fb0 takes the console over, and the secondary gets fb1. reserve_secondary fences the
    secondary GPU for VFIO at boot (driver_override vfio-pci, as a udev rule would set it), so
    no host driver ever binds it.
    """
    k = standard(uevent_socket, **kernel_options)
    b = Builder(k)
    b.pci(BOOT_GPU, BOCHS, 0x030000, group=12, boot_vga=1,
          resources=[(0, 0xC0000000, 0xC0FFFFFF, IORESOURCE_MEM_BAR),
                     (2, 0xC2114000, 0xC2114FFF, IORESOURCE_MEM_BAR)])
    b.root_port("0000:00:08.0", 13)
    second = b.pci(SECOND_GPU, BOCHS, 0x038000, parent="0000:00:08.0", group=14, probe=False,
                   resources=[(0, 0xC1000000, 0xC1FFFFFF, IORESOURCE_MEM_BAR),
                              (2, 0xC2000000, 0xC2000FFF, IORESOURCE_MEM_BAR)])
    if reserve_secondary:
        second.override = "vfio-pci"
    # sysfb_init registers the framebuffer the firmware set up; the built-in driver binds it.
    k.register_driver(FirmwareFbDriver(firmware))
    fbdev = Device("platform", firmware + "-framebuffer.0",
                   "/sys/devices/platform/%s-framebuffer.0" % firmware,
                   resources=[(0, 0xC0000000, 0xC03E7FFF, IORESOURCE_MEM)])
    with k.lock:
        k.console.sysfb = fbdev.name
    k.add_device(fbdev)
    if native:
        k.register_driver(bochs_drm())
    return k


MACHINES = {"standard": standard, "gpu": gpu,
            "gpu-native": lambda sock=None: gpu(sock, native=True)}
