# SPDX-License-Identifier: LGPL-2.1-or-later
"""Per-test world for the sim scenarios: a temporary prefix with the simulated kernel mounted in
it (sys/, dev/, proc/ served by FUSE threads of this process, run/ a real directory), a private
dbus-daemon with a system-bus-like policy plus dbus/org.vfiod1.conf, python-dbusmock's polkitd,
and the unmodified vfiod from the build tree with the GET_STATUS shim preloaded.

Clients are child processes (client.py) running under the uid being tested; the scenarios talk
to them through Client objects. Nothing here reads vfiod's log to decide anything: it is kept only
to be printed when a scenario fails.
"""

import json
import os
import pwd
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from simkernel.fs import Mounts  # noqa: E402
from simkernel.topology import standard  # noqa: E402

SOURCE_ROOT = os.environ.get("VFIOD_SOURCE_ROOT", os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "dbus"))

from private_bus import bus_config  # noqa: E402

PYTHON = "/usr/bin/python3"
NOBODY = 65534
# A second unprivileged user. It must exist in passwd: dbus-daemon looks up the groups of every
# uid that connects and refuses one it cannot resolve.
OTHER_UID = pwd.getpwnam("www-data").pw_uid
MANAGER_PATH = "/org/vfiod1"
MANAGER = "org.vfiod1.Manager"
DEVICE = "org.vfiod1.Device"
PROPS = "org.freedesktop.DBus.Properties"
FUSE_SUPER_MAGIC = 0x65735546

DEFAULT_CONFIG = """[Daemon]
UnbindTimeoutMs=10000
"""


class ScenarioFailure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise ScenarioFailure(message)


def check_equal(got, want, what):
    if got != want:
        raise ScenarioFailure("%s: got %r, want %r" % (what, got, want))


def wait_until(predicate, timeout=10, what="condition"):
    """Polls predicate until it returns something true; fails the scenario on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ScenarioFailure("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(0.02)


def path_encode(name):
    """sd_bus_path_encode's escaping: everything but [A-Za-z0-9] (digits not first) as _xx."""
    out = []
    for i, ch in enumerate(name):
        if ch.isascii() and (ch.isalpha() or (i > 0 and ch.isdigit())):
            out.append(ch)
        else:
            out.append("_%02x" % ord(ch))
    return "".join(out) or "_"


def device_path(name, bus="pci"):
    return "/org/vfiod1/device/" + path_encode("%s:%s" % (bus, name))


def opts(**kwargs):
    """a{sv} options for the client: opts(lifetime="persistent", owner_uid=("u", 1000))."""
    out = {}
    for key, value in kwargs.items():
        sig, value = value if isinstance(value, tuple) else ("s", value)
        out[key.replace("_", "-")] = {"$v": [sig, value]}
    return out


class Reply:
    def __init__(self, raw):
        self.raw = raw
        self.ok = raw.get("ok", False)
        self.error = raw.get("error")
        self.message = raw.get("message", "")
        self.value = raw.get("value")
        self.fds = raw.get("fds", [])

    def __repr__(self):
        if self.ok:
            return "Reply(ok, value=%r)" % (self.value,)
        return "Reply(%s: %s)" % (self.error, self.message)


