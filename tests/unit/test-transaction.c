/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transaction, the window, recovery and fencing on fixture trees. Fixture attributes are
 * plain files that do not react, so a probe never binds and these tests exercise the ways back:
 * the order of every write (recorded with inotify as the engine makes them), the exact state
 * the tree is left in, the journal, and the loop staying responsive while an unbind hangs (an
 * "unbind" FIFO nobody reads). The successful assignment is proven by the sim and VM tiers.
 */
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <glib/gstdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine-internal.h"
#include "fixture.h"
#include "macros.h"

#define DEV "0000:01:00.0"

typedef struct env {
        fixture *f;
        vk_root *root;
        sd_event *event;
        engine *e;
        engine_config config;
        char *run;

        int inotify_fd;
        GHashTable *watches; /* wd -> label */
        GPtrArray *events;

        bool done;
        int result;
        int group_fd;
        engine_failure failure;
} env;

static void env_init(env *v)
{
        *v = (env){.f = fixture_new(), .inotify_fd = -1, .group_fd = -1};
        fixture_driver(v->f, "pci", "vfio-pci");
        fixture_write(v->f, "sys/class/iommu/dmar0/uevent", "");
        v->run = g_build_filename(fixture_prefix(v->f), "run", "vfiod", NULL);
        v->config.unbind_timeout_ms = 300;
        v->watches = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        v->events = g_ptr_array_new_with_free_func(g_free);
}

static void env_engine(env *v)
{
        g_assert_cmpint(vk_root_open(fixture_prefix(v->f), &v->root), ==, 0);
        g_assert_cmpint(sd_event_new(&v->event), >=, 0);
        g_assert_cmpint(engine_new(v->event, v->root, NULL, &v->config, v->run, &v->e), ==, 0);
}

static void env_done(env *v)
{
        engine_free(v->e);
        sd_event_unref(v->event);
        vk_root_unref(v->root);
        if (v->inotify_fd >= 0)
                close(v->inotify_fd);
        if (v->group_fd >= 0)
                close(v->group_fd);
        g_hash_table_unref(v->watches);
        g_ptr_array_unref(v->events);
        fixture_free(v->f);
        g_free(v->run);
}

static char *path_of(env *v, const char *path)
{
        return g_build_filename(fixture_prefix(v->f), path, NULL);
}

static char *read_file(env *v, const char *path)
{
        g_autofree char *p = path_of(v, path);
        char *s = NULL;
        if (!g_file_get_contents(p, &s, NULL, NULL))
                return NULL;
        return s;
}

#define assert_file(v, path, expected)                                                             \
        do {                                                                                       \
                g_autofree char *_c = read_file((v), (path));                                      \
                g_assert_cmpstr(_c, ==, (expected));                                               \
        } while (0)

static bool file_exists(env *v, const char *path)
{
        g_autofree char *p = path_of(v, path);
        return g_file_test(p, G_FILE_TEST_EXISTS);
}

/* The override as the kernel would report it: unset reads "(null)", a clear leaves "\n". */
static void assert_override_unset(env *v, const char *dev)
{
        g_autofree char *p = g_strdup_printf("sys/bus/pci/devices/%s/driver_override", dev);
        g_autofree char *c = read_file(v, p);
        g_assert_true(g_str_equal(c, "(null)\n") || g_str_equal(c, "\n"));
}

/* ---- recording the order of writes ---- */

static void watch(env *v, const char *path, const char *label)
{
        g_autofree char *p = path_of(v, path);
        int wd;

        if (v->inotify_fd < 0) {
                v->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                g_assert_cmpint(v->inotify_fd, >=, 0);
        }
        wd = inotify_add_watch(v->inotify_fd, p, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE);
        g_assert_cmpint(wd, >=, 0);
        g_hash_table_insert(v->watches, GINT_TO_POINTER(wd), g_strdup(label));
}

/* "label/name" for every write that completed, "label/name:new" for a rename into place,
 * "label/name:gone" for a deletion; temporary journal files are left out. */
