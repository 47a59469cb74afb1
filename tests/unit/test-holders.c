/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Holder checks on fixture trees. Shapes follow what Debian's kernels show: an NVMe disk at
 * <pci>/nvme/nvme0/nvme0n1/nvme0n1pN, device-mapper and md holders under devices/virtual/block
 * linked from the partition's holders/, net interfaces at <pci>/net/<ifname> with "flags" in
 * hex (IFF_UP = 0x1), DRM nodes at <pci>/drm/{card0,renderD128} next to connector devices that
 * have no node, and /proc/<pid>/fd links that read "/dev/dri/card0".
 */
#include <glib.h>
#include <stdio.h>

#include "fixture.h"
#include "holders.h"
#include "macros.h"

#define NVME  "0000:01:00.0"
#define E1000 "0000:00:02.0"
#define GPU   "0000:00:01.0"

/* "../" for every directory of `from` (a path below the prefix), then `to` below the prefix. */
static char *rel(const char *from, const char *to)
{
        GString *s = g_string_new(NULL);
        for (const char *c = from; *c; c++)
                if (*c == '/')
                        g_string_append(s, "../");
        g_string_append(s, to);
        return g_string_free(s, FALSE);
}

static void link_rel(fixture *f, const char *at, const char *to)
{
        g_autofree char *target = rel(at, to);
        fixture_symlink(f, at, target);
}

/* A class device at sys/<syspath>: uevent, subsystem link, dev (when it has a node) and the
 * class/<subsystem>/<name> link. */
static void classdev(fixture *f, const char *syspath, const char *subsystem, const char *dev)
{
        const char *name = strrchr(syspath, '/') + 1;
        g_autofree char *dir = g_strconcat("sys/", syspath, NULL);
        g_autofree char *uevent = g_strconcat(dir, "/uevent", NULL);
        g_autofree char *sub = g_strconcat(dir, "/subsystem", NULL);
        g_autofree char *cls = g_strconcat("sys/class/", subsystem, NULL);
        g_autofree char *cls_link = g_strdup_printf("sys/class/%s/%s", subsystem, name);

        fixture_write(f, uevent, "");
        link_rel(f, sub, cls);
        link_rel(f, cls_link, dir);
        if (dev) {
                g_autofree char *p = g_strconcat(dir, "/dev", NULL);
                g_autofree char *v = g_strconcat(dev, "\n", NULL);
                fixture_write(f, p, v);
        }
}

static char *under(fixture *f, const char *dev, const char *path)
{
        return g_strdup_printf("%s/%s", fixture_syspath(f, dev), path);
}

/* NVMe with three partitions: p1 mounted on "/boot efi", p2 under dm-0 (mounted on /), p3 swap. */
static void nvme_add(fixture *f)
{
        fixture_pci(f, NVME " vendor=0x1b36 device=0x0010 class=0x010802 driver=nvme group=4");
        g_autofree char *ctrl = under(f, NVME, "nvme/nvme0");
        g_autofree char *disk = under(f, NVME, "nvme/nvme0/nvme0n1");
        g_autofree char *p1 = g_strconcat(disk, "/nvme0n1p1", NULL);
        g_autofree char *p2 = g_strconcat(disk, "/nvme0n1p2", NULL);
        g_autofree char *p3 = g_strconcat(disk, "/nvme0n1p3", NULL);

        classdev(f, ctrl, "nvme", "240:0");
        classdev(f, disk, "block", "259:0");
        classdev(f, p1, "block", "259:1");
        classdev(f, p2, "block", "259:2");
        classdev(f, p3, "block", "259:3");
        /* Attribute groups: no uevent, must not be mistaken for devices. */
        g_autofree char *mq = g_strdup_printf("sys/%s/mq/0/cpu0/dummy", disk);
        fixture_write(f, mq, "");

        classdev(f, "devices/virtual/block/dm-0", "block", "254:0");
        g_autofree char *holder = g_strdup_printf("sys/%s/holders/dm-0", p2);
        link_rel(f, holder, "sys/devices/virtual/block/dm-0");
        fixture_mkdir(f, "sys/devices/virtual/block/dm-0/holders");
}

static const char mountinfo[] =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw,errors=remount-ro\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "30 22 259:1 / /boot\\040efi rw,relatime shared:20 - vfat /dev/nvme0n1p1 rw,fmask=0077\n";

