/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "device.h"

/*
 * Device events. On the real system they come from libudev's monitor (after udevd processed
 * them); under a non-system root (the simulated kernel) from a datagram socket at
 * <prefix>/run/vfiod-sim/uevent.sock carrying kernel-format messages
 * ("ACTION=bind\0DEVPATH=/devices/...\0SUBSYSTEM=pci\0DRIVER=vfio-pci\0").
 */

typedef enum vk_uevent_action {
        VK_UEVENT_ADD,
        VK_UEVENT_REMOVE,
        VK_UEVENT_CHANGE,
        VK_UEVENT_BIND,
        VK_UEVENT_UNBIND,
        VK_UEVENT_OTHER,
} vk_uevent_action;

typedef struct vk_uevent {
        vk_uevent_action action;
        char devpath[4096];                /* "/devices/pci0000:00/..." */
        char subsystem[64];                /* "pci", "platform", "vfio", ... */
        char driver[64];                   /* empty when absent */
        char kernel_name[VK_NAME_MAX + 1]; /* last component of devpath */
} vk_uevent;

/* Parses a kernel-format uevent (NUL-separated KEY=VALUE, optional "action@devpath" header). */
int vk_uevent_parse(const char *buf, size_t len, vk_uevent *ret);

typedef struct vk_uevent_source vk_uevent_source;

int vk_uevent_source_new(vk_root *root, vk_uevent_source **ret);
vk_uevent_source *vk_uevent_source_free(vk_uevent_source *s);
static inline void vk_uevent_source_freep(vk_uevent_source **s)
{
        vk_uevent_source_free(*s);
}
/* Poll this fd for EPOLLIN. */
int vk_uevent_source_fd(vk_uevent_source *s);
/* Returns 1 and fills *ret when an event was read, 0 when none is pending, -errno on error. */
int vk_uevent_source_receive(vk_uevent_source *s, vk_uevent *ret);
