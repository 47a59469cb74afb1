/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "device.h"

/* "/dev/vfio/<group>" relative to the dev root: "vfio/<group>". */
int vk_vfio_group_node(int group, char *buf, size_t size);
/* Does dev/vfio/<group> exist? */
bool vk_vfio_group_node_exists(vk_root *root, int group);
/* Opens the group node O_RDWR|O_CLOEXEC; -EBUSY means someone else holds it. */
int vk_vfio_group_open(vk_root *root, int group, int *ret_fd);
/* VFIO_GROUP_GET_STATUS flags (VFIO_GROUP_FLAGS_VIABLE, _CONTAINER_SET). */
int vk_vfio_group_status(int fd, uint32_t *ret_flags);
/* chown of the group node (for owner-uid). */
int vk_vfio_group_chown(vk_root *root, int group, uid_t uid, gid_t gid);

/* Name of the vfio-dev cdev ("vfio3") under the device, -ENOENT when the kernel has none; and
 * whether dev/vfio/devices/<name> exists (IOMMUFD kernels). */
int vk_vfio_device_cdev(vk_root *root, const vk_device_id *id, char **ret_name, bool *ret_has_node);

typedef struct vk_vfio_features {
        bool iommu;    /* any IOMMU group exists / class/iommu is populated */
        bool cdev;     /* dev/vfio/devices exists */
        bool noiommu;  /* vfio module parameter enable_unsafe_noiommu_mode = Y */
        bool platform; /* vfio-platform or vfio-amba driver registered, or module known */
} vk_vfio_features;

int vk_vfio_features_read(vk_root *root, vk_vfio_features *ret);