static const char swaps[] =
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    "/dev/nvme0n1p3                          partition\t1048572\t\t0\t\t-2\n";

typedef struct test_env {
        fixture *f;
        vk_root *root;
        vk_device *dev;
        char **reasons;
} test_env;

static void env_free(test_env *e)
{
        strv_free(e->reasons);
        vk_root_unref(e->root);
        vk_device_free(e->dev);
        fixture_free(e->f);
}

/* Runs the check for `name` on `bus`; returns what vk_holders_find returned. */
static int find_on(test_env *e, vk_bus bus, const char *name)
{
        if (!e->root)
                g_assert_cmpint(vk_root_open(fixture_prefix(e->f), &e->root), ==, 0);
        vk_device_id id = {.bus = bus};
        g_strlcpy(id.name, name, sizeof(id.name));
        e->dev = vk_device_free(e->dev);
        g_assert_cmpint(vk_device_load(e->root, &id, &e->dev), ==, 0);
        e->reasons = strv_free(e->reasons);
        return vk_holders_find(e->root, e->dev, &e->reasons);
}

static int find(test_env *e, const char *name)
{
        return find_on(e, VK_BUS_PCI, name);
}

/* Reasons come in directory order: compare as sets. */
static void assert_reasons(test_env *e, const char *const *want)
{
        g_assert_nonnull(e->reasons);
        for (size_t i = 0; want[i]; i++)
                if (!strv_contains(e->reasons, want[i]))
                        g_error("missing reason \"%s\"", want[i]);
        for (char **r = e->reasons; *r; r++)
                if (!g_strv_contains(want, *r))
                        g_error("unexpected reason \"%s\"", *r);
}

static void test_block_mounted_dm_swap(void)
{
        test_env e = {.f = fixture_new()};

        nvme_add(e.f);
        fixture_write(e.f, "proc/self/mountinfo", mountinfo);
        fixture_write(e.f, "proc/swaps", swaps);

        g_assert_cmpint(find(&e, NVME), ==, 3);
        assert_reasons(&e, (const char *const[]){
                               "block device nvme0n1p1 is mounted on /boot efi",
                               "block device dm-0 (on nvme0n1p2) is mounted on /",
                               "block device nvme0n1p3 is in use as swap",
                               NULL,
                           });
        env_free(&e);
}

/* An active holder with nothing mounted on it still uses the partition. */
static void test_block_held_not_mounted(void)
{
        test_env e = {.f = fixture_new()};

        nvme_add(e.f);
        fixture_write(e.f, "proc/self/mountinfo", "");
        g_assert_cmpint(find(&e, NVME), ==, 1);
        assert_reasons(&e, (const char *const[]){"block device nvme0n1p2 is held by dm-0", NULL});
        env_free(&e);
}

/* dm-1 on md127 on the partition: the mount is found two holders up. */
static void test_block_nested_holders(void)
{
        test_env e = {.f = fixture_new()};

        nvme_add(e.f);
        classdev(e.f, "devices/virtual/block/md127", "block", "9:127");
        classdev(e.f, "devices/virtual/block/dm-1", "block", "254:1");
        g_autofree char *p1 = under(e.f, NVME, "nvme/nvme0/nvme0n1/nvme0n1p1/holders/md127");
        g_autofree char *at = g_strconcat("sys/", p1, NULL);
        link_rel(e.f, at, "sys/devices/virtual/block/md127");
        link_rel(e.f, "sys/devices/virtual/block/md127/holders/dm-1",
                 "sys/devices/virtual/block/dm-1");
        fixture_write(e.f, "proc/self/mountinfo",
                      "40 1 254:1 / /srv\\011data rw - xfs /dev/mapper/data rw\n");

        g_assert_cmpint(find(&e, NVME), ==, 2);
        /* The tab in the mount point is shown as '?': reasons are printable ASCII. */
        assert_reasons(&e, (const char *const[]){
                               "block device dm-1 (on nvme0n1p1) is mounted on /srv?data",
                               "block device nvme0n1p2 is held by dm-0",
                               NULL,
                           });
        env_free(&e);
}