static void collect(env *v)
{
        char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        while ((n = read(v->inotify_fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *)p;
                        const char *label =
                            g_hash_table_lookup(v->watches, GINT_TO_POINTER(ev->wd));
                        p += sizeof(*ev) + ev->len;
                        if (!label || ev->len == 0 || g_str_has_suffix(ev->name, ".tmp"))
                                continue;
                        g_ptr_array_add(v->events, g_strdup_printf("%s/%s%s", label, ev->name,
                                                                   ev->mask & IN_MOVED_TO ? ":new"
                                                                   : ev->mask & IN_DELETE ? ":gone"
                                                                                          : ""));
                }
}

/* Waits until the write named by event (as collect() names it) has completed. */
static void wait_event(env *v, const char *event)
{
        for (unsigned i = 0; i < 500; i++) {
                struct pollfd pfd = {.fd = v->inotify_fd, .events = POLLIN};

                collect(v);
                for (size_t j = 0; j < v->events->len; j++)
                        if (g_str_equal(v->events->pdata[j], event))
                                return;
                g_assert_cmpint(poll(&pfd, 1, 10), >=, 0);
        }
        g_assert_not_reached();
}

static void assert_events(env *v, const char *const *want)
{
        collect(v);
        for (size_t i = 0; i < v->events->len; i++)
                g_test_message("event %zu: %s", i, (char *)v->events->pdata[i]);
        for (size_t i = 0; want[i]; i++) {
                g_assert_cmpuint(i, <, v->events->len);
                g_assert_cmpstr(v->events->pdata[i], ==, want[i]);
        }
        g_assert_cmpuint(v->events->len, ==, g_strv_length((char **)want));
}

/* ---- running transactions ---- */

static void on_done(transaction *t, int r, int group_fd, const engine_failure *failure,
                    void *userdata)
{
        env *v = userdata;

        g_assert_false(v->done);
        v->done = true;
        v->result = r;
        v->group_fd = group_fd;
        if (failure)
                v->failure = *failure;
}

typedef struct resumed {
        unsigned calls;
        int group, r;
} resumed;

static void on_resumed(engine *e, int group, int r, const engine_failure *failure, void *userdata)
{
        resumed *res = userdata;
        res->calls++;
        res->group = group;
        res->r = r;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        unsigned *ticks = userdata;
        (*ticks)++;
        return sd_event_source_set_time(s, usec + 20 * 1000);
}

/* Runs the loop until done (or 10 s, a failure), counting 20 ms ticks meanwhile. */
static unsigned run_until_done(env *v)
{
        sd_event_source *tick = NULL;
        unsigned ticks = 0;
        uint64_t now;

        g_assert_cmpint(sd_event_now(v->event, CLOCK_MONOTONIC, &now), >=, 0);
        g_assert_cmpint(sd_event_add_time(v->event, &tick, CLOCK_MONOTONIC, now + 20 * 1000, 0,
                                          on_tick, &ticks),
                        >=, 0);
        g_assert_cmpint(sd_event_source_set_enabled(tick, SD_EVENT_ON), >=, 0);
        for (unsigned i = 0; !v->done && i < 1000; i++)
                g_assert_cmpint(sd_event_run(v->event, 10 * 1000), >=, 0);
        sd_event_source_disable_unref(tick);
        g_assert_true(v->done);
        return ticks;
}

static void assign(env *v, const char *name, uint32_t timeout_ms)
{
        assign_options o = {.owner_uid = UID_INVALID, .timeout_ms = timeout_ms};
        lease_info lease = {
            .owner = (char *)":1.7", .owner_uid_caller = 1000, .node_uid = UID_INVALID};
        engine_failure f;
        vk_device_id id;
        transaction *t = NULL;
        plan *p = NULL;

        g_assert_cmpint(vk_parse_device_name(name, strlen(name), &id), ==, 0);
        g_assert_cmpint(engine_plan(v->e, &id, &o, &p, &f), ==, 0);
        g_assert_cmpuint(strv_length(p->blockers), ==, 0);
        v->done = false;
        g_assert_cmpint(engine_assign(v->e, p, &o, &lease, on_done, v, &t), ==, 0);
        g_assert_nonnull(t);
        /* The group is busy from the call on, and nothing happens before the loop runs. */
        g_assert_true(engine_group_busy(v->e, 3));
        g_assert_false(v->done);
}

/* ---- the window ---- */

/* As a transaction closes it: the value for the journal first. */
static int close_window(env *v)
{
        bool original;
        int r = window_original(v->e, VK_BUS_PCI, &original);

        return r < 0 ? r : window_close(v->e, VK_BUS_PCI, original);
}

static void test_window_refcount(void)
{
        bool saved = false;
        env v;

        env_init(&v);
        env_engine(&v);
        g_assert_cmpint(close_window(&v), ==, 0);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "0");
        g_assert_cmpint(close_window(&v), ==, 0);
        g_assert_cmpint(window_original(v.e, VK_BUS_PCI, &saved), ==, 0);
        g_assert_true(saved);
        /* The first reopen leaves it closed for the other holder. */
        g_assert_cmpint(window_open(v.e, VK_BUS_PCI), ==, 0);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "0");
        g_assert_cmpint(window_open(v.e, VK_BUS_PCI), ==, 0);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        g_assert_cmpint(window_open(v.e, VK_BUS_PCI), ==, -EALREADY);
        /* Buses are independent. */
        assert_file(&v, "sys/bus/platform/drivers_autoprobe", "1\n");

        /* An administrator's "off" is what comes back. */
        fixture_write(v.f, "sys/bus/pci/drivers_autoprobe", "0\n");
        g_assert_cmpint(close_window(&v), ==, 0);
        g_assert_cmpint(window_original(v.e, VK_BUS_PCI, &saved), ==, 0);
        g_assert_false(saved);
        g_assert_cmpint(window_open(v.e, VK_BUS_PCI), ==, 0);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "0");

        /* engine_free never leaves a bus without autoprobe. */
        fixture_write(v.f, "sys/bus/pci/drivers_autoprobe", "1\n");
        g_assert_cmpint(close_window(&v), ==, 0);
        g_assert_cmpint(close_window(&v), ==, 0);
        v.e = engine_free(v.e);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        env_done(&v);
}

/* Devices that appeared while the window was closed get the probe they missed; the others
 * (and all of them, when autoprobe was off to begin with) are left alone. */
