# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the vfiod scenarios of the VM tier (sourced after lib.sh's checks): running as the
# test users, reading vfiod's device objects over the bus, and snapshots of the kernel state that
# "nothing changed" assertions compare.

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENT="$VM_BUILDDIR/tests/vm/vfio-client"
VFIOCTL="$VM_BUILDDIR/lib/vfioctl"
[ -x "$CLIENT" ] && [ -x "$VFIOCTL" ] || bail "vfio-client or vfioctl not built in $VM_BUILDDIR"
bus_name_owned org.vfiod1 || bail "vfiod is not on the bus (service vfiod not started?)"

declare -A TEST_UID=([vfiotest]=4242 [vfionogrant]=4243)

# as_user USER COMMAND...: run COMMAND as one of the test users (no supplementary groups).
as_user() {
        local uid=${TEST_UID[$1]}
        shift
        setpriv --reuid="$uid" --regid="$uid" --clear-groups env HOME=/tmp "$@"
}

# spawn_as USER OUTFILE COMMAND...: start COMMAND as USER in the background, stdout to OUTFILE,
# stderr to OUTFILE.err; $spawned is its pid (the command's own: setpriv and env exec it).
spawn_as() {
        local uid=${TEST_UID[$1]} out=$2
        shift 2
        setpriv --reuid="$uid" --regid="$uid" --clear-groups env HOME=/tmp "$@" \
                >"$out" 2>"$out.err" </dev/null &
        spawned=$!
}

# client_waiting OUTFILE WHAT DEVICE...: start vfio-client as vfiotest, asking for DEVICE and
# holding its group until SIGUSR1 (--wait-release); returns once the client has it, its pid in
# $client. A client that never gets there is a failed check named WHAT, with the client's
# transcript, and ends the script.
client_waiting() {
        local out=$1 what=$2
        shift 2
        spawn_as vfiotest "$out" "$CLIENT" --wait-release "$@"
        client=$spawned
        wait_for 120 grep -q '^waiting' "$out" && return 0
        not_ok "$what" "$(cat "$out" "$out.err")"
        kill "$client"
        tap_done
}

# dev_path ADDR: vfiod's object path of a PCI device (sd_bus_path_encode of "pci:ADDR").
dev_path() {
        local name="pci:$1" out="" c i
        for ((i = 0; i < ${#name}; i++)); do
                c=${name:i:1}
                if [[ $c == [A-Za-z0-9] ]]; then
                        out+=$c
                else
                        printf -v c '_%02x' "'$c"
                        out+=$c
                fi
        done
        printf '/org/vfiod1/device/%s\n' "$out"
}

# dev_prop ADDR PROPERTY: one org.vfiod1.Device property, value only (strings unquoted).
dev_prop() {
        local out
        out=$(busctl --system get-property org.vfiod1 "$(dev_path "$1")" org.vfiod1.Device "$2") ||
                return 1
        out=${out#* }
        out=${out#\"}
        printf '%s\n' "${out%\"}"
}

# wait_prop ADDR PROPERTY VALUE [SECONDS]: until vfiod reports VALUE.
prop_is() {
        [ "$(dev_prop "$1" "$2")" = "$3" ]
}

wait_prop() {
        wait_for "${4:-60}" prop_is "$1" "$2" "$3"
}

# pci_state ADDR: "driver override" of one device ("-" for no driver).
pci_state() {
        local driver
        driver=$(pci_driver "$1")
        printf '%s %s\n' "${driver:--}" "$(pci_override "$1")"
}

# snapshot: what an assignment could change, for before/after comparisons: bus autoprobe, every
# non-virtio PCI function's driver and override, VFIO group nodes, framebuffers, vtconsoles.
snapshot() {
        local dev vendor node
        echo "autoprobe $(read_attr "$PCI/drivers_autoprobe")"
        for dev in "$PCI"/devices/*; do
                IFS= read -r vendor <"$dev/vendor"
                # virtio (0x1af4) carries the root filesystem; nothing here ever touches it.
                [ "$vendor" = 0x1af4 ] || echo "${dev##*/} $(pci_state "${dev##*/}")"
        done
        for node in /dev/vfio/[0-9]*; do
                [ -e "$node" ] && echo "node $node"
        done
        for node in /sys/class/graphics/fb[0-9]*; do
                [ -e "$node" ] && echo "${node##*/} $(read_attr "$node/name")"
        done
        for node in /sys/class/vtconsole/vtcon*; do
                [ -e "$node" ] && echo "${node##*/} $(read_attr "$node/bind") $(read_attr "$node/name")"
        done
        for node in /sys/bus/platform/devices/*-framebuffer.*; do
                [ -e "$node" ] && echo "platform ${node##*/}"
        done
        return 0
}

# field FILE PREFIX KEY: value of KEY= on the first line of a vfio-client transcript that starts
# with PREFIX (e.g. field out device vendor).
field() {
        local line word
        while IFS= read -r line; do
                [[ $line == "$2 "* ]] || continue
                for word in $line; do
                        [[ $word == "$3="* ]] && {
                                printf '%s\n' "${word#*=}"
                                return 0
                        }
                done
        done <"$1"
        return 0
}

# call_as USER METHOD ARGS...: a Manager method through gdbus (which names the D-Bus error, unlike
# busctl); prints the reply, or the error name alone, which is what the scenarios assert on.
call_as() {
        local user=$1 method=$2 out
        shift 2
        if out=$(as_user "$user" gdbus call --system --timeout 120 --dest org.vfiod1 \
                --object-path /org/vfiod1 --method "org.vfiod1.Manager.$method" "$@" 2>&1); then
                printf '%s\n' "$out"
                return 0
        fi
        if [[ $out =~ GDBus\.Error:([A-Za-z0-9_.]+) ]]; then
                printf '%s\n' "${BASH_REMATCH[1]}"
        else
                printf '%s\n' "$out"
        fi
        return 1
}
