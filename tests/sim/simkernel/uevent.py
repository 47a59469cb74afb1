# SPDX-License-Identifier: LGPL-2.1-or-later
"""Kernel-format uevents for the simulated kernel.

The real kernel broadcasts "ACTION@DEVPATH\\0KEY=VALUE\\0..." on a netlink socket. Under a
non-system root vfiod binds a datagram socket at <prefix>/run/vfiod-sim/uevent.sock instead
(CONTRACTS.md), and this module sends the same bytes there.

Messages are queued in the order the model produces them and sent by one thread, so a write into
the simulated sysfs never waits for vfiod to read its socket (vfiod may be the writer, and a full
socket queue would then deadlock it). Nobody listening is not an error: the kernel does not care
either.
"""

import errno
import queue
import socket
import threading


def format_uevent(action, devpath, env, seqnum):
    """The bytes of one uevent, header first, as the kernel's netlink broadcast has them."""
    fields = [f"{action}@{devpath}", f"ACTION={action}", f"DEVPATH={devpath}"]
    fields += [f"{k}={v}" for k, v in env.items()]
    fields.append(f"SEQNUM={seqnum}")
    return b"\0".join(f.encode() for f in fields) + b"\0"


class UeventSender:
    def __init__(self, socket_path=None):
        self.socket_path = socket_path
        self.seqnum = 1000
        self.history = []  # (action, devpath, env) of everything emitted, for tests
        self._queue = queue.Queue()
        self._open = threading.Event()  # cleared while held: a busy udevd passes nothing on
        self._open.set()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # A full receiver queue blocks the sender thread for at most this long per message.
        self._sock.settimeout(5)
        self._thread = threading.Thread(target=self._run, name="uevent-sender", daemon=True)
        self._thread.start()

    def emit(self, action, devpath, env):
        """Queues one event; called with the model's lock held, so the order is the model's."""
        self.seqnum += 1
        self.history.append((action, devpath, dict(env)))
        self._queue.put(format_uevent(action, devpath, env, self.seqnum))

    def flush(self, timeout=5):
        """Waits until everything queued so far was handed to the socket (or dropped)."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def hold(self):
        """Keeps every event not sent yet queued until release(), as udevd holds an event while
        its rules run."""
        self._open.clear()

    def release(self):
        self._open.set()

    def close(self):
        self._open.set()
        self._queue.put(None)
        self._thread.join(5)
        self._sock.close()

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            if not self.socket_path:
                continue
            self._open.wait()
            try:
                self._sock.sendto(item, self.socket_path)
            except socket.timeout:
                pass
            except OSError as e:
                # ENOENT / ECONNREFUSED: nobody bound the socket (vfiod not running).
                if e.errno not in (errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN,
                                   errno.ENOBUFS, errno.EMSGSIZE):
                    raise
