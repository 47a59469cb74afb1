/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Driver-core primitives on fixture trees. Fixture attributes are plain files, so these tests
 * check the exact bytes written to the exact attribute, that errors from open() and write()
 * come back unchanged, and that bad driver names never reach a path. The unbind worker is
 * tested against a FIFO standing in for the "unbind" attribute: writing to it blocks until the
 * test opens the other end, like an unbind waiting for a device fd to close.
 */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "driver-core.h"
#include "fixture.h"
#include "macros.h"

typedef struct {
        fixture *f;
        vk_root *root;
} Fx;

static void fx_setup(Fx *fx, gconstpointer data)
{
        fx->f = fixture_new();
        fixture_pci(fx->f, "0000:01:00.0 driver=e1000 group=3");
        fixture_pci(fx->f, "0000:02:00.0 group=4");
        fixture_driver(fx->f, "pci", "vfio-pci");
        fixture_platform(fx->f, "fff51000.ethernet driver=stmmaceth group=5");
        g_assert_cmpint(vk_root_open(fixture_prefix(fx->f), &fx->root), ==, 0);
}

static void fx_teardown(Fx *fx, gconstpointer data)
{
        vk_root_unref(fx->root);
        fixture_free(fx->f);
}

static vk_device_id dev(vk_bus bus, const char *name)
{
        vk_device_id id = {.bus = bus};
        g_strlcpy(id.name, name, sizeof(id.name));
        return id;
}

static char *fixture_path(Fx *fx, const char *path)
{
        return g_build_filename(fixture_prefix(fx->f), path, NULL);
}

/* The raw bytes of a fixture file: what our write left there, newline included. */
static char *contents(Fx *fx, const char *path)
{
        g_autofree char *p = fixture_path(fx, path);
        g_autoptr(GError) error = NULL;
        char *s = NULL;

        g_file_get_contents(p, &s, NULL, &error);
        g_assert_no_error(error);
        return s;
}

#define assert_contents(fx, path, expected)                                                        \
        do {                                                                                       \
                g_autofree char *_c = contents((fx), (path));                                      \
                g_assert_cmpstr(_c, ==, (expected));                                               \
        } while (0)

#define OVERRIDE_PCI "sys/bus/pci/devices/0000:01:00.0/driver_override"

static void test_override_set_clear_restore(Fx *fx, gconstpointer data)
{
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");

        assert_contents(fx, OVERRIDE_PCI, "(null)\n");
        g_assert_cmpint(vk_dc_set_override(fx->root, &id, "vfio-pci"), ==, 0);
        assert_contents(fx, OVERRIDE_PCI, "vfio-pci");

        /* The kernel clears on "\n" (or ""); "\n" is what we send. */
        g_assert_cmpint(vk_dc_clear_override(fx->root, &id), ==, 0);
        assert_contents(fx, OVERRIDE_PCI, "\n");

        g_assert_cmpint(vk_dc_restore_override(fx->root, &id, "e1000"), ==, 0);
        assert_contents(fx, OVERRIDE_PCI, "e1000");
        g_assert_cmpint(vk_dc_restore_override(fx->root, &id, NULL), ==, 0);
        assert_contents(fx, OVERRIDE_PCI, "\n");
}

static void test_override_platform(Fx *fx, gconstpointer data)
{
        vk_device_id id = dev(VK_BUS_PLATFORM, "fff51000.ethernet");

        g_assert_cmpint(vk_dc_set_override(fx->root, &id, "vfio-platform"), ==, 0);
        assert_contents(fx, "sys/devices/platform/fff51000.ethernet/driver_override",
                        "vfio-platform");
}

static void test_override_bad_driver_names(Fx *fx, gconstpointer data)
{
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");
        char long_name[VK_NAME_MAX + 2];
        const char *bad[] = {"",         ".",          "..",   "../e1000",
                             "vfio/pci", "vfio-pci\n", "a..b", long_name};

        memset(long_name, 'x', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_test_message("bad driver name #%zu", i);
                g_assert_cmpint(vk_dc_set_override(fx->root, &id, bad[i]), ==, -EINVAL);
                g_assert_cmpint(vk_dc_bind(fx->root, &id, bad[i]), ==, -EINVAL);
                g_assert_cmpint(vk_dc_unbind(fx->root, &id, bad[i]), ==, -EINVAL);
                g_assert_false(vk_dc_driver_registered(fx->root, VK_BUS_PCI, bad[i]));
        }
        g_assert_cmpint(vk_dc_set_override(fx->root, &id, NULL), ==, -EINVAL);
        assert_contents(fx, OVERRIDE_PCI, "(null)\n");

        /* The longest name a driver can have is fine. */
        long_name[VK_NAME_MAX] = '\0';
        g_assert_cmpint(vk_dc_set_override(fx->root, &id, long_name), ==, 0);
        assert_contents(fx, OVERRIDE_PCI, long_name);
}

