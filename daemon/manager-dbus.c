/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* org.vfiod1.Manager at /org/vfiod1, and the assign/release request flows that the device
 * objects' Assign/Release share. */

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "errors.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "options.h"
#include "vfio.h"

static void plan_freep(plan **p)
{
        plan_free(*p);
}

static int qualified_name(const vk_device_id *id, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s:%s", vk_bus_to_string(id->bus), id->name);

        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int manager_resolve_name(manager *mgr, const char *name, vk_device_id *ret, sd_bus_error *error)
{
        char quoted[80];
        int r;

        /* D-Bus strings cannot carry NUL; the resolver still checks length and traversal. */
        r = vk_device_resolve(mgr->root, name, strlen(name), ret);
        if (r >= 0)
                return 0;

        bus_error_quote_name(name, quoted, sizeof(quoted));
        switch (r) {
        case -ENODEV:
        case -ENOENT:
                return bus_error_setf_engine(error, ENGINE_NO_SUCH_DEVICE,
                                             "No device \"%s\" on the pci, platform or amba bus",
                                             quoted);
        case -EXDEV:
                return bus_error_setf_engine(error, ENGINE_NO_SUCH_DEVICE,
                                             "\"%s\" is not a device of the pci, platform or "
                                             "amba bus",
                                             quoted);
        case -EINVAL:
        case -ENAMETOOLONG:
                return bus_error_setf_engine(
                    error, ENGINE_INVALID_ARGUMENT,
                    "\"%s\" is not a device name: use 0000:01:00.0, pci:0000:01:00.0, "
                    "platform:NAME, amba:NAME or a path under /sys/devices (at most %d "
                    "characters, no \"..\")",
                    quoted, VK_NAME_MAX);
        default:
                return sd_bus_error_set_errnof(error, r, "Cannot look up device \"%s\": %m",
                                               quoted);
        }
}

static int join_blockers(char *const *blockers, char **ret)
{
        size_t len = 1;
        char *s;

        for (char *const *b = blockers; *b; b++)
                len += strlen(*b) + 2;
        s = malloc(len);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';
        for (char *const *b = blockers; *b; b++) {
                if (b != blockers)
                        strcat(s, "; ");
                strcat(s, *b);
        }
        *ret = s;
        return 0;
}

/* The members that move to VFIO, bus-qualified: what the lease records. */
static int plan_moving_members(const plan *p, char ***ret)
{
        _cleanup_(strv_freep) char **members = NULL;
        int r;

        for (size_t i = 0; i < p->group->n_members; i++) {
                const vk_member *mb = &p->group->members[i];
                char name[VK_NAME_MAX + 16];

                if (mb->role != VK_MEMBER_MOVE)
                        continue;
                r = qualified_name(&mb->dev->id, name, sizeof(name));
                if (r < 0)
                        return r;
                r = strv_extend(&members, name);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(members);
        return 0;
}

static void on_assign_done(transaction *t, int r, int group_fd, const engine_failure *failure,
                           void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *request = NULL;
        _cleanup_(closep) int fd = group_fd;
        lease *l = userdata;

        l->transaction = NULL;
        request = TAKE_PTR(l->request);

        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                log_warning("Assignment of IOMMU group %d failed at %s: %s", l->group,
                            failure->step, failure->message);
                (void)bus_error_set_failure(&error, failure);
                (void)sd_bus_reply_method_error(request, &error);
                lease_drop(l);
                return;
        }

        l->state = LEASE_ASSIGNED;
        log_info("Assigned IOMMU group %d (%s) to %s.", l->group, l->info.driver,
                 l->info.lifetime == LEASE_CLIENT ? l->info.owner : "a persistent lease");

        if (l->reply_path) {
                _cleanup_(freep) char *path = NULL;

                r = device_object_path(&l->request_device, &path);
                if (r >= 0)
                        r = sd_bus_reply_method_return(request, "ho", fd, path);
        } else
                r = sd_bus_reply_method_return(request, "h", fd);
        if (r < 0)
                log_warning_errno(r, "Cannot send the group fd of IOMMU group %d: %m", l->group);

        lease_emit_changed(l);
        if (l->owner_gone)
                (void)lease_release(l, NULL, NULL);
}

static int start_assignment(manager *mgr, sd_bus_message *m, const vk_device_id *id,
                            bool reply_path, plan **p, const assign_options *o, uid_t uid,
                            sd_bus_error *error)
{
        _cleanup_(strv_freep) char **members = NULL;
        lease_info info = {
            .lifetime = o->lifetime,
            /* A persistent lease outlives the connection; its unique name would mean
             * nothing after a restart. */
            .owner = o->lifetime == LEASE_CLIENT ? (char *)sd_bus_message_get_sender(m) : NULL,
            .owner_uid_caller = uid,
            .node_uid = o->owner_uid,
            .driver = (*p)->driver,
        };
        int group = (*p)->group->id;
        lease *l;
        int r;

        r = plan_moving_members(*p, &members);
        if (r < 0)
                return r;
        if (!members)
                return bus_error_setf_engine(error, ENGINE_NOT_ASSIGNABLE,
                                             "IOMMU group %d of %s has no device that can move "
                                             "to VFIO",
                                             group, id->name);

        r = lease_new(mgr, group, members, &info, LEASE_ASSIGNING, &l);
        if (r < 0)
                return r;

        if (o->lifetime == LEASE_CLIENT) {
                r = lease_track_owner(l);
                if (r < 0) {
                        lease_free(l);
                        /* The caller left between sending the request and now. */
                        return sd_bus_error_set_errnof(error, r,
                                                       "Cannot follow the caller's connection: %m");
                }
        }

        l->request = sd_bus_message_ref(m);
        l->request_device = *id;
        l->reply_path = reply_path;

        r = engine_assign(mgr->engine, TAKE_PTR(*p), o, &l->info, on_assign_done, l,
                          &l->transaction);
        if (r < 0) {
                lease_free(l);
                if (r == -EBUSY)
                        return bus_error_setf_engine(error, ENGINE_BUSY,
                                                     "IOMMU group %d is in a transaction", group);
                return sd_bus_error_set_errnof(
                    error, r, "Cannot start the assignment of IOMMU group %d: %m", group);
        }

        log_info("Assigning IOMMU group %d of %s for %s (uid %u).", group, id->name,
                 sd_bus_message_get_sender(m), (unsigned)uid);
        lease_emit_changed(l);
        return 1;
}

int manager_handle_assign(manager *mgr, sd_bus_message *m, const vk_device_id *id, bool reply_path,
                          sd_bus_error *error)
{
        _unused_ _cleanup_(polkit_guard_done) polkit_guard guard = {mgr->polkit, m};
        _cleanup_(assign_options_done) assign_options o = {};
        _cleanup_(freep) char *reason = NULL;
        _cleanup_(plan_freep) plan *p = NULL;
        char qualified[VK_NAME_MAX + 16];
        engine_failure failure = {};
        int group, r;
        uid_t uid;

        r = bus_read_assign_options(m, &mgr->config, &o, error);
        if (r < 0)
                return r;

        r = caller_uid(mgr->callers, m, &uid);
        if (r <= 0)
                return r < 0 ? sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m")
                             : 1;

        /* Who holds the group is checked before the plan reads its members (device_read_group
         * takes no lock). The plan finds a member stuck in an unbind by itself: the member's load
         * sees the VFIO core's child without a driver and skips the reads that would wait for the
         * device lock. */
        group = device_read_group(mgr, id);
        if (group < -1)
                return sd_bus_error_set_errnof(error, group,
                                               "Cannot read the IOMMU group of %s: %m", id->name);
        r = lease_busy_reason(mgr, group, &reason);
        if (r < 0)
                return r;
        if (r > 0)
                return bus_error_setf_engine(error, ENGINE_BUSY, "Cannot assign %s: %s", id->name,
                                             reason);

        r = engine_plan(mgr->engine, id, &o, &p, &failure);
        if (r < 0)
                return bus_error_set_failure(error, &failure);
        if (p->blockers && p->blockers[0]) {
                _cleanup_(freep) char *joined = NULL;

                r = join_blockers(p->blockers, &joined);
                if (r < 0)
                        return r;
                return bus_error_setf_engine(error, p->blocker_error, "Cannot assign %s: %s",
                                             id->name, joined);
        }

        r = qualified_name(id, qualified, sizeof(qualified));
        if (r < 0)
                return r;
        const char *details[] = {"device", qualified, NULL};

        r = polkit_check(mgr->polkit, m, uid, "org.vfiod1.assign", details, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (p->takes_console) {
                r = polkit_check(mgr->polkit, m, uid, "org.vfiod1.assign-console", details, error);
                if (r <= 0)
                        return r < 0 ? r : 1;
        }

        return start_assignment(mgr, m, id, reply_path, &p, &o, uid, error);
}

int manager_handle_release(manager *mgr, sd_bus_message *m, const vk_device_id *id,
                           sd_bus_error *error)
{
        _unused_ _cleanup_(polkit_guard_done) polkit_guard guard = {mgr->polkit, m};
        char qualified[VK_NAME_MAX + 16];
        const char *sender = sd_bus_message_get_sender(m);
        bool own;
        uid_t uid;
        lease *l;
        int r;

        l = manager_find_lease_by_device(mgr, id);
        if (!l) {
                /* Any device of an assigned group names the group, bridges that stayed too. */
                l = manager_find_lease_by_group(mgr, device_read_group(mgr, id));
        }
        if (!l)
                return bus_error_setf_engine(error, ENGINE_NOT_ASSIGNED,
                                             "%s is not assigned: nothing to release", id->name);
        if (l->transaction)
                return bus_error_setf_engine(error, ENGINE_BUSY,
                                             "IOMMU group %d is %s; try again when that has "
                                             "finished",
                                             l->group, lease_state_to_string(l->state));

        r = caller_uid(mgr->callers, m, &uid);
        if (r <= 0)
                return r < 0 ? sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m")
                             : 1;

        if (l->info.lifetime == LEASE_CLIENT)
                own = streq_ptr(l->info.owner, sender);
        else
                own = uid == l->info.owner_uid_caller;

        if (!own) {
                r = qualified_name(id, qualified, sizeof(qualified));
                if (r < 0)
                        return r;
                const char *details[] = {"device", qualified, NULL};

                r = polkit_check(mgr->polkit, m, uid, "org.vfiod1.release-any", details, error);
                if (r == 0)
                        return 1;
                if (r < 0) {
                        _cleanup_(sd_bus_error_free) sd_bus_error denied = SD_BUS_ERROR_NULL;

                        /* Say whose lease it is, and what would allow releasing it anyway. */
                        sd_bus_error_move(&denied, error);
                        return sd_bus_error_setf(
                            error, denied.name ? denied.name : SD_BUS_ERROR_ACCESS_DENIED,
                            "IOMMU group %d of %s is held by %s; releasing it needs "
                            "org.vfiod1.release-any (%s)",
                            l->group, id->name,
                            l->info.lifetime == LEASE_CLIENT ? l->info.owner : "a persistent lease",
                            denied.message ? denied.message : "denied");
                }
        }

        r = lease_release(l, m, error);
        if (r < 0)
                return r;
        log_info("Releasing IOMMU group %d for %s (uid %u).", l->group, sender, (unsigned)uid);
        return 1;
}

/* The device argument every Manager method starts with. */
static int read_device_argument(manager *mgr, sd_bus_message *m, vk_device_id *ret,
                                sd_bus_error *error)
{
        const char *name;
        int r;

        r = sd_bus_message_read_basic(m, 's', &name);
        if (r < 0)
                return r;
        return manager_resolve_name(mgr, name, ret, error);
}

static int method_assign_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        vk_device_id id;
        int r;

        r = read_device_argument(userdata, m, &id, error);
        if (r < 0)
                return r;
        return manager_handle_assign(userdata, m, &id, true, error);
}

static int method_release_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        vk_device_id id;
        int r;

        r = read_device_argument(userdata, m, &id, error);
        if (r < 0)
                return r;
        return manager_handle_release(userdata, m, &id, error);
}

