/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who holds which IOMMU group. A lease is created when an assignment starts and lives until its
 * release succeeds. A "client" lease follows its owner's bus connection (sd_bus_track on the
 * unique name): when the owner disconnects, the group is released. A "persistent" lease lives
 * until ReleaseDevice. The engine journals the lease_info, so both kinds are re-adopted after a
 * daemon restart.
 */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "engine.h"
#include "manager.h"

typedef enum lease_state {
        LEASE_ASSIGNING,      /* the assignment transaction runs */
        LEASE_ASSIGNED,       /* committed, held by its owner */
        LEASE_RELEASING,      /* the release transaction runs */
        LEASE_RELEASE_FAILED, /* a release did not finish (e.g. an unbind hung); may be retried */
} lease_state;

struct lease {
        manager *manager;
        int group;
        char **members;      /* bus-qualified names of the devices that moved: "pci:0000:01:00.0" */
        vk_device_id target; /* the member the group is addressed by in engine_release() */
        lease_info info;
        lease_state state;
        transaction *transaction; /* while ASSIGNING or RELEASING */
        bool owner_gone;          /* a client lease whose owner has left the bus */
        sd_bus_track *track;      /* client leases: the owner's unique name */
        /* The call to answer when the running transaction ends (NULL for releases the daemon
         * starts itself), and for an assignment the device it named and whether the reply
         * carries the object path (Manager.AssignDevice) or not (Device.Assign). */
        sd_bus_message *request;
        vk_device_id request_device;
        bool reply_path;
        lease *next;
};

int lease_new(manager *m, int group, char *const *members, const lease_info *info,
              lease_state state, lease **ret);
/* Unlinks and frees the lease; the transaction (if any) is the engine's and keeps running. */
lease *lease_free(lease *l);
/* Frees a lease whose group is no longer held and announces its members' new state. */
void lease_drop(lease *l);

lease *manager_find_lease_by_group(manager *m, int group);
/* The lease whose moved members include id. */
lease *manager_find_lease_by_device(manager *m, const vk_device_id *id);

/* "assigning", "assigned", "releasing" (a failed release stays "releasing"). */
const char *lease_state_to_string(lease_state s);

/* Starts tracking info.owner; when it leaves the bus, the lease is released. -ENXIO (or
 * -ESRCH) when the name has already gone. */
int lease_track_owner(lease *l);

/* Starts the release transaction. request (optional) is the ReleaseDevice call to answer when
 * it ends. */
int lease_release(lease *l, sd_bus_message *request, sd_bus_error *error);

/* Why the group cannot start a new transaction now (held by a lease, or in a transaction of the
 * engine): returns 1 and a sentence in *ret_reason, 0 when it is free, or -ENOMEM. */
int lease_busy_reason(manager *m, int group, char **ret_reason);

/* Announces the lease's state (State, Owner, OwnerUid, Assignable, Blockers) on its members. */
void lease_emit_changed(lease *l);

/* A release that timed out is finished by the engine once the kernel lets go of the device;
 * this subscribes to that (engine_set_resumed_handler), so the lease left in "releasing" goes. */
void manager_follow_engine(manager *m);

/* After engine_recover(): turns every committed assignment back into a lease. Client leases
 * re-track their recorded owner and are released if it is gone. */
int manager_readopt_leases(manager *m);
