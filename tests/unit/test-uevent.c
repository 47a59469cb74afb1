/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uevent parser, and the datagram-socket source used under a non-system root (the
 * simulated kernel's channel). Messages are shaped like the kernel's (lib/kobject_uevent.c:
 * "action@devpath" then NUL-terminated KEY=VALUE, ACTION/DEVPATH/SUBSYSTEM first, DRIVER=
 * for bound devices and bind/unbind) and like the simulator's (keys only, CONTRACTS.md). The
 * libudev backend needs a real udevd and is exercised by the VM tier.
 */
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fixture.h"
#include "macros.h"
#include "uevent.h"

#define MSG(s) s, sizeof(s) - 1

#define DEVPATH_E1000 "/devices/pci0000:00/0000:00:02.0/0000:01:00.0"

/* A parse that must fail leaves the output exactly as it was. */
static void assert_rejected(const char *buf, size_t len)
{
        vk_uevent u, before;
        memset(&u, 0xa5, sizeof(u));
        before = u;
        g_assert_cmpint(vk_uevent_parse(buf, len, &u), ==, -EINVAL);
        g_assert_true(memcmp(&u, &before, sizeof(u)) == 0);
}

static void test_parse_sim_format(void)
{
        vk_uevent u;
        g_assert_cmpint(vk_uevent_parse(MSG("ACTION=bind\0DEVPATH=" DEVPATH_E1000
                                            "\0SUBSYSTEM=pci\0DRIVER=vfio-pci\0"),
                                        &u),
                        ==, 0);
        g_assert_cmpint(u.action, ==, VK_UEVENT_BIND);
        g_assert_cmpstr(u.devpath, ==, DEVPATH_E1000);
        g_assert_cmpstr(u.subsystem, ==, "pci");
        g_assert_cmpstr(u.driver, ==, "vfio-pci");
        g_assert_cmpstr(u.kernel_name, ==, "0000:01:00.0");
}

static void test_parse_kernel_format(void)
{
        vk_uevent u;

        /* A new VFIO group node: header, then keys including ones we do not use. */
        g_assert_cmpint(vk_uevent_parse(MSG("add@/devices/virtual/vfio/3\0ACTION=add\0"
                                            "DEVPATH=/devices/virtual/vfio/3\0SUBSYSTEM=vfio\0"
                                            "MAJOR=243\0MINOR=0\0DEVNAME=vfio/3\0SEQNUM=2817\0"),
                                        &u),
                        ==, 0);
        g_assert_cmpint(u.action, ==, VK_UEVENT_ADD);
        g_assert_cmpstr(u.devpath, ==, "/devices/virtual/vfio/3");
        g_assert_cmpstr(u.subsystem, ==, "vfio");
        g_assert_cmpstr(u.driver, ==, "");
        g_assert_cmpstr(u.kernel_name, ==, "3");

        /* The header alone may carry action and devpath; no trailing NUL at the very end. */
        g_assert_cmpint(vk_uevent_parse(MSG("unbind@/devices/platform/fff51000.ethernet\0"
                                            "SUBSYSTEM=platform"),
                                        &u),
                        ==, 0);
        g_assert_cmpint(u.action, ==, VK_UEVENT_UNBIND);
        g_assert_cmpstr(u.kernel_name, ==, "fff51000.ethernet");
        g_assert_cmpstr(u.subsystem, ==, "platform");

        /* '=' before '@': a key whose value has an '@', not a header. */
        g_assert_cmpint(vk_uevent_parse(MSG("ACTION=change\0DEVPATH=/devices/platform/a@b\0"
                                            "SUBSYSTEM=platform\0"),
                                        &u),
                        ==, 0);
        g_assert_cmpint(u.action, ==, VK_UEVENT_CHANGE);
        g_assert_cmpstr(u.kernel_name, ==, "a@b");
}

static void test_parse_actions(void)
{
        static const struct {
                const char *name;
                vk_uevent_action action;
        } table[] = {
            {"add", VK_UEVENT_ADD},      {"remove", VK_UEVENT_REMOVE}, {"change", VK_UEVENT_CHANGE},
            {"bind", VK_UEVENT_BIND},    {"unbind", VK_UEVENT_UNBIND}, {"move", VK_UEVENT_OTHER},
            {"online", VK_UEVENT_OTHER}, {"addx", VK_UEVENT_OTHER},    {"ad", VK_UEVENT_OTHER},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
                g_autofree char *msg = g_strdup_printf(
                    "ACTION=%s%cDEVPATH=/devices/x%cSUBSYSTEM=pci", table[i].name, 0, 0);
                size_t len = strlen("ACTION=") + strlen(table[i].name) +
                             strlen("\1DEVPATH=/devices/x\1SUBSYSTEM=pci");
                vk_uevent u;
                g_assert_cmpint(vk_uevent_parse(msg, len, &u), ==, 0);
                g_assert_cmpint(u.action, ==, table[i].action);
        }
}

static void test_parse_driver_field(void)
{
        vk_uevent u;

        /* An empty DRIVER= is the same as none. */
        g_assert_cmpint(vk_uevent_parse(MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"
                                            "DRIVER=\0"),
                                        &u),
                        ==, 0);
        g_assert_cmpstr(u.driver, ==, "");
}