/* An e1000 with interface enp0s2; returns the path of its "flags" attribute. */
static char *e1000_add(fixture *f, const char *flags)
{
        fixture_pci(f, E1000 " vendor=0x8086 device=0x100e class=0x020000 driver=e1000");
        g_autofree char *ifc = under(f, E1000, "net/enp0s2");
        char *path = g_strdup_printf("sys/%s/flags", ifc);
        classdev(f, ifc, "net", NULL);
        fixture_write(f, path, flags);
        return path;
}

static void test_net_up_and_down(void)
{
        test_env e = {.f = fixture_new()};
        g_autofree char *flags = e1000_add(e.f, "0x1003\n");

        g_assert_cmpint(find(&e, E1000), ==, 1);
        assert_reasons(&e, (const char *const[]){"network interface enp0s2 is up", NULL});

        fixture_write(e.f, flags, "0x1002\n");
        g_assert_cmpint(find(&e, E1000), ==, 0);
        assert_reasons(&e, (const char *const[]){NULL});
        env_free(&e);
}

static void fd_link(fixture *f, const char *pid, const char *fd, const char *target)
{
        g_autofree char *p = g_strdup_printf("proc/%s/fd/%s", pid, fd);
        fixture_symlink(f, p, target);
}

static void comm(fixture *f, const char *pid, const char *name)
{
        g_autofree char *p = g_strdup_printf("proc/%s/comm", pid);
        g_autofree char *v = g_strconcat(name, "\n", NULL);
        fixture_write(f, p, v);
}

static void gpu_add(fixture *f)
{
        fixture_pci(f, GPU " class=0x030000 boot_vga=1 driver=bochs-drm");
        g_autofree char *card = under(f, GPU, "drm/card0");
        g_autofree char *render = under(f, GPU, "drm/renderD128");
        g_autofree char *connector = under(f, GPU, "drm/card0/card0-Virtual-1");
        g_autofree char *fb = under(f, GPU, "graphics/fb0");
        classdev(f, card, "drm", "226:0");
        classdev(f, render, "drm", "226:128");
        classdev(f, connector, "drm", NULL);
        classdev(f, fb, "graphics", "29:0");
}

static void test_open_drm_nodes(void)
{
        test_env e = {.f = fixture_new()};

        gpu_add(e.f);
        fd_link(e.f, "1234", "0", "/dev/null");
        fd_link(e.f, "1234", "5", "/dev/dri/card0");
        fd_link(e.f, "1234", "6", "/dev/dri/card0");
        comm(e.f, "1234", "Xorg");
        fd_link(e.f, "99", "3", "/dev/dri/renderD128");
        fd_link(e.f, "99", "4", "/dev/fb0");
        comm(e.f, "99", "weston\xff");
        /* Another card's node and a process whose fds we cannot see. */
        fd_link(e.f, "77", "3", "/dev/dri/card1");
        comm(e.f, "77", "other");
        comm(e.f, "78", "gone");
        /* proc/self is not a pid. */
        fd_link(e.f, "self", "3", "/dev/dri/card0");

        g_assert_cmpint(find(&e, GPU), ==, 3);
        assert_reasons(&e, (const char *const[]){
                               "/dev/dri/card0 is open (pid 1234, Xorg)",
                               "/dev/dri/renderD128 is open (pid 99, weston?)",
                               "/dev/fb0 is open (pid 99, weston?)",
                               NULL,
                           });
        env_free(&e);
}

#define VIRTIO "0000:00:1e.0"

/* A virtio-pci transport with its virtio device below, as QEMU's -virtfs gives it: virtio3 on
 * bus virtio, bound to 9pnet_virtio, which adds mount_tag. `tag` is written as the attribute's
 * bytes (6.1 ends it with a NUL); NULL leaves mount_tag out. Returns virtio3's syspath. */
static char *virtio_add(fixture *f, const char *tag, size_t tag_len)
{
        fixture_pci(f, VIRTIO " vendor=0x1af4 device=0x1009 class=0x000200 driver=virtio-pci");
        char *vdev = under(f, VIRTIO, "virtio3");
        g_autofree char *dir = g_strconcat("sys/", vdev, NULL);
        g_autofree char *uevent = g_strconcat(dir, "/uevent", NULL);
        g_autofree char *sub = g_strconcat(dir, "/subsystem", NULL);
        g_autofree char *drv = g_strconcat(dir, "/driver", NULL);

        fixture_write(f, uevent, "DRIVER=9pnet_virtio\n");
        link_rel(f, sub, "sys/bus/virtio");
        link_rel(f, drv, "sys/bus/virtio/drivers/9pnet_virtio");
        if (tag) {
                g_autofree char *p = g_strdup_printf("%s/%s/mount_tag", fixture_prefix(f), dir);
                g_assert_true(g_file_set_contents(p, tag, (gssize)tag_len, NULL));
        }
        return vdev;
}

