#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boot a Debian kernel under QEMU (TCG) and run one guest script in it.

The guest's userspace is this machine's own root filesystem, shared read-only over 9p, so the
tools (bash, udevd, dbus-daemon, polkitd) and the build tree are the ones on the host. A tiny
busybox initramfs loads the 9p modules, mounts that share, mounts a second writable 9p share for
results, and chroots into tests/vm/guest/boot.sh, which brings up the services and runs the job.
The job's stdout (TAP), stderr, exit status and the serial console come back through the results
directory; this script replays stdout/stderr and exits with the guest's status.

Nothing here touches the host's /sys or /dev/vfio: all device work happens in the guest, whose
kernel mounts its own sysfs over the shared tree.

Usage:
  vm.py run --kernel 6.1 --profile edu,bridge [--services udev,dbus,polkit] -- SCRIPT [ARGS...]
  vm.py check [--kernel 6.1]      report what is missing (qemu, kernels, busybox, ...)
  vm.py kernels                   list the kernels found, one per series
"""

import argparse
import glob
import gzip
import lzma
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))

QEMU = 'qemu-system-x86_64'
BUSYBOX = '/bin/busybox'
OVMF_CANDIDATES = ['/usr/share/ovmf/OVMF.fd', '/usr/share/qemu/OVMF.fd']

# What the initramfs must load to mount the 9p root, in load order; each entry may be built in
# (then skipped), and its dependencies from modules.dep are loaded first.
INITRAMFS_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev',
                     'virtio_pci', 'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p']

# Which Debian package provides each kernel series, for error messages.
KERNEL_PACKAGES = {'6.1': 'linux-image-amd64', '6.12': 'linux-image-6.12-amd64'}

# The marker boot.sh and guest/lib.sh insist on before touching any device: proof that they
# run inside a VM started by this script and not on the host.
GUEST_MARKER = 'vfiod_vm.guest=1'


class VmError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Kernels and modules


def _version_key(kver):
    return [int(x) if x.isdigit() else x for x in re.split(r'[.+~-]', kver)]


def find_kernels():
    """Map series ("6.1", "6.12") -> newest kernel release in /boot with a module tree."""
    found = {}
    for path in glob.glob('/boot/vmlinuz-*'):
        kver = os.path.basename(path)[len('vmlinuz-'):]
        m = re.match(r'^(\d+\.\d+)\.', kver)
        if not m or not os.path.isfile(os.path.join('/lib/modules', kver, 'modules.dep')):
            continue
        series = m.group(1)
        if series not in found or _version_key(kver) > _version_key(found[series]):
            found[series] = kver
    return found


def resolve_kernel(spec):
    """A series ("6.12") picks the newest of that series; a full release is taken as is."""
    if os.path.isfile('/boot/vmlinuz-' + spec):
        return spec
    kernels = find_kernels()
    if spec in kernels:
        return kernels[spec]
    pkg = KERNEL_PACKAGES.get(spec, 'a linux-image package')
    raise VmError(f'no kernel of series {spec} in /boot (with /lib/modules); install {pkg}')


def _module_name(path):
    base = os.path.basename(path)
    base = re.sub(r'\.ko(\.(xz|gz|zst))?$', '', base)
    return base.replace('-', '_')


def module_load_order(kver, wanted):
    """Module files (relative to /lib/modules/KVER) to insmod, dependencies first."""
    moddir = os.path.join('/lib/modules', kver)
    deps = {}
    paths = {}
    with open(os.path.join(moddir, 'modules.dep')) as f:
        for line in f:
            target, _, rest = line.partition(':')
            name = _module_name(target)
            paths[name] = target
            deps[name] = [_module_name(d) for d in rest.split()]
    builtin = set()
    with open(os.path.join(moddir, 'modules.builtin')) as f:
        for line in f:
            builtin.add(_module_name(line.strip()))

    order = []

    def visit(name, stack):
        if name in order or name in builtin:
            return
        if name not in paths:
            raise VmError(f'{kver}: module {name} is neither built in nor in modules.dep')
        if name in stack:
            raise VmError(f'{kver}: dependency loop through {name}')
        for dep in deps[name]:
            visit(dep, stack + [name])
        order.append(name)

    for name in wanted:
        name = name.replace('-', '_')
        # Some entries only exist on some kernels (fscache is folded into netfs on 6.12).
        if name in paths or name in builtin:
            visit(name, [])
    for required in ('9p', '9pnet_virtio', 'virtio_pci'):
        if required not in order and required not in builtin:
            raise VmError(f'{kver}: cannot find module {required}')
    return [paths[n] for n in order]


def _read_module(path):
    with open(path, 'rb') as f:
        data = f.read()
    # busybox insmod cannot rely on in-kernel decompression, so modules go in uncompressed.
    if path.endswith('.xz'):
        return lzma.decompress(data)
    if path.endswith('.gz'):
        return gzip.decompress(data)
    if path.endswith('.zst'):
        out = subprocess.run(['zstd', '-dc', path], check=True, capture_output=True)
        return out.stdout
    return data


def build_initramfs(kver, outdir):
    """Write outdir/initramfs.cpio: busybox, /init, and the 9p modules for KVER."""
    if not os.access(BUSYBOX, os.X_OK):
        raise VmError(f'{BUSYBOX} missing; install busybox-static')
    if shutil.which('cpio') is None:
        raise VmError('cpio missing; install cpio')
    stage = os.path.join(outdir, 'initramfs')
    for d in ('bin', 'modules', 'proc', 'sys', 'dev', 'root'):
        os.makedirs(os.path.join(stage, d), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(stage, 'bin', 'busybox'))
    shutil.copy2(os.path.join(HERE, 'init.sh'), os.path.join(stage, 'init'))
    os.chmod(os.path.join(stage, 'init'), 0o755)

    names = []
    for rel in module_load_order(kver, INITRAMFS_MODULES):
        name = _module_name(rel) + '.ko'
        with open(os.path.join(stage, 'modules', name), 'wb') as f:
            f.write(_read_module(os.path.join('/lib/modules', kver, rel)))
        names.append(name)
    with open(os.path.join(stage, 'modules', 'order'), 'w') as f:
        f.write(''.join(n + '\n' for n in names))

    files = []
    for root, dirs, fnames in os.walk(stage):
        for n in dirs + fnames:
            files.append(os.path.relpath(os.path.join(root, n), stage))
    out = os.path.join(outdir, 'initramfs.cpio')
    with open(out, 'wb') as f:
        subprocess.run(['cpio', '--quiet', '-o', '-H', 'newc', '--owner', '0:0'],
                       input='\n'.join(sorted(files)).encode(), stdout=f, cwd=stage, check=True)
    return out


# ---------------------------------------------------------------------------------------------
# Device topologies


class Machine:
    """Collects QEMU device arguments; hands out root ports with unique chassis/slot/address."""

    def __init__(self):
        self.args = []
        self.append = []
        self.firmware = 'seabios'
        self._port = 0
        self._ids = {}

    def _id(self, prefix):
        n = self._ids.get(prefix, 0)
        self._ids[prefix] = n + 1
        return f'{prefix}{n}'

    def root_port(self, io=False):
        """A pcie-root-port in its own slot of pcie.0; returns its bus id."""
        self._port += 1
        if self._port > 0x18:
            raise VmError('too many root ports for one pcie.0')
        rid = f'rp{self._port}'
        opts = [f'pcie-root-port,id={rid},bus=pcie.0,chassis={self._port},slot={self._port}',
                f'addr={self._port + 3:#x}']
        # Most endpoints here have no I/O BARs; 4K I/O windows per port would exhaust the
        # 64K I/O space long before we run out of ports.
        if not io:
            opts.append('io-reserve=0')
        self.args += ['-device', ','.join(opts)]
        return rid

    def device(self, spec, bus):
        self.args += ['-device', f'{spec},bus={bus},id={self._id(spec.split(",")[0])}']


def profile_edu(m, count=2):
    """edu devices (1234:11e8, no host driver), each behind its own root port: one group each."""
    for _ in range(count):
        m.device('edu', m.root_port())


def profile_bridge(m):
    """A pcie-pci-bridge holding an edu and an e1000: one group, with a host driver (e1000)."""
    rp = m.root_port(io=True)
    m.args += ['-device', f'pcie-pci-bridge,id=pcibr0,bus={rp}']
    m.args += ['-device', 'edu,bus=pcibr0,addr=0x1,id=bredu0']
    m.args += ['-netdev', 'user,id=nbr0,restrict=on',
               '-device', 'e1000,bus=pcibr0,addr=0x2,netdev=nbr0,romfile=,id=be1000']


def profile_e1000e(m):
    """An e1000e (host driver e1000e) behind its own root port."""
    m.args += ['-netdev', 'user,id=ne1000e,restrict=on']
    m.device('e1000e,netdev=ne1000e,romfile=', m.root_port(io=True))


def _profile_vga(m):
    # The boot display sits on the root complex (00:01.0) so firmware picks it as primary.
    m.args += ['-device', 'VGA,bus=pcie.0,addr=0x1,id=bootvga']
    # bochs-display is class 0x0380: a secondary GPU that vfio-pci does not treat as VGA.
    m.device('bochs-display', m.root_port())


def profile_vga_seabios(m):
    """Boot VGA with vesafb (SeaBIOS, vga=0x317) plus a secondary bochs-display."""
    _profile_vga(m)
    m.append.append('vga=0x317')


def profile_vga_ovmf(m):
    """Boot VGA with efifb (OVMF) plus a secondary bochs-display."""
    _profile_vga(m)
    m.firmware = 'ovmf'


def profile_many_edu(m):
    """Bench topology: 16 single-device edu groups and the e1000e."""
    profile_edu(m, 16)
    profile_e1000e(m)


PROFILES = {
    'edu': profile_edu,
    'bridge': profile_bridge,
    'e1000e': profile_e1000e,
    'vga-seabios': profile_vga_seabios,
    'vga-ovmf': profile_vga_ovmf,
    'bench': profile_many_edu,
}


def build_machine(profiles):
    m = Machine()
    for name in profiles:
        if name not in PROFILES:
            raise VmError(f'unknown profile {name!r}; known: {", ".join(sorted(PROFILES))}')
        PROFILES[name](m)
    if 'vga-seabios' in profiles and 'vga-ovmf' in profiles:
        raise VmError('vga-seabios and vga-ovmf are different machines')
    return m


# ---------------------------------------------------------------------------------------------
# Running


def check_host(kernel_specs, with_ovmf=True):
    """Everything runs need; returns a list of problems (empty = ready)."""
    problems = []
    if shutil.which(QEMU) is None:
        problems.append(f'{QEMU} missing; install qemu-system-x86')
    if not os.access(BUSYBOX, os.X_OK):
        problems.append(f'{BUSYBOX} missing; install busybox-static')
    if shutil.which('cpio') is None:
        problems.append('cpio missing; install cpio')
    if with_ovmf and not any(os.path.isfile(p) for p in OVMF_CANDIDATES):
        problems.append('OVMF.fd missing (the vga-ovmf profile needs it); install ovmf')
    for spec in kernel_specs:
        try:
            resolve_kernel(spec)
        except VmError as e:
            problems.append(str(e))
    return problems


def _ovmf():
    for path in OVMF_CANDIDATES:
        if os.path.isfile(path):
            return path
    raise VmError('OVMF.fd missing; install ovmf')


def _safe_path(path, what):
    # Paths travel on the kernel command line and in a shell-sourced job file.
    if not re.fullmatch(r'[A-Za-z0-9_./+-]+', path):
        raise VmError(f'{what} path {path!r} has characters the guest cannot take')
    return path


def write_job(results, builddir, services, command):
    job = [
        f'VM_SRCDIR={shlex.quote(SRCDIR)}',
        f'VM_BUILDDIR={shlex.quote(builddir)}',
        f'VM_SERVICES={shlex.quote(" ".join(services))}',
        'VM_CMD=(' + ' '.join(shlex.quote(c) for c in command) + ')',
    ]
    with open(os.path.join(results, 'job'), 'w') as f:
        f.write('\n'.join(job) + '\n')


def qemu_command(kver, initrd, machine, results, memory, extra_append):
    # no_timer_check: on a busy host the TCG guest can miss the early timer-IRQ test, and with
    # interrupt remapping on the kernel panics instead of falling back.
    append = ['console=ttyS0', 'intel_iommu=on', 'iommu=pt', 'panic=-1', 'oops=panic',
              'no_timer_check', GUEST_MARKER, 'vfiod_vm.stage2=' + _safe_path(
                  os.path.join(HERE, 'guest', 'boot.sh'), 'boot script')]
    append += machine.append + extra_append
    cmd = [QEMU, '-accel', 'tcg', '-M', 'q35,kernel-irqchip=split',
           '-device', 'intel-iommu,intremap=on',
           '-m', str(memory), '-smp', '2',
           '-kernel', '/boot/vmlinuz-' + kver, '-initrd', initrd,
           '-append', ' '.join(append),
           '-nographic', '-no-reboot', '-nic', 'none', '-vga', 'none',
           # Fixed slots at the top of pcie.0 keep 00:01.0 free for the boot VGA.
           '-fsdev', 'local,id=fshost,path=/,security_model=none,readonly=on,multidevs=remap',
           '-device', 'virtio-9p-pci,fsdev=fshost,mount_tag=hostroot,bus=pcie.0,addr=0x1e',
           '-fsdev', f'local,id=fsresults,path={results},security_model=none',
           '-device', 'virtio-9p-pci,fsdev=fsresults,mount_tag=results,bus=pcie.0,addr=0x1d']
    if machine.firmware == 'ovmf':
        cmd += ['-bios', _ovmf()]
    return cmd + machine.args


def _print_tail(path, count):
    if not os.path.exists(path):
        return
    with open(path, errors='replace') as f:
        lines = f.read().splitlines()[-count:]
    print(f'# vm: last {len(lines)} lines of {os.path.basename(path)}:', file=sys.stderr)
    for line in lines:
        print(f'#   {line}', file=sys.stderr)


def boot(cmd, console_path, timeout, verbose):
    """Runs QEMU until it exits or TIMEOUT seconds pass, the serial console going to
    CONSOLE_PATH (and to stderr with VERBOSE). Returns True when it had to be killed."""
    start = time.monotonic()
    with open(console_path, 'wb') as console:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            os.set_blocking(proc.stdout.fileno(), False)
            while True:
                chunk = proc.stdout.read(65536)
                if chunk:
                    console.write(chunk)
                    if verbose:
                        sys.stderr.buffer.write(chunk)
                        sys.stderr.flush()
                elif proc.poll() is not None:
                    return False
                else:
                    time.sleep(0.05)
                if time.monotonic() - start > timeout:
                    return True
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _died_before_init(console_path):
    """True when the kernel stopped before it started the initramfs's /init."""
    with open(console_path, errors='replace') as f:
        text = f.read()
    return 'Run /init as init process' not in text and 'Kernel panic' in text


