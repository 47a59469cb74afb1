/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The group transaction (ARCHITECTURE.md steps 3-10), its rollback, and the release, as one state
 * machine on the event loop. Every phase but the unbinds, the VFIO driver's probes and the host
 * drivers' rebinds is a short sysfs write; those run a driver's code, in a worker (vk_dc_job), and
 * are waited for with an io source and a timer, so the loop keeps serving (and other groups move)
 * while the kernel takes its time.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-core.h"
#include "engine-internal.h"
#include "group.h"
#include "log.h"
#include "modules.h"
#include "vfio.h"

#define NODE_POLL_USEC (10 * 1000ULL)

typedef enum tx_phase {
        /* assignment */
        PHASE_PREPARE,
        PHASE_LOAD,
        PHASE_JOURNAL,
        PHASE_CLOSE_WINDOW,
        PHASE_FENCE,
        PHASE_UNBIND,
        PHASE_PROBE,
        PHASE_REOPEN_WINDOW,
        PHASE_WAIT_NODE,
        PHASE_OPEN,
        PHASE_COMMIT,
        /* release */
        PHASE_RELEASE_JOURNAL,
        /* the way back, shared by rollback and release */
        PHASE_BACK_UNBIND,
        PHASE_BACK_RESTORE,
        PHASE_FINISH,
} tx_phase;

struct transaction {
        engine *engine;
        bool linked; /* in engine->transactions */
        bool release;
        int group;
        vk_bus bus;
        vk_device_id target;
        uint32_t timeout_ms;
        transaction_done_t done;
        void *userdata;

        /* assignment only */
        plan *plan;
        assign_options options;
        lease_info lease;

        record *rec; /* owned here until listed in the engine */
        bool rec_listed;
        tx_phase phase;
        size_t cursor;
        bool window_closed;
        char **bus_before;      /* devices on the bus when the window closed */
        uint64_t node_deadline; /* CLOCK_MONOTONIC usec */
        int group_fd;

        /* the way back: what the job in flight restores, and each member's failed step */
        restore_action restore_pending;
        int *restore_errors;

        /* the unbind, probe or bind in flight, and how it ended */
        dc_wait *wait;
        vk_device_id job_device;
        bool job_finished;
        int job_result;

        sd_event_source *defer_source, *timer_source;

        bool touched;   /* the journal record exists: from here on, failures roll back */
        bool ours_left; /* the way back left something of ours on a device: keep the record */
        bool failed;
        engine_failure failure;
        char **incomplete; /* what the way back could not restore */
};

int transaction_group(const transaction *t)
{
        return t ? t->group : -1;
}

transaction *transaction_free(transaction *t)
{
        if (!t)
                return NULL;
        if (t->linked)
                engine_unlink_transaction(t->engine, t);
        t->linked = false;
        t->wait = dc_wait_free(t->wait);
        t->timer_source = sd_event_source_disable_unref(t->timer_source);
        t->defer_source = sd_event_source_disable_unref(t->defer_source);
        if (t->window_closed)
                (void)window_open(t->engine, t->bus);
        if (!t->rec_listed)
                record_free(t->rec);
        plan_free(t->plan);
        assign_options_done(&t->options);
        lease_info_done(&t->lease);
        strv_free(t->bus_before);
        safe_close(t->group_fd);
        strv_free(t->incomplete);
        free(t->restore_errors);
        free(t);
        return NULL;
}

static void tx_run(transaction *t);

/* ---- failures ---- */

/* Records the first failure and turns towards the way back. Returns 1 (continue the loop). */
_printf_(6, 7) static int tx_fail(transaction *t, engine_error error, const char *step,
                                  const vk_device_id *device, int errnum, const char *format, ...)
{
        va_list ap;

        if (!t->failed) {
                t->failed = true;
                t->failure = (engine_failure){.error = error, .errnum = errnum};
                snprintf(t->failure.step, sizeof(t->failure.step), "%s", step);
                if (device)
                        snprintf(t->failure.device, sizeof(t->failure.device), "%s", device->name);
                va_start(ap, format);
                vsnprintf(t->failure.message, sizeof(t->failure.message), format, ap);
                va_end(ap);
                log_warning("group %d: %s", t->group, t->failure.message);
        }
        t->group_fd = safe_close(t->group_fd);
        t->cursor = t->rec ? t->rec->n_members : 0;
        if (t->rec && !t->release)
                t->rec->returning = true;
        /* Nothing was written before the journal record existed, so there is nothing to undo;
         * a release that failed stops where it is (its record keeps the way back). */
        t->phase = t->touched && !t->release ? PHASE_BACK_UNBIND : PHASE_FINISH;
        return 1;
}

