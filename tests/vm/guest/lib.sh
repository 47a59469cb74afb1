# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for guest scripts of the VM tier: TAP output and plain sysfs access.
# Guest scripts print TAP on stdout (vm.py relays it to meson); diagnostics go to stderr.

# Everything here writes the running kernel's sysfs: refuse unless this is a vm.py guest.
if ! grep -qw 'vfiod_vm.guest=1' /proc/cmdline || [ "$(stat -f -c %T /sys)" != sysfs ]; then
        echo "Bail out! not inside a vfiod VM guest" >&2
        exit 99
fi

# shellcheck source=services.sh
. "$(dirname "${BASH_SOURCE[0]}")/services.sh"

PCI=/sys/bus/pci
tap_count=${tap_count:-0} # kept when a script sources lib.sh again (through scenario.sh)
tap_failures=${tap_failures:-0}

# ok DESCRIPTION / not_ok DESCRIPTION [DIAGNOSTIC...]
ok() {
        tap_count=$((tap_count + 1))
        echo "ok $tap_count - $1"
}

not_ok() {
        tap_count=$((tap_count + 1))
        tap_failures=$((tap_failures + 1))
        echo "not ok $tap_count - $1"
        shift
        local text line
        for text in "$@"; do
                while IFS= read -r line; do
                        printf '#   %s\n' "$line"
                done <<<"$text"
        done
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds; its output becomes the diagnostic.
check() {
        local desc=$1 out
        shift
        if out=$("$@" 2>&1); then
                ok "$desc"
        else
                not_ok "$desc" "command: $*" "$out"
        fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
        if [ "$2" = "$3" ]; then
                ok "$1"
        else
                not_ok "$1" "expected: '$2'" "actual:   '$3'"
        fi
}

# note TEXT: a TAP comment, for facts worth seeing in the log.
note() {
        echo "# $*"
}

bail() {
        echo "Bail out! $*"
        exit 1
}

# Print the plan and exit non-zero when anything failed.
tap_done() {
        echo "1..$tap_count"
        [ "$tap_failures" -eq 0 ]
        exit
}

# sysfs_write FILE VALUE: one write(2) of VALUE; prints the error text ("" on success) so
# callers can assert on the errno, e.g. [ "$(sysfs_write f v)" = "No such device" ].
sysfs_write() {
        local err
        err=$({ printf '%s' "$2" >"$1"; } 2>&1) && return 0
        printf '%s\n' "${err##*: }"
        return 1
}

# The helpers below avoid exec: under TCG every exec costs about 0.1 s, a fork a tenth of that.

# read_attr FILE: first line of a sysfs attribute.
read_attr() {
        local value
        IFS= read -r value <"$1" || [ -n "$value" ]
        printf '%s\n' "$value"
}

# link_name LINK: last path component of a symlink's target, "" when it does not resolve.
link_name() {
        (cd -P "$1" 2>/dev/null && printf '%s\n' "${PWD##*/}")
        return 0
}

# pci_find VENDOR DEVICE: addresses of matching PCI functions, sorted (e.g. pci_find 0x1234 0x11e8).
pci_find() {
        local dev vendor device
        for dev in "$PCI"/devices/*; do
                IFS= read -r vendor <"$dev/vendor"
                IFS= read -r device <"$dev/device"
                [ "$vendor" = "$1" ] && [ "$device" = "$2" ] && printf '%s\n' "${dev##*/}"
        done
        return 0
}

# pci_driver ADDR: bound driver name, or "" when none.
pci_driver() {
        link_name "$PCI/devices/$1/driver"
}

pci_override() {
        read_attr "$PCI/devices/$1/driver_override"
}

# pci_group ADDR: IOMMU group number, or "" when the device has none.
pci_group() {
        link_name "$PCI/devices/$1/iommu_group"
}

# group_members GROUP: device addresses in an IOMMU group, sorted.
group_members() {
        local dev
        for dev in "/sys/kernel/iommu_groups/$1/devices"/*; do
                [ -e "$dev" ] && printf '%s\n' "${dev##*/}"
        done
        return 0
}

# netdevs_named ADDR...: true once udevd has handled every network interface of the devices
# (its database entry is written), so each carries the name udev's rules give it. udevadm settle
# waits only for the events udevd has already read, and a driver's new interface may not be
# among them yet.
netdevs_named() {
        local addr dev ifindex
        for addr in "$@"; do
                for dev in "$PCI/devices/$addr/net"/*; do
                        [ -e "$dev" ] || continue
                        ifindex=$(read_attr "$dev/ifindex")
                        grep -q '^I:' "/run/udev/data/n$ifindex" || return 1
                done
        done
        return 0
}

# pci_netdevs ADDR: network interfaces of a device, space-separated ("" when none).
pci_netdevs() {
        local dev names=()
        for dev in "$PCI/devices/$1/net"/*; do
                [ -e "$dev" ] && names+=("${dev##*/}")
        done
        printf '%s\n' "${names[*]}"
}
