# SPDX-License-Identifier: LGPL-2.1-or-later
"""The host console. The boot VGA GPU carries the framebuffer console (first the firmware's
vesafb/efifb, then bochs-drm's own framebuffer once the native driver is loaded), and binding
vfio-pci to it takes that console away the way the kernel's aperture code and fbcon do
(simkernel/console.py); a secondary GPU leaves it alone. vfiod must refuse the boot GPU unless
console=takeover is given by someone allowed org.vfiod1.assign-console, and hand the console back
on release as far as the kernel can."""

import functools
import os

from expect import (VFIO, check_error, check_fd_dead, check_group_fd, check_ok, check_states,
                    wait_states)
from harness import NOBODY, ScenarioFailure, check, check_equal, wait_until
from registry import scenario
from simkernel.topology import BOOT_GPU, SECOND_GPU, bochs_drm, gpu

ASSIGN = "org.vfiod1.assign"
ASSIGN_CONSOLE = "org.vfiod1.assign-console"
NATIVE = ("bochs-drm", None)
UNBOUND = (None, None)


def console_view(sim):
    """The host's display as the mounted sysfs shows it: fbN -> (name, device it belongs to),
    vtconN -> (name, bind), and the firmware framebuffer devices on the platform bus."""
    sys_path = sim.path("sys")

    def read(path):
        with open(os.path.join(sys_path, path)) as f:
            return f.read().strip()
    fbs = {}
    for name in os.listdir(os.path.join(sys_path, "class/graphics")):
        if name.startswith("fb") and name[2:].isdigit():
            device = os.path.realpath(os.path.join(sys_path, "class/graphics", name, "device"))
            fbs[name] = (read("class/graphics/%s/name" % name), os.path.basename(device))
    vtcons = {v: (read("class/vtconsole/%s/name" % v), read("class/vtconsole/%s/bind" % v))
              for v in os.listdir(os.path.join(sys_path, "class/vtconsole"))}
    firmware = sorted(n for n in os.listdir(os.path.join(sys_path, "bus/platform/devices"))
                      if n.split(".")[0].endswith("-framebuffer"))
    return {"fbs": fbs, "vtconsoles": vtcons, "firmware_fbs": firmware}


def host_state(sim):
    """Everything a refused or released assignment must leave as it found: every PCI device's
    driver and override, autoprobe, the platform devices, and the console."""
    return {"pci": sim.kernel.snapshot(), "platform": sim.kernel.snapshot("platform"),
            "console": console_view(sim)}


def wait_host_state(sim, want, what, timeout=10):
    try:
        wait_until(lambda: host_state(sim) == want, timeout, what)
    except ScenarioFailure:
        now = host_state(sim)
        diff = {k: (want[k], now[k]) for k in want if want[k] != now[k]}
        raise ScenarioFailure("%s: differences (want, now): %r" % (what, diff))


def fb_console_bound(sim):
    """A vtconsole of the framebuffer console is bound (and a framebuffer exists for it)."""
    view = console_view(sim)
    return bool(view["fbs"]) and any(
        name == "(M) frame buffer device" and bind == "1"
        for name, bind in view["vtconsoles"].values())


def check_console_gone(sim, what):
    view = console_view(sim)
    check_equal(view["firmware_fbs"], [], "firmware framebuffers " + what)
    check(not any(dev == BOOT_GPU for _, dev in view["fbs"].values()),
          "a framebuffer of %s is left %s: %r" % (BOOT_GPU, what, view["fbs"]))
    check(not fb_console_bound(sim), "a framebuffer console is still bound %s: %r" % (what, view))
    check_equal(view["vtconsoles"].get("vtcon0"), ("(S) dummy device", "1"),
                "the dummy console " + what)


def load_native_driver(sim):
    """modprobe bochs: both GPUs (unless fenced) bind bochs-drm, whose probe of the boot GPU
    removes the firmware framebuffer; its own fb0 takes the console over."""
    sim.kernel.register_driver(bochs_drm())
    check_equal(sim.kernel.state(BOOT_GPU), NATIVE, "boot GPU after loading bochs-drm")
    view = console_view(sim)
    check_equal(view["fbs"].get("fb0"), ("bochs-drmdrmfb", BOOT_GPU), "fb0 after loading bochs")
    check_equal(view["firmware_fbs"], [], "firmware framebuffers after loading bochs")
    check(fb_console_bound(sim), "no framebuffer console after loading bochs: %r" % view)


