/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VFIO nodes and features on fixture trees. Group nodes are plain files here, so the status
 * ioctl is answered by this test the way the sim tier's shim does it: the node's content
 * "flags=<n>" is what VFIO_GROUP_GET_STATUS reports. Every other ioctl goes to the kernel.
 */
#include <fcntl.h>
#include <glib.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fixture.h"
#include "macros.h"
#include "vfio.h"

/* Inode of the one fixture node the fake ioctl answers for; 0 = none. */
static ino_t fake_node_ino;
static unsigned fake_status_calls;

/* Overrides libc's ioctl for this executable (the kernel library is linked in statically). */
int ioctl(int fd, unsigned long request, ...)
{
        va_list ap;
        va_start(ap, request);
        void *arg = va_arg(ap, void *);
        va_end(ap);

        struct stat st;
        if (request != VFIO_GROUP_GET_STATUS || fake_node_ino == 0 || fstat(fd, &st) < 0 ||
            st.st_ino != fake_node_ino)
                return syscall(SYS_ioctl, fd, request, arg);

        /* drivers/vfio/group.c: argsz below the structure's size is EINVAL. */
        struct vfio_group_status *status = arg;
        fake_status_calls++;
        if (status->argsz < sizeof(*status)) {
                errno = EINVAL;
                return -1;
        }
        char buf[64] = "";
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        unsigned flags;
        if (n <= 0 || sscanf(buf, "flags=%u", &flags) != 1) {
                errno = EIO;
                return -1;
        }
        status->flags = flags;
        return 0;
}

typedef struct {
        fixture *f;
        vk_root *root;
} Fx;

static void fx_setup(Fx *fx, gconstpointer data)
{
        fx->f = fixture_new();
        g_assert_cmpint(vk_root_open(fixture_prefix(fx->f), &fx->root), ==, 0);
        fake_node_ino = 0;
        fake_status_calls = 0;
}

static void fx_teardown(Fx *fx, gconstpointer data)
{
        vk_root_unref(fx->root);
        fixture_free(fx->f);
}

static char *fixture_path(Fx *fx, const char *path)
{
        return g_build_filename(fixture_prefix(fx->f), path, NULL);
}

/* Changes a node's content without replacing its inode, so open fds see the new state. */
static void rewrite_in_place(Fx *fx, const char *path, const char *content)
{
        g_autofree char *p = fixture_path(fx, path);
        _cleanup_(closep) int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, content, strlen(content)), ==, (ssize_t)strlen(content));
}

static void test_group_node_path(void)
{
        char buf[32];

        g_assert_cmpint(vk_vfio_group_node(3, buf, sizeof(buf)), ==, 0);
        g_assert_cmpstr(buf, ==, "vfio/3");
        g_assert_cmpint(vk_vfio_group_node(2147483647, buf, sizeof(buf)), ==, 0);
        g_assert_cmpstr(buf, ==, "vfio/2147483647");

        strcpy(buf, "untouched");
        g_assert_cmpint(vk_vfio_group_node(-1, buf, sizeof(buf)), ==, -EINVAL);
        g_assert_cmpint(vk_vfio_group_node(12345, buf, 8), ==, -ENOBUFS);
        g_assert_cmpint(vk_vfio_group_node(3, NULL, 0), ==, -EINVAL);
}

static void test_group_open(Fx *fx, gconstpointer data)
{
        int fd = -1;

        g_assert_false(vk_vfio_group_node_exists(fx->root, 3));
        g_assert_cmpint(vk_vfio_group_open(fx->root, 3, &fd), ==, -ENOENT);
        g_assert_cmpint(fd, ==, -1);

        fixture_write(fx->f, "dev/vfio/3", "flags=1\n");
        g_assert_true(vk_vfio_group_node_exists(fx->root, 3));
        g_assert_false(vk_vfio_group_node_exists(fx->root, -3));
        g_assert_cmpint(vk_vfio_group_open(fx->root, 3, &fd), ==, 0);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(fcntl(fd, F_GETFL) & O_ACCMODE, ==, O_RDWR);
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, FD_CLOEXEC);
        close(fd);

        /* Errors from open() come back as they are, and *ret_fd stays. */
        fd = -1;
        fixture_mkdir(fx->f, "dev/vfio/4");
        g_assert_true(vk_vfio_group_node_exists(fx->root, 4));
        g_assert_cmpint(vk_vfio_group_open(fx->root, 4, &fd), ==, -EISDIR);
        /* devtmpfs makes the node; a symlink in its place is refused, not followed. */
        fixture_symlink(fx->f, "dev/vfio/5", "3");
        g_assert_cmpint(vk_vfio_group_open(fx->root, 5, &fd), ==, -ELOOP);
        g_assert_cmpint(vk_vfio_group_open(fx->root, -1, &fd), ==, -EINVAL);
        g_assert_cmpint(fd, ==, -1);
}

