#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark (guest side; run through tests/vm/vm.py with profile "bench"): assign and release the
# same single-device groups (16 edu + the e1000e) with
#   raw      sysfs writes from a bash loop (builtins only: the floor),
#   rawpar   the same writes from two such loops at once, half the devices each (what moving
#            groups in parallel can gain at all on this guest's two CPUs, with nothing else
#            in the way),
#   floor    transaction-floor: the steps of ARCHITECTURE.md's transaction (plan reads,
#            journal, hotplug window, fence, unbind, probe, verify, open the group) done
#            directly, one device after the other, with no bus and no daemon: what any
#            implementation of the transaction costs at least,
#   driverctl --nosave set-override / unset-override,
#   calls    one vfiod-batch --sequential process: one call after the other on one connection
#            (vfiod's own cost per call, without starting a client each time),
#   vfioctl  one `vfioctl assign --persistent` / `vfioctl release` per device, in sequence,
#   batch    one vfiod-batch process sending every request at once on one connection,
# and print each total, its ratio to raw, and vfiod's memory. For calls and batch two figures
# are kept: the time vfiod-batch measures itself, from its first request to its last reply (what
# vfiod takes to answer, like the raw loop timed inside a running shell), and the whole process
# (which adds starting a client and connecting to the bus, a constant unrelated to vfiod that
# under TCG costs about as much as the raw loop itself). Figures, not assertions: the run
# fails only when a method does not leave the devices where it should (then its time is void).
# ROUNDS (default 9) repeats the whole sequence; the best round of each method is reported, and
# each method's ratio to the raw loop of the same round with the median over rounds. Under TCG
# single rounds swing by 2x and more with the host's load; with 3 rounds the medians still did.

# shellcheck source=../vm/guest/scenario.sh
. "$VM_SRCDIR/tests/vm/guest/scenario.sh"

BATCH="$VM_BUILDDIR/tests/bench/vfiod-batch"
FLOOR="$VM_BUILDDIR/tests/bench/transaction-floor"
FLOOR_JOURNAL=/run/transaction-floor
ROUNDS=${ROUNDS:-9}
[ -x "$BATCH" ] && [ -x "$FLOOR" ] || bail "$BATCH or $FLOOR not built"
mkdir -p "$FLOOR_JOURNAL"
command -v driverctl >/dev/null || bail "driverctl not installed"

mapfile -t devs < <(pci_find 0x1234 0x11e8; pci_find 0x8086 0x10d3)
[ "${#devs[@]}" -ge 17 ] || bail "profile bench expected (16 edu + e1000e), found ${#devs[@]}"
for dev in "${devs[@]}"; do
        [ "$(group_members "$(pci_group "$dev")")" = "$dev" ] || bail "$dev is not alone in its group"
done

# Every method starts with the module loaded, so none of them pays for loading it.
modprobe vfio-pci || bail "modprobe vfio-pci"
# The daemon as deployed logs at info, not at the debug level the scenarios use, and to a local
# file rather than across the results share (copied there at the end).
stop_pidfile vfiod TERM
export VM_VFIOD_LOG="$VM_RUNDIR/vfiod-bench.log"
trap 'cat "$VM_VFIOD_LOG" >>"$VM_RESULTS/vfiod.log" 2>/dev/null' EXIT
start_vfiod --log-level=info || bail "vfiod did not restart"
rss_start=$(awk '/^VmRSS/ { print $2 }' "/proc/$(vfiod_pid)/status")
home=$(snapshot)

raw_assign() {
        local dev
        for dev in "${devs[@]}"; do
                echo vfio-pci >"$PCI/devices/$dev/driver_override"
                [ -e "$PCI/devices/$dev/driver" ] && echo "$dev" >"$PCI/devices/$dev/driver/unbind"
                echo "$dev" >"$PCI/drivers_probe"
        done
}

raw_release() {
        local dev
        for dev in "${devs[@]}"; do
                echo "$dev" >"$PCI/drivers/vfio-pci/unbind"
                echo >"$PCI/devices/$dev/driver_override"
                echo "$dev" >"$PCI/drivers_probe"
        done
}

