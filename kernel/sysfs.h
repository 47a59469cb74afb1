/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Attribute access relative to a directory fd (normally root->sysfs_fd). Paths are relative
 * ("bus/pci/devices/0000:03:00.0/vendor"). Every function returns 0 or a negative errno that is
 * exactly what the kernel returned; reads are bounded (sysfs attributes are at most a page).
 */

#define VK_SYSFS_ATTR_MAX 4096

/* Reads fd to EOF into a newly allocated, NUL-terminated buffer; -EFBIG when it holds more than
 * max bytes. *ret_n (optional) is the length, which may include NUL bytes of the file's own. */
int vk_read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_n);

/* Reads an attribute into a newly allocated string with the trailing newline removed. */
int vk_sysfs_read(int dirfd, const char *path, char **ret);

/* One write() of the whole value, as the kernel's store callbacks expect; a short write is -EIO. */
int vk_sysfs_write(int dirfd, const char *path, const char *value);

/* Last component of a symlink's target ("driver" -> "e1000"), -ENOENT if the link is absent. */
int vk_sysfs_read_link_name(int dirfd, const char *path, char **ret);

/* Full target of a symlink resolved against dirfd's tree, returned relative to the sysfs root
 * ("devices/pci0000:00/0000:00:02.0"); -EXDEV if it leaves the tree. Links anywhere in path are
 * followed the same way, so a path that is no link yields its canonical form; it must exist. */
int vk_sysfs_resolve_link(int dirfd, const char *path, char **ret);
/* Its two ways, exposed so tests hold both to one table: the kernel's walk (openat2 with
 * RESOLVE_BENEATH, then the name from /proc/self/fd), which returns 1 when it is not available
 * here, and the walk component by component in user space that is used then. */
int vk_sysfs_resolve_link_beneath(int dirfd, const char *path, char **ret);
int vk_sysfs_resolve_link_walk(int dirfd, const char *path, char **ret);

/* Names in a directory (no dot entries), sorted, as a NULL-terminated vector (maybe empty). */
int vk_sysfs_list(int dirfd, const char *path, char ***ret);
/* The same for the directories in it only: symbolic links and files are left out. */
int vk_sysfs_list_dirs(int dirfd, const char *path, char ***ret);

/* Parsers, shared by the readers above and fuzzed on their own. Input is NUL-terminated. */
int vk_parse_hex_u32(const char *s, uint32_t *ret); /* "0x8086" or "8086", trailing \n ok */
int vk_parse_int(const char *s, int *ret);          /* decimal, trailing \n ok */
int vk_parse_bool(const char *s, int *ret);         /* "0"/"1", also "N"/"Y" (module params) */
