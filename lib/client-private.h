/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals shared by the files of libvfiod. Nothing here is exported. */

#include <systemd/sd-bus.h>

#include "vfiod.h"

#define VFIOD_BUS_NAME      "org.vfiod1"
#define VFIOD_MANAGER_PATH  "/org/vfiod1"
#define VFIOD_DEVICE_PREFIX "/org/vfiod1/device"
#define VFIOD_MANAGER_IFACE "org.vfiod1.Manager"
#define VFIOD_DEVICE_IFACE  "org.vfiod1.Device"
#define DBUS_PROPERTIES     "org.freedesktop.DBus.Properties"
#define DBUS_OBJECT_MANAGER "org.freedesktop.DBus.ObjectManager"

struct vfiod_device {
        unsigned n_ref;
        char *path;
        char *name;
        char *bus;
        char *sysfs_path;
        char *description;
        char *driver;
        char *driver_override;
        char *state;
        char *owner;
        uint16_t vendor_id;
        uint16_t device_id;
        uint32_t class;
        int32_t iommu_group;
        uint32_t owner_uid;
        bool boot_vga;
        bool assignable;
        char **group_peers;
        char **blockers;
};

struct vfiod_client {
        unsigned n_ref;
        sd_bus *bus;
        uint64_t method_timeout_usec;
        char *error_name;
        char *error_message;

        /* Monitoring: the last snapshot of every device, kept current from the signals. */
        vfiod_monitor_fn monitor_cb;
        void *monitor_userdata;
        sd_bus_slot *monitor_slots[4];
        vfiod_device **known;
        size_t n_known;
        int monitor_error; /* first error a callback returned, handed out by process() */
};

/* Error state: every public call starts with client_reset_error(). */
void client_reset_error(vfiod_client *c);
int client_set_error(vfiod_client *c, const sd_bus_error *error, int r);
int client_set_error_literal(vfiod_client *c, const char *name, const char *message, int r);

/* A method call on org.vfiod1 with the client's error handling; @usec 0 = D-Bus default. */
int client_call(vfiod_client *c, sd_bus_message *m, uint64_t usec, sd_bus_message **ret_reply);
int client_new_manager_call(vfiod_client *c, const char *member, sd_bus_message **ret);

/* Devices (device.c). */
vfiod_device *device_new(const char *path);
int device_copy(const vfiod_device *d, vfiod_device **ret);
/* Reads an a{sv} of org.vfiod1.Device properties into @d; unknown names are skipped. */
int device_read_properties(vfiod_device *d, sd_bus_message *m);
int device_fetch(vfiod_client *c, const char *path, vfiod_device **ret);
/* Reads the reply of GetManagedObjects into a NULL-terminated list of devices. */
int devices_read_managed_objects(sd_bus_message *reply, vfiod_device ***ret, size_t *ret_n);
int devices_get_managed(vfiod_client *c, vfiod_device ***ret, size_t *ret_n);

/* An array of strings, as an empty vector rather than NULL when the array is empty. */
int bus_message_read_strv_nonnull(sd_bus_message *m, char ***ret);

/* A Manager call taking (s device, a{sv} options): AssignDevice, PlanAssignment (assign.c). */
int client_new_assignment_call(vfiod_client *c, const char *member, const char *device,
                               const vfiod_assign_options *o, sd_bus_message **ret);

/* Monitor (monitor.c): drops the slots and the cache. */
void monitor_done(vfiod_client *c);

static inline void vfiod_device_unrefp(vfiod_device **d)
{
        vfiod_device_unref(*d);
}

static inline void vfiod_device_list_freep(vfiod_device ***l)
{
        vfiod_device_list_free(*l);
}
