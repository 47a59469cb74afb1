/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libvfiod — client library for vfiod, the VFIO device assignment service.
 *
 * Everything here is a thin, typed layer over the D-Bus API documented in
 * org.vfiod1.Manager.xml and org.vfiod1.Device.xml; the library knows nothing else.
 *
 * Conventions:
 *  - Functions returning int return 0 (or a positive count) on success and a negative errno on
 *    failure. Output parameters (ret_*) are written only on success.
 *  - When the daemon answers with an error, the D-Bus error name and message are kept in the
 *    client until its next call: vfiod_client_get_error_name()/_message(). The errno is derived
 *    from the name: vfiod-errors.h lists every org.vfiod1.Error name with its errno (for
 *    example NoSuchDevice -ENODEV, Busy -EBUSY); org.freedesktop.DBus.Error.AccessDenied gives
 *    -EACCES, and the usual D-Bus errors map as sd-bus maps them (e.g. ServiceUnknown, when
 *    vfiod is not running and cannot be activated: -EHOSTUNREACH).
 *  - Objects are reference counted; unref functions accept NULL and return NULL.
 *  - A client is not thread-safe; use one per thread. It must not be used in a child after
 *    fork() (calls fail with -ECHILD), though its file descriptors are all close-on-exec.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef _VFIOD_PUBLIC_
#define _VFIOD_PUBLIC_ __attribute__((visibility("default")))
#endif

/* ---- Errors ------------------------------------------------------------------------------ */

#include "vfiod-errors.h"

/* ---- The client ------------------------------------------------------------------------- */

typedef struct vfiod_client vfiod_client;

/*
 * Connects to the bus where vfiod lives: @bus_address (a D-Bus address such as
 * "unix:path=/run/dbus/system_bus_socket"), or, if NULL, the system bus
 * ($DBUS_SYSTEM_BUS_ADDRESS is honoured). Connecting does not start or contact the daemon.
 *
 * The connection carries every "client" lease taken through it: when the last reference to the
 * client is dropped, the connection closes and the daemon releases those devices.
 */
_VFIOD_PUBLIC_ int vfiod_client_new(const char *bus_address, vfiod_client **ret);
_VFIOD_PUBLIC_ vfiod_client *vfiod_client_ref(vfiod_client *client);
_VFIOD_PUBLIC_ vfiod_client *vfiod_client_unref(vfiod_client *client);

/*
 * Lets the daemon's polkit check ask the user for a password (through a polkit agent) instead
 * of refusing. Off by default: a library should not prompt unless its program can.
 */
_VFIOD_PUBLIC_ int vfiod_client_set_interactive(vfiod_client *client, bool interactive);

/*
 * How long assign and release calls may take, in microseconds (0 = the library default of two
 * minutes). Other calls use the D-Bus default of 25 s. The daemon bounds every step itself, so
 * this only matters when it cannot answer at all.
 */
_VFIOD_PUBLIC_ int vfiod_client_set_method_timeout(vfiod_client *client, uint64_t usec);

/*
 * The D-Bus error name and message of the client's last failed call, or NULL if the last call
 * succeeded or failed locally (for example -ENOMEM or a broken connection).
 */
_VFIOD_PUBLIC_ const char *vfiod_client_get_error_name(vfiod_client *client);
_VFIOD_PUBLIC_ const char *vfiod_client_get_error_message(vfiod_client *client);

/* The daemon's Version property; the caller frees *ret. */
_VFIOD_PUBLIC_ int vfiod_client_get_version(vfiod_client *client, char **ret);

/*
 * The daemon's Features property ("iommu", "cdev", "noiommu", "platform"): a NULL-terminated
 * vector the caller frees with vfiod_strv_free().
 */
_VFIOD_PUBLIC_ int vfiod_client_get_features(vfiod_client *client, char ***ret);
_VFIOD_PUBLIC_ char **vfiod_strv_free(char **strv);

/* ---- Devices ---------------------------------------------------------------------------- */

/* A snapshot of one device object's properties; it never changes after it was made. */
typedef struct vfiod_device vfiod_device;

#define VFIOD_UID_INVALID ((uint32_t)UINT32_MAX)

_VFIOD_PUBLIC_ vfiod_device *vfiod_device_ref(vfiod_device *device);
_VFIOD_PUBLIC_ vfiod_device *vfiod_device_unref(vfiod_device *device);