_printf_(2, 3) static void tx_incomplete(transaction *t, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = strv_extendv(&t->incomplete, format, ap);
        va_end(ap);
        if (r >= 0)
                log_warning("group %d: %s", t->group,
                            t->incomplete[strv_length(t->incomplete) - 1]);
}

/* ---- unbinds and probes in a worker, with a timeout ---- */

static void on_job_done(const vk_device_id *id, int r, void *userdata)
{
        transaction *t = userdata;

        t->wait = NULL;
        t->job_finished = true;
        t->job_result = r;
        tx_run(t);
}

static int job_start(transaction *t, const vk_device_id *id, const char *driver)
{
        t->job_device = *id;
        t->job_finished = false;
        return dc_wait_unbind(t->engine, id, driver, t->timeout_ms, on_job_done, t, &t->wait);
}

/* ---- assignment ---- */

/* Did anything run on the loop since p was read? The iteration that dispatched the request
 * planned it and queued this transaction's defer source; one iteration later nothing else can
 * have been dispatched in between (sd-event dispatches one source per iteration). */
static bool plan_current(const engine *e, const plan *p)
{
        uint64_t now;

        return sd_event_get_iteration(e->event, &now) >= 0 && p->iteration + 1 == now;
}

static int phase_prepare(transaction *t)
{
        engine *e = t->engine;
        _cleanup_(plan_freep) plan *fresh = NULL;
        engine_failure f;
        int r;

        /* The bus layer plans right before it starts us, after authorization; whatever the loop
         * handled since (a uevent, a step of another transaction) means reading it all again. */
        if (plan_current(e, t->plan))
                fresh = TAKE_PTR(t->plan);
        else {
                r = plan_build(e, &t->target, &t->options, t, &fresh, &f);
                if (r < 0) {
                        t->failed = true;
                        t->failure = f;
                        t->phase = PHASE_FINISH;
                        return 1;
                }
        }
        if (fresh->blockers && fresh->blockers[0])
                return tx_fail(t, fresh->blocker_error, "plan", &t->target, 0, "%s",
                               fresh->blockers[0]);
        if (fresh->group->id != t->group)
                return tx_fail(t, ENGINE_BUSY, "plan", &t->target, 0,
                               "%s moved from group %d to group %d; try again", t->target.name,
                               t->group, fresh->group->id);
        if (t->plan && fresh->takes_console && !t->plan->takes_console)
                return tx_fail(t, ENGINE_CONSOLE_IN_USE, "plan", &t->target, 0,
                               "assigning %s would now remove the host console, which the "
                               "authorization did not cover; ask again",
                               t->target.name);

        r = plan_to_record(e, fresh, &t->lease, &t->rec);
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "plan", &t->target, -r,
                               "preparing the assignment of %s failed: %s", t->target.name,
                               strerror(-r));

        plan_free(t->plan);
        t->plan = TAKE_PTR(fresh);
        t->phase = PHASE_LOAD;
        return 1;
}

static int phase_load(transaction *t)
{
        engine *e = t->engine;
        const char *driver = record_driver(t->rec);
        bool registered = vk_dc_driver_registered(e->root, t->bus, driver);
        int r = 0;

        /* A registered driver needs no module: asking libkmod anyway opened its indexes on
         * every assignment. */
        if (!registered && e->modules) {
                r = vk_modules_load(e->modules, driver);
                registered = vk_dc_driver_registered(e->root, t->bus, driver);
        }
        if (!registered)
                return tx_fail(t, ENGINE_UNSUPPORTED, "load-driver", &t->target,
                               r < 0 ? -r : ENOENT, "the VFIO driver %s is not available: %s",
                               driver, strerror(r < 0 ? -r : ENOENT));
        t->phase = PHASE_JOURNAL;
        return 1;
}

static int phase_journal(transaction *t)
{
        engine *e = t->engine;
        int r;

        r = window_original(e, t->bus, &t->rec->autoprobe);
        if (r >= 0) {
                t->rec->state = RECORD_ASSIGNING;
                r = journal_save(e->journal_fd, t->rec);
        }
        if (r >= 0) {
                r = engine_add_record(e, t->rec);
                if (r < 0)
                        (void)journal_remove(e->journal_fd, t->group);
        }
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "journal", &t->target, -r,
                               "journaling the assignment of group %d to %s failed: %s", t->group,
                               e->journal_path, strerror(-r));
        t->rec_listed = true;
        t->touched = true;
        t->phase = PHASE_CLOSE_WINDOW;
        return 1;
}