static void test_group_status(Fx *fx, gconstpointer data)
{
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(closep) int plain = -EBADF;
        g_autofree char *node = fixture_path(fx, "dev/vfio/3");
        struct stat st;
        uint32_t flags = 0xdead;

        fixture_write(fx->f, "dev/vfio/3", "flags=3\n"); /* VIABLE | CONTAINER_SET */
        g_assert_no_errno(stat(node, &st));
        fake_node_ino = st.st_ino;
        g_assert_cmpint(vk_vfio_group_open(fx->root, 3, &fd), ==, 0);
        g_assert_cmpint(vk_vfio_group_status(fd, &flags), ==, 0);
        g_assert_cmpuint(fake_status_calls, ==, 1);
        g_assert_cmpuint(flags, ==, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);

        /* A group with a host driver bound in it: not viable. */
        rewrite_in_place(fx, "dev/vfio/3", "flags=0\n");
        g_assert_cmpint(vk_vfio_group_status(fd, &flags), ==, 0);
        g_assert_cmpuint(flags, ==, 0);

        /* The kernel's error reaches the caller and the flags stay: a plain file is ENOTTY. */
        flags = 0xdead;
        fixture_write(fx->f, "dev/vfio/9", "");
        plain = openat(fx->root->dev_fd, "vfio/9", O_RDWR | O_CLOEXEC);
        g_assert_cmpint(plain, >=, 0);
        g_assert_cmpint(vk_vfio_group_status(plain, &flags), ==, -ENOTTY);
        g_assert_cmpint(vk_vfio_group_status(-1, &flags), ==, -EINVAL);
        g_assert_cmpint(vk_vfio_group_status(fd, NULL), ==, -EINVAL);
        g_assert_cmpuint(flags, ==, 0xdead);
}

static void test_group_chown(Fx *fx, gconstpointer data)
{
        g_autofree char *node = fixture_path(fx, "dev/vfio/3");
        g_autofree char *target = fixture_path(fx, "dev/target");
        struct stat st;

        fixture_write(fx->f, "dev/vfio/3", "");
        g_assert_cmpint(vk_vfio_group_chown(fx->root, 3, 4242, 4343), ==, 0);
        g_assert_no_errno(stat(node, &st));
        g_assert_cmpuint(st.st_uid, ==, 4242);
        g_assert_cmpuint(st.st_gid, ==, 4343);

        /* (gid_t)-1 keeps the group, as chown(2) does. */
        g_assert_cmpint(vk_vfio_group_chown(fx->root, 3, 4444, (gid_t)-1), ==, 0);
        g_assert_no_errno(stat(node, &st));
        g_assert_cmpuint(st.st_uid, ==, 4444);
        g_assert_cmpuint(st.st_gid, ==, 4343);

        g_assert_cmpint(vk_vfio_group_chown(fx->root, 4, 4242, 4242), ==, -ENOENT);
        g_assert_cmpint(vk_vfio_group_chown(fx->root, -4, 4242, 4242), ==, -EINVAL);

        /* A symlink in /dev/vfio never hands its target to the client. */
        fixture_write(fx->f, "dev/target", "");
        fixture_symlink(fx->f, "dev/vfio/6", "../target");
        g_assert_cmpint(vk_vfio_group_chown(fx->root, 6, 4242, 4242), ==, 0);
        g_assert_no_errno(stat(target, &st));
        g_assert_cmpuint(st.st_uid, ==, 0);
}

static void test_device_cdev(Fx *fx, gconstpointer data)
{
        vk_device_id id = {.bus = VK_BUS_PCI, .name = "0000:01:00.0"};
        vk_device_id gone = {.bus = VK_BUS_PCI, .name = "0000:09:00.0"};
        char *name = (char *)"untouched";
        bool has_node = true;

        fixture_pci(fx->f, "0000:01:00.0 driver=vfio-pci group=3");
        const char *sp = fixture_syspath(fx->f, "0000:01:00.0");
        g_autofree char *vfio_dev = g_strdup_printf("sys/%s/vfio-dev", sp);
        g_autofree char *cdev0 = g_strdup_printf("sys/%s/vfio-dev/vfio0", sp);
        g_autofree char *cdev1 = g_strdup_printf("sys/%s/vfio-dev/vfio1", sp);

        /* Kernels before 6.1, or a device not bound to a vfio driver: no vfio-dev. */
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &id, &name, &has_node), ==, -ENOENT);
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &gone, &name, &has_node), ==, -ENOENT);
        fixture_mkdir(fx->f, vfio_dev);
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &id, &name, &has_node), ==, -ENOENT);
        g_assert_cmpstr(name, ==, "untouched");
        g_assert_true(has_node);

        /* 6.1 without IOMMUFD (Debian): the sysfs cdev, no /dev/vfio/devices node. */
        fixture_mkdir(fx->f, cdev0);
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &id, &name, &has_node), ==, 0);
        g_assert_cmpstr(name, ==, "vfio0");
        g_assert_false(has_node);
        g_free(name);

        /* VFIO_DEVICE_CDEV kernels: /dev/vfio/devices/vfio0 too. */
        fixture_write(fx->f, "dev/vfio/devices/vfio0", "");
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &id, &name, &has_node), ==, 0);
        g_assert_cmpstr(name, ==, "vfio0");
        g_assert_true(has_node);
        g_free(name);
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &id, &name, NULL), ==, 0);
        g_free(name);

        /* Two cdevs for one device is a shape we do not understand. */
        name = (char *)"untouched";
        fixture_mkdir(fx->f, cdev1);
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &id, &name, &has_node), ==, -EBADMSG);
        g_assert_cmpstr(name, ==, "untouched");
        g_assert_cmpint(vk_vfio_device_cdev(fx->root, &id, NULL, &has_node), ==, -EINVAL);
}