static const char mountinfo_9p[] =
    "22 1 0:21 / / rw,relatime shared:1 - 9p hostroot rw,trans=virtio,version=9p2000.L\n"
    "23 22 0:22 / /proc rw,nosuid shared:12 - proc proc rw\n"
    "24 22 0:23 / /srv rw,relatime shared:13 - 9p hostroot rw,trans=virtio\n";

static void test_virtio_9p_mounted(void)
{
        test_env e = {.f = fixture_new()};
        /* As 6.1 shows it: the tag and a NUL, no newline. */
        g_autofree _unused_ char *vdev = virtio_add(e.f, "hostroot", sizeof("hostroot"));

        fixture_write(e.f, "proc/self/mountinfo", mountinfo_9p);
        g_assert_cmpint(find(&e, VIRTIO), ==, 2);
        assert_reasons(&e, (const char *const[]){
                               "virtio-9p share hostroot is mounted on /",
                               "virtio-9p share hostroot is mounted on /srv",
                               NULL,
                           });

        /* A newline-terminated tag matches too. */
        g_autofree char *p = g_strdup_printf("%s/sys/%s/mount_tag", fixture_prefix(e.f), vdev);
        g_assert_true(g_file_set_contents(p, "hostroot\n", -1, NULL));
        fixture_write(e.f, "proc/self/mountinfo",
                      "24 22 0:23 / /srv rw,relatime shared:13 - 9p hostroot rw,trans=virtio\n");
        g_assert_cmpint(find(&e, VIRTIO), ==, 1);
        assert_reasons(&e,
                       (const char *const[]){"virtio-9p share hostroot is mounted on /srv", NULL});
        env_free(&e);
}

/* The share exists but nothing mounts it; another share, a non-9p source of the same name and
 * a device without mount_tag are no users either. */
static void test_virtio_9p_not_mounted(void)
{
        test_env e = {.f = fixture_new()};
        g_autofree char *vdev = virtio_add(e.f, "hostroot", sizeof("hostroot"));

        fixture_write(e.f, "proc/self/mountinfo", "");
        g_assert_cmpint(find(&e, VIRTIO), ==, 0);
        assert_reasons(&e, (const char *const[]){NULL});

        fixture_write(e.f, "proc/self/mountinfo",
                      "22 1 0:21 / / rw - 9p otherroot rw,trans=virtio\n"
                      "23 22 0:22 / /mnt rw - tmpfs hostroot rw\n"
                      "24 22 0:23 / /x rw - virtiofs hostroot rw\n");
        g_assert_cmpint(find(&e, VIRTIO), ==, 0);

        g_autofree char *tag = g_strdup_printf("sys/%s/mount_tag", vdev);
        fixture_unlink(e.f, tag);
        fixture_write(e.f, "proc/self/mountinfo", mountinfo_9p);
        g_assert_cmpint(find(&e, VIRTIO), ==, 0);
        env_free(&e);
}

/* A mount_tag that is not text cannot be matched: the check fails instead of answering "free". */
static void test_virtio_9p_bad_tag(void)
{
        test_env e = {.f = fixture_new()};
        g_autofree _unused_ char *vdev = virtio_add(e.f, "host\0root", sizeof("host\0root"));

        fixture_write(e.f, "proc/self/mountinfo", mountinfo_9p);
        g_assert_cmpint(find(&e, VIRTIO), ==, -EBADMSG);
        env_free(&e);
}

