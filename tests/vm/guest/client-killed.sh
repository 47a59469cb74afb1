#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario 3: clients holding devices (lifetime "client", the default) are killed with SIGKILL
# while their device fds are open; vfiod sees their bus connections go and returns every device
# to its host driver. Profile: bridge,e1000e. Output: TAP.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

edu=$(pci_find 0x1234 0x11e8 | head -n1)
e1000=$(pci_find 0x8086 0x100e)
e1000e=$(pci_find 0x8086 0x10d3)
[ -n "$edu" ] && [ -n "$e1000" ] && [ -n "$e1000e" ] || bail "profile bridge,e1000e expected"
wait_for 60 netdevs_named "$e1000" "$e1000e"
nic=$(pci_netdevs "$e1000")
nic_e=$(pci_netdevs "$e1000e")
note "kernel $(uname -r); bridge group edu $edu + e1000 $e1000 ($nic); e1000e $e1000e ($nic_e)"

before=$(snapshot)
spawn_as vfiotest /tmp/bridge.out "$CLIENT" --hold "$edu" "$e1000"
bridge_client=$spawned
spawn_as vfiotest /tmp/e1000e.out "$CLIENT" --hold "$e1000e"
e1000e_client=$spawned
wait_for 180 grep -q '^holding' /tmp/bridge.out
check "first client holds the bridge group" grep -q '^holding' /tmp/bridge.out
wait_for 180 grep -q '^holding' /tmp/e1000e.out
check "second client holds the e1000e" grep -q '^holding' /tmp/e1000e.out
check_eq "all three on vfio-pci" "vfio-pci vfio-pci vfio-pci" \
        "$(pci_driver "$edu") $(pci_driver "$e1000") $(pci_driver "$e1000e")"

kill -KILL "$bridge_client" "$e1000e_client"
wait "$bridge_client" "$e1000e_client" 2>/dev/null

# vfiod releases asynchronously when it sees the connections drop.
wait_prop "$e1000" State host 120
wait_prop "$e1000e" State host 120
check_eq "e1000 back on e1000, no override" "e1000 (null)" "$(pci_state "$e1000")"
check_eq "edu back to no driver, no override" "- (null)" "$(pci_state "$edu")"
check_eq "e1000e back on e1000e, no override" "e1000e (null)" "$(pci_state "$e1000e")"
wait_for 60 netdevs_named "$e1000" "$e1000e"
check_eq "network interfaces are back" "$nic $nic_e" "$(pci_netdevs "$e1000") $(pci_netdevs "$e1000e")"
check_eq "no lease left" "host host host" \
        "$(dev_prop "$edu" State) $(dev_prop "$e1000" State) $(dev_prop "$e1000e" State)"
check_eq "the machine is as it was" "$before" "$(snapshot)"
check "vfiod is still serving" bus_name_owned org.vfiod1

tap_done
