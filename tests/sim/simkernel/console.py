# SPDX-License-Identifier: LGPL-2.1-or-later
"""Framebuffers, the framebuffer console and the aperture code: what binding a GPU's driver does
to the host's display, as Debian's 6.1 kernel does it (KERNEL.md "Aperture", verified in the VM
tier; the kernel code named below is where each rule comes from).

Framebuffers (drivers/video/fbdev/core/fbmem.c)
  - register_framebuffer takes the lowest free fbN and creates /sys/class/graphics/fbN (under the
    device that registered it, with `device` pointing there) and /dev/fbN.
  - unregister_framebuffer first lets fbcon unbind from it, then removes fbN, then tells fbcon it
    is gone.
fbcon (drivers/video/fbdev/core/fbcon.c, Debian: DETECT_PRIMARY=y, DEFERRED_TAKEOVER unset)
  - All consoles map to one framebuffer here (no fbcon=map:, no con2fbmap ioctl). The first
    framebuffer registered takes the consoles over: fbcon registers its console driver (the
    vtconsole "(M) frame buffer device", the next free vtconN after the dummy console's vtcon0)
    and binds it.
  - A framebuffer of the primary (boot VGA) device becomes the boot mapping, and when fbcon is
    not bound, registering it takes the consoles over again: a native driver rebound to the boot
    GPU brings fbcon back by itself (the VM tier's dmesg shows it).
  - Losing the framebuffer the consoles map to, with no console mapped elsewhere, unbinds fbcon:
    its vtconsole reads bind=0 and the dummy console has the consoles. Losing the last
    framebuffer unregisters fbcon's console driver: its vtconN goes away.
  - vtconN/bind: "1" binds a registered fbcon again (to the framebuffer it maps to), "0" unbinds
    it; "1" on the dummy console moves the consoles back to it.
Aperture (drivers/video/aperture.c, 6.1.192: aperture_remove_conflicting_pci_devices)
  - Called by vfio-pci's probe for VGA-class (0x0300) devices only, and by native DRM drivers for
    their device. For the primary device: sysfb_disable() unregisters the firmware framebuffer's
    platform device sysfb created at boot, for good. For any device: firmware framebuffers whose
    aperture overlaps one of its memory BARs are unregistered (only a bound firmware fb driver
    owns an aperture). vgacon is not modelled: these machines boot with a VESA/EFI framebuffer,
    so the console starts on the dummy device and moves to fbcon.
"""

import errno

from .tree import oserror

FB_MAJOR = 29
IORESOURCE_MEM = 0x200
DUMMY = "vtcon0"
DUMMY_NAME = "(S) dummy device"
FBCON_NAME = "(M) frame buffer device"


class Framebuffer:
    def __init__(self, node, owner, fix_id, iomem_name=None, aperture=None, primary=False):
        self.node = node
        self.owner = owner  # the Device that registered it (a GPU or a firmware fb device)
        self.fix_id = fix_id  # fb_fix_screeninfo.id, shown as fbN/name: "VESA VGA"
        self.iomem_name = iomem_name  # the region its driver requested: "vesafb", or None
        self.aperture = aperture  # (start, end) a firmware driver owns, or None
        self.primary = primary  # video_is_primary_device(info->device)

    @property
    def name(self):
        return "fb%d" % self.node

    @property
    def syspath(self):
        return "%s/graphics/%s" % (self.owner.syspath, self.name)


