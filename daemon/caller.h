/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who is calling: the uid behind a request's sender, without blocking the loop.
 *
 * dbus-daemon attaches no credentials to messages, so sd-bus would ask the bus with a synchronous
 * call on every request. Instead the first request of a connection sends GetConnectionUnixUser
 * asynchronously and returns 0; the handler returns at once and the request is put back on the
 * read queue when the bus answers (the pattern polkit.h uses). The answer is kept per unique
 * name: the bus never gives a unique name to a second connection, and a connection's uid is the
 * one it connected with, so a kept answer is exactly what asking again would return.
 */

#include <sys/types.h>
#include <systemd/sd-bus.h>

/* Unique names remembered; the oldest is forgotten first (it is only asked about again). */
#define CALLER_CACHE_MAX 256

typedef struct caller_registry caller_registry;

int caller_registry_new(caller_registry **ret);
/* Requests still waiting for the bus get no reply: the daemon is going away. */
caller_registry *caller_registry_free(caller_registry *reg);

/*
 * The uid of m's sender. Returns 1 with *ret set; 0 when the bus was asked and the handler must
 * return 1 and wait to be run again; a negative errno when the sender cannot be identified. A
 * lookup that fails answers the waiting requests itself with an error naming the cause.
 */
int caller_uid(caller_registry *reg, sd_bus_message *m, uid_t *ret);

/* Number of unique names whose uid is kept (tests). */
size_t caller_cached(const caller_registry *reg);
