/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>

#include "log.h"
#include "macros.h"
#include "polkit.h"

#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5ULL * 60 * 1000 * 1000)

/* What polkit said about one action for one request. */
typedef struct polkit_answer {
        char *action;
        bool authorized;
        bool challenge;      /* polkit would ask the user; the caller did not allow that */
        char *error_message; /* polkit could not be asked; NULL otherwise */
} polkit_answer;

typedef struct polkit_query {
        polkit_registry *reg;
        sd_bus_message *request;
        sd_bus_slot *slot; /* the CheckAuthorization call in flight, NULL once answered */
        char *pending_action;
        polkit_answer *answers;
        size_t n_answers;
        struct polkit_query *next;
} polkit_query;

struct polkit_registry {
        polkit_query *queries;
};

static polkit_query *polkit_query_free(polkit_query *q)
{
        if (!q)
                return NULL;

        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->pending_action);
        for (size_t i = 0; i < q->n_answers; i++) {
                free(q->answers[i].action);
                free(q->answers[i].error_message);
        }
        free(q->answers);
        free(q);
        return NULL;
}

static void polkit_query_unlink(polkit_query *q)
{
        for (polkit_query **p = &q->reg->queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        polkit_query_free(q);
}

int polkit_registry_new(polkit_registry **ret)
{
        polkit_registry *reg = calloc(1, sizeof(*reg));

        if (!reg)
                return -ENOMEM;
        *ret = reg;
        return 0;
}

polkit_registry *polkit_registry_free(polkit_registry *reg)
{
        if (!reg)
                return NULL;

        while (reg->queries) {
                polkit_query *q = reg->queries;
                reg->queries = q->next;
                polkit_query_free(q);
        }
        free(reg);
        return NULL;
}

static polkit_query *polkit_find(polkit_registry *reg, sd_bus_message *m)
{
        for (polkit_query *q = reg->queries; q; q = q->next)
                if (q->request == m)
                        return q;
        return NULL;
}

static const polkit_answer *polkit_query_answer(const polkit_query *q, const char *action)
{
        for (size_t i = 0; i < q->n_answers; i++)
                if (streq(q->answers[i].action, action))
                        return &q->answers[i];
        return NULL;
}

static int polkit_record(polkit_query *q, sd_bus_message *reply)
{
        polkit_answer a = {};
        const sd_bus_error *e;
        polkit_answer *n;
        int authorized = 0, challenge = 0, r = 0;

        e = sd_bus_message_get_error(reply);
        if (e) {
                a.error_message = strdup(e->message ? e->message : e->name);
                if (!a.error_message)
                        return -ENOMEM;
                log_warning("polkit could not check %s: %s: %s", q->pending_action, e->name,
                            a.error_message);
        } else {
                /* (bba{ss}): is_authorized, is_challenge, details we do not need. */
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        a.error_message = strdup("malformed reply from polkit");
                        if (!a.error_message)
                                return -ENOMEM;
                        log_warning_errno(r, "Malformed CheckAuthorization reply: %m");
                }
        }

        n = realloc(q->answers, sizeof(*n) * (q->n_answers + 1));
        if (!n) {
                free(a.error_message);
                return -ENOMEM;
        }
        q->answers = n;
        a.action = TAKE_PTR(q->pending_action);
        a.authorized = authorized;
        a.challenge = challenge;
        q->answers[q->n_answers++] = a;
        return 0;
}

static int polkit_answered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        polkit_query *q = userdata;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);

        r = polkit_record(q, reply);
        if (r < 0) {
                /* Without the answer the request can never be decided: fail it here rather than
                 * leave the caller waiting for its timeout. */
                (void)sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_NO_MEMORY,
                                                 "Out of memory while checking authorization");
                polkit_query_unlink(q);
                return 0;
        }

        /* Run the method handler again from the top; it finds the answer in the registry. */
        r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0) {
                log_error_errno(r, "Cannot re-dispatch a request after polkit answered: %m");
                (void)sd_bus_reply_method_errnof(q->request, r,
                                                 "Cannot resume the request after authorization");
                polkit_query_unlink(q);
        }
        return 0;
}

static int polkit_ask(polkit_query *q, sd_bus_message *m, const char *action,
                      const char *const *details)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(m);
        uint32_t flags;
        int r;

        r = sd_bus_message_new_method_call(
            bus, &call, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
            "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;

        /* The subject is the caller's bus connection: polkit resolves its pid, uid and session
         * itself, race-free. */
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(m), action);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(call, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(call, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;

        /* 1 = AllowUserInteraction, only when the caller said it can wait for a password. */
        flags = sd_bus_message_get_allow_interactive_authorization(m) > 0 ? 1 : 0;
        r = sd_bus_message_append(call, "us", flags, "");
        if (r < 0)
                return r;

        r = free_and_strdup(&q->pending_action, action);
        if (r < 0)
                return r;

        /* An interactive check waits for a person typing a password; the bus default (25 s) is
         * too short for that. */
        r = sd_bus_call_async(bus, &q->slot, call, polkit_answered, q,
                              flags ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0);
        if (r < 0) {
                free(q->pending_action);
                q->pending_action = NULL;
        }
        return r;
}

int polkit_check(polkit_registry *reg, sd_bus_message *m, uid_t uid, const char *action,
                 const char *const *details, sd_bus_error *error)
{
        const polkit_answer *a;
        polkit_query *q;
        int r;

        if (uid == 0)
                return 1;

        q = polkit_find(reg, m);
        if (q) {
                a = polkit_query_answer(q, action);
                if (a) {
                        if (a->authorized)
                                return 1;
                        if (a->error_message)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                         "Cannot check authorization for %s: %s",
                                                         action, a->error_message);
                        if (a->challenge)
                                return sd_bus_error_setf(
                                    error, SD_BUS_ERROR_ACCESS_DENIED,
                                    "%s needs interactive authentication; call again "
                                    "allowing interactive authorization",
                                    action);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized for %s", action);
                }
        } else {
                q = calloc(1, sizeof(*q));
                if (!q)
                        return -ENOMEM;
                q->reg = reg;
                q->request = sd_bus_message_ref(m);
                q->next = reg->queries;
                reg->queries = q;
        }

        if (q->slot)
                return 0; /* a question for this request is already on its way */

        r = polkit_ask(q, m, action, details);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask polkit about %s: %m", action);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Cannot check authorization for %s: %s", action,
                                         strerror(-r));
        }
        return 0;
}

void polkit_guard_done(polkit_guard *g)
{
        polkit_query *q;

        if (!g->reg || !g->request)
                return;

        /* A question still in flight keeps the query: the handler will run again. */
        q = polkit_find(g->reg, g->request);
        if (q && !q->slot)
                polkit_query_unlink(q);
}