/* String accessors never return NULL; absent values are "". */
_VFIOD_PUBLIC_ const char *vfiod_device_get_path(const vfiod_device *device); /* D-Bus object */
_VFIOD_PUBLIC_ const char *vfiod_device_get_name(const vfiod_device *device); /* "0000:01:00.0" */
_VFIOD_PUBLIC_ const char *vfiod_device_get_bus(const vfiod_device *device);  /* "pci" */
_VFIOD_PUBLIC_ const char *vfiod_device_get_sysfs_path(const vfiod_device *device);
_VFIOD_PUBLIC_ const char *vfiod_device_get_description(const vfiod_device *device);
_VFIOD_PUBLIC_ const char *vfiod_device_get_driver(const vfiod_device *device);
_VFIOD_PUBLIC_ const char *vfiod_device_get_driver_override(const vfiod_device *device);
/* "host", "assigning", "assigned", "releasing" or "reserved". */
_VFIOD_PUBLIC_ const char *vfiod_device_get_state(const vfiod_device *device);
/* Unique bus name of the client holding the lease, or "". */
_VFIOD_PUBLIC_ const char *vfiod_device_get_owner(const vfiod_device *device);
_VFIOD_PUBLIC_ uint16_t vfiod_device_get_vendor_id(const vfiod_device *device);
_VFIOD_PUBLIC_ uint16_t vfiod_device_get_device_id(const vfiod_device *device);
_VFIOD_PUBLIC_ uint32_t vfiod_device_get_class(const vfiod_device *device);
/* -1 if the device has no IOMMU group. */
_VFIOD_PUBLIC_ int32_t vfiod_device_get_iommu_group(const vfiod_device *device);
/* VFIOD_UID_INVALID if the group node was not given to anyone. */
_VFIOD_PUBLIC_ uint32_t vfiod_device_get_owner_uid(const vfiod_device *device);
_VFIOD_PUBLIC_ bool vfiod_device_get_boot_vga(const vfiod_device *device);
_VFIOD_PUBLIC_ bool vfiod_device_get_assignable(const vfiod_device *device);
/* NULL-terminated, never NULL, owned by the device: object paths of the group's other devices. */
_VFIOD_PUBLIC_ const char *const *vfiod_device_get_group_peers(const vfiod_device *device);
/* NULL-terminated, never NULL, owned by the device: why it cannot be assigned now. */
_VFIOD_PUBLIC_ const char *const *vfiod_device_get_blockers(const vfiod_device *device);

/*
 * All devices the daemon offers, in the daemon's order, as a NULL-terminated array the caller
 * frees with vfiod_device_list_free(). Returns the number of devices.
 */
_VFIOD_PUBLIC_ int vfiod_client_list_devices(vfiod_client *client, vfiod_device ***ret);
_VFIOD_PUBLIC_ vfiod_device **vfiod_device_list_free(vfiod_device **list);

/*
 * One device, named as the daemon accepts it: "0000:01:00.0", "pci:0000:01:00.0", its sysfs
 * path, or its D-Bus object path. Fails with -ENODEV (and VFIOD_ERROR_NO_SUCH_DEVICE) if the
 * daemon offers no such device.
 */
_VFIOD_PUBLIC_ int vfiod_client_get_device(vfiod_client *client, const char *device,
                                           vfiod_device **ret);

/* ---- Assignment ------------------------------------------------------------------------- */

/*
 * Options for assign and plan. Initialize with VFIOD_ASSIGN_OPTIONS_INIT: @size lets later
 * versions append fields without breaking programs built against this one. NULL options mean
 * all defaults.
 */
/* What to do if the group drives the console or the boot display. */
typedef enum vfiod_console_policy {
        VFIOD_CONSOLE_DEFAULT = 0, /* the daemon's configured policy */
        VFIOD_CONSOLE_REFUSE,      /* fail with VFIOD_ERROR_CONSOLE_IN_USE */
        VFIOD_CONSOLE_TAKEOVER,    /* take it (polkit org.vfiod1.assign-console), give it back */
} vfiod_console_policy;

typedef struct vfiod_assign_options {
        size_t size;                  /* sizeof(vfiod_assign_options) */
        const char *driver;           /* VFIO driver; NULL: the daemon's default for the bus */
        bool persistent;              /* lifetime "persistent" instead of "client" */
        vfiod_console_policy console; /* console "refuse"/"takeover"; DEFAULT: not sent */
        uint32_t owner_uid;           /* chown the group node; VFIOD_UID_INVALID: don't */
        uint32_t timeout_ms;          /* unbind timeout; 0: the daemon's default */
} vfiod_assign_options;

