/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The assignment engine: planning, the group transaction (ARCHITECTURE.md, ten steps), release,
 * the journal and crash recovery. It knows nothing about D-Bus: the bus layer (manager*.c) parses
 * requests, authorizes, tracks leases and turns engine results into named errors.
 *
 * Files: plan.c (read-only planning), transaction.c (the async state machine on sd-event),
 * window.c (the reference-counted autoprobe window), journal.c (on-disk records), recover.c
 * (startup: roll back unfinished, return committed).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "device.h"
#include "group.h"
#include "modules.h"
#include "root.h"

#define UID_INVALID ((uid_t)-1)

typedef enum lease_lifetime {
        LEASE_CLIENT,
        LEASE_PERSISTENT,
} lease_lifetime;

typedef enum console_policy {
        CONSOLE_REFUSE,
        CONSOLE_TAKEOVER,
} console_policy;

typedef struct assign_options {
        char *driver; /* NULL: the bus default (vfio-pci, vfio-platform, vfio-amba) */
        lease_lifetime lifetime;
        console_policy console;
        uid_t owner_uid;     /* UID_INVALID: leave the group node as it is */
        uint32_t timeout_ms; /* 0: the configured default */
} assign_options;

void assign_options_done(assign_options *o);

/* Who holds an assignment; written to the journal so a restart can re-adopt it. */
typedef struct lease_info {
        lease_lifetime lifetime;
        char *owner;            /* unique bus name (":1.42"), NULL for persistent leases of root */
        uid_t owner_uid_caller; /* uid of the caller that assigned */
        uid_t node_uid;         /* owner-uid the node was chowned to, or UID_INVALID */
        char *driver;
} lease_info;

void lease_info_done(lease_info *l);

/* Error classes, mapped 1:1 to org.vfiod1.Error.* by the bus layer. */
typedef enum engine_error {
        ENGINE_OK,
        ENGINE_NO_SUCH_DEVICE,
        ENGINE_NOT_ASSIGNABLE,
        ENGINE_BUSY,
        ENGINE_GROUP_NOT_VIABLE,
        ENGINE_TIMEOUT,
        ENGINE_CONSOLE_IN_USE,
        ENGINE_UNSUPPORTED,
        ENGINE_ROLLED_BACK,
        ENGINE_INVALID_ARGUMENT,
        ENGINE_NOT_ASSIGNED,
} engine_error;

/* A failure: which class, which step, which device, which errno, and a sentence for a person. */
typedef struct engine_failure {
        engine_error error;
        char step[32]; /* "plan", "load-driver", "journal", "close-window", "fence",
                          "unbind", "probe", "verify", "reopen-window", "open-group" */
        char device[VK_NAME_MAX + 1];
        int errnum; /* positive errno, 0 if none */
        char message[512];
} engine_failure;

typedef struct plan_step {
        char *action; /* "load", "fence", "unbind", "probe", "keep", "console", "open", "chown" */
        char *device;
        char *detail;
} plan_step;

typedef struct plan {
        vk_device_id target;
        vk_group *group; /* owned */
        char *driver;    /* the VFIO driver that will bind */
        plan_step *steps;
        size_t n_steps;
        char **warnings;            /* strv */
        char **blockers;            /* strv; non-empty means the assignment is refused */
        engine_error blocker_error; /* class of the first blocker */
        bool takes_console; /* binding removes a host console (needs console=takeover and the
                               org.vfiod1.assign-console action) */
        uint64_t iteration; /* the event loop iteration it was read in (sd_event_get_iteration) */
} plan;

/* Policy the engine needs from the configuration. */
typedef struct engine_config {
        char **deny_devices;    /* names ("0000:00:02.0", "platform:foo") */
        char **deny_ids;        /* "8086:1234" */
        char **allowed_drivers; /* VFIO drivers accepted as options.driver */
        uint32_t unbind_timeout_ms;
        console_policy default_console;
} engine_config;

typedef struct engine engine;

int engine_new(sd_event *event, vk_root *root, vk_modules *modules, const engine_config *config,
               const char *runtime_dir, engine **ret);
engine *engine_free(engine *e);

/* Read-only planning (step 1), used by PlanAssignment and as the first step of an assignment. */
int engine_plan(engine *e, const vk_device_id *id, const assign_options *o, plan **ret,
                engine_failure *ret_failure);
/* The same for a device the caller has just read (vk_device_load), which is not read again. */
int engine_plan_device(engine *e, const vk_device *d, const assign_options *o, plan **ret,
                       engine_failure *ret_failure);
plan *plan_free(plan *p);

/* Is any member of this group in a transaction or assigned? Returns the group id or -1. */
bool engine_group_busy(engine *e, int group);