/* virtiofs (6.10+): fs/virtiofs/<n>/tag names the share, <n>/device links to the virtio device. */
static void test_virtiofs_mounted(void)
{
        test_env e = {.f = fixture_new()};
        g_autofree char *vdev = virtio_add(e.f, NULL, 0);
        /* The kernel's link is relative to the sysfs root: "../../../devices/...". */
        g_autofree char *to = g_strconcat("../../../", vdev, NULL);

        fixture_write(e.f, "sys/fs/virtiofs/0/tag", "myfs\n");
        fixture_symlink(e.f, "sys/fs/virtiofs/0/device", to);
        /* Another instance on another device with the same mount. */
        fixture_write(e.f, "sys/fs/virtiofs/1/tag", "other\n");
        fixture_symlink(e.f, "sys/fs/virtiofs/1/device",
                        "../../../devices/pci0000:00/0000:00:1f.0/virtio4");
        fixture_write(e.f, "proc/self/mountinfo",
                      "22 1 0:21 / /data rw shared:1 - virtiofs myfs rw\n"
                      "23 1 0:22 / /other rw shared:2 - virtiofs other rw\n"
                      "24 1 0:23 / /p9 rw shared:3 - 9p myfs rw\n");

        g_assert_cmpint(find(&e, VIRTIO), ==, 1);
        assert_reasons(&e, (const char *const[]){"virtiofs share myfs is mounted on /data", NULL});

        fixture_write(e.f, "proc/self/mountinfo", "23 1 0:22 / /other rw - virtiofs other rw\n");
        g_assert_cmpint(find(&e, VIRTIO), ==, 0);
        env_free(&e);
}

/* A fixture without proc: no mount, swap or open-file reasons, and no error. */
static void test_missing_proc(void)
{
        test_env e = {.f = fixture_new()};

        nvme_add(e.f);
        gpu_add(e.f);
        fixture_unlink(e.f, "proc");

        g_assert_cmpint(find(&e, NVME), ==, 1);
        /* The holder relation is sysfs' word, so it still counts. */
        assert_reasons(&e, (const char *const[]){"block device nvme0n1p2 is held by dm-0", NULL});
        g_assert_cmpint(find(&e, GPU), ==, 0);
        env_free(&e);
}

/* A device with nothing below it. */
static void test_idle_device(void)
{
        test_env e = {.f = fixture_new()};

        fixture_pci(e.f, "0000:00:05.0 class=0x00ff00");
        fixture_write(e.f, "proc/self/mountinfo", mountinfo);
        g_assert_cmpint(find(&e, "0000:00:05.0"), ==, 0);
        assert_reasons(&e, (const char *const[]){NULL});
        env_free(&e);
}

/* Users come with a driver: a PCI function without one is not walked (an interface left below
 * it would be a remove still running, which takes the device from its users anyway). A platform
 * device without a driver is walked: a bus node's children have drivers of their own. */
static void test_driverless(void)
{
        test_env e = {.f = fixture_new()};
        g_autofree char *ifc = NULL, *flags = NULL, *plat_ifc = NULL, *plat_flags = NULL;

        fixture_pci(e.f, "0000:00:07.0 class=0x020000");
        ifc = under(e.f, "0000:00:07.0", "net/enp0s7");
        flags = g_strdup_printf("sys/%s/flags", ifc);
        classdev(e.f, ifc, "net", NULL);
        fixture_write(e.f, flags, "0x1003\n");
        g_assert_cmpint(find(&e, "0000:00:07.0"), ==, 0);
        assert_reasons(&e, (const char *const[]){NULL});

        fixture_platform(e.f, "soc");
        fixture_platform(e.f, "fe300000.ethernet parent=soc driver=macb");
        g_autofree char *plat_uevent =
            g_strdup_printf("sys/%s/uevent", fixture_syspath(e.f, "fe300000.ethernet"));
        fixture_write(e.f, plat_uevent, "");
        plat_ifc = under(e.f, "fe300000.ethernet", "net/eth0");
        plat_flags = g_strdup_printf("sys/%s/flags", plat_ifc);
        classdev(e.f, plat_ifc, "net", NULL);
        fixture_write(e.f, plat_flags, "0x1003\n");
        g_assert_cmpint(find_on(&e, VK_BUS_PLATFORM, "soc"), ==, 1);
        assert_reasons(&e, (const char *const[]){"network interface eth0 is up", NULL});

        /* The same PCI function with its driver bound again is walked. */
        g_autofree char *driver_at =
            g_strdup_printf("sys/%s/driver", fixture_syspath(e.f, "0000:00:07.0"));
        fixture_symlink(e.f, driver_at, "../../../bus/pci/drivers/e1000");
        g_assert_cmpint(find(&e, "0000:00:07.0"), ==, 1);
        assert_reasons(&e, (const char *const[]){"network interface enp0s7 is up", NULL});
        env_free(&e);
}