static void test_bad_device_ids(Fx *fx, gconstpointer data)
{
        vk_device_id empty = dev(VK_BUS_PCI, "");
        vk_device_id bad_bus = dev(VK_BUS_PCI, "0000:01:00.0");
        bad_bus.bus = _VK_BUS_MAX;

        g_assert_cmpint(vk_dc_set_override(fx->root, &empty, "vfio-pci"), ==, -EINVAL);
        g_assert_cmpint(vk_dc_clear_override(fx->root, &empty), ==, -EINVAL);
        g_assert_cmpint(vk_dc_unbind(fx->root, &empty, "e1000"), ==, -EINVAL);
        g_assert_cmpint(vk_dc_probe(fx->root, &empty), ==, -EINVAL);
        g_assert_cmpint(vk_dc_bind(fx->root, &bad_bus, "vfio-pci"), ==, -EINVAL);
        g_assert_cmpint(vk_dc_probe(fx->root, &bad_bus), ==, -EINVAL);
        g_assert_cmpint(vk_dc_probe(fx->root, NULL), ==, -EINVAL);
        assert_contents(fx, "sys/bus/pci/drivers_probe", "");
}

static void test_bind_unbind_probe_bytes(Fx *fx, gconstpointer data)
{
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");

        g_assert_cmpint(vk_dc_unbind(fx->root, &id, "e1000"), ==, 0);
        assert_contents(fx, "sys/bus/pci/drivers/e1000/unbind", "0000:01:00.0");
        g_assert_cmpint(vk_dc_bind(fx->root, &id, "vfio-pci"), ==, 0);
        assert_contents(fx, "sys/bus/pci/drivers/vfio-pci/bind", "0000:01:00.0");
        g_assert_cmpint(vk_dc_probe(fx->root, &id), ==, 0);
        assert_contents(fx, "sys/bus/pci/drivers_probe", "0000:01:00.0");

        vk_device_id plat = dev(VK_BUS_PLATFORM, "fff51000.ethernet");
        g_assert_cmpint(vk_dc_unbind(fx->root, &plat, "stmmaceth"), ==, 0);
        assert_contents(fx, "sys/bus/platform/drivers/stmmaceth/unbind", "fff51000.ethernet");
        g_assert_cmpint(vk_dc_probe(fx->root, &plat), ==, 0);
        assert_contents(fx, "sys/bus/platform/drivers_probe", "fff51000.ethernet");
}

/* Errors of open() and of write() both come back as they are. */
static void test_errno_propagation(Fx *fx, gconstpointer data)
{
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");
        vk_device_id gone = dev(VK_BUS_PCI, "0000:09:00.0");

        /* Driver not registered: no bus/pci/drivers/<name>/bind. */
        g_assert_cmpint(vk_dc_bind(fx->root, &id, "e1000e"), ==, -ENOENT);
        g_assert_cmpint(vk_dc_unbind(fx->root, &id, "e1000e"), ==, -ENOENT);
        /* Device not there: no driver_override. */
        g_assert_cmpint(vk_dc_set_override(fx->root, &gone, "vfio-pci"), ==, -ENOENT);
        g_assert_cmpint(vk_dc_clear_override(fx->root, &gone), ==, -ENOENT);

        /* An attribute that cannot be opened for writing. */
        fixture_unlink(fx->f, "sys/bus/pci/drivers/vfio-pci/bind");
        fixture_mkdir(fx->f, "sys/bus/pci/drivers/vfio-pci/bind");
        g_assert_cmpint(vk_dc_bind(fx->root, &id, "vfio-pci"), ==, -EISDIR);

        /* A store callback failing: /dev/full's write() fails with ENOSPC. */
        g_autofree char *probe = fixture_path(fx, "sys/bus/pci/drivers_probe");
        g_assert_no_errno(unlink(probe));
        g_assert_no_errno(mknod(probe, S_IFCHR | 0600, makedev(1, 7)));
        g_assert_cmpint(vk_dc_probe(fx->root, &id), ==, -ENOSPC);
}

