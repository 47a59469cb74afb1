/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "device.h"

/*
 * Who uses a device right now. Each reason is a sentence fragment a person can act on:
 *   "block device nvme0n1p2 is mounted on /home"
 *   "network interface enp3s0 is up"
 *   "/dev/dri/card1 is open (pid 1234, Xorg)"
 * Sources: the device's block children, their partitions and holders (dm, md) against
 * proc/self/mountinfo and proc/swaps; virtio children that carry a mounted 9p or virtiofs share
 * ("virtio-9p share hostroot is mounted on /"); net children's flags; proc/<pid>/fd links to the
 * device's drm, graphics and block nodes. A PCI function without a driver has none of these
 * and is not walked. Returns the number of reasons (0: nobody) with
 * *ret_reasons always allocated, or -errno when a source could not be read in full (never a guess).
 */
int vk_holders_find(vk_root *root, const vk_device *dev, char ***ret_reasons);

/* Parsers, fuzzed on their own. */
/* mountinfo: collects "major:minor" -> mount point pairs, with the filesystem type and the mount
 * source ("9p", "hostroot"): a share's mount has no block device, its source is the share's tag.
 * Lines without the "- fstype source" tail are skipped. */
typedef struct vk_mount {
        unsigned major, minor;
        char *mount_point;
        char *fstype, *source;
} vk_mount;
int vk_parse_mountinfo(const char *text, vk_mount **ret, size_t *ret_n);
void vk_mount_list_free(vk_mount *l, size_t n);

/* Reads a whole file under the root's proc directory ("self/mountinfo", "iomem") into a
 * NUL-terminated string; these outgrow a sysfs page. -ENOENT when the root has no proc, -EFBIG
 * past max bytes. */
int vk_proc_read(vk_root *root, const char *path, size_t max, char **ret);