def run_vm(kernel, profiles, command, builddir, services, timeout, keep, verbose, memory,
           extra_append):
    kver = resolve_kernel(kernel)
    problems = check_host([kver], with_ovmf=False)  # qemu_command asks for it when used
    if problems:
        raise VmError('; '.join(problems))
    machine = build_machine(profiles)
    _safe_path(builddir, 'build directory')

    workroot = os.path.join(builddir, 'tests', 'vm', 'runs')
    os.makedirs(workroot, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f'{kver}-', dir=workroot)
    results = os.path.join(work, 'results')
    os.mkdir(results)
    write_job(results, builddir, services, command)
    initrd = build_initramfs(kver, work)
    cmd = qemu_command(kver, initrd, machine, results, memory, extra_append)
    with open(os.path.join(work, 'qemu-command'), 'w') as f:
        f.write(shlex.join(cmd) + '\n')

    console_path = os.path.join(work, 'console.log')
    # meson ends a timed-out test with SIGTERM: make that unwind through boot()'s finally, so no
    # QEMU outlives its test.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    start = time.monotonic()
    timed_out = boot(cmd, console_path, timeout, verbose)
    if not timed_out and os.listdir(results) == ['job'] and _died_before_init(console_path):
        # Under TCG a Debian kernel very rarely oopses while it patches its own code early in
        # boot (seen once in 6.12's sched_clock_cpu, 2.6 s in). Nothing of ours has run before
        # /init, so that boot says nothing about vfiod: keep its console and boot once more.
        kept = os.path.join(work, 'console-first-boot.log')
        os.rename(console_path, kept)
        print(f'# vm: the kernel died before running /init (console kept in {kept}); '
              'booting again', file=sys.stderr)
        timed_out = boot(cmd, console_path, timeout - (time.monotonic() - start), verbose)
    elapsed = time.monotonic() - start

    for name, stream in (('stdout', sys.stdout), ('stderr', sys.stderr)):
        path = os.path.join(results, name)
        if os.path.exists(path):
            with open(path, errors='replace') as f:
                stream.write(f.read())
            stream.flush()

    rc_path = os.path.join(results, 'rc')
    rc = None
    if os.path.exists(rc_path):
        with open(rc_path) as f:
            text = f.read().strip()
        rc = int(text) if text.lstrip('-').isdigit() else None

    if rc != 0:
        # The work directory stays on this host; CI shows only the test's output, so the end of
        # the daemon's log comes along with a failure.
        _print_tail(os.path.join(results, 'vfiod.log'), 10)
    print(f'# vm: {kver} profiles={",".join(profiles) or "-"} {elapsed:.1f}s '
          f'guest rc={rc} work={work}', file=sys.stderr)
    if timed_out or rc is None:
        why = f'timed out after {timeout}s' if timed_out else 'guest left no exit status'
        with open(console_path, errors='replace') as f:
            tail = f.read()[-6000:]
        print(f'# vm: {why}; console tail:\n{tail}', file=sys.stderr)
        return 1 if rc is None or rc == 0 else rc
    if rc == 0 and not keep:
        shutil.rmtree(work, ignore_errors=True)
    return rc


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)

    p = sub.add_parser('run', help='boot a VM and run one guest command')
    p.add_argument('--kernel', default='6.1', help='series (6.1, 6.12) or full release')
    p.add_argument('--profile', default='edu',
                   help='comma-separated device profiles: ' + ', '.join(sorted(PROFILES)))
    p.add_argument('--builddir', default=os.path.join(SRCDIR, 'build'),
                   help='meson build directory (vfiod binaries; run files go below it)')
    p.add_argument('--services', default='udev,dbus,polkit',
                   help='guest services to start: udev, dbus, polkit, vfiod; or "systemd": '
                   'systemd as PID 1 starts udevd, dbus-daemon and polkitd from their units '
                   'and vfiod is D-Bus activated through its own unit')
    p.add_argument('--timeout', type=int, default=300, help='seconds before the VM is killed')
    p.add_argument('--memory', type=int, default=1024, help='guest memory (MiB)')
    p.add_argument('--append', action='append', default=[], metavar='ARG',
                   help='extra kernel command line argument (repeatable)')
    p.add_argument('--keep', action='store_true', help='keep the run directory on success')
    p.add_argument('-v', '--verbose', action='store_true', help='stream the console to stderr')
    p.add_argument('command', nargs=argparse.REMAINDER)

    p = sub.add_parser('check', help='report missing host pieces')
    p.add_argument('--kernel', action='append', default=None)

    sub.add_parser('kernels', help='list the newest kernel of each series')

    args = parser.parse_args(argv)
    try:
        if args.cmd == 'kernels':
            for series, kver in sorted(find_kernels().items()):
                print(f'{series}\t{kver}')
            return 0
        if args.cmd == 'check':
            problems = check_host(args.kernel or sorted(KERNEL_PACKAGES))
            for problem in problems:
                print(problem)
            return 1 if problems else 0
        command = args.command[1:] if args.command[:1] == ['--'] else args.command
        if not command:
            parser.error('run needs a guest command after --')
        # Guest scripts are given relative to the source tree, as meson tests name them.
        if not os.path.isabs(command[0]) and os.path.exists(os.path.join(SRCDIR, command[0])):
            command[0] = os.path.join(SRCDIR, command[0])
        profiles = [p for p in args.profile.split(',') if p]
        services = [s for s in args.services.split(',') if s]
        for arg in args.append:
            if not re.fullmatch(r'[A-Za-z0-9_.,:=/+-]+', arg):
                raise VmError(f'kernel argument {arg!r} has characters the guest cannot take')
        return run_vm(args.kernel, profiles, command, os.path.abspath(args.builddir), services,
                      args.timeout, args.keep, args.verbose, args.memory, args.append)
    except VmError as e:
        print(f'vm.py: {e}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