static void test_autoprobe(Fx *fx, gconstpointer data)
{
        bool on = false;

        g_assert_cmpint(vk_dc_get_autoprobe(fx->root, VK_BUS_PCI, &on), ==, 0);
        g_assert_true(on);
        g_assert_cmpint(vk_dc_set_autoprobe(fx->root, VK_BUS_PCI, false), ==, 0);
        assert_contents(fx, "sys/bus/pci/drivers_autoprobe", "0");
        g_assert_cmpint(vk_dc_get_autoprobe(fx->root, VK_BUS_PCI, &on), ==, 0);
        g_assert_false(on);
        g_assert_cmpint(vk_dc_set_autoprobe(fx->root, VK_BUS_PCI, true), ==, 0);
        assert_contents(fx, "sys/bus/pci/drivers_autoprobe", "1");

        /* Other buses are separate files. */
        g_assert_cmpint(vk_dc_set_autoprobe(fx->root, VK_BUS_AMBA, false), ==, 0);
        assert_contents(fx, "sys/bus/amba/drivers_autoprobe", "0");
        assert_contents(fx, "sys/bus/platform/drivers_autoprobe", "1\n");

        /* Garbage or nothing to read: an error, and *ret untouched. */
        on = true;
        fixture_write(fx->f, "sys/bus/platform/drivers_autoprobe", "maybe\n");
        g_assert_cmpint(vk_dc_get_autoprobe(fx->root, VK_BUS_PLATFORM, &on), <, 0);
        g_assert_true(on);
        fixture_unlink(fx->f, "sys/bus/platform/drivers_autoprobe");
        g_assert_cmpint(vk_dc_get_autoprobe(fx->root, VK_BUS_PLATFORM, &on), ==, -ENOENT);
        g_assert_cmpint(vk_dc_set_autoprobe(fx->root, VK_BUS_PLATFORM, true), ==, -ENOENT);
        g_assert_true(on);
        g_assert_cmpint(vk_dc_get_autoprobe(fx->root, _VK_BUS_MAX, &on), ==, -EINVAL);
        g_assert_cmpint(vk_dc_set_autoprobe(fx->root, _VK_BUS_MAX, true), ==, -EINVAL);
}

static void test_driver_registered(Fx *fx, gconstpointer data)
{
        g_assert_true(vk_dc_driver_registered(fx->root, VK_BUS_PCI, "e1000"));
        g_assert_true(vk_dc_driver_registered(fx->root, VK_BUS_PCI, "vfio-pci"));
        g_assert_true(vk_dc_driver_registered(fx->root, VK_BUS_PLATFORM, "stmmaceth"));
        g_assert_false(vk_dc_driver_registered(fx->root, VK_BUS_PLATFORM, "e1000"));
        g_assert_false(vk_dc_driver_registered(fx->root, VK_BUS_PCI, "vfio_pci"));
        g_assert_false(vk_dc_driver_registered(fx->root, VK_BUS_PCI, NULL));
        /* A file where a driver directory would be is not a driver. */
        fixture_write(fx->f, "sys/bus/pci/drivers/stray", "");
        g_assert_false(vk_dc_driver_registered(fx->root, VK_BUS_PCI, "stray"));
}

/* ---- the unbind and probe workers ---- */

#define UNBIND_E1000 "sys/bus/pci/drivers/e1000/unbind"

static void make_fifo(Fx *fx, const char *path)
{
        g_autofree char *p = fixture_path(fx, path);
        g_assert_no_errno(unlink(p));
        g_assert_no_errno(mkfifo(p, 0600));
}

/* Plays the kernel finishing the unbind: opens the FIFO and takes what the worker wrote. */
static char *release_fifo(Fx *fx, const char *path)
{
        g_autofree char *p = fixture_path(fx, path);
        GString *got = g_string_new(NULL);
        char buf[256];
        ssize_t n;

        int fd = open(p, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                g_string_append_len(got, buf, n);
        g_assert_cmpint(n, ==, 0);
        close(fd);
        return g_string_free(got, FALSE);
}

static void test_job_blocks_in_worker(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *job = NULL;
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");
        uint64_t v = 0;

        make_fifo(fx, UNBIND_E1000);
        /* Returns at once although the write cannot complete yet. */
        g_assert_cmpint(vk_dc_unbind_start(fx->root, &id, "e1000", &job), ==, 0);
        int fd = vk_dc_job_fd(job);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, FD_CLOEXEC);
        g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);

        g_assert_false(fixture_fd_readable(fd, 200));
        g_assert_cmpint(vk_dc_job_result(job), ==, -EAGAIN);
        g_assert_cmpint(read(fd, &v, sizeof(v)), ==, -1);
        g_assert_cmpint(errno, ==, EAGAIN);

        g_autofree char *written = release_fifo(fx, UNBIND_E1000);
        g_assert_cmpstr(written, ==, "0000:01:00.0");

        g_assert_true(fixture_fd_readable(fd, 10000));
        g_assert_cmpint(read(fd, &v, sizeof(v)), ==, sizeof(v));
        g_assert_cmpuint(v, ==, 1);
        g_assert_cmpint(vk_dc_job_result(job), ==, 0);
}

