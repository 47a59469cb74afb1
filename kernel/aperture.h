/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

/*
 * What binding a VFIO driver to a GPU takes away from the host (the kernel's aperture code,
 * vfio_pci_vga_init -> aperture_remove_conflicting_pci_devices, see KERNEL.md): for a VGA-class
 * device, firmware framebuffers overlapping its BARs are unregistered, and for the boot VGA
 * device sysfb is disabled and vgacon removed. None of it comes back on its own.
 */

typedef struct vk_iomem_range {
        uint64_t start, end;
        char name[64];
        int depth; /* nesting level in /proc/iomem */
} vk_iomem_range;

/* Parses /proc/iomem text (unprivileged readers see zeros; callers then fall back). */
int vk_parse_iomem(const char *text, vk_iomem_range **ret, size_t *ret_n);

typedef struct vk_vtcon {
        char *id;   /* "vtcon1" */
        char *name; /* "(M) frame buffer device", "(S) dummy device" */
        bool bound;
} vk_vtcon;

typedef struct vk_aperture {
        bool vga_class; /* class 0x0300xx: the aperture code runs */
        bool boot_vga;
        char **firmware_fbs;  /* platform devices that would be unregistered: "efi-framebuffer.0" */
        char **fbdevs;        /* fbN backed by those, or by the device's own host driver (its
                               * fbdev emulation leaves with the driver): "fb0" */
        char **vtconsoles;    /* bound vtconsoles that would fall back to dummy: "vtcon1" */
        bool removes_console; /* summary: the host loses a console it has now */
} vk_aperture;

/* Computes the consequences of binding a VFIO driver to gpu; harmless devices yield an empty
 * result with removes_console = false. */
int vk_aperture_check(vk_root *root, const vk_device *gpu, vk_aperture **ret);
vk_aperture *vk_aperture_free(vk_aperture *a);
static inline void vk_aperture_freep(vk_aperture **a)
{
        vk_aperture_free(*a);
}

/* The firmware framebuffer platform devices present now. */
int vk_aperture_firmware_fbs(vk_root *root, char ***ret);

/* class/vtconsole entries. */
int vk_vtcon_list(vk_root *root, vk_vtcon **ret, size_t *ret_n);
void vk_vtcon_list_free(vk_vtcon *l, size_t n);
/* Writes class/vtconsole/<id>/bind. */
int vk_vtcon_bind(vk_root *root, const char *id, bool bind);
/* Binds every unbound vtconsole that is not the dummy console: used on release once the native
 * GPU driver provides a framebuffer console again. Returns the number bound, or -errno. */
int vk_vtcon_bind_all(vk_root *root);
