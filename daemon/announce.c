/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Change announcements, merged per loop pass. One assignment produces several reasons to
 * announce the same device: the lease changes state twice, the kernel reports the bind, and the
 * group's peers change with it. Each PropertiesChanged reads the device from sysfs and plans it,
 * which under a batch of requests cost more than the assignments themselves. So a change is only
 * noted here; the signals go out from a defer source that runs after every normal-priority source
 * (bus requests, uevents, transaction steps) has had its turn, once per device, with the values
 * of that moment. Values are read when the signal is built, so a merged signal is never stale.
 *
 * The kernel's own report of a binding comes later still: udevd passes the bind or unbind on
 * only after running its rules, long after the transaction that caused it was announced. The
 * driver each full announcement showed is kept, and a bind or unbind uevent that reports that
 * same driver is not announced again. Any other binding in between has its own uevent, which
 * differs from what was shown and is announced with the values of its moment, so the last
 * announcement still matches the kernel.
 */

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager.h"

/* Below the bus, uevents and transactions, so a burst of them is announced once at its end. */
#define ANNOUNCE_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 10)

static int on_announce(sd_event_source *s, void *userdata);

static int announce_arm(manager *m)
{
        announce_queue *q = &m->announce;
        int r;

        if (!q->source) {
                r = sd_event_add_defer(m->event, &q->source, on_announce, m);
                if (r < 0)
                        return r;
                (void)sd_event_source_set_description(q->source, "announce");
                r = sd_event_source_set_priority(q->source, ANNOUNCE_PRIORITY);
                if (r < 0) {
                        q->source = sd_event_source_unref(q->source);
                        return r;
                }
                return 0;
        }
        return sd_event_source_set_enabled(q->source, SD_EVENT_ONESHOT);
}

static announce_entry *find_device(announce_queue *q, const vk_device_id *id)
{
        for (size_t i = 0; i < q->n_devices; i++)
                if (vk_device_id_equal(&q->devices[i].id, id))
                        return &q->devices[i];
        return NULL;
}

/* Adds id (or widens its entry to every property). The queue keeps first-noted order, so a
 * watcher sees devices announced in the order their changes happened. */
static int note_device(announce_queue *q, const vk_device_id *id, bool all)
{
        announce_entry *e = find_device(q, id);

        if (e) {
                e->all = e->all || all;
                return 0;
        }
        if (q->n_devices == q->allocated_devices) {
                size_t n = q->allocated_devices ? q->allocated_devices * 2 : 8;
                announce_entry *d = reallocarray(q->devices, n, sizeof(*d));

                if (!d)
                        return -ENOMEM;
                q->devices = d;
                q->allocated_devices = n;
        }
        q->devices[q->n_devices++] = (announce_entry){.id = *id, .all = all};
        return 0;
}

void device_emit_changed(manager *m, const vk_device_id *id, bool all)
{
        int r;

        if (!m->bus)
                return;
        r = note_device(&m->announce, id, all);
        if (r >= 0)
                r = announce_arm(m);
        if (r < 0) {
                /* Without room to remember it, announce it now rather than not at all. */
                log_debug_errno(r, "Announcing %s without merging: %m", id->name);
                device_emit_properties(m, id, all);
        }
}

void device_emit_group_changed(manager *m, int group)
{
        announce_queue *q = &m->announce;
        int r = 0;

        if (!m->bus || group < 0)
                return;
        for (size_t i = 0; i < q->n_groups; i++)
                if (q->groups[i] == group)
                        return;
        if (q->n_groups == q->allocated_groups) {
                size_t n = q->allocated_groups ? q->allocated_groups * 2 : 8;
                int *g = reallocarray(q->groups, n, sizeof(*g));

                if (!g)
                        r = -ENOMEM;
                else {
                        q->groups = g;
                        q->allocated_groups = n;
                }
        }
        if (r >= 0) {
                q->groups[q->n_groups++] = group;
                r = announce_arm(m);
        }
        if (r < 0)
                log_debug_errno(r, "Cannot note the change of IOMMU group %d: %m", group);
}

static announce_shown *find_shown(announce_queue *q, const vk_device_id *id)
{
        for (size_t i = 0; i < q->n_shown; i++)
                if (vk_device_id_equal(&q->shown[i].id, id))
                        return &q->shown[i];
        return NULL;
}

static void drop_shown(announce_queue *q, announce_shown *s)
{
        free(s->driver);
        *s = q->shown[--q->n_shown];
}

