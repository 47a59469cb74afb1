/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The root handle, attribute access, link helpers and the attribute parsers, on fixture trees. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fixture-root.h"
#include "macros.h"
#include "root.h"
#include "sysfs.h"

typedef fixture_root ctx;

static char *slurp(ctx *c, const char *path)
{
        g_autofree char *p = g_build_filename(fixture_prefix(c->f), path, NULL);
        char *s = NULL;
        g_assert_true(g_file_get_contents(p, &s, NULL, NULL));
        return s;
}

/* ---- root ---- */

static void test_root_open(ctx *c, gconstpointer data)
{
        vk_root *root = c->root;
        struct stat a, b;
        g_autofree char *sys = g_build_filename(fixture_prefix(c->f), "sys", NULL);

        g_assert_cmpstr(root->prefix, ==, fixture_prefix(c->f));
        g_assert_cmpint(root->sysfs_fd, >=, 0);
        g_assert_cmpint(root->dev_fd, >=, 0);
        g_assert_cmpint(root->proc_fd, >=, 0);
        g_assert_cmpint(root->run_fd, >=, 0);
        /* The fd is the fixture's sys/, not the machine's. */
        g_assert_cmpint(fstat(root->sysfs_fd, &a), ==, 0);
        g_assert_cmpint(stat(sys, &b), ==, 0);
        g_assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        g_assert_true(fcntl(root->sysfs_fd, F_GETFD) & FD_CLOEXEC);
        g_assert_cmpint(vk_root_is_system(root), ==, 0);

        g_assert_true(vk_root_ref(root) == root);
        g_assert_cmpuint(root->n_ref, ==, 2);
        g_assert_null(vk_root_unref(root));
        g_assert_cmpuint(root->n_ref, ==, 1);
}

static void test_root_optional_dirs(ctx *c, gconstpointer data)
{
        _cleanup_(vk_root_unrefp) vk_root *root = NULL;

        fixture_unlink(c->f, "proc");
        fixture_unlink(c->f, "run");
        g_assert_cmpint(vk_root_open(fixture_prefix(c->f), &root), ==, 0);
        g_assert_cmpint(root->proc_fd, ==, -EBADF);
        g_assert_cmpint(root->run_fd, ==, -EBADF);
}

static void test_root_required_dirs(ctx *c, gconstpointer data)
{
        vk_root *root = (vk_root *)0x1;

        fixture_unlink(c->f, "dev");
        g_assert_cmpint(vk_root_open(fixture_prefix(c->f), &root), ==, -ENOENT);
        g_assert_true(root == (vk_root *)0x1); /* untouched on failure */

        fixture_unlink(c->f, "sys");
        fixture_write(c->f, "sys", "not a directory\n");
        g_assert_cmpint(vk_root_open(fixture_prefix(c->f), &root), ==, -ENOTDIR);
        g_assert_cmpint(vk_root_open("", &root), ==, -EINVAL);
        g_assert_cmpint(vk_root_open(NULL, &root), ==, -EINVAL);
        g_assert_cmpint(vk_root_open("/nonexistent-vfiod-prefix", &root), ==, -ENOENT);
        g_assert_true(root == (vk_root *)0x1);
}

/* The identity check alone, on hand-made handles: no test ever opens the machine's own /sys. */
static void test_root_is_system(void)
{
        vk_root sys = {.n_ref = 1,
                       .prefix = (char *)"/",
                       .sysfs_fd = -EBADF,
                       .dev_fd = -EBADF,
                       .proc_fd = -EBADF,
                       .run_fd = -EBADF};
        vk_root slashes = sys, tmp = sys, gone = sys;

        slashes.prefix = (char *)"//.";
        tmp.prefix = (char *)g_get_tmp_dir();
        gone.prefix = (char *)"/nonexistent-vfiod-prefix";
        g_assert_cmpint(vk_root_is_system(&sys), ==, 1);
        g_assert_cmpint(vk_root_is_system(&slashes), ==, 1);
        g_assert_cmpint(vk_root_is_system(&tmp), ==, 0);
        g_assert_cmpint(vk_root_is_system(&gone), ==, -ENOENT);
}

/* ---- reads and writes ---- */

