#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario 2: the group behind a pcie-pci-bridge. Assigning its edu moves the e1000 with it (the
# whole group), the bridge stays where it is, and after release the e1000 is back on its driver
# with its network interface. Profile: bridge. Output: TAP.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

edu=$(pci_find 0x1234 0x11e8 | head -n1)
e1000=$(pci_find 0x8086 0x100e)
bridge=$(pci_find 0x1b36 0x000e)
[ -n "$edu" ] && [ -n "$e1000" ] && [ -n "$bridge" ] || bail "profile bridge expected"
group=$(pci_group "$edu")
wait_for 60 netdevs_named "$e1000"
nic=$(pci_netdevs "$e1000")
note "kernel $(uname -r); group $group: bridge $bridge, edu $edu, e1000 $e1000 ($nic)"

before=$(snapshot)
check_eq "one group holds bridge, edu and e1000" \
        "$(printf '%s\n' "$bridge" "$edu" "$e1000" | sort)" "$(group_members "$group")"
check_eq "e1000 starts on its host driver" "e1000 (null)" "$(pci_state "$e1000")"
check "e1000 has a network interface" test -n "$nic"

plan=$(call_as vfiotest PlanAssignment "$edu" '@a{sv} {}')
note "plan: $plan"
check "plan unbinds the e1000" grep -q "('unbind', '$e1000', 'e1000')" <<<"$plan"
check "plan keeps the bridge" grep -q "('keep', '$bridge'," <<<"$plan"
# gdbus prints the reply as (steps, warnings, blockers): an empty last array means no blockers.
check "plan has no blockers" grep -qE ', (@as )?\[\]\)$' <<<"$plan"
check_eq "planning changed nothing" "$before" "$(snapshot)"

out=/tmp/client.out
client_waiting "$out" "client got the group" "$edu" "$e1000"
check_eq "GET_STATUS: viable with both endpoints on vfio-pci" "yes" "$(field "$out" group viable)"
check_eq "device fds for edu and e1000, ids read through each" \
        "$edu 0x1234 0x11e8
$e1000 0x8086 0x100e" \
        "$(awk '/^device / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                print v["name"], v["vendor"], v["device"] }' "$out")"
check_eq "edu on vfio-pci" "vfio-pci vfio-pci" "$(pci_state "$edu")"
check_eq "e1000 moved with it" "vfio-pci vfio-pci" "$(pci_state "$e1000")"
check_eq "the bridge stays: no driver, no override" "- (null)" "$(pci_state "$bridge")"
check_eq "e1000's interface is gone while assigned" "" "$(pci_netdevs "$e1000")"
check_eq "vfiod: both members assigned" "assigned assigned" \
        "$(dev_prop "$edu" State) $(dev_prop "$e1000" State)"

kill -USR1 "$client"
wait "$client"
check_eq "client released and exited 0" "0" "$?"
check_eq "e1000 back on e1000, no override" "e1000 (null)" "$(pci_state "$e1000")"
check_eq "edu back to no driver, no override" "- (null)" "$(pci_state "$edu")"
wait_for 60 netdevs_named "$e1000"
check_eq "e1000's network interface is back" "$nic" "$(pci_netdevs "$e1000")"
check_eq "vfiod: both members host" "host host" \
        "$(dev_prop "$edu" State) $(dev_prop "$e1000" State)"
check_eq "the machine is as it was" "$before" "$(snapshot)"

tap_done