static int phase_close_window(transaction *t)
{
        int r;

        r = vk_bus_list_devices(t->engine->root, t->bus, &t->bus_before);
        if (r >= 0)
                r = window_close(t->engine, t->bus, t->rec->autoprobe);
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "close-window", &t->target, -r,
                               "turning %s drivers_autoprobe off failed: %s",
                               vk_bus_to_string(t->bus), strerror(-r));
        t->window_closed = true;
        t->phase = PHASE_FENCE;
        return 1;
}

static int phase_fence(transaction *t)
{
        const char *driver = record_driver(t->rec);

        /* Every member is fenced before any is unbound: from here on, whatever probes a member
         * can only bind the VFIO driver. */
        for (size_t i = 0; i < t->rec->n_members; i++) {
                const vk_device_id *id = &t->rec->members[i].id;
                int r;

                if (t->rec->members[i].added)
                        continue;
                r = vk_dc_set_override(t->engine->root, id, driver);
                if (r < 0)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "fence", id, -r,
                                       "writing driver_override=%s for %s failed: %s", driver,
                                       id->name, strerror(-r));
        }
        t->phase = PHASE_UNBIND;
        t->cursor = 0;
        return 1;
}

static int phase_unbind(transaction *t)
{
        const char *driver = record_driver(t->rec);

        if (t->job_finished) {
                const vk_device_id *id = &t->job_device;
                t->job_finished = false;
                if (t->job_result == -ETIMEDOUT)
                        return tx_fail(t, ENGINE_TIMEOUT, "unbind", id, ETIMEDOUT,
                                       "unbind of %s did not finish within %u ms", id->name,
                                       t->timeout_ms);
                /* -ENODEV: it left that driver on its own meanwhile, which is all we wanted. */
                if (t->job_result < 0 && t->job_result != -ENODEV)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "unbind", id, -t->job_result,
                                       "unbind of %s failed: %s", id->name,
                                       strerror(-t->job_result));
                t->cursor++;
        }

        for (; t->cursor < t->rec->n_members; t->cursor++) {
                const record_member *m = &t->rec->members[t->cursor];
                _cleanup_(freep) char *current = NULL;
                int r;

                if (m->added)
                        continue;
                r = vk_device_read_driver(t->engine->root, &m->id, &current);
                if (r < 0)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "unbind", &m->id, -r,
                                       "reading the driver of %s failed: %s", m->id.name,
                                       strerror(-r));
                if (!current || streq(current, driver))
                        continue;
                r = job_start(t, &m->id, current);
                if (r < 0)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "unbind", &m->id, -r,
                                       "unbind of %s from %s failed: %s", m->id.name, current,
                                       strerror(-r));
                return 0;
        }
        t->phase = PHASE_PROBE;
        t->cursor = 0;
        return 1;
}

/* The VFIO driver bound? drivers_probe says success even when the probe failed (KERNEL.md), so
 * only the driver link tells; an explicit bind then reports the probe's errno. probe_r is the
 * result of the drivers_probe write the worker made. Returns 0 when bound. */
static int probe_verify(transaction *t, const record_member *m, int probe_r)
{
        engine *e = t->engine;
        const char *driver = record_driver(t->rec);
        _cleanup_(freep) char *current = NULL;
        int bind_r;

        if (probe_r == -ETIMEDOUT)
                return tx_fail(t, ENGINE_TIMEOUT, "probe", &m->id, ETIMEDOUT,
                               "probe of %s with %s did not finish within %u ms", m->id.name,
                               driver, t->timeout_ms);
        if (probe_r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "probe", &m->id, -probe_r,
                               "probe of %s with %s failed: %s", m->id.name, driver,
                               strerror(-probe_r));
        if (vk_device_read_driver(e->root, &m->id, &current) >= 0 && streq_ptr(current, driver))
                return 0;

        bind_r = vk_dc_bind(e->root, &m->id, driver);
        free(current);
        current = NULL;
        if (vk_device_read_driver(e->root, &m->id, &current) >= 0 && streq_ptr(current, driver))
                return 0;
        if (bind_r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "probe", &m->id, -bind_r,
                               "probe of %s with %s failed: %s", m->id.name, driver,
                               strerror(-bind_r));
        return tx_fail(t, ENGINE_ROLLED_BACK, "probe", &m->id, 0,
                       "probe of %s with %s failed: driver did not bind", m->id.name, driver);
}