static void test_read(ctx *c, gconstpointer data)
{
        g_autofree char *v = NULL, *empty = NULL, *two = NULL, *bare = NULL;

        fixture_write(c->f, "sys/a/vendor", "0x8086\n");
        fixture_write(c->f, "sys/a/empty", "");
        fixture_write(c->f, "sys/a/two", "x\n\n");
        fixture_write(c->f, "sys/a/bare", "no newline");
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "a/vendor", &v), ==, 0);
        g_assert_cmpstr(v, ==, "0x8086");
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "a/empty", &empty), ==, 0);
        g_assert_cmpstr(empty, ==, "");
        /* Only one newline is the kernel's; the rest is content. */
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "a/two", &two), ==, 0);
        g_assert_cmpstr(two, ==, "x\n");
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "a/bare", &bare), ==, 0);
        g_assert_cmpstr(bare, ==, "no newline");
}

static void test_read_errors(ctx *c, gconstpointer data)
{
        char *v = (char *)0x1;
        g_autofree char *big = g_malloc(VK_SYSFS_ATTR_MAX + 2);
        g_autofree char *page = NULL;

        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "missing", &v), ==, -ENOENT);
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "bus", &v), ==, -EISDIR);

        /* A full page is fine, one byte more is not an attribute. */
        memset(big, 'x', VK_SYSFS_ATTR_MAX);
        big[VK_SYSFS_ATTR_MAX] = '\0';
        fixture_write(c->f, "sys/page", big);
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "page", &page), ==, 0);
        g_assert_cmpuint(strlen(page), ==, VK_SYSFS_ATTR_MAX);
        big[VK_SYSFS_ATTR_MAX] = 'x';
        big[VK_SYSFS_ATTR_MAX + 1] = '\0';
        fixture_write(c->f, "sys/big", big);
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "big", &v), ==, -EFBIG);

        /* Embedded NUL. */
        g_autofree char *p = g_build_filename(fixture_prefix(c->f), "sys/nul", NULL);
        g_assert_true(g_file_set_contents(p, "ab\0cd\n", 6, NULL));
        g_assert_cmpint(vk_sysfs_read(c->root->sysfs_fd, "nul", &v), ==, -EBADMSG);
        g_assert_true(v == (char *)0x1);
}

static void test_write(ctx *c, gconstpointer data)
{
        g_autofree char *after = NULL, *cleared = NULL;

        fixture_write(c->f, "sys/d/driver_override", "(null)\n");
        g_assert_cmpint(vk_sysfs_write(c->root->sysfs_fd, "d/driver_override", "vfio-pci"), ==, 0);
        after = slurp(c, "sys/d/driver_override");
        g_assert_cmpstr(after, ==, "vfio-pci");
        g_assert_cmpint(vk_sysfs_write(c->root->sysfs_fd, "d/driver_override", "\n"), ==, 0);
        cleared = slurp(c, "sys/d/driver_override");
        g_assert_cmpstr(cleared, ==, "\n");

        /* Never creates attributes. */
        g_assert_cmpint(vk_sysfs_write(c->root->sysfs_fd, "d/new_attr", "1"), ==, -ENOENT);
        g_assert_false(faccessat(c->root->sysfs_fd, "d/new_attr", F_OK, 0) == 0);
        g_assert_cmpint(vk_sysfs_write(c->root->sysfs_fd, "d", "1"), ==, -EISDIR);
}

/* The kernel's errno comes back unchanged: /dev/full fails every write with ENOSPC. */
static void test_write_errno(void)
{
        _cleanup_(closep) int dev = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(dev, >=, 0);
        g_assert_cmpint(vk_sysfs_write(dev, "full", "1"), ==, -ENOSPC);
}

/* ---- links ---- */

static void test_link_name(ctx *c, gconstpointer data)
{
        g_autofree char *name = NULL;
        char *none = (char *)0x1;

        fixture_symlink(c->f, "sys/dev0/driver", "../../../bus/pci/drivers/e1000");
        fixture_write(c->f, "sys/dev0/vendor", "0x8086\n");
        g_assert_cmpint(vk_sysfs_read_link_name(c->root->sysfs_fd, "dev0/driver", &name), ==, 0);
        g_assert_cmpstr(name, ==, "e1000");
        g_assert_cmpint(vk_sysfs_read_link_name(c->root->sysfs_fd, "dev0/missing", &none), ==,
                        -ENOENT);
        g_assert_cmpint(vk_sysfs_read_link_name(c->root->sysfs_fd, "dev0/vendor", &none), ==,
                        -EINVAL);
        fixture_symlink(c->f, "sys/dev0/dotdot", "../..");
        g_assert_cmpint(vk_sysfs_read_link_name(c->root->sysfs_fd, "dev0/dotdot", &none), ==,
                        -EINVAL);
        g_assert_true(none == (char *)0x1);
}