# rawpar_PHASE: raw_PHASE on each half of the devices, in a subshell and here at once. Only the
# subshell is waited for (vfiod is a child of this shell too).
rawpar() {
        local half=$((${#devs[@]} / 2)) pid
        (devs=("${devs[@]:0:half}") && "raw_$1") &
        pid=$!
        (devs=("${devs[@]:half}") && "raw_$1")
        wait "$pid"
}

rawpar_assign() {
        rawpar assign
}

rawpar_release() {
        rawpar release
}

floor_assign() {
        inner=$("$FLOOR" assign "$FLOOR_JOURNAL" "${devs[@]}")
}

floor_release() {
        inner=$("$FLOOR" release "$FLOOR_JOURNAL" "${devs[@]}")
}

# driverctl's exit status is recorded, not trusted: it reports a failure when unsetting the
# override of a device that has no host driver to go back to. The state check below decides.
driverctl_failures=0
driverctl_assign() {
        local dev
        for dev in "${devs[@]}"; do
                driverctl --nosave set-override "$dev" vfio-pci >/dev/null 2>&1 ||
                        driverctl_failures=$((driverctl_failures + 1))
        done
}

driverctl_release() {
        local dev
        for dev in "${devs[@]}"; do
                driverctl --nosave unset-override "$dev" >/dev/null 2>&1 ||
                        driverctl_failures=$((driverctl_failures + 1))
        done
}

# vfiod-batch prints its own figure (first request to last reply) on success; kept in $inner.
inner=
calls_assign() {
        inner=$("$BATCH" --sequential assign "${devs[@]}")
}

calls_release() {
        inner=$("$BATCH" --sequential release "${devs[@]}")
}

vfioctl_assign() {
        local dev
        for dev in "${devs[@]}"; do
                "$VFIOCTL" assign "$dev" --persistent >/dev/null || return 1
        done
}

vfioctl_release() {
        local dev
        for dev in "${devs[@]}"; do
                "$VFIOCTL" release "$dev" || return 1
        done
}

batch_assign() {
        inner=$("$BATCH" assign "${devs[@]}")
}

batch_release() {
        inner=$("$BATCH" release "${devs[@]}")
}

all_on_vfio() {
        local dev
        for dev in "${devs[@]}"; do
                [ "$(pci_driver "$dev")" = vfio-pci ] || return 1
        done
}

declare -A best
declare -A inner_methods=([floor]=1 [calls]=1 [batch]=1)
failures=()

# keep_best KEY SECONDS; every round's time is kept too (in round order), for the ratios within
# each round.
declare -A every
keep_best() {
        if [ -z "${best[$1]}" ] || awk "BEGIN { exit !($2 < ${best[$1]}) }"; then
                best[$1]=$2
        fi
        every[$1]+="$2 "
}

# paired KEY PHASE: KEY's ratio to the raw loop of the same round, for every round, and their
# median. The raw loop's time swings between rounds; a ratio within one round is the steadier
# figure.
paired() {
        ratio_summary "$(awk -v m="${every[$1.$2]}" -v r="${every[raw.$2]}" 'BEGIN {
                n = split(m, a, " "); split(r, b, " ")
                for (i = 1; i <= n; i++) printf "%f ", a[i] / b[i]
        }')"
}

# ratio_summary "R1 R2 ..." [UNIT]: the median of the ratios, then each of them in round order;
# UNIT (default "x") follows the median.
ratio_summary() {
        awk -v l="$1" -v unit="${2-x}" 'BEGIN {
                n = split(l, q, " ")
                for (i = 1; i <= n; i++) list = list sprintf(" %.2f", q[i])
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                        if (q[j] < q[i]) { t = q[i]; q[i] = q[j]; q[j] = t }
                med = n % 2 ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
                printf "%5.2f%s (%s)", med, unit, substr(list, 2)
        }'
}

# driverctl's package brings a udev rule (89-vfio-uio.rules) that runs a bash script, with a
# readlink and a basename per group member, for every new VFIO group. Under TCG those scripts
# took most of the guest's CPU while devices were being assigned (perf, 6.1: 46% of samples
# during vfiod's calls, against 11% for vfiod). The rule is driverctl's: it is in place while
# driverctl runs and masked for every other method, as on a system without driverctl. A raw loop
# ends before udev gets to the scripts, so without the mask the scripts fell on whichever method
# ran next or took longer, and not on the one that caused them.
DRIVERCTL_RULE=/etc/udev/rules.d/89-vfio-uio.rules
driverctl_rule() {
        if [ "$1" = on ]; then
                rm -f "$DRIVERCTL_RULE"
        else
                ln -sf /dev/null "$DRIVERCTL_RULE"
        fi
        udevadm control --reload
}

# cpu_ticks: the guest's busy and idle time so far, summed over its CPUs, in USER_HZ ticks
# (/proc/stat; iowait counts as idle). Builtins only: a fork under TCG costs milliseconds.
cpu_ticks() {
        local user nice system idle iowait irq softirq
        read -r _ user nice system idle iowait irq softirq _ </proc/stat
        CPU_BUSY=$((user + nice + system + irq + softirq))
        CPU_IDLE=$((idle + iowait))
}

# timed METHOD PHASE: run METHOD_PHASE, keep the best time, verify where the devices are. A
# method that measures itself (vfiod-batch) also has its own figure kept, as METHOD-inner. Each
# phase starts with udev's queue empty, so none pays for the one before.
timed() {
        local start end elapsed
        if [ "$1" = driverctl ]; then driverctl_rule on; else driverctl_rule off; fi
        udevadm settle
        inner=
        cpu_ticks
        local busy=$CPU_BUSY idle=$CPU_IDLE
        start=$EPOCHREALTIME
        "$1_$2"
        local rc=$?
        end=$EPOCHREALTIME
        cpu_ticks
        busy=$((CPU_BUSY - busy))
        idle=$((CPU_IDLE - idle))
        # What share of the guest's CPU time was busy while the method ran (anything running:
        # the method, the kernel's work for it, udev, vfiod and the bus).
        every[busy.$1.$2]+="$(awk "BEGIN { printf \"%.3f\", $busy / ($busy + $idle + 1e-9) }") "
        elapsed=$(awk "BEGIN { printf \"%.3f\", $end - $start }")
        if [ $rc -eq 0 ] && [ -n "$inner" ]; then
                keep_best "$1-inner.$2" "$(awk "BEGIN { printf \"%.3f\", $inner }")"
        elif [ -n "${inner_methods[$1]}" ]; then
                failures+=("$1 $2 did not report its own time (exit $rc)")
        fi
        if [ "$2" = assign ]; then
                all_on_vfio || failures+=("$1 assign left devices off vfio-pci (exit $rc)")
        else
                udevadm settle
                [ "$(snapshot)" = "$home" ] || failures+=("$1 release did not restore every device (exit $rc)")
        fi
        keep_best "$1.$2" "$elapsed"
        echo "# round $round: $1 $2 ${elapsed}s${inner:+ (requests to replies ${inner}s)} (exit $rc)" >&2
}

# ping_round: the floor of a call through the bus, in this round: one Peer.Ping per device, one
# at a time, as vfiod-batch times them (first request to last reply, kept as "ping") and as a
# whole process ("ping-process").
ping_round() {
        local t start=$EPOCHREALTIME
        if t=$("$BATCH" --sequential ping "${devs[@]}"); then
                keep_best ping-process "$(awk "BEGIN { printf \"%.3f\", $EPOCHREALTIME - $start }")"
                keep_best ping "$(awk "BEGIN { printf \"%.3f\", $t }")"
        else
                failures+=("ping through the bus failed in round $round")
        fi
}

methods=(raw rawpar floor driverctl calls vfioctl batch)
for ((round = 1; round <= ROUNDS; round++)); do
        for method in "${methods[@]}"; do
                timed "$method" assign
                timed "$method" release
        done
        ping_round
done

# call_floor PHASE: per round, (transaction steps + one bus round trip per device) / raw, and the
# median: an estimate of the least one call at a time costs against the raw loop, daemon work
# aside. Its parts are timed apart, so it carries their noise and a method can land below it.
call_floor() {
        ratio_summary "$(awk -v f="${every[floor-inner.$1]}" -v p="${every[ping]}" \
                -v r="${every[raw.$1]}" 'BEGIN {
                n = split(f, a, " "); split(p, b, " "); split(r, c, " ")
                for (i = 1; i <= n; i++) printf "%f ", (a[i] + b[i]) / c[i]
        }')"
}

