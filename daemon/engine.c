/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine object: configuration, the journal directory, the records of the groups it holds,
 * the transactions in flight and the unbinds that outlived them. Also the fencing of devices
 * that appear in a group we hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "driver-core.h"
#include "engine-internal.h"
#include "log.h"

#define ENGINE_DEFAULT_TIMEOUT_MS 10000u

void assign_options_done(assign_options *o)
{
        if (!o)
                return;
        free(o->driver);
        o->driver = NULL;
}

void lease_info_done(lease_info *l)
{
        if (!l)
                return;
        free(l->owner);
        free(l->driver);
        l->owner = l->driver = NULL;
}

void failure_set(engine_failure *f, engine_error error, const char *step,
                 const vk_device_id *device, int errnum, const char *format, ...)
{
        va_list ap;

        *f = (engine_failure){.error = error, .errnum = errnum};
        snprintf(f->step, sizeof(f->step), "%s", step);
        if (device)
                snprintf(f->device, sizeof(f->device), "%s", device->name);
        va_start(ap, format);
        vsnprintf(f->message, sizeof(f->message), format, ap);
        va_end(ap);
}

int strv_extendv(char ***l, const char *format, va_list ap)
{
        _cleanup_(freep) char *s = NULL;

        if (vasprintf(&s, format, ap) < 0)
                return -ENOMEM;
        return strv_extend(l, s);
}

int strv_extendf(char ***l, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = strv_extendv(l, format, ap);
        va_end(ap);
        return r;
}

char *strv_join(char **l, const char *sep)
{
        size_t len = 1;
        char *s;

        for (char **i = l; i && *i; i++)
                len += strlen(*i) + strlen(sep);
        s = malloc(len);
        if (!s)
                return NULL;
        s[0] = '\0';
        for (char **i = l; i && *i; i++) {
                if (i != l)
                        strcat(s, sep);
                strcat(s, *i);
        }
        return s;
}

uint32_t engine_timeout_ms(const engine *e, uint32_t requested)
{
        if (requested > 0)
                return requested;
        if (e->config.unbind_timeout_ms > 0)
                return e->config.unbind_timeout_ms;
        return ENGINE_DEFAULT_TIMEOUT_MS;
}

