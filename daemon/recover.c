/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Putting a group back where its journal record says it was: used by the rollback and release
 * transactions once the VFIO driver is off the members, and at startup for records that a
 * previous run left unfinished.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aperture.h"
#include "driver-core.h"
#include "engine-internal.h"
#include "log.h"
#include "modules.h"

/* The kernel shows an unset override as "(null)"; vk_device_read_override returns NULL for it,
 * and a cleared one may read back empty. */
static bool override_equal(const char *a, const char *b)
{
        return streq_ptr(a && *a ? a : NULL, b && *b ? b : NULL);
}

bool restore_needs_unbind(engine *e, const record *r, const record_member *m)
{
        _cleanup_(freep) char *current = NULL;

        if (vk_device_read_driver(e->root, &m->id, &current) < 0 || !current)
                return false;
        /* A member that was on the VFIO driver before we came is where it started. */
        return streq(current, record_driver(r)) && (m->added || !streq_ptr(m->driver, current));
}

/* The previous driver may have been unloaded meanwhile: load it again (under the window, a new
 * driver does not grab other devices), by driver name, then by the device's alias. */
static void ensure_driver(engine *e, const record_member *m)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;

        if (!e->modules || vk_dc_driver_registered(e->root, m->id.bus, m->driver))
                return;
        if (vk_modules_load(e->modules, m->driver) >= 0 &&
            vk_dc_driver_registered(e->root, m->id.bus, m->driver))
                return;
        if (vk_device_load(e->root, &m->id, &d) >= 0 && d->modalias)
                (void)vk_modules_load(e->modules, d->modalias);
}

/* Returns 0, or the errno of the bind that did not take (for the message). */
static int rebind(engine *e, const record_member *m)
{
        int r;

        r = vk_dc_bind(e->root, &m->id, m->driver);
        if (r >= 0)
                return 0;
        log_debug_errno(r, "%s: bind to %s failed, probing instead: %m", m->id.name, m->driver);
        (void)vk_dc_probe(e->root, &m->id);
        return r;
}

restore_action restore_member_start(engine *e, const record *r, const record_member *m,
                                    int *ret_error)
{
        _cleanup_(freep) char *driver = NULL, *override = NULL;
        bool unbinding;
        int k;

        *ret_error = 0;
        k = vk_device_read_binding(e->root, &m->id, &driver, &unbinding, &override);
        if (k >= 0 && unbinding)
                k = -EBUSY; /* someone else's unbind holds the device lock: not touched */
        if (k < 0) {
                *ret_error = k;
                return RESTORE_NOTHING;
        }
        /* Still on the VFIO driver (its unbind failed): rebinding would only fail. */
        if (driver && streq(driver, record_driver(r)) &&
            (m->added || !streq_ptr(driver, m->driver)))
                return RESTORE_NOTHING;

        if (!override_equal(override, m->override))
                k = vk_dc_restore_override(e->root, &m->id, m->override);
        if (k < 0) {
                *ret_error = k;
                return RESTORE_NOTHING;
        }

        /* A newcomer never had the chance to meet its driver: the kernel probes it now. */
        if (m->added)
                return driver ? RESTORE_NOTHING : RESTORE_PROBE;
        if (m->driver && !driver) {
                ensure_driver(e, m);
                return RESTORE_BIND;
        }
        return RESTORE_NOTHING;
}

/* Compares one member with its record; returns true when something of ours is left on it. */
static bool verify_member(engine *e, const record *r, const record_member *m, int step_error,
                          char ***problems)
{
        _cleanup_(freep) char *driver = NULL, *override = NULL;
        const char *vfio = record_driver(r);
        char why[128] = "";
        bool waited = engine_device_waited(e, &m->id), unbinding = false;
        int k = 0;

        if (!waited)
                k = vk_device_read_binding(e->root, &m->id, &driver, &unbinding, &override);
        if (k == -ENODEV || k == -ENOENT)
                return false; /* the device is gone: nothing left to return */
        if (k >= 0 && (unbinding || waited)) {
                (void)strv_extendf(problems,
                                   "%s: an unbind or a probe is still blocked in the kernel",
                                   m->id.name);
                return true;
        }
        if (k < 0) {
                (void)strv_extendf(problems, "%s: reading its state failed: %s", m->id.name,
                                   strerror(-k));
                return true;
        }
        if (step_error < 0)
                snprintf(why, sizeof(why), " (%s)", strerror(-step_error));

        bool ours = (driver && streq(driver, vfio) && (m->added || !streq_ptr(m->driver, vfio))) ||
                    (override && streq(override, vfio) && !override_equal(m->override, vfio));
        if (!m->added && !streq_ptr(driver, m->driver))
                (void)strv_extendf(problems, "%s is %s%s, expected %s%s", m->id.name,
                                   driver ? "bound to " : "unbound", driver ? driver : "",
                                   m->driver ? m->driver : "unbound", why);
        if (!override_equal(override, m->override))
                (void)strv_extendf(problems, "%s has driver_override %s, expected %s%s", m->id.name,
                                   override && *override ? override : "(none)",
                                   m->override ? m->override : "(none)", why);
        return ours;
}

