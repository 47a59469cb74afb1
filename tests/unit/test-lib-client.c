/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * libvfiod against the org.vfiod1 mock (lib/tests/vfiod_mock.py). Run through
 * lib/tests/mockbus.py, which provides the bus in $DBUS_SYSTEM_BUS_ADDRESS and the file the
 * mock hands out as the group fd in $VFIOD_TEST_GROUP_FILE. Each case starts from the mock's
 * initial state: every case that assigns releases again.
 */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfiod.h"

#define DEV0     "/org/vfiod1/device/pci_3a0000_3a01_3a00_2e0"
#define DEV1     "/org/vfiod1/device/pci_3a0000_3a01_3a00_2e1"
#define PLATFORM "/org/vfiod1/device/platform_3afff51000_2eethernet"

static vfiod_client *connect_client(void)
{
        vfiod_client *c = NULL;
        g_assert_cmpint(vfiod_client_new(NULL, &c), ==, 0);
        g_assert_nonnull(c);
        return c;
}

static void test_new_and_unref(void)
{
        vfiod_client *c = (vfiod_client *)0x1;

        g_assert_cmpint(vfiod_client_new("", &c), ==, -EINVAL);
        g_assert_true(c == (vfiod_client *)0x1);
        g_assert_cmpint(vfiod_client_new("unix:path=/nonexistent/bus", &c), <, 0);
        g_assert_true(c == (vfiod_client *)0x1);
        g_assert_null(vfiod_client_unref(NULL));
        g_assert_null(vfiod_device_unref(NULL));
        g_assert_null(vfiod_plan_free(NULL));
        g_assert_null(vfiod_device_list_free(NULL));

        const char *address = g_getenv("DBUS_SYSTEM_BUS_ADDRESS");
        g_assert_nonnull(address);
        g_assert_cmpint(vfiod_client_new(address, &c), ==, 0);
        g_assert_true(vfiod_client_ref(c) == c);
        g_assert_null(vfiod_client_unref(c));
        g_assert_null(vfiod_client_unref(c));
}

static void test_manager_properties(void)
{
        vfiod_client *c = connect_client();
        char *version = NULL, **features = NULL;

        g_assert_cmpint(vfiod_client_get_version(c, &version), ==, 0);
        g_assert_cmpstr(version, ==, "0.1");
        g_assert_cmpint(vfiod_client_get_features(c, &features), ==, 0);
        g_assert_cmpuint(g_strv_length(features), ==, 2);
        g_assert_cmpstr(features[0], ==, "iommu");
        g_assert_cmpstr(features[1], ==, "cdev");
        g_assert_null(vfiod_client_get_error_name(c));
        free(version);
        vfiod_strv_free(features);
        vfiod_client_unref(c);
}

