/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device names, resolution against fixture trees, device facts and the resource parser. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "fixture-root.h"
#include "macros.h"
#include "sysfs.h"

#define ZERO "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"

typedef fixture_root ctx;

static int resolve(ctx *c, const char *name, vk_device_id *ret)
{
        return vk_device_resolve(c->root, name, strlen(name), ret);
}

/* ---- buses ---- */

static void test_bus_strings(void)
{
        for (vk_bus b = 0; b < _VK_BUS_MAX; b++)
                g_assert_cmpint(vk_bus_from_string(vk_bus_to_string(b)), ==, b);
        g_assert_cmpstr(vk_bus_to_string(VK_BUS_PLATFORM), ==, "platform");
        g_assert_cmpint(vk_bus_from_string("usb"), ==, _VK_BUS_INVALID);
        g_assert_cmpint(vk_bus_from_string(NULL), ==, _VK_BUS_INVALID);
        g_assert_null(vk_bus_to_string(_VK_BUS_MAX));
        g_assert_cmpstr(vk_bus_default_vfio_driver(VK_BUS_PCI), ==, "vfio-pci");
        g_assert_cmpstr(vk_bus_default_vfio_driver(VK_BUS_PLATFORM), ==, "vfio-platform");
        g_assert_cmpstr(vk_bus_default_vfio_driver(VK_BUS_AMBA), ==, "vfio-amba");
        g_assert_null(vk_bus_default_vfio_driver(_VK_BUS_INVALID));
}

/* ---- names ---- */

static void test_parse_name_valid(void)
{
        static const struct {
                const char *in;
                vk_bus bus;
                const char *name;
        } cases[] = {
            {"0000:03:00.0", VK_BUS_PCI, "0000:03:00.0"},
            {"pci:0000:03:00.0", VK_BUS_PCI, "0000:03:00.0"},
            {"0000:0A:1F.7", VK_BUS_PCI, "0000:0a:1f.7"},   /* the kernel's lower case */
            {"10000:e0:17.0", VK_BUS_PCI, "10000:e0:17.0"}, /* Intel VMD domain */
            {"platform:fff51000.ethernet", VK_BUS_PLATFORM, "fff51000.ethernet"},
            {"platform:efi-framebuffer.0", VK_BUS_PLATFORM, "efi-framebuffer.0"},
            {"platform:ACPI0007:00", VK_BUS_PLATFORM, "ACPI0007:00"},
            {"platform:alarmtimer.0.auto", VK_BUS_PLATFORM, "alarmtimer.0.auto"},
            {"platform:soc@0", VK_BUS_PLATFORM, "soc@0"},
            {"amba:9000000.pl011", VK_BUS_AMBA, "9000000.pl011"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                vk_device_id id;
                g_test_message("valid %zu: %s", i, cases[i].in);
                g_assert_cmpint(vk_parse_device_name(cases[i].in, strlen(cases[i].in), &id), ==, 0);
                g_assert_cmpint(id.bus, ==, cases[i].bus);
                g_assert_cmpstr(id.name, ==, cases[i].name);
        }
}

static void test_parse_name_invalid(void)
{
        static const char *const cases[] = {
            "",
            "pci:",
            "platform:",
            "amba:",
            "0000:03:00",
            "0000:03:00.8", /* function 0-7 */
            "0000:03:20.0", /* device 0-31 */
            "000:03:00.0",  /* domain has at least 4 digits */
            "000000000:03:00.0",
            "0000:3:00.0",
            "0000:03:00.0 ",
            " 0000:03:00.0",
            "0000:03:00.0\n",
            "g000:03:00.0",
            "fff51000.ethernet", /* bare names are PCI only */
            "usb:1-1",
            "PCI:0000:03:00.0",
            "pci:fff51000.ethernet",
            "../../etc",
            "platform:../../etc",
            "platform:..",
            "platform:.",
            "platform:a..b",
            "platform:a/b",
            "platform:/etc",
            "platform:a b",
            "platform:tab\there",
            "platform:\x7f",
            "platform:caf\xc3\xa9",
            "/",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                vk_device_id id = {.bus = VK_BUS_AMBA, .name = "untouched"};
                g_autofree char *e = g_strescape(cases[i], NULL);
                g_test_message("invalid %zu: \"%s\"", i, e);
                g_assert_cmpint(vk_parse_device_name(cases[i], strlen(cases[i]), &id), ==, -EINVAL);
                g_assert_cmpstr(id.name, ==, "untouched");
        }
}

static void test_parse_name_lengths(void)
{
        g_autofree char *huge = g_malloc(5001);
        char name[9 + 256 + 1];
        vk_device_id id;

        memset(huge, 'a', 5000);
        huge[5000] = '\0';
        g_assert_cmpint(vk_parse_device_name(huge, 5000, &id), ==, -EINVAL);
        memcpy(huge, "platform:", 9);
        g_assert_cmpint(vk_parse_device_name(huge, 5000, &id), ==, -EINVAL);

        /* 255 is the limit of a directory entry. */
        memcpy(name, "platform:", 9);
        memset(name + 9, 'x', 256);
        name[9 + 256] = '\0';
        g_assert_cmpint(vk_parse_device_name(name, 9 + 256, &id), ==, -EINVAL);
        g_assert_cmpint(vk_parse_device_name(name, 9 + 255, &id), ==, 0);
        g_assert_cmpuint(strlen(id.name), ==, 255);

        /* The length is the caller's, not strlen's: a NUL inside is refused, a prefix is parsed. */
        static const char nul[] = "0000:03:00.0\0../../etc";
        g_assert_cmpint(vk_parse_device_name(nul, sizeof(nul) - 1, &id), ==, -EINVAL);
        static const char nul2[] = "platform:efi\0x";
        g_assert_cmpint(vk_parse_device_name(nul2, sizeof(nul2) - 1, &id), ==, -EINVAL);
        g_assert_cmpint(vk_parse_device_name("0000:03:00.0 trailing", 12, &id), ==, 0);
        g_assert_cmpstr(id.name, ==, "0000:03:00.0");
        g_assert_cmpint(vk_parse_device_name(NULL, 3, &id), ==, -EINVAL);
}

/* Malformed names must fail before any lookup: with no usable fds, a lookup would say EBADF. */
static void test_resolve_malformed_touches_nothing(void)
{
        vk_root none = {.n_ref = 1,
                        .prefix = (char *)"/nonexistent",
                        .sysfs_fd = -EBADF,
                        .dev_fd = -EBADF,
                        .proc_fd = -EBADF,
                        .run_fd = -EBADF};
        static const char *const cases[] = {
            "../../etc",
            "platform:../x",
            "/sys/devices/../../etc",
            "/sys/devices/./x",
            "/sys//devices",
            "0000:03:00.0\n",
            "",
            "/sys/devices/a\nb",
        };
        vk_device_id id;

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_test_message("malformed %zu", i);
                g_assert_cmpint(vk_device_resolve(&none, cases[i], strlen(cases[i]), &id), ==,
                                -EINVAL);
        }
        g_assert_cmpint(vk_device_resolve(&none, "/sys\0/devices", 13, &id), ==, -EINVAL);
        /* Well-formed names do reach the (absent) tree. */
        g_assert_cmpint(vk_device_resolve(&none, "0000:03:00.0", 12, &id), ==, -EBADF);
}

