/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Authorization through polkit without ever blocking the loop. The first time a method handler
 * asks, polkit_check() sends CheckAuthorization asynchronously and returns 0; the handler returns
 * at once (no reply yet). When polkit answers, the original request is put back on the bus's
 * read queue, so the handler runs again from the top -- re-validating everything against the
 * state of that moment -- and this time polkit_check() returns the answer.
 *
 * Every handler that calls polkit_check() declares a polkit_guard first; when the handler returns
 * without a new question pending, the guard forgets the answers for its request.
 */

#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct polkit_registry polkit_registry;

int polkit_registry_new(polkit_registry **ret);
/* Drops every pending question (their requests get no reply: the daemon is going away). */
polkit_registry *polkit_registry_free(polkit_registry *reg);

/*
 * Is the sender of m (whose effective uid is uid) allowed action? details is NULL or a
 * NULL-terminated list of key, value pairs shown by polkit agents. Returns 1 when allowed (uid 0
 * always is), 0 when the question was sent and the handler must return 1 and wait to be re-run,
 * or a negative errno with error set: org.freedesktop.DBus.Error.AccessDenied when polkit says
 * no or cannot be asked.
 */
int polkit_check(polkit_registry *reg, sd_bus_message *m, uid_t uid, const char *action,
                 const char *const *details, sd_bus_error *error);

typedef struct polkit_guard {
        polkit_registry *reg;
        sd_bus_message *request;
} polkit_guard;

void polkit_guard_done(polkit_guard *g);
