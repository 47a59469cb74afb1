#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stage 2 of a VM-tier boot: PID 1 after the initramfs switched root to the host's root (9p, ro).
# Mounts the rest of a userspace, makes /etc and friends writable with tmpfs overlays, adds the
# test users, starts the requested services, runs the job from the results share, leaves the
# job's stdout, stderr and exit status there for vm.py, and powers the machine off.

set -u

results=/run/vm-results
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# finish RC: stop what we started, leave RC for vm.py, power off (PID 1 must never just exit).
finish() {
        declare -F stop_services >/dev/null && stop_services
        dmesg >"$results/dmesg" 2>&1
        echo "$1" >"$results/rc"
        sync
        umount "$results"
        /bin/busybox poweroff -f
}

fail() {
        echo "vm-boot: $*" >&2
        echo "vm-boot: $*" >>"$results/stderr"
        finish 125
}

# Refuse to run anywhere but in a guest started by vm.py: everything below writes sysfs.
grep -qw 'vfiod_vm.guest=1' /proc/cmdline || fail "not inside a vfiod VM (marker missing)"
[ "$(stat -f -c %T /sys)" = sysfs ] || fail "/sys is not the guest's sysfs"

boot_start=$(date +%s.%N)

mkdir -p /dev/pts && mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || fail "mount devpts"
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"
# The host's /tmp and /var/tmp stay reachable under /run/vm-host: a checkout or build directory
# that lives there (CI clones often do) is bound back in place once the job file names it.
for d in /tmp /var/tmp; do
        mkdir -p "/run/vm-host$d" && mount --bind "$d" "/run/vm-host$d" || fail "keep host $d"
        mount -t tmpfs -o mode=1777 tmpfs "$d" || fail "mount $d"
done
mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup 2>/dev/null || true
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

# shellcheck source=/dev/null
. "$results/job" || fail "cannot read the job file"
export VM_SRCDIR VM_BUILDDIR VM_RESULTS="$results"
for dir in "$VM_SRCDIR" "$VM_BUILDDIR"; do
        case "$dir" in
        /tmp/* | /var/tmp/*)
                [ -e "$dir" ] && continue # already there through its parent
                mkdir -p "$dir" && mount --bind "/run/vm-host$dir" "$dir" || fail "bind $dir"
                ;;
        esac
done

# The shared root is read-only; these directories get a tmpfs upper layer so the guest can add
# users, bus policy, polkit actions and rules without touching the host.
modprobe overlay || fail "modprobe overlay"
mkdir -p /run/vm-overlay
mount -t tmpfs tmpfs /run/vm-overlay || fail "tmpfs for overlays"
for dir in /etc /var/lib /usr/share/dbus-1 /usr/share/polkit-1; do
        key=${dir//\//_}
        mkdir -p "/run/vm-overlay/$key/upper" "/run/vm-overlay/$key/work"
        mount -t overlay overlay \
                -o "lowerdir=$dir,upperdir=/run/vm-overlay/$key/upper,workdir=/run/vm-overlay/$key/work" \
                "$dir" || fail "overlay on $dir"
done

# Test users: vfiotest is granted the org.vfiod1.* actions by polkit, vfionogrant is not.
echo 'vfiotest:x:4242:4242:vfiod VM test user:/tmp:/bin/bash' >>/etc/passwd
echo 'vfionogrant:x:4243:4243:vfiod VM test user without grant:/tmp:/bin/bash' >>/etc/passwd
echo 'vfiotest:x:4242:' >>/etc/group
echo 'vfionogrant:x:4243:' >>/etc/group
hostname vfiod-vm

# With systemd as PID 1 the services come from their units (guest/systemd.sh); this never returns.
if [ "$VM_SERVICES" = systemd ]; then
        # shellcheck source=systemd.sh
        . "$VM_SRCDIR/tests/vm/guest/systemd.sh" || fail "cannot load systemd.sh"
        boot_systemd
fi

# shellcheck source=services.sh
. "$VM_SRCDIR/tests/vm/guest/services.sh" || fail "cannot load services.sh"
for service in $VM_SERVICES; do
        service_start=$SECONDS
        "start_$service" || fail "starting $service failed"
        echo "# vm-boot: $service up after $((SECONDS - service_start))s" >>"$results/stderr"
done

boot_end=$(date +%s.%N)
echo "# vm-boot: guest userspace ready in $(awk "BEGIN { print $boot_end - $boot_start }")s" \
        "(uptime $(cut -d' ' -f1 /proc/uptime)s), services: $VM_SERVICES" >>"$results/stderr"

cd /tmp || fail "cd /tmp"
"${VM_CMD[@]}" >>"$results/stdout" 2>>"$results/stderr" </dev/null
rc=$?

finish "$rc"