/* Each member is probed in a worker: the driver's probe runs in the kernel for as long as it
 * takes, and meanwhile the loop serves others (and other groups' transactions probe too). */
static int phase_probe(transaction *t)
{
        engine *e = t->engine;
        const char *driver = record_driver(t->rec);

        if (t->job_finished) {
                t->job_finished = false;
                if (probe_verify(t, &t->rec->members[t->cursor], t->job_result) != 0)
                        return 1; /* failed: tx_fail() chose the next phase */
                t->cursor++;
        }

        for (; t->cursor < t->rec->n_members; t->cursor++) {
                const record_member *m = &t->rec->members[t->cursor];
                _cleanup_(freep) char *current = NULL;
                int r;

                if (m->added)
                        continue;
                r = vk_device_read_driver(e->root, &m->id, &current);
                if (r < 0)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "probe", &m->id, -r,
                                       "probe of %s with %s failed: %s", m->id.name, driver,
                                       strerror(-r));
                if (streq_ptr(current, driver))
                        continue;
                if (current)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "probe", &m->id, EBUSY,
                                       "probe of %s with %s failed: %s bound it first", m->id.name,
                                       driver, current);
                t->job_device = m->id;
                t->job_finished = false;
                r = dc_wait_probe(e, &m->id, t->timeout_ms, on_job_done, t, &t->wait);
                if (r < 0)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "probe", &m->id, -r,
                                       "probe of %s with %s failed: %s", m->id.name, driver,
                                       strerror(-r));
                return 0;
        }
        t->phase = PHASE_REOPEN_WINDOW;
        return 1;
}

static int phase_reopen_window(transaction *t)
{
        int r;

        t->window_closed = false;
        r = window_open(t->engine, t->bus);
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "reopen-window", &t->target, -r,
                               "restoring %s drivers_autoprobe failed: %s",
                               vk_bus_to_string(t->bus), strerror(-r));
        window_probe_newcomers(t->engine, t->bus, t->bus_before, t->rec->autoprobe);
        t->phase = PHASE_WAIT_NODE;
        return 1;
}

static int on_node_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        transaction *t = userdata;

        t->timer_source = sd_event_source_unref(t->timer_source);
        tx_run(t);
        return 0;
}

/* The node appears with the first VFIO device of the group (devtmpfs, shortly after the bind):
 * poll for it on a timer rather than block. */
static int phase_wait_node(transaction *t)
{
        engine *e = t->engine;
        uint64_t now;
        int r;

        if (vk_vfio_group_node_exists(e->root, t->group)) {
                t->phase = PHASE_OPEN;
                return 1;
        }
        r = sd_event_now(e->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "open-group", &t->target, -r,
                               "reading the clock failed: %s", strerror(-r));
        if (t->node_deadline == 0)
                t->node_deadline = now + (uint64_t)t->timeout_ms * 1000ULL;
        if (now >= t->node_deadline)
                return tx_fail(t, ENGINE_ROLLED_BACK, "open-group", &t->target, ENOENT,
                               "/dev/vfio/%d did not appear within %u ms", t->group, t->timeout_ms);
        /* Accuracy 0 would mean sd-event's default of 250 ms, far coarser than the poll. */
        r = sd_event_add_time(e->event, &t->timer_source, CLOCK_MONOTONIC, now + NODE_POLL_USEC,
                              NODE_POLL_USEC / 10, on_node_timer, t);
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "open-group", &t->target, -r,
                               "waiting for /dev/vfio/%d failed: %s", t->group, strerror(-r));
        return 0;
}

static int not_viable(transaction *t)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL;
        const vk_member *blocker = NULL;

        if (vk_group_load(t->engine->root, t->group, &g) >= 0 && !vk_group_viable(g, &blocker) &&
            blocker)
                return tx_fail(t, ENGINE_GROUP_NOT_VIABLE, "open-group", &blocker->dev->id, 0,
                               "group %d is not viable: %s is bound to %s", t->group,
                               blocker->dev->id.name,
                               blocker->dev->driver ? blocker->dev->driver : "(none)");
        return tx_fail(t, ENGINE_GROUP_NOT_VIABLE, "open-group", &t->target, 0,
                       "VFIO reports group %d not viable", t->group);
}