static void assert_features(Fx *fx, bool iommu, bool cdev, bool noiommu, bool platform)
{
        vk_vfio_features f;
        memset(&f, 0xff, sizeof(f));
        g_assert_cmpint(vk_vfio_features_read(fx->root, &f), ==, 0);
        g_assert_cmpint(f.iommu, ==, iommu);
        g_assert_cmpint(f.cdev, ==, cdev);
        g_assert_cmpint(f.noiommu, ==, noiommu);
        g_assert_cmpint(f.platform, ==, platform);
}

static void test_features_none(Fx *fx, gconstpointer data)
{
        /* An x86 machine without intel_iommu=on: no groups, no class/iommu, vfio not loaded. */
        assert_features(fx, false, false, false, false);
}

static void test_features_iommu(Fx *fx, gconstpointer data)
{
        /* Groups are enough... */
        fixture_pci(fx->f, "0000:01:00.0 group=3");
        assert_features(fx, true, false, false, false);
        /* ...and so is a registered IOMMU without groups yet. */
        fixture_unlink(fx->f, "sys/kernel/iommu_groups/3");
        assert_features(fx, false, false, false, false);
        fixture_mkdir(fx->f, "sys/class/iommu/dmar0");
        assert_features(fx, true, false, false, false);
}

static void test_features_cdev_noiommu_platform(Fx *fx, gconstpointer data)
{
        fixture_mkdir(fx->f, "dev/vfio/devices");
        assert_features(fx, false, true, false, false);

        /* Module bool parameters read "N"/"Y". */
        fixture_write(fx->f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
        assert_features(fx, false, true, false, false);
        fixture_write(fx->f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n");
        assert_features(fx, false, true, true, false);

        fixture_driver(fx->f, "amba", "vfio-amba");
        assert_features(fx, false, true, true, true);
        fixture_unlink(fx->f, "sys/bus/amba/drivers/vfio-amba");
        fixture_driver(fx->f, "platform", "vfio-platform");
        assert_features(fx, false, true, true, true);
}

static void test_features_errors(Fx *fx, gconstpointer data)
{
        vk_vfio_features f = {.iommu = true, .cdev = true};

        /* Something that is not a directory where the groups live: an error, *ret untouched. */
        fixture_unlink(fx->f, "sys/kernel/iommu_groups");
        fixture_write(fx->f, "sys/kernel/iommu_groups", "");
        g_assert_cmpint(vk_vfio_features_read(fx->root, &f), ==, -ENOTDIR);
        g_assert_true(f.iommu && f.cdev && !f.noiommu && !f.platform);
        g_assert_cmpint(vk_vfio_features_read(fx->root, NULL), ==, -EINVAL);

        /* A parameter that is neither Y nor N is not guessed at. */
        fixture_unlink(fx->f, "sys/kernel/iommu_groups");
        fixture_mkdir(fx->f, "sys/kernel/iommu_groups");
        fixture_write(fx->f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "maybe\n");
        g_assert_cmpint(vk_vfio_features_read(fx->root, &f), ==, -EINVAL);
        g_assert_true(f.iommu && f.cdev && !f.noiommu && !f.platform);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/vfio/group/node-path", test_group_node_path);
#define ADD(name, fn) g_test_add(name, Fx, NULL, fx_setup, fn, fx_teardown)
        ADD("/vfio/group/open", test_group_open);
        ADD("/vfio/group/status", test_group_status);
        ADD("/vfio/group/chown", test_group_chown);
        ADD("/vfio/device-cdev", test_device_cdev);
        ADD("/vfio/features/none", test_features_none);
        ADD("/vfio/features/iommu", test_features_iommu);
        ADD("/vfio/features/cdev-noiommu-platform", test_features_cdev_noiommu_platform);
        ADD("/vfio/features/errors", test_features_errors);
#undef ADD
        return g_test_run();
}
