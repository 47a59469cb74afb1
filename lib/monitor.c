/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Watching devices: a cache of the last snapshot of every device, kept current from
 * InterfacesAdded/InterfacesRemoved, PropertiesChanged and the daemon's comings and goings, so
 * that every callback can be handed a complete device.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-private.h"
#include "kernel/macros.h"

static ssize_t known_find(vfiod_client *c, const char *path)
{
        for (size_t i = 0; i < c->n_known; i++)
                if (streq(c->known[i]->path, path))
                        return (ssize_t)i;
        return -1;
}

/* Puts @d (taking the reference) in the cache, replacing any snapshot of the same path. */
static int known_put(vfiod_client *c, vfiod_device *d)
{
        ssize_t i = known_find(c, d->path);
        if (i >= 0) {
                vfiod_device_unref(c->known[i]);
                c->known[i] = d;
                return 0;
        }
        vfiod_device **l = realloc(c->known, sizeof(vfiod_device *) * (c->n_known + 1));
        if (!l)
                return -ENOMEM;
        l[c->n_known++] = d;
        c->known = l;
        return 0;
}

/* Takes the snapshot out of the cache and hands its reference to the caller. */
static vfiod_device *known_take(vfiod_client *c, size_t i)
{
        vfiod_device *d = c->known[i];
        memmove(c->known + i, c->known + i + 1, sizeof(vfiod_device *) * (c->n_known - i - 1));
        c->n_known--;
        return d;
}

static void known_clear(vfiod_client *c)
{
        for (size_t i = 0; i < c->n_known; i++)
                vfiod_device_unref(c->known[i]);
        c->known = (free(c->known), NULL);
        c->n_known = 0;
}

/* The first error a callback or our own bookkeeping hits is kept for vfiod_client_process(). */
static int notify(vfiod_client *c, vfiod_event event, const vfiod_device *d)
{
        int r = c->monitor_cb(c, event, d, c->monitor_userdata);
        if (r < 0 && c->monitor_error == 0)
                c->monitor_error = r;
        return 0;
}

static int fail(vfiod_client *c, int r)
{
        if (r < 0 && c->monitor_error == 0)
                c->monitor_error = r;
        return 0;
}

static bool is_device_path(const char *path)
{
        size_t n = strlen(VFIOD_DEVICE_PREFIX);
        return strncmp(path, VFIOD_DEVICE_PREFIX, n) == 0 && path[n] == '/';
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        vfiod_client *c = userdata;
        const char *path;
        const char *iface;
        int r;

        r = sd_bus_message_read_basic(m, 'o', &path);
        if (r < 0)
                return fail(c, r);
        if (!is_device_path(path))
                return 0;

        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        if (r < 0)
                return fail(c, r);
        while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                r = sd_bus_message_read_basic(m, 's', &iface);
                if (r < 0)
                        return fail(c, r);
                if (!streq(iface, VFIOD_DEVICE_IFACE)) {
                        r = sd_bus_message_skip(m, "a{sv}");
                        if (r < 0)
                                return fail(c, r);
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return fail(c, r);
                        continue;
                }

                _cleanup_(vfiod_device_unrefp) vfiod_device *d = device_new(path);
                if (!d)
                        return fail(c, -ENOMEM);
                r = device_read_properties(d, m);
                if (r < 0)
                        return fail(c, r);
                bool existed = known_find(c, path) >= 0;
                r = known_put(c, vfiod_device_ref(d));
                if (r < 0) {
                        vfiod_device_unref(d);
                        return fail(c, r);
                }
                return notify(c, existed ? VFIOD_EVENT_DEVICE_CHANGED : VFIOD_EVENT_DEVICE_ADDED,
                              d);
        }
        return fail(c, r);
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        vfiod_client *c = userdata;
        _cleanup_(strv_freep) char **ifaces = NULL;
        const char *path;
        ssize_t i;
        int r;

        r = sd_bus_message_read_basic(m, 'o', &path);
        if (r < 0)
                return fail(c, r);
        r = sd_bus_message_read_strv(m, &ifaces);
        if (r < 0)
                return fail(c, r);
        if (!strv_contains(ifaces, VFIOD_DEVICE_IFACE))
                return 0;
        i = known_find(c, path);
        if (i < 0)
                return 0;
        _cleanup_(vfiod_device_unrefp) vfiod_device *d = known_take(c, (size_t)i);
        return notify(c, VFIOD_EVENT_DEVICE_REMOVED, d);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        vfiod_client *c = userdata;
        _cleanup_(vfiod_device_unrefp) vfiod_device *d = NULL;
        _cleanup_(strv_freep) char **invalidated = NULL;
        const char *path = sd_bus_message_get_path(m);
        const char *iface;
        ssize_t i;
        int r;

        if (!path || !is_device_path(path))
                return 0;
        r = sd_bus_message_read_basic(m, 's', &iface);
        if (r < 0)
                return fail(c, r);
        if (!streq(iface, VFIOD_DEVICE_IFACE))
                return 0;

        /* Snapshots are immutable (callers may hold them): change a copy. */
        i = known_find(c, path);
        if (i >= 0)
                r = device_copy(c->known[i], &d);
        else {
                d = device_new(path);
                r = d ? 0 : -ENOMEM;
        }
        if (r < 0)
                return fail(c, r);
        r = device_read_properties(d, m);
        if (r < 0)
                return fail(c, r);
        r = sd_bus_message_read_strv(m, &invalidated);
        if (r < 0)
                return fail(c, r);
        if (!strv_length(invalidated) && i >= 0) {
                r = known_put(c, vfiod_device_ref(d));
                if (r < 0) {
                        vfiod_device_unref(d);
                        return fail(c, r);
                }
                return notify(c, VFIOD_EVENT_DEVICE_CHANGED, d);
        }

        /* Values we were not sent, or a device we never saw: ask for all of it. */
        vfiod_device *fresh;
        r = device_fetch(c, path, &fresh);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return fail(c, r);
        r = known_put(c, fresh);
        if (r < 0) {
                vfiod_device_unref(fresh);
                return fail(c, r);
        }
        return notify(c, i >= 0 ? VFIOD_EVENT_DEVICE_CHANGED : VFIOD_EVENT_DEVICE_ADDED, fresh);
}

