# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest services of the VM tier: start_<name> for udev, dbus, polkit and vfiod, stop_services.
# Sourced by boot.sh, and by guest scripts that restart vfiod. Every start waits until the
# service is really there (socket, bus name), so scripts never race a half-started daemon.

VM_RUNDIR=/run/vm-services
mkdir -p "$VM_RUNDIR"

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@" 2>/dev/null; do
                ((SECONDS < deadline)) || return 1
                sleep 0.1
        done
}

bus_name_owned() {
        [ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus NameHasOwner s "$1")" = "b true" ]
}

service_wanted() {
        [[ " $VM_SERVICES " == *" $1 "* ]]
}

# Coldplug covers PCI only: that is where the host drivers of our devices come from (their
# network, DRM and console devices then arrive as ordinary uevents); the rest of the machine's
# devices would only cost boot time under TCG.
start_udev() {
        /lib/systemd/systemd-udevd --daemon || return 1
        udevadm trigger --type=subsystems --action=add &&
                udevadm trigger --type=devices --action=add --subsystem-match=pci &&
                udevadm settle --timeout=120
}

start_dbus() {
        if service_wanted vfiod; then
                install -m 0644 "$VM_SRCDIR/dbus/org.vfiod1.conf" /etc/dbus-1/system.d/ || return 1
        fi
        mkdir -p /run/dbus
        dbus-daemon --system --fork || return 1
        wait_for 30 test -S /run/dbus/system_bus_socket
}

start_polkit() {
        mkdir -p /etc/polkit-1/rules.d
        install -m 0644 "$VM_SRCDIR/tests/vm/guest/50-vfiod-test.rules" /etc/polkit-1/rules.d/ ||
                return 1
        if service_wanted vfiod; then
                install -m 0644 "$VM_SRCDIR/dbus/org.vfiod1.policy" \
                        /usr/share/polkit-1/actions/ || return 1
        fi
        # Started as root, polkitd switches itself to the polkitd user the bus policy expects.
        /usr/lib/polkit-1/polkitd --no-debug </dev/null >>"$VM_RESULTS/polkitd.log" 2>&1 &
        echo $! >"$VM_RUNDIR/polkit.pid"
        wait_for 60 bus_name_owned org.freedesktop.PolicyKit1
}

# start_vfiod [ARGS...]: run the daemon from the build tree; its log goes to the results share,
# or to VM_VFIOD_LOG when set (the benchmark keeps it in tmpfs: every write to the share is a
# round trip to the host, which a deployed vfiod logging to journald does not pay).
start_vfiod() {
        local vfiod="$VM_BUILDDIR/daemon/vfiod"
        [ -x "$vfiod" ] || {
                echo "vm-boot: $vfiod not built" >&2
                return 1
        }
        "$vfiod" --log-level=debug "$@" </dev/null >>"${VM_VFIOD_LOG:-$VM_RESULTS/vfiod.log}" 2>&1 &
        echo $! >"$VM_RUNDIR/vfiod.pid"
        wait_for 60 bus_name_owned org.vfiod1
}

vfiod_pid() {
        cat "$VM_RUNDIR/vfiod.pid" 2>/dev/null
}

# pid_alive PID: the process exists and is not a zombie waiting to be reaped.
pid_alive() {
        [ -e "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

pid_gone() {
        ! pid_alive "$1"
}

# stop_pidfile NAME SIGNAL: signal the service and wait for it to go away.
stop_pidfile() {
        local pid
        pid=$(cat "$VM_RUNDIR/$1.pid" 2>/dev/null) || return 0
        kill "-$2" "$pid" 2>/dev/null
        wait_for 30 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
        rm -f "$VM_RUNDIR/$1.pid"
}

stop_services() {
        stop_pidfile vfiod TERM
        stop_pidfile polkit TERM
        [ -e /run/dbus/pid ] && kill "$(cat /run/dbus/pid)" 2>/dev/null
        udevadm control --exit 2>/dev/null
        return 0
}