/* Both ways of resolving (openat2 and the walk by hand) answer every case alike; the openat2
 * way is tested on its own, so a kernel without it fails here instead of falling back. */
typedef int (*resolver)(int dirfd, const char *path, char **ret);
static const resolver resolve_beneath = vk_sysfs_resolve_link_beneath;
static const resolver resolve_walk = vk_sysfs_resolve_link_walk;
static const resolver resolve_either = vk_sysfs_resolve_link;

/* Does this system answer openat2()? valgrind (3.19) does not know the call and says ENOSYS;
 * vk_sysfs_resolve_link_beneath must then report itself unavailable (1), nothing else. */
static bool openat2_available(int dirfd)
{
        struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
        int fd = (int)syscall(SYS_openat2, dirfd, ".", &how, sizeof(how));

        if (fd >= 0)
                close(fd);
        return fd >= 0 || errno != ENOSYS;
}

/* True when the test can go on: the resolver is usable here, or it said so correctly. */
static bool resolver_usable(ctx *c, gconstpointer data)
{
        char *s = NULL;

        if (data != &resolve_beneath || openat2_available(c->root->sysfs_fd))
                return true;
        g_test_message("no openat2 here: the kernel's walk must say it is unavailable");
        g_assert_cmpint(vk_sysfs_resolve_link_beneath(c->root->sysfs_fd, "bus", &s), ==, 1);
        g_assert_null(s);
        return false;
}

static void test_resolve(ctx *c, gconstpointer data)
{
        resolver resolve = *(const resolver *)data;

        if (!resolver_usable(c, data))
                return;
        g_autofree char *dev = NULL, *drv = NULL, *plain = NULL, *dotted = NULL;

        fixture_pci(c->f, "0000:00:02.0 driver=e1000 group=3");
        g_assert_cmpint(resolve(c->root->sysfs_fd, "bus/pci/devices/0000:00:02.0", &dev), ==, 0);
        g_assert_cmpstr(dev, ==, "devices/pci0000:00/0000:00:02.0");
        /* A link below a link: the device directory is itself reached through one. */
        g_assert_cmpint(resolve(c->root->sysfs_fd, "bus/pci/devices/0000:00:02.0/driver", &drv), ==,
                        0);
        g_assert_cmpstr(drv, ==, "bus/pci/drivers/e1000");
        /* Not a link: its canonical path. */
        g_assert_cmpint(resolve(c->root->sysfs_fd, "devices//pci0000:00/./", &plain), ==, 0);
        g_assert_cmpstr(plain, ==, "devices/pci0000:00");
        g_assert_cmpint(
            resolve(c->root->sysfs_fd, "devices/platform/../pci0000:00/0000:00:02.0", &dotted), ==,
            0);
        g_assert_cmpstr(dotted, ==, "devices/pci0000:00/0000:00:02.0");
}

static void test_resolve_escapes(ctx *c, gconstpointer data)
{
        resolver resolve = *(const resolver *)data;

        if (!resolver_usable(c, data))
                return;
        int fd = c->root->sysfs_fd;
        char *s = (char *)0x1;

        /* Relative links climbing out of sys/ (the fixture prefix holds dev/ next to it). */
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:09.0", "../../../../dev");
        g_assert_cmpint(resolve(fd, "bus/pci/devices/0000:00:09.0", &s), ==, -EXDEV);
        fixture_symlink(c->f, "sys/abs", "/etc");
        g_assert_cmpint(resolve(fd, "abs", &s), ==, -EXDEV);
        g_assert_cmpint(resolve(fd, "/etc", &s), ==, -EXDEV);
        /* The tree's root itself is no link target. */
        g_assert_cmpint(resolve(fd, "", &s), ==, -EINVAL);
        g_assert_cmpint(resolve(fd, ".", &s), ==, -EINVAL);
        g_assert_cmpint(resolve(fd, "devices/..", &s), ==, -EINVAL);
        g_assert_cmpint(resolve(fd, "../../etc/passwd", &s), ==, -EXDEV);
        g_assert_cmpint(resolve(fd, "devices/../../etc", &s), ==, -EXDEV);
        /* An escape hidden behind a chain of links inside the tree. */
        fixture_symlink(c->f, "sys/devices/hop1", "hop2");
        fixture_symlink(c->f, "sys/devices/hop2", "../kernel/../..");
        g_assert_cmpint(resolve(fd, "devices/hop1/x", &s), ==, -EXDEV);
        /* Loops and dangling links. */
        fixture_symlink(c->f, "sys/loop", "loop");
        g_assert_cmpint(resolve(fd, "loop", &s), ==, -ELOOP);
        fixture_symlink(c->f, "sys/dangling", "devices/nothing");
        g_assert_cmpint(resolve(fd, "dangling", &s), ==, -ENOENT);
        fixture_write(c->f, "sys/file", "x\n");
        g_assert_cmpint(resolve(fd, "file/below", &s), ==, -ENOTDIR);
        g_assert_true(s == (char *)0x1);
}

