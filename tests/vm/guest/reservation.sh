#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reservation on the real kernel and real udevd: the e1000e is reserved for vfio-pci in
# /run/vfiod/reservations/, then made to appear the way it does at boot, before its host
# driver is loaded (module unloaded, device removed, its root port rescanned). udev's rules
# (70-vfiod.rules, as installed) fence it and bind vfio-pci; the e1000e module, loaded by
# udev's own modalias rule for the same event, never gets it. vfiod calls it reserved, the
# unprivileged client is given it and uses it, and the release leaves it reserved: on vfio-pci,
# fenced, with no interface. Profile: e1000e. Output: TAP.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

dev=$(pci_find 0x8086 0x10d3)
[ -n "$dev" ] || bail "no e1000e (profile e1000e expected)"
wait_for 60 netdevs_named "$dev"
port=$(basename "$(dirname "$(readlink -f "$PCI/devices/$dev")")")
note "kernel $(uname -r); e1000e $dev behind $port"
check_eq "e1000e starts on its host driver, no override" "e1000e (null)" "$(pci_state "$dev")"

# The rules as a package installs them (udevd reads /run/udev/rules.d too).
install -D -m 0644 "$VM_SRCDIR/udev/70-vfiod.rules" /run/udev/rules.d/70-vfiod.rules ||
        bail "installing 70-vfiod.rules"
udevadm control --reload || bail "udevadm control --reload"
mkdir -p /run/vfiod/reservations
echo VFIOD_DRIVER=vfio-pci >"/run/vfiod/reservations/pci:$dev"

# Boot order on demand: no host driver loaded when the device appears.
modprobe -r e1000e || bail "modprobe -r e1000e"
check_eq "with e1000e unloaded the device has no driver" "- (null)" "$(pci_state "$dev")"
sysfs_write "$PCI/devices/$dev/remove" 1 || bail "removing $dev"
wait_for 60 test ! -e "$PCI/devices/$dev"
check "the device is gone" test ! -e "$PCI/devices/$dev"
sysfs_write "$PCI/devices/$port/rescan" 1 || bail "rescanning $port"
wait_for 60 test -e "$PCI/devices/$dev"
udevadm settle --timeout=120

check_eq "it came back fenced and bound to vfio-pci" "vfio-pci vfio-pci" "$(pci_state "$dev")"
check "udev loaded e1000e for it all the same" test -d "$PCI/drivers/e1000e"
check_eq "e1000e has no device" "" "$(find "$PCI/drivers/e1000e" -maxdepth 1 -name '0000:*')"
check_eq "and the device has no network interface" "" "$(pci_netdevs "$dev")"
group=$(pci_group "$dev")
check "its group node /dev/vfio/$group exists" test -c "/dev/vfio/$group"
wait_prop "$dev" State reserved
check_eq "vfiod calls it reserved and assignable" "reserved true" \
        "$(dev_prop "$dev" State) $(dev_prop "$dev" Assignable)"
reserved=$(snapshot)

out=/tmp/client.out
client_waiting "$out" "client got the device" "$dev"
check_eq "AssignDevice answered with the device's object" "$(dev_path "$dev")" \
        "$(field "$out" assigned object)"
check_eq "GET_STATUS: viable" "yes" "$(field "$out" group viable)"
check_eq "GET_DEVICE_FD for $dev" "$dev" "$(field "$out" device name)"
check_eq "vendor id from config space through the device fd" "0x8086" \
        "$(field "$out" device vendor)"
check_eq "vfiod reports it assigned to the client" "assigned :" \
        "$(dev_prop "$dev" State) $(dev_prop "$dev" Owner | cut -c1)"

kill -USR1 "$client"
wait "$client"
rc=$?
check_eq "client released and exited 0" "0 $dev" "$rc $(field "$out" released device)"
wait_prop "$dev" State reserved
check_eq "after release: reserved again, with no owner" "reserved " \
        "$(dev_prop "$dev" State) $(dev_prop "$dev" Owner)"
check_eq "still on vfio-pci and fenced, no interface" "vfio-pci vfio-pci/" \
        "$(pci_state "$dev")/$(pci_netdevs "$dev")"
check_eq "the machine is as the reservation left it" "$reserved" "$(snapshot)"

# Ending the reservation is the administrator's: drop the file, lift the fence, probe.
rm "/run/vfiod/reservations/pci:$dev"
sysfs_write "$PCI/devices/$dev/driver_override" $'\n' &&
        sysfs_write "$PCI/drivers/vfio-pci/unbind" "$dev" &&
        sysfs_write "$PCI/drivers_probe" "$dev"
wait_for 60 netdevs_named "$dev"
check_eq "unreserved, it goes back to e1000e" "e1000e (null)" "$(pci_state "$dev")"
check "with a network interface again" test -n "$(pci_netdevs "$dev")"
wait_prop "$dev" State host
check_eq "vfiod calls it host" "host" "$(dev_prop "$dev" State)"
check "vfiod is still serving" bus_name_owned org.vfiod1

tap_done
