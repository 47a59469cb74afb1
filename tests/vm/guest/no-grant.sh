#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario 4: a user without the polkit grant (vfionogrant; no agent, so auth_admin is a no) is
# refused with AccessDenied and nothing changes, not even a module load; reading stays free; and
# that user cannot release someone else's lease; the granted user's request loads vfio_pci.
# Profile: edu,e1000e. Output: TAP.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

edu=$(pci_find 0x1234 0x11e8 | head -n1)
e1000e=$(pci_find 0x8086 0x10d3)
[ -n "$edu" ] && [ -n "$e1000e" ] || bail "profile edu,e1000e expected"
note "kernel $(uname -r); edu $edu, e1000e $e1000e"

modules() {
        local m
        for m in vfio vfio_pci vfio_iommu_type1; do
                [ -d "/sys/module/$m" ] && printf '%s ' "$m"
        done
        echo
}

before=$(snapshot)
mods_before=$(modules)
note "vfio modules before: $mods_before"

as_user vfionogrant "$CLIENT" "$edu" >/tmp/edu.out 2>&1
check_eq "edu: client refused (exit 2)" "2" "$?"
check_eq "edu: AccessDenied" "org.freedesktop.DBus.Error.AccessDenied" "$(field /tmp/edu.out error name)"
as_user vfionogrant "$CLIENT" "$e1000e" >/tmp/e1000e.out 2>&1
check_eq "e1000e: AccessDenied" "org.freedesktop.DBus.Error.AccessDenied" \
        "$(field /tmp/e1000e.out error name)"
check_eq "console=takeover asked: AccessDenied" "org.freedesktop.DBus.Error.AccessDenied" \
        "$(call_as vfionogrant AssignDevice "$edu" "{'console': <'takeover'>}")"
check_eq "nothing changed" "$before" "$(snapshot)"
check_eq "no module was loaded for the refused requests" "$mods_before" "$(modules)"
check_eq "vfiod still reports both in state host" "host host" \
        "$(dev_prop "$edu" State) $(dev_prop "$e1000e" State)"

check "reading is free: PlanAssignment answers" call_as vfionogrant PlanAssignment "$e1000e" '@a{sv} {}'
check "reading is free: ListDevices answers" call_as vfionogrant ListDevices

spawn_as vfiotest /tmp/owner.out "$CLIENT" --hold "$edu"
owner=$spawned
wait_for 120 grep -q '^holding' /tmp/owner.out
check "the granted user holds edu" grep -q '^holding' /tmp/owner.out
# vfiod loads the VFIO driver itself when it is not registered yet (and only then).
if [[ " $mods_before " != *" vfio_pci "* ]]; then
        check "vfiod loaded vfio_pci for the granted request" test -d /sys/module/vfio_pci
else
        bail "vfio_pci was loaded before the scenario: the module-load check would prove nothing"
fi
check_eq "releasing another user's lease: AccessDenied" "org.freedesktop.DBus.Error.AccessDenied" \
        "$(call_as vfionogrant ReleaseDevice "$edu")"
check_eq "edu still assigned to its owner" "assigned vfio-pci vfio-pci" \
        "$(dev_prop "$edu" State) $(pci_state "$edu")"
kill "$owner"
wait "$owner" 2>/dev/null
wait_prop "$edu" State host 120
check_eq "after the owner went away: back as it was" "$before" "$(snapshot)"

tap_done