static void test_parse_malformed(void)
{
        assert_rejected(NULL, 10);
        assert_rejected("", 0);
        assert_rejected(MSG("\0"));
        /* Each required field missing in turn. */
        assert_rejected(MSG("DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        assert_rejected(MSG("ACTION=add\0SUBSYSTEM=pci\0"));
        assert_rejected(MSG("ACTION=add\0DEVPATH=/devices/x\0"));
        assert_rejected(MSG("ACTION=\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        assert_rejected(MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=\0"));
        /* Entries that are not KEY=VALUE, empty entries, repeated keys. */
        assert_rejected(MSG("ACTION=add\0garbage\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        assert_rejected(MSG("ACTION=add\0\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        assert_rejected(MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0\0"));
        assert_rejected(MSG("ACTION=add\0ACTION=remove\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        assert_rejected(MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0SUBSYSTEM=vfio\0"));
        /* A header only counts first, and must agree with the keys. */
        assert_rejected(MSG("ACTION=add\0add@/devices/x\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        assert_rejected(MSG("add@/devices/x\0ACTION=remove\0DEVPATH=/devices/x\0SUBSYSTEM=pci"));
        assert_rejected(MSG("add@/devices/x\0ACTION=add\0DEVPATH=/devices/y\0SUBSYSTEM=pci"));
        assert_rejected(MSG("@/devices/x\0SUBSYSTEM=pci"));
        /* Subsystem and driver are names, never paths. */
        assert_rejected(MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=../pci\0"));
        assert_rejected(MSG("ACTION=bind\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0DRIVER=a/b\0"));
}

/* Devpaths are appended to the sysfs root by consumers: no way out of /sys/devices. */
static void test_parse_devpath(void)
{
        static const char *const bad[] = {
            "devices/x",     "/",           "//devices/x",  "/devices//x", "/devices/x/",
            "/devices/../x", "/devices/..", "/devices/./x", "/..",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *msg =
                    g_strdup_printf("ACTION=add%cDEVPATH=%s%cSUBSYSTEM=pci", 0, bad[i], 0);
                size_t len = strlen("ACTION=add\1DEVPATH=\1SUBSYSTEM=pci") + strlen(bad[i]);
                g_test_message("devpath %s", bad[i]);
                assert_rejected(msg, len);
        }

        /* Names with dots that are not "." or ".." are ordinary names. */
        vk_uevent u;
        g_assert_cmpint(vk_uevent_parse(MSG("ACTION=add\0DEVPATH=/devices/platform/...a\0"
                                            "SUBSYSTEM=platform"),
                                        &u),
                        ==, 0);
        g_assert_cmpstr(u.kernel_name, ==, "...a");
}

/* A message with one field of a given length. */
static GString *with_field(const char *key, size_t len, char fill)
{
        GString *s = g_string_new(NULL);
        g_string_append_printf(s, "ACTION=add%c", 0);
        if (!g_str_equal(key, "DEVPATH"))
                g_string_append_printf(s, "DEVPATH=/devices/x%c", 0);
        if (!g_str_equal(key, "SUBSYSTEM"))
                g_string_append_printf(s, "SUBSYSTEM=pci%c", 0);
        g_string_append_printf(s, "%s=", key);
        if (g_str_equal(key, "DEVPATH")) {
                /* "/ddd.../ddd" of exactly len bytes in components of 99 characters, so that
                 * only the total length can be what is wrong with it. */
                size_t left = len;
                for (; left > 101; left -= 100) {
                        g_string_append_c(s, '/');
                        for (size_t i = 0; i < 99; i++)
                                g_string_append_c(s, fill);
                }
                g_assert_cmpuint(left, >=, 2);
                g_string_append_c(s, '/');
                for (size_t i = 1; i < left; i++)
                        g_string_append_c(s, fill);
        } else {
                for (size_t i = 0; i < len; i++)
                        g_string_append_c(s, fill);
        }
        return s;
}

static void assert_field_limit(const char *key, size_t max)
{
        g_autoptr(GString) ok = with_field(key, max, 'd');
        g_autoptr(GString) too_long = with_field(key, max + 1, 'd');
        vk_uevent u;

        g_test_message("%s up to %zu bytes", key, max);
        g_assert_cmpint(vk_uevent_parse(ok->str, ok->len, &u), ==, 0);
        assert_rejected(too_long->str, too_long->len);
}

static void test_parse_bounds(void)
{
        vk_uevent u;

        /* Every field ends with a NUL inside its array. */
        assert_field_limit("SUBSYSTEM", sizeof(u.subsystem) - 1);
        assert_field_limit("DRIVER", sizeof(u.driver) - 1);
        assert_field_limit("DEVPATH", sizeof(u.devpath) - 1);

        /* The kernel name is the last component, at most VK_NAME_MAX. */
        g_autofree char *name = g_strnfill(VK_NAME_MAX, 'n');
        g_autofree char *msg =
            g_strdup_printf("ACTION=add%cDEVPATH=/devices/%s%cSUBSYSTEM=pci", 0, name, 0);
        size_t len = strlen("ACTION=add\1DEVPATH=/devices/\1SUBSYSTEM=pci") + VK_NAME_MAX;
        g_assert_cmpint(vk_uevent_parse(msg, len, &u), ==, 0);
        g_assert_cmpstr(u.kernel_name, ==, name);
        g_autofree char *longer = g_strnfill(VK_NAME_MAX + 1, 'n');
        g_autofree char *msg2 =
            g_strdup_printf("ACTION=add%cDEVPATH=/devices/%s%cSUBSYSTEM=pci", 0, longer, 0);
        assert_rejected(msg2, len + 1);

        /* Whole messages far beyond the kernel's 2 KiB buffer are refused up front, even when
         * the extra bytes are keys we would ignore. */
        g_autoptr(GString) big = g_string_new(NULL);
        g_string_append_len(big, MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        while (big->len <= 8192)
                g_string_append_len(big, MSG("X=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\0"));
        assert_rejected(big->str, big->len);
}

/* ---- the datagram socket source ---- */

typedef struct {
        fixture *f;
        vk_root *root;
        vk_uevent_source *src;
        char *socket_path;
} Fx;

static void fx_setup(Fx *fx, gconstpointer data)
{
        fx->f = fixture_new();
        g_assert_cmpint(vk_root_open(fixture_prefix(fx->f), &fx->root), ==, 0);
        fx->socket_path =
            g_build_filename(fixture_prefix(fx->f), "run/vfiod-sim/uevent.sock", NULL);
        g_assert_cmpint(strlen(fx->socket_path), <, sizeof(((struct sockaddr_un *)0)->sun_path));
}

static void fx_teardown(Fx *fx, gconstpointer data)
{
        vk_uevent_source_free(fx->src);
        vk_root_unref(fx->root);
        g_free(fx->socket_path);
        fixture_free(fx->f);
}

/* Sends one datagram the way the simulator does. */
static void send_to(const char *path, const void *buf, size_t len)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_(closep) int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(strlen(path), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        g_assert_cmpint(sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)), ==,
                        (ssize_t)len);
}

static bool readable(int fd, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        g_assert_cmpint(r, >=, 0);
        return r > 0;
}

static void test_source_socket(Fx *fx, gconstpointer data)
{
        g_autofree char *dir = g_path_get_dirname(fx->socket_path);
        struct stat st;
        vk_uevent u;

        g_assert_cmpint(vk_uevent_source_new(fx->root, &fx->src), ==, 0);
        g_assert_no_errno(stat(dir, &st));
        g_assert_cmpint(st.st_mode & 07777, ==, 0755);
        g_assert_no_errno(lstat(fx->socket_path, &st));
        g_assert_true(S_ISSOCK(st.st_mode));

        int fd = vk_uevent_source_fd(fx->src);
        g_assert_cmpint(fd, >=, 0);
        g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, FD_CLOEXEC);

        /* Nothing pending: 0 at once, never blocking. */
        g_assert_false(readable(fd, 0));
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 0);

        send_to(fx->socket_path,
                MSG("ACTION=bind\0DEVPATH=" DEVPATH_E1000 "\0SUBSYSTEM=pci\0DRIVER=vfio-pci\0"));
        send_to(fx->socket_path, MSG("ACTION=add\0DEVPATH=/devices/virtual/vfio/3\0"
                                     "SUBSYSTEM=vfio\0"));
        g_assert_true(readable(fd, 5000));
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 1);
        g_assert_cmpint(u.action, ==, VK_UEVENT_BIND);
        g_assert_cmpstr(u.kernel_name, ==, "0000:01:00.0");
        g_assert_cmpstr(u.driver, ==, "vfio-pci");
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 1);
        g_assert_cmpint(u.action, ==, VK_UEVENT_ADD);
        g_assert_cmpstr(u.subsystem, ==, "vfio");
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 0);
        g_assert_false(readable(fd, 0));
}

/* Only the subsystems vfiod follows, as the udev monitor's filter does on the real system. */
static void test_source_filters(Fx *fx, gconstpointer data)
{
        vk_uevent u;

        g_assert_cmpint(vk_uevent_source_new(fx->root, &fx->src), ==, 0);
        send_to(fx->socket_path, MSG("ACTION=add\0DEVPATH=/devices/virtual/net/eth0\0"
                                     "SUBSYSTEM=net\0"));
        send_to(fx->socket_path, MSG("ACTION=add\0DEVPATH=/devices/platform/a/b/vfio-dev/vfio0\0"
                                     "SUBSYSTEM=vfio-dev\0"));
        send_to(fx->socket_path, MSG("ACTION=add\0DEVPATH=/devices/platform/amba/f0.uart\0"
                                     "SUBSYSTEM=amba\0"));
        send_to(fx->socket_path, MSG("ACTION=remove\0DEVPATH=/devices/virtual/net/eth0\0"
                                     "SUBSYSTEM=net\0"));
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 1);
        g_assert_cmpstr(u.subsystem, ==, "amba");
        g_assert_cmpstr(u.kernel_name, ==, "f0.uart");
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 0);
}