/* Did a console bound before the assignment go away? Only then are consoles rebound: one an
 * administrator unbound on purpose stays unbound when nothing of ours touched it. */
static bool console_lost(engine *e, const record *r)
{
        vk_vtcon *l = NULL;
        size_t n = 0;
        bool lost = false;

        if (vk_vtcon_list(e->root, &l, &n) < 0)
                return true;
        for (char **id = r->vtconsoles; id && *id && !lost; id++) {
                bool bound = false;
                for (size_t i = 0; i < n; i++)
                        if (streq(l[i].id, *id))
                                bound = l[i].bound;
                lost = !bound;
        }
        vk_vtcon_list_free(l, n);
        return lost;
}

restore_result restore_finish(engine *e, record *r, const int *errors, char **ret_incomplete)
{
        _cleanup_(strv_freep) char **problems = NULL;
        bool ours_left = false;

        if (r->console_taken && console_lost(e, r)) {
                /* Only a native driver brings a console back (the firmware framebuffer is gone
                 * for good); bind whatever console it registered. */
                int k = vk_vtcon_bind_all(e->root);
                if (k < 0)
                        log_warning_errno(k, "Rebinding the virtual consoles failed: %m");
                else
                        log_info("Rebound %d virtual console(s)", k);
        }

        for (size_t i = 0; i < r->n_members; i++)
                if (verify_member(e, r, &r->members[i], errors ? errors[i] : 0, &problems))
                        ours_left = true;

        if (!problems) {
                *ret_incomplete = NULL;
                return RESTORE_OK;
        }
        *ret_incomplete = strv_join(problems, "; ");
        return ours_left ? RESTORE_PARTIAL : RESTORE_UNBOUND;
}

restore_result restore_members(engine *e, record *r, char **ret_incomplete)
{
        _cleanup_(freep) int *errors = NULL;

        errors = calloc(r->n_members ? r->n_members : 1, sizeof(int));
        if (!errors) {
                *ret_incomplete = strdup("out of memory while restoring");
                return RESTORE_PARTIAL;
        }

        /* Reverse order, as the rest of the way back. Stalled members are not touched: their
         * device lock is held by an unbind that has not returned. */
        for (size_t i = r->n_members; i > 0; i--) {
                const record_member *m = &r->members[i - 1];

                /* One that someone else is unbinding restore_member_start leaves alone. */
                if (engine_device_waited(e, &m->id))
                        continue;
                switch (restore_member_start(e, r, m, &errors[i - 1])) {
                case RESTORE_PROBE:
                        (void)vk_dc_probe(e->root, &m->id);
                        break;
                case RESTORE_BIND:
                        errors[i - 1] = rebind(e, m);
                        break;
                case RESTORE_NOTHING:
                        break;
                }
        }
        return restore_finish(e, r, errors, ret_incomplete);
}

/* ---- startup ---- */

/* An unbind bounded by the configured timeout, waited for right here: recovery runs before the
 * daemon serves anything. A hung one is handed to the engine to keep. */
static int unbind_bounded(engine *e, const vk_device_id *id, const char *driver)
{
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *job = NULL;
        uint32_t timeout_ms = engine_timeout_ms(e, 0);
        struct timespec start, now;
        int r;

        r = vk_dc_unbind_start(e->root, id, driver, &job);
        if (r < 0)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd p = {.fd = vk_dc_job_fd(job), .events = POLLIN};
                long elapsed;

                clock_gettime(CLOCK_MONOTONIC, &now);
                elapsed =
                    (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
                if (elapsed >= (long)timeout_ms) {
                        r = engine_stall(e, id, TAKE_PTR(job), false);
                        return r < 0 ? r : -ETIMEDOUT;
                }
                r = poll(&p, 1, (int)((long)timeout_ms - elapsed));
                if (r < 0 && errno != EINTR)
                        return -errno;
                r = vk_dc_job_result(job);
                if (r != -EAGAIN)
                        return r;
        }
}

/* Both go the same way (back to the host): an assignment is rolled back, a release finished. */
static const char *interrupted(const record *r, bool done)
{
        if (r->state == RECORD_ASSIGNING)
                return done ? "assignment was rolled back" : "assignment could not be rolled back";
        return done ? "release was finished" : "release could not be finished";
}