/* The caller gives up (its timeout) while the worker is still blocked; the worker finishes and
 * frees the job on its own. ASan and valgrind runs check that nothing leaks or is used late. */
static void test_job_abandoned_while_blocked(Fx *fx, gconstpointer data)
{
        vk_dc_job *job = NULL;
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");

        make_fifo(fx, UNBIND_E1000);
        g_assert_cmpint(vk_dc_unbind_start(fx->root, &id, "e1000", &job), ==, 0);
        int fd = vk_dc_job_fd(job);
        /* A second handle on the same eventfd, to watch completion after we let go. */
        _cleanup_(closep) int watch = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        g_assert_cmpint(watch, >=, 0);

        g_assert_false(fixture_fd_readable(watch, 100));
        g_assert_null(vk_dc_job_unref(job));

        g_autofree char *written = release_fifo(fx, UNBIND_E1000);
        g_assert_cmpstr(written, ==, "0000:01:00.0");
        g_assert_true(fixture_fd_readable(watch, 10000));

        /* The worker closes the job's own eventfd when it frees the job. */
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        while (fcntl(fd, F_GETFD) >= 0) {
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
                g_usleep(1000);
        }
        g_assert_cmpint(errno, ==, EBADF);
}

static void test_job_reports_errors(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *job = NULL;
        vk_dc_job *untouched = (vk_dc_job *)&untouched;
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");

        /* Bad arguments fail before any thread starts, and leave *ret alone. */
        g_assert_cmpint(vk_dc_unbind_start(fx->root, &id, "../e1000", &untouched), ==, -EINVAL);
        g_assert_true(untouched == (vk_dc_job *)&untouched);
        g_assert_cmpint(vk_dc_unbind_start(fx->root, &id, "e1000", NULL), ==, -EINVAL);
        g_assert_cmpint(vk_dc_job_fd(NULL), ==, -EINVAL);
        g_assert_cmpint(vk_dc_job_result(NULL), ==, -EINVAL);
        g_assert_null(vk_dc_job_unref(NULL));

        /* The write's error arrives through the job: e1000e is not registered. */
        g_assert_cmpint(vk_dc_unbind_start(fx->root, &id, "e1000e", &job), ==, 0);
        g_assert_true(fixture_fd_readable(vk_dc_job_fd(job), 10000));
        g_assert_cmpint(vk_dc_job_result(job), ==, -ENOENT);
}

/* A probe in a worker writes the device's name to the bus's drivers_probe, and returns before
 * the kernel's probe does. */
static void test_probe_job(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *job = NULL;
        vk_dc_job *untouched = (vk_dc_job *)&untouched;
        vk_device_id id = dev(VK_BUS_PLATFORM, "fff51000.ethernet");
        vk_device_id bad = dev(VK_BUS_PCI, "0000:01:00.0");

        bad.bus = _VK_BUS_INVALID;
        g_assert_cmpint(vk_dc_probe_start(fx->root, &bad, &untouched), ==, -EINVAL);
        g_assert_true(untouched == (vk_dc_job *)&untouched);
        g_assert_cmpint(vk_dc_probe_start(fx->root, &id, NULL), ==, -EINVAL);

        make_fifo(fx, "sys/bus/platform/drivers_probe");
        g_assert_cmpint(vk_dc_probe_start(fx->root, &id, &job), ==, 0);
        g_assert_false(fixture_fd_readable(vk_dc_job_fd(job), 200));
        g_assert_cmpint(vk_dc_job_result(job), ==, -EAGAIN);

        g_autofree char *written = release_fifo(fx, "sys/bus/platform/drivers_probe");
        g_assert_cmpstr(written, ==, "fff51000.ethernet");
        g_assert_true(fixture_fd_readable(vk_dc_job_fd(job), 10000));
        g_assert_cmpint(vk_dc_job_result(job), ==, 0);
}

/* A bind in a worker writes the device's name to the driver's bind file; the probe's errno comes
 * back through the job, as vk_dc_bind would return it. */