/* Every device the daemon offers now, as the baseline; none if the daemon is not running. */
static int load_baseline(vfiod_client *c, vfiod_device ***ret, size_t *ret_n)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(c->bus, VFIOD_BUS_NAME, VFIOD_MANAGER_PATH, DBUS_OBJECT_MANAGER,
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                    sd_bus_error_has_name(&error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                        *ret = calloc(1, sizeof(vfiod_device *));
                        *ret_n = 0;
                        return *ret ? 0 : -ENOMEM;
                }
                return client_set_error(c, &error, r);
        }
        return devices_read_managed_objects(reply, ret, ret_n);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        vfiod_client *c = userdata;
        _cleanup_(vfiod_device_list_freep) vfiod_device **list = NULL;
        const char *name, *old_owner, *new_owner;
        size_t n;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0)
                return fail(c, r);
        if (!streq(name, VFIOD_BUS_NAME))
                return 0;

        /* The daemon went away: its objects went with it. */
        if (*old_owner)
                while (c->n_known > 0) {
                        _cleanup_(vfiod_device_unrefp) vfiod_device *d =
                            known_take(c, c->n_known - 1);
                        notify(c, VFIOD_EVENT_DEVICE_REMOVED, d);
                }
        if (!*new_owner)
                return 0;

        /* It came (back): everything it offers is new to us. */
        r = load_baseline(c, &list, &n);
        if (r < 0)
                return fail(c, r);
        for (size_t i = 0; i < n; i++) {
                bool existed = known_find(c, list[i]->path) >= 0;
                r = known_put(c, vfiod_device_ref(list[i]));
                if (r < 0) {
                        vfiod_device_unref(list[i]);
                        return fail(c, r);
                }
                notify(c, existed ? VFIOD_EVENT_DEVICE_CHANGED : VFIOD_EVENT_DEVICE_ADDED, list[i]);
        }
        return 0;
}

_VFIOD_PUBLIC_ int vfiod_client_monitor(vfiod_client *client, vfiod_monitor_fn callback,
                                        void *userdata)
{
        _cleanup_(vfiod_device_list_freep) vfiod_device **list = NULL;
        size_t n;
        int r;

        if (!client || !callback)
                return -EINVAL;
        if (client->monitor_cb)
                return -EBUSY;
        client_reset_error(client);

        /* Matches first, then the baseline: nothing that happens in between is lost. */
        r = sd_bus_match_signal(client->bus, &client->monitor_slots[0], VFIOD_BUS_NAME,
                                VFIOD_MANAGER_PATH, DBUS_OBJECT_MANAGER, "InterfacesAdded",
                                on_interfaces_added, client);
        if (r >= 0)
                r = sd_bus_match_signal(client->bus, &client->monitor_slots[1], VFIOD_BUS_NAME,
                                        VFIOD_MANAGER_PATH, DBUS_OBJECT_MANAGER,
                                        "InterfacesRemoved", on_interfaces_removed, client);
        if (r >= 0)
                r = sd_bus_add_match(client->bus, &client->monitor_slots[2],
                                     "type='signal',sender='" VFIOD_BUS_NAME "',"
                                     "interface='" DBUS_PROPERTIES "',member='PropertiesChanged',"
                                     "path_namespace='" VFIOD_DEVICE_PREFIX "',"
                                     "arg0='" VFIOD_DEVICE_IFACE "'",
                                     on_properties_changed, client);
        if (r >= 0)
                r = sd_bus_add_match(client->bus, &client->monitor_slots[3],
                                     "type='signal',sender='org.freedesktop.DBus',"
                                     "path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',"
                                     "member='NameOwnerChanged',arg0='" VFIOD_BUS_NAME "'",
                                     on_name_owner_changed, client);
        if (r >= 0)
                r = load_baseline(client, &list, &n);
        if (r < 0) {
                monitor_done(client);
                return r;
        }

        for (size_t i = 0; i < n; i++) {
                r = known_put(client, vfiod_device_ref(list[i]));
                if (r < 0) {
                        vfiod_device_unref(list[i]);
                        monitor_done(client);
                        return r;
                }
        }
        client->monitor_cb = callback;
        client->monitor_userdata = userdata;
        return 0;
}

void monitor_done(vfiod_client *c)
{
        for (size_t i = 0; i < ELEMENTSOF(c->monitor_slots); i++)
                c->monitor_slots[i] = sd_bus_slot_unref(c->monitor_slots[i]);
        known_clear(c);
        c->monitor_cb = NULL;
        c->monitor_userdata = NULL;
}
