/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The root handle: every path into the kernel is resolved relative to one of these directory
 * fds, opened once. Production uses prefix "/"; tests pass a fixture tree (or the simulated
 * kernel's mount) that contains sys/, dev/, proc/ and run/.
 */

/*
 * Facts the kernel sets when it creates a device directory and keeps while that directory exists
 * (kernel/device.c says which, and why the directory's inode tells one instance from the next).
 * vk_device_load reads them once per directory instance and keeps them in the root.
 */
typedef struct vk_fixed_facts {
        int bus; /* vk_bus */
        char *name;
        dev_t dev; /* the device directory's st_dev and st_ino */
        ino_t ino;
        uint32_t vendor, device, class_code, subsystem_vendor, subsystem_device;
        char *modalias; /* NULL when the directory has none */
        char *physfn;   /* NULL when the link was absent then: it is looked for again */
        char *syspath;  /* where the directory is, as resolved beneath the root */
} vk_fixed_facts;

/* A few dozen devices are typical; a table this full is emptied rather than grown. */
#define VK_FIXED_FACTS_MAX 1024

typedef struct vk_root {
        unsigned n_ref;
        char *prefix; /* as given, e.g. "/" or "/tmp/fixture.XXXX" */
        int sysfs_fd; /* <prefix>/sys */
        int dev_fd;   /* <prefix>/dev */
        int proc_fd;  /* <prefix>/proc (may be -EBADF if absent in a fixture) */
        int run_fd;   /* <prefix>/run (may be -EBADF if absent in a fixture) */

        /* No lock: only the daemon's main thread loads devices. Its workers write
         * driver_override, unbind and drivers_probe through their own duplicate of the sysfs fd
         * and never touch the root (kernel/driver-core.c). facts_max is VK_FIXED_FACTS_MAX after
         * vk_root_open (tests lower it); 0 keeps nothing. */
        vk_fixed_facts *facts;
        size_t n_facts, n_facts_allocated, facts_max;
} vk_root;

/* Opens <prefix>/sys and <prefix>/dev (required), proc and run (optional). */
int vk_root_open(const char *prefix, vk_root **ret);
vk_root *vk_root_ref(vk_root *root);
vk_root *vk_root_unref(vk_root *root);
static inline void vk_root_unrefp(vk_root **r)
{
        vk_root_unref(*r);
}

/* True when the root is the real system ("/"), false for fixtures and the simulated kernel. */
int vk_root_is_system(const vk_root *root);

/* Whatever is kept for device (bus, name), whichever directory instance it was, or NULL: the
 * caller compares the kept inode with the directory it finds (vk_device_known_at). */
const vk_fixed_facts *vk_root_find_facts_by_name(const vk_root *root, int bus, const char *name);
/* Keeps a copy of *facts, replacing what was kept for the same (bus, name). A full table is
 * emptied first. -ENOMEM leaves the table as it was. */
int vk_root_keep_facts(vk_root *root, const vk_fixed_facts *facts);