static int phase_open(transaction *t)
{
        engine *e = t->engine;
        uint32_t flags = 0;
        int r;

        r = vk_vfio_group_open(e->root, t->group, &t->group_fd);
        if (r == -EBUSY)
                return tx_fail(t, ENGINE_BUSY, "open-group", &t->target, EBUSY,
                               "/dev/vfio/%d is held open by another program", t->group);
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "open-group", &t->target, -r,
                               "opening /dev/vfio/%d failed: %s", t->group, strerror(-r));
        r = vk_vfio_group_status(t->group_fd, &flags);
        if (r < 0)
                return tx_fail(t, ENGINE_ROLLED_BACK, "open-group", &t->target, -r,
                               "VFIO_GROUP_GET_STATUS on /dev/vfio/%d failed: %s", t->group,
                               strerror(-r));
        if (!(flags & VFIO_GROUP_FLAGS_VIABLE))
                return not_viable(t);

        if (t->options.owner_uid != UID_INVALID) {
                r = vk_vfio_group_chown(e->root, t->group, t->options.owner_uid, (gid_t)-1);
                if (r < 0)
                        return tx_fail(t, ENGINE_ROLLED_BACK, "chown", &t->target, -r,
                                       "chown of /dev/vfio/%d to uid %u failed: %s", t->group,
                                       (unsigned)t->options.owner_uid, strerror(-r));
        }
        t->phase = PHASE_COMMIT;
        return 1;
}

static int phase_commit(transaction *t)
{
        int r;

        t->rec->state = RECORD_COMMITTED;
        r = journal_save(t->engine->journal_fd, t->rec);
        if (r < 0) {
                /* The file still says "assigning", and so must memory while we roll back. */
                t->rec->state = RECORD_ASSIGNING;
                return tx_fail(t, ENGINE_ROLLED_BACK, "journal", &t->target, -r,
                               "committing the assignment of group %d failed: %s", t->group,
                               strerror(-r));
        }
        /* At debug: whoever asked logs the outcome with the requester (lease.c, manager-dbus.c). */
        log_debug("group %d: assigned to %s", t->group, record_driver(t->rec));
        t->phase = PHASE_FINISH;
        return 1;
}

/* ---- release ---- */

static int phase_release_journal(transaction *t)
{
        engine *e = t->engine;
        int r;

        for (size_t i = 0; i < t->rec->n_members; i++)
                if (engine_device_stalled(e, &t->rec->members[i].id))
                        return tx_fail(t, ENGINE_TIMEOUT, "unbind", &t->rec->members[i].id,
                                       ETIMEDOUT,
                                       "an earlier unbind of %s is still blocked in the kernel "
                                       "(the device is still in use)",
                                       t->rec->members[i].id.name);

        record_state before = t->rec->state;
        bool autoprobe_before = t->rec->autoprobe;
        r = window_original(e, t->bus, &t->rec->autoprobe);
        if (r >= 0) {
                t->rec->state = RECORD_RELEASING;
                r = journal_save(e->journal_fd, t->rec);
        }
        if (r < 0) {
                t->rec->state = before;
                t->rec->autoprobe = autoprobe_before;
                return tx_fail(t, ENGINE_BUSY, "journal", &t->target, -r,
                               "journaling the release of group %d failed: %s", t->group,
                               strerror(-r));
        }
        t->rec->returning = true;
        t->touched = true;

        r = vk_bus_list_devices(e->root, t->bus, &t->bus_before);
        if (r >= 0)
                r = window_close(e, t->bus, t->rec->autoprobe);
        if (r < 0)
                return tx_fail(t, ENGINE_BUSY, "close-window", &t->target, -r,
                               "turning %s drivers_autoprobe off failed: %s",
                               vk_bus_to_string(t->bus), strerror(-r));
        t->window_closed = true;
        t->cursor = t->rec->n_members;
        t->phase = PHASE_BACK_UNBIND;
        return 1;
}

/* ---- the way back ---- */

/* Members are taken off the VFIO driver in reverse order. A rollback goes on past a member that
 * fails (the others still go back); a release stops, because the group is evidently still in
 * use and every further unbind would hang the same way. */
