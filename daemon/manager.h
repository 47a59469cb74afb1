/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon: one sd-event loop carrying the bus connection, the kernel's device events, signals
 * and the engine's transactions. The manager owns everything and is the userdata of every
 * D-Bus object (device objects are not kept in memory: they are looked up in the kernel on each
 * call).
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-hwdb.h>

#include "caller.h"
#include "engine.h"
#include "modules.h"
#include "polkit.h"
#include "root.h"
#include "uevent.h"

#define VFIOD_BUS_NAME      "org.vfiod1"
#define VFIOD_MANAGER_PATH  "/org/vfiod1"
#define VFIOD_DEVICE_PREFIX "/org/vfiod1/device"
#define VFIOD_MANAGER_IFACE "org.vfiod1.Manager"
#define VFIOD_DEVICE_IFACE  "org.vfiod1.Device"

typedef struct lease lease;

typedef struct manager_options {
        const char *root;        /* kernel root prefix; NULL = "/" */
        const char *runtime_dir; /* NULL = $RUNTIME_DIRECTORY or /run/vfiod */
        const char *config_path; /* NULL = /etc/vfiod/vfiod.conf */
} manager_options;

/* One device's kernel facts (and, when asked for, its plan), cached only while one property
 * request or one change signal is being built, so a GetAll reads sysfs once, not per property. */
typedef struct device_view {
        char *path;
        sd_bus_message *message; /* the Properties/ObjectManager call it was read for */
        uint64_t generation;     /* or the change signal it was read for */
        vk_device *device;
        bool have_plan;
        char **blockers;
} device_view;

/* Devices and groups whose change is still to be announced (announce.c). */
typedef struct announce_entry {
        vk_device_id id;
        bool all; /* every property, not only the group-wide ones */
} announce_entry;

/* The driver a device's last full announcement showed. */
typedef struct announce_shown {
        vk_device_id id;
        char *driver; /* NULL: unbound */
} announce_shown;

/* A group's members as one flush listed them. */
typedef struct announce_listing {
        int group;
        vk_device_id *ids;
        size_t n;
} announce_listing;

typedef struct announce_queue {
        sd_event_source *source;
        /* While a flush runs, every signal of it shares one listing per group. */
        bool flushing;
        announce_listing *listings;
        size_t n_listings;
        announce_entry *devices;
        size_t n_devices, allocated_devices;
        int *groups;
        size_t n_groups, allocated_groups;
        announce_shown *shown;
        size_t n_shown, allocated_shown;
} announce_queue;

typedef struct manager {
        sd_event *event;
        sd_bus *bus;
        vk_root *root;
        vk_modules *modules;
        engine *engine;
        engine_config config;
        char *runtime_dir;
        polkit_registry *polkit;
        caller_registry *callers;
        sd_hwdb *hwdb; /* NULL when the system has no hwdb.bin: Description is then "" */

        lease *leases;

        vk_uevent_source *uevents;
        sd_event_source *uevent_source;

        sd_bus_slot *manager_slot;
        sd_bus_slot *object_manager_slot;
        sd_bus_slot *device_slot;
        sd_bus_slot *enumerator_slot;
        sd_bus_slot *name_slot;

        /* While InterfacesRemoved is built for a vanished device, its path still "exists". */
        const char *removing_path;

        device_view view;
        bool emitting;
        bool emitting_changes; /* a PropertiesChanged: only what changes is read */
        uint64_t emit_generation;

        announce_queue announce;
} manager;

int manager_new(const manager_options *o, manager **ret);
manager *manager_free(manager *m);
static inline void manager_freep(manager **m)
{
        manager_free(*m);
}

/* Connects to the bus (bus_address, or the system bus for NULL), registers the objects and
 * requests the bus name; once the name is ours, recovers the journal, re-adopts the leases and
 * sends READY=1. */
int manager_start(manager *m, const char *bus_address);
/* Runs the loop until SIGTERM/SIGINT or a fatal error; returns 0 or the exit error. */
int manager_run(manager *m);

/* manager-dbus.c */
int manager_add_manager_object(manager *m);
/* The request flows shared by Manager.AssignDevice/ReleaseDevice and Device.Assign/Release. m is
 * positioned at the options (assign); reply_path adds the object path to the reply ("ho"). */
int manager_handle_assign(manager *mgr, sd_bus_message *m, const vk_device_id *id, bool reply_path,
                          sd_bus_error *error);
int manager_handle_release(manager *mgr, sd_bus_message *m, const vk_device_id *id,
                           sd_bus_error *error);
/* Resolves a caller-supplied name, setting InvalidArgument or NoSuchDevice on failure. */
int manager_resolve_name(manager *mgr, const char *name, vk_device_id *ret, sd_bus_error *error);

/* device-dbus.c */
int manager_add_device_objects(manager *m);
int device_object_path(const vk_device_id *id, char **ret);
/* Lists the object paths of every device on the supported buses. */
int manager_list_device_paths(manager *m, char ***ret);
/* PropertiesChanged now, for every changing property of a device; all = false limits it to the
 * properties a change elsewhere in its group affects (Assignable, Blockers, GroupPeers). */
void device_emit_properties(manager *m, const vk_device_id *id, bool all);
void device_emit_added(manager *m, const vk_device_id *id);
void device_emit_removed(manager *m, const vk_device_id *id);
void device_view_clear(device_view *v);

/* announce.c: changes are noted, merged, and announced once the loop has nothing more urgent. */
/* Notes that a device changed (all) or that its group did (!all). */
void device_emit_changed(manager *m, const vk_device_id *id, bool all);
/* Notes that every member of an IOMMU group changed group-wide (listed when announced). */
void device_emit_group_changed(manager *m, int group);
/* Drops a vanished device's pending announcement and what was shown of it. */
void announce_forget_device(manager *m, const vk_device_id *id);
/* Remembers the driver a full announcement of id showed (NULL: unbound); after a failed one,
 * forgets it (known = false). */
void announce_note_shown(manager *m, const vk_device_id *id, bool known, const char *driver);
/* Whether the last full announcement of id showed driver (NULL: unbound). */
bool announce_shows_driver(manager *m, const vk_device_id *id, const char *driver);
/* Sends everything noted so far. */
void announce_flush(manager *m);
/* During a flush: a copy of the members this flush listed for group (1), or 0 when it has not
 * listed them (or no flush runs); -ENOMEM. announce_keep_listing remembers a listing (a copy;
 * outside a flush, nothing). */
int announce_listed_members(manager *m, int group, vk_device_id **ret, size_t *ret_n);
void announce_keep_listing(manager *m, int group, const vk_device_id *ids, size_t n);
void announce_done(manager *m);

/* Readers that never take the kernel's device lock (see device-dbus.c), safe while an unbind is
 * stuck. device_load() is vk_device_load() unless vfiod itself waits for the device. */
int device_load(manager *m, const vk_device_id *id, vk_device **ret);
/* The device's IOMMU group, -1 without one, or -errno. */
int device_read_group(manager *m, const vk_device_id *id);
/* The members of an IOMMU group, from the group's directory and the members' subsystem links. */
int group_member_ids(manager *m, int group, vk_device_id **ret, size_t *ret_n);
/* 1 and a sentence when a member of the group is stuck in an unbind, else 0 (or -ENOMEM). */
int group_stall_reason(manager *m, int group, char **ret_reason);
