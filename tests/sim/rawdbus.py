# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hand-marshalled D-Bus messages, for what no binding will send: a string with a NUL inside.

The D-Bus wire format forbids NUL in strings, so libdbus, sd-bus and GDBus all refuse (or
truncate) such an argument. To prove the bus rejects it before vfiod ever sees it, the message is
built here byte by byte (little-endian, protocol version 1) and sent on a plain socket.
"""

import os
import socket
import struct


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def align(self, n):
        self.buf += b"\0" * (-len(self.buf) % n)

    def byte(self, v):
        self.buf += bytes([v])

    def uint32(self, v):
        self.align(4)
        self.buf += struct.pack("<I", v)

    def string(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.uint32(len(data))
        self.buf += data + b"\0"

    def signature(self, sig):
        self.byte(len(sig))
        self.buf += sig.encode() + b"\0"


def method_call(serial, dest, path, iface, member, signature, body):
    fields = Writer()
    for code, sig, value in ((1, "o", path), (2, "s", iface), (3, "s", member),
                             (6, "s", dest), (8, "g", signature)):
        if value is None:
            continue
        fields.align(8)
        fields.byte(code)
        fields.signature(sig)
        if sig == "g":
            fields.signature(value)
        else:
            fields.string(value)
    msg = Writer()
    msg.buf += b"l" + bytes([1, 0, 1])  # little endian, METHOD_CALL, no flags, version 1
    msg.uint32(len(body))
    msg.uint32(serial)
    msg.uint32(len(fields.buf))
    msg.align(8)
    msg.buf += fields.buf
    msg.align(8)
    return bytes(msg.buf) + body


def assign_body(device):
    """The body of AssignDevice(s device, a{sv} options) with empty options."""
    body = Writer()
    body.string(device)
    body.uint32(0)  # empty array ...
    body.align(8)  # ... still padded to its elements' alignment
    return bytes(body.buf)


def _connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(path)
    uid = str(os.getuid()).encode().hex()
    sock.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
    if not sock.recv(4096).startswith(b"OK"):
        raise RuntimeError("EXTERNAL authentication refused")
    sock.sendall(b"BEGIN\r\n")
    sock.sendall(method_call(1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "Hello", None, b""))
    return sock


def send_with_nul(bus_socket_path, device):
    """Sends AssignDevice(device) raw. Returns "disconnected" when the bus dropped the connection,
    else the raw bytes received after the call (a reply that a caller can search)."""
    sock = _connect(bus_socket_path)
    try:
        sock.sendall(method_call(2, "org.vfiod1", "/org/vfiod1", "org.vfiod1.Manager",
                                 "AssignDevice", "sa{sv}", assign_body(device)))
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return received
            except ConnectionResetError:
                return "disconnected"
            if not chunk:
                return "disconnected"
            received += chunk
    finally:
        sock.close()