# The best round of the bus's floor (ping_round).
bus_floor=${best[ping]:-0}
bus_floor_process=${best[ping-process]:-0}

# What part of "one call each" is only starting a client process under TCG.
start=$EPOCHREALTIME
for dev in "${devs[@]}"; do
        "$VFIOCTL" --help >/dev/null
done
exec_floor=$(awk "BEGIN { printf \"%.3f\", $EPOCHREALTIME - $start }")

pid=$(vfiod_pid)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")

declare -A label=([raw]="raw sysfs loop" [rawpar]="raw sysfs, two loops at once"
        [floor-inner]="transaction steps, no bus (C)"
        [driverctl]="driverctl --nosave"
        [calls-inner]="vfiod, one call at a time" [calls]="  the same, with client start"
        [vfioctl]="vfioctl, one process per call"
        [batch-inner]="vfiod, one concurrent batch" [batch]="  the same, with client start")
rows=(raw rawpar floor-inner driverctl calls-inner calls vfioctl batch-inner batch)
echo "vfiod benchmark: kernel $(uname -r), ${#devs[@]} single-device groups" \
        "(16 edu + e1000e), best of $ROUNDS rounds, TCG guest"
printf '%-30s %10s %7s %10s %7s\n' method assign ratio release ratio
for method in "${rows[@]}"; do
        printf '%-30s %9ss %6sx %9ss %6sx\n' "${label[$method]}" \
                "${best[$method.assign]}" \
                "$(awk "BEGIN { printf \"%.2f\", ${best[$method.assign]} / ${best[raw.assign]} }")" \
                "${best[$method.release]}" \
                "$(awk "BEGIN { printf \"%.2f\", ${best[$method.release]} / ${best[raw.release]} }")"