/* Links (virtfn0, driver, subsystem) point elsewhere and are never walked. */
static void test_links_not_followed(void)
{
        test_env e = {.f = fixture_new()};

        g_autofree _unused_ char *flags = e1000_add(e.f, "0x1003\n");

        fixture_pci(e.f, "0000:00:06.0 class=0x020000");
        g_autofree char *at =
            g_strdup_printf("sys/%s/virtfn0", fixture_syspath(e.f, "0000:00:06.0"));
        g_autofree char *to = g_strconcat("sys/", fixture_syspath(e.f, E1000), NULL);
        link_rel(e.f, at, to);

        g_assert_cmpint(find(&e, "0000:00:06.0"), ==, 0);
        env_free(&e);
}

/* The walk goes through one directory that is no device below a device (net/, power/,
 * queues/), never two: an "interface" two such levels down is not the device's, and attribute
 * groups with subdirectories of their own (queues/rx-0) are passed over. */
static void test_one_glue_level(void)
{
        test_env e = {.f = fixture_new()};
        g_autofree _unused_ char *flags = e1000_add(e.f, "0x1002\n");
        g_autofree char *ifc = under(e.f, E1000, "net/enp0s2");
        g_autofree char *rx = g_strdup_printf("sys/%s/queues/rx-0/rps_cpus", ifc);
        g_autofree char *power =
            g_strdup_printf("sys/%s/power/control", fixture_syspath(e.f, E1000));
        g_autofree char *deep = under(e.f, E1000, "group/sub/enp9");
        g_autofree char *deep_flags = g_strdup_printf("sys/%s/flags", deep);

        fixture_write(e.f, rx, "0\n");
        fixture_write(e.f, power, "on\n");
        classdev(e.f, deep, "net", NULL);
        fixture_write(e.f, deep_flags, "0x1003\n");
        g_assert_cmpint(find(&e, E1000), ==, 0);
        assert_reasons(&e, (const char *const[]){NULL});

        /* The same interface one level up is found. */
        g_autofree char *near = under(e.f, E1000, "group/enp8");
        g_autofree char *near_flags = g_strdup_printf("sys/%s/flags", near);
        classdev(e.f, near, "net", NULL);
        fixture_write(e.f, near_flags, "0x1003\n");
        g_assert_cmpint(find(&e, E1000), ==, 1);
        assert_reasons(&e, (const char *const[]){"network interface enp8 is up", NULL});
        env_free(&e);
}

/* Bind mounts of one partition, more than we report. */
static void test_reason_cap(void)
{
        test_env e = {.f = fixture_new()};
        GString *mi = g_string_new(NULL);

        nvme_add(e.f);
        for (unsigned i = 0; i < 100; i++)
                g_string_append_printf(mi, "%u 1 259:1 / /mnt/%u rw - ext4 /dev/nvme0n1p1 rw\n",
                                       100 + i, i);
        fixture_write(e.f, "proc/self/mountinfo", mi->str);
        g_string_free(mi, TRUE);

        g_assert_cmpint(find(&e, NVME), ==, 32);
        g_assert_cmpuint(strv_length(e.reasons), ==, 32);
        env_free(&e);
}

