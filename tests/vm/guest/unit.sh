#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfiod as installed: systemd is PID 1 (vm.py --services=systemd), vfiod.service carries every
# hardening option of systemd/vfiod.service.in, and nothing starts vfiod but D-Bus activation.
# The unprivileged user's first call starts it; the kernel shows the sandbox it runs in
# (seccomp, no_new_privs, capability bounding set, its own mount namespace); under that sandbox
# it loads vfio-pci, opens the group node and hands it to the unprivileged client, which uses
# it; a persistent assignment survives `systemctl restart` (RuntimeDirectoryPreserve= keeps the
# journal); the watchdog is fed. Profile: edu. Output: TAP.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

unit_prop() {
        systemctl show -P "$1" vfiod.service
}

edu=$(pci_find 0x1234 0x11e8 | head -n1)
[ -n "$edu" ] || bail "no edu device (profile edu expected)"
note "kernel $(uname -r); systemd $(systemctl --version | head -n1 | cut -d' ' -f2); edu $edu"

check_eq "before any call vfiod.service is not running" "inactive" "$(unit_prop ActiveState)"
check "and org.vfiod1 has no owner" test "$(busctl --system call org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.vfiod1)" = "b false"
check "vfio-pci is not loaded yet" test ! -d "$PCI/drivers/vfio-pci"

# setpriv as in scenario.sh's as_user (which needs vfiod on the bus before it is sourced).
setpriv --reuid=4242 --regid=4242 --clear-groups env HOME=/tmp "$VM_BUILDDIR/lib/vfioctl" list \
        >/tmp/list.out 2>&1
check_eq "the unprivileged user's vfioctl list succeeds" "0" "$?"
check "and lists the edu" grep -q "$edu" /tmp/list.out
check_eq "the call activated vfiod.service" "active running" \
        "$(unit_prop ActiveState) $(unit_prop SubState)"
pid=$(unit_prop MainPID)
check "vfiod has a main pid ($pid)" test "$pid" -gt 0

# The sandbox as the kernel sees it.
status=$(cat "/proc/$pid/status")
check_eq "seccomp filters on (SystemCallFilter= and the Restrict*= options)" "2" \
        "$(awk '/^Seccomp:/ { print $2 }' <<<"$status")"
check_eq "no_new_privs set (NoNewPrivileges=)" "1" \
        "$(awk '/^NoNewPrivs:/ { print $2 }' <<<"$status")"
# CAP_CHOWN 0, CAP_DAC_OVERRIDE 1, CAP_SYS_MODULE 16, CAP_SYS_PTRACE 19, CAP_SYS_ADMIN 21.
check_eq "capability bounding set is the unit's five" "0000000000290003" \
        "$(awk '/^CapBnd:/ { print $2 }' <<<"$status")"
check "its own mount namespace (ProtectSystem=, PrivateTmp=)" \
        test "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/1/ns/mnt)"
# mount_access PID PATH: "rw" or "ro", of the mount on PATH that PID sees on top.
mount_access() {
        awk -v p="$2" '$5 == p { split($6, o, ","); a = o[1] } END { print a }' "/proc/$1/mountinfo"
}
check_eq "/etc, writable here, is read-only for it (ProtectSystem=strict)" "rw ro" \
        "$(mount_access 1 /etc) $(mount_access "$pid" /etc)"
check "its runtime directory exists" test -d /run/vfiod

# From here vfiod is on the bus: the scenario helpers apply.
# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

before=$(snapshot)
out=/tmp/client.out
client_waiting "$out" "client got the device" "$edu"
check "vfiod loaded vfio-pci from inside its sandbox" test -d "$PCI/drivers/vfio-pci"
check_eq "GET_STATUS: viable" "yes" "$(field "$out" group viable)"
check_eq "SET_IOMMU" "type1v2" "$(field "$out" iommu type)"
check_eq "vendor id from config space through the device fd" "0x1234" \
        "$(field "$out" device vendor)"
check_eq "vfiod reports it assigned" "assigned" "$(dev_prop "$edu" State)"
kill -USR1 "$client"
wait "$client"
check_eq "client released and exited 0" "0 $edu" "$? $(field "$out" released device)"
check_eq "after release: no driver, no override" "- (null)" "$(pci_state "$edu")"
check_eq "the machine is as it was" "$before" "$(snapshot)"

# A persistent lease lives in the journal in /run/vfiod, which must outlive a restart.
as_user vfiotest "$VFIOCTL" assign "$edu" --persistent >/dev/null
check_eq "persistent assignment" "assigned vfio-pci vfio-pci" \
        "$(dev_prop "$edu" State) $(pci_state "$edu")"
systemctl restart vfiod.service
check_eq "systemctl restart vfiod.service" "active" "$(unit_prop ActiveState)"
check "a new process" test "$(unit_prop MainPID)" != "$pid"
check_eq "after the restart: still assigned, re-adopted" "assigned vfio-pci vfio-pci" \
        "$(dev_prop "$edu" State) $(pci_state "$edu")"
as_user vfiotest "$VFIOCTL" release "$edu"
check_eq "vfioctl release" "0" "$?"
check_eq "back to no driver, no override" "host - (null)" \
        "$(dev_prop "$edu" State) $(pci_state "$edu")"

check_eq "watchdog armed (WatchdogSec=30s)" "30s" "$(unit_prop WatchdogUSec)"
fed=$(unit_prop WatchdogTimestampMonotonic)
watchdog_fed_since() {
        [ "$(unit_prop WatchdogTimestampMonotonic)" -gt "$1" ]
}
check "vfiod feeds it (the timestamp moves within 30 s)" wait_for 30 watchdog_fed_since "$fed"
check_eq "no restart by systemd, no failure" "0 success" \
        "$(unit_prop NRestarts) $(unit_prop Result)"

tap_done