/* A bad datagram is consumed and reported; the ones after it still arrive. */
static void test_source_malformed(Fx *fx, gconstpointer data)
{
        g_autofree char *huge = g_malloc0(10000);
        vk_uevent u, before;

        g_assert_cmpint(vk_uevent_source_new(fx->root, &fx->src), ==, 0);
        send_to(fx->socket_path, MSG("ACTION=add\0DEVPATH=../../etc\0SUBSYSTEM=pci\0"));
        /* Oversized: must not be truncated into something that parses. */
        memcpy(huge, MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        send_to(fx->socket_path, huge, 10000);
        send_to(fx->socket_path, "", 0);
        send_to(fx->socket_path, MSG("ACTION=remove\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));

        memset(&u, 0x5a, sizeof(u));
        before = u;
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, -EINVAL);
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, -EINVAL);
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, -EINVAL);
        g_assert_true(memcmp(&u, &before, sizeof(u)) == 0);
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 1);
        g_assert_cmpint(u.action, ==, VK_UEVENT_REMOVE);
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 0);
}

/* A socket left by a crashed run is replaced; anything else in its place is not touched. */
static void test_source_stale_socket(Fx *fx, gconstpointer data)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        vk_uevent u;

        fixture_mkdir(fx->f, "run/vfiod-sim");
        int stale = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(stale, >=, 0);
        strcpy(sa.sun_path, fx->socket_path);
        g_assert_no_errno(bind(stale, (struct sockaddr *)&sa, sizeof(sa)));
        close(stale);

        g_assert_cmpint(vk_uevent_source_new(fx->root, &fx->src), ==, 0);
        send_to(fx->socket_path, MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 1);
        fx->src = vk_uevent_source_free(fx->src);
        /* Our own socket file goes away with the source. */
        g_assert_false(g_file_test(fx->socket_path, G_FILE_TEST_EXISTS));

        vk_uevent_source *untouched = (vk_uevent_source *)&untouched;
        fixture_write(fx->f, "run/vfiod-sim/uevent.sock", "not a socket");
        g_assert_cmpint(vk_uevent_source_new(fx->root, &untouched), ==, -EEXIST);
        g_assert_true(untouched == (vk_uevent_source *)&untouched);
        g_assert_true(g_file_test(fx->socket_path, G_FILE_TEST_IS_REGULAR));
}