def refuse_boot_gpu(sim, client, mentions):
    """Without console=takeover (default and explicit "refuse") the boot GPU is ConsoleInUse,
    the plan says why, and nothing changes."""
    before = host_state(sim)
    plan = client.plan(BOOT_GPU)
    check_ok(plan, "PlanAssignment(%s)" % BOOT_GPU)
    steps, _warnings, blockers = plan.value
    check(any(action == "console" and mentions in detail for action, _, detail in steps),
          "no console step naming %s in the plan: %r" % (mentions, steps))
    check(any("console=takeover" in b for b in blockers), "plan blockers: %r" % (blockers,))
    for options in ({}, {"console": "refuse"}):
        reply = client.assign(BOOT_GPU, **options)
        check_error(reply, "org.vfiod1.Error.ConsoleInUse", mentions=BOOT_GPU)
        check(mentions in reply.message, "ConsoleInUse does not name %s: %r"
              % (mentions, reply.message))
        wait_host_state(sim, before, "after the refused assignment (options %r)" % options,
                        timeout=0)
    check_equal(client.device_prop(BOOT_GPU, "State"), "host", "State of the boot GPU")


@scenario("console-refused", machine=functools.partial(gpu, reserve_secondary=True))
def console_refused(sim):
    """The boot GPU drives the host console, first through the firmware framebuffer (vesafb),
    then, once bochs-drm is loaded, through its own: either way it is refused without
    console=takeover, for root as for anyone, and driver, override, framebuffers and vtconsoles
    stay as they were. (The secondary GPU is fenced for VFIO at boot here, so the boot GPU's
    framebuffer is the only one.)"""
    check_equal(sim.root.device_prop(BOOT_GPU, "BootVga"), True, "BootVga")
    check_equal(sim.root.device_prop(SECOND_GPU, "BootVga"), False, "BootVga of the secondary")
    check(fb_console_bound(sim), "the machine booted without a framebuffer console")
    refuse_boot_gpu(sim, sim.root, "vesa-framebuffer.0")
    refuse_boot_gpu(sim, sim.client(NOBODY), "fb0")

    load_native_driver(sim)
    refuse_boot_gpu(sim, sim.root, "fb0")
    check_equal(sim.kernel.state(BOOT_GPU), NATIVE, "boot GPU still on its native driver")


@scenario("console-takeover", machine=functools.partial(gpu, native=True, reserve_secondary=True))
def console_takeover(sim):
    """Root assigns the boot GPU, on bochs-drm with the console on its framebuffer, with
    console=takeover: assigned, the framebuffer and the console gone. Release rebinds bochs-drm,
    whose framebuffer brings a bound framebuffer console back."""
    before = host_state(sim)
    root = sim.root
    reply = root.assign(BOOT_GPU, console="takeover")
    fid = check_group_fd(sim, root, reply, 12, BOOT_GPU)
    check_states(sim, {BOOT_GPU: VFIO}, "boot GPU after the takeover")
    check_console_gone(sim, "while the boot GPU is assigned")
    check(not os.path.exists(sim.path("dev/fb0")), "/dev/fb0 still exists")
    check_equal(root.device_prop(BOOT_GPU, "State"), "assigned", "State")

    check_ok(root.release(BOOT_GPU), "ReleaseDevice")
    wait_states(sim, {BOOT_GPU: NATIVE}, "boot GPU after release")
    wait_until(lambda: fb_console_bound(sim), 10, "a framebuffer console bound again")
    wait_host_state(sim, before, "after release")
    check_fd_dead(root, fid)


@scenario("console-takeover-firmware-fb", machine=functools.partial(gpu, firmware="efi"))
def console_takeover_firmware_fb(sim):
    """The console is efifb's and no native driver is loaded. The takeover unregisters
    efi-framebuffer.0 (sysfb_disable) and with it fb0 and fbcon's vtconsole. After release the
    GPU is back without a driver and nothing else comes back by itself; loading the native
    driver then gives the host a console again."""
    root = sim.root
    before = host_state(sim)
    check_equal(before["console"]["firmware_fbs"], ["efi-framebuffer.0"], "firmware fbs at boot")
    reply = root.assign(BOOT_GPU, console="takeover", lifetime="persistent")
    check_group_fd(sim, root, reply, 12, BOOT_GPU)
    check_console_gone(sim, "while the boot GPU is assigned")
    check_equal(sorted(console_view(sim)["vtconsoles"]), ["vtcon0"],
                "vtconsoles once the last framebuffer is gone")

    check_ok(root.release(BOOT_GPU), "ReleaseDevice")
    wait_states(sim, {BOOT_GPU: UNBOUND}, "boot GPU after release")
    check_console_gone(sim, "after release (the firmware framebuffer is gone for good)")
    after = host_state(sim)
    check_equal(after["pci"], before["pci"], "PCI devices after release")
    check_equal(root.device_prop(BOOT_GPU, "State"), "host", "State after release")

    load_native_driver(sim)


