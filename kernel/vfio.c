/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * VFIO's user-visible pieces: the group node under /dev/vfio, its status ioctl, the per-device
 * cdev some kernels add, and what this kernel can do at all (the daemon's Features property).
 */

#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "driver-core.h"
#include "macros.h"
#include "modules.h"
#include "sysfs.h"
#include "vfio.h"

int vk_vfio_group_node(int group, char *buf, size_t size)
{
        if (group < 0 || !buf)
                return -EINVAL;
        int n = snprintf(buf, size, "vfio/%d", group);
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        return 0;
}

bool vk_vfio_group_node_exists(vk_root *root, int group)
{
        char path[32];
        struct stat st;

        if (!root || vk_vfio_group_node(group, path, sizeof(path)) < 0)
                return false;
        return fstatat(root->dev_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int vk_vfio_group_open(vk_root *root, int group, int *ret_fd)
{
        char path[32];
        int fd, r;

        if (!root || !ret_fd)
                return -EINVAL;
        r = vk_vfio_group_node(group, path, sizeof(path));
        if (r < 0)
                return r;
        /* The node is a character device created by devtmpfs: a symlink there is not ours. */
        fd = openat(root->dev_fd, path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int vk_vfio_group_status(int fd, uint32_t *ret_flags)
{
        struct vfio_group_status status = {
            .argsz = sizeof(status),
        };

        if (fd < 0 || !ret_flags)
                return -EINVAL;
        if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0)
                return -errno;
        *ret_flags = status.flags;
        return 0;
}

int vk_vfio_group_chown(vk_root *root, int group, uid_t uid, gid_t gid)
{
        char path[32];
        int r;

        if (!root)
                return -EINVAL;
        r = vk_vfio_group_node(group, path, sizeof(path));
        if (r < 0)
                return r;
        if (fchownat(root->dev_fd, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

/* "vfio" followed by a decimal number, the only names the kernel gives its device cdevs. */
static bool is_cdev_name(const char *name)
{
        if (strncmp(name, "vfio", 4) != 0 || name[4] == '\0')
                return false;
        return strspn(name + 4, "0123456789") == strlen(name + 4);
}

int vk_vfio_device_cdev(vk_root *root, const vk_device_id *id, char **ret_name, bool *ret_has_node)
{
        _cleanup_(strv_freep) char **entries = NULL;
        _cleanup_(freep) char *name = NULL;
        char dev[PATH_MAX], path[PATH_MAX];
        struct stat st;
        int n, r;

        if (!root || !id || !ret_name)
                return -EINVAL;
        r = vk_device_bus_path(id, dev, sizeof(dev));
        if (r < 0)
                return r;
        n = snprintf(path, sizeof(path), "%s/vfio-dev", dev);
        if (n < 0 || (size_t)n >= sizeof(path))
                return -ENAMETOOLONG;
        r = vk_sysfs_list(root->sysfs_fd, path, &entries);
        if (r < 0)
                return r;

        for (char **e = entries; *e; e++) {
                if (!is_cdev_name(*e))
                        continue;
                /* One device has one cdev; two would mean we do not understand this kernel. */
                if (name)
                        return -EBADMSG;
                name = strdup(*e);
                if (!name)
                        return -ENOMEM;
        }
        if (!name)
                return -ENOENT;

        n = snprintf(path, sizeof(path), "vfio/devices/%s", name);
        if (n < 0 || (size_t)n >= sizeof(path))
                return -ENAMETOOLONG;
        if (ret_has_node)
                *ret_has_node = fstatat(root->dev_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
        *ret_name = TAKE_PTR(name);
        return 0;
}

/* 1 when the directory has an entry, 0 when empty or absent. */
static int dir_has_entries(int dirfd, const char *path)
{
        _cleanup_(strv_freep) char **entries = NULL;
        int r = vk_sysfs_list(dirfd, path, &entries);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return entries[0] != NULL;
}

static int read_noiommu(vk_root *root, bool *ret)
{
        _cleanup_(freep) char *value = NULL;
        int on, r;

        r = vk_sysfs_read(root->sysfs_fd, "module/vfio/parameters/enable_unsafe_noiommu_mode",
                          &value);
        if (r == -ENOENT) {
                /* vfio not loaded, or built without VFIO_NOIOMMU (Debian): no parameter. */
                *ret = false;
                return 0;
        }
        if (r < 0)
                return r;
        /* Boolean module parameters read back as "Y" or "N". */
        r = vk_parse_bool(value, &on);
        if (r < 0)
                return r;
        *ret = on;
        return 0;
}

/*
 * vfio-platform/vfio-amba count when their driver is registered. On the real system a module
 * that libkmod knows counts too, since assigning would load it; under a fixture or the simulated
 * kernel the host's module directory says nothing about the tree, so only the tree counts.
 */
static bool platform_supported(vk_root *root)
{
        _cleanup_(vk_modules_freep) vk_modules *m = NULL;

        if (vk_dc_driver_registered(root, VK_BUS_PLATFORM, "vfio-platform") ||
            vk_dc_driver_registered(root, VK_BUS_AMBA, "vfio-amba"))
                return true;
        if (vk_root_is_system(root) <= 0 || vk_modules_new(root, NULL, &m) < 0)
                return false;
        return vk_modules_known(m, "vfio-platform") || vk_modules_known(m, "vfio-amba");
}

int vk_vfio_features_read(vk_root *root, vk_vfio_features *ret)
{
        vk_vfio_features f = {};
        struct stat st;
        int r;

        if (!root || !ret)
                return -EINVAL;

        r = dir_has_entries(root->sysfs_fd, "class/iommu");
        if (r == 0)
                r = dir_has_entries(root->sysfs_fd, "kernel/iommu_groups");
        if (r < 0)
                return r;
        f.iommu = r > 0;

        f.cdev = fstatat(root->dev_fd, "vfio/devices", &st, 0) == 0 && S_ISDIR(st.st_mode);

        r = read_noiommu(root, &f.noiommu);
        if (r < 0)
                return r;

        f.platform = platform_supported(root);

        *ret = f;
        return 0;
}
