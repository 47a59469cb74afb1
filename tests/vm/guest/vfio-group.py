#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Probe a VFIO group node from the shell (guest only).

  vfio-group.py status N       print VFIO_GROUP_GET_STATUS flags (1 = viable, 2 = container set)
  vfio-group.py open N         open the node once; print "success" or the errno name
  vfio-group.py open-twice N   open the node, then again while held; print the second errno name
  vfio-group.py hold N DEVICE  container + type1v2 + GET_DEVICE_FD, print "holding", sleep until
                               killed (keeps a device fd open, which makes vfio-pci's unbind wait)
"""

import errno
import fcntl
import os
import struct
import sys
import time

VFIO_TYPE = ord(';')
VFIO_BASE = 100
VFIO_TYPE1v2_IOMMU = 3


def _io(nr):
    # _IO(VFIO_TYPE, VFIO_BASE + nr): VFIO ioctls carry no size field.
    return (VFIO_TYPE << 8) | (VFIO_BASE + nr)


VFIO_SET_IOMMU = _io(2)
VFIO_GROUP_GET_STATUS = _io(3)
VFIO_GROUP_SET_CONTAINER = _io(4)
VFIO_GROUP_GET_DEVICE_FD = _io(6)


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


def hold(group_fd, device):
    container = os.open('/dev/vfio/vfio', os.O_RDWR | os.O_CLOEXEC)
    fcntl.ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, struct.pack('i', container))
    fcntl.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)
    device_fd = fcntl.ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, device.encode() + b'\0')
    print(f'holding device fd {device_fd}', flush=True)
    while True:
        time.sleep(3600)


def main(argv):
    if argv[1:2] == ['hold'] and len(argv) == 4 and argv[2].isdigit():
        fd = os.open(f'/dev/vfio/{argv[2]}', os.O_RDWR | os.O_CLOEXEC)
        hold(fd, argv[3])
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