@scenario("console-needs-action", machine=functools.partial(gpu, native=True,
                                                           reserve_secondary=True))
def console_needs_action(sim):
    """Taking the console needs org.vfiod1.assign-console on top of org.vfiod1.assign: with
    either one alone an unprivileged caller is denied and nothing changes; with both the boot
    GPU is assigned, and the caller's release gives the console back."""
    before = host_state(sim)
    client = sim.client(NOBODY)
    for allowed in ((ASSIGN,), (ASSIGN_CONSOLE,)):
        sim.set_polkit(allowed)
        reply = client.assign(BOOT_GPU, console="takeover")
        check_error(reply, "org.freedesktop.DBus.Error.AccessDenied")
        wait_host_state(sim, before, "after the denial (polkit allows %r)" % (allowed,),
                        timeout=0)
    check(any(ASSIGN_CONSOLE in line for line in sim.polkit_checks()),
          "vfiod never asked polkit for " + ASSIGN_CONSOLE)

    sim.set_polkit((ASSIGN, ASSIGN_CONSOLE))
    check_group_fd(sim, client, client.assign(BOOT_GPU, console="takeover"), 12, BOOT_GPU)
    check_console_gone(sim, "while the boot GPU is assigned")
    check_equal(client.device_prop(BOOT_GPU, "Owner"), client.name, "Owner")
    check_ok(client.release(BOOT_GPU), "ReleaseDevice by its owner")
    wait_host_state(sim, before, "after release")


def assign_secondary(sim, client, what):
    """Assigns the secondary GPU without console=takeover and releases it: the host console,
    the firmware framebuffer and every framebuffer but the secondary's own stay untouched."""
    before = host_state(sim)
    asked = len(sim.polkit_checks())
    check_group_fd(sim, client, client.assign(SECOND_GPU), 14, SECOND_GPU)
    check_states(sim, {SECOND_GPU: VFIO, BOOT_GPU: before["pci"]["devices"][BOOT_GPU]},
                 "GPUs with the secondary assigned " + what)
    view = console_view(sim)
    others = {n: fb for n, fb in before["console"]["fbs"].items() if fb[1] != SECOND_GPU}
    check_equal(view["fbs"], others, "framebuffers with the secondary assigned " + what)
    check_equal(view["vtconsoles"], before["console"]["vtconsoles"], "vtconsoles " + what)
    check_equal(view["firmware_fbs"], before["console"]["firmware_fbs"], "firmware fbs " + what)
    check(not any(ASSIGN_CONSOLE in line for line in sim.polkit_checks()[asked:]),
          "vfiod asked for %s for the secondary GPU %s" % (ASSIGN_CONSOLE, what))
    check_ok(client.release(SECOND_GPU), "ReleaseDevice of the secondary " + what)
    wait_host_state(sim, before, "after releasing the secondary " + what)


@scenario("secondary-gpu-keeps-console", machine=gpu)
def secondary_gpu_keeps_console(sim):
    """The secondary GPU (class 0x0380, not VGA) is assigned by a caller allowed only
    org.vfiod1.assign, without console=takeover: with the console on the firmware framebuffer,
    and again once bochs-drm drives both GPUs (only the secondary's own fb1 goes)."""
    client = sim.client(NOBODY)
    plan = client.plan(SECOND_GPU)
    check_ok(plan, "PlanAssignment of the secondary")
    check_equal(plan.value[2], [], "blockers of the secondary GPU")
    check(not any(a == "console" for a, _, _ in plan.value[0]), "console step for the secondary")
    assign_secondary(sim, client, "(firmware framebuffer console)")
    load_native_driver(sim)
    check_equal(console_view(sim)["fbs"].get("fb1"), ("bochs-drmdrmfb", SECOND_GPU),
                "the secondary's own fb1")
    assign_secondary(sim, client, "(bochs-drm console)")


@scenario("console-refused-second-fb", machine=functools.partial(gpu, native=True))
def console_refused_second_fb(sim):
    """bochs-drm drives both GPUs: fb0 is the boot GPU's, and every console maps to it; fb1 is
    the secondary's. Taking fb0 unbinds fbcon although fb1 remains (fbcon_fb_unbind moves the
    consoles only to a framebuffer some console already maps to; the VM tier sees vtcon1 go to
    bind=0), so the boot GPU must be refused without console=takeover all the same."""
    check_equal(sorted(console_view(sim)["fbs"]), ["fb0", "fb1"], "framebuffers at boot")
    refuse_boot_gpu(sim, sim.root, "fb0")