static void test_parse_mountinfo(void)
{
        vk_mount *m = NULL;
        size_t n = 0;
        const char text[] = "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw\n"
                            "30 22 259:1 / /a\\040b\\134c\\012d rw - vfat /dev/nvme0n1p1 rw\n"
                            "bad line\n"
                            "31 22 x:1 / /x rw - tmpfs tmpfs rw\n"
                            "32 22 1: / /y rw - tmpfs tmpfs rw\n"
                            "33 22 1:99999999999 / /z rw - tmpfs tmpfs rw\n"
                            "34 22 8:1 / /nul\\000 rw - ext4 /dev/sda1 rw\n"
                            "35 22 8:2 / /odd\\9\\07 rw - ext4 /dev/sda2 rw\n"
                            /* No "- type source" tail, or an incomplete one. */
                            "37 22 8:3 / /notail rw shared:1\n"
                            "38 22 8:4 / /nosource rw - ext4\n"
                            "39 22 8:5 / /nosep rw shared:1 ext4 /dev/sda5 rw\n"
                            "40 22 0:40 / /mnt/host\\040dir rw,relatime shared:5 master:2 - 9p "
                            "host\\040root rw,trans=virtio\n"
                            "36 22 4294967295:0 / /last rw - ext4 /dev/x rw";

        g_assert_cmpint(vk_parse_mountinfo(text, &m, &n), ==, 0);
        g_assert_cmpuint(n, ==, 5);
        g_assert_cmpuint(m[0].major, ==, 254);
        g_assert_cmpuint(m[0].minor, ==, 0);
        g_assert_cmpstr(m[0].mount_point, ==, "/");
        g_assert_cmpstr(m[0].fstype, ==, "ext4");
        g_assert_cmpstr(m[0].source, ==, "/dev/mapper/vg-root");
        g_assert_cmpuint(m[1].major, ==, 259);
        g_assert_cmpuint(m[1].minor, ==, 1);
        g_assert_cmpstr(m[1].mount_point, ==, "/a b\\c\nd");
        g_assert_cmpstr(m[1].fstype, ==, "vfat");
        g_assert_cmpstr(m[1].source, ==, "/dev/nvme0n1p1");
        /* Backslashes that are not an escape stay as they are. */
        g_assert_cmpstr(m[2].mount_point, ==, "/odd\\9\\07");
        /* Several optional fields; the source is unescaped like the mount point. */
        g_assert_cmpstr(m[3].mount_point, ==, "/mnt/host dir");
        g_assert_cmpstr(m[3].fstype, ==, "9p");
        g_assert_cmpstr(m[3].source, ==, "host root");
        g_assert_cmpuint(m[4].major, ==, 4294967295u);
        g_assert_cmpstr(m[4].mount_point, ==, "/last");
        g_assert_cmpstr(m[4].source, ==, "/dev/x");
        vk_mount_list_free(m, n);

        g_assert_cmpint(vk_parse_mountinfo("", &m, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        vk_mount_list_free(m, n);
}

static void test_proc_read(void)
{
        _cleanup_(freep) char *s = NULL, *big = NULL;
        test_env e = {.f = fixture_new()};
        GString *text = g_string_new(NULL);

        /* Larger than a sysfs page, as iomem and mountinfo are. */
        for (unsigned i = 0; i < 2000; i++)
                g_string_append_printf(text, "line %u\n", i);
        fixture_write(e.f, "proc/iomem", text->str);
        g_assert_cmpint(vk_root_open(fixture_prefix(e.f), &e.root), ==, 0);

        g_assert_cmpint(vk_proc_read(e.root, "iomem", 1 << 20, &s), ==, 0);
        g_assert_cmpstr(s, ==, text->str);
        g_assert_cmpint(vk_proc_read(e.root, "iomem", 100, &big), ==, -EFBIG);
        g_assert_null(big);
        g_assert_cmpint(vk_proc_read(e.root, "nothing", 100, &big), ==, -ENOENT);
        g_string_free(text, TRUE);
        env_free(&e);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/holders/block-mounted-dm-swap", test_block_mounted_dm_swap);
        g_test_add_func("/holders/block-held-not-mounted", test_block_held_not_mounted);
        g_test_add_func("/holders/block-nested-holders", test_block_nested_holders);
        g_test_add_func("/holders/net-up-and-down", test_net_up_and_down);
        g_test_add_func("/holders/open-drm-nodes", test_open_drm_nodes);
        g_test_add_func("/holders/virtio-9p-mounted", test_virtio_9p_mounted);
        g_test_add_func("/holders/virtio-9p-not-mounted", test_virtio_9p_not_mounted);
        g_test_add_func("/holders/virtio-9p-bad-tag", test_virtio_9p_bad_tag);
        g_test_add_func("/holders/virtiofs-mounted", test_virtiofs_mounted);
        g_test_add_func("/holders/missing-proc", test_missing_proc);
        g_test_add_func("/holders/idle-device", test_idle_device);
        g_test_add_func("/holders/driverless", test_driverless);
        g_test_add_func("/holders/links-not-followed", test_links_not_followed);
        g_test_add_func("/holders/one-glue-level", test_one_glue_level);
        g_test_add_func("/holders/reason-cap", test_reason_cap);
        g_test_add_func("/holders/parse-mountinfo", test_parse_mountinfo);
        g_test_add_func("/holders/proc-read", test_proc_read);
        return g_test_run();
}