static void test_window_newcomers(void)
{
        _cleanup_(strv_freep) char **before = NULL;
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:02:00.0 group=4");
        env_engine(&v);
        g_assert_cmpint(vk_bus_list_devices(v.root, VK_BUS_PCI, &before), ==, 0);
        fixture_pci(v.f, "0000:03:00.0 group=5");
        fixture_pci(v.f, "0000:04:00.0 driver=e1000 group=6");
        window_probe_newcomers(v.e, VK_BUS_PCI, before, true);
        assert_file(&v, "sys/bus/pci/drivers_probe", "0000:03:00.0");

        fixture_write(v.f, "sys/bus/pci/drivers_probe", "");
        window_probe_newcomers(v.e, VK_BUS_PCI, before, false);
        assert_file(&v, "sys/bus/pci/drivers_probe", "");
        env_done(&v);
}

/* ---- assignment rollback ---- */

static void watch_pci(env *v, const char *dev)
{
        g_autofree char *d = g_strdup_printf("sys/bus/pci/devices/%s", dev);
        watch(v, "sys/bus/pci", "bus");
        watch(v, d, "dev");
        watch(v, "sys/bus/pci/drivers/vfio-pci", "vfio-pci");
        watch(v, "run/vfiod/journal", "journal");
}

/* A device without a host driver whose probe does not bind vfio-pci: every step in order,
 * then the way back in reverse, and the tree exactly as before. */
static void test_failed_probe_rolls_back(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x00ff00 group=3");
        env_engine(&v);
        watch_pci(&v, DEV);
        assign(&v, DEV, 0);
        run_until_done(&v);

        g_assert_cmpint(v.result, <, 0);
        g_assert_cmpint(v.group_fd, <, 0);
        g_assert_cmpint(v.failure.error, ==, ENGINE_ROLLED_BACK);
        g_assert_cmpstr(v.failure.step, ==, "probe");
        g_assert_cmpstr(v.failure.device, ==, DEV);
        g_assert_cmpstr(v.failure.message, ==,
                        "probe of " DEV " with vfio-pci failed: driver did not bind; rolled back");
        assert_events(&v, (const char *const[]){"journal/3.txn:new",     /* 4: intent */
                                                "bus/drivers_autoprobe", /* 5: window closed */
                                                "dev/driver_override",   /* 6: fence */
                                                "bus/drivers_probe",     /* 8: probe */
                                                "vfio-pci/bind",         /*    ask the driver why */
                                                "dev/driver_override", /* back: override restored */
                                                "bus/drivers_autoprobe", /* back: window reopened */
                                                "journal/3.txn:gone",    /* forgotten */
                                                NULL});
        assert_file(&v, "sys/bus/pci/drivers_probe", DEV);
        assert_file(&v, "sys/bus/pci/drivers/vfio-pci/bind", DEV);
        assert_override_unset(&v, DEV);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        g_assert_false(engine_group_busy(v.e, 3));
        env_done(&v);
}

/* A member on a host driver: fenced before it is unbound; the fixture's driver link stays, so
 * the probe finds the host driver still there and everything goes back. */
static void test_fence_before_unbind(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=e1000 override=pci-stub group=3");
        env_engine(&v);
        watch_pci(&v, DEV);
        watch(&v, "sys/bus/pci/drivers/e1000", "e1000");
        assign(&v, DEV, 0);
        run_until_done(&v);

        g_assert_cmpint(v.failure.error, ==, ENGINE_ROLLED_BACK);
        g_assert_cmpstr(v.failure.step, ==, "probe");
        g_assert_cmpstr(v.failure.message, ==,
                        "probe of " DEV " with vfio-pci failed: e1000 bound it first; rolled back");
        assert_events(&v, (const char *const[]){
                              "journal/3.txn:new", "bus/drivers_autoprobe", "dev/driver_override",
                              "e1000/unbind", /* 7: after the fence, in the worker */
                              "dev/driver_override", "bus/drivers_autoprobe", "journal/3.txn:gone",
                              NULL});
        assert_file(&v, "sys/bus/pci/drivers/e1000/unbind", DEV);
        /* The previous override, exactly. */
        assert_file(&v, "sys/bus/pci/devices/" DEV "/driver_override", "pci-stub");
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        g_assert_false(file_exists(&v, "run/vfiod/journal/3.txn"));
        env_done(&v);
}

/* Everything up to the group node works (the member is already on vfio-pci), but the node is
 * a plain file that does not answer VFIO_GROUP_GET_STATUS. */
static void test_open_group_failure(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x00ff00 driver=vfio-pci group=3");
        fixture_write(v.f, "dev/vfio/3", "");
        env_engine(&v);
        watch_pci(&v, DEV);
        assign(&v, DEV, 0);
        run_until_done(&v);

        g_assert_cmpint(v.failure.error, ==, ENGINE_ROLLED_BACK);
        g_assert_cmpstr(v.failure.step, ==, "open-group");
        g_assert_cmpint(v.failure.errnum, ==, ENOTTY);
        g_assert_cmpint(v.result, ==, -ENOTTY);
        /* It was on vfio-pci before, so nothing is unbound on the way back. */
        assert_events(&v, (const char *const[]){"journal/3.txn:new", "bus/drivers_autoprobe",
                                                "dev/driver_override", "bus/drivers_autoprobe",
                                                "dev/driver_override", "journal/3.txn:gone", NULL});
        assert_file(&v, "sys/bus/pci/drivers/vfio-pci/unbind", "");
        assert_override_unset(&v, DEV);
        env_done(&v);
}

