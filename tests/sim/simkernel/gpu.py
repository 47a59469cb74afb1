# SPDX-License-Identifier: LGPL-2.1-or-later
"""Display drivers for the console scenarios (console.py has the rules they follow).

FirmwareFbDriver is vesafb or efifb: the platform driver of the framebuffer device sysfb
registers at boot over the memory the firmware left the display mode in. DrmDriver is bochs-drm:
a native driver that first removes conflicting firmware framebuffers, then registers a DRM card
and its fbdev emulation ("bochs-drmdrmfb").
"""

from .model import Driver

DRM_MAJOR = 226


class FirmwareFbDriver(Driver):
    def __init__(self, kind):
        super().__init__(kind + "-framebuffer", bus="platform", module=kind + "fb")
        self.fix_id = {"vesa": "VESA VGA", "efi": "EFI VGA"}[kind]
        self.region = kind + "fb"  # the name its probe requests the memory region under

    def bound(self, kernel, dev):
        _, start, end, _ = dev.resources[0]
        kernel.console.register_fb(dev, self.fix_id, self.region, (start, end))

    def remove(self, kernel, dev):
        for fb in kernel.console.fbs_of(dev):
            kernel.console.unregister_fb(fb)


class DrmDriver(Driver):
    def __init__(self, name, ids):
        super().__init__(name, ids=ids, module=name.split("-")[0])
        self.cards = {}  # device name -> DRM minor

    def probe(self, kernel, dev):
        # drm_aperture_remove_conflicting_pci_framebuffers, before the driver touches the BARs.
        kernel.console.remove_conflicting_pci(dev)
        return 0

    def bound(self, kernel, dev):
        t = kernel.tree
        minor = next(m for m in range(64) if m not in self.cards.values())
        self.cards[dev.name] = minor
        card = "card%d" % minor
        p = "%s/drm/%s" % (dev.syspath, card)
        t.mkdir(p)
        t.const(p + "/dev", "%d:%d" % (DRM_MAJOR, minor))
        t.const(p + "/uevent", "MAJOR=%d\nMINOR=%d\nDEVNAME=dri/%s" % (DRM_MAJOR, minor, card),
                mode=0o644)
        t.link(p + "/device", dev.syspath)
        t.link(p + "/subsystem", "/sys/class/drm")
        t.link("/sys/class/drm/" + card, p)
        t.file("/dev/dri/" + card, lambda: b"", None, mode=0o660, size=0)
        kernel.uevents.emit("add", p[len("/sys"):], {"SUBSYSTEM": "drm", "DEVNAME": "dri/" + card})
        kernel.console.register_fb(dev, self.name + "drmfb", primary=dev.boot_vga == 1)

    def remove(self, kernel, dev):
        for fb in kernel.console.fbs_of(dev):
            kernel.console.unregister_fb(fb)
        card = "card%d" % self.cards.pop(dev.name)
        p = "%s/drm/%s" % (dev.syspath, card)
        kernel.uevents.emit("remove", p[len("/sys"):],
                            {"SUBSYSTEM": "drm", "DEVNAME": "dri/" + card})
        kernel.tree.remove("/dev/dri/" + card)
        kernel.tree.remove("/sys/class/drm/" + card)
        kernel.tree.remove(dev.syspath + "/drm")
