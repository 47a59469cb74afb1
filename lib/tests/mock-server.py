#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the org.vfiod1 mock on $DBUS_SYSTEM_BUS_ADDRESS. Unlike `python3 -m dbusmock`, it
exports every object before it takes the bus name, as the real daemon does, so a client that
reacts to the name appearing finds the objects there. Prints "ready" once it owns the name; logs calls to LOGFILE.

Usage: mock-server.py TEMPLATE JSON-PARAMETERS LOGFILE"""

import json
import os
import sys

import dbus
import dbus.mainloop.glib
from dbusmock import mockobject
from gi.repository import GLib


def main(template, parameters, logfile):
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    manager = mockobject.DBusMockObject(conn, "/org/vfiod1", "org.vfiod1.Manager", {}, logfile)
    mockobject.objects["/org/vfiod1"] = manager
    manager.AddTemplate(template, parameters)
    if conn.request_name("org.vfiod1", dbus.bus.NAME_FLAG_DO_NOT_QUEUE) != \
            dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER:
        sys.exit("org.vfiod1 is taken")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3])
