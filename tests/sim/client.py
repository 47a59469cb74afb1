#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A D-Bus client for the sim scenarios, run by the harness as a child process under the uid
being tested, so the daemon sees that uid in the bus credentials.

Protocol: one JSON request per line on stdin, one JSON response per line on stdout, matched by
"id". Calls are asynchronous (several may be in flight); fds received in replies stay open here,
under an fid, until closed or the process exits. Usage: client.py BUS_ADDRESS
"""

import ctypes
import errno
import itertools
import json
import os
import struct
import sys

from gi.repository import Gio, GLib

FUSE_SUPER_MAGIC = 0x65735546
_libc = ctypes.CDLL(None, use_errno=True)


def fstatfs_type(fd):
    buf = ctypes.create_string_buffer(256)  # struct statfs; f_type is the first long
    if _libc.fstatfs(fd, buf) != 0:
        return -ctypes.get_errno()
    return struct.unpack_from("l", buf.raw)[0]


def to_variant_value(value):
    """JSON -> the Python value PyGObject packs; {"$v": [type, value]} stands for a variant."""
    if isinstance(value, dict):
        if "$v" in value:
            sig, inner = value["$v"]
            return GLib.Variant(sig, to_variant_value(inner))
        return {k: to_variant_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_variant_value(v) for v in value]
    return value


def error_reply(e):
    if Gio.DBusError.is_remote_error(e):
        name = Gio.DBusError.get_remote_error(e)
        message = e.message
        prefix = "GDBus.Error:%s: " % name
        if message.startswith(prefix):
            message = message[len(prefix):]
        return {"ok": False, "error": name, "message": message}
    return {"ok": False, "error": "local:%s:%d" % (e.domain, e.code), "message": e.message}


class Client:
    def __init__(self, address):
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                 | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        self.conn = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        self.conn.set_exit_on_close(False)
        self.loop = GLib.MainLoop()
        self.fds = {}
        self.fids = itertools.count(1)
        self.signals = []
        self.subscription = None
        self.inbuf = b""

    def send(self, msg):
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    def fd_info(self, fid):
        fd = self.fds[fid]
        info = {"fid": fid, "fstype": fstatfs_type(fd)}
        try:
            st = os.fstat(fd)
            info.update(ino=st.st_ino, dev=st.st_dev, mode=st.st_mode, uid=st.st_uid,
                        gid=st.st_gid)
        except OSError as e:
            info["fstat_errno"] = e.errno
        try:
            info["content"] = os.pread(fd, 256, 0).decode("latin-1")
        except OSError as e:
            info["content_errno"] = e.errno
        return info

    # ----- operations -----

    def op_call(self, req):
        params = None
        if req.get("sig"):
            params = GLib.Variant(req["sig"], tuple(to_variant_value(a) for a in req["args"]))

        def done(conn, result):
            try:
                value, fd_list = conn.call_with_unix_fd_list_finish(result)
            except GLib.Error as e:
                self.send(dict(error_reply(e), id=req["id"]))
                return
            fids = []
            if fd_list is not None:
                for fd in fd_list.steal_fds():
                    fid = next(self.fids)
                    self.fds[fid] = fd
                    fids.append(fid)
            self.send({"id": req["id"], "ok": True,
                       "value": value.unpack() if value is not None else None,
                       "fds": [self.fd_info(f) for f in fids]})

        self.conn.call_with_unix_fd_list(
            req.get("dest", "org.vfiod1"), req["path"], req["iface"], req["method"], params,
            None, Gio.DBusCallFlags.NONE, req.get("timeout", 30000), None, None, done)

    def op_fdinfo(self, req):
        return {"info": self.fd_info(req["fid"])}

    def op_close(self, req):
        os.close(self.fds.pop(req["fid"]))
        return {}

    def op_open(self, req):
        try:
            fd = os.open(req["path"], req.get("flags", os.O_RDWR) | os.O_CLOEXEC)
        except OSError as e:
            return {"errno": e.errno}
        fid = next(self.fids)
        self.fds[fid] = fd
        return {"errno": 0, "info": self.fd_info(fid)}

    def op_subscribe(self, req):
        def on_signal(conn, sender, path, iface, member, params):
            self.signals.append({"sender": sender, "path": path, "iface": iface,
                                 "member": member, "args": params.unpack()})
        self.subscription = self.conn.signal_subscribe(
            None, None, None, None, None, Gio.DBusSignalFlags.NONE, on_signal)
        # A round trip to the bus, so the match rule is in place when we answer.
        self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "GetId", None, None,
                            Gio.DBusCallFlags.NONE, 5000, None)
        return {}

    def op_signals(self, req):
        out, self.signals = self.signals, []
        return {"signals": out}

    def op_name(self, req):
        return {"name": self.conn.get_unique_name(), "uid": os.getuid()}

    def op_exit(self, req):
        self.loop.quit()
        return {}

    # ----- plumbing -----

    def handle(self, req):
        try:
            method = getattr(self, "op_" + req["op"])
            reply = method(req)
        except (OSError, GLib.Error, KeyError) as e:
            reply = {"ok": False, "error": "client:" + type(e).__name__, "message": str(e)}
        if reply is not None:
            reply.setdefault("ok", True)
            reply["id"] = req["id"]
            self.send(reply)

    def on_stdin(self, fd, condition):
        data = os.read(fd, 65536)
        if not data:
            self.loop.quit()
            return False
        self.inbuf += data
        while b"\n" in self.inbuf:
            line, self.inbuf = self.inbuf.split(b"\n", 1)
            if line.strip():
                self.handle(json.loads(line))
        return True

    def run(self):
        GLib.io_add_watch(0, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                          self.on_stdin)
        self.send({"id": 0, "ok": True, "ready": True, "name": self.conn.get_unique_name(),
                   "uid": os.getuid()})
        self.loop.run()


if __name__ == "__main__":
    try:
        Client(sys.argv[1]).run()
    except GLib.Error as e:
        sys.stdout.write(json.dumps({"id": 0, "ok": False, "error": "connect",
                                     "message": e.message}) + "\n")
        sys.exit(errno.ECONNREFUSED)