static int phase_back_unbind(transaction *t)
{
        if (t->job_finished) {
                const vk_device_id *id = &t->job_device;
                int r = t->job_result;

                t->job_finished = false;
                if (r == -ETIMEDOUT) {
                        if (t->release)
                                return tx_fail(t, ENGINE_TIMEOUT, "unbind", id, ETIMEDOUT,
                                               "unbind of %s from %s did not finish within %u "
                                               "ms (the device is still in use)",
                                               id->name, record_driver(t->rec), t->timeout_ms);
                        t->ours_left = true;
                        tx_incomplete(t, "unbind of %s from %s is still blocked in the kernel",
                                      id->name, record_driver(t->rec));
                } else if (r < 0 && r != -ENODEV) {
                        if (t->release)
                                return tx_fail(t, ENGINE_BUSY, "unbind", id, -r,
                                               "unbind of %s from %s failed: %s", id->name,
                                               record_driver(t->rec), strerror(-r));
                        t->ours_left = true;
                        tx_incomplete(t, "unbind of %s from %s failed: %s", id->name,
                                      record_driver(t->rec), strerror(-r));
                }
        }

        while (t->cursor > 0) {
                record_member *m = &t->rec->members[--t->cursor];
                int r;

                if (engine_device_stalled(t->engine, &m->id) ||
                    !restore_needs_unbind(t->engine, t->rec, m))
                        continue;
                r = job_start(t, &m->id, record_driver(t->rec));
                if (r >= 0)
                        return 0;
                if (t->release)
                        return tx_fail(t, ENGINE_BUSY, "unbind", &m->id, -r,
                                       "unbind of %s from %s failed: %s", m->id.name,
                                       record_driver(t->rec), strerror(-r));
                t->ours_left = true;
                tx_incomplete(t, "unbind of %s from %s failed: %s", m->id.name,
                              record_driver(t->rec), strerror(-r));
        }
        t->phase = PHASE_BACK_RESTORE;
        t->cursor = t->rec->n_members;
        return 1;
}

/* A member's previous driver is bound (or a newcomer probed) in a worker: a host driver's probe
 * can take seconds (a GPU's does), and the loop keeps serving meanwhile. */
static int restore_job(transaction *t, const record_member *m, restore_action action)
{
        int r;

        t->job_device = m->id;
        t->job_finished = false;
        t->restore_pending = action;
        if (action == RESTORE_BIND)
                r = dc_wait_bind(t->engine, &m->id, m->driver, t->timeout_ms, on_job_done, t,
                                 &t->wait);
        else
                r = dc_wait_probe(t->engine, &m->id, t->timeout_ms, on_job_done, t, &t->wait);
        if (r < 0)
                log_warning_errno(r, "group %d: cannot %s %s: %m", t->group,
                                  action == RESTORE_BIND ? "rebind" : "probe", m->id.name);
        return r;
}

static int back_restore_done(transaction *t, restore_result res, const char *what)
{
        if (res == RESTORE_PARTIAL) {
                t->ours_left = true;
                if (t->release)
                        return tx_fail(t, ENGINE_BUSY, "verify", &t->target, 0,
                                       "release of group %d is incomplete: %s", t->group, what);
                tx_incomplete(t, "%s", what);
        } else if (res == RESTORE_UNBOUND) {
                /* Nothing of ours is left on the devices; a driver that refused to come back is
                 * the kernel's business, and keeping the record would not change its mind. */
                if (t->release)
                        log_warning("group %d: released, but %s", t->group, what);
                else
                        tx_incomplete(t, "%s", what);
        }
        t->phase = PHASE_FINISH;
        return 1;
}

/* Members in reverse order, as the rest of the way back; stalled ones are not touched (the
 * kernel holds their device lock). The cursor counts down from n_members; the member whose job
 * is in flight is cursor - 1. */
