/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client handle: bus connection, error state, Manager properties and event loop hooks. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-private.h"
#include "kernel/macros.h"

static const sd_bus_error_map vfiod_error_map[] = {
#define ERROR_MAP_ENTRY(key, errnum) SD_BUS_ERROR_MAP(VFIOD_ERROR_##key, errnum),
    VFIOD_ERROR_LIST(ERROR_MAP_ENTRY) /* each entry brings its comma */
#undef ERROR_MAP_ENTRY
    SD_BUS_ERROR_MAP_END,
};

/* Two minutes: a transaction may unbind several members, each bounded by the daemon. */
#define DEFAULT_METHOD_TIMEOUT_USEC (120ULL * 1000ULL * 1000ULL)

_VFIOD_PUBLIC_ int vfiod_client_new(const char *bus_address, vfiod_client **ret)
{
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        if (bus_address && !*bus_address)
                return -EINVAL;

        /* Process-wide and idempotent: lets sd-bus turn our error names into errnos. */
        r = sd_bus_error_add_map(vfiod_error_map);
        if (r < 0)
                return r;

        if (bus_address) {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_address(bus, bus_address);
                if (r < 0)
                        return r;
                r = sd_bus_set_bus_client(bus, true);
                if (r < 0)
                        return r;
                r = sd_bus_negotiate_fds(bus, true);
                if (r < 0)
                        return r;
                r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        (void)sd_bus_set_description(bus, "libvfiod");

        vfiod_client *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->bus = TAKE_PTR(bus);
        c->method_timeout_usec = DEFAULT_METHOD_TIMEOUT_USEC;
        *ret = c;
        return 0;
}

_VFIOD_PUBLIC_ vfiod_client *vfiod_client_ref(vfiod_client *client)
{
        if (client)
                client->n_ref++;
        return client;
}

_VFIOD_PUBLIC_ vfiod_client *vfiod_client_unref(vfiod_client *client)
{
        if (!client || --client->n_ref > 0)
                return NULL;
        monitor_done(client);
        /* Flush so a release sent just before is not lost, then hang up: client leases end. */
        sd_bus_flush_close_unref(client->bus);
        free(client->error_name);
        free(client->error_message);
        free(client);
        return NULL;
}

_VFIOD_PUBLIC_ int vfiod_client_set_interactive(vfiod_client *client, bool interactive)
{
        if (!client)
                return -EINVAL;
        return sd_bus_set_allow_interactive_authorization(client->bus, interactive);
}

_VFIOD_PUBLIC_ int vfiod_client_set_method_timeout(vfiod_client *client, uint64_t usec)
{
        if (!client)
                return -EINVAL;
        client->method_timeout_usec = usec > 0 ? usec : DEFAULT_METHOD_TIMEOUT_USEC;
        return 0;
}

_VFIOD_PUBLIC_ const char *vfiod_client_get_error_name(vfiod_client *client)
{
        return client ? client->error_name : NULL;
}

_VFIOD_PUBLIC_ const char *vfiod_client_get_error_message(vfiod_client *client)
{
        return client ? client->error_message : NULL;
}

void client_reset_error(vfiod_client *c)
{
        (void)free_and_strdup(&c->error_name, NULL);
        (void)free_and_strdup(&c->error_message, NULL);
}

int client_set_error_literal(vfiod_client *c, const char *name, const char *message, int r)
{
        client_reset_error(c);
        /* Out of memory here only loses the description; the errno still says what happened. */
        if (name)
                c->error_name = strdup(name);
        if (message)
                c->error_message = strdup(message);
        return r;
}

int client_set_error(vfiod_client *c, const sd_bus_error *error, int r)
{
        if (!sd_bus_error_is_set(error))
                return r;
        return client_set_error_literal(c, error->name, error->message, r);
}

int client_new_manager_call(vfiod_client *c, const char *member, sd_bus_message **ret)
{
        return sd_bus_message_new_method_call(c->bus, ret, VFIOD_BUS_NAME, VFIOD_MANAGER_PATH,
                                              VFIOD_MANAGER_IFACE, member);
}

int client_call(vfiod_client *c, sd_bus_message *m, uint64_t usec, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(c->bus, m, usec, &error, ret_reply);
        if (r < 0)
                return client_set_error(c, &error, r);
        return 0;
}

static int get_manager_property(vfiod_client *c, const char *name, const char *type,
                                sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        client_reset_error(c);
        r = sd_bus_get_property(c->bus, VFIOD_BUS_NAME, VFIOD_MANAGER_PATH, VFIOD_MANAGER_IFACE,
                                name, &error, &reply, type);
        if (r < 0)
                return client_set_error(c, &error, r);
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

_VFIOD_PUBLIC_ int vfiod_client_get_version(vfiod_client *client, char **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;
        int r;

        if (!client || !ret)
                return -EINVAL;
        r = get_manager_property(client, "Version", "s", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &s);
        if (r < 0)
                return r;
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int bus_message_read_strv_nonnull(sd_bus_message *m, char ***ret)
{
        char **l = NULL;
        int r;

        r = sd_bus_message_read_strv(m, &l);
        if (r < 0)
                return r;
        if (!l) {
                /* sd-bus reads an empty array as NULL; our callers always get a vector. */
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = l;
        return 0;
}

_VFIOD_PUBLIC_ int vfiod_client_get_features(vfiod_client *client, char ***ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (!client || !ret)
                return -EINVAL;
        r = get_manager_property(client, "Features", "as", &reply);
        if (r < 0)
                return r;
        return bus_message_read_strv_nonnull(reply, ret);
}

_VFIOD_PUBLIC_ char **vfiod_strv_free(char **strv)
{
        return strv_free(strv);
}

_VFIOD_PUBLIC_ int vfiod_client_get_fd(vfiod_client *client)
{
        if (!client)
                return -EINVAL;
        return sd_bus_get_fd(client->bus);
}

_VFIOD_PUBLIC_ int vfiod_client_get_events(vfiod_client *client)
{
        if (!client)
                return -EINVAL;
        return sd_bus_get_events(client->bus);
}

_VFIOD_PUBLIC_ int vfiod_client_get_timeout(vfiod_client *client, uint64_t *ret_usec)
{
        if (!client || !ret_usec)
                return -EINVAL;
        return sd_bus_get_timeout(client->bus, ret_usec);
}

_VFIOD_PUBLIC_ int vfiod_client_process(vfiod_client *client)
{
        int r;

        if (!client)
                return -EINVAL;
        r = sd_bus_process(client->bus, NULL);
        if (client->monitor_error < 0) {
                r = client->monitor_error;
                client->monitor_error = 0;
        }
        return r;
}

_VFIOD_PUBLIC_ int vfiod_client_wait(vfiod_client *client, uint64_t timeout_usec)
{
        if (!client)
                return -EINVAL;
        return sd_bus_wait(client->bus, timeout_usec);
}
