/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "lease.h"
#include "log.h"

static int lease_info_copy(const lease_info *from, lease_info *ret)
{
        lease_info to = {
            .lifetime = from->lifetime,
            .owner_uid_caller = from->owner_uid_caller,
            .node_uid = from->node_uid,
        };

        if (free_and_strdup(&to.owner, from->owner) < 0 ||
            free_and_strdup(&to.driver, from->driver) < 0) {
                lease_info_done(&to);
                return -ENOMEM;
        }
        *ret = to;
        return 0;
}

int lease_new(manager *m, int group, char *const *members, const lease_info *info,
              lease_state state, lease **ret)
{
        _cleanup_(freep) lease *l = NULL;
        char **copy = NULL;
        int r;

        if (!members || !members[0])
                return -EINVAL;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;

        /* The first member addresses the whole group when it is released. */
        r = vk_parse_device_name(members[0], strlen(members[0]), &l->target);
        if (r < 0)
                return r;

        for (char *const *i = members; *i; i++) {
                r = strv_extend(&copy, *i);
                if (r < 0) {
                        strv_free(copy);
                        return r;
                }
        }

        r = lease_info_copy(info, &l->info);
        if (r < 0) {
                strv_free(copy);
                return r;
        }

        l->manager = m;
        l->group = group;
        l->members = copy;
        l->state = state;
        l->next = m->leases;
        m->leases = l;

        *ret = TAKE_PTR(l);
        return 0;
}

lease *lease_free(lease *l)
{
        if (!l)
                return NULL;

        for (lease **p = &l->manager->leases; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }

        sd_bus_track_unref(l->track);
        sd_bus_message_unref(l->request);
        lease_info_done(&l->info);
        strv_free(l->members);
        free(l);
        return NULL;
}

lease *manager_find_lease_by_group(manager *m, int group)
{
        if (group < 0)
                return NULL;
        for (lease *l = m->leases; l; l = l->next)
                if (l->group == group)
                        return l;
        return NULL;
}

lease *manager_find_lease_by_device(manager *m, const vk_device_id *id)
{
        char name[VK_NAME_MAX + 16];

        (void)snprintf(name, sizeof(name), "%s:%s", vk_bus_to_string(id->bus), id->name);
        for (lease *l = m->leases; l; l = l->next)
                if (strv_contains(l->members, name))
                        return l;
        return NULL;
}

const char *lease_state_to_string(lease_state s)
{
        switch (s) {
        case LEASE_ASSIGNING:
                return "assigning";
        case LEASE_ASSIGNED:
                return "assigned";
        case LEASE_RELEASING:
        case LEASE_RELEASE_FAILED:
                return "releasing";
        }
        return "host";
}

void lease_emit_changed(lease *l)
{
        manager *m = l->manager;

        for (char **i = l->members; *i; i++) {
                vk_device_id id;

                if (vk_parse_device_name(*i, strlen(*i), &id) >= 0)
                        device_emit_changed(m, &id, true);
        }
        device_emit_group_changed(m, l->group);
}

int lease_busy_reason(manager *m, int group, char **ret_reason)
{
        lease *l = manager_find_lease_by_group(m, group);
        char *reason = NULL;
        int n;

        if (l) {
                if (l->state == LEASE_ASSIGNING)
                        n = asprintf(&reason, "IOMMU group %d is being assigned", group);
                else if (l->state != LEASE_ASSIGNED)
                        n = asprintf(&reason, "IOMMU group %d is being released", group);
                else if (l->info.lifetime == LEASE_CLIENT)
                        n = asprintf(&reason, "IOMMU group %d is assigned to %s", group,
                                     l->info.owner);
                else
                        n = asprintf(&reason, "IOMMU group %d is assigned persistently (by uid %u)",
                                     group, (unsigned)l->info.owner_uid_caller);
        } else if (group >= 0 && engine_group_busy(m->engine, group))
                n = asprintf(&reason, "IOMMU group %d is in a transaction", group);
        else
                return 0;

        if (n < 0)
                return -ENOMEM;
        *ret_reason = reason;
        return 1;
}

static int on_owner_gone(sd_bus_track *track, void *userdata)
{
        lease *l = userdata;

        log_info("Client %s left the bus; releasing IOMMU group %d.", l->info.owner, l->group);

        l->owner_gone = true;
        /* The owner is gone for good; sd-bus holds its own reference while we run. */
        l->track = sd_bus_track_unref(l->track);

        switch (l->state) {
        case LEASE_ASSIGNING:
                /* Released as soon as the assignment has finished: a half-done transaction is
                 * never interrupted. */
                break;
        case LEASE_ASSIGNED:
        case LEASE_RELEASE_FAILED:
                (void)lease_release(l, NULL, NULL);
                break;
        case LEASE_RELEASING:
                break;
        }
        /* Non-zero: do not dispatch this (now empty) track again. */
        return 1;
}

int lease_track_owner(lease *l)
{
        _cleanup_(sd_bus_track_unrefp) sd_bus_track *track = NULL;
        int r;

        if (!l->info.owner)
                return -ENXIO;

        r = sd_bus_track_new(l->manager->bus, &track, on_owner_gone, l);
        if (r < 0)
                return r;
        r = sd_bus_track_add_name(track, l->info.owner);
        if (r < 0)
                return r;

        sd_bus_track_unref(l->track);
        l->track = TAKE_PTR(track);
        return 0;
}

