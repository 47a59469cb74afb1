#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario 1: the unprivileged user assigns an edu device through vfiod and receives the group
# fd; vfio-client proves it with VFIO ioctls and reads the vendor id through the device fd; the
# release puts the device back with no driver and no override. Profile: edu. Output: TAP.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

edu=$(pci_find 0x1234 0x11e8 | head -n1)
[ -n "$edu" ] || bail "no edu device (profile edu expected)"
group=$(pci_group "$edu")
note "kernel $(uname -r); edu $edu in group $group"

before=$(snapshot)
check_eq "edu starts with no driver and no override" "- (null)" "$(pci_state "$edu")"
check_eq "vfiod sees it in state host" "host" "$(dev_prop "$edu" State)"
check_eq "vfiod calls it assignable" "true" "$(dev_prop "$edu" Assignable)"

out=/tmp/client.out
client_waiting "$out" "client got the device" "$edu"
check_eq "AssignDevice answered with the device's object" "$(dev_path "$edu")" \
        "$(field "$out" assigned object)"
check_eq "GET_STATUS: viable" "yes" "$(field "$out" group viable)"
check_eq "SET_CONTAINER" "ok" "$(field "$out" container set)"
check_eq "SET_IOMMU" "type1v2" "$(field "$out" iommu type)"
check_eq "GET_DEVICE_FD for $edu" "$edu" "$(field "$out" device name)"
check_eq "vendor id from config space through the device fd" "0x1234" \
        "$(field "$out" device vendor)"
check_eq "device id from config space" "0x11e8" "$(field "$out" device device)"

check_eq "while assigned: vfio-pci, fenced by override" "vfio-pci vfio-pci" "$(pci_state "$edu")"
check "group node /dev/vfio/$group exists" test -c "/dev/vfio/$group"
check_eq "vfiod reports it assigned" "assigned" "$(dev_prop "$edu" State)"
owner=$(dev_prop "$edu" Owner)
check "the lease belongs to the client's bus connection ($owner)" test "${owner:0:1}" = ":"
check_eq "no owner-uid asked, none reported" "4294967295" "$(dev_prop "$edu" OwnerUid)"
check_eq "bus autoprobe back on" "1" "$(read_attr "$PCI/drivers_autoprobe")"
check_eq "the client's open fds keep the node busy" "EBUSY" \
        "$("$VM_SRCDIR/tests/vm/guest/vfio-group.py" open "$group" 2>&1)"

kill -USR1 "$client"
wait "$client"
rc=$?
check_eq "client released and exited 0" "0 $edu" "$rc $(field "$out" released device)"
check_eq "after release: no driver, no override" "- (null)" "$(pci_state "$edu")"
check "group node gone" test ! -e "/dev/vfio/$group"
check_eq "vfiod reports it host again, without owner" "host " \
        "$(dev_prop "$edu" State) $(dev_prop "$edu" Owner)"
check_eq "the machine is as it was" "$before" "$(snapshot)"

# The guest's root is the 9p share "hostroot": the PCI device carrying it must be refused with
# the share named, since unbinding it would take the root filesystem away.
share=
for v in /sys/bus/virtio/devices/*; do
        [ "$(tr -d '\0\n' <"$v/mount_tag" 2>/dev/null)" = hostroot ] || continue
        share=$(basename "$(dirname "$(readlink -f "$v")")")
done
if [ -n "$share" ]; then
        as_user vfiotest "$VFIOCTL" plan "$share" >/tmp/plan.out 2>&1
        check_eq "plan of the root share's device $share: blocked (5)" "5" "$?"
        check "the plan names the mounted share" \
                grep -q "virtio-9p share hostroot is mounted on /" /tmp/plan.out
        check_eq "vfiod calls it not assignable" "false" "$(dev_prop "$share" Assignable)"
else
        not_ok "found the PCI device of the 9p share hostroot" "$(ls /sys/bus/virtio/devices)"
fi

tap_done