static void test_list_devices(void)
{
        vfiod_client *c = connect_client();
        vfiod_device **list = NULL;

        g_assert_cmpint(vfiod_client_list_devices(c, &list), ==, 3);
        g_assert_null(list[3]);

        const vfiod_device *d = list[0];
        g_assert_cmpstr(vfiod_device_get_path(d), ==, DEV0);
        g_assert_cmpstr(vfiod_device_get_name(d), ==, "0000:01:00.0");
        g_assert_cmpstr(vfiod_device_get_bus(d), ==, "pci");
        g_assert_cmpstr(vfiod_device_get_sysfs_path(d), ==,
                        "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
        g_assert_cmpuint(vfiod_device_get_vendor_id(d), ==, 0x8086);
        g_assert_cmpuint(vfiod_device_get_device_id(d), ==, 0x10d3);
        g_assert_cmpuint(vfiod_device_get_class(d), ==, 0x020000);
        g_assert_cmpstr(vfiod_device_get_driver(d), ==, "e1000e");
        g_assert_cmpstr(vfiod_device_get_driver_override(d), ==, "");
        g_assert_cmpint(vfiod_device_get_iommu_group(d), ==, 12);
        g_assert_cmpstr(vfiod_device_get_state(d), ==, "host");
        g_assert_cmpstr(vfiod_device_get_owner(d), ==, "");
        g_assert_cmpuint(vfiod_device_get_owner_uid(d), ==, VFIOD_UID_INVALID);
        g_assert_false(vfiod_device_get_boot_vga(d));
        g_assert_true(vfiod_device_get_assignable(d));
        g_assert_cmpstr(vfiod_device_get_group_peers(d)[0], ==, DEV1);
        g_assert_null(vfiod_device_get_group_peers(d)[1]);
        g_assert_null(vfiod_device_get_blockers(d)[0]);

        d = list[2];
        g_assert_cmpstr(vfiod_device_get_path(d), ==, PLATFORM);
        g_assert_cmpint(vfiod_device_get_iommu_group(d), ==, -1);
        g_assert_false(vfiod_device_get_assignable(d));
        g_assert_null(vfiod_device_get_group_peers(d)[0]);
        g_assert_cmpstr(vfiod_device_get_blockers(d)[0], ==, "the device has no IOMMU group");

        vfiod_device_list_free(list);
        vfiod_client_unref(c);
}

static void test_get_device(void)
{
        static const char *const names[] = {
            "0000:01:00.0",
            "pci:0000:01:00.0",
            "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0",
            DEV0,
        };
        vfiod_client *c = connect_client();
        vfiod_device *d = NULL;

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_assert_cmpint(vfiod_client_get_device(c, names[i], &d), ==, 0);
                g_assert_cmpstr(vfiod_device_get_path(d), ==, DEV0);
                d = vfiod_device_unref(d);
        }

        /* Near misses are no match: another bus, a prefix, an unknown object. */
        static const char *const wrong[] = {"platform:0000:01:00.0", "0000:01:00",
                                            "pci:", "/org/vfiod1/device/pci_3a9999"};
        for (size_t i = 0; i < G_N_ELEMENTS(wrong); i++) {
                d = (vfiod_device *)0x1;
                g_assert_cmpint(vfiod_client_get_device(c, wrong[i], &d), ==, -ENODEV);
                g_assert_true(d == (vfiod_device *)0x1);
                g_assert_cmpstr(vfiod_client_get_error_name(c), ==, VFIOD_ERROR_NO_SUCH_DEVICE);
                g_assert_nonnull(vfiod_client_get_error_message(c));
        }
        g_assert_cmpint(vfiod_client_get_device(c, "", &d), ==, -EINVAL);
        vfiod_client_unref(c);
}

static void test_plan(void)
{
        vfiod_client *c = connect_client();
        vfiod_assign_options o = VFIOD_ASSIGN_OPTIONS_INIT;
        const char *action, *device, *detail;
        vfiod_plan *plan = NULL;

        o.driver = "vfio-pci-core";
        g_assert_cmpint(vfiod_client_plan(c, "0000:01:00.1", &o, &plan), ==, 0);
        /* fence, unbind, probe for both members, then the bridge that stays. */
        g_assert_cmpuint(vfiod_plan_get_n_steps(plan), ==, 7);
        g_assert_cmpint(vfiod_plan_get_step(plan, 0, &action, &device, &detail), ==, 0);
        g_assert_cmpstr(action, ==, "fence");
        g_assert_cmpstr(device, ==, "0000:01:00.1");
        g_assert_cmpstr(detail, ==, "driver_override=vfio-pci-core");
        g_assert_cmpint(vfiod_plan_get_step(plan, 6, &action, &device, &detail), ==, 0);
        g_assert_cmpstr(action, ==, "keep");
        g_assert_cmpint(vfiod_plan_get_step(plan, 7, &action, NULL, NULL), ==, -ERANGE);
        g_assert_cmpstr(vfiod_plan_get_warnings(plan)[0], ==,
                        "the host loses its network interface eno1");
        g_assert_null(vfiod_plan_get_blockers(plan)[0]);
        plan = vfiod_plan_free(plan);

        g_assert_cmpint(vfiod_client_plan(c, "platform:fff51000.ethernet", NULL, &plan), ==, 0);
        g_assert_cmpstr(vfiod_plan_get_blockers(plan)[0], ==, "the device has no IOMMU group");
        vfiod_plan_free(plan);
        vfiod_client_unref(c);
}

