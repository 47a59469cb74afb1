/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>

#include "caller.h"
#include "log.h"
#include "macros.h"

typedef struct caller_entry {
        char *name;
        uid_t uid;
} caller_entry;

/* One GetConnectionUnixUser in flight, and the requests of that sender waiting for it. */
typedef struct caller_lookup {
        caller_registry *reg;
        char *name;
        sd_bus_slot *slot;
        sd_bus_message **waiting;
        size_t n_waiting;
        struct caller_lookup *next;
} caller_lookup;

struct caller_registry {
        caller_entry cache[CALLER_CACHE_MAX];
        size_t n_cached, next_slot;
        caller_lookup *lookups;
};

int caller_registry_new(caller_registry **ret)
{
        caller_registry *reg = calloc(1, sizeof(*reg));

        if (!reg)
                return -ENOMEM;
        *ret = reg;
        return 0;
}

static caller_lookup *lookup_free(caller_lookup *l)
{
        if (!l)
                return NULL;
        sd_bus_slot_unref(l->slot);
        for (size_t i = 0; i < l->n_waiting; i++)
                sd_bus_message_unref(l->waiting[i]);
        free(l->waiting);
        free(l->name);
        free(l);
        return NULL;
}

static void lookup_unlink(caller_lookup *l)
{
        for (caller_lookup **p = &l->reg->lookups; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }
        lookup_free(l);
}

caller_registry *caller_registry_free(caller_registry *reg)
{
        if (!reg)
                return NULL;
        while (reg->lookups) {
                caller_lookup *l = reg->lookups;
                reg->lookups = l->next;
                lookup_free(l);
        }
        for (size_t i = 0; i < reg->n_cached; i++)
                free(reg->cache[i].name);
        free(reg);
        return NULL;
}

size_t caller_cached(const caller_registry *reg)
{
        return reg ? reg->n_cached : 0;
}

static const caller_entry *cache_find(const caller_registry *reg, const char *name)
{
        for (size_t i = 0; i < reg->n_cached; i++)
                if (streq(reg->cache[i].name, name))
                        return &reg->cache[i];
        return NULL;
}

static int cache_add(caller_registry *reg, const char *name, uid_t uid)
{
        caller_entry *e;
        char *copy;

        if (cache_find(reg, name))
                return 0;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        if (reg->n_cached < CALLER_CACHE_MAX)
                e = &reg->cache[reg->n_cached++];
        else {
                /* Full: the slots are reused in turn, the oldest answer first. */
                e = &reg->cache[reg->next_slot];
                reg->next_slot = (reg->next_slot + 1) % CALLER_CACHE_MAX;
                free(e->name);
        }
        e->name = copy;
        e->uid = uid;
        return 0;
}

static caller_lookup *lookup_find(caller_registry *reg, const char *name)
{
        for (caller_lookup *l = reg->lookups; l; l = l->next)
                if (streq(l->name, name))
                        return l;
        return NULL;
}

static int lookup_wait(caller_lookup *l, sd_bus_message *m)
{
        sd_bus_message **n;

        for (size_t i = 0; i < l->n_waiting; i++)
                if (l->waiting[i] == m)
                        return 0;
        n = realloc(l->waiting, sizeof(*n) * (l->n_waiting + 1));
        if (!n)
                return -ENOMEM;
        l->waiting = n;
        l->waiting[l->n_waiting++] = sd_bus_message_ref(m);
        return 0;
}

/* Puts m back on the read queue; it finds its sender's answer in the cache when it runs again.
 * (Were that answer forgotten meanwhile, the request would only ask again.) */
static void resume(sd_bus_message *m)
{
        int k = sd_bus_enqueue_for_read(sd_bus_message_get_bus(m), m);

        if (k < 0) {
                log_error_errno(k, "Cannot re-dispatch a request after identifying its sender: %m");
                (void)sd_bus_reply_method_errnof(m, k, "Cannot resume the request: %m");
        }
}

static int lookup_answered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        caller_lookup *l = userdata;
        caller_registry *reg = l->reg;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t uid = 0;
        int r = 0;

        l->slot = sd_bus_slot_unref(l->slot);
        if (!e) {
                r = sd_bus_message_read(reply, "u", &uid);
                if (r >= 0)
                        r = cache_add(reg, l->name, (uid_t)uid);
        }

        for (size_t i = 0; i < l->n_waiting; i++) {
                sd_bus_message *m = l->waiting[i];

                if (e)
                        /* Typically the client left before the bus answered. */
                        (void)sd_bus_reply_method_errorf(m, SD_BUS_ERROR_ACCESS_DENIED,
                                                         "Cannot identify the caller %s: %s",
                                                         l->name, e->message ?: e->name);
                else if (r < 0)
                        (void)sd_bus_reply_method_errnof(m, r, "Cannot identify the caller: %m");
                else
                        resume(m);
        }
        lookup_unlink(l);
        return 0;
}

static int lookup_start(caller_registry *reg, sd_bus_message *m, const char *sender)
{
        _cleanup_(freep) caller_lookup *l = calloc(1, sizeof(*l));
        int r;

        if (!l)
                return -ENOMEM;
        l->reg = reg;
        l->name = strdup(sender);
        if (!l->name)
                return -ENOMEM;

        r = sd_bus_call_method_async(sd_bus_message_get_bus(m), &l->slot, "org.freedesktop.DBus",
                                     "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                     "GetConnectionUnixUser", lookup_answered, l, "s", sender);
        if (r >= 0)
                r = lookup_wait(l, m);
        if (r < 0) {
                sd_bus_slot_unref(l->slot);
                free(l->name);
                return r;
        }
        l->next = reg->lookups;
        reg->lookups = TAKE_PTR(l);
        return 0;
}

/* Without a sender the peer is on a direct connection: its credentials are the socket's. */
static int peer_uid(sd_bus_message *m, uid_t *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, ret);
        if (r == -ENODATA)
                r = sd_bus_creds_get_uid(creds, ret);
        return r < 0 ? r : 1;
}

int caller_uid(caller_registry *reg, sd_bus_message *m, uid_t *ret)
{
        const char *sender;
        const caller_entry *e;
        caller_lookup *l;
        int r;

        if (!reg || !m || !ret)
                return -EINVAL;
        sender = sd_bus_message_get_sender(m);
        if (!sender)
                return peer_uid(m, ret);

        e = cache_find(reg, sender);
        if (e) {
                *ret = e->uid;
                return 1;
        }

        /* Requests that arrive while their sender is being looked up wait for the same answer. */
        l = lookup_find(reg, sender);
        if (l)
                r = lookup_wait(l, m);
        else
                r = lookup_start(reg, m, sender);
        return r < 0 ? r : 0;
}