static void test_group_node_never_appears(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x00ff00 driver=vfio-pci override=vfio-pci group=3");
        env_engine(&v);
        assign(&v, DEV, 60);
        run_until_done(&v);

        g_assert_cmpint(v.failure.error, ==, ENGINE_ROLLED_BACK);
        g_assert_cmpstr(v.failure.step, ==, "open-group");
        g_assert_cmpstr(v.failure.message, ==,
                        "/dev/vfio/3 did not appear within 60 ms; rolled back");
        assert_file(&v, "sys/bus/pci/devices/" DEV "/driver_override", "vfio-pci");
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        env_done(&v);
}

static void test_missing_vfio_driver(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x00ff00 group=3");
        fixture_unlink(v.f, "sys/bus/pci/drivers/vfio-pci");
        env_engine(&v);
        watch(&v, "sys/bus/pci", "bus");
        assign(&v, DEV, 0);
        run_until_done(&v);

        g_assert_cmpint(v.failure.error, ==, ENGINE_UNSUPPORTED);
        g_assert_cmpstr(v.failure.step, ==, "load-driver");
        g_assert_cmpstr(v.failure.message, ==,
                        "the VFIO driver vfio-pci is not available: No such file or directory");
        /* Refused before the journal: nothing was written at all. */
        assert_events(&v, (const char *const[]){NULL});
        g_assert_false(file_exists(&v, "run/vfiod/journal/3.txn"));
        g_assert_false(engine_group_busy(v.e, 3));
        env_done(&v);
}