static int recover_returning(engine *e, record *r)
{
        _cleanup_(freep) char *incomplete = NULL;
        restore_result res;
        bool ours_left;
        int k;

        r->returning = true;
        for (size_t i = r->n_members; i > 0; i--) {
                const record_member *m = &r->members[i - 1];
                if (!restore_needs_unbind(e, r, m))
                        continue;
                k = unbind_bounded(e, &m->id, record_driver(r));
                if (k < 0 && k != -ENODEV)
                        log_warning_errno(k, "group %d: unbind of %s from %s failed: %m",
                                          r->a.group, m->id.name, record_driver(r));
        }

        res = restore_members(e, r, &incomplete);
        ours_left = res == RESTORE_PARTIAL;

        /* No window of this run is closed yet: the bus gets the value from before the crash. */
        k = vk_dc_set_autoprobe(e->root, r->bus, r->autoprobe);
        if (k < 0) {
                log_error_errno(k, "%s: restoring drivers_autoprobe=%d failed: %m",
                                vk_bus_to_string(r->bus), r->autoprobe);
                ours_left = true;
        }

        if (ours_left) {
                log_warning("group %d: the interrupted %s: %s", r->a.group, interrupted(r, false),
                            incomplete ? incomplete : "drivers_autoprobe");
                /* Startup does not wait for an unbind nobody here started: finish later. */
                for (size_t i = 0; i < r->n_members; i++)
                        if (engine_device_stalled(e, &r->members[i].id)) {
                                k = engine_defer_group(e, r->a.group);
                                if (k < 0)
                                        log_error_errno(k,
                                                        "group %d: cannot watch its pending "
                                                        "unbind: %m",
                                                        r->a.group);
                                break;
                        }
                return 0; /* keep the record */
        }
        if (incomplete)
                log_warning("group %d: returned to the host, but %s", r->a.group, incomplete);
        else
                log_info("group %d: the interrupted %s", r->a.group, interrupted(r, true));
        return 1; /* done: drop it */
}

/* A committed record stays while any member that moved is still on the VFIO driver; if none
 * is (someone else rebound them), the assignment is over. */
static bool committed_still_held(engine *e, const record *r)
{
        for (size_t i = 0; i < r->n_members; i++) {
                _cleanup_(freep) char *driver = NULL;
                if (vk_device_read_driver(e->root, &r->members[i].id, &driver) >= 0 &&
                    streq_ptr(driver, record_driver(r)))
                        return true;
        }
        return false;
}

static void mark_unreadable(engine *e, int group)
{
        int *l = realloc(e->unreadable, sizeof(int) * (e->n_unreadable + 1));
        if (!l)
                return;
        e->unreadable = l;
        e->unreadable[e->n_unreadable++] = group;
}

int engine_recover(engine *e)
{
        _cleanup_(freep) int *groups = NULL;
        _cleanup_(strv_freep) char **foreign = NULL;
        size_t n = 0;
        int k;

        if (!e)
                return -EINVAL;
        k = journal_list(e->journal_fd, &groups, &n, &foreign);
        if (k < 0)
                return log_error_errno(k, "Reading %s failed: %m", e->journal_path);
        for (char **f = foreign; f && *f; f++)
                log_warning("%s/%s: not a journal record; ignored", e->journal_path, *f);

        for (size_t i = 0; i < n; i++) {
                _cleanup_(record_freep) record *r = NULL;
                unsigned line = 0;
                bool drop;

                k = journal_load(e->journal_fd, groups[i], &r, &line);
                if (k >= 0 && r->a.group != groups[i]) {
                        k = -EBADMSG;
                        line = 3;
                }
                if (k < 0) {
                        /* Never guessed: the group is left alone until a person looks. */
                        if (k == -EBADMSG)
                                log_error("%s/%d.txn:%u: malformed journal record; group %d is "
                                          "left as it is until the file is inspected and removed",
                                          e->journal_path, groups[i], line, groups[i]);
                        else
                                log_error_errno(k, "%s/%d.txn: reading failed: %m", e->journal_path,
                                                groups[i]);
                        mark_unreadable(e, groups[i]);
                        continue;
                }

                if (r->state == RECORD_COMMITTED) {
                        drop = !committed_still_held(e, r);
                        if (drop)
                                log_info("group %d: no longer on %s; its assignment is over",
                                         r->a.group, record_driver(r));
                } else
                        drop = recover_returning(e, r) > 0;

                if (drop) {
                        k = journal_remove(e->journal_fd, r->a.group);
                        if (k < 0)
                                log_error_errno(k,
                                                "group %d: removing its journal record failed: %m",
                                                r->a.group);
                        continue;
                }
                k = engine_add_record(e, r);
                if (k < 0)
                        return log_error_errno(k, "group %d: keeping its record failed: %m",
                                               r->a.group);
                TAKE_PTR(r);
        }
        return 0;
}