typedef struct transaction transaction;

/* Called once on the event loop when the transaction ends. On success r = 0 and, for an
 * assignment, group_fd is a fresh fd the callee now owns (it must close it). On failure r < 0
 * and failure says why; every member is back where it started (or, for release, as far as the
 * kernel let us: failure->error == ENGINE_TIMEOUT when an unbind hung). */
typedef void (*transaction_done_t)(transaction *t, int r, int group_fd,
                                   const engine_failure *failure, void *userdata);

/* Steps 3-10 for the planned group (steps 1-2, plan and authorize, are the caller's). Takes
 * ownership of p, also on failure. lease is journaled with the assignment (node_uid is taken
 * from o->owner_uid, the uid the node is chowned to). p must be fresh: the bus layer plans
 * after authorization. The transaction plans again when it starts unless it starts in the loop
 * iteration right after p's (sd-event dispatches one source per iteration, so nothing of ours
 * ran in between: no uevent, no step of another transaction). -EPERM when p has
 * blockers, -EBUSY when the group is busy. done() is never called from inside this function;
 * *ret (optional) identifies the transaction and stays valid until done() returns; the engine
 * frees it afterwards (done may even free the engine). */
int engine_assign(engine *e, plan *p, const assign_options *o, const lease_info *lease,
                  transaction_done_t done, void *userdata, transaction **ret);

/* The reverse transaction for the group holding id: unbind VFIO, clear the override, rebind the
 * host driver each member came from, hand back the console; journaled like an assignment.
 * -ENOENT when no record holds id (not assigned, or a background retry already finished it),
 * -EBUSY while a transaction runs on the group. A release that fails keeps the record
 * ("releasing") so it can be retried; when a hung unbind finally returns, the engine finishes
 * such a record on its own. A host driver that refuses to bind again is logged, not a failure:
 * the device is off VFIO and back to its previous override. */
int engine_release(engine *e, const vk_device_id *id, uint32_t timeout_ms, transaction_done_t done,
                   void *userdata, transaction **ret);

/* When a hung unbind finally returns, the engine finishes on its own the way back of the group
 * it had left unfinished (a release or a rollback that reported Timeout). handler (optional)
 * then learns the outcome, on the event loop: r = 0 when the group is back on the host and the
 * engine holds nothing of it any more (a lease kept after the failed release can go), r < 0
 * with failure when it is still stuck. Additive: the bus layer's view of "releasing" groups. */
typedef void (*engine_resumed_t)(engine *e, int group, int r, const engine_failure *failure,
                                 void *userdata);
void engine_set_resumed_handler(engine *e, engine_resumed_t handler, void *userdata);

/* A committed assignment, as recorded. */
typedef struct engine_assignment {
        int group;
        char **members; /* "pci:0000:01:00.0", the members that moved */
        lease_info lease;
} engine_assignment;

/* The committed assignments now (after recovery); the bus layer re-adopts their leases. */
int engine_list_assignments(engine *e, engine_assignment **ret, size_t *ret_n);
void engine_assignments_free(engine_assignment *a, size_t n);
/* Which assignment (if any) holds this device: a committed one, or one whose release did not
 * finish (it still holds the group; a later engine_release() retries). The pointer is the
 * engine's and valid until the next transaction ends or engine_device_added() is called. */
const engine_assignment *engine_find_assignment(engine *e, const vk_device_id *id);

/* Startup: read the journal, roll back unfinished transactions (synchronously bounded by the
 * configured timeout per unbind), keep committed ones. Called once before serving. */
int engine_recover(engine *e);

/* True while an unbind of this device outlived its timeout and is still blocked in the kernel.
 * The kernel holds the device lock meanwhile, and reading driver_override takes it (6.1
 * pci-sysfs): do not load the device (vk_device_load) or write to it until this is false. */
bool engine_device_stalled(engine *e, const vk_device_id *id);
/* The same for a device just loaded: its load already told whether someone's unbind holds it
 * (vk_device.unbinding), so only vfiod's own unbinds are looked up. */
bool engine_loaded_device_stalled(engine *e, const vk_device *d);
/* Only vfiod's own unbinds, running or stalled. While one runs the driver link may still be
 * there, so a load would read driver_override and wait for the device lock: do not load. */
bool engine_device_waited(engine *e, const vk_device_id *id);

/* A device appeared (uevent add) in a group that is assigned or in a transaction: fence it with
 * the group's VFIO driver so it cannot bind a host driver. Returns 1 when fenced, 0 when the
 * device's group is not ours. */
int engine_device_added(engine *e, const vk_device_id *id);