static void test_bind_job(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *job = NULL, *missing = NULL;
        vk_dc_job *untouched = (vk_dc_job *)&untouched;
        vk_device_id id = dev(VK_BUS_PCI, "0000:01:00.0");

        g_assert_cmpint(vk_dc_bind_start(fx->root, &id, "../e1000", &untouched), ==, -EINVAL);
        g_assert_true(untouched == (vk_dc_job *)&untouched);
        g_assert_cmpint(vk_dc_bind_start(fx->root, &id, "e1000", NULL), ==, -EINVAL);

        make_fifo(fx, "sys/bus/pci/drivers/e1000/bind");
        g_assert_cmpint(vk_dc_bind_start(fx->root, &id, "e1000", &job), ==, 0);
        g_assert_false(fixture_fd_readable(vk_dc_job_fd(job), 200));
        g_assert_cmpint(vk_dc_job_result(job), ==, -EAGAIN);
        g_autofree char *written = release_fifo(fx, "sys/bus/pci/drivers/e1000/bind");
        g_assert_cmpstr(written, ==, "0000:01:00.0");
        g_assert_true(fixture_fd_readable(vk_dc_job_fd(job), 10000));
        g_assert_cmpint(vk_dc_job_result(job), ==, 0);

        /* e1000e is not registered: the write's error arrives through the job. */
        g_assert_cmpint(vk_dc_bind_start(fx->root, &id, "e1000e", &missing), ==, 0);
        g_assert_true(fixture_fd_readable(vk_dc_job_fd(missing), 10000));
        g_assert_cmpint(vk_dc_job_result(missing), ==, -ENOENT);
}

/* Several workers at once, each completing independently in the order the test releases them. */
static void test_jobs_independent(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *a = NULL;
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *b = NULL;
        vk_device_id id1 = dev(VK_BUS_PCI, "0000:01:00.0");
        vk_device_id id2 = dev(VK_BUS_PLATFORM, "fff51000.ethernet");

        make_fifo(fx, UNBIND_E1000);
        make_fifo(fx, "sys/bus/platform/drivers/stmmaceth/unbind");
        g_assert_cmpint(vk_dc_unbind_start(fx->root, &id1, "e1000", &a), ==, 0);
        g_assert_cmpint(vk_dc_unbind_start(fx->root, &id2, "stmmaceth", &b), ==, 0);
        g_assert_cmpint(vk_dc_job_fd(a), !=, vk_dc_job_fd(b));

        g_autofree char *w2 = release_fifo(fx, "sys/bus/platform/drivers/stmmaceth/unbind");
        g_assert_cmpstr(w2, ==, "fff51000.ethernet");
        g_assert_true(fixture_fd_readable(vk_dc_job_fd(b), 10000));
        g_assert_cmpint(vk_dc_job_result(b), ==, 0);
        g_assert_cmpint(vk_dc_job_result(a), ==, -EAGAIN);
        g_assert_false(fixture_fd_readable(vk_dc_job_fd(a), 0));

        g_autofree char *w1 = release_fifo(fx, UNBIND_E1000);
        g_assert_cmpstr(w1, ==, "0000:01:00.0");
        g_assert_true(fixture_fd_readable(vk_dc_job_fd(a), 10000));
        g_assert_cmpint(vk_dc_job_result(a), ==, 0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

#define ADD(name, fn) g_test_add(name, Fx, NULL, fx_setup, fn, fx_teardown)
        ADD("/driver-core/override/set-clear-restore", test_override_set_clear_restore);
        ADD("/driver-core/override/platform", test_override_platform);
        ADD("/driver-core/override/bad-driver-names", test_override_bad_driver_names);
        ADD("/driver-core/bad-device-ids", test_bad_device_ids);
        ADD("/driver-core/bind-unbind-probe", test_bind_unbind_probe_bytes);
        ADD("/driver-core/errno", test_errno_propagation);
        ADD("/driver-core/autoprobe", test_autoprobe);
        ADD("/driver-core/driver-registered", test_driver_registered);
        ADD("/driver-core/job/blocks-in-worker", test_job_blocks_in_worker);
        ADD("/driver-core/job/abandoned-while-blocked", test_job_abandoned_while_blocked);
        ADD("/driver-core/job/errors", test_job_reports_errors);
        ADD("/driver-core/job/independent", test_jobs_independent);
        ADD("/driver-core/job/probe", test_probe_job);
        ADD("/driver-core/job/bind", test_bind_job);
#undef ADD
        return g_test_run();
}
