/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* AssignDevice, ReleaseDevice and the options both AssignDevice and PlanAssignment take. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client-private.h"
#include "kernel/macros.h"

static bool bytes_are_zero(const void *p, size_t n)
{
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

/*
 * Only options that differ from the defaults are sent, so the daemon's configured defaults
 * (console policy, unbind timeout, driver per bus) apply to everything the caller left alone.
 */
static int options_append(sd_bus_message *m, const vfiod_assign_options *o)
{
        int r;

        if (o) {
                /* Extensible struct: older sizes do not exist yet, newer ones must be unused. */
                if (o->size < sizeof(*o))
                        return -EINVAL;
                if (o->size > sizeof(*o) &&
                    !bytes_are_zero((const char *)o + sizeof(*o), o->size - sizeof(*o)))
                        return -E2BIG;
                if (o->driver && !*o->driver)
                        return -EINVAL;
                if (o->console != VFIOD_CONSOLE_DEFAULT && o->console != VFIOD_CONSOLE_REFUSE &&
                    o->console != VFIOD_CONSOLE_TAKEOVER)
                        return -EINVAL;
        }

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        if (o && o->driver) {
                r = sd_bus_message_append(m, "{sv}", "driver", "s", o->driver);
                if (r < 0)
                        return r;
        }
        if (o && o->persistent) {
                r = sd_bus_message_append(m, "{sv}", "lifetime", "s", "persistent");
                if (r < 0)
                        return r;
        }
        if (o && o->console != VFIOD_CONSOLE_DEFAULT) {
                r = sd_bus_message_append(m, "{sv}", "console", "s",
                                          o->console == VFIOD_CONSOLE_TAKEOVER ? "takeover"
                                                                               : "refuse");
                if (r < 0)
                        return r;
        }
        if (o && o->owner_uid != VFIOD_UID_INVALID) {
                r = sd_bus_message_append(m, "{sv}", "owner-uid", "u", o->owner_uid);
                if (r < 0)
                        return r;
        }
        if (o && o->timeout_ms > 0) {
                r = sd_bus_message_append(m, "{sv}", "timeout-ms", "u", o->timeout_ms);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int client_new_assignment_call(vfiod_client *c, const char *member, const char *device,
                               const vfiod_assign_options *o, sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = client_new_manager_call(c, member, &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", device);
        if (r < 0)
                return r;
        r = options_append(m, o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

_VFIOD_PUBLIC_ int vfiod_client_assign(vfiod_client *client, const char *device,
                                       const vfiod_assign_options *options, int *ret_group_fd,
                                       char **ret_device_path)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *path_copy = NULL;
        const char *path;
        int r, reply_fd;

        if (!client || !device || !*device || !ret_group_fd)
                return -EINVAL;
        client_reset_error(client);

        r = client_new_assignment_call(client, "AssignDevice", device, options, &m);
        if (r < 0)
                return r;
        r = client_call(client, m, client->method_timeout_usec, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "ho", &reply_fd, &path);
        if (r < 0)
                return r;

        /* The reply owns its fd; the caller gets a copy of its own, never below 3. */
        fd = fcntl(reply_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        if (ret_device_path) {
                path_copy = strdup(path);
                if (!path_copy)
                        return -ENOMEM;
                *ret_device_path = TAKE_PTR(path_copy);
        }
        *ret_group_fd = TAKE_FD(fd);
        return 0;
}

_VFIOD_PUBLIC_ int vfiod_client_release(vfiod_client *client, const char *device)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!client || !device || !*device)
                return -EINVAL;
        client_reset_error(client);

        r = client_new_manager_call(client, "ReleaseDevice", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", device);
        if (r < 0)
                return r;
        return client_call(client, m, client->method_timeout_usec, NULL);
}