/* ---- resolution ---- */

static void add_typical(ctx *c)
{
        /* q35: a root port with an e1000e behind it; an ACPI platform device; a DT ethernet. */
        fixture_pci(c->f, "0000:00:1c.0 class=0x060400 driver=pcieport group=4");
        fixture_pci(c->f, "0000:01:00.0 parent=0000:00:1c.0 vendor=0x8086 device=0x10d3 "
                          "class=0x020000 driver=e1000e group=4");
        fixture_platform(c->f, "ACPI0007:00 group=9");
        fixture_platform(c->f, "fff51000.ethernet driver=stmmaceth group=5");
        fixture_amba(c->f, "9000000.pl011 driver=uart-pl011");
}

static void test_resolve_names(ctx *c, gconstpointer data)
{
        vk_device_id id;

        add_typical(c);
        g_assert_cmpint(resolve(c, "0000:01:00.0", &id), ==, 0);
        g_assert_cmpint(id.bus, ==, VK_BUS_PCI);
        g_assert_cmpstr(id.name, ==, "0000:01:00.0");
        g_assert_cmpint(resolve(c, "pci:0000:00:1C.0", &id), ==, 0);
        g_assert_cmpstr(id.name, ==, "0000:00:1c.0");
        g_assert_cmpint(resolve(c, "platform:ACPI0007:00", &id), ==, 0);
        g_assert_cmpint(id.bus, ==, VK_BUS_PLATFORM);
        g_assert_cmpstr(id.name, ==, "ACPI0007:00");
        g_assert_cmpint(resolve(c, "platform:fff51000.ethernet", &id), ==, 0);
        g_assert_cmpstr(id.name, ==, "fff51000.ethernet");
        g_assert_cmpint(resolve(c, "amba:9000000.pl011", &id), ==, 0);
        g_assert_cmpint(id.bus, ==, VK_BUS_AMBA);

        /* Well-formed but absent, or on another bus than asked. */
        g_assert_cmpint(resolve(c, "0000:05:00.0", &id), ==, -ENODEV);
        g_assert_cmpint(resolve(c, "platform:9000000.pl011", &id), ==, -ENODEV);
        g_assert_cmpint(resolve(c, "amba:fff51000.ethernet", &id), ==, -ENODEV);
}

static void test_resolve_paths(ctx *c, gconstpointer data)
{
        vk_device_id id;

        add_typical(c);
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0", &id), ==,
                        0);
        g_assert_cmpint(id.bus, ==, VK_BUS_PCI);
        g_assert_cmpstr(id.name, ==, "0000:01:00.0");
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/0000:00:1c.0/", &id), ==, 0);
        g_assert_cmpstr(id.name, ==, "0000:00:1c.0");
        g_assert_cmpint(resolve(c, "/sys/devices/platform/fff51000.ethernet", &id), ==, 0);
        g_assert_cmpint(id.bus, ==, VK_BUS_PLATFORM);
        g_assert_cmpstr(id.name, ==, "fff51000.ethernet");
        /* Through the bus listing's link, as `ls -l /sys/bus/pci/devices` shows it. */
        g_assert_cmpint(resolve(c, "/sys/bus/pci/devices/0000:01:00.0", &id), ==, 0);
        g_assert_cmpstr(id.name, ==, "0000:01:00.0");
        g_assert_cmpint(resolve(c, "/sys/bus/amba/devices/9000000.pl011", &id), ==, 0);
        g_assert_cmpint(id.bus, ==, VK_BUS_AMBA);
}

static void test_resolve_path_errors(ctx *c, gconstpointer data)
{
        vk_device_id id = {.name = "untouched"};

        add_typical(c);
        /* Directories and files that are not devices. */
        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:00:1c.0/power");
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/0000:00:1c.0/power", &id), ==, -ENODEV);
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00", &id), ==, -ENODEV);
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/0000:00:1c.0/vendor", &id), ==,
                        -ENODEV);
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/0000:09:00.0", &id), ==, -ENODEV);
        /* Outside /sys/devices. */
        g_assert_cmpint(resolve(c, "/etc/passwd", &id), ==, -EXDEV);
        g_assert_cmpint(resolve(c, "/sysfoo/devices", &id), ==, -EXDEV);
        g_assert_cmpint(resolve(c, "/sys/", &id), ==, -EXDEV);
        g_assert_cmpint(resolve(c, "/sys", &id), ==, -EXDEV);
        g_assert_cmpint(resolve(c, "/sys/bus/pci", &id), ==, -EXDEV);
        g_assert_cmpint(resolve(c, "/sys/kernel/iommu_groups/4", &id), ==, -EXDEV);
        /* A class device (a net interface) and a device of an unsupported bus. */
        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/eth0");
        fixture_symlink(c->f, "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/eth0/subsystem",
                        "../../../../../../class/net");
        fixture_mkdir(c->f, "sys/class/net");
        g_assert_cmpint(
            resolve(c, "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/eth0", &id), ==,
            -EXDEV);
        fixture_mkdir(c->f, "sys/bus/usb/devices");
        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:00:1d.0/usb1/1-1");
        fixture_symlink(c->f, "sys/devices/pci0000:00/0000:00:1d.0/usb1/1-1/subsystem",
                        "../../../../../bus/usb");
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/0000:00:1d.0/usb1/1-1", &id), ==,
                        -EXDEV);
        /* A directory that claims the pci subsystem but that the bus does not list. */
        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:00:1f.0");
        fixture_symlink(c->f, "sys/devices/pci0000:00/0000:00:1f.0/subsystem", "../../../bus/pci");
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/0000:00:1f.0", &id), ==, -EXDEV);
        g_assert_cmpstr(id.name, ==, "untouched");
}

static void test_resolve_links_leaving(ctx *c, gconstpointer data)
{
        vk_device_id id = {.name = "untouched"};

        add_typical(c);
        /* Bus links that leave sys/ or point somewhere that is no device directory. */
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:09.0", "../../../../dev");
        g_assert_cmpint(resolve(c, "0000:00:09.0", &id), ==, -EXDEV);
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:0a.0", "/etc");
        g_assert_cmpint(resolve(c, "0000:00:0a.0", &id), ==, -EXDEV);
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:0b.0", "../drivers");
        g_assert_cmpint(resolve(c, "0000:00:0b.0", &id), ==, -EXDEV);
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:0c.0",
                        "../../../devices/platform/fff51000.ethernet");
        g_assert_cmpint(resolve(c, "0000:00:0c.0", &id), ==, -EXDEV);
        /* A device directory escaping through a link in the middle of a path. */
        fixture_symlink(c->f, "sys/devices/pci0000:00/escape", "../../../proc");
        g_assert_cmpint(resolve(c, "/sys/devices/pci0000:00/escape", &id), ==, -EXDEV);
        /* A subsystem link leaving the tree. */
        fixture_mkdir(c->f, "sys/devices/platform/evil.0");
        fixture_symlink(c->f, "sys/devices/platform/evil.0/subsystem", "../../../../../bus/pci");
        g_assert_cmpint(resolve(c, "/sys/devices/platform/evil.0", &id), ==, -EXDEV);
        g_assert_cmpstr(id.name, ==, "untouched");
}