static void test_options_are_checked(void)
{
        vfiod_client *c = connect_client();
        struct {
                vfiod_assign_options o;
                char future[16];
        } bigger = {.o = VFIOD_ASSIGN_OPTIONS_INIT};
        vfiod_assign_options o = VFIOD_ASSIGN_OPTIONS_INIT;
        vfiod_plan *plan = NULL;

        o.size = 0;
        g_assert_cmpint(vfiod_client_plan(c, "0000:01:00.0", &o, &plan), ==, -EINVAL);
        o = VFIOD_ASSIGN_OPTIONS_INIT;
        o.driver = "";
        g_assert_cmpint(vfiod_client_plan(c, "0000:01:00.0", &o, &plan), ==, -EINVAL);
        o = VFIOD_ASSIGN_OPTIONS_INIT;
        o.console = (vfiod_console_policy)7;
        g_assert_cmpint(vfiod_client_plan(c, "0000:01:00.0", &o, &plan), ==, -EINVAL);
        g_assert_null(plan);

        /* A larger struct from a newer header is fine as long as we need not understand it. */
        bigger.o.size = sizeof(bigger);
        g_assert_cmpint(vfiod_client_plan(c, "0000:01:00.0", &bigger.o, &plan), ==, 0);
        plan = vfiod_plan_free(plan);
        bigger.future[3] = 1;
        g_assert_cmpint(vfiod_client_plan(c, "0000:01:00.0", &bigger.o, &plan), ==, -E2BIG);
        g_assert_null(plan);
        vfiod_client_unref(c);
}

static void test_assign_and_release(void)
{
        vfiod_client *c = connect_client();
        vfiod_assign_options o = VFIOD_ASSIGN_OPTIONS_INIT;
        const char *group_file = g_getenv("VFIOD_TEST_GROUP_FILE");
        vfiod_device *d = NULL;
        char *path = NULL;
        struct stat expected, st;
        int fd = -1;

        g_assert_nonnull(group_file);
        g_assert_cmpint(stat(group_file, &expected), ==, 0);

        o.owner_uid = 4242;
        g_assert_cmpint(vfiod_client_assign(c, "0000:01:00.1", &o, &fd, &path), ==, 0);
        g_assert_cmpint(fd, >=, 3);
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, FD_CLOEXEC);
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_cmpuint(st.st_ino, ==, expected.st_ino);
        g_assert_cmpstr(path, ==, DEV1);
        close(fd);
        free(path);

        g_assert_cmpint(vfiod_client_get_device(c, "0000:01:00.0", &d), ==, 0);
        g_assert_cmpstr(vfiod_device_get_state(d), ==, "assigned");
        g_assert_cmpstr(vfiod_device_get_driver(d), ==, "vfio-pci");
        g_assert_cmpuint(vfiod_device_get_owner_uid(d), ==, 4242);
        d = vfiod_device_unref(d);

        /* Busy for a second assignment; the output parameters stay as they were. */
        fd = -1234;
        g_assert_cmpint(vfiod_client_assign(c, "0000:01:00.0", NULL, &fd, NULL), ==, -EBUSY);
        g_assert_cmpint(fd, ==, -1234);
        g_assert_cmpstr(vfiod_client_get_error_name(c), ==, VFIOD_ERROR_BUSY);

        g_assert_cmpint(vfiod_client_release(c, "pci:0000:01:00.0"), ==, 0);
        g_assert_null(vfiod_client_get_error_name(c));
        g_assert_cmpint(vfiod_client_get_device(c, DEV1, &d), ==, 0);
        g_assert_cmpstr(vfiod_device_get_state(d), ==, "host");
        g_assert_cmpstr(vfiod_device_get_driver(d), ==, "e1000e");
        vfiod_device_unref(d);

        g_assert_cmpint(vfiod_client_release(c, "0000:01:00.0"), ==, -ESRCH);
        g_assert_cmpstr(vfiod_client_get_error_name(c), ==, VFIOD_ERROR_NOT_ASSIGNED);
        vfiod_client_unref(c);
}

static void test_assign_refused(void)
{
        vfiod_client *c = connect_client();
        char *path = (char *)0x1;
        int fd = -1234;

        g_assert_cmpint(vfiod_client_assign(c, "fff51000.ethernet", NULL, &fd, &path), ==, -EPERM);
        g_assert_cmpint(fd, ==, -1234);
        g_assert_true(path == (char *)0x1);
        g_assert_cmpstr(vfiod_client_get_error_name(c), ==, VFIOD_ERROR_NOT_ASSIGNABLE);
        g_assert_cmpstr(vfiod_client_get_error_message(c), ==, "the device has no IOMMU group");

        g_assert_cmpint(vfiod_client_assign(c, "0000:77:00.0", NULL, &fd, NULL), ==, -ENODEV);
        g_assert_cmpstr(vfiod_client_get_error_name(c), ==, VFIOD_ERROR_NO_SUCH_DEVICE);
        vfiod_client_unref(c);
}

