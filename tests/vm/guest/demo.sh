#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README demo, guest side (profile edu,bridge; started by tests/vm/demo): a transcript of
# vfiod at work, for people rather than for meson. Exits non-zero if the story does not hold.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

edu=$(pci_find 0x1234 0x11e8 | head -n1)
bridged_edu=$(pci_find 0x1234 0x11e8 | tail -n1)
[ -n "$edu" ] && [ "$edu" != "$bridged_edu" ] || bail "profile edu,bridge expected"
group=$(pci_group "$edu")

say() {
        printf '\n== %s\n' "$*"
}

# show USER COMMAND...: print the command line as typed, then run it as USER.
show() {
        local user=$1
        shift
        printf '%s$ %s\n' "$user" "${*/#"$VM_BUILDDIR"\//}"
        as_user "$user" "$@"
}

kernel_state() {
        local driver
        driver=$(pci_driver "$edu")
        printf '   kernel: %s driver=%s driver_override=%s, /dev/vfio/%s %s\n' "$edu" \
                "${driver:-(none)}" "$(pci_override "$edu")" "$group" \
                "$([ -e "/dev/vfio/$group" ] && echo exists || echo absent)"
}

cd "$VM_BUILDDIR" || exit 1
echo "vfiod demo: Debian kernel $(uname -r) in QEMU, emulated edu devices and an e1000."
echo "vfiod runs as root; everything below runs as the unprivileged user 'vfiotest' (uid 4242),"
echo "whom polkit allows the org.vfiod1.* actions."

say "1. The devices vfiod sees"
show vfiotest "$VFIOCTL" list || exit 1

say "2. What assigning the edu behind the PCI bridge would do: its whole IOMMU group moves"
show vfiotest "$VFIOCTL" plan "$bridged_edu"
case $? in
0) echo "   (no blockers: vfioctl plan exits 0)" ;;
5) echo "   (blockers: vfioctl plan exits 5)" ;;
*) exit 1 ;;
esac

say "3. The edu at $edu, alone in group $group, before"
kernel_state

say "4. An unprivileged program asks vfiod for it and uses the group fd it receives"
spawn_as vfiotest /tmp/demo.out "$CLIENT" --wait-release "$edu"
client=$spawned
printf 'vfiotest$ tests/vm/vfio-client --wait-release %s\n' "$edu"
wait_for 120 grep -q '^waiting' /tmp/demo.out || {
        cat /tmp/demo.out /tmp/demo.out.err
        exit 1
}
while IFS= read -r line; do
        case "$line" in
        assigned*) why="AssignDevice returned a group fd over D-Bus" ;;
        group*) why="VFIO_GROUP_GET_STATUS: the group is viable" ;;
        container*) why="VFIO_GROUP_SET_CONTAINER on a fresh /dev/vfio/vfio" ;;
        iommu*) why="VFIO_SET_IOMMU: type1v2 IOMMU domain" ;;
        device*) why="VFIO_GROUP_GET_DEVICE_FD, then config space read through the device fd" ;;
        *) why="" ;;
        esac
        printf '   %-64s %s\n' "$line" "${why:+# $why}"
done </tmp/demo.out

say "5. Meanwhile, what the kernel and vfiod say"
kernel_state
show vfiotest "$VFIOCTL" show "$edu" | grep -E '^ *(State|Owner|Driver|DriverOverride)\b'

say "6. The program releases the device (ReleaseDevice) and exits"
kill -USR1 "$client"
wait "$client"
rc=$?
grep -E '^released' /tmp/demo.out | sed 's/^/   /'

say "7. The device is back where it was"
kernel_state
show vfiotest "$VFIOCTL" show "$edu" | grep -E '^ *State\b'
[ $rc -eq 0 ] && [ "$(pci_state "$edu")" = "- (null)" ] && [ ! -e "/dev/vfio/$group" ]