static int strv_copy(char *const *l, char ***ret)
{
        _cleanup_(strv_freep) char **c = NULL;

        c = calloc(1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (char *const *s = l; s && *s; s++)
                if (strv_extend(&c, *s) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

static int mkdir_if_missing(const char *path, mode_t mode)
{
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int engine_new(sd_event *event, vk_root *root, vk_modules *modules, const engine_config *config,
               const char *runtime_dir, engine **ret)
{
        _cleanup_(engine_freep) engine *e = NULL;
        int r;

        if (!event || !root || !config || !runtime_dir || !ret)
                return -EINVAL;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->journal_fd = -EBADF;
        e->event = sd_event_ref(event);
        e->root = vk_root_ref(root);
        e->modules = modules;
        e->config.unbind_timeout_ms = config->unbind_timeout_ms;
        e->config.default_console = config->default_console;
        if (strv_copy(config->deny_devices, &e->config.deny_devices) < 0 ||
            strv_copy(config->deny_ids, &e->config.deny_ids) < 0)
                return -ENOMEM;
        if (config->allowed_drivers &&
            strv_copy(config->allowed_drivers, &e->config.allowed_drivers) < 0)
                return -ENOMEM;

        if (asprintf(&e->journal_path, "%s/journal", runtime_dir) < 0)
                return -ENOMEM;
        r = mkdir_if_missing(runtime_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Cannot create %s: %m", runtime_dir);
        /* Previous drivers and lease owners are nobody else's business. */
        r = mkdir_if_missing(e->journal_path, 0700);
        if (r < 0)
                return log_error_errno(r, "Cannot create %s: %m", e->journal_path);
        e->journal_fd = open(e->journal_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (e->journal_fd < 0)
                return log_error_errno(-errno, "Cannot open %s: %m", e->journal_path);

        *ret = TAKE_PTR(e);
        return 0;
}

static stalled_unbind *stalled_free(stalled_unbind *s)
{
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->source);
        vk_dc_job_unref(s->job);
        free(s);
        return NULL;
}

engine *engine_free(engine *e)
{
        if (!e)
                return NULL;
        /* In-flight transactions end without their callbacks; their journal records stay and
         * the next start rolls them back. */
        while (e->n_transactions > 0)
                transaction_free(e->transactions[0]);
        free(e->transactions);
        while (e->stalled) {
                stalled_unbind *s = e->stalled;
                e->stalled = s->next;
                stalled_free(s);
        }
        sd_event_source_disable_unref(e->deferred_timer);
        free(e->deferred);
        window_reset_all(e);
        for (size_t i = 0; i < e->n_records; i++)
                record_free(e->records[i]);
        free(e->records);
        free(e->unreadable);
        safe_close(e->journal_fd);
        free(e->journal_path);
        strv_free(e->config.deny_devices);
        strv_free(e->config.deny_ids);
        strv_free(e->config.allowed_drivers);
        vk_root_unref(e->root);
        sd_event_unref(e->event);
        free(e);
        return NULL;
}

/* ---- records and transactions ---- */

record *engine_find_record(engine *e, int group)
{
        for (size_t i = 0; i < e->n_records; i++)
                if (e->records[i]->a.group == group)
                        return e->records[i];
        return NULL;
}

int engine_add_record(engine *e, record *r)
{
        record **l;

        if (engine_find_record(e, r->a.group))
                return -EEXIST;
        l = realloc(e->records, sizeof(*l) * (e->n_records + 1));
        if (!l)
                return -ENOMEM;
        e->records = l;
        e->records[e->n_records++] = r;
        return 0;
}

void engine_drop_record(engine *e, record *r)
{
        for (size_t i = 0; i < e->n_records; i++)
                if (e->records[i] == r) {
                        memmove(e->records + i, e->records + i + 1,
                                sizeof(*e->records) * (e->n_records - i - 1));
                        e->n_records--;
                        break;
                }
        record_free(r);
}

int engine_link_transaction(engine *e, transaction *t)
{
        transaction **l = realloc(e->transactions, sizeof(*l) * (e->n_transactions + 1));
        if (!l)
                return -ENOMEM;
        e->transactions = l;
        e->transactions[e->n_transactions++] = t;
        return 0;
}

void engine_unlink_transaction(engine *e, transaction *t)
{
        for (size_t i = 0; i < e->n_transactions; i++)
                if (e->transactions[i] == t) {
                        memmove(e->transactions + i, e->transactions + i + 1,
                                sizeof(*e->transactions) * (e->n_transactions - i - 1));
                        e->n_transactions--;
                        return;
                }
}

static bool group_has_transaction(engine *e, int group, const transaction *except)
{
        for (size_t i = 0; i < e->n_transactions; i++)
                if (e->transactions[i] != except && transaction_group(e->transactions[i]) == group)
                        return true;
        return false;
}

bool engine_group_busy_other(engine *e, int group, const transaction *self, const char **ret_why)
{
        const char *why = NULL;
        record *r;

        if (group_has_transaction(e, group, self))
                why = "has a transaction in progress";
        /* A transaction's own record is no reason to refuse it (it can only be its own: nobody
         * else may create a record for a group with a transaction in flight). */
        else if ((r = engine_find_record(e, group)) && !(self && transaction_group(self) == group))
                why = r->state == RECORD_COMMITTED && !r->returning
                          ? "is assigned"
                          : "has an unfinished rollback or release";
        for (size_t i = 0; !why && i < e->n_unreadable; i++)
                if (e->unreadable[i] == group)
                        why = "has an unreadable journal record (see the log)";

        if (ret_why)
                *ret_why = why;
        return why != NULL;
}

bool engine_group_busy(engine *e, int group)
{
        return e && engine_group_busy_other(e, group, NULL, NULL);
}

/* ---- unbinds that outlived their transaction ---- */

static bool dc_wait_find(engine *e, const vk_device_id *id);

/* Unbinds vfiod itself has running or stalled: known without reading sysfs. */
bool engine_device_waited(engine *e, const vk_device_id *id)
{
        if (!e || !id)
                return false;
        for (stalled_unbind *s = e->stalled; s; s = s->next)
                if (vk_device_id_equal(&s->id, id))
                        return true;
        return dc_wait_find(e, id);
}

bool engine_device_stalled(engine *e, const vk_device_id *id)
{
        if (engine_device_waited(e, id))
                return true;
        if (!e || !id)
                return false;
        /* An unbind someone else started (another tool, or the worker of a vfiod that was
         * killed) holds the device lock just the same. */
        return vk_device_unbinding(e->root, id) > 0;
}

bool engine_loaded_device_stalled(engine *e, const vk_device *d)
{
        /* The load read the same two links vk_device_unbinding would. */
        return d && (d->unbinding || engine_device_waited(e, &d->id));
}

void engine_set_resumed_handler(engine *e, engine_resumed_t handler, void *userdata)
{
        if (!e)
                return;
        e->resumed = handler;
        e->resumed_userdata = userdata;
}

static void resume_done(transaction *t, int r, int group_fd, const engine_failure *failure,
                        void *userdata)
{
        engine *e = userdata;

        safe_close(group_fd);
        if (r < 0)
                log_warning("group %d: finishing the interrupted return to the host failed: %s",
                            transaction_group(t), failure ? failure->message : strerror(-r));
        else
                log_info("group %d: returned to the host after the kernel let go",
                         transaction_group(t));
        if (e->resumed)
                e->resumed(e, transaction_group(t), r, failure, e->resumed_userdata);
}

/* A record left half-way back to the host waited only for the kernel to let go of a device:
 * once nothing of it is stalled any more, finish the way back. */
static void resume_returning(engine *e, const vk_device_id *id)
{
        for (size_t i = 0; i < e->n_records; i++) {
                record *r = e->records[i];

                if (!r->returning || !record_find_member(r, id))
                        continue;
                if (group_has_transaction(e, r->a.group, NULL))
                        return;
                for (size_t j = 0; j < r->n_members; j++)
                        if (engine_device_stalled(e, &r->members[j].id))
                                return;
                if (engine_release(e, id, 0, resume_done, e, NULL) < 0)
                        log_warning("group %d: cannot resume its return to the host", r->a.group);
                return;
        }
}

/* How often a deferred group is looked at again: the kernel sends no event while a device
 * waits in its driver's remove, and the check is two lookups per member. */
#define DEFERRED_RECHECK_USEC (250 * 1000)

static bool record_member_stalled(engine *e, const record *r)
{
        for (size_t i = 0; i < r->n_members; i++)
                if (engine_device_stalled(e, &r->members[i].id))
                        return true;
        return false;
}

static int on_deferred_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
        engine *e = userdata;
        size_t kept = 0;

        for (size_t i = 0; i < e->n_deferred; i++) {
                record *r = engine_find_record(e, e->deferred[i]);

                if (!r || !r->returning || r->n_members == 0)
                        continue; /* finished meanwhile (a release by a client) */
                if (group_has_transaction(e, r->a.group, NULL) || record_member_stalled(e, r)) {
                        e->deferred[kept++] = e->deferred[i];
                        continue;
                }
                log_info("group %d: the kernel let go; finishing its way back to the host",
                         r->a.group);
                if (engine_release(e, &r->members[0].id, 0, resume_done, e, NULL) < 0)
                        log_warning("group %d: cannot resume its return to the host", r->a.group);
        }
        e->n_deferred = kept;
        if (kept > 0) {
                (void)sd_event_source_set_time_relative(source, DEFERRED_RECHECK_USEC);
                (void)sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        }
        return 0;
}

int engine_defer_group(engine *e, int group)
{
        int *l;
        int r;

        for (size_t i = 0; i < e->n_deferred; i++)
                if (e->deferred[i] == group)
                        return 0;
        l = realloc(e->deferred, sizeof(int) * (e->n_deferred + 1));
        if (!l)
                return -ENOMEM;
        e->deferred = l;
        e->deferred[e->n_deferred++] = group;

        if (!e->deferred_timer) {
                r = sd_event_add_time_relative(e->event, &e->deferred_timer, CLOCK_MONOTONIC,
                                               DEFERRED_RECHECK_USEC, 0, on_deferred_timer, e);
                if (r < 0) {
                        e->n_deferred--;
                        return r;
                }
                return 0;
        }
        r = sd_event_source_set_time_relative(e->deferred_timer, DEFERRED_RECHECK_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->deferred_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                e->n_deferred--;
        return r;
}

static int on_stalled_done(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        stalled_unbind *s = userdata;
        engine *e = s->engine;
        vk_device_id id = s->id;
        int r = vk_dc_job_result(s->job);

        if (r == -EAGAIN)
                return 0;
        for (stalled_unbind **p = &e->stalled; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        if (r < 0 && r != -ENODEV)
                log_warning_errno(r, "%s: the late unbind or probe failed: %m", id.name);
        else
                log_info("%s: the kernel finished a late unbind or probe", id.name);
        if (s->probe_after && r >= 0) {
                int k = vk_dc_probe(e->root, &id);
                if (k < 0)
                        log_warning_errno(k, "%s: probing after the unbind failed: %m", id.name);
        }
        stalled_free(s);
        resume_returning(e, &id);
        return 0;
}

int engine_stall(engine *e, const vk_device_id *id, vk_dc_job *job, bool probe_after)
{
        stalled_unbind *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s) {
                vk_dc_job_unref(job);
                return -ENOMEM;
        }
        s->engine = e;
        s->id = *id;
        s->job = job;
        s->probe_after = probe_after;
        r = sd_event_add_io(e->event, &s->source, vk_dc_job_fd(job), EPOLLIN, on_stalled_done, s);
        if (r < 0) {
                stalled_free(s);
                return r;
        }
        s->next = e->stalled;
        e->stalled = s;
        return 0;
}

struct dc_wait {
        struct dc_wait *next;
        engine *engine;
        vk_device_id id;
        vk_dc_job *job;
        sd_event_source *io, *timer;
        dc_done_t done;
        void *userdata;
};

dc_wait *dc_wait_free(dc_wait *w)
{
        if (!w)
                return NULL;
        for (dc_wait **p = &w->engine->waits; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        w->io = sd_event_source_disable_unref(w->io);
        w->timer = sd_event_source_disable_unref(w->timer);
        if (w->job && vk_dc_job_result(w->job) == -EAGAIN) {
                /* Nobody waits any more, but the device stays locked until it returns. */
                int r = engine_stall(w->engine, &w->id, TAKE_PTR(w->job), false);
                if (r < 0)
                        log_error_errno(r, "%s: cannot keep track of the stalled worker: %m",
                                        w->id.name);
        }
        vk_dc_job_unref(w->job);
        free(w);
        return NULL;
}

static void dc_wait_finish(dc_wait *w, int r)
{
        dc_done_t done = w->done;
        void *userdata = w->userdata;
        vk_device_id id = w->id;

        dc_wait_free(w);
        done(&id, r, userdata);
}

static int on_job_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        dc_wait *w = userdata;
        int r = vk_dc_job_result(w->job);

        if (r != -EAGAIN)
                dc_wait_finish(w, r);
        return 0;
}

static int on_job_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        dc_wait *w = userdata;

        dc_wait_finish(w, -ETIMEDOUT);
        return 0;
}

static bool dc_wait_find(engine *e, const vk_device_id *id)
{
        for (dc_wait *w = e->waits; w; w = w->next)
                if (vk_device_id_equal(&w->id, id))
                        return true;
        return false;
}

/* Waits for job (taken over) on the loop, for at most timeout_ms. */
static int dc_wait_start(engine *e, const vk_device_id *id, vk_dc_job *job, uint32_t timeout_ms,
                         dc_done_t done, void *userdata, dc_wait **ret)
{
        dc_wait *w;
        uint64_t now;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w) {
                vk_dc_job_unref(job);
                return -ENOMEM;
        }
        *w = (dc_wait){.engine = e, .id = *id, .job = job, .done = done, .userdata = userdata};
        r = sd_event_add_io(e->event, &w->io, vk_dc_job_fd(w->job), EPOLLIN, on_job_io, w);
        if (r >= 0)
                r = sd_event_now(e->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(e->event, &w->timer, CLOCK_MONOTONIC,
                                      now + (uint64_t)timeout_ms * 1000ULL, 0, on_job_timeout, w);
        if (r < 0) {
                dc_wait_free(w);
                return r;
        }
        w->next = e->waits;
        e->waits = w;
        *ret = w;
        return 0;
}

int dc_wait_unbind(engine *e, const vk_device_id *id, const char *driver, uint32_t timeout_ms,
                   dc_done_t done, void *userdata, dc_wait **ret)
{
        vk_dc_job *job = NULL;
        int r;

        r = vk_dc_unbind_start(e->root, id, driver, &job);
        if (r < 0)
                return r;
        log_debug("%s: unbinding from %s", id->name, driver);
        return dc_wait_start(e, id, job, timeout_ms, done, userdata, ret);
}

int dc_wait_bind(engine *e, const vk_device_id *id, const char *driver, uint32_t timeout_ms,
                 dc_done_t done, void *userdata, dc_wait **ret)
{
        vk_dc_job *job = NULL;
        int r;

        r = vk_dc_bind_start(e->root, id, driver, &job);
        if (r < 0)
                return r;
        log_debug("%s: binding to %s", id->name, driver);
        return dc_wait_start(e, id, job, timeout_ms, done, userdata, ret);
}

int dc_wait_probe(engine *e, const vk_device_id *id, uint32_t timeout_ms, dc_done_t done,
                  void *userdata, dc_wait **ret)
{
        vk_dc_job *job = NULL;
        int r;

        r = vk_dc_probe_start(e->root, id, &job);
        if (r < 0)
                return r;
        log_debug("%s: probing", id->name);
        return dc_wait_start(e, id, job, timeout_ms, done, userdata, ret);
}

/* ---- devices appearing in our groups ---- */

int engine_device_added(engine *e, const vk_device_id *id)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *job = NULL;
        _cleanup_(freep) char *bound = NULL;
        record *rec;
        const char *driver;
        int r;

        if (!e || !id)
                return -EINVAL;
        /* Loading it would read driver_override, which waits for the device lock. */
        if (engine_device_stalled(e, id))
                return 0;
        r = vk_device_load(e->root, id, &d);
        if (r == -ENODEV || r == -ENOENT)
                return 0; /* gone again */
        if (r < 0)
                return r;
        /* Bridges stay where they are when their group moves (the plan keeps them); this is
         * also the synthetic "add" that udevadm trigger sends for a bridge already there. */
        if (d->iommu_group < 0 || d->is_bridge)
                return 0;
        rec = engine_find_record(e, d->iommu_group);
        /* A group on its way back to the host takes no newcomers. */
        if (!rec || rec->returning || rec->bus != id->bus)
                return 0;
        driver = record_driver(rec);

        if (!record_find_member(rec, id)) {
                r = record_add_member(rec, id, true, NULL, d->driver_override);
                if (r < 0)
                        return r;
                r = journal_save(e->journal_fd, rec);
                if (r < 0)
                        log_warning_errno(r, "group %d: journaling newcomer %s failed: %m",
                                          rec->a.group, id->name);
        }

        r = vk_dc_set_override(e->root, id, driver);
        if (r < 0)
                return log_error_errno(r, "group %d: fencing newcomer %s failed: %m", rec->a.group,
                                       id->name);
        log_debug("group %d: fenced newcomer %s for %s", rec->a.group, id->name, driver);

        if (!d->driver && rec->state == RECORD_COMMITTED) {
                /* Committed groups have their window open: nobody else probes it. */
                r = vk_dc_probe(e->root, id);
                if (r < 0)
                        log_warning_errno(r, "%s: probing newcomer failed: %m", id->name);
        }

        /* The kernel's own first probe of the device may have bound a host driver after it was
         * loaded above and before the fence took effect, and drivers_probe leaves a bound device
         * alone. That probe holds the device lock, which drivers_probe (and, on 6.1, the fence)
         * waits for: the link as it reads now is the one to act on. */
        r = vk_device_read_driver(e->root, id, &bound);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return log_error_errno(r, "%s: reading the newcomer's driver failed: %m", id->name);
        if (bound && !streq(bound, driver)) {
                /* It bound a host driver before the fence: take it back without waiting. */
                r = vk_dc_unbind_start(e->root, id, bound, &job);
                if (r < 0)
                        return log_error_errno(r, "%s: unbinding newcomer from %s failed: %m",
                                               id->name, bound);
                r = engine_stall(e, id, TAKE_PTR(job), true);
                if (r < 0)
                        return r;
        }
        return 1;
}

/* ---- committed assignments ---- */

void engine_assignments_free(engine_assignment *a, size_t n)
{
        for (size_t i = 0; a && i < n; i++) {
                strv_free(a[i].members);
                lease_info_done(&a[i].lease);
        }
        free(a);
}

int engine_list_assignments(engine *e, engine_assignment **ret, size_t *ret_n)
{
        engine_assignment *a = NULL;
        size_t n = 0;

        if (!e || !ret || !ret_n)
                return -EINVAL;
        for (size_t i = 0; i < e->n_records; i++) {
                const record *r = e->records[i];
                engine_assignment *c;

                if (r->state != RECORD_COMMITTED)
                        continue;
                c = realloc(a, sizeof(*a) * (n + 1));
                if (!c) {
                        engine_assignments_free(a, n);
                        return -ENOMEM;
                }
                a = c;
                a[n] = (engine_assignment){
                    .group = r->a.group,
                    .lease = {.lifetime = r->a.lease.lifetime,
                              .owner_uid_caller = r->a.lease.owner_uid_caller,
                              .node_uid = r->a.lease.node_uid},
                };
                n++;
                if (strv_copy(r->a.members, &a[n - 1].members) < 0 ||
                    free_and_strdup(&a[n - 1].lease.owner, r->a.lease.owner) < 0 ||
                    free_and_strdup(&a[n - 1].lease.driver, r->a.lease.driver) < 0) {
                        engine_assignments_free(a, n);
                        return -ENOMEM;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

const engine_assignment *engine_find_assignment(engine *e, const vk_device_id *id)
{
        if (!e || !id)
                return NULL;
        for (size_t i = 0; i < e->n_records; i++) {
                record *r = e->records[i];
                /* A release that did not finish still holds the group: its lease must stay. */
                if (r->state != RECORD_ASSIGNING && record_find_member(r, id))
                        return &r->a;
        }
        return NULL;
}
