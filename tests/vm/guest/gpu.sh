#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario 5: GPUs and the host console. Booted with bochs blacklisted, so the firmware
# framebuffer (vesafb under SeaBIOS, efifb under OVMF) is the host console:
#  - assigning the secondary GPU (bochs-display) leaves the host framebuffer alone;
#  - the boot GPU without console=takeover is refused with ConsoleInUse and nothing changes.
# Then the native driver (bochs-drm) is loaded, as a desktop would, and the console is its fb:
#  - the secondary GPU again leaves it alone; the boot GPU is refused without takeover;
#  - with console=takeover the boot GPU is assigned, and after release it is back on bochs-drm
#    with a console bound to a vtconsole again.
# Profile: vga-seabios or vga-ovmf; kernel argument modprobe.blacklist=bochs. Output: TAP.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

boot_gpu=
second_gpu=
for dev in $(pci_find 0x1234 0x1111); do
        case "$(read_attr "$PCI/devices/$dev/class")" in
        0x030000) boot_gpu=$dev ;;
        0x038000) second_gpu=$dev ;;
        esac
done
[ -n "$boot_gpu" ] && [ -n "$second_gpu" ] || bail "profile vga-seabios or vga-ovmf expected"
grep -qw modprobe.blacklist=bochs /proc/cmdline || bail "boot with modprobe.blacklist=bochs"
fwfb=$(for f in /sys/bus/platform/devices/{vesa,efi}-framebuffer.*; do
        [ -e "$f" ] && echo "${f##*/}"
done)
note "kernel $(uname -r); boot GPU $boot_gpu, secondary $second_gpu, firmware fb '$fwfb'"

# consoles [ADDR]: the framebuffers (with the device behind each, leaving out ADDR's own) and
# the vtconsoles bound to a framebuffer device.
consoles() {
        local node dev
        for node in /sys/class/graphics/fb[0-9]*; do
                [ -e "$node" ] || continue
                dev=$(link_name "$node/device")
                [ -n "$1" ] && [ "$dev" = "$1" ] && continue
                echo "${node##*/} $(read_attr "$node/name") ${dev:-?}"
        done
        for node in /sys/class/vtconsole/vtcon*; do
                [[ "$(read_attr "$node/name")" == *"frame buffer"* ]] &&
                        echo "${node##*/} bind=$(read_attr "$node/bind")"
        done
        return 0
}

fb_console_bound() {
        consoles "" | grep -q '^vtcon[0-9]* bind=1$'
}

# assign_secondary: assign and release the secondary GPU; the host console must not move.
assign_secondary() {
        local host_driver=$1 cons
        cons=$(consoles "$second_gpu")
        spawn_as vfiotest /tmp/second.out "$CLIENT" --wait-release "$second_gpu"
        local client=$spawned
        wait_for 120 grep -q '^waiting' /tmp/second.out
        check_eq "secondary GPU assigned (from '$host_driver')" "vfio-pci 0x1234" \
                "$(pci_driver "$second_gpu") $(field /tmp/second.out device vendor)"
        check_eq "... the host console and every other framebuffer are untouched" "$cons" \
                "$(consoles "$second_gpu")"
        kill -USR1 "$client"
        wait "$client"
        check_eq "secondary GPU released back to '$host_driver'" "${host_driver:--} (null)" \
                "$(pci_state "$second_gpu")"
}

# refuse_boot_gpu: without console=takeover the boot GPU must be refused and nothing changes.
refuse_boot_gpu() {
        local before
        before=$(snapshot)
        as_user vfiotest "$CLIENT" "$boot_gpu" >/tmp/boot.out 2>&1
        check_eq "boot GPU without console=takeover: ConsoleInUse" org.vfiod1.Error.ConsoleInUse \
                "$(field /tmp/boot.out error name)"
        check_eq "... and nothing changed" "$before" "$(snapshot)"
}

# --- the firmware framebuffer is the console ----------------------------------------------------
check "a firmware framebuffer device exists" test -n "$fwfb"
check "a vtconsole is bound to it" fb_console_bound
check_eq "the boot GPU is the boot VGA device" "1" "$(read_attr "$PCI/devices/$boot_gpu/boot_vga")"
check_eq "vfiod knows the boot GPU" "true" "$(dev_prop "$boot_gpu" BootVga)"
assign_secondary ""
check "the firmware framebuffer device is still there" test -e "/sys/bus/platform/devices/$fwfb"
refuse_boot_gpu

# --- the native driver is the console -----------------------------------------------------------
check "modprobe bochs (the native driver)" modprobe bochs
udevadm settle
check_eq "both GPUs on bochs-drm" "bochs-drm bochs-drm" \
        "$(pci_driver "$boot_gpu") $(pci_driver "$second_gpu")"
check "a vtconsole is bound to the native framebuffer" fb_console_bound
note "consoles: $(consoles "" | tr '\n' ';')"
assign_secondary bochs-drm
refuse_boot_gpu

spawn_as vfiotest /tmp/boot.out "$CLIENT" --option console=takeover --wait-release "$boot_gpu"
client=$spawned
wait_for 120 grep -q '^waiting' /tmp/boot.out
check_eq "boot GPU with console=takeover: assigned" "vfio-pci 0x1234" \
        "$(pci_driver "$boot_gpu") $(field /tmp/boot.out device vendor)"
note "consoles while assigned: $(consoles "" | tr '\n' ';')"
check_eq "no vtconsole on a framebuffer while the boot GPU is away" "no" \
        "$(fb_console_bound && echo yes || echo no)"
kill -USR1 "$client"
wait "$client"
check_eq "released: the boot GPU is back on bochs-drm, no override" "bochs-drm (null)" \
        "$(pci_state "$boot_gpu")"
udevadm settle
note "consoles after release: $(consoles "" | tr '\n' ';')"
check "a vtconsole is bound to a framebuffer again" fb_console_bound

tap_done