static void test_list(ctx *c, gconstpointer data)
{
        _cleanup_(strv_freep) char **names = NULL, **empty = NULL;
        char **none = (char **)0x1;

        fixture_write(c->f, "sys/class/vtconsole/vtcon1/bind", "1\n");
        fixture_write(c->f, "sys/class/vtconsole/vtcon0/bind", "0\n");
        fixture_symlink(c->f, "sys/class/vtconsole/vtcon10", "vtcon1");
        fixture_mkdir(c->f, "sys/class/graphics");
        g_assert_cmpint(vk_sysfs_list(c->root->sysfs_fd, "class/vtconsole", &names), ==, 0);
        g_assert_cmpuint(strv_length(names), ==, 3);
        g_assert_cmpstr(names[0], ==, "vtcon0");
        g_assert_cmpstr(names[1], ==, "vtcon1");
        g_assert_cmpstr(names[2], ==, "vtcon10");
        g_assert_cmpint(vk_sysfs_list(c->root->sysfs_fd, "class/graphics", &empty), ==, 0);
        g_assert_nonnull(empty);
        g_assert_null(empty[0]);
        g_assert_cmpint(vk_sysfs_list(c->root->sysfs_fd, "class/none", &none), ==, -ENOENT);
        g_assert_cmpint(vk_sysfs_list(c->root->sysfs_fd, "class/vtconsole/vtcon0/bind", &none), ==,
                        -ENOTDIR);
        g_assert_true(none == (char **)0x1);
}

/* Directories only: files and links (to directories too) are left out. */
static void test_list_dirs(ctx *c, gconstpointer data)
{
        _cleanup_(strv_freep) char **names = NULL;
        char **none = (char **)0x1;

        fixture_write(c->f, "sys/devices/d/uevent", "");
        fixture_write(c->f, "sys/devices/d/power/control", "on\n");
        fixture_mkdir(c->f, "sys/devices/d/net");
        fixture_symlink(c->f, "sys/devices/d/subsystem", "../../bus/pci");
        fixture_mkdir(c->f, "sys/bus/pci");
        fixture_symlink(c->f, "sys/devices/d/dangling", "nothing");
        g_assert_cmpint(vk_sysfs_list_dirs(c->root->sysfs_fd, "devices/d", &names), ==, 0);
        g_assert_cmpuint(strv_length(names), ==, 2);
        g_assert_cmpstr(names[0], ==, "net");
        g_assert_cmpstr(names[1], ==, "power");
        g_assert_cmpint(vk_sysfs_list_dirs(c->root->sysfs_fd, "devices/d/uevent", &none), ==,
                        -ENOTDIR);
        g_assert_cmpint(vk_sysfs_list_dirs(c->root->sysfs_fd, "devices/x", &none), ==, -ENOENT);
        g_assert_true(none == (char **)0x1);
}

/* A directory whose entries take several getdents64 calls (records of ~90 bytes, far more than
 * one buffer holds): every name comes back once, sorted. */
static void test_list_large(ctx *c, gconstpointer data)
{
        _cleanup_(strv_freep) char **names = NULL;
        enum { N = 1000 };
        char name[128];

        for (unsigned i = 0; i < N; i++) {
                g_autofree char *path = NULL;

                g_snprintf(name, sizeof(name), "devices/many/%04u-%s", i,
                           "a-long-name-so-that-each-directory-record-takes-about-ninety-bytes");
                path = g_strconcat("sys/", name, NULL);
                fixture_write(c->f, path, "");
        }
        g_assert_cmpint(vk_sysfs_list(c->root->sysfs_fd, "devices/many", &names), ==, 0);
        g_assert_cmpuint(strv_length(names), ==, N);
        for (unsigned i = 0; i < N; i++) {
                g_snprintf(name, sizeof(name), "%04u-%s", i,
                           "a-long-name-so-that-each-directory-record-takes-about-ninety-bytes");
                g_assert_cmpstr(names[i], ==, name);
        }
}