/* Forgets a lease whose group is no longer held and announces its members' new state (the
 * signals are built after the lease is gone, so they carry State=host). */
void lease_drop(lease *l)
{
        _cleanup_(strv_freep) char **members = TAKE_PTR(l->members);
        manager *m = l->manager;
        int group = l->group;

        lease_free(l);
        for (char **i = members; *i; i++) {
                vk_device_id id;

                if (vk_parse_device_name(*i, strlen(*i), &id) >= 0)
                        device_emit_changed(m, &id, true);
        }
        device_emit_group_changed(m, group);
}

static void on_release_done(transaction *t, int r, int group_fd, const engine_failure *failure,
                            void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *request = NULL;
        lease *l = userdata;

        safe_close(group_fd);
        l->transaction = NULL;
        request = TAKE_PTR(l->request);

        if (r >= 0) {
                log_info("Released IOMMU group %d.", l->group);
                if (request)
                        (void)sd_bus_reply_method_return(request, NULL);
                lease_drop(l);
                return;
        }

        log_warning("Release of IOMMU group %d failed at %s: %s", l->group, failure->step,
                    failure->message);
        if (request) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                (void)bus_error_set_failure(&error, failure);
                (void)sd_bus_reply_method_error(request, &error);
        }

        if (!engine_find_assignment(l->manager->engine, &l->target)) {
                lease_drop(l);
                return;
        }

        /* A hung unbind, or an owner that has left, leaves the group visibly stuck in
         * "releasing" until a later ReleaseDevice succeeds; a live owner whose release was rolled
         * back still holds its assignment. */
        if (failure->error == ENGINE_TIMEOUT || l->owner_gone)
                l->state = LEASE_RELEASE_FAILED;
        else
                l->state = LEASE_ASSIGNED;
        lease_emit_changed(l);
}

static void on_engine_resumed(engine *e, int group, int r, const engine_failure *failure,
                              void *userdata)
{
        manager *m = userdata;
        lease *l = manager_find_lease_by_group(m, group);

        if (r < 0) {
                log_warning("IOMMU group %d is still stuck on its way back to the host: %s", group,
                            failure ? failure->message : strerror(-r));
                if (l)
                        lease_emit_changed(l);
                return;
        }

        log_info("IOMMU group %d went back to the host after its unbind finished.", group);
        if (l && !l->transaction)
                lease_drop(l);
        else
                /* A rolled-back assignment had no lease left; its members changed all the same. */
                device_emit_group_changed(m, group);
}

void manager_follow_engine(manager *m)
{
        engine_set_resumed_handler(m->engine, on_engine_resumed, m);
}

int lease_release(lease *l, sd_bus_message *request, sd_bus_error *error)
{
        manager *m = l->manager;
        lease_state previous = l->state;
        int r;

        if (l->transaction)
                return bus_error_setf_engine(error, ENGINE_BUSY,
                                             "IOMMU group %d is in a transaction; try again when "
                                             "it has finished",
                                             l->group);

        l->state = LEASE_RELEASING;
        r = engine_release(m->engine, &l->target, m->config.unbind_timeout_ms, on_release_done, l,
                           &l->transaction);
        if (r < 0) {
                l->state = previous;
                log_warning_errno(r, "Cannot start the release of IOMMU group %d: %m", l->group);
                if (r == -EBUSY)
                        return bus_error_setf_engine(
                            error, ENGINE_BUSY, "IOMMU group %d is in a transaction", l->group);
                return sd_bus_error_set_errnof(
                    error, r, "Cannot start the release of IOMMU group %d: %m", l->group);
        }

        sd_bus_message_unref(l->request);
        l->request = sd_bus_message_ref(request);
        lease_emit_changed(l);
        return 0;
}

static int readopt_one(manager *m, const engine_assignment *a)
{
        lease *l;
        int r;

        r = lease_new(m, a->group, a->members, &a->lease, LEASE_ASSIGNED, &l);
        if (r < 0)
                return log_error_errno(r, "Cannot re-adopt the assignment of IOMMU group %d: %m",
                                       a->group);

        if (l->info.lifetime == LEASE_PERSISTENT) {
                log_info("Re-adopted persistent assignment of IOMMU group %d.", a->group);
                return 0;
        }

        /* The bus never reuses a unique name: if it is gone, its client is gone. */
        r = lease_track_owner(l);
        if (r == -ENXIO || r == -ESRCH) {
                log_info("Client %s of IOMMU group %d is gone; releasing it.",
                         l->info.owner ? l->info.owner : "(unrecorded)", a->group);
                l->owner_gone = true;
                r = lease_release(l, NULL, NULL);
                if (r < 0)
                        log_warning_errno(r, "Cannot release IOMMU group %d: %m", a->group);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Cannot track client %s of IOMMU group %d: %m",
                                       l->info.owner, a->group);

        log_info("Re-adopted client %s's assignment of IOMMU group %d.", l->info.owner, a->group);
        return 0;
}

int manager_readopt_leases(manager *m)
{
        engine_assignment *a = NULL;
        size_t n = 0;
        int r;

        r = engine_list_assignments(m->engine, &a, &n);
        if (r < 0)
                return log_error_errno(r, "Cannot list the recovered assignments: %m");

        for (size_t i = 0; i < n; i++) {
                r = readopt_one(m, &a[i]);
                if (r < 0)
                        break;
        }

        engine_assignments_free(a, n);
        return r < 0 ? r : 0;
}