/* A source freed after a newer one took over the path leaves the newer one's socket alone. */
static void test_source_replaced(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_uevent_source_freep) vk_uevent_source *old = NULL;
        vk_uevent u;

        g_assert_cmpint(vk_uevent_source_new(fx->root, &old), ==, 0);
        g_assert_cmpint(vk_uevent_source_new(fx->root, &fx->src), ==, 0);
        old = vk_uevent_source_free(old);
        g_assert_true(g_file_test(fx->socket_path, G_FILE_TEST_EXISTS));
        send_to(fx->socket_path, MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 1);
}

/* A prefix too deep for sun_path (108 bytes) still works, through the directory's fd. */
static void test_source_long_prefix(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_root_unrefp) vk_root *root = NULL;
        g_autofree char *deep = g_strnfill(120, 'd');
        g_autofree char *prefix = g_build_filename(fixture_prefix(fx->f), deep, NULL);
        g_autofree char *sys = g_build_filename(deep, "sys", NULL);
        g_autofree char *dev = g_build_filename(deep, "dev", NULL);
        g_autofree char *run = g_build_filename(deep, "run", NULL);
        vk_uevent u;

        fixture_mkdir(fx->f, sys);
        fixture_mkdir(fx->f, dev);
        fixture_mkdir(fx->f, run);
        g_assert_cmpint(vk_root_open(prefix, &root), ==, 0);
        g_assert_cmpint(vk_uevent_source_new(root, &fx->src), ==, 0);

        /* Send the same way, through a directory fd of our own. */
        g_autofree char *dir = g_build_filename(prefix, "run/vfiod-sim", NULL);
        _cleanup_(closep) int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(dfd, >=, 0);
        g_autofree char *via = g_strdup_printf("/proc/self/fd/%d/uevent.sock", dfd);
        send_to(via, MSG("ACTION=add\0DEVPATH=/devices/x\0SUBSYSTEM=pci\0"));
        g_assert_cmpint(vk_uevent_source_receive(fx->src, &u), ==, 1);
        g_assert_cmpstr(u.kernel_name, ==, "x");
}