/* A second assignment of a group in flight is refused at once. */
static int on_other(sd_event_source *s, void *userdata)
{
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/* The device's bus link goes away between the plan and the transaction's start. If the loop
 * dispatched anything in between, the transaction plans again and refuses at "plan" with
 * nothing written; started in the very next iteration, it trusts the plan (nothing of ours can
 * have run) and meets the change at the first write, which rolls back. */
static void replan(bool loop_ran, const char *want_step, engine_error want_error)
{
        assign_options o = {.owner_uid = UID_INVALID};
        lease_info lease = {.owner_uid_caller = 0, .node_uid = UID_INVALID};
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        sd_event_source *other = NULL;
        engine_failure f;
        plan *p = NULL;
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x00ff00 group=3");
        env_engine(&v);
        g_assert_cmpint(engine_plan(v.e, &id, &o, &p, &f), ==, 0);
        g_assert_cmpuint(strv_length(p->blockers), ==, 0);
        if (loop_ran) {
                g_assert_cmpint(sd_event_add_defer(v.event, &other, on_other, NULL), >=, 0);
                g_assert_cmpint(sd_event_run(v.event, 0), ==, 1);
        }
        fixture_unlink(v.f, "sys/bus/pci/devices/" DEV);
        v.done = false;
        g_assert_cmpint(engine_assign(v.e, p, &o, &lease, on_done, &v, NULL), ==, 0);
        run_until_done(&v);
        g_assert_cmpint(v.result, <, 0);
        g_assert_cmpstr(v.failure.step, ==, want_step);
        g_assert_cmpint(v.failure.error, ==, want_error);
        g_assert_false(engine_group_busy(v.e, 3));
        sd_event_source_unref(other);
        env_done(&v);
}

static void test_replan_after_other_work(void)
{
        replan(true, "plan", ENGINE_NO_SUCH_DEVICE);
}

static void test_plan_trusted_next_iteration(void)
{
        replan(false, "fence", ENGINE_ROLLED_BACK);
}

static void test_busy_while_in_flight(void)
{
        assign_options o = {.owner_uid = UID_INVALID};
        lease_info lease = {.owner_uid_caller = 0, .node_uid = UID_INVALID};
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        engine_failure f;
        plan *p = NULL;
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x00ff00 group=3");
        env_engine(&v);
        assign(&v, DEV, 0);
        g_assert_cmpint(engine_plan(v.e, &id, &o, &p, &f), ==, 0);
        g_assert_cmpstr(p->blockers[0], ==, "group 3 has a transaction in progress");
        g_assert_cmpint(p->blocker_error, ==, ENGINE_BUSY);
        g_assert_cmpint(engine_assign(v.e, p, &o, &lease, on_done, &v, NULL), ==, -EPERM);
        g_assert_cmpint(engine_release(v.e, &id, 0, on_done, &v, NULL), ==, -EBUSY);
        run_until_done(&v);
        g_assert_false(engine_group_busy(v.e, 3));
        env_done(&v);
}

/* ---- a hung unbind ---- */

static void hang_unbind(env *v, const char *driver)
{
        g_autofree char *rel = g_strdup_printf("sys/bus/pci/drivers/%s/unbind", driver);
        g_autofree char *p = path_of(v, rel);
        g_assert_cmpint(g_unlink(p), ==, 0);
        g_assert_cmpint(mkfifo(p, 0600), ==, 0);
}

/* The kernel lets go: the blocked writer gets its reader and finishes. */
static int release_unbind(env *v, const char *driver)
{
        g_autofree char *rel = g_strdup_printf("sys/bus/pci/drivers/%s/unbind", driver);
        g_autofree char *p = path_of(v, rel);
        int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static void run_until_idle(env *v, int group)
{
        for (unsigned i = 0; engine_group_busy(v->e, group) && i < 1000; i++)
                g_assert_cmpint(sd_event_run(v->event, 10 * 1000), >=, 0);
        g_assert_false(engine_group_busy(v->e, group));
}

static void test_hung_unbind_times_out(void)
{
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        assign_options o = {.owner_uid = UID_INVALID};
        resumed res = {};
        engine_failure f;
        plan *p = NULL;
        char buf[64] = "";
        unsigned ticks;
        env v;
        int fd;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=e1000 group=3");
        hang_unbind(&v, "e1000");
        env_engine(&v);
        assign(&v, DEV, 200);
        ticks = run_until_done(&v);

        /* The loop kept running while the worker was stuck in the kernel. */
        g_assert_cmpuint(ticks, >=, 5);
        g_assert_cmpint(v.result, ==, -ETIMEDOUT);
        g_assert_cmpint(v.failure.error, ==, ENGINE_TIMEOUT);
        g_assert_cmpstr(v.failure.step, ==, "unbind");
        g_assert_cmpstr(v.failure.device, ==, DEV);
        g_assert_cmpstr(v.failure.message, ==,
                        "unbind of " DEV " did not finish within 200 ms; rollback incomplete: " DEV
                        ": an unbind or a probe is still blocked in the kernel");
        /* The stuck device is not touched again (its device lock is held); the window is
         * restored, and the record stays as the way back. */
        assert_file(&v, "sys/bus/pci/devices/" DEV "/driver_override", "vfio-pci");
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        g_assert_true(file_exists(&v, "run/vfiod/journal/3.txn"));
        g_assert_true(engine_group_busy(v.e, 3));
        g_assert_true(engine_device_stalled(v.e, &id));
        g_assert_null(engine_find_assignment(v.e, &id));
        /* Planning does not even read it (the kernel holds its device lock). */
        g_assert_cmpint(engine_plan(v.e, &id, &o, &p, &f), ==, 0);
        g_assert_cmpstr(p->blockers[0], ==,
                        "an unbind of " DEV
                        " is still waiting for a program to close its VFIO device fd");
        g_assert_cmpint(p->blocker_error, ==, ENGINE_BUSY);
        g_assert_null(p->group);
        plan_free(p);

        /* When the kernel lets go, the engine finishes the way back on its own, and says so. */
        engine_set_resumed_handler(v.e, on_resumed, &res);
        fd = release_unbind(&v, "e1000");
        run_until_idle(&v, 3);
        g_assert_cmpuint(res.calls, ==, 1);
        g_assert_cmpint(res.group, ==, 3);
        g_assert_cmpint(res.r, ==, 0);
        g_assert_cmpint(read(fd, buf, sizeof(buf) - 1), ==, (ssize_t)strlen(DEV));
        g_assert_cmpstr(buf, ==, DEV);
        close(fd);
        g_assert_false(engine_device_stalled(v.e, &id));
        assert_override_unset(&v, DEV);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        g_assert_false(file_exists(&v, "run/vfiod/journal/3.txn"));
        env_done(&v);
}

/* ---- release ---- */

static record *committed(env *v, const char *prev_driver, const char *prev_override)
{
        lease_info lease = {
            .owner = (char *)":1.9", .owner_uid_caller = 1000, .node_uid = UID_INVALID};
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        record *r = NULL;

        g_assert_cmpint(record_new(3, VK_BUS_PCI, &lease, "vfio-pci", &r), ==, 0);
        g_assert_cmpint(record_add_member(r, &id, false, prev_driver, prev_override), ==, 0);
        r->state = RECORD_COMMITTED;
        return r;
}

static void release(env *v, uint32_t timeout_ms)
{
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        v->done = false;
        g_assert_cmpint(engine_release(v->e, &id, timeout_ms, on_done, v, NULL), ==, 0);
        g_assert_false(v->done);
}

/* Release of a device the fixture "unbinds" (the test removes the link when the worker's
 * write arrives): vfio-pci unbound, override restored, the previous driver asked to bind. */
static void test_release(void)
{
        g_autofree char *link = NULL;
        record *r;
        env v;
        int fd;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=vfio-pci override=vfio-pci group=3");
        fixture_driver(v.f, "pci", "e1000");
        hang_unbind(&v, "vfio-pci");
        env_engine(&v);
        r = committed(&v, "e1000", NULL);
        g_assert_cmpint(journal_save(v.e->journal_fd, r), ==, 0);
        g_assert_cmpint(engine_add_record(v.e, r), ==, 0);
        watch_pci(&v, DEV);
        watch(&v, "sys/bus/pci/drivers/e1000", "e1000");

        /* The reader is there first, so the worker's write completes at once; once it has, and
         * before the loop looks at the result, the test plays the kernel and drops the link. */
        fd = release_unbind(&v, "vfio-pci");
        release(&v, 0);
        g_assert_cmpint(sd_event_run(v.event, 0), >=, 0);
        wait_event(&v, "vfio-pci/unbind");
        link = g_strdup_printf("sys/%s/driver", fixture_syspath(v.f, DEV));
        fixture_unlink(v.f, link);
        run_until_done(&v);
        close(fd);

        g_assert_cmpint(v.result, ==, 0);
        assert_events(&v, (const char *const[]){"journal/3.txn:new",     /* state=releasing */
                                                "bus/drivers_autoprobe", /* window closed */
                                                "vfio-pci/unbind",       /* the worker's write */
                                                "dev/driver:gone",       /* the "kernel" lets go */
                                                "dev/driver_override",   /* override restored */
                                                "e1000/bind", /* the driver it came from */
                                                "bus/drivers_autoprobe", /* window reopened */
                                                "journal/3.txn:gone", NULL});
        assert_file(&v, "sys/bus/pci/drivers/e1000/bind", DEV);
        assert_override_unset(&v, DEV);
        g_assert_false(engine_group_busy(v.e, 3));
        env_done(&v);
}

/* A release whose unbind hangs (someone holds the device): Timeout, the record stays
 * "releasing", and the next release after the kernel let go finishes it. */
static void test_release_timeout(void)
{
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        resumed res = {};
        g_autofree char *journal = NULL;
        env v;
        int fd;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=vfio-pci override=vfio-pci group=3");
        hang_unbind(&v, "vfio-pci");
        env_engine(&v);
        record *r = committed(&v, NULL, NULL);
        g_assert_cmpint(engine_add_record(v.e, r), ==, 0);
        g_assert_cmpint(journal_save(v.e->journal_fd, r), ==, 0);

        release(&v, 100);
        run_until_done(&v);
        g_assert_cmpint(v.failure.error, ==, ENGINE_TIMEOUT);
        g_assert_cmpstr(v.failure.step, ==, "unbind");
        g_assert_cmpstr(v.failure.message, ==,
                        "unbind of " DEV " from vfio-pci did not finish within 100 ms (the device "
                        "is still in use)");
        journal = read_file(&v, "run/vfiod/journal/3.txn");
        g_assert_nonnull(strstr(journal, "\nstate=releasing\n"));
        /* Untouched (as the fixture wrote it): the group is still in use. */
        assert_file(&v, "sys/bus/pci/devices/" DEV "/driver_override", "vfio-pci\n");
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        g_assert_true(engine_group_busy(v.e, 3));
        g_assert_nonnull(engine_find_assignment(v.e, &id));

        /* A retry while the kernel still holds it says so without touching anything. */
        release(&v, 100);
        run_until_done(&v);
        g_assert_cmpint(v.failure.error, ==, ENGINE_TIMEOUT);
        g_assert_cmpstr(v.failure.message, ==,
                        "an earlier unbind of " DEV " is still blocked in the kernel (the device "
                        "is still in use)");

        /* The kernel lets go and the link goes with it; the engine resumes by itself. */
        engine_set_resumed_handler(v.e, on_resumed, &res);
        fd = release_unbind(&v, "vfio-pci");
        g_autofree char *link = g_strdup_printf("sys/%s/driver", fixture_syspath(v.f, DEV));
        fixture_unlink(v.f, link);
        run_until_idle(&v, 3);
        close(fd);
        g_assert_cmpuint(res.calls, ==, 1);
        g_assert_cmpint(res.group, ==, 3);
        g_assert_cmpint(res.r, ==, 0);
        g_assert_false(engine_device_stalled(v.e, &id));
        assert_override_unset(&v, DEV);
        g_assert_false(file_exists(&v, "run/vfiod/journal/3.txn"));
        g_assert_null(engine_find_assignment(v.e, &id));
        g_assert_cmpint(engine_release(v.e, &id, 0, on_done, &v, NULL), ==, -ENOENT);
        env_done(&v);
}

/* ---- recovery ---- */

static void write_record(env *v, const char *text)
{
        g_autofree char *dir = path_of(v, "run/vfiod/journal");
        g_autofree char *p = g_build_filename(dir, "3.txn", NULL);
        g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
        g_assert_true(g_file_set_contents(p, text, -1, NULL));
}

#define RECORD_HEAD(state)                                                                         \
        "vfiod-journal-v1\nstate=" state "\ngroup=3\nbus=pci\ndriver=vfio-pci\nlifetime=client\n"  \
        "owner=:1.5\ncaller-uid=1000\nnode-uid=-\nautoprobe=1\nconsole=untouched\n"

/* Killed after the unbind: the device is fenced and driverless, autoprobe is off. */
static void test_recover_assigning(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 override=vfio-pci group=3");
        fixture_driver(v.f, "pci", "e1000");
        fixture_write(v.f, "sys/bus/pci/drivers_autoprobe", "0\n");
        write_record(&v, RECORD_HEAD("assigning") "member=" DEV " moved e1000 -\nend\n");
        env_engine(&v);
        g_assert_cmpint(engine_recover(v.e), ==, 0);

        assert_override_unset(&v, DEV);
        assert_file(&v, "sys/bus/pci/drivers/e1000/bind", DEV);
        assert_file(&v, "sys/bus/pci/drivers_autoprobe", "1");
        g_assert_false(file_exists(&v, "run/vfiod/journal/3.txn"));
        g_assert_false(engine_group_busy(v.e, 3));
        env_done(&v);
}

static void vtcon(env *v, unsigned n, const char *name, bool bound)
{
        g_autofree char *dir = g_strdup_printf("sys/devices/virtual/vtconsole/vtcon%u", n);
        g_autofree char *p_name = g_strconcat(dir, "/name", NULL);
        g_autofree char *p_bind = g_strconcat(dir, "/bind", NULL);
        g_autofree char *link = g_strdup_printf("sys/class/vtconsole/vtcon%u", n);
        g_autofree char *target = g_strdup_printf("../../devices/virtual/vtconsole/vtcon%u", n);
        g_autofree char *content = g_strconcat(name, "\n", NULL);

        fixture_write(v->f, p_name, content);
        fixture_write(v->f, p_bind, bound ? "1\n" : "0\n");
        fixture_symlink(v->f, link, target);
}

#define GPU "0000:00:02.0"
#define CONSOLE_RECORD                                                                             \
        "vfiod-journal-v1\nstate=assigning\ngroup=3\nbus=pci\ndriver=vfio-pci\n"                   \
        "lifetime=client\nowner=:1.5\ncaller-uid=0\nnode-uid=-\nautoprobe=1\nconsole=taken\n"      \
        "vtcon=vtcon1\nmember=" GPU " moved bochs-drm -\nend\n"

/* A console takeover interrupted after the GPU left its driver: the driver is asked back and,
 * since the console that was bound is gone, the consoles are bound again. */
static void test_recover_console(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, GPU " class=0x030000 override=vfio-pci group=3");
        fixture_driver(v.f, "pci", "bochs-drm");
        vtcon(&v, 0, "(S) dummy device", false);
        vtcon(&v, 1, "(M) frame buffer device", false);
        write_record(&v, CONSOLE_RECORD);
        env_engine(&v);
        g_assert_cmpint(engine_recover(v.e), ==, 0);
        assert_file(&v, "sys/bus/pci/drivers/bochs-drm/bind", GPU);
        assert_file(&v, "sys/class/vtconsole/vtcon1/bind", "1");
        assert_file(&v, "sys/class/vtconsole/vtcon0/bind", "0\n");
        env_done(&v);

        /* The console never went away: one an administrator unbound stays unbound. */
        env_init(&v);
        fixture_pci(v.f, GPU " class=0x030000 override=vfio-pci group=3");
        fixture_driver(v.f, "pci", "bochs-drm");
        vtcon(&v, 0, "(S) dummy device", false);
        vtcon(&v, 1, "(M) frame buffer device", true);
        vtcon(&v, 2, "(M) frame buffer device", false);
        write_record(&v, CONSOLE_RECORD);
        env_engine(&v);
        g_assert_cmpint(engine_recover(v.e), ==, 0);
        assert_file(&v, "sys/class/vtconsole/vtcon2/bind", "0\n");
        env_done(&v);
}

/* Killed with the device still on vfio-pci, which this fixture never lets go of: the unbind
 * is tried, and the record stays for the next attempt. */
static void test_recover_keeps_what_it_cannot_finish(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=vfio-pci override=vfio-pci group=3");
        write_record(&v, RECORD_HEAD("releasing") "member=" DEV " moved - -\nend\n");
        env_engine(&v);
        g_assert_cmpint(engine_recover(v.e), ==, 0);

        assert_file(&v, "sys/bus/pci/drivers/vfio-pci/unbind", DEV);
        g_assert_true(file_exists(&v, "run/vfiod/journal/3.txn"));
        g_assert_true(engine_group_busy(v.e, 3));
        env_done(&v);
}

static void test_recover_committed(void)
{
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        engine_assignment *a = NULL;
        size_t n = 0;
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=vfio-pci override=vfio-pci group=3");
        write_record(&v, RECORD_HEAD("committed") "member=" DEV " moved e1000 -\nend\n");
        env_engine(&v);
        g_assert_cmpint(engine_recover(v.e), ==, 0);

        g_assert_cmpint(engine_list_assignments(v.e, &a, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpint(a[0].group, ==, 3);
        g_assert_cmpstr(a[0].members[0], ==, "pci:" DEV);
        g_assert_null(a[0].members[1]);
        g_assert_cmpstr(a[0].lease.owner, ==, ":1.5");
        g_assert_cmpstr(a[0].lease.driver, ==, "vfio-pci");
        g_assert_cmpint(a[0].lease.lifetime, ==, LEASE_CLIENT);
        g_assert_cmpuint(a[0].lease.owner_uid_caller, ==, 1000);
        g_assert_cmpuint(a[0].lease.node_uid, ==, UID_INVALID);
        engine_assignments_free(a, n);
        g_assert_nonnull(engine_find_assignment(v.e, &id));
        /* Nothing was touched. */
        assert_file(&v, "sys/bus/pci/devices/" DEV "/driver_override", "vfio-pci\n");
        env_done(&v);

        /* The device went back to e1000 behind our back (or the machine rebooted into a state
         * without it): the assignment is over. */
        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=e1000 group=3");
        write_record(&v, RECORD_HEAD("committed") "member=" DEV " moved e1000 -\nend\n");
        env_engine(&v);
        g_assert_cmpint(engine_recover(v.e), ==, 0);
        g_assert_cmpint(engine_list_assignments(v.e, &a, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        g_assert_false(file_exists(&v, "run/vfiod/journal/3.txn"));
        env_done(&v);
}

static void test_recover_malformed(void)
{
        vk_device_id id = {.bus = VK_BUS_PCI, .name = DEV};
        assign_options o = {.owner_uid = UID_INVALID};
        engine_failure f;
        plan *p = NULL;
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=e1000 group=3");
        write_record(&v, RECORD_HEAD("assigning") "member=" DEV " moved e1000\nend\n");
        fixture_write(v.f, "run/vfiod/journal/4.txn.tmp", "half a record");
        env_engine(&v);
        g_assert_cmpint(engine_recover(v.e), ==, 0);

        /* Kept for a person to read, and the group is left alone meanwhile. */
        g_assert_true(file_exists(&v, "run/vfiod/journal/3.txn"));
        g_assert_false(file_exists(&v, "run/vfiod/journal/4.txn.tmp"));
        g_assert_true(engine_group_busy(v.e, 3));
        g_assert_cmpint(engine_plan(v.e, &id, &o, &p, &f), ==, 0);
        g_assert_cmpstr(p->blockers[0], ==,
                        "group 3 has an unreadable journal record (see the log)");
        plan_free(p);
        env_done(&v);
}

/* ---- devices appearing in our groups ---- */

static void test_device_added(void)
{
        vk_device_id newcomer = {.bus = VK_BUS_PCI, .name = "0000:01:00.1"};
        vk_device_id stranger = {.bus = VK_BUS_PCI, .name = "0000:02:00.0"};
        g_autofree char *journal = NULL;
        record *r;
        env v;

        env_init(&v);
        fixture_pci(v.f, DEV " class=0x020000 driver=vfio-pci override=vfio-pci group=3");
        env_engine(&v);
        r = committed(&v, "e1000", NULL);
        g_assert_cmpint(engine_add_record(v.e, r), ==, 0);
        g_assert_cmpint(journal_save(v.e->journal_fd, r), ==, 0);

        fixture_pci(v.f, "0000:01:00.1 class=0x040300 driver=snd_hda_intel group=3");
        fixture_pci(v.f, "0000:02:00.0 class=0x040300 driver=snd_hda_intel group=4");
        g_assert_cmpint(engine_device_added(v.e, &stranger), ==, 0);
        assert_file(&v, "sys/bus/pci/devices/0000:02:00.0/driver_override", "(null)\n");

        g_assert_cmpint(engine_device_added(v.e, &newcomer), ==, 1);
        assert_file(&v, "sys/bus/pci/devices/0000:01:00.1/driver_override", "vfio-pci");
        journal = read_file(&v, "run/vfiod/journal/3.txn");
        g_assert_nonnull(strstr(journal, "\nmember=0000:01:00.1 added - -\n"));
        g_assert_nonnull(engine_find_assignment(v.e, &newcomer));

        /* Its host driver is unbound in the background, then it is probed (for vfio-pci). */
        for (unsigned i = 0; engine_device_stalled(v.e, &newcomer) && i < 500; i++)
                g_assert_cmpint(sd_event_run(v.event, 10 * 1000), >=, 0);
        g_assert_false(engine_device_stalled(v.e, &newcomer));
        assert_file(&v, "sys/bus/pci/drivers/snd_hda_intel/unbind", "0000:01:00.1");
        assert_file(&v, "sys/bus/pci/drivers_probe", "0000:01:00.1");

        /* A group on its way back takes no newcomers. */
        r->returning = true;
        fixture_pci(v.f, "0000:01:00.2 class=0x0c0330 group=3");
        vk_device_id late = {.bus = VK_BUS_PCI, .name = "0000:01:00.2"};
        g_assert_cmpint(engine_device_added(v.e, &late), ==, 0);
        assert_file(&v, "sys/bus/pci/devices/0000:01:00.2/driver_override", "(null)\n");
        env_done(&v);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/transaction/window-refcount", test_window_refcount);
        g_test_add_func("/transaction/window-newcomers", test_window_newcomers);
        g_test_add_func("/transaction/failed-probe-rolls-back", test_failed_probe_rolls_back);
        g_test_add_func("/transaction/fence-before-unbind", test_fence_before_unbind);
        g_test_add_func("/transaction/open-group-failure", test_open_group_failure);
        g_test_add_func("/transaction/group-node-never-appears", test_group_node_never_appears);
        g_test_add_func("/transaction/missing-vfio-driver", test_missing_vfio_driver);
        g_test_add_func("/transaction/busy-while-in-flight", test_busy_while_in_flight);
        g_test_add_func("/transaction/replan-after-other-work", test_replan_after_other_work);
        g_test_add_func("/transaction/plan-trusted-next-iteration",
                        test_plan_trusted_next_iteration);
        g_test_add_func("/transaction/hung-unbind-times-out", test_hung_unbind_times_out);
        g_test_add_func("/transaction/release", test_release);
        g_test_add_func("/transaction/release-timeout", test_release_timeout);
        g_test_add_func("/transaction/recover-assigning", test_recover_assigning);
        g_test_add_func("/transaction/recover-keeps-what-it-cannot-finish",
                        test_recover_keeps_what_it_cannot_finish);
        g_test_add_func("/transaction/recover-console", test_recover_console);
        g_test_add_func("/transaction/recover-committed", test_recover_committed);
        g_test_add_func("/transaction/recover-malformed", test_recover_malformed);
        g_test_add_func("/transaction/device-added", test_device_added);
        return g_test_run();
}
