/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hotplug window: while a transaction moves devices, the bus's drivers_autoprobe is off so a
 * device or driver that appears meanwhile is not probed behind our back (KERNEL.md: autoprobe
 * gates new devices and new drivers only; our explicit bind and drivers_probe still work). Two
 * transactions on one bus share the window: the first to close it records the value, the last
 * to reopen it writes that value back.
 */
#include <errno.h>

#include "driver-core.h"
#include "engine-internal.h"
#include "log.h"

int window_original(engine *e, vk_bus bus, bool *ret)
{
        if (bus < 0 || bus >= _VK_BUS_MAX || !ret)
                return -EINVAL;
        if (e->windows[bus].n_closed > 0) {
                *ret = e->windows[bus].saved;
                return 0;
        }
        return vk_dc_get_autoprobe(e->root, bus, ret);
}

int window_close(engine *e, vk_bus bus, bool original)
{
        window *w;
        int r;

        if (bus < 0 || bus >= _VK_BUS_MAX)
                return -EINVAL;
        w = &e->windows[bus];
        if (w->n_closed > 0) {
                w->n_closed++;
                return 0;
        }

        /* Written even when already off: the write proves we are able to restore it later. */
        r = vk_dc_set_autoprobe(e->root, bus, false);
        if (r < 0)
                return r;
        w->saved = original;
        w->n_closed = 1;
        log_debug("%s: autoprobe window closed (was %d)", vk_bus_to_string(bus), original);
        return 0;
}

int window_open(engine *e, vk_bus bus)
{
        window *w;
        int r;

        if (bus < 0 || bus >= _VK_BUS_MAX)
                return -EINVAL;
        w = &e->windows[bus];
        if (w->n_closed == 0)
                return -EALREADY;
        if (--w->n_closed > 0)
                return 0;

        r = vk_dc_set_autoprobe(e->root, bus, w->saved);
        if (r < 0)
                return log_error_errno(r, "%s: restoring drivers_autoprobe=%d failed: %m",
                                       vk_bus_to_string(bus), w->saved);
        log_debug("%s: autoprobe window reopened (%d)", vk_bus_to_string(bus), w->saved);
        return 0;
}

void window_reset_all(engine *e)
{
        for (int bus = 0; bus < _VK_BUS_MAX; bus++) {
                if (e->windows[bus].n_closed == 0)
                        continue;
                e->windows[bus].n_closed = 1;
                (void)window_open(e, (vk_bus)bus);
        }
}

void window_probe_newcomers(engine *e, vk_bus bus, char **before, bool autoprobe)
{
        _cleanup_(strv_freep) char **now = NULL;
        int r;

        /* With autoprobe off by the administrator's choice, newcomers stay unprobed as they
         * would have without us. */
        if (!autoprobe)
                return;

        r = vk_bus_list_devices(e->root, bus, &now);
        if (r < 0) {
                log_warning_errno(r, "%s: listing devices after the window failed: %m",
                                  vk_bus_to_string(bus));
                return;
        }

        for (char **name = now; name && *name; name++) {
                _cleanup_(freep) char *driver = NULL;
                vk_device_id id = {.bus = bus};

                if (strv_contains(before, *name) || strlen(*name) > VK_NAME_MAX)
                        continue;
                strcpy(id.name, *name);
                if (vk_device_read_driver(e->root, &id, &driver) < 0 || driver)
                        continue;
                if (engine_device_stalled(e, &id))
                        continue;
                r = vk_dc_probe(e->root, &id);
                if (r < 0)
                        log_warning_errno(r, "%s: probing newcomer %s failed: %m",
                                          vk_bus_to_string(bus), *name);
                else
                        log_debug("%s: probed newcomer %s", vk_bus_to_string(bus), *name);
        }
}