static void test_source_errors(Fx *fx, gconstpointer data)
{
        _cleanup_(vk_root_unrefp) vk_root *root = NULL;
        g_autofree char *prefix = g_build_filename(fixture_prefix(fx->f), "norun", NULL);
        vk_uevent_source *untouched = (vk_uevent_source *)&untouched;
        vk_uevent u;

        /* The sim contract has a real run/; without one there is nowhere to listen. */
        fixture_mkdir(fx->f, "norun/sys");
        fixture_mkdir(fx->f, "norun/dev");
        g_assert_cmpint(vk_root_open(prefix, &root), ==, 0);
        g_assert_cmpint(vk_uevent_source_new(root, &untouched), ==, -ENOENT);
        g_assert_true(untouched == (vk_uevent_source *)&untouched);

        g_assert_cmpint(vk_uevent_source_new(NULL, &untouched), ==, -EINVAL);
        g_assert_cmpint(vk_uevent_source_new(fx->root, NULL), ==, -EINVAL);
        g_assert_cmpint(vk_uevent_source_fd(NULL), ==, -EINVAL);
        g_assert_cmpint(vk_uevent_source_receive(NULL, &u), ==, -EINVAL);
        g_assert_null(vk_uevent_source_free(NULL));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        /* The socket directory's mode is asserted; make it independent of the caller's umask. */
        umask(022);

        g_test_add_func("/uevent/parse/sim-format", test_parse_sim_format);
        g_test_add_func("/uevent/parse/kernel-format", test_parse_kernel_format);
        g_test_add_func("/uevent/parse/actions", test_parse_actions);
        g_test_add_func("/uevent/parse/driver", test_parse_driver_field);
        g_test_add_func("/uevent/parse/malformed", test_parse_malformed);
        g_test_add_func("/uevent/parse/devpath", test_parse_devpath);
        g_test_add_func("/uevent/parse/bounds", test_parse_bounds);
#define ADD(name, fn) g_test_add(name, Fx, NULL, fx_setup, fn, fx_teardown)
        ADD("/uevent/source/socket", test_source_socket);
        ADD("/uevent/source/filters", test_source_filters);
        ADD("/uevent/source/malformed", test_source_malformed);
        ADD("/uevent/source/stale-socket", test_source_stale_socket);
        ADD("/uevent/source/replaced", test_source_replaced);
        ADD("/uevent/source/long-prefix", test_source_long_prefix);
        ADD("/uevent/source/errors", test_source_errors);
#undef ADD
        return g_test_run();
}