class Console:
    """fbcon, the dummy console and the framebuffers, on one kernel (whose lock guards it)."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.fbs = {}  # node -> Framebuffer
        self.sysfb = None  # name of the platform device sysfb registered, until sysfb_disable()
        self.sysfb_disabled = False
        self.fbcon_vtcon = None  # "vtcon1" while fbcon's console driver is registered
        self.fbcon_bound = False
        self.con2fb = -1  # the framebuffer every console maps to
        self.info_idx = -1  # fbcon's current framebuffer
        self.boot_map = 0  # con2fb_map_boot
        self.primary_device = -1
        self._publish_skeleton()

    # ----- framebuffers -----

    def register_fb(self, owner, fix_id, iomem_name=None, aperture=None, primary=False):
        node = next(n for n in range(32) if n not in self.fbs)
        fb = self.fbs[node] = Framebuffer(node, owner, fix_id, iomem_name, aperture, primary)
        self._publish_fb(fb)
        self._fb_registered(fb)
        return fb

    def unregister_fb(self, fb):
        self._fb_unbind(fb)
        self._unpublish_fb(fb)
        del self.fbs[fb.node]
        self._fb_unregistered(fb)

    def fbs_of(self, owner):
        return [fb for fb in self.fbs.values() if fb.owner is owner]

    def iomem_regions(self):
        """(start, end, name) of the framebuffer memory drivers requested, for /proc/iomem."""
        return [(fb.aperture[0], fb.aperture[1], fb.iomem_name) for fb in self.fbs.values()
                if fb.aperture and fb.iomem_name]

    # ----- the aperture code -----

    def remove_conflicting_pci(self, dev):
        """aperture_remove_conflicting_pci_devices(dev): what vfio-pci's probe (VGA class) and a
        native DRM driver's probe do before they use the device."""
        k = self.kernel
        doomed = []
        if dev.boot_vga == 1 and self.sysfb and not self.sysfb_disabled:
            doomed.append(self.sysfb)  # sysfb_disable()
        if dev.boot_vga == 1:
            self.sysfb_disabled = True
        bars = [(start, end) for _, start, end, flags in dev.resources if flags & IORESOURCE_MEM]
        for fb in list(self.fbs.values()):
            if fb.aperture is None or fb.owner.bus != "platform":
                continue
            if any(fb.aperture[0] <= end and start <= fb.aperture[1] for start, end in bars):
                doomed.append(fb.owner.name)
        for name in dict.fromkeys(doomed):
            pdev = k.buses["platform"].devices.get(name)
            if pdev is not None:
                k.unregister_device_locked(pdev)  # platform_device_unregister
        if self.sysfb in doomed:
            self.sysfb = None

    # ----- fbcon -----

    def _fb_registered(self, fb):
        """do_fb_registered with fbcon_select_primary."""
        if fb.primary and self.primary_device == -1:
            self.primary_device = fb.node
            self.boot_map = fb.node
            if self.fbcon_bound:
                self.info_idx = fb.node
        if self.info_idx == -1:
            if self.boot_map == fb.node:
                self.info_idx = fb.node
                self._takeover()
        elif self.boot_map == fb.node:
            self._set_con2fb_map(fb.node)

    def _set_con2fb_map(self, node):
        if self.con2fb == node:
            return
        if self.con2fb == -1 or not self.fbcon_bound:
            self.info_idx = node
            self._takeover()
        else:
            self.con2fb = node

    def _takeover(self):
        """do_fbcon_takeover: every console onto info_idx, fbcon's console driver registered
        (if it is not) and bound."""
        if not self.fbs:
            return
        self.con2fb = self.info_idx
        if self.fbcon_vtcon is None:
            self.fbcon_vtcon = self._next_vtcon()
            self._publish_vtcon(self.fbcon_vtcon)
        self.fbcon_bound = True

    def _fb_unbind(self, fb):
        """fbcon_fb_unbind: consoles on this framebuffer move to another one some console is
        mapped to; with the single map here there is none, so fbcon unbinds."""
        if not self.fbcon_bound or self.con2fb != fb.node:
            return
        self.con2fb = -1
        self.fbcon_bound = False

    def _fb_unregistered(self, fb):
        if self.con2fb == fb.node:
            self.con2fb = -1
        if self.info_idx == fb.node:
            self.info_idx = min(self.fbs) if self.fbs else -1
        if self.info_idx != -1 and self.con2fb == -1:
            self.con2fb = self.info_idx
        if self.primary_device == fb.node:
            self.primary_device = -1
        if not self.fbs and self.fbcon_vtcon is not None:
            # do_unregister_con_driver: the vtconsole device goes with it.
            self.kernel.tree.remove("/sys/devices/virtual/vtconsole/" + self.fbcon_vtcon)
            self.kernel.tree.remove("/sys/class/vtconsole/" + self.fbcon_vtcon)
            self.fbcon_vtcon = None
            self.fbcon_bound = False

    def _next_vtcon(self):
        taken = {DUMMY, self.fbcon_vtcon}
        return next("vtcon%d" % i for i in range(1, 16) if "vtcon%d" % i not in taken)

    def _write_bind(self, vtcon, data):
        text = data.split(b"\0", 1)[0].strip()
        try:
            value = int(text or b"x", 0)
        except ValueError:
            raise oserror(errno.EINVAL)
        with self.kernel.lock:
            if vtcon == DUMMY:
                if value != 1:
                    # Nothing would take the consoles off the dummy device (not modelled).
                    raise oserror(errno.EINVAL)
                self.fbcon_bound = False
            elif vtcon == self.fbcon_vtcon:
                if value and not self.fbcon_bound:
                    self.con2fb = self.info_idx
                    self.fbcon_bound = True
                elif not value:
                    self.fbcon_bound = False
            else:
                raise oserror(errno.ENODEV)
        return len(data)

    def _bind_value(self, vtcon):
        with self.kernel.lock:
            if vtcon == DUMMY:
                return "0\n" if self.fbcon_bound else "1\n"
            return "1\n" if self.fbcon_bound and vtcon == self.fbcon_vtcon else "0\n"

    # ----- state, for tests -----

    def snapshot(self):
        """What a "nothing changed" check compares: framebuffers (name, owner), vtconsoles
        (name, bind), the firmware framebuffer devices on the platform bus."""
        with self.kernel.lock:
            fbs = {fb.name: (fb.fix_id, fb.owner.name) for fb in self.fbs.values()}
            vtcons = {DUMMY: (DUMMY_NAME, self._bind_value(DUMMY).strip() == "1")}
            if self.fbcon_vtcon:
                vtcons[self.fbcon_vtcon] = (FBCON_NAME, self.fbcon_bound)
            firmware = sorted(n for n in self.kernel.buses["platform"].devices
                              if n.split(".")[0].endswith("-framebuffer"))
            return {"fbs": fbs, "vtconsoles": vtcons, "firmware_fbs": firmware}

    def fb_console_bound(self):
        """A vtconsole bound to a framebuffer device (fbcon is up on some fbN)."""
        with self.kernel.lock:
            return self.fbcon_bound and self.con2fb in self.fbs

    # ----- sysfs and /dev -----

    def _publish_skeleton(self):
        t = self.kernel.tree
        t.mkdir("/sys/devices/virtual/graphics/fbcon")
        t.const("/sys/devices/virtual/graphics/fbcon/rotate", "0", mode=0o644)
        t.link("/sys/devices/virtual/graphics/fbcon/subsystem", "/sys/class/graphics")
        t.link("/sys/class/graphics/fbcon", "/sys/devices/virtual/graphics/fbcon")
        self._publish_vtcon(DUMMY)

    def _publish_vtcon(self, vtcon):
        t = self.kernel.tree
        path = "/sys/devices/virtual/vtconsole/" + vtcon
        t.mkdir(path)
        t.const(path + "/name", DUMMY_NAME if vtcon == DUMMY else FBCON_NAME)
        t.file(path + "/bind", lambda: self._bind_value(vtcon).encode(),
               lambda data: self._write_bind(vtcon, data), mode=0o644)
        t.const(path + "/uevent", "", mode=0o644)
        t.link(path + "/subsystem", "/sys/class/vtconsole")
        t.link("/sys/class/vtconsole/" + vtcon, path)

    def _publish_fb(self, fb):
        k = self.kernel
        p = fb.syspath
        k.tree.mkdir(p)
        k.tree.const(p + "/name", fb.fix_id)
        k.tree.const(p + "/dev", "%d:%d" % (FB_MAJOR, fb.node))
        k.tree.const(p + "/uevent", "MAJOR=%d\nMINOR=%d\nDEVNAME=%s"
                     % (FB_MAJOR, fb.node, fb.name), mode=0o644)
        k.tree.link(p + "/device", fb.owner.syspath)
        k.tree.link(p + "/subsystem", "/sys/class/graphics")
        k.tree.link("/sys/class/graphics/" + fb.name, p)
        k.tree.file("/dev/" + fb.name, lambda: b"", None, mode=0o660, size=0)
        k.uevents.emit("add", p[len("/sys"):], {"SUBSYSTEM": "graphics", "DEVNAME": fb.name})

    def _unpublish_fb(self, fb):
        k = self.kernel
        k.uevents.emit("remove", fb.syspath[len("/sys"):],
                       {"SUBSYSTEM": "graphics", "DEVNAME": fb.name})
        k.tree.remove("/dev/" + fb.name)
        k.tree.remove("/sys/class/graphics/" + fb.name)
        k.tree.remove(fb.syspath)
