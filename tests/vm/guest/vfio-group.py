#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Probe a VFIO group node from the shell (guest only).

  vfio-group.py status N       print VFIO_GROUP_GET_STATUS flags (1 = viable, 2 = container set)
  vfio-group.py open N         open the node once; print "success" or the errno name
  vfio-group.py open-twice N   open the node, then again while held; print the second errno name
"""

import errno
import fcntl
import os
import struct
import sys

VFIO_TYPE = ord(';')
VFIO_BASE = 100
# _IO(VFIO_TYPE, VFIO_BASE + 3): no size field, the struct is passed by pointer anyway.
VFIO_GROUP_GET_STATUS = (VFIO_TYPE << 8) | (VFIO_BASE + 3)


def group_status(fd):
    buf = bytearray(struct.pack('II', 8, 0))
    fcntl.ioctl(fd, VFIO_GROUP_GET_STATUS, buf, True)
    return struct.unpack('II', buf)[1]


def try_open(path):
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
        return 'success'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main(argv):
    if len(argv) != 3 or not argv[2].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    path = f'/dev/vfio/{argv[2]}'
    if argv[1] == 'open':
        print(try_open(path))
        return 0
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        if argv[1] == 'status':
            print(group_status(fd))
        elif argv[1] == 'open-twice':
            print(try_open(path))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    finally:
        os.close(fd)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
