/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "macros.h"
#include "sysfs.h"

/* '-' and '_' are the same in driver names as in module names (mlx5_vfio_pci, vfio-pci). */
static bool name_eq(const char *a, const char *b)
{
        for (; *a && *b; a++, b++) {
                char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;
                if (x != y)
                        return false;
        }
        return *a == *b;
}

static bool name_has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n > m && name_eq(s + n - m, suffix);
}

static bool name_has_prefix(const char *s, const char *prefix)
{
        size_t n = strlen(s), m = strlen(prefix);
        if (n <= m)
                return false;
        _cleanup_(freep) char *head = strndup(s, m);
        return head && name_eq(head, prefix);
}

bool vk_driver_is_vfio(const char *driver)
{
        if (!driver)
                return false;
        /* The core drivers, and the vendor variants of vfio-pci (mlx5_vfio_pci,
         * hisi_acc_vfio_pci, nvgrace_gpu_vfio_pci, ...), which register through vfio_pci_core. */
        return name_eq(driver, "vfio-pci") || name_eq(driver, "vfio-platform") ||
               name_eq(driver, "vfio-amba") || name_has_suffix(driver, "-vfio-pci") ||
               name_has_prefix(driver, "vfio-pci-");
}

bool vk_driver_is_dma_safe(const char *driver)
{
        if (!driver)
                return true; /* nothing drives the device, so nothing does DMA with it */
        /* The drivers that set driver_managed_dma: VFIO's own, pci-stub (binds and does
         * nothing) and pcieport (port services; bridges forward, they do not master). */
        return vk_driver_is_vfio(driver) || name_eq(driver, "pci-stub") ||
               name_eq(driver, "pcieport");
}

/*
 * Bridges never move: vfio-pci refuses them, and the kernel lets a group be used while its
 * bridges sit on pcieport or on nothing. A bridge on any other driver stays too, and makes the
 * group not viable (vk_group_viable names it) rather than failing later at probe.
 */
static vk_member_role member_role(const vk_device *dev)
{
        return dev->is_bridge ? VK_MEMBER_STAY : VK_MEMBER_MOVE;
}

/*
 * A member met before: its group link leads to the directory whose facts are kept, so neither
 * the link nor the subsystem is resolved. 1 with *ret loaded, 0 when this does not apply -- or
 * when anything looks odd (the load fails, or the directory it read is not the one the link led
 * to, as after a move): the caller then takes the long way, which decides what is wrong.
 */
static int member_load_known(vk_root *root, int id, const char *name, const char *link,
                             const vk_device *loaded, vk_device **ret)
{
        if (strlen(name) > VK_NAME_MAX)
                return 0;

        for (int bus = 0; bus < _VK_BUS_MAX; bus++) {
                _cleanup_(vk_device_freep) vk_device *dev = NULL;
                vk_device_id known = {.bus = bus};
                const vk_fixed_facts *f;
                dev_t kept_dev;
                ino_t kept_ino;

                f = vk_root_find_facts_by_name(root, bus, name);
                if (!f)
                        continue;
                kept_dev = f->dev;
                kept_ino = f->ino;
                strcpy(known.name, name);
                if (!vk_device_known_at(root, &known, link))
                        continue;
                /* The caller's copy was read from the kept directory a moment ago. */
                if (loaded && vk_device_id_equal(&loaded->id, &known) && loaded->iommu_group == id)
                        return vk_device_copy(loaded, ret) < 0 ? -ENOMEM : 1;
                if (vk_device_load(root, &known, &dev) < 0)
                        return 0;
                /* A load that had to take the long way keeps the facts of what it read. */
                f = vk_root_find_facts_by_name(root, bus, name);
                if (!f || f->dev != kept_dev || f->ino != kept_ino)
                        return 0;
                if (dev->iommu_group != id)
                        return -ENODEV; /* moved to another group since the listing */
                *ret = TAKE_PTR(dev);
                return 1;
        }
        return 0;
}

/* One member: resolved through its group link like any user-supplied path, so a link that
 * leaves the tree or a device of a bus vfiod cannot handle fails the same way; and the bus must
 * list that very directory under its name. */
static int member_load(vk_root *root, int id, const char *name, const vk_device *loaded,
                       vk_device **ret)
{
        _cleanup_(freep) char *link = NULL, *syspath = NULL;
        _cleanup_(vk_device_freep) vk_device *dev = NULL;
        vk_device_id dev_id;
        int r;

        if (asprintf(&link, "kernel/iommu_groups/%d/devices/%s", id, name) < 0)
                return -ENOMEM;

        r = member_load_known(root, id, name, link, loaded, ret);
        if (r != 0)
                return r < 0 ? r : 0;

        r = vk_sysfs_resolve_link(root->sysfs_fd, link, &syspath);
        if (r == -ENOENT)
                return -ENODEV;
        if (r == -EINVAL)
                return -EXDEV; /* the tree's root itself */
        if (r < 0)
                return r;
        r = vk_device_identify(root, syspath, &dev_id);
        if (r < 0)
                return r;
        r = vk_device_load(root, &dev_id, &dev);
        if (r < 0)
                return r;
        if (!streq(dev->syspath, syspath))
                return -EXDEV; /* the bus lists another directory under that name */
        /* Moved to another group between the listing and the load: not a member any more. */
        if (dev->iommu_group != id)
                return -ENODEV;
        *ret = TAKE_PTR(dev);
        return 0;
}

int vk_group_load(vk_root *root, int id, vk_group **ret)
{
        return vk_group_load_with(root, id, NULL, ret);
}

int vk_group_load_with(vk_root *root, int id, const vk_device *loaded, vk_group **ret)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        char path[64];
        size_t n;
        int r;

        if (!root || id < 0 || !ret)
                return -EINVAL;

        snprintf(path, sizeof(path), "kernel/iommu_groups/%d/devices", id);
        r = vk_sysfs_list(root->sysfs_fd, path, &names);
        if (r < 0)
                return r; /* -ENOENT: no such group */
        n = strv_length(names);

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->id = id;
        if (n > 0) {
                g->members = calloc(n, sizeof(vk_member));
                if (!g->members)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                vk_device *dev = NULL;
                r = member_load(root, id, names[i], loaded, &dev);
                if (r < 0)
                        return r;
                g->members[g->n_members++] = (vk_member){.dev = dev, .role = member_role(dev)};
        }

        *ret = TAKE_PTR(g);
        return 0;
}

vk_group *vk_group_free(vk_group *g)
{
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_members; i++)
                vk_device_free(g->members[i].dev);
        free(g->members);
        free(g);
        return NULL;
}

const vk_member *vk_group_find(const vk_group *g, const vk_device_id *id)
{
        if (!g || !id)
                return NULL;
        for (size_t i = 0; i < g->n_members; i++) {
                if (vk_device_id_equal(&g->members[i].dev->id, id))
                        return &g->members[i];
        }
        return NULL;
}

bool vk_group_viable(const vk_group *g, const vk_member **ret_blocker)
{
        if (!g)
                return false;
        for (size_t i = 0; i < g->n_members; i++)
                if (!vk_driver_is_dma_safe(g->members[i].dev->driver)) {
                        if (ret_blocker)
                                *ret_blocker = &g->members[i];
                        return false;
                }
        return true;
}