static int append_steps(sd_bus_message *reply, const plan *p)
{
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_steps; i++) {
                const plan_step *s = &p->steps[i];

                r = sd_bus_message_append(reply, "(sss)", s->action ? s->action : "",
                                          s->device ? s->device : "", s->detail ? s->detail : "");
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int method_plan_assignment(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(assign_options_done) assign_options o = {};
        _cleanup_(freep) char *reason = NULL;
        _cleanup_(plan_freep) plan *p = NULL;
        engine_failure failure = {};
        manager *mgr = userdata;
        vk_device_id id;
        int r;

        r = read_device_argument(mgr, m, &id, error);
        if (r < 0)
                return r;
        r = bus_read_assign_options(m, &mgr->config, &o, error);
        if (r < 0)
                return r;

        /* Planning reads every member; a member stuck in an unbind would block the loop. */
        r = group_stall_reason(mgr, device_read_group(mgr, &id), &reason);
        if (r < 0)
                return r;
        /* Arrays are appended as a count followed by the elements: no steps, no warnings, one
         * blocker. */
        if (r > 0)
                return sd_bus_reply_method_return(m, "a(sss)asas", 0, 0, 1, reason);

        r = engine_plan(mgr->engine, &id, &o, &p, &failure);
        if (r < 0)
                return bus_error_set_failure(error, &failure);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = append_steps(reply, p);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, p->warnings);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, p->blockers);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_devices(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **paths = NULL;
        manager *mgr = userdata;
        int r;

        r = manager_list_device_paths(mgr, &paths);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot list devices: %m");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (char **p = paths; p && *p; p++) {
                r = sd_bus_message_append_basic(reply, 'o', *p);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", VFIOD_VERSION);
}