static int phase_back_restore(transaction *t)
{
        engine *e = t->engine;
        _cleanup_(freep) char *what = NULL;

        if (!t->restore_errors) {
                t->restore_errors = calloc(t->rec->n_members ? t->rec->n_members : 1, sizeof(int));
                if (!t->restore_errors) { /* all of it on the spot, then */
                        restore_result res = restore_members(e, t->rec, &what);
                        return back_restore_done(t, res, what);
                }
        }

        if (t->job_finished) {
                const record_member *m = &t->rec->members[t->cursor - 1];
                int r = t->job_result;

                t->job_finished = false;
                if (t->restore_pending == RESTORE_BIND && r < 0 && r != -ETIMEDOUT) {
                        /* The bind did not take: let the kernel probe whatever matches. */
                        t->restore_errors[t->cursor - 1] = r;
                        log_debug_errno(r, "%s: bind to %s failed, probing instead: %m", m->id.name,
                                        m->driver);
                        if (restore_job(t, m, RESTORE_PROBE) >= 0)
                                return 0;
                }
                t->cursor--;
        }

        for (; t->cursor > 0; t->cursor--) {
                const record_member *m = &t->rec->members[t->cursor - 1];
                restore_action action;

                /* One that someone else is unbinding restore_member_start leaves alone. */
                if (engine_device_waited(e, &m->id))
                        continue;
                action = restore_member_start(e, t->rec, m, &t->restore_errors[t->cursor - 1]);
                if (action != RESTORE_NOTHING && restore_job(t, m, action) >= 0)
                        return 0;
        }

        restore_result res = restore_finish(e, t->rec, t->restore_errors, &what);
        return back_restore_done(t, res, what);
}

static void tx_settle(transaction *t)
{
        engine *e = t->engine;
        int r;

        if (t->window_closed) {
                t->window_closed = false;
                r = window_open(e, t->bus);
                if (r < 0) {
                        t->ours_left = true;
                        if (t->release && !t->failed)
                                (void)tx_fail(t, ENGINE_BUSY, "reopen-window", &t->target, -r,
                                              "restoring %s drivers_autoprobe failed: %s",
                                              vk_bus_to_string(t->bus), strerror(-r));
                        else if (!t->release)
                                tx_incomplete(t, "%s drivers_autoprobe could not be restored",
                                              vk_bus_to_string(t->bus));
                }
                window_probe_newcomers(e, t->bus, t->bus_before, t->rec->autoprobe);
        }

        if (!t->rec_listed || (!t->failed && !t->release))
                return; /* nothing was touched, or committed: the record holds the lease */
        if (t->release && t->failed) {
                /* "releasing" stays on disk; a retry or the next start finishes it. */
                if (t->rec->state == RECORD_RELEASING)
                        t->rec->returning = true;
                return;
        }
        if (t->ours_left) {
                t->rec->returning = true;
                return;
        }

        /* Back where it started (or as close as the kernel allows): forget the group. */
        r = journal_remove(e->journal_fd, t->group);
        if (r < 0)
                log_error_errno(r, "group %d: removing its journal record failed: %m", t->group);
        engine_drop_record(e, t->rec);
        t->rec = NULL;
        t->rec_listed = false;
        if (t->release)
                log_debug("group %d: released", t->group);
}

static void tx_complete(transaction *t)
{
        int r = 0, fd;

        tx_settle(t);

        if (t->failed && !t->release && t->touched) {
                _cleanup_(freep) char *what = strv_join(t->incomplete, "; ");
                size_t len = strlen(t->failure.message);

                snprintf(t->failure.message + len, sizeof(t->failure.message) - len, "; %s%s",
                         t->incomplete ? "rollback incomplete: " : "rolled back",
                         t->incomplete && what ? what : "");
        }
        if (t->failed)
                r = t->failure.errnum > 0 ? -t->failure.errnum : -EIO;

        /* From here on t is alone: done() may even free the engine. */
        engine_unlink_transaction(t->engine, t);
        t->linked = false;
        fd = TAKE_FD(t->group_fd);
        if (t->done)
                t->done(t, r, fd, t->failed ? &t->failure : NULL, t->userdata);
        else
                safe_close(fd);
        transaction_free(t);
}

static int tx_step(transaction *t)
{
        switch (t->phase) {
        case PHASE_PREPARE:
                return phase_prepare(t);
        case PHASE_LOAD:
                return phase_load(t);
        case PHASE_JOURNAL:
                return phase_journal(t);
        case PHASE_CLOSE_WINDOW:
                return phase_close_window(t);
        case PHASE_FENCE:
                return phase_fence(t);
        case PHASE_UNBIND:
                return phase_unbind(t);
        case PHASE_PROBE:
                return phase_probe(t);
        case PHASE_REOPEN_WINDOW:
                return phase_reopen_window(t);
        case PHASE_WAIT_NODE:
                return phase_wait_node(t);
        case PHASE_OPEN:
                return phase_open(t);
        case PHASE_COMMIT:
                return phase_commit(t);
        case PHASE_RELEASE_JOURNAL:
                return phase_release_journal(t);
        case PHASE_BACK_UNBIND:
                return phase_back_unbind(t);
        case PHASE_BACK_RESTORE:
                return phase_back_restore(t);
        case PHASE_FINISH:
                break;
        }
        return 1;
}

