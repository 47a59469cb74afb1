# SPDX-License-Identifier: LGPL-2.1-or-later
"""A simulated kernel for vfiod's sim tier.

model.py    the driver core: devices, drivers, IOMMU groups, VFIO group nodes, fault injection
layout.py   where the model's devices, drivers and nodes appear in sys/, dev/ and proc/
tree.py     the virtual files (directories, attributes with read/write callbacks, symlinks)
uevent.py   kernel-format uevent datagrams to <prefix>/run/vfiod-sim/uevent.sock
fs.py       FUSE glue: serves sys/, dev/ and proc/ of a model as three mounts
fuse3.py    the ctypes binding of libfuse3's low-level API that fs.py uses
console.py  framebuffers, fbcon, vtconsoles and the aperture code
gpu.py      display drivers: a firmware framebuffer driver (vesafb/efifb) and bochs-drm
topology.py ready-made machines for the scenarios
"""
