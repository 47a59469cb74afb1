/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macros.h"
#include "root.h"

static int open_dir_at(int dirfd, const char *name, bool required, int *ret_fd)
{
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT && !required) {
                        *ret_fd = -EBADF;
                        return 0;
                }
                return -errno;
        }
        *ret_fd = fd;
        return 0;
}

int vk_root_open(const char *prefix, vk_root **ret)
{
        _cleanup_(closep) int prefix_fd = -EBADF;
        _cleanup_(vk_root_unrefp) vk_root *root = NULL;
        int r;

        if (!prefix || !*prefix || !ret)
                return -EINVAL;

        prefix_fd = open(prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (prefix_fd < 0)
                return -errno;

        root = calloc(1, sizeof(*root));
        if (!root)
                return -ENOMEM;
        root->n_ref = 1;
        root->sysfs_fd = root->dev_fd = root->proc_fd = root->run_fd = -EBADF;
        root->prefix = strdup(prefix);
        if (!root->prefix)
                return -ENOMEM;

        /* Real directory fds (not O_PATH): callers list directories and read through them. */
        r = open_dir_at(prefix_fd, "sys", true, &root->sysfs_fd);
        if (r < 0)
                return r;
        r = open_dir_at(prefix_fd, "dev", true, &root->dev_fd);
        if (r < 0)
                return r;
        /* Fixtures that test only sysfs need no proc or run. */
        r = open_dir_at(prefix_fd, "proc", false, &root->proc_fd);
        if (r < 0)
                return r;
        r = open_dir_at(prefix_fd, "run", false, &root->run_fd);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(root);
        return 0;
}

vk_root *vk_root_ref(vk_root *root)
{
        if (root)
                root->n_ref++;
        return root;
}

vk_root *vk_root_unref(vk_root *root)
{
        if (!root || --root->n_ref > 0)
                return NULL;
        safe_close(root->sysfs_fd);
        safe_close(root->dev_fd);
        safe_close(root->proc_fd);
        safe_close(root->run_fd);
        free(root->prefix);
        free(root);
        return NULL;
}

/* Compares inodes rather than strings: "/", "//", "/." and a bind mount of / are all the system.
 * Returns 1 or 0, or -errno when the prefix cannot be examined any more. */
int vk_root_is_system(const vk_root *root)
{
        struct stat a, b;

        if (!root)
                return -EINVAL;
        if (stat(root->prefix, &a) < 0 || stat("/", &b) < 0)
                return -errno;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