#define VFIOD_ASSIGN_OPTIONS_INIT                                                                  \
        ((vfiod_assign_options){.size = sizeof(vfiod_assign_options),                              \
                                .owner_uid = VFIOD_UID_INVALID})

/* The dry run of an assignment: what would happen, and what stands in the way. */
typedef struct vfiod_plan vfiod_plan;

_VFIOD_PUBLIC_ int vfiod_client_plan(vfiod_client *client, const char *device,
                                     const vfiod_assign_options *options, vfiod_plan **ret);
_VFIOD_PUBLIC_ vfiod_plan *vfiod_plan_free(vfiod_plan *plan);
_VFIOD_PUBLIC_ size_t vfiod_plan_get_n_steps(const vfiod_plan *plan);
/*
 * Step @index: an action ("fence", "unbind", "probe", "keep", ...), the device it applies to
 * and a detail. Pointers stay valid until the plan is freed. -ERANGE past the last step.
 */
_VFIOD_PUBLIC_ int vfiod_plan_get_step(const vfiod_plan *plan, size_t index, const char **action,
                                       const char **device, const char **detail);
/* NULL-terminated, never NULL, owned by the plan. */
_VFIOD_PUBLIC_ const char *const *vfiod_plan_get_warnings(const vfiod_plan *plan);
_VFIOD_PUBLIC_ const char *const *vfiod_plan_get_blockers(const vfiod_plan *plan);

/*
 * Assigns the IOMMU group of @device to VFIO. On success *ret_group_fd is the group node
 * (/dev/vfio/N), opened read-write and close-on-exec, owned by the caller; *ret_device_path
 * (optional, may be NULL) the device's object path, freed by the caller.
 *
 * Unless options->persistent is set, the assignment lasts as long as this client's connection:
 * keep the client alive while the device is in use.
 */
_VFIOD_PUBLIC_ int vfiod_client_assign(vfiod_client *client, const char *device,
                                       const vfiod_assign_options *options, int *ret_group_fd,
                                       char **ret_device_path);

/* Ends the assignment of @device's group and returns every member to its host driver. */
_VFIOD_PUBLIC_ int vfiod_client_release(vfiod_client *client, const char *device);

/* ---- Monitoring ------------------------------------------------------------------------- */

typedef enum vfiod_event {
        VFIOD_EVENT_DEVICE_ADDED,   /* a device appeared (or the daemon came up) */
        VFIOD_EVENT_DEVICE_REMOVED, /* a device went away (or the daemon went away) */
        VFIOD_EVENT_DEVICE_CHANGED, /* some of its properties changed */
} vfiod_event;

/*
 * Called for every event with the device's snapshot after it (for REMOVED, the last one seen);
 * the snapshot is only borrowed, take a reference to keep it. A negative return stops
 * processing: vfiod_client_process() returns it.
 */
typedef int (*vfiod_monitor_fn)(vfiod_client *client, vfiod_event event, const vfiod_device *device,
                                void *userdata);

/*
 * Starts watching the daemon's devices. Takes the current set as the baseline (no events are
 * reported for it: use vfiod_client_list_devices() for that) and reports every change after
 * it, including the daemon leaving and coming back. Once per client; -EBUSY the second time.
 */
_VFIOD_PUBLIC_ int vfiod_client_monitor(vfiod_client *client, vfiod_monitor_fn callback,
                                        void *userdata);

/*
 * Event loop integration: poll vfiod_client_get_fd() for vfiod_client_get_events() (POLLIN /
 * POLLOUT bits), wake up at vfiod_client_get_timeout() (CLOCK_MONOTONIC, microseconds;
 * UINT64_MAX for none), and call vfiod_client_process() until it returns 0.
 * vfiod_client_process() returns >0 if it did something, 0 if idle, negative on failure
 * (-ECONNRESET once the connection to the bus is gone).
 * vfiod_client_wait() blocks until there is something to process or @timeout_usec passes
 * (UINT64_MAX: forever), for programs without a loop of their own.
 */
_VFIOD_PUBLIC_ int vfiod_client_get_fd(vfiod_client *client);
_VFIOD_PUBLIC_ int vfiod_client_get_events(vfiod_client *client);
_VFIOD_PUBLIC_ int vfiod_client_get_timeout(vfiod_client *client, uint64_t *ret_usec);
_VFIOD_PUBLIC_ int vfiod_client_process(vfiod_client *client);
_VFIOD_PUBLIC_ int vfiod_client_wait(vfiod_client *client, uint64_t timeout_usec);

#ifdef __cplusplus
}
#endif
