#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario 7: bad input from the command line tools as the (granted) unprivileged user: path
# traversal, huge and malformed names, a NUL inside a string, unknown options, wrong types and
# values, a wrong method signature. Every call gets a named error, vfiod keeps running (same
# process) and nothing changes. Profile: edu. Output: TAP.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

edu=$(pci_find 0x1234 0x11e8 | head -n1)
[ -n "$edu" ] || bail "profile edu expected"
pid=$(vfiod_pid)
note "kernel $(uname -r); edu $edu; vfiod pid $pid"
before=$(snapshot)

invalid=org.vfiod1.Error.InvalidArgument
nodev=org.vfiod1.Error.NoSuchDevice

# expect_assign DESCRIPTION ERROR DEVICE [OPTIONS]
expect_assign() {
        local options='@a{sv} {}'
        [ $# -ge 4 ] && options=$4
        check_eq "$1: $2" "$2" "$(call_as vfiotest AssignDevice "$3" "$options")"
}

# --- device names -------------------------------------------------------------------------------
expect_assign "relative traversal" $invalid "../../../etc/passwd"
expect_assign "traversal under /sys/devices" $invalid "/sys/devices/../../etc/passwd"
expect_assign "traversal out of a real device directory" $invalid \
        "$(cd -P "$PCI/devices/$edu" && pwd)/../../../../etc"
expect_assign "traversal after a bus prefix" $invalid "pci:$edu/../../.."
expect_assign "prefix traversal" $invalid "platform:../../x"
expect_assign "empty name" $invalid ""
expect_assign "trailing newline" $invalid "$edu"$'\n'
expect_assign "unknown bus" $invalid "usb:1-1"
expect_assign "huge name (100000 bytes)" $invalid "$(printf 'a%.0s' {1..100000})"
expect_assign "absent PCI address" $nodev "pci:0000:99:00.0"
expect_assign "a file that is no device" $nodev "/etc/passwd"
expect_assign "a sysfs device on no assignable bus" $nodev "/sys/devices/virtual/net/lo"

# The wire format forbids NUL in strings, so no binding sends one; a hand-built message does, and
# the bus must drop that connection before vfiod ever sees it.
nul=$(as_user vfiotest /usr/bin/python3 -c "import sys
sys.path.insert(0, '$VM_SRCDIR/tests/sim')
import rawdbus
print(rawdbus.send_with_nul('/run/dbus/system_bus_socket', b'$edu\\0../../etc'))" 2>&1)
check_eq "a NUL inside the device name: the bus disconnects the sender" "disconnected" "$nul"

# --- options ------------------------------------------------------------------------------------
expect_assign "unknown option" $invalid "$edu" "{'frobnicate': <'x'>}"
expect_assign "lifetime as uint32" $invalid "$edu" "{'lifetime': <uint32 1>}"
expect_assign "owner-uid as a string" $invalid "$edu" "{'owner-uid': <'root'>}"
expect_assign "timeout-ms as int64" $invalid "$edu" "{'timeout-ms': <int64 -1>}"
expect_assign "timeout-ms of zero" $invalid "$edu" "{'timeout-ms': <uint32 0>}"
expect_assign "unknown lifetime" $invalid "$edu" "{'lifetime': <'forever'>}"
expect_assign "unknown console policy" $invalid "$edu" "{'console': <'yes'>}"
expect_assign "a driver that is no VFIO driver" $invalid "$edu" "{'driver': <'e1000'>}"
expect_assign "a driver name with a path" $invalid "$edu" "{'driver': <'../vfio-pci'>}"
check_eq "PlanAssignment with an unknown option: $invalid" $invalid \
        "$(call_as vfiotest PlanAssignment "$edu" "{'frobnicate': <'x'>}")"

# --- wrong signature and state --------------------------------------------------------------------
# busctl sends any signature; sd-bus in vfiod answers InvalidArgs naming the expected one.
wrong=$(as_user vfiotest busctl --system call org.vfiod1 /org/vfiod1 org.vfiod1.Manager \
        AssignDevice u 5 2>&1)
check "wrong signature (busctl): refused, expecting 'sa{sv}'" grep -q "expecting 'sa{sv}'" <<<"$wrong"
check_eq "releasing a device nobody assigned: NotAssigned" org.vfiod1.Error.NotAssigned \
        "$(call_as vfiotest ReleaseDevice "$edu")"

# --- afterwards -----------------------------------------------------------------------------------
check_eq "vfiod is the same process, still owning org.vfiod1" "u $pid" \
        "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                GetConnectionUnixProcessID s org.vfiod1)"
check "vfiod still answers (Version)" busctl --system get-property org.vfiod1 /org/vfiod1 \
        org.vfiod1.Manager Version
check_eq "nothing changed" "$before" "$(snapshot)"
check_eq "and the edu is still assignable" "0" \
        "$(as_user vfiotest "$CLIENT" "$edu" >/tmp/client.out 2>&1; echo $?)"

tap_done