static void device_unref_void(gpointer d)
{
        vfiod_device_unref(d);
}

struct events {
        GPtrArray *changed; /* snapshots handed to the callback, referenced */
        int n_added, n_removed;
        int fail_with;
};

static int on_event(vfiod_client *client, vfiod_event event, const vfiod_device *device,
                    void *userdata)
{
        struct events *e = userdata;

        if (event == VFIOD_EVENT_DEVICE_CHANGED)
                g_ptr_array_add(e->changed, vfiod_device_ref((vfiod_device *)device));
        else if (event == VFIOD_EVENT_DEVICE_ADDED)
                e->n_added++;
        else
                e->n_removed++;
        return e->fail_with;
}

/* Runs the client's side until @n changes arrived (or fails the test after 10 s). */
static void wait_for_changes(vfiod_client *c, struct events *e, guint n)
{
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        while (e->changed->len < n) {
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
                int r = vfiod_client_process(c);
                g_assert_cmpint(r, >=, 0);
                if (r == 0)
                        g_assert_cmpint(vfiod_client_wait(c, 100000), >=, 0);
        }
}

static void test_monitor(void)
{
        vfiod_client *watcher = connect_client(), *actor = connect_client();
        struct events e = {.changed = g_ptr_array_new_with_free_func(device_unref_void)};
        vfiod_device *before = NULL;
        int fd = -1;

        g_assert_cmpint(vfiod_client_get_device(watcher, DEV0, &before), ==, 0);
        g_assert_cmpint(vfiod_client_monitor(watcher, on_event, &e), ==, 0);
        g_assert_cmpint(vfiod_client_monitor(watcher, on_event, &e), ==, -EBUSY);
        g_assert_cmpint(vfiod_client_get_fd(watcher), >=, 0);

        g_assert_cmpint(vfiod_client_assign(actor, "0000:01:00.0", NULL, &fd, NULL), ==, 0);
        close(fd);
        wait_for_changes(watcher, &e, 2);
        const vfiod_device *d = g_ptr_array_index(e.changed, 0);
        g_assert_cmpstr(vfiod_device_get_path(d), ==, DEV0);
        g_assert_cmpstr(vfiod_device_get_state(d), ==, "assigned");
        g_assert_cmpstr(vfiod_device_get_driver(d), ==, "vfio-pci");
        /* Properties the signal did not carry come from the baseline. */
        g_assert_cmpint(vfiod_device_get_iommu_group(d), ==, 12);
        g_assert_cmpstr(vfiod_device_get_sysfs_path(d), ==,
                        "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
        g_assert_cmpstr(vfiod_device_get_path(g_ptr_array_index(e.changed, 1)), ==, DEV1);
        /* Snapshots taken earlier never change under their holder. */
        g_assert_cmpstr(vfiod_device_get_state(before), ==, "host");

        /* A callback's error stops processing and is handed out by process(). */
        e.fail_with = -ENOTRECOVERABLE;
        g_assert_cmpint(vfiod_client_release(actor, "0000:01:00.0"), ==, 0);
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        int r;
        while ((r = vfiod_client_process(watcher)) >= 0) {
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
                if (r == 0)
                        g_assert_cmpint(vfiod_client_wait(watcher, 100000), >=, 0);
        }
        g_assert_cmpint(r, ==, -ENOTRECOVERABLE);
        g_assert_cmpuint(e.changed->len, ==, 3);
        g_assert_cmpstr(vfiod_device_get_state(g_ptr_array_index(e.changed, 2)), ==, "host");
        g_assert_cmpint(e.n_added, ==, 0);
        g_assert_cmpint(e.n_removed, ==, 0);

        vfiod_device_unref(before);
        g_ptr_array_unref(e.changed);
        vfiod_client_unref(watcher);
        vfiod_client_unref(actor);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/lib/client/new-and-unref", test_new_and_unref);
        g_test_add_func("/lib/client/manager-properties", test_manager_properties);
        g_test_add_func("/lib/client/list-devices", test_list_devices);
        g_test_add_func("/lib/client/get-device", test_get_device);
        g_test_add_func("/lib/client/plan", test_plan);
        g_test_add_func("/lib/client/options-are-checked", test_options_are_checked);
        g_test_add_func("/lib/client/assign-and-release", test_assign_and_release);
        g_test_add_func("/lib/client/assign-refused", test_assign_refused);
        g_test_add_func("/lib/client/monitor", test_monitor);
        return g_test_run();
}
