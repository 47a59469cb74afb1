# SPDX-License-Identifier: LGPL-2.1-or-later
"""A simulated kernel for vfiod's sim tier.

tree.py   the virtual files (directories, attributes with read/write callbacks, symlinks)
model.py  the driver core: devices, drivers, IOMMU groups, VFIO group nodes, fault injection
uevent.py kernel-format uevent datagrams to <prefix>/run/vfiod-sim/uevent.sock
fs.py     FUSE glue: serves sys/, dev/ and proc/ of a model as three mounts
topology.py ready-made machines for the scenarios
"""
