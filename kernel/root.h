/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The root handle: every path into the kernel is resolved relative to one of these directory
 * fds, opened once. Production uses prefix "/"; tests pass a fixture tree (or the simulated
 * kernel's mount) that contains sys/, dev/, proc/ and run/.
 */

typedef struct vk_root {
        unsigned n_ref;
        char *prefix; /* as given, e.g. "/" or "/tmp/fixture.XXXX" */
        int sysfs_fd; /* <prefix>/sys */
        int dev_fd;   /* <prefix>/dev */
        int proc_fd;  /* <prefix>/proc (may be -EBADF if absent in a fixture) */
        int run_fd;   /* <prefix>/run (may be -EBADF if absent in a fixture) */
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