class Client:
    """A client.py child under one uid."""

    def __init__(self, sim, uid, gid=None):
        self.sim = sim
        self.uid = uid
        gid = uid if gid is None else gid
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(HERE, "client.py"), sim.bus_address],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, user=uid, group=gid,
            extra_groups=[], cwd="/", env={"PATH": "/usr/bin:/bin"})
        self.buf = b""
        self.pending = {}
        self.next_id = 1
        hello = self._read_until(0, 15)
        check(hello.ok, "client (uid %d) could not connect: %s" % (uid, hello.message))
        self.name = hello.raw["name"]

    def _read_until(self, rid, timeout):
        deadline = time.monotonic() + timeout
        while rid not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ScenarioFailure("no answer from client (uid %d) for request %d within "
                                      "%gs" % (self.uid, rid, timeout))
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise ScenarioFailure("client (uid %d) died" % self.uid)
            self.buf += chunk
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                self.pending[msg["id"]] = Reply(msg)
        return self.pending.pop(rid)

    def start(self, op, **fields):
        rid = self.next_id
        self.next_id += 1
        self.proc.stdin.write((json.dumps(dict(fields, op=op, id=rid)) + "\n").encode())
        self.proc.stdin.flush()
        return rid

    def wait(self, rid, timeout=40):
        return self._read_until(rid, timeout)

    def request(self, op, timeout=40, **fields):
        return self.wait(self.start(op, **fields), timeout)

    # ----- D-Bus calls -----

    def start_call(self, path, iface, method, sig="", args=(), dest="org.vfiod1",
                   timeout_ms=30000):
        return self.start("call", dest=dest, path=path, iface=iface, method=method, sig=sig,
                          args=list(args), timeout=timeout_ms)

    def call(self, *args, **kwargs):
        return self.wait(self.start_call(*args, **kwargs))

    def start_assign(self, device, **options):
        return self.start_call(MANAGER_PATH, MANAGER, "AssignDevice", "(sa{sv})",
                               [device, opts(**options)])

    def assign(self, device, **options):
        return self.wait(self.start_assign(device, **options))

    def release(self, device):
        return self.call(MANAGER_PATH, MANAGER, "ReleaseDevice", "(s)", [device])

    def plan(self, device, **options):
        return self.call(MANAGER_PATH, MANAGER, "PlanAssignment", "(sa{sv})",
                         [device, opts(**options)])

    def get(self, path, iface, prop):
        reply = self.call(path, PROPS, "Get", "(ss)", [iface, prop])
        check(reply.ok, "Get %s.%s on %s failed: %r" % (iface, prop, path, reply))
        return reply.value[0]

    def device_prop(self, name, prop):
        return self.get(device_path(name), DEVICE, prop)

    def introspect(self, path):
        reply = self.call(path, "org.freedesktop.DBus.Introspectable", "Introspect")
        check(reply.ok, "Introspect %s failed: %r" % (path, reply))
        return reply.value[0]

    def fdinfo(self, fid):
        return self.request("fdinfo", fid=fid).raw["info"]

    def close_fd(self, fid):
        return self.request("close", fid=fid)

    def open(self, path, flags=os.O_RDWR):
        return self.request("open", path=path, flags=flags).raw

    def subscribe(self):
        return self.request("subscribe")

    def signals(self):
        return self.request("signals").raw["signals"]

    def kill(self):
        """Dies without a word: the bus sees the connection go."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.start("exit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


class Sim:
    """One scenario's world. Use as a context manager."""

    def __init__(self, machine=standard, config=DEFAULT_CONFIG, polkit_allowed=("org.vfiod1.assign",)):
        self.prefix = tempfile.mkdtemp(prefix="vfiod-sim.")
        os.chmod(self.prefix, 0o755)
        self.clients = []
        self.vfiod = None
        self.bus = None
        self.polkit = None
        self.mounts = None
        self.kernel = None
        try:
            self._setup(machine, config, polkit_allowed)
        except BaseException:
            self.close()
            raise

    def path(self, rel):
        return os.path.join(self.prefix, rel)

    def _setup(self, machine, config, polkit_allowed):
        for d in ("run/vfiod-sim", "run/vfiod", "etc", "bus", "log"):
            os.makedirs(self.path(d), mode=0o755, exist_ok=True)
        self.kernel = machine(self.path("run/vfiod-sim/uevent.sock"))
        self.mounts = Mounts(self.kernel, self.prefix)
        with open(self.path("etc/vfiod.conf"), "w") as f:
            f.write(config)
        self._start_bus()
        self.root = self.client(0)
        self._start_polkit(polkit_allowed)
        self.start_vfiod()

    def _start_bus(self):
        socket_path = self.path("bus/system_bus_socket")
        with open(self.path("bus/bus.conf"), "w") as f:
            f.write(bus_config(socket_path, os.path.join(SOURCE_ROOT, "dbus", "org.vfiod1.conf"),
                               polkit=True))
        self.bus = subprocess.Popen(
            ["dbus-daemon", "--config-file=" + self.path("bus/bus.conf"), "--nofork",
             "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=open(self.path("log/bus.log"), "w"), text=True)
        address = self.bus.stdout.readline().strip()
        check(address, "dbus-daemon did not start (see %s)" % self.path("log/bus.log"))
        self.bus_address = "unix:path=" + socket_path
        os.chmod(socket_path, 0o777)

    def _start_polkit(self, allowed):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        env.pop("LD_PRELOAD", None)
        self.polkit_log = self.path("log/polkit.log")
        self.polkit = subprocess.Popen(
            [PYTHON, "-m", "dbusmock", "--template", "polkitd", "-l", self.polkit_log],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.path("log/polkit.err"), "w"))
        self.wait_for_name("org.freedesktop.PolicyKit1", self.polkit)
        self.set_polkit(allowed)

    def set_polkit(self, allowed):
        reply = self.root.call("/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.DBus.Mock",
                               "SetAllowed", "(as)", [list(allowed)],
                               dest="org.freedesktop.PolicyKit1")
        check(reply.ok, "SetAllowed on the polkit mock failed: %r" % reply)

    def polkit_checks(self):
        """Actions vfiod asked polkit about, from the mock's own call log."""
        with open(self.polkit_log) as f:
            return [line for line in f if "CheckAuthorization" in line]

    def wait_for_name(self, name, proc, timeout=15):
        def owned():
            if proc.poll() is not None:
                raise ScenarioFailure("%s exited with %d before owning %s"
                                      % (proc.args[0], proc.returncode, name))
            reply = self.root.call("/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "NameHasOwner", "(s)", [name], dest="org.freedesktop.DBus")
            return reply.ok and reply.value[0]
        wait_until(owned, timeout, "%s on the bus" % name)

    def start_vfiod(self, extra_env=None):
        binary = os.environ.get("VFIOD_BIN")
        check(binary and os.path.exists(binary), "VFIOD_BIN must name the built vfiod")
        # Under -Db_sanitize the shim is not first in the link order (it is preloaded, plain);
        # undefined behaviour ends vfiod, so the clean-exit check at the end fails the test.
        env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": os.environ["VFIOD_SIM_PRELOAD"],
               "ASAN_OPTIONS": "verify_asan_link_order=0",
               "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
        env.update(extra_env or {})
        log = open(self.path("log/vfiod.log"), "a")
        log.write("=== vfiod started at %.3f\n" % time.time())
        log.flush()
        # VFIOD_SIM_WRAPPER="valgrind --error-exitcode=99 ..." runs the daemon (not the test
        # script) under a checker.
        wrapper = shlex.split(os.environ.get("VFIOD_SIM_WRAPPER", ""))
        self.vfiod = subprocess.Popen(
            wrapper + [binary, "--root=" + self.prefix, "--bus-address=" + self.bus_address,
             "--runtime-dir=" + self.path("run/vfiod"), "--config=" + self.path("etc/vfiod.conf"),
             "--log-level=debug"],
            env=env, stdout=log, stderr=log)
        self.wait_for_name("org.vfiod1", self.vfiod, timeout=60 if wrapper else 15)

    def stop_vfiod(self, sig=signal.SIGTERM, timeout=10):
        """Stops vfiod; returns its exit status. A SIGKILLed vfiod stuck in a blocked write only
        exits once the simulator lets that write finish."""
        if self.vfiod is None or self.vfiod.poll() is not None:
            return self.vfiod.returncode if self.vfiod else None
        self.vfiod.send_signal(sig)
        try:
            return self.vfiod.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ScenarioFailure("vfiod did not exit %gs after signal %d" % (timeout, sig))

    def vfiod_alive(self):
        return self.vfiod is not None and self.vfiod.poll() is None

    def client(self, uid=NOBODY, gid=None):
        c = Client(self, uid, gid)
        self.clients.append(c)
        return c

    def group_node(self, group):
        return self.path("dev/vfio/%d" % group)

    def log_tail(self, lines=60):
        try:
            with open(self.path("log/vfiod.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def close(self):
        for c in self.clients:
            c.kill()
        if self.vfiod is not None and self.vfiod.poll() is None:
            self.vfiod.terminate()
            try:
                self.vfiod.wait(5)
            except subprocess.TimeoutExpired:
                if self.kernel:
                    self.kernel.release_all_hangs()
                self.vfiod.kill()
                self.vfiod.wait(10)
        for proc in (self.polkit, self.bus):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
        if self.mounts:
            self.mounts.close()
        if self.kernel:
            self.kernel.close()
        if not os.environ.get("VFIOD_SIM_KEEP"):
            shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
