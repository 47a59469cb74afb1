/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "conf.h"
#include "errors.h"
#include "lease.h"
#include "log.h"
#include "manager.h"

static int runtime_dir_default(const char *given, char **ret)
{
        const char *env = getenv("RUNTIME_DIRECTORY");
        const char *dir = given;
        size_t n;

        if (!dir && env && env[0]) {
                /* systemd lists several directories separated by ':'; ours is the only one. */
                n = strcspn(env, ":");
                *ret = strndup(env, n);
                return *ret ? 0 : -ENOMEM;
        }
        *ret = strdup(dir ? dir : "/run/vfiod");
        return *ret ? 0 : -ENOMEM;
}

int manager_new(const manager_options *o, manager **ret)
{
        _cleanup_(manager_freep) manager *m = NULL;
        _cleanup_(freep) char *config_error = NULL;
        const char *config_path = o->config_path ? o->config_path : VFIOD_CONFIG_FILE;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return log_oom();

        r = config_load(config_path, &m->config, &config_error);
        if (r < 0) {
                if (config_error)
                        return log_error_errno(r, "%s; not starting.", config_error);
                return log_error_errno(r, "Cannot load %s: %m", config_path);
        }

        r = runtime_dir_default(o->runtime_dir, &m->runtime_dir);
        if (r < 0)
                return log_oom();
        if (mkdir(m->runtime_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create the runtime directory %s: %m",
                                       m->runtime_dir);

        r = vk_root_open(o->root ? o->root : "/", &m->root);
        if (r < 0)
                return log_error_errno(r, "Cannot open the kernel root %s: %m",
                                       o->root ? o->root : "/");

        r = vk_modules_new(m->root, NULL, &m->modules);
        if (r < 0)
                return log_error_errno(r, "Cannot initialize module loading: %m");

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");

        r = engine_new(m->event, m->root, m->modules, &m->config, m->runtime_dir, &m->engine);
        if (r < 0)
                return log_error_errno(r, "Cannot start the assignment engine: %m");
        manager_follow_engine(m);

        r = polkit_registry_new(&m->polkit);
        if (r < 0)
                return log_oom();
        r = caller_registry_new(&m->callers);
        if (r < 0)
                return log_oom();

        /* Descriptions are a nicety: a system without hwdb.bin shows "". */
        r = sd_hwdb_new(&m->hwdb);
        if (r < 0)
                log_debug_errno(r, "No hardware database, device descriptions stay empty: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

manager *manager_free(manager *m)
{
        if (!m)
                return NULL;

        /* Leases first: their tracks and pending replies reference the bus. */
        while (m->leases)
                lease_free(m->leases);

        announce_done(m);
        device_view_clear(&m->view);
        sd_event_source_unref(m->uevent_source);
        vk_uevent_source_free(m->uevents);

        sd_bus_slot_unref(m->name_slot);
        sd_bus_slot_unref(m->enumerator_slot);
        sd_bus_slot_unref(m->device_slot);
        sd_bus_slot_unref(m->object_manager_slot);
        sd_bus_slot_unref(m->manager_slot);
        polkit_registry_free(m->polkit);
        caller_registry_free(m->callers);
        if (m->bus) {
                (void)sd_bus_flush(m->bus);
                sd_bus_flush_close_unref(m->bus);
        }

        engine_free(m->engine);
        sd_event_unref(m->event);
        vk_modules_free(m->modules);
        vk_root_unref(m->root);
        sd_hwdb_unref(m->hwdb);
        config_done(&m->config);
        free(m->runtime_dir);
        free(m);
        return NULL;
}

static int bus_connect(const char *address, sd_bus **ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (!address)
                /* sd_bus_open_system() honours $DBUS_SYSTEM_BUS_ADDRESS itself. */
                r = sd_bus_open_system_with_description(&bus, "vfiod");
        else {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_description(bus, "vfiod");
                if (r < 0)
                        return r;
                r = sd_bus_set_address(bus, address);
                if (r < 0)
                        return r;
                r = sd_bus_set_bus_client(bus, true);
                if (r < 0)
                        return r;
                r = sd_bus_start(bus);
        }
        if (r < 0)
                return r;

        *ret = TAKE_PTR(bus);
        return 0;
}

static void manager_handle_uevent(manager *m, const vk_uevent *ev)
{
        vk_device_id id = {};
        int r;

        id.bus = vk_bus_from_string(ev->subsystem);
        if (id.bus < 0 || !ev->kernel_name[0] || strlen(ev->kernel_name) > VK_NAME_MAX)
                return; /* not a device we model (vfio nodes, other buses) */
        strcpy(id.name, ev->kernel_name);

        log_debug("uevent %d for %s:%s (driver \"%s\")", ev->action, ev->subsystem, id.name,
                  ev->driver);

        switch (ev->action) {
        case VK_UEVENT_ADD:
                /* Fence first: a device appearing in an assigned group must not reach a host
                 * driver before we announce it. */
                r = engine_device_added(m->engine, &id);
                if (r < 0)
                        log_warning_errno(r,
                                          "Cannot fence %s, which appeared in an assigned "
                                          "IOMMU group: %m",
                                          id.name);
                else if (r > 0)
                        log_info("Fenced %s, which appeared in an assigned IOMMU group.", id.name);
                device_emit_added(m, &id);
                break;
        case VK_UEVENT_REMOVE:
                device_emit_removed(m, &id);
                break;
        case VK_UEVENT_BIND:
        case VK_UEVENT_UNBIND:
                /* Mostly the report of our own transaction, which was announced when it ended
                 * (see announce.c): the device and its group were shown with this driver. */
                if (announce_shows_driver(m, &id, ev->driver[0] ? ev->driver : NULL))
                        return;
                device_emit_changed(m, &id, true);
                break;
        default:
                device_emit_changed(m, &id, true);
                break;
        }

        /* Peers see a new, vanished or rebound member in Assignable/Blockers/GroupPeers. */
        if (ev->action != VK_UEVENT_REMOVE)
                device_emit_group_changed(m, device_read_group(m, &id));
        else {
                lease *l = manager_find_lease_by_device(m, &id);

                if (l)
                        device_emit_group_changed(m, l->group);
        }
}

/* Events handled per wake-up, so a flood cannot starve the bus. */
#define UEVENT_BATCH 256

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        manager *m = userdata;
        vk_uevent ev;
        int r;

        for (unsigned i = 0; i < UEVENT_BATCH; i++) {
                r = vk_uevent_source_receive(m->uevents, &ev);
                if (r == 0)
                        break;
                if (r < 0) {
                        /* A malformed message is consumed; the sender's mistake is no reason to
                         * stop listening. */
                        log_debug_errno(r, "Dropping an unreadable uevent: %m");
                        continue;
                }
                manager_handle_uevent(m, &ev);
        }
        return 0;
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t result = 0;
        int r;

        m->name_slot = sd_bus_slot_unref(m->name_slot);

        if (e) {
                log_error("Cannot own %s: %s", VFIOD_BUS_NAME, e->message ? e->message : e->name);
                return sd_event_exit(m->event, -sd_bus_error_get_errno(e));
        }

        /* RequestName answers with a code, not an error, when someone else owns the name. */
        r = sd_bus_message_read(reply, "u", &result);
        if (r < 0) {
                log_error_errno(r, "Cannot read the answer to RequestName: %m");
                return sd_event_exit(m->event, r);
        }
        if (result != 1 /* PRIMARY_OWNER */ && result != 4 /* ALREADY_OWNER */) {
                log_error("%s is already owned by another process; not starting.", VFIOD_BUS_NAME);
                return sd_event_exit(m->event, -EEXIST);
        }

        /* Only the owner of the name touches the journal: a second instance started by mistake
         * must not roll back the first one's transactions. No request is dispatched before this
         * callback returns, so clients never see the state before recovery. */
        r = engine_recover(m->engine);
        if (r < 0) {
                log_error_errno(r, "Cannot recover the journal in %s: %m", m->runtime_dir);
                return sd_event_exit(m->event, r);
        }
        r = manager_readopt_leases(m);
        if (r < 0)
                return sd_event_exit(m->event, r);
        r = sd_event_source_set_enabled(m->uevent_source, SD_EVENT_ON);
        if (r < 0) {
                log_error_errno(r, "Cannot watch device events: %m");
                return sd_event_exit(m->event, r);
        }

        log_info("Serving %s.", VFIOD_BUS_NAME);
        (void)sd_notify(false, "READY=1\nSTATUS=Serving org.vfiod1.");
        return 0;
}

static int manager_add_signals(manager *m)
{
        sigset_t mask;
        int r;

        /* sd-event delivers these through a signalfd, which needs them blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        /* A NULL handler makes the loop exit: leases stay in the journal for the restart. */
        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r < 0)
                return r;
        return sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
}

int manager_start(manager *m, const char *bus_address)
{
        int r;

        r = manager_add_signals(m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch SIGTERM/SIGINT: %m");

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Cannot enable the watchdog: %m");

        r = sd_bus_error_add_map(vfiod_error_map);
        if (r < 0)
                return log_error_errno(r, "Cannot register the error names: %m");

        r = bus_connect(bus_address, &m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the %s bus: %m",
                                       bus_address ? bus_address : "system");

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        /* Without the bus nothing can be served or released: exit, and let systemd restart us
         * (the journal keeps every lease for the next start). */
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the bus connection: %m");

        r = manager_add_manager_object(m);
        if (r < 0)
                return r;
        r = manager_add_device_objects(m);
        if (r < 0)
                return r;

        /* Listen before recovering, so no device event in between is lost. */
        r = vk_uevent_source_new(m->root, &m->uevents);
        if (r < 0)
                return log_error_errno(r, "Cannot listen for device events: %m");
        r = sd_event_add_io(m->event, &m->uevent_source, vk_uevent_source_fd(m->uevents), EPOLLIN,
                            on_uevent, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch device events: %m");
        /* Held back until recovery: the socket queues what arrives meanwhile, and a device added
         * to an assigned group is only fenced once the engine knows its assignments. */
        r = sd_event_source_set_enabled(m->uevent_source, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Cannot hold device events back: %m");

        /* Recovery follows once the name is ours (on_name_acquired). */
        r = sd_bus_request_name_async(m->bus, &m->name_slot, VFIOD_BUS_NAME, 0, on_name_acquired,
                                      m);
        if (r < 0)
                return log_error_errno(r, "Cannot request %s: %m", VFIOD_BUS_NAME);

        return 0;
}

int manager_run(manager *m)
{
        int r;

        /* The loop's result is 0 after SIGTERM/SIGINT, or the error a handler exited with (and
         * logged), or sd-bus' EXIT_FAILURE. */
        r = sd_event_loop(m->event);
        (void)sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_debug_errno(r, "Exiting with an error: %m");
        if (r > 0) /* sd-bus ends the loop with EXIT_FAILURE when the bus goes away */
                return log_error_errno(-ECONNRESET, "Lost the bus connection; exiting.");
        return 0;
}