/* ---- parsers ---- */

static void test_parse_hex(void)
{
        static const struct {
                const char *in;
                int r;
                uint32_t v;
        } cases[] = {
            {"0x8086\n", 0, 0x8086},
            {"0x8086", 0, 0x8086},
            {"8086", 0, 0x8086},
            {"0X00FF00\n", 0, 0xff00},
            {"0x020000\n", 0, 0x020000},
            {"0xffffffff", 0, 0xffffffff},
            {"0x00000000ffffffff", 0, 0xffffffff},
            {"0x100000000", -ERANGE, 0},
            {"", -EINVAL, 0},
            {"0x", -EINVAL, 0},
            {"\n", -EINVAL, 0},
            {"0x8086\n\n", -EINVAL, 0},
            {" 0x8086", -EINVAL, 0},
            {"0x8086 ", -EINVAL, 0},
            {"-0x1", -EINVAL, 0},
            {"0xg", -EINVAL, 0},
            {"0x0x1", -EINVAL, 0},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                uint32_t v = 0xdeadbeef;
                g_autofree char *e = g_strescape(cases[i].in, NULL);
                g_test_message("hex %zu: \"%s\"", i, e);
                g_assert_cmpint(vk_parse_hex_u32(cases[i].in, &v), ==, cases[i].r);
                g_assert_cmphex(v, ==, cases[i].r == 0 ? cases[i].v : 0xdeadbeef);
        }
}

static void test_parse_int(void)
{
        static const struct {
                const char *in;
                int r;
                int v;
        } cases[] = {
            {"3\n", 0, 3},
            {"0", 0, 0},
            {"-1", 0, -1},
            {"007", 0, 7},
            {"2147483647", 0, INT_MAX},
            {"-2147483648", 0, INT_MIN},
            {"2147483648", -ERANGE, 0},
            {"99999999999999999999", -ERANGE, 0},
            {"", -EINVAL, 0},
            {"-", -EINVAL, 0},
            {"+1", -EINVAL, 0},
            {"1a", -EINVAL, 0},
            {"0x10", -EINVAL, 0},
            {"1\n\n", -EINVAL, 0},
            {" 1", -EINVAL, 0},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                int v = 12345;
                g_autofree char *e = g_strescape(cases[i].in, NULL);
                g_test_message("int %zu: \"%s\"", i, e);
                g_assert_cmpint(vk_parse_int(cases[i].in, &v), ==, cases[i].r);
                g_assert_cmpint(v, ==, cases[i].r == 0 ? cases[i].v : 12345);
        }
}

static void test_parse_bool(void)
{
        static const struct {
                const char *in;
                int r;
                int v;
        } cases[] = {
            {"1\n", 0, 1},       {"0\n", 0, 0},         {"1", 0, 1},       {"Y\n", 0, 1},
            {"N", 0, 0},         {"", -EINVAL, 0},      {"2", -EINVAL, 0}, {"10", -EINVAL, 0},
            {"yes", -EINVAL, 0}, {"1\n\n", -EINVAL, 0}, {"y", -EINVAL, 0},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                int v = 7;
                g_autofree char *e = g_strescape(cases[i].in, NULL);
                g_test_message("bool %zu: \"%s\"", i, e);
                g_assert_cmpint(vk_parse_bool(cases[i].in, &v), ==, cases[i].r);
                g_assert_cmpint(v, ==, cases[i].r == 0 ? cases[i].v : 7);
        }
}

/* ---- the fixture itself: the shapes other tests rely on ---- */

