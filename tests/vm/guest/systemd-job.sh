#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The job of a systemd-mode VM (see systemd.sh), run by vfiod-vm-job.service once udevd,
# dbus-daemon and polkitd are up: PCI coldplug as boot.sh's udev start does, then the job's
# command with the same results layout (stdout, stderr, rc, dmesg, vfiod.log), then sync; the
# unit's SuccessAction=/FailureAction= power the machine off.

results=$VM_RESULTS
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# shellcheck source=/dev/null
. "$results/job" || exit 125
export VM_SRCDIR VM_BUILDDIR VM_RESULTS VM_SERVICES

rc=125
if udevadm trigger --type=devices --action=add --subsystem-match=pci &&
        udevadm settle --timeout=120; then
        echo "# vm-boot: systemd up, guest userspace ready (uptime $(cut -d' ' -f1 /proc/uptime)s)" \
                >>"$results/stderr"
        cd /tmp && "${VM_CMD[@]}" >>"$results/stdout" 2>>"$results/stderr" </dev/null
        rc=$?
else
        echo "vm-boot: PCI coldplug failed" >>"$results/stderr"
fi
journalctl -b -u vfiod.service --no-pager -o short-monotonic >"$results/vfiod.log" 2>&1
dmesg >"$results/dmesg" 2>&1
echo "$rc" >"$results/rc"
sync
exit "$rc"