void announce_forget_device(manager *m, const vk_device_id *id)
{
        announce_queue *q = &m->announce;
        announce_entry *e = find_device(q, id);
        announce_shown *s = find_shown(q, id);

        if (s)
                drop_shown(q, s);
        if (!e)
                return;
        size_t i = (size_t)(e - q->devices);
        for (; i + 1 < q->n_devices; i++)
                q->devices[i] = q->devices[i + 1];
        q->n_devices--;
}

void announce_note_shown(manager *m, const vk_device_id *id, bool known, const char *driver)
{
        announce_queue *q = &m->announce;
        announce_shown *s = find_shown(q, id);
        char *copy = NULL;

        /* Whatever cannot be remembered is forgotten: the next uevent then announces again. */
        if (known && driver) {
                copy = strdup(driver);
                if (!copy)
                        known = false;
        }
        if (!known) {
                if (s)
                        drop_shown(q, s);
                return;
        }
        if (!s) {
                if (q->n_shown == q->allocated_shown) {
                        size_t n = q->allocated_shown ? q->allocated_shown * 2 : 16;
                        announce_shown *a = reallocarray(q->shown, n, sizeof(*a));

                        if (!a) {
                                free(copy);
                                return;
                        }
                        q->shown = a;
                        q->allocated_shown = n;
                }
                s = &q->shown[q->n_shown++];
                *s = (announce_shown){.id = *id};
        }
        free(s->driver);
        s->driver = copy;
}

bool announce_shows_driver(manager *m, const vk_device_id *id, const char *driver)
{
        announce_shown *s = find_shown(&m->announce, id);

        return s && streq_ptr(s->driver, driver);
}

int announce_listed_members(manager *m, int group, vk_device_id **ret, size_t *ret_n)
{
        announce_queue *q = &m->announce;

        if (!q->flushing)
                return 0;
        for (size_t i = 0; i < q->n_listings; i++) {
                const announce_listing *l = &q->listings[i];
                vk_device_id *copy;

                if (l->group != group)
                        continue;
                copy = calloc(l->n + 1, sizeof(*copy));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, l->ids, l->n * sizeof(*copy));
                *ret = copy;
                *ret_n = l->n;
                return 1;
        }
        return 0;
}

void announce_keep_listing(manager *m, int group, const vk_device_id *ids, size_t n)
{
        announce_queue *q = &m->announce;
        announce_listing *l;
        vk_device_id *copy;

        if (!q->flushing)
                return;
        /* Out of memory, the next signal lists the group again. */
        copy = calloc(n + 1, sizeof(*copy));
        l = reallocarray(q->listings, q->n_listings + 1, sizeof(*l));
        if (l)
                q->listings = l;
        if (!copy || !l) {
                free(copy);
                return;
        }
        memcpy(copy, ids, n * sizeof(*copy));
        q->listings[q->n_listings++] = (announce_listing){.group = group, .ids = copy, .n = n};
}

static void listings_drop(announce_queue *q)
{
        for (size_t i = 0; i < q->n_listings; i++)
                free(q->listings[i].ids);
        free(q->listings);
        q->listings = NULL;
        q->n_listings = 0;
}

/* The whole flush runs within one pass of the loop, so a group is listed once for all of its
 * signals: the listing that named a group's members is the one their GroupPeers show. */
void announce_flush(manager *m)
{
        announce_queue *q = &m->announce;

        q->flushing = true;

        /* A group's members are listed now, not when it was noted: whoever is in the group at
         * the end of the burst is who changed. Members already noted keep their wider entry. */
        for (size_t g = 0; g < q->n_groups; g++) {
                _cleanup_(freep) vk_device_id *ids = NULL;
                size_t n = 0;

                if (group_member_ids(m, q->groups[g], &ids, &n) < 0)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (note_device(q, &ids[i], false) < 0)
                                device_emit_properties(m, &ids[i], false);
        }
        q->n_groups = 0;

        /* Emitting may run getters that note nothing, but take the list first all the same:
         * whatever is noted meanwhile belongs to the next pass. */
        _cleanup_(freep) announce_entry *batch = TAKE_PTR(q->devices);
        size_t n = q->n_devices;
        q->n_devices = q->allocated_devices = 0;

        for (size_t i = 0; i < n; i++)
                device_emit_properties(m, &batch[i].id, batch[i].all);
        listings_drop(q);
        q->flushing = false;
}

static int on_announce(sd_event_source *s, void *userdata)
{
        announce_flush(userdata);
        return 0;
}

void announce_done(manager *m)
{
        announce_queue *q = &m->announce;

        q->source = sd_event_source_disable_unref(q->source);
        listings_drop(q);
        free(q->devices);
        free(q->groups);
        for (size_t i = 0; i < q->n_shown; i++)
                free(q->shown[i].driver);
        free(q->shown);
        *q = (announce_queue){};
}