static void test_fixture_shapes(ctx *c, gconstpointer data)
{
        int fd = c->root->sysfs_fd;
        char target[PATH_MAX];
        ssize_t n;
        g_autofree char *v = NULL, *res = NULL, *grp = NULL, *ap = NULL, *plat = NULL;

        fixture_pci(c->f, "0000:00:1c.0 class=0x060400 driver=pcieport group=7");
        fixture_pci(c->f, "0000:01:00.0 parent=0000:00:1c.0 vendor=0x8086 device=0x10d3 "
                          "class=0x020000 driver=e1000e group=7 "
                          "resource=0xfebc0000-0xfebdffff:0x40200");
        fixture_platform(c->f, "efi-framebuffer.0 driver=efi-framebuffer");

        g_assert_cmpstr(fixture_syspath(c->f, "0000:01:00.0"), ==,
                        "devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
        n = readlinkat(fd, "devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver", target,
                       sizeof target - 1);
        g_assert_cmpint(n, >, 0);
        target[n] = '\0';
        g_assert_cmpstr(target, ==, "../../../../bus/pci/drivers/e1000e");
        n = readlinkat(fd, "bus/pci/devices/0000:01:00.0", target, sizeof target - 1);
        target[n] = '\0';
        g_assert_cmpstr(target, ==, "../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
        n = readlinkat(fd, "kernel/iommu_groups/7/devices/0000:00:1c.0", target, sizeof target - 1);
        target[n] = '\0';
        g_assert_cmpstr(target, ==, "../../../../devices/pci0000:00/0000:00:1c.0");

        g_assert_cmpint(vk_sysfs_read(fd, "bus/pci/devices/0000:01:00.0/modalias", &v), ==, 0);
        g_assert_cmpstr(v, ==, "pci:v00008086d000010D3sv00001AF4sd00001100bc02sc00i00");
        g_assert_cmpint(vk_sysfs_read(fd, "bus/pci/devices/0000:01:00.0/resource", &res), ==, 0);
        g_assert_true(
            g_str_has_prefix(res, "0x00000000febc0000 0x00000000febdffff 0x0000000000040200\n"
                                  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"));
        g_assert_cmpint(vk_sysfs_resolve_link(fd, "bus/pci/devices/0000:01:00.0/iommu_group", &grp),
                        ==, 0);
        g_assert_cmpstr(grp, ==, "kernel/iommu_groups/7");
        g_assert_cmpint(vk_sysfs_read(fd, "bus/pci/drivers_autoprobe", &ap), ==, 0);
        g_assert_cmpstr(ap, ==, "1");
        g_assert_cmpint(faccessat(fd, "bus/pci/drivers/e1000e/unbind", F_OK, 0), ==, 0);
        g_assert_cmpint(vk_sysfs_resolve_link(fd, "bus/platform/devices/efi-framebuffer.0", &plat),
                        ==, 0);
        g_assert_cmpstr(plat, ==, "devices/platform/efi-framebuffer.0");
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

#define T(name, fn) g_test_add(name, ctx, NULL, fixture_root_setup, fn, fixture_root_teardown)
        T("/root/open", test_root_open);
        T("/root/optional-dirs", test_root_optional_dirs);
        T("/root/required-dirs", test_root_required_dirs);
        g_test_add_func("/root/is-system", test_root_is_system);
        T("/sysfs/read", test_read);
        T("/sysfs/read-errors", test_read_errors);
        T("/sysfs/write", test_write);
        g_test_add_func("/sysfs/write-errno", test_write_errno);
        T("/sysfs/link-name", test_link_name);
#define TR(name, fn, how)                                                                          \
        g_test_add(name, ctx, (gconstpointer)(how), fixture_root_setup, fn, fixture_root_teardown)
        TR("/sysfs/resolve/beneath", test_resolve, &resolve_beneath);
        TR("/sysfs/resolve/walk", test_resolve, &resolve_walk);
        TR("/sysfs/resolve/either", test_resolve, &resolve_either);
        TR("/sysfs/resolve-escapes/beneath", test_resolve_escapes, &resolve_beneath);
        TR("/sysfs/resolve-escapes/walk", test_resolve_escapes, &resolve_walk);
        TR("/sysfs/resolve-escapes/either", test_resolve_escapes, &resolve_either);
        T("/sysfs/list", test_list);
        T("/sysfs/list-large", test_list_large);
        T("/sysfs/list-dirs", test_list_dirs);
        g_test_add_func("/sysfs/parse-hex", test_parse_hex);
        g_test_add_func("/sysfs/parse-int", test_parse_int);
        g_test_add_func("/sysfs/parse-bool", test_parse_bool);
        T("/fixture/shapes", test_fixture_shapes);
#undef T
        return g_test_run();
}