static int property_get_features(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error)
{
        manager *mgr = userdata;
        vk_vfio_features f = {};
        int r;

        r = vk_vfio_features_read(mgr->root, &f);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot read the kernel's features: %m");

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        if (f.iommu && (r = sd_bus_message_append(reply, "s", "iommu")) < 0)
                return r;
        if (f.cdev && (r = sd_bus_message_append(reply, "s", "cdev")) < 0)
                return r;
        if (f.noiommu && (r = sd_bus_message_append(reply, "s", "noiommu")) < 0)
                return r;
        if (f.platform && (r = sd_bus_message_append(reply, "s", "platform")) < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Features", "as", property_get_features, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_METHOD_WITH_ARGS("AssignDevice", SD_BUS_ARGS("s", device, "a{sv}", options),
                            SD_BUS_RESULT("h", group_fd, "o", device), method_assign_device,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ReleaseDevice", SD_BUS_ARGS("s", device), SD_BUS_NO_RESULT,
                            method_release_device, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("PlanAssignment", SD_BUS_ARGS("s", device, "a{sv}", options),
                            SD_BUS_RESULT("a(sss)", steps, "as", warnings, "as", blockers),
                            method_plan_assignment, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", devices),
                            method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int manager_add_manager_object(manager *m)
{
        int r;

        r = sd_bus_add_object_vtable(m->bus, &m->manager_slot, VFIOD_MANAGER_PATH,
                                     VFIOD_MANAGER_IFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register %s: %m", VFIOD_MANAGER_PATH);

        r = sd_bus_add_object_manager(m->bus, &m->object_manager_slot, VFIOD_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Cannot register the object manager: %m");
        return 0;
}