/* ---- facts ---- */

static void test_load_pci(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        vk_device_id id;

        fixture_pci(c->f, "0000:00:02.0 vendor=0x1234 device=0x1111 class=0x030000 "
                          "subsystem_vendor=0x1af4 subsystem_device=0x1100 driver=bochs-drm "
                          "group=1 boot_vga=1 "
                          "resource=0xfd000000-0xfdffffff:0x42208 resource=0 "
                          "resource=0xfebf0000-0xfebf0fff:0x40200 resource=0xc000-0xc01f:0x40101 "
                          "resource=0 resource=0 resource=0xfebe0000-0xfebeffff:0x46200");
        g_assert_cmpint(resolve(c, "0000:00:02.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);

        g_assert_cmpstr(d->id.name, ==, "0000:00:02.0");
        g_assert_cmpstr(d->syspath, ==, "devices/pci0000:00/0000:00:02.0");
        g_assert_cmphex(d->vendor, ==, 0x1234);
        g_assert_cmphex(d->device, ==, 0x1111);
        g_assert_cmphex(d->class_code, ==, 0x030000);
        g_assert_cmphex(d->subsystem_vendor, ==, 0x1af4);
        g_assert_cmphex(d->subsystem_device, ==, 0x1100);
        g_assert_cmpstr(d->driver, ==, "bochs-drm");
        g_assert_null(d->driver_override);
        g_assert_cmpint(d->iommu_group, ==, 1);
        g_assert_cmpint(d->boot_vga, ==, 1);
        g_assert_cmpstr(d->modalias, ==, "pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00");
        g_assert_cmpint(d->numvfs, ==, -1);
        g_assert_cmpint(d->totalvfs, ==, -1);
        g_assert_null(d->physfn);
        g_assert_false(d->is_bridge);
        /* Memory BARs only, with their slot numbers: 0, 2 and the ROM (6). */
        g_assert_cmpuint(d->n_bars, ==, 3);
        g_assert_cmpuint(d->bars[0].index, ==, 0);
        g_assert_cmphex(d->bars[0].start, ==, 0xfd000000);
        g_assert_cmphex(d->bars[0].end, ==, 0xfdffffff);
        g_assert_cmphex(d->bars[0].flags, ==, 0x42208);
        g_assert_cmpuint(d->bars[1].index, ==, 2);
        g_assert_cmpuint(d->bars[2].index, ==, 6);
        g_assert_cmphex(d->bars[2].start, ==, 0xfebe0000);
}

static void test_load_override_and_sriov(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *pf = NULL, *vf = NULL;
        vk_device_id id;

        fixture_pci(c->f, "0000:03:00.0 vendor=0x8086 device=0x10c9 class=0x020000 driver=igb "
                          "group=12 totalvfs=7 numvfs=1");
        fixture_pci(c->f, "0000:03:10.0 vendor=0x8086 device=0x10ca class=0x020000 group=13 "
                          "override=vfio-pci physfn=0000:03:00.0");
        g_assert_cmpint(resolve(c, "0000:03:00.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &pf), ==, 0);
        g_assert_cmpint(pf->totalvfs, ==, 7);
        g_assert_cmpint(pf->numvfs, ==, 1);
        g_assert_null(pf->physfn);
        g_assert_null(pf->driver_override);

        g_assert_cmpint(resolve(c, "0000:03:10.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &vf), ==, 0);
        g_assert_cmpstr(vf->physfn, ==, "0000:03:00.0");
        g_assert_cmpstr(vf->driver_override, ==, "vfio-pci");
        g_assert_null(vf->driver);
        g_assert_cmpint(vf->iommu_group, ==, 13);
        g_assert_cmpint(vf->boot_vga, ==, -1);
        g_assert_cmpuint(vf->n_bars, ==, 0);
}

/* A device stripped of everything optional: absent attributes read as 0 / NULL / -1. */
static void test_load_missing_attributes(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        const char *attrs[] = {"vendor",           "device",   "class",    "subsystem_vendor",
                               "subsystem_device", "modalias", "resource", "driver_override"};
        vk_device_id id;

        fixture_pci(c->f, "0000:00:04.0 vendor=0x1b36 device=0x0005");
        for (size_t i = 0; i < G_N_ELEMENTS(attrs); i++) {
                g_autofree char *p =
                    g_strdup_printf("sys/devices/pci0000:00/0000:00:04.0/%s", attrs[i]);
                fixture_unlink(c->f, p);
        }
        g_assert_cmpint(resolve(c, "0000:00:04.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
        g_assert_cmphex(d->vendor, ==, 0);
        g_assert_cmphex(d->class_code, ==, 0);
        g_assert_null(d->modalias);
        g_assert_null(d->driver);
        g_assert_null(d->driver_override);
        g_assert_cmpint(d->iommu_group, ==, -1);
        g_assert_cmpuint(d->n_bars, ==, 0);
}

/*
 * vfio-pci's remove blocked on an open device fd: the driver link is gone, the vfio-dev child
 * still there. driver_override is then a directory here, so any read of it fails the load: the
 * device lock the unbind holds is never waited for.
 */
static void test_load_unbinding(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL, *bound = NULL, *plain = NULL;
        const char *dir = "sys/devices/pci0000:00/0000:05:00.0";
        char *override = (char *)0x1;
        vk_device_id id;

        g_autofree char *drv = NULL, *ov = NULL;
        bool unbinding = true;

        fixture_pci(c->f, "0000:05:00.0 vendor=0x8086 device=0x10d3 group=15 override=vfio-pci "
                          "totalvfs=7 numvfs=0");
        g_assert_cmpint(resolve(c, "0000:05:00.0", &id), ==, 0);
        g_assert_cmpint(vk_device_unbinding(c->root, &id), ==, 0); /* no vfio-dev: plain unbound */
        g_assert_cmpint(vk_device_load(c->root, &id, &plain), ==, 0);
        g_assert_false(plain->unbinding);
        g_assert_cmpstr(plain->driver_override, ==, "vfio-pci");
        g_assert_cmpint(plain->numvfs, ==, 0);
        g_assert_cmpint(vk_device_read_binding(c->root, &id, &drv, &unbinding, &ov), ==, 0);
        g_assert_null(drv);
        g_assert_false(unbinding);
        g_assert_cmpstr(ov, ==, "vfio-pci");

        /* The attributes whose read takes the device lock on 6.1 turn into directories: a read
         * of either fails the test. */
        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:05:00.0/vfio-dev/vfio0");
        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:05:00.0/driver_override");
        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:05:00.0/driver_override");
        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:05:00.0/sriov_numvfs");
        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:05:00.0/sriov_numvfs");
        g_assert_cmpint(vk_device_unbinding(c->root, &id), ==, 1);
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
        g_assert_true(d->unbinding);
        g_assert_null(d->driver);
        g_assert_null(d->driver_override);
        g_assert_cmpint(d->numvfs, ==, -1);
        g_assert_cmpint(d->totalvfs, ==, 7);
        g_clear_pointer(&ov, free);
        g_assert_cmpint(vk_device_read_binding(c->root, &id, &drv, &unbinding, &ov), ==, 0);
        g_assert_null(drv);
        g_assert_true(unbinding);
        g_assert_null(ov);
        g_assert_cmphex(d->device, ==, 0x10d3);
        g_assert_cmpint(d->iommu_group, ==, 15);
        g_assert_cmpint(vk_device_read_override(c->root, &id, &override), ==, -EBUSY);
        g_assert_true(override == (char *)0x1);

        /* Bound to vfio-pci (driver link and vfio-dev): not unbinding, the override is read. */
        fixture_driver(c->f, "pci", "vfio-pci");
        g_autofree char *link = g_strdup_printf("%s/driver", dir);
        fixture_symlink(c->f, link, "../../../bus/pci/drivers/vfio-pci");
        g_autofree char *attr = g_strdup_printf("%s/driver_override", dir);
        fixture_unlink(c->f, attr);
        fixture_write(c->f, attr, "vfio-pci\n");
        g_autofree char *numvfs = g_strdup_printf("%s/sriov_numvfs", dir);
        fixture_unlink(c->f, numvfs);
        fixture_write(c->f, numvfs, "0\n");
        g_assert_cmpint(vk_device_unbinding(c->root, &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &bound), ==, 0);
        g_assert_false(bound->unbinding);
        g_assert_cmpstr(bound->driver, ==, "vfio-pci");
        g_assert_cmpstr(bound->driver_override, ==, "vfio-pci");
        g_assert_cmpint(vk_device_read_binding(c->root, &id, &drv, &unbinding, &ov), ==, 0);
        g_assert_cmpstr(drv, ==, "vfio-pci");
        g_assert_false(unbinding);
        g_assert_cmpstr(ov, ==, "vfio-pci");

        fixture_unlink(c->f, "sys/bus/pci/devices/0000:05:00.0");
        g_assert_cmpint(vk_device_unbinding(c->root, &id), ==, -ENODEV);
        g_assert_cmpint(vk_device_read_binding(c->root, &id, &drv, &unbinding, &ov), ==, -ENODEV);
        g_assert_cmpstr(drv, ==, "vfio-pci"); /* untouched on failure */
}

static void test_load_malformed_attribute(ctx *c, gconstpointer data)
{
        vk_device *d = (vk_device *)0x1;
        vk_device_id id;

        fixture_pci(c->f, "0000:00:04.0");
        fixture_write(c->f, "sys/devices/pci0000:00/0000:00:04.0/vendor", "banana\n");
        g_assert_cmpint(resolve(c, "0000:00:04.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, -EINVAL);
        g_assert_true(d == (vk_device *)0x1);
}

static void test_load_bridges(ctx *c, gconstpointer data)
{
        static const struct {
                const char *spec;
                bool bridge;
        } cases[] = {
            {"0000:00:1c.0 class=0x060400 driver=pcieport", true}, /* PCIe root port */
            {"0000:00:1e.0 class=0x060401", true},                 /* subtractive decode */
            {"0000:00:1d.0 class=0x060900", true},                 /* semi-transparent */
            {"0000:00:1b.0 class=0x060700", true},                 /* CardBus */
            {"0000:00:00.0 class=0x060000", false},                /* host bridge: type 0 */
            {"0000:00:1f.0 class=0x060100 driver=lpc_ich", false}, /* ISA/LPC: type 0 */
            {"0000:00:1a.0 class=0x020000", false},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                _cleanup_(vk_device_freep) vk_device *d = NULL;
                vk_device_id id;
                fixture_pci(c->f, cases[i].spec);
                g_assert_cmpint(vk_parse_device_name(cases[i].spec, 12, &id), ==, 0);
                g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
                g_test_message("bridge %zu: %s", i, cases[i].spec);
                g_assert_cmpint(d->is_bridge, ==, cases[i].bridge);
        }
}

static void test_load_platform(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL, *fb = NULL;
        vk_device_id id;

        fixture_platform(c->f, "fff51000.ethernet driver=stmmaceth group=5 override=vfio-platform");
        fixture_platform(c->f, "efi-framebuffer.0 driver=efi-framebuffer");
        g_assert_cmpint(resolve(c, "platform:fff51000.ethernet", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
        g_assert_cmpint(d->id.bus, ==, VK_BUS_PLATFORM);
        g_assert_cmpstr(d->syspath, ==, "devices/platform/fff51000.ethernet");
        g_assert_cmpstr(d->driver, ==, "stmmaceth");
        g_assert_cmpstr(d->driver_override, ==, "vfio-platform");
        g_assert_cmpint(d->iommu_group, ==, 5);
        g_assert_cmpstr(d->modalias, ==, "platform:fff51000.ethernet");
        g_assert_cmphex(d->vendor, ==, 0);
        g_assert_false(d->is_bridge);
        g_assert_cmpuint(d->n_bars, ==, 0);

        g_assert_cmpint(resolve(c, "platform:efi-framebuffer.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &fb), ==, 0);
        g_assert_cmpstr(fb->modalias, ==, "platform:efi-framebuffer");
        g_assert_cmpint(fb->iommu_group, ==, -1);
}

static void test_load_gone(ctx *c, gconstpointer data)
{
        vk_device *d = (vk_device *)0x1;
        vk_device_id id;

        fixture_pci(c->f, "0000:00:04.0 driver=e1000");
        g_assert_cmpint(resolve(c, "0000:00:04.0", &id), ==, 0);
        /* Removed after resolve, the way device_del leaves it: no listing, no directory. */
        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:04.0");
        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:00:04.0");
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, -ENODEV);
        g_assert_true(d == (vk_device *)0x1);
        g_assert_cmpint(vk_device_load(c->root, NULL, &d), ==, -EINVAL);
}

/*
 * A device vanishing between two reads. One attribute is a FIFO: the load blocks reading it
 * while another thread deletes the device, then lets the read finish. Every later read finds
 * nothing, and the load must say the device is gone rather than report an empty device.
 */
typedef struct vanish {
        fixture *f;
        char *fifo;
        const char *content; /* what the read finally returns */
        bool replace;        /* re-create a device of the same name: still not the one being read */
} vanish;

static gpointer vanish_thread(gpointer data)
{
        vanish *v = data;
        int fd = open(v->fifo, O_WRONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);

        fixture_unlink(v->f, "sys/devices/pci0000:00/0000:00:04.0");
        if (v->replace) {
                fixture_write(v->f, "sys/devices/pci0000:00/0000:00:04.0/vendor", "0x1234\n");
                fixture_symlink(v->f, "sys/devices/pci0000:00/0000:00:04.0/subsystem",
                                "../../../bus/pci");
        } else {
                fixture_unlink(v->f, "sys/bus/pci/devices/0000:00:04.0");
        }
        g_assert_cmpint(write(fd, v->content, strlen(v->content)), ==, (gssize)strlen(v->content));
        close(fd);
        return NULL;
}

static void run_vanish(ctx *c, const char *attr, const char *content, bool replace)
{
        vk_device *d = (vk_device *)0x1;
        vk_device_id id;
        g_autofree char *rel = g_strdup_printf("sys/devices/pci0000:00/0000:00:04.0/%s", attr);
        g_autofree char *fifo = g_build_filename(fixture_prefix(c->f), rel, NULL);
        vanish v = {.f = c->f, .fifo = fifo, .content = content, .replace = replace};

        fixture_pci(c->f, "0000:00:04.0 driver=e1000 group=2 totalvfs=4 numvfs=0");
        fixture_unlink(c->f, rel);
        g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
        g_assert_cmpint(resolve(c, "0000:00:04.0", &id), ==, 0);

        GThread *t = g_thread_new("vanish", vanish_thread, &v);
        int r = vk_device_load(c->root, &id, &d);
        /* Should the load never have opened the FIFO, release the writer before failing. */
        int unblock = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        g_thread_join(t);
        if (unblock >= 0)
                close(unblock);

        g_assert_cmpint(r, ==, -ENODEV);
        g_assert_true(d == (vk_device *)0x1);
}

static void test_vanish_early(ctx *c, gconstpointer data)
{
        run_vanish(c, "vendor", "0x1234\n", false);
}

static void test_vanish_last(ctx *c, gconstpointer data)
{
        run_vanish(c, "resource", ZERO, false);
}

static void test_vanish_replaced(ctx *c, gconstpointer data)
{
        run_vanish(c, "class", "0x020000\n", true);
}

/* ---- facts kept per device directory ---- */

static void assert_same_device(const vk_device *a, const vk_device *b)
{
        g_assert_true(vk_device_id_equal(&a->id, &b->id));
        g_assert_cmpstr(a->syspath, ==, b->syspath);
        g_assert_cmphex(a->vendor, ==, b->vendor);
        g_assert_cmphex(a->device, ==, b->device);
        g_assert_cmphex(a->class_code, ==, b->class_code);
        g_assert_cmphex(a->subsystem_vendor, ==, b->subsystem_vendor);
        g_assert_cmphex(a->subsystem_device, ==, b->subsystem_device);
        g_assert_cmpstr(a->driver, ==, b->driver);
        g_assert_cmpstr(a->driver_override, ==, b->driver_override);
        g_assert_cmpint(a->unbinding, ==, b->unbinding);
        g_assert_cmpint(a->iommu_group, ==, b->iommu_group);
        g_assert_cmpint(a->boot_vga, ==, b->boot_vga);
        g_assert_cmpstr(a->modalias, ==, b->modalias);
        g_assert_cmpint(a->numvfs, ==, b->numvfs);
        g_assert_cmpint(a->totalvfs, ==, b->totalvfs);
        g_assert_cmpstr(a->physfn, ==, b->physfn);
        g_assert_cmpint(a->is_bridge, ==, b->is_bridge);
        g_assert_cmpuint(a->n_bars, ==, b->n_bars);
        for (size_t i = 0; i < a->n_bars; i++) { /* field by field: vk_bar has padding */
                g_assert_cmpuint(a->bars[i].index, ==, b->bars[i].index);
                g_assert_cmphex(a->bars[i].start, ==, b->bars[i].start);
                g_assert_cmphex(a->bars[i].end, ==, b->bars[i].end);
                g_assert_cmphex(a->bars[i].flags, ==, b->bars[i].flags);
        }
}

/* A load that finds the facts kept reports exactly what the first one read. */
static void test_facts_second_load(ctx *c, gconstpointer data)
{
        static const char *const names[] = {"0000:00:02.0",
                                            "0000:00:1c.0",
                                            "0000:03:00.0",
                                            "0000:03:10.0",
                                            "platform:fff51000.ethernet",
                                            "amba:9000000.pl011"};

        fixture_pci(c->f, "0000:00:02.0 vendor=0x1234 device=0x1111 class=0x030000 "
                          "subsystem_vendor=0x1af4 subsystem_device=0x1100 driver=bochs-drm "
                          "group=1 boot_vga=1 resource=0xfd000000-0xfdffffff:0x42208");
        fixture_pci(c->f, "0000:00:1c.0 class=0x060400 driver=pcieport group=4");
        fixture_pci(c->f, "0000:03:00.0 vendor=0x8086 device=0x10c9 class=0x020000 driver=igb "
                          "group=12 totalvfs=7 numvfs=1");
        fixture_pci(c->f, "0000:03:10.0 vendor=0x8086 device=0x10ca class=0x020000 group=13 "
                          "override=vfio-pci physfn=0000:03:00.0");
        fixture_platform(c->f, "fff51000.ethernet driver=stmmaceth group=5");
        fixture_amba(c->f, "9000000.pl011 driver=uart-pl011");

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                _cleanup_(vk_device_freep) vk_device *first = NULL, *second = NULL;
                vk_device_id id;

                g_test_message("second load %zu: %s", i, names[i]);
                g_assert_cmpint(resolve(c, names[i], &id), ==, 0);
                g_assert_cmpint(vk_device_load(c->root, &id, &first), ==, 0);
                g_assert_cmpint(vk_device_load(c->root, &id, &second), ==, 0);
                assert_same_device(first, second);
                /* Each load owns its strings. */
                if (first->modalias)
                        g_assert_true(first->modalias != second->modalias);
        }
}

static void write_attr(ctx *c, const char *dir, const char *attr, const char *content)
{
        g_autofree char *path = g_strdup_printf("%s/%s", dir, attr);
        fixture_write(c->f, path, content);
}

/*
 * The kept facts are really used: a fixed attribute rewritten in place (same directory, which the
 * kernel never does) still reads as it was at the first load, while every attribute that can
 * change while the directory exists is read again.
 */
static void test_facts_read_once(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *before = NULL, *after = NULL;
        const char *dir = "sys/devices/pci0000:00/0000:03:00.0";
        vk_device_id id;

        fixture_pci(c->f, "0000:03:00.0 vendor=0x8086 device=0x10c9 class=0x020000 driver=igb "
                          "group=12 totalvfs=7 numvfs=0");
        g_assert_cmpint(resolve(c, "0000:03:00.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &before), ==, 0);
        g_assert_cmphex(before->vendor, ==, 0x8086);
        g_assert_cmpstr(before->driver, ==, "igb");

        write_attr(c, dir, "vendor", "0xabcd\n");
        write_attr(c, dir, "class", "0x060400\n");
        write_attr(c, dir, "modalias", "pci:changed\n");
        /* Unbound from igb, fenced with an override; the PF driver's VF limit gone with it. */
        g_autofree char *driver = g_strconcat(dir, "/driver", NULL);
        fixture_unlink(c->f, driver);
        write_attr(c, dir, "driver_override", "vfio-pci\n");
        write_attr(c, dir, "sriov_totalvfs", "63\n");
        write_attr(c, dir, "sriov_numvfs", "2\n");

        g_assert_cmpint(vk_device_load(c->root, &id, &after), ==, 0);
        g_assert_cmphex(after->vendor, ==, 0x8086);
        g_assert_cmphex(after->class_code, ==, 0x020000);
        g_assert_false(after->is_bridge);
        g_assert_cmpstr(after->modalias, ==, before->modalias);
        g_assert_null(after->driver);
        g_assert_cmpstr(after->driver_override, ==, "vfio-pci");
        g_assert_cmpint(after->totalvfs, ==, 63);
        g_assert_cmpint(after->numvfs, ==, 2);
}

/* Replaces the directory of 0000:00:04.0 with a new one: the new one is made first, so the two
 * cannot share an inode number even on a filesystem that reuses freed ones. */
static void replace_device_dir(ctx *c, const char *vendor)
{
        const char *dir = "sys/devices/pci0000:00/0000:00:04.0";
        g_autofree char *next = g_strconcat(dir, ".next", NULL);
        g_autofree char *old = g_strconcat(dir, ".old", NULL);
        g_autofree char *sub = g_strconcat(next, "/subsystem", NULL);
        g_autofree char *vline = g_strconcat(vendor, "\n", NULL);
        g_autofree char *p_dir = g_build_filename(fixture_prefix(c->f), dir, NULL);
        g_autofree char *p_next = g_build_filename(fixture_prefix(c->f), next, NULL);
        g_autofree char *p_old = g_build_filename(fixture_prefix(c->f), old, NULL);
        struct stat a, b;

        write_attr(c, next, "vendor", vline);
        write_attr(c, next, "device", "0x0005\n");
        write_attr(c, next, "class", "0x060400\n");
        write_attr(c, next, "modalias", "pci:replaced\n");
        write_attr(c, next, "driver_override", "(null)\n");
        fixture_symlink(c->f, sub, "../../../bus/pci");

        g_assert_no_errno(rename(p_dir, p_old));
        g_assert_no_errno(rename(p_next, p_dir));
        g_assert_no_errno(stat(p_dir, &a));
        g_assert_no_errno(stat(p_old, &b));
        g_assert_true(a.st_ino != b.st_ino);
        fixture_unlink(c->f, old);
}

/* A device removed and added again at the same address is a new directory: read anew. */
static void test_facts_directory_replaced(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *first = NULL, *second = NULL, *third = NULL,
                                             *fourth = NULL;
        vk_device_id id;

        fixture_pci(c->f, "0000:00:04.0 vendor=0x1234 device=0x11e8 driver=e1000 group=2");
        g_assert_cmpint(resolve(c, "0000:00:04.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &first), ==, 0);
        g_assert_cmphex(first->vendor, ==, 0x1234);

        replace_device_dir(c, "0x1b36");
        g_assert_cmpint(vk_device_load(c->root, &id, &second), ==, 0);
        g_assert_cmphex(second->vendor, ==, 0x1b36);
        g_assert_cmphex(second->device, ==, 0x0005);
        g_assert_cmphex(second->class_code, ==, 0x060400);
        g_assert_true(second->is_bridge);
        g_assert_cmpstr(second->modalias, ==, "pci:replaced");
        g_assert_null(second->driver);
        g_assert_cmpint(second->iommu_group, ==, -1);

        /* The entry was replaced, not added beside the old one, and is used for the new one. */
        g_assert_cmpuint(c->root->n_facts, ==, 1);
        g_autofree char *vendor = g_strdup("sys/devices/pci0000:00/0000:00:04.0/vendor");
        fixture_write(c->f, vendor, "0xffff\n");
        g_assert_cmpint(vk_device_load(c->root, &id, &third), ==, 0);
        g_assert_cmphex(third->vendor, ==, 0x1b36);

        replace_device_dir(c, "0x8086");
        g_assert_cmpint(vk_device_load(c->root, &id, &fourth), ==, 0);
        g_assert_cmphex(fourth->vendor, ==, 0x8086);
}

/* The directory is found again where it was met, without resolving links; a directory moved
 * elsewhere (same inode, new place) is followed through the bus's link again. */
static void test_facts_directory_moved(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *first = NULL, *again = NULL, *moved = NULL;
        const char *dir = "sys/devices/pci0000:00/0000:00:04.0";
        const char *to = "sys/devices/pci0000:00/0000:00:01.0/0000:00:04.0";
        g_autofree char *p_dir = g_build_filename(fixture_prefix(c->f), dir, NULL);
        g_autofree char *p_to = g_build_filename(fixture_prefix(c->f), to, NULL);
        g_autofree char *sub = g_strconcat(to, "/subsystem", NULL);
        vk_device_id id;

        fixture_pci(c->f, "0000:00:04.0 vendor=0x1234 device=0x11e8 group=2");
        g_assert_cmpint(resolve(c, "0000:00:04.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &first), ==, 0);
        g_assert_cmpstr(first->syspath, ==, dir + strlen("sys/"));
        g_assert_cmpint(vk_device_load(c->root, &id, &again), ==, 0);
        g_assert_cmpstr(again->syspath, ==, first->syspath);

        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:00:01.0");
        g_assert_no_errno(rename(p_dir, p_to));
        fixture_unlink(c->f, sub);
        fixture_symlink(c->f, sub, "../../../../bus/pci");
        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:04.0");
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:04.0",
                        "../../../devices/pci0000:00/0000:00:01.0/0000:00:04.0");
        g_assert_cmpint(vk_device_load(c->root, &id, &moved), ==, 0);
        g_assert_cmpstr(moved->syspath, ==, to + strlen("sys/"));
        g_assert_cmphex(moved->vendor, ==, 0x1234);
        g_assert_cmpint(moved->iommu_group, ==, 2);
}

/* A name met before resolves with one stat of its bus link; a link that leads elsewhere now, or
 * nowhere, gets the answer a first resolution would give. */
static void test_facts_resolve_met_before(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        _cleanup_(vk_root_unrefp) vk_root *fresh = NULL;
        const char *name = "0000:00:04.0";
        vk_device_id id, again, first_time;

        fixture_pci(c->f, "0000:00:04.0 vendor=0x1234 device=0x11e8 group=2");
        fixture_pci(c->f, "0000:00:06.0 group=3");
        g_assert_cmpint(resolve(c, name, &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
        g_assert_true(vk_device_known_at(c->root, &id, "bus/pci/devices/0000:00:04.0"));
        g_assert_false(vk_device_known_at(c->root, &id, "bus/pci/devices/0000:00:06.0"));
        g_assert_cmpint(resolve(c, name, &again), ==, 0);
        g_assert_true(vk_device_id_equal(&again, &id));

        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:04.0");
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:04.0",
                        "../../../devices/pci0000:00/0000:00:06.0");
        g_assert_false(vk_device_known_at(c->root, &id, "bus/pci/devices/0000:00:04.0"));
        g_assert_cmpint(vk_root_open(fixture_prefix(c->f), &fresh), ==, 0);
        g_assert_cmpint(resolve(c, name, &again), ==,
                        vk_device_resolve(fresh, name, strlen(name), &first_time));

        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:04.0");
        g_assert_cmpint(resolve(c, name, &again), ==, -ENODEV);
}

/* A VF's physfn link appears after the VF's directory: an absent link is looked for again. */
static void test_facts_physfn_late(ctx *c, gconstpointer data)
{
        _cleanup_(vk_device_freep) vk_device *early = NULL, *late = NULL, *again = NULL;
        const char *vf = "sys/devices/pci0000:00/0000:03:10.0";
        vk_device_id id;

        fixture_pci(c->f, "0000:03:00.0 vendor=0x8086 device=0x10c9 driver=igb totalvfs=7 "
                          "numvfs=1");
        fixture_pci(c->f, "0000:03:10.0 vendor=0x8086 device=0x10ca");
        g_assert_cmpint(resolve(c, "0000:03:10.0", &id), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &early), ==, 0);
        g_assert_null(early->physfn);

        g_autofree char *link = g_strconcat(vf, "/physfn", NULL);
        fixture_symlink(c->f, link, "../0000:03:00.0");
        g_assert_cmpint(vk_device_load(c->root, &id, &late), ==, 0);
        g_assert_cmpstr(late->physfn, ==, "0000:03:00.0");
        g_assert_cmphex(late->device, ==, 0x10ca);

        /* Present once, kept: it lasts as long as the VF's directory. */
        fixture_unlink(c->f, link);
        g_assert_cmpint(vk_device_load(c->root, &id, &again), ==, 0);
        g_assert_cmpstr(again->physfn, ==, "0000:03:00.0");
}

/*
 * The table is bounded: with room for four, the fifth device empties it. The devices dropped
 * are then read again (an in-place change shows), the ones kept since are not.
 */
static void test_facts_bounded(ctx *c, gconstpointer data)
{
        char name[16], spec[64], path[64];
        vk_device_id id;

        g_assert_cmpuint(c->root->facts_max, ==, VK_FIXED_FACTS_MAX);
        c->root->facts_max = 4;
        for (unsigned i = 0; i < 6; i++) {
                _cleanup_(vk_device_freep) vk_device *d = NULL;

                g_snprintf(spec, sizeof spec, "0000:00:%02x.0 vendor=0x1234", i + 1);
                fixture_pci(c->f, spec);
                g_snprintf(name, sizeof name, "0000:00:%02x.0", i + 1);
                g_assert_cmpint(resolve(c, name, &id), ==, 0);
                g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
                g_assert_cmpuint(c->root->n_facts, <=, 4);
                g_assert_cmpuint(c->root->n_facts, ==, i < 4 ? i + 1 : i - 3);
        }

        /* Kept now: devices 5 and 6. Rewrite every vendor in place. */
        for (unsigned i = 0; i < 6; i++) {
                g_snprintf(path, sizeof path, "sys/devices/pci0000:00/0000:00:%02x.0/vendor",
                           i + 1);
                fixture_write(c->f, path, "0x8086\n");
        }
        /* The kept ones first: loading a dropped one adds it again, and the third of those
         * empties the table once more. */
        static const unsigned order[] = {5, 6, 1, 2, 3, 4};
        for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
                _cleanup_(vk_device_freep) vk_device *d = NULL;

                g_snprintf(name, sizeof name, "0000:00:%02x.0", order[i]);
                g_assert_cmpint(resolve(c, name, &id), ==, 0);
                g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
                g_test_message("bounded: %s vendor 0x%04x", name, d->vendor);
                g_assert_cmphex(d->vendor, ==, order[i] >= 5 ? 0x1234 : 0x8086);
        }
        g_assert_cmpuint(c->root->n_facts, <=, 4);
}

static void test_read_driver_override(ctx *c, gconstpointer data)
{
        g_autofree char *drv = NULL, *ov = NULL;
        char *none = (char *)0x1, *none2 = (char *)0x1;
        vk_device_id id;

        fixture_pci(c->f, "0000:00:04.0 driver=e1000 override=vfio-pci");
        fixture_pci(c->f, "0000:00:05.0");
        g_assert_cmpint(vk_parse_device_name("0000:00:04.0", 12, &id), ==, 0);
        g_assert_cmpint(vk_device_read_driver(c->root, &id, &drv), ==, 0);
        g_assert_cmpstr(drv, ==, "e1000");
        g_assert_cmpint(vk_device_read_override(c->root, &id, &ov), ==, 0);
        g_assert_cmpstr(ov, ==, "vfio-pci");

        g_assert_cmpint(vk_parse_device_name("0000:00:05.0", 12, &id), ==, 0);
        g_assert_cmpint(vk_device_read_driver(c->root, &id, &none), ==, 0);
        g_assert_null(none);
        g_assert_cmpint(vk_device_read_override(c->root, &id, &none2), ==, 0);
        g_assert_null(none2);

        /* The same in one read. */
        g_autofree char *bdrv = NULL, *bov = NULL;
        bool unbinding = true;
        g_assert_cmpint(vk_parse_device_name("0000:00:04.0", 12, &id), ==, 0);
        g_assert_cmpint(vk_device_read_binding(c->root, &id, &bdrv, &unbinding, &bov), ==, 0);
        g_assert_cmpstr(bdrv, ==, "e1000");
        g_assert_false(unbinding);
        g_assert_cmpstr(bov, ==, "vfio-pci");
        g_assert_cmpint(vk_parse_device_name("0000:00:05.0", 12, &id), ==, 0);
        g_clear_pointer(&bdrv, free);
        g_clear_pointer(&bov, free);
        unbinding = true;
        g_assert_cmpint(vk_device_read_binding(c->root, &id, &bdrv, &unbinding, &bov), ==, 0);
        g_assert_null(bdrv);
        g_assert_false(unbinding);
        g_assert_null(bov);

        /* Gone: -ENODEV rather than "unbound". */
        none = none2 = (char *)0x1;
        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:05.0");
        g_assert_cmpint(vk_device_read_driver(c->root, &id, &none), ==, -ENODEV);
        g_assert_cmpint(vk_device_read_override(c->root, &id, &none2), ==, -ENODEV);
        g_assert_true(none == (char *)0x1 && none2 == (char *)0x1);
        g_assert_cmpint(vk_device_read_binding(c->root, &id, &none, &unbinding, &none2), ==,
                        -ENODEV);
        g_assert_true(none == (char *)0x1 && none2 == (char *)0x1);

        /* A hand-made id is checked like a parsed one. */
        vk_device_id bad = {.bus = VK_BUS_PCI, .name = "../../../etc"};
        g_assert_cmpint(vk_device_read_driver(c->root, &bad, &none), ==, -EINVAL);
        g_assert_cmpint(vk_device_read_binding(c->root, &bad, &none, &unbinding, &none2), ==,
                        -EINVAL);
}

static void test_bus_path(void)
{
        vk_device_id id = {.bus = VK_BUS_PLATFORM, .name = "efi-framebuffer.0"};
        char buf[64], small[8];

        g_assert_cmpint(vk_device_bus_path(&id, buf, sizeof buf), ==, 0);
        g_assert_cmpstr(buf, ==, "bus/platform/devices/efi-framebuffer.0");
        g_assert_cmpint(vk_device_bus_path(&id, small, sizeof small), ==, -ENAMETOOLONG);
        id.bus = _VK_BUS_MAX;
        g_assert_cmpint(vk_device_bus_path(&id, buf, sizeof buf), ==, -EINVAL);
        vk_device_id slash = {.bus = VK_BUS_PCI, .name = "a/b"};
        g_assert_cmpint(vk_device_bus_path(&slash, buf, sizeof buf), ==, -EINVAL);
}

static void test_bus_list(ctx *c, gconstpointer data)
{
        _cleanup_(strv_freep) char **pci = NULL, **amba = NULL;

        add_typical(c);
        g_assert_cmpint(vk_bus_list_devices(c->root, VK_BUS_PCI, &pci), ==, 0);
        g_assert_cmpuint(strv_length(pci), ==, 2);
        g_assert_cmpstr(pci[0], ==, "0000:00:1c.0");
        g_assert_cmpstr(pci[1], ==, "0000:01:00.0");
        fixture_unlink(c->f, "sys/bus/amba/devices/9000000.pl011");
        g_assert_cmpint(vk_bus_list_devices(c->root, VK_BUS_AMBA, &amba), ==, 0);
        g_assert_nonnull(amba);
        g_assert_cmpuint(strv_length(amba), ==, 0);
        g_assert_cmpint(vk_bus_list_devices(c->root, _VK_BUS_MAX, &amba), ==, -EINVAL);
}

/* ---- resource ---- */

static void test_parse_resource(void)
{
        vk_bar bars[VK_MAX_BARS];
        size_t n = 99;
        /* e1000e in q35: BAR0 mem, BAR1 mem, BAR2 io, BAR3 mem, ROM; 13 lines. */
        const char *e1000e =
            "0x00000000febc0000 0x00000000febdffff 0x0000000000040200\n"
            "0x00000000febe0000 0x00000000febfffff 0x0000000000040200\n"
            "0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
            "0x00000000fec00000 0x00000000fec03fff 0x0000000000040200\n" ZERO ZERO
            "0x00000000feb80000 0x00000000febbffff 0x0000000000046200\n" ZERO ZERO ZERO ZERO ZERO
            "0x0000000000000000 0x0000000000000000 0x0000000000000000";

        g_assert_cmpint(vk_parse_resource(e1000e, bars, VK_MAX_BARS, &n), ==, 0);
        g_assert_cmpuint(n, ==, 4);
        g_assert_cmpuint(bars[0].index, ==, 0);
        g_assert_cmpuint(bars[1].index, ==, 1);
        g_assert_cmpuint(bars[2].index, ==, 3);
        g_assert_cmphex(bars[2].end, ==, 0xfec03fff);
        g_assert_cmpuint(bars[3].index, ==, 6);
        g_assert_cmphex(bars[3].flags, ==, 0x46200);

        /* Too small an array: nothing written. */
        n = 99;
        bars[0].index = 42;
        g_assert_cmpint(vk_parse_resource(e1000e, bars, 2, &n), ==, -ENOBUFS);
        g_assert_cmpuint(n, ==, 99);
        g_assert_cmpuint(bars[0].index, ==, 42);

        g_assert_cmpint(vk_parse_resource("", bars, VK_MAX_BARS, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
}

static void test_parse_resource_odd(void)
{
        vk_bar bars[VK_MAX_BARS];
        size_t n = 99;

        /* A 64-bit prefetchable BAR above 4 GiB; an unassigned one (IORESOURCE_UNSET). */
        g_assert_cmpint(
            vk_parse_resource("0x0000008000000000 0x000000800fffffff 0x000000000014220c\n"
                              "0x0000000000000000 0x000000000003ffff 0x0000000020040200\n",
                              bars, VK_MAX_BARS, &n),
            ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmphex(bars[0].start, ==, 0x8000000000ULL);

        /* Lines past the ROM (SR-IOV BARs, bridge windows) are not device BARs. */
        GString *s = g_string_new(NULL);
        for (int i = 0; i < 7; i++)
                g_string_append(s, ZERO);
        g_string_append(s, "0x00000000fe000000 0x00000000fe0fffff 0x0000000000040200\n");
        g_assert_cmpint(vk_parse_resource(s->str, bars, VK_MAX_BARS, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        g_string_free(s, TRUE);

        static const char *const bad[] = {
            "0x1 0x2",           "0x1 0x2 0x200 0x4",
            "0x2 0x1 0x200", /* end before start */
            "1 2 0x200",     /* no 0x */
            "0x1  0x2 0x200",    "0x1\t0x2\t0x200",
            "0x 0x2 0x200",      "0x00000000000000001 0x2 0x200", /* 17 digits */
            "0x1 0x2 0x200\n\n", "\n",
            "0x1 0x2 0x200 ",    "0x1 0x2 0x2z0",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *e = g_strescape(bad[i], NULL);
                g_test_message("bad resource %zu: \"%s\"", i, e);
                n = 99;
                g_assert_cmpint(vk_parse_resource(bad[i], bars, VK_MAX_BARS, &n), ==, -EINVAL);
                g_assert_cmpuint(n, ==, 99);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

#define T(name, fn) g_test_add(name, ctx, NULL, fixture_root_setup, fn, fixture_root_teardown)
        g_test_add_func("/device/bus-strings", test_bus_strings);
        g_test_add_func("/device/parse-name/valid", test_parse_name_valid);
        g_test_add_func("/device/parse-name/invalid", test_parse_name_invalid);
        g_test_add_func("/device/parse-name/lengths", test_parse_name_lengths);
        g_test_add_func("/device/resolve/malformed-touches-nothing",
                        test_resolve_malformed_touches_nothing);
        T("/device/resolve/names", test_resolve_names);
        T("/device/resolve/paths", test_resolve_paths);
        T("/device/resolve/path-errors", test_resolve_path_errors);
        T("/device/resolve/links-leaving", test_resolve_links_leaving);
        T("/device/load/pci", test_load_pci);
        T("/device/load/override-and-sriov", test_load_override_and_sriov);
        T("/device/load/missing-attributes", test_load_missing_attributes);
        T("/device/load/malformed-attribute", test_load_malformed_attribute);
        T("/device/load/bridges", test_load_bridges);
        T("/device/load/unbinding", test_load_unbinding);
        T("/device/load/platform", test_load_platform);
        T("/device/load/gone", test_load_gone);
        T("/device/load/vanish-early", test_vanish_early);
        T("/device/load/vanish-last", test_vanish_last);
        T("/device/load/vanish-replaced", test_vanish_replaced);
        T("/device/facts/second-load", test_facts_second_load);
        T("/device/facts/read-once", test_facts_read_once);
        T("/device/facts/directory-replaced", test_facts_directory_replaced);
        T("/device/facts/directory-moved", test_facts_directory_moved);
        T("/device/facts/resolve-met-before", test_facts_resolve_met_before);
        T("/device/facts/physfn-late", test_facts_physfn_late);
        T("/device/facts/bounded", test_facts_bounded);
        T("/device/read-driver-override", test_read_driver_override);
        g_test_add_func("/device/bus-path", test_bus_path);
        T("/device/bus-list", test_bus_list);
        g_test_add_func("/device/parse-resource", test_parse_resource);
        g_test_add_func("/device/parse-resource-odd", test_parse_resource_odd);
#undef T
        return g_test_run();
}