done
echo "ratios within each round (median, then rounds 1..$ROUNDS), to the same round's raw loop:"
printf '  %-28s %-30s %s\n' method assign release
declare -A short=([rawpar]="raw, two loops" [floor-inner]="transaction steps, no bus"
        [driverctl]="driverctl" [calls-inner]="vfiod calls"
        [calls]="vfiod calls + client start" [vfioctl]="vfioctl" [batch-inner]="vfiod batch"
        [batch]="vfiod batch + client start")
for method in "${rows[@]:1}"; do
        printf '  %-28s %-30s %s\n' "${short[$method]}" "$(paired "$method" assign)" \
                "$(paired "$method" release)"
done
printf '  %-28s %-30s %s\n' "steps + bus round trip" "$(call_floor assign)" "$(call_floor release)"
echo "guest CPU busy while each method ran, share of both vCPUs (median, then rounds 1..$ROUNDS):"
printf '  %-28s %-30s %s\n' method assign release
declare -A busy_label=([raw]="raw loop" [rawpar]="raw, two loops" [floor]="transaction steps, no bus"
        [driverctl]="driverctl" [calls]="vfiod calls" [vfioctl]="vfioctl" [batch]="vfiod batch")
for method in "${methods[@]}"; do
        printf '  %-28s %-30s %s\n' "${busy_label[$method]}" \
                "$(ratio_summary "${every[busy.$method.assign]}" "")" \
                "$(ratio_summary "${every[busy.$method.release]}" "")"
done
echo "raw loop, every round: assign ${every[raw.assign]}s; release ${every[raw.release]}s;" \
        "${#devs[@]} Peer.Ping calls, every round: ${every[ping]}s"
echo "\"steps + bus round trip\": the transaction's own steps plus one bus round trip per" \
        "device, timed apart in each round; an estimate of the least one call at a time costs"
echo "floors: ${#devs[@]} Peer.Ping calls to vfiod, one at a time, take ${bus_floor}s (best round)" \
        "($(awk "BEGIN { printf \"%.2f\", $bus_floor / ${best[raw.assign]} }")x raw assign;" \
        "${bus_floor_process}s with client start);" \
        "starting vfioctl ${#devs[@]} times (--help, no bus call) takes ${exec_floor}s"
echo "driverctl's udev rule (89-vfio-uio.rules) was in place for driverctl's rounds only;" \
        "every phase started with udev's queue empty"
echo "driverctl reported $driverctl_failures failure(s) over $ROUNDS rounds (state checked separately)"
echo "vfiod RSS: ${rss_start} kB at start, ${rss} kB after the run (peak ${hwm} kB)"
echo "vfiod rows count from the client's first request to its last reply; the rows below them" \
        "add starting the client and connecting to the bus"
echo "targets: batch <= 1.00x raw; single calls <= 1.30x raw"

if [ ${#failures[@]} -gt 0 ]; then
        printf 'FAILED: %s\n' "${failures[@]}"
        exit 1
fi
