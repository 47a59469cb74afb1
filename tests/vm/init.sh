#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the VM tier's initramfs (built by vm.py). Loads the 9p modules, mounts the host's root
# read-only and the results share, and switches root to the stage-2 script named on the command
# line. Whatever happens, the machine powers off (or panics, and -no-reboot ends QEMU): vm.py reads
# the exit status from the results share and treats a missing one as a failure.

/bin/busybox --install -s /bin
export PATH=/bin

results=/root/run/vm-results

halt_now() {
        sync
        poweroff -f
}

die() {
        echo "vm-init: $*"
        if [ -d "$results" ] && [ ! -e "$results/rc" ]; then
                echo "vm-init: $*" >"$results/stderr"
                echo 125 >"$results/rc"
        fi
        halt_now
}

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"

while read -r module; do
        insmod "/modules/$module" || die "insmod $module"
done </modules/order

opts=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$opts,ro,cache=loose" hostroot /root || die "mount hostroot"
mount -t tmpfs -o mode=0755 tmpfs /root/run || die "tmpfs /root/run"
mkdir "$results" || die "mkdir $results"
mount -t 9p -o "$opts" results "$results" || die "mount results"

stage2=
for word in $(cat /proc/cmdline); do
        case "$word" in
        vfiod_vm.stage2=*) stage2="${word#vfiod_vm.stage2=}" ;;
        esac
done
[ -n "$stage2" ] || die "no vfiod_vm.stage2= on the kernel command line"

for fs in proc sys dev; do
        mount --move "/$fs" "/root/$fs" || die "move /$fs"
done

# switch_root, not chroot: udevadm refuses to work when PID 1 has a different root.
# From here the stage-2 script is PID 1; it writes the exit status and powers off itself.
exec switch_root /root /bin/bash "$stage2"
