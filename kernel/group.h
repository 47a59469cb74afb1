/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "device.h"

typedef enum vk_member_role {
        VK_MEMBER_MOVE, /* an endpoint: moves to VFIO with the group */
        VK_MEMBER_STAY, /* a PCI bridge (vfio-pci refuses it): stays where it is; on a driver that
                         * is not DMA-safe it makes the group not viable */
} vk_member_role;

typedef struct vk_member {
        vk_device *dev;
        vk_member_role role;
} vk_member;

typedef struct vk_group {
        int id;
        vk_member *members; /* sorted by name */
        size_t n_members;
} vk_group;

/* Loads /sys/kernel/iommu_groups/<id>/devices and every member's facts. */
int vk_group_load(vk_root *root, int id, vk_group **ret);
/* The same, with a member the caller loaded a moment ago: when the group's link leads to its
 * directory, that member is copied instead of read again. */
int vk_group_load_with(vk_root *root, int id, const vk_device *loaded, vk_group **ret);
vk_group *vk_group_free(vk_group *g);
static inline void vk_group_freep(vk_group **g)
{
        vk_group_free(*g);
}

const vk_member *vk_group_find(const vk_group *g, const vk_device_id *id);

/*
 * Viability as the kernel defines it (vfio_group_viable / iommu DMA ownership): every member is
 * driverless or bound to a driver that manages DMA itself (vfio-pci and its variants, pci-stub,
 * pcieport, vfio-platform, vfio-amba). Returns true/false; *ret_blocker (optional) names the
 * first member that breaks it.
 */
bool vk_group_viable(const vk_group *g, const vk_member **ret_blocker);

/* True for drivers that do not use kernel DMA on the device (driver_managed_dma). */
bool vk_driver_is_dma_safe(const char *driver);
/* True for vfio-pci, its variants (*-vfio-pci, vfio-pci-*), vfio-platform, vfio-amba. */
bool vk_driver_is_vfio(const char *driver);
