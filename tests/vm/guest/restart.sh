#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Scenario 6: vfiod restarts. A persistent assignment survives a restart and is re-adopted; a
# client lease whose client died while vfiod was down is released on start; and vfiod killed with
# SIGKILL in the middle of a release (its unbind blocked by a held device fd) leaves, after the
# next start, every device consistent and nothing fenced by accident. Profile: edu,e1000e.

# shellcheck source=scenario.sh
. "$(dirname "$0")/scenario.sh"

edu=$(pci_find 0x1234 0x11e8 | head -n1)
e1000e=$(pci_find 0x8086 0x10d3)
[ -n "$edu" ] && [ -n "$e1000e" ] || bail "profile edu,e1000e expected"
wait_for 60 netdevs_named "$e1000e"
nic=$(pci_netdevs "$e1000e")
note "kernel $(uname -r); edu $edu, e1000e $e1000e ($nic)"
before=$(snapshot)

restart_vfiod() {
        stop_pidfile vfiod TERM
        start_vfiod "$@"
}

# consistent: every device is either where it started (host) or fully assigned as vfiod says;
# a device fenced (override set) without vfiod calling it assigned is the failure this catches.
consistent() {
        local dev vendor state problems=()
        for dev in "$PCI"/devices/*; do
                IFS= read -r vendor <"$dev/vendor"
                [ "$vendor" = 0x1af4 ] && continue
                dev=${dev##*/}
                state=$(dev_prop "$dev" State 2>/dev/null)
                case "$state $(pci_state "$dev")" in
                "assigned vfio-pci vfio-pci" | "host "*" (null)") ;;
                *) problems+=("$dev: vfiod '$state', kernel '$(pci_state "$dev")'") ;;
                esac
        done
        [ "$(read_attr "$PCI/drivers_autoprobe")" = 1 ] || problems+=("autoprobe left off")
        printf '%s\n' "${problems[@]}"
        [ ${#problems[@]} -eq 0 ]
}

# --- a persistent assignment is re-adopted -----------------------------------------------------
as_user vfiotest "$CLIENT" --option lifetime=persistent --keep "$edu" >/tmp/persist.out 2>&1
check_eq "persistent assignment made, client gone" "0 kept" \
        "$? $(grep -o '^kept' /tmp/persist.out)"
check_eq "edu assigned" "assigned vfio-pci vfio-pci" "$(dev_prop "$edu" State) $(pci_state "$edu")"
check "vfiod restarts" restart_vfiod
check_eq "after restart: still assigned, re-adopted" "assigned vfio-pci vfio-pci" \
        "$(dev_prop "$edu" State) $(pci_state "$edu")"
check_eq "its owner releases it" "()" "$(call_as vfiotest ReleaseDevice "$edu")"
check_eq "edu back to no driver, no override" "host - (null)" \
        "$(dev_prop "$edu" State) $(pci_state "$edu")"

# --- a client lease whose client died while vfiod was down ------------------------------------
spawn_as vfiotest /tmp/client.out "$CLIENT" --hold "$e1000e"
client=$spawned
wait_for 120 grep -q '^holding' /tmp/client.out
check "a client holds the e1000e" grep -q '^holding' /tmp/client.out
stop_pidfile vfiod TERM
check_eq "a clean stop leaves the client's lease in place" "vfio-pci vfio-pci" "$(pci_state "$e1000e")"
kill -KILL "$client"
wait "$client" 2>/dev/null
check "vfiod starts again" start_vfiod
wait_prop "$e1000e" State host 120
check_eq "the dead client's lease was released: e1000e back on e1000e" "e1000e (null)" \
        "$(pci_state "$e1000e")"
wait_for 60 netdevs_named "$e1000e"
check_eq "its network interface is back" "$nic" "$(pci_netdevs "$e1000e")"

# --- SIGKILL in the middle of a release ---------------------------------------------------------
# A long unbind timeout, so that the daemon is surely still inside the release when killed.
printf '[Daemon]\nUnbindTimeoutMs=120000\n' >/tmp/vfiod-slow.conf
check "vfiod restarts with a 120 s unbind timeout" restart_vfiod --config=/tmp/vfiod-slow.conf
spawn_as vfiotest /tmp/holder.out "$CLIENT" --option lifetime=persistent --hold "$e1000e"
holder=$spawned
wait_for 120 grep -q '^holding' /tmp/holder.out
check "a persistent holder keeps the e1000e's device fd open" grep -q '^holding' /tmp/holder.out
gdbus call --system --timeout 300 --dest org.vfiod1 --object-path /org/vfiod1 \
        --method org.vfiod1.Manager.ReleaseDevice "$e1000e" >/tmp/release.out 2>&1 &
release=$!
# vfio-pci's remove blocks on the open device fd; the driver link is already gone by then.
unbound() {
        [ -z "$(pci_driver "$1")" ]
}
wait_for 120 unbound "$e1000e"
check_eq "release in flight: driver link gone, holder alive (unbind blocked in remove)" \
        "none alive" "$(pci_driver "$e1000e")none $(pid_alive "$holder" && echo alive)"
check "vfiod keeps serving meanwhile (Manager.Version)" timeout 20 busctl --system get-property \
        org.vfiod1 /org/vfiod1 org.vfiod1.Manager Version
# Reading driver_override takes the device lock the blocked unbind holds: vfiod must not.
check_eq "vfiod answers for the device being released: releasing" 's "releasing"' \
        "$(timeout 20 busctl --system get-property org.vfiod1 "$(dev_path "$e1000e")" \
                org.vfiod1.Device State 2>&1)"
old=$(vfiod_pid)
kill -KILL "$old"
kill -KILL "$holder"
wait "$holder" "$release" 2>/dev/null
# The killed daemon's blocked unbind ends once the fds close; only then is the old process gone.
check "the killed vfiod is gone" wait_for 120 pid_gone "$old"
check "vfiod starts after the crash" start_vfiod
note "e1000e after recovery: $(dev_prop "$e1000e" State) $(pci_state "$e1000e")"
check "every device consistent, nothing fenced by accident" consistent
if [ "$(dev_prop "$e1000e" State)" = assigned ]; then
        check_eq "the re-adopted lease can be released" "()" "$(call_as vfiotest ReleaseDevice "$e1000e")"
fi
check_eq "e1000e back on e1000e, no override" "e1000e (null)" "$(pci_state "$e1000e")"
udevadm settle
check_eq "the machine is as it was" "$before" "$(snapshot)"

tap_done
