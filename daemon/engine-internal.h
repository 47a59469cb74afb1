/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the engine's files share: the engine object, the window, the stalled unbinds. */

#include <stdarg.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "driver-core.h"
#include "engine.h"
#include "journal.h"
#include "macros.h"

/* The hotplug window of one bus (window.c). */
typedef struct window {
        unsigned n_closed; /* transactions holding drivers_autoprobe off */
        bool saved;        /* drivers_autoprobe before the first of them turned it off */
} window;

/*
 * An unbind nobody waits for any more: one that outlived its transaction's timeout (the worker
 * may stay blocked in the kernel for as long as someone holds the device, holding the device
 * lock, so nothing else may touch the device until it returns), or the unbind of a device that
 * appeared in an assigned group and bound a host driver.
 */
typedef struct stalled_unbind {
        engine *engine;
        vk_device_id id;
        vk_dc_job *job;
        sd_event_source *source;
        bool probe_after; /* a fenced newcomer: probe once unbound so the VFIO driver binds */
        struct stalled_unbind *next;
} stalled_unbind;

struct engine {
        sd_event *event;
        vk_root *root;
        vk_modules *modules; /* NULL: never load modules (drivers must be registered) */
        engine_config config;
        char *journal_path; /* <runtime_dir>/journal, for messages */
        int journal_fd;
        window windows[_VK_BUS_MAX];

        record **records; /* every record in the journal, one per group */
        size_t n_records;
        transaction **transactions; /* in flight */
        size_t n_transactions;
        stalled_unbind *stalled;
        struct dc_wait *waits; /* our unbinds and probes in flight: their devices are locked */
        int *unreadable;       /* groups whose journal record could not be parsed */
        size_t n_unreadable;
        engine_resumed_t resumed;
        void *resumed_userdata;
        int *deferred; /* groups left half-way back while someone else's unbind holds a member */
        size_t n_deferred;
        sd_event_source *deferred_timer;
};

/* engine.c */
static inline void engine_freep(engine **e)
{
        engine_free(*e);
}
uint32_t engine_timeout_ms(const engine *e, uint32_t requested);
record *engine_find_record(engine *e, int group);
int engine_add_record(engine *e, record *r);   /* takes ownership on success */
void engine_drop_record(engine *e, record *r); /* removes from the list and frees */
/* Busy for anyone but self: a record, a transaction other than self, an unreadable record.
 * *ret_why (optional) is a static phrase for messages. */
bool engine_group_busy_other(engine *e, int group, const transaction *self, const char **ret_why);
/* Startup recovery could not finish group's way back because a member's unbind, started by
 * someone else (another tool, or the worker of a vfiod that was killed), is still blocked in the
 * kernel. No job of ours will report its end, so the engine looks again periodically and
 * finishes the way back once the kernel let go of every member. */
int engine_defer_group(engine *e, int group);
/* Hands a running unbind job over to the engine (reference taken). */
int engine_stall(engine *e, const vk_device_id *id, vk_dc_job *job, bool probe_after);

/* An unbind or a probe in a worker, waited for on the loop for at most timeout_ms. done() gets
 * the write's result, or -ETIMEDOUT once the worker (which may stay blocked in the kernel, holding
 * the device lock) was handed to the stalled list; the wait frees itself after done() returns. */
typedef void (*dc_done_t)(const vk_device_id *id, int r, void *userdata);
typedef struct dc_wait dc_wait;
int dc_wait_unbind(engine *e, const vk_device_id *id, const char *driver, uint32_t timeout_ms,
                   dc_done_t done, void *userdata, dc_wait **ret);
int dc_wait_probe(engine *e, const vk_device_id *id, uint32_t timeout_ms, dc_done_t done,
                  void *userdata, dc_wait **ret);
int dc_wait_bind(engine *e, const vk_device_id *id, const char *driver, uint32_t timeout_ms,
                 dc_done_t done, void *userdata, dc_wait **ret);
/* Stops waiting without calling done(); a worker still running goes to the stalled list. */
dc_wait *dc_wait_free(dc_wait *w);
int engine_link_transaction(engine *e, transaction *t);
void engine_unlink_transaction(engine *e, transaction *t);

/* window.c */
/* The autoprobe value a journal records: the saved value while closed, else the current one. */
int window_original(engine *e, vk_bus bus, bool *ret);
/* original: what window_original said for the journal, so autoprobe is read once per window. */
int window_close(engine *e, vk_bus bus, bool original);
/* Always releases this transaction's hold; returns the error of restoring autoprobe, if any. */
int window_open(engine *e, vk_bus bus);
/* Restores every closed window (engine_free: nothing may leave a bus without autoprobe). */
void window_reset_all(engine *e);
/* Probes the devices of bus that are not in before and have no driver: they appeared while the
 * window was closed and missed the probe the kernel would have given them. autoprobe is the
 * value from before the window (off: the kernel would not have probed them either). */
void window_probe_newcomers(engine *e, vk_bus bus, char **before, bool autoprobe);

/* plan.c */
static inline void plan_freep(plan **p)
{
        plan_free(*p);
}
int plan_build(engine *e, const vk_device_id *id, const assign_options *o, const transaction *self,
               plan **ret, engine_failure *ret_failure);
/* The journal record of an assignment as planned: every member that moves with its driver and
 * override now, and the consoles bound now when the assignment takes one. */
int plan_to_record(engine *e, const plan *p, const lease_info *lease, record **ret);

/* transaction.c */
int transaction_group(const transaction *t);
/* Unlinks it from the engine and frees it without calling its done callback. */
transaction *transaction_free(transaction *t);

/* recover.c: putting members back where the record says they were (shared by the rollback and
 * release transactions and by startup recovery). */
typedef enum restore_result {
        RESTORE_OK,      /* every member is where the record says */
        RESTORE_UNBOUND, /* nothing of ours is left, but a previous driver did not come back */
        RESTORE_PARTIAL, /* something of ours is left (VFIO driver, override, stalled unbind) */
} restore_result;
/* Does this member need its VFIO driver unbound before it can go back? */
bool restore_needs_unbind(engine *e, const record *r, const record_member *m);
/* Overrides and drivers back (members in reverse order, stalled ones skipped), then the console
 * and a verification of every member, all on the spot (startup recovery, before anything is
 * served). ret_incomplete: newly allocated sentence, or NULL. */
restore_result restore_members(engine *e, record *r, char **ret_incomplete);
/* The same in pieces, for the transactions, which run a driver's bind or probe in a worker. */
typedef enum restore_action {
        RESTORE_NOTHING,
        RESTORE_PROBE, /* a newcomer that never met its driver: drivers_probe */
        RESTORE_BIND,  /* bind to the member's previous driver (loaded by now); probe if it fails */
} restore_action;
/* Puts one member's override back and says what it needs next; *ret_error: errno of a failed
 * step, for the verification's message. */
restore_action restore_member_start(engine *e, const record *r, const record_member *m,
                                    int *ret_error);
/* The console, then a verification of every member against the record (errors: per member). */
restore_result restore_finish(engine *e, record *r, const int *errors, char **ret_incomplete);

/* Appends a formatted string; -ENOMEM leaves *l intact. */
int strv_extendf(char ***l, const char *format, ...) _printf_(2, 3);
int strv_extendv(char ***l, const char *format, va_list ap) _printf_(2, 0);
/* The strings joined by sep, newly allocated ("" for an empty list); NULL on ENOMEM. */
char *strv_join(char **l, const char *sep);

/* engine.c */
void failure_set(engine_failure *f, engine_error error, const char *step,
                 const vk_device_id *device, int errnum, const char *format, ...) _printf_(6, 7);