/* Runs phases until one waits for the kernel (an unbind, the group node) or the end. */
static void tx_run(transaction *t)
{
        while (t->phase != PHASE_FINISH)
                if (tx_step(t) == 0)
                        return;
        tx_complete(t);
}

static int on_defer(sd_event_source *s, void *userdata)
{
        transaction *t = userdata;

        t->defer_source = sd_event_source_disable_unref(t->defer_source);
        tx_run(t);
        return 0;
}

static int tx_new(engine *e, bool release, int group, const vk_device_id *target,
                  uint32_t timeout_ms, transaction_done_t done, void *userdata, transaction **ret)
{
        transaction *t;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->engine = e;
        t->release = release;
        t->group = group;
        t->bus = target->bus;
        t->target = *target;
        t->timeout_ms = engine_timeout_ms(e, timeout_ms);
        t->done = done;
        t->userdata = userdata;
        t->group_fd = -EBADF;
        t->options.owner_uid = UID_INVALID;
        t->lease.node_uid = t->lease.owner_uid_caller = UID_INVALID;
        t->phase = release ? PHASE_RELEASE_JOURNAL : PHASE_PREPARE;

        r = engine_link_transaction(e, t);
        if (r < 0) {
                free(t);
                return r;
        }
        t->linked = true;
        /* Started from the loop, so done() never runs inside engine_assign/engine_release. */
        r = sd_event_add_defer(e->event, &t->defer_source, on_defer, t);
        if (r < 0) {
                transaction_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

int engine_assign(engine *e, plan *p, const assign_options *o, const lease_info *lease,
                  transaction_done_t done, void *userdata, transaction **ret)
{
        _cleanup_(plan_freep) plan *owned = p;
        transaction *t;
        int r;

        if (!e || !p || !o || !lease || !done)
                return -EINVAL;
        if (p->blockers && p->blockers[0])
                return -EPERM;
        if (!p->group)
                return -EINVAL;
        if (engine_group_busy_other(e, p->group->id, NULL, NULL))
                return -EBUSY;

        r = tx_new(e, false, p->group->id, &p->target, o->timeout_ms, done, userdata, &t);
        if (r < 0)
                return r;
        t->plan = TAKE_PTR(owned);
        t->options.console = o->console;
        t->options.lifetime = o->lifetime;
        t->options.owner_uid = o->owner_uid;
        t->options.timeout_ms = o->timeout_ms;
        t->lease.lifetime = lease->lifetime;
        t->lease.owner_uid_caller = lease->owner_uid_caller;
        /* The node is chowned to what the options ask; the journal says the same. */
        t->lease.node_uid = o->owner_uid;
        if (free_and_strdup(&t->options.driver, t->plan->driver) < 0 ||
            free_and_strdup(&t->lease.owner, lease->owner) < 0 ||
            free_and_strdup(&t->lease.driver, t->plan->driver) < 0) {
                transaction_free(t);
                return -ENOMEM;
        }
        log_debug("group %d: assignment of %s to %s starts", t->group, p->target.name,
                  t->plan->driver);
        if (ret)
                *ret = t;
        return 0;
}

int engine_release(engine *e, const vk_device_id *id, uint32_t timeout_ms, transaction_done_t done,
                   void *userdata, transaction **ret)
{
        record *rec = NULL;
        transaction *t;
        int r;

        if (!e || !id)
                return -EINVAL;
        /* An assignment in flight may not have its record yet; its plan knows the group. */
        for (size_t i = 0; i < e->n_transactions; i++) {
                transaction *o = e->transactions[i];
                if ((o->rec && record_find_member(o->rec, id)) ||
                    (o->plan && o->plan->group && vk_group_find(o->plan->group, id)))
                        return -EBUSY;
        }
        for (size_t i = 0; i < e->n_records && !rec; i++)
                if (record_find_member(e->records[i], id))
                        rec = e->records[i];
        if (!rec)
                return -ENOENT;
        for (size_t i = 0; i < e->n_transactions; i++)
                if (transaction_group(e->transactions[i]) == rec->a.group)
                        return -EBUSY;

        r = tx_new(e, true, rec->a.group, id, timeout_ms, done, userdata, &t);
        if (r < 0)
                return r;
        t->rec = rec;
        t->rec_listed = true;
        log_debug("group %d: release starts", t->group);
        if (ret)
                *ret = t;
        return 0;
}
