# shellcheck shell=bash disable=SC2154 # results, boot_start and fail come from boot.sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stage 2 with systemd as PID 1 (vm.py --services=systemd), sourced by boot.sh once the overlays
# and test users are in place. Installs what a package would (vfiod.service with every hardening
# option, the D-Bus activation file, bus policy, polkit actions) plus the test's polkit rule, and
# replaces boot.sh with systemd, which starts only vfiod-vm.target: udevd, dbus-daemon, polkitd
# (Debian's own units) and the job (systemd-job.sh). vfiod itself is not started: the first bus
# call to org.vfiod1 has dbus-daemon ask systemd for it, as on an installed system.

install_unit_files() {
        local unit="$VM_BUILDDIR/systemd/vfiod.service" dropin=/etc/systemd/system/vfiod.service.d

        [ -f "$unit" ] || return 1
        install -m 0644 "$unit" /etc/systemd/system/vfiod.service || return 1
        # The binary is not installed: it runs from the build tree, copied under /run because a
        # build tree in the host's /tmp is hidden from the service by PrivateTmp=. Only the
        # command line changes; every hardening option of the unit applies as shipped.
        install -D -m 0755 "$VM_BUILDDIR/daemon/vfiod" /run/vm-vfiod/vfiod || return 1
        mkdir -p "$dropin"
        cat >"$dropin/vm.conf" <<EOF || return 1
[Service]
ExecStart=
ExecStart=/run/vm-vfiod/vfiod --log-level=debug
EOF
        install -m 0644 "$VM_SRCDIR/dbus/org.vfiod1.service" /usr/share/dbus-1/system-services/ &&
                install -m 0644 "$VM_SRCDIR/dbus/org.vfiod1.conf" /etc/dbus-1/system.d/ &&
                install -m 0644 "$VM_SRCDIR/dbus/org.vfiod1.policy" /usr/share/polkit-1/actions/ &&
                mkdir -p /etc/polkit-1/rules.d &&
                install -m 0644 "$VM_SRCDIR/tests/vm/guest/50-vfiod-test.rules" /etc/polkit-1/rules.d/
}

# The target pulls in only what the tier needs; the host's fstab, swap and getty units are left
# out by booting this target instead of the default one (and fstab=0 on the kernel command line).
# Early-boot units that would act on the host's configuration, or coldplug every device (under
# TCG the longest part of the boot; the job coldplugs PCI as boot.sh does), are masked.
install_job_units() {
        local unit
        for unit in systemd-udev-trigger systemd-modules-load systemd-sysctl systemd-binfmt \
                systemd-journal-flush systemd-update-utmp; do
                ln -sf /dev/null "/etc/systemd/system/$unit.service" || return 1
        done
        cat >/etc/systemd/system/vfiod-vm.target <<EOF || return 1
[Unit]
Description=vfiod VM tier
Wants=systemd-udevd.service dbus.service polkit.service vfiod-vm-job.service
EOF
        cat >/etc/systemd/system/vfiod-vm-job.service <<EOF
[Unit]
Description=vfiod VM tier job
Wants=systemd-udevd.service dbus.service polkit.service
After=systemd-udevd.service dbus.service polkit.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
Environment=VM_SRCDIR=$VM_SRCDIR VM_BUILDDIR=$VM_BUILDDIR VM_RESULTS=$results
ExecStart=/bin/bash $VM_SRCDIR/tests/vm/guest/systemd-job.sh
TimeoutStartSec=infinity
EOF
}

boot_systemd() {
        install_unit_files || fail "installing vfiod's unit files"
        install_job_units || fail "writing the job's units"
        # systemd mounts its own cgroup2 hierarchy here.
        umount /sys/fs/cgroup 2>/dev/null
        local now
        now=$(date +%s.%N)
        echo "# vm-boot: handing over to systemd after $(awk "BEGIN { print $now - $boot_start }")s" \
                >>"$results/stderr"
        exec /lib/systemd/systemd --unit=vfiod-vm.target --log-target=console --show-status=0
}
