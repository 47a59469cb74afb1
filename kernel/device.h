/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "root.h"

/* The buses vfiod can move devices on. */
typedef enum vk_bus {
        VK_BUS_PCI,
        VK_BUS_PLATFORM,
        VK_BUS_AMBA,
        _VK_BUS_MAX,
        _VK_BUS_INVALID = -EINVAL,
} vk_bus;

const char *vk_bus_to_string(vk_bus bus);           /* "pci", "platform", "amba" */
vk_bus vk_bus_from_string(const char *s);           /* or _VK_BUS_INVALID */
const char *vk_bus_default_vfio_driver(vk_bus bus); /* vfio-pci, vfio-platform, vfio-amba */

#define VK_NAME_MAX 255

/* A device's identity: bus plus kernel name. */
typedef struct vk_device_id {
        vk_bus bus;
        char name[VK_NAME_MAX + 1]; /* "0000:03:00.0", "fff51000.ethernet" */
} vk_device_id;

static inline bool vk_device_id_equal(const vk_device_id *a, const vk_device_id *b)
{
        return a->bus == b->bus && strcmp(a->name, b->name) == 0;
}

/*
 * Parses a user-supplied name without touching the filesystem: "0000:03:00.0", "pci:0000:03:00.0",
 * "platform:<name>", "amba:<name>". Returns -EINVAL for empty, over-long (> 255), NUL-containing,
 * traversal ("..", "/") or otherwise malformed names. A bare name is PCI when it has the
 * DDDD:BB:DD.F shape. Paths are not accepted here (see vk_device_resolve).
 */
int vk_parse_device_name(const char *s, size_t len, vk_device_id *ret);

/*
 * Resolves a name (as above) or an absolute path under /sys/devices to exactly one real device
 * directory: the device must appear in /sys/bus/<bus>/devices and the link there must resolve
 * inside the sysfs tree. -EINVAL malformed, -ENODEV no such device, -EXDEV path leaves the tree
 * or is not a device of a supported bus.
 */
int vk_device_resolve(vk_root *root, const char *name, size_t len, vk_device_id *ret);

/*
 * The id of the device directory at syspath, a canonical path below the tree's root as
 * vk_sysfs_resolve_link returns it ("devices/pci0000:00/..."): the bus from its subsystem link,
 * the kernel name from its last component. Whether the bus lists this very directory under that
 * name is left to the caller (vk_device_load's syspath says). -EXDEV outside devices/ or not a
 * device of a supported bus, -ENODEV no device there.
 */
int vk_device_identify(vk_root *root, const char *syspath, vk_device_id *ret);

/*
 * Whether the link at link_path (below the tree's root) leads to the very directory whose fixed
 * facts are kept for id (root.h): the link is followed by one stat and compared with the kept
 * inode. Such a directory was checked when its facts were kept (inside devices/, listed by its
 * bus under its name), so callers skip resolving the link and the device's subsystem. false when
 * nothing is kept for id or the link leads elsewhere: then take the long way.
 */
bool vk_device_known_at(vk_root *root, const vk_device_id *id, const char *link_path);

/* A memory BAR from the "resource" file (I/O ports and empty lines are skipped). */
typedef struct vk_bar {
        unsigned index;
        uint64_t start, end, flags;
} vk_bar;

#define VK_MAX_BARS 7 /* six BARs plus the expansion ROM */

/* Facts read from sysfs at one moment. Absent attributes read as 0/NULL/-1. */
typedef struct vk_device {
        vk_device_id id;
        char *syspath; /* relative to sysfs root: "devices/pci0000:00/0000:00:02.0/..." */
        uint32_t vendor, device, class_code, subsystem_vendor, subsystem_device;
        char *driver;          /* NULL when unbound */
        char *driver_override; /* NULL when the kernel says "(null)", or not read (unbinding) */
        bool unbinding;        /* inside a VFIO driver's remove: see vk_device_unbinding(); the
                                  override was not read */
        int iommu_group;       /* -1 without a group */
        int boot_vga;          /* -1 when the attribute is absent */
        char *modalias;
        int numvfs, totalvfs; /* -1 without SR-IOV; numvfs also -1 while unbinding */
        char *physfn;         /* name of the PF when this is a VF, else NULL */
        bool is_bridge; /* PCI-PCI/CardBus bridge (0x0604, 0x0609, 0x0607): vfio-pci refuses */
        vk_bar bars[VK_MAX_BARS];
        size_t n_bars;
} vk_device;

/* Reads every fact; -ENODEV if the device vanished (including between two reads). The facts the
 * kernel fixes for a directory's lifetime (ids, class, modalias, a VF's physfn) are read once per
 * directory instance, told apart by inode, and kept in root; the rest are read every time. */
int vk_device_load(vk_root *root, const vk_device_id *id, vk_device **ret);
vk_device *vk_device_free(vk_device *d);
/* A deep copy; -ENOMEM. */
int vk_device_copy(const vk_device *d, vk_device **ret);
static inline void vk_device_freep(vk_device **d)
{
        vk_device_free(*d);
}

/* sysfs path of the device's directory through the bus ("bus/pci/devices/<name>"). */
int vk_device_bus_path(const vk_device_id *id, char *buf, size_t size);

/* Current driver name only (cheap re-read of the "driver" link); *ret = NULL when unbound. */
int vk_device_read_driver(vk_root *root, const vk_device_id *id, char **ret);
/* Current override only; *ret = NULL for "(null)". -EBUSY while vk_device_unbinding() says so:
 * the read would wait for the device lock (6.1 takes it in driver_override_show). */
int vk_device_read_override(vk_root *root, const vk_device_id *id, char **ret);

/*
 * Is an unbind of this device from a VFIO driver in progress, by anyone? The driver core removes
 * the "driver" link before drv->remove runs, and the VFIO core removes the device's
 * "vfio-dev/vfioN" child (present while bound to a VFIO driver, since 6.1) only at the end of
 * that remove, after every device fd was closed. No driver link but a vfio-dev child therefore
 * means the unbinding thread holds the device lock, possibly for as long as a program keeps a
 * device fd open. Reads only the two links, never a locked attribute. 1 yes, 0 no, -ENODEV gone.
 * Proven on 6.1 (tests/vm kernel-facts). 6.12 removes vfio-dev before waiting, so this says 0
 * there; reading driver_override no longer takes the lock on 6.12, but writing it still does.
 */
int vk_device_unbinding(vk_root *root, const vk_device_id *id);

/* Where a device is bound, in one pass of the links and attributes above: the driver (NULL:
 * none), whether an unbind is in progress (vk_device_unbinding) and, unless it is, the override
 * (NULL for "(null)"; never read while unbinding). What vk_device_read_driver,
 * vk_device_unbinding and vk_device_read_override read one after the other, each making sure the
 * device is still there, for a third of the path walks. -ENODEV once the device is gone; the
 * outputs are untouched on failure. */
int vk_device_read_binding(vk_root *root, const vk_device_id *id, char **ret_driver,
                           bool *ret_unbinding, char **ret_override);

/* Parses a PCI "resource" file into memory BARs (flags & IORESOURCE_MEM). */
int vk_parse_resource(const char *text, vk_bar *bars, size_t max, size_t *ret_n);

/* Enumerates the names of all devices on a bus ("bus/<bus>/devices"). */
int vk_bus_list_devices(vk_root *root, vk_bus bus, char ***ret);
