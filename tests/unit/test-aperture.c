/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Aperture checks on fixture trees. Shapes come from KERNEL.md (Debian 6.1.192 and 6.12 guests
 * under QEMU 7.2): SeaBIOS with vga=0x317 gives vesa-framebuffer.0 + vesafb on the std VGA's
 * BAR0, vtcon0 the dummy console and vtcon1 fbcon; OVMF gives efi-framebuffer.0 + efifb; SeaBIOS
 * text mode gives vgacon on vtcon0. From 6.9 the sysfb device is parented under the GPU.
 */
#include <glib.h>
#include <stdio.h>

#include "aperture.h"
#include "fixture.h"
#include "macros.h"

#define STD_VGA_BAR0 "0xfd000000-0xfdffffff:0x42208"
#define STD_VGA_BAR2 "0xfebf0000-0xfebf0fff:0x40200"
/* A second std VGA whose BAR holds no firmware framebuffer. */
#define SECONDARY_VGA                                                                              \
        "0000:00:03.0 vendor=0x1234 device=0x1111 class=0x030000 boot_vga=0 "                      \
        "resource=0xe0000000-0xe0ffffff:0x42208"

/* A QEMU std VGA (1234:1111) at 00:01.0 and its iomem, with the firmware fb nested in BAR0. */
static const char iomem_seabios[] = "00000000-00000fff : Reserved\n"
                                    "00001000-0009fbff : System RAM\n"
                                    "000a0000-000bffff : PCI Bus 0000:00\n"
                                    "000c0000-000c93ff : Video ROM\n"
                                    "00100000-3ffdffff : System RAM\n"
                                    "  0c000000-0cc02816 : Kernel code\n"
                                    "c0000000-febfffff : PCI Bus 0000:00\n"
                                    "  e0000000-e0ffffff : 0000:00:03.0\n"
                                    "  fd000000-fdffffff : 0000:00:01.0\n"
                                    "    fd000000-fd17ffff : vesafb\n"
                                    "  febf0000-febf0fff : 0000:00:01.0\n";

static const char iomem_ovmf[] = "00000000-00000fff : Reserved\n"
                                 "80000000-afffffff : PCI Bus 0000:00\n"
                                 "  80000000-80ffffff : 0000:00:01.0\n"
                                 "    80000000-8012bfff : efifb\n"
                                 "  81000000-81000fff : 0000:00:01.0\n";

typedef struct test_env {
        fixture *f;
        vk_root *root;
        vk_device *gpu;
} test_env;

static void env_open(test_env *e)
{
        g_assert_cmpint(vk_root_open(fixture_prefix(e->f), &e->root), ==, 0);
}

static void env_free(test_env *e)
{
        vk_root_unref(e->root);
        vk_device_free(e->gpu);
        fixture_free(e->f);
}

/* Loads the device's facts from the fixture, as the daemon does. */
static void gpu_load(test_env *e, const char *name)
{
        vk_device_id id = {.bus = VK_BUS_PCI};

        if (!e->root)
                env_open(e);
        g_strlcpy(id.name, name, sizeof(id.name));
        e->gpu = vk_device_free(e->gpu);
        g_assert_cmpint(vk_device_load(e->root, &id, &e->gpu), ==, 0);
}

static void vtcon_add(fixture *f, unsigned n, const char *name, bool bound)
{
        g_autofree char *dir = g_strdup_printf("sys/devices/virtual/vtconsole/vtcon%u", n);
        g_autofree char *p_name = g_strconcat(dir, "/name", NULL);
        g_autofree char *p_bind = g_strconcat(dir, "/bind", NULL);
        g_autofree char *link = g_strdup_printf("sys/class/vtconsole/vtcon%u", n);
        g_autofree char *target = g_strdup_printf("../../devices/virtual/vtconsole/vtcon%u", n);
        g_autofree char *content = g_strconcat(name, "\n", NULL);

        fixture_write(f, p_name, content);
        fixture_write(f, p_bind, bound ? "1\n" : "0\n");
        fixture_symlink(f, link, target);
}

/* fbN registered by the device at sys/<device_syspath> (fb_info->device). */
static void fb_add(fixture *f, unsigned n, const char *device_syspath, const char *fbname)
{
        g_autofree char *dir = g_strdup_printf("sys/%s/graphics/fb%u", device_syspath, n);
        g_autofree char *p_name = g_strconcat(dir, "/name", NULL);
        g_autofree char *p_dev = g_strconcat(dir, "/dev", NULL);
        g_autofree char *p_uevent = g_strconcat(dir, "/uevent", NULL);
        g_autofree char *p_device = g_strconcat(dir, "/device", NULL);
        g_autofree char *content = g_strconcat(fbname, "\n", NULL);
        g_autofree char *dev = g_strdup_printf("29:%u\n", n);
        g_autofree char *link = g_strdup_printf("sys/class/graphics/fb%u", n);
        g_autofree char *target = g_strdup_printf("../../%s/graphics/fb%u", device_syspath, n);

        fixture_write(f, p_name, content);
        fixture_write(f, p_dev, dev);
        fixture_write(f, p_uevent, "");
        fixture_symlink(f, p_device, "../..");
        fixture_symlink(f, link, target);
}

/* fbcon's own class device has no "device" link and must not count as a framebuffer. */
static void fbcon_add(fixture *f)
{
        fixture_write(f, "sys/devices/virtual/graphics/fbcon/uevent", "");
        fixture_symlink(f, "sys/class/graphics/fbcon", "../../devices/virtual/graphics/fbcon");
}

static void osrelease(fixture *f, const char *release)
{
        g_autofree char *content = g_strconcat(release, "\n", NULL);
        fixture_write(f, "proc/sys/kernel/osrelease", content);
}

/* SeaBIOS + vga=0x317 on 6.1: std VGA at 00:01.0 (boot), vesafb, fb0, fbcon on vtcon1. */
static void seabios_vesafb(test_env *e)
{
        e->f = fixture_new();
        fixture_pci(e->f, "0000:00:01.0 vendor=0x1234 device=0x1111 class=0x030000 boot_vga=1 "
                          "resource=" STD_VGA_BAR0 " resource=0 resource=" STD_VGA_BAR2);
        fixture_platform(e->f, "vesa-framebuffer.0 driver=vesa-framebuffer");
        fb_add(e->f, 0, "devices/platform/vesa-framebuffer.0", "VESA VGA");
        fbcon_add(e->f);
        vtcon_add(e->f, 0, "(S) dummy device", false);
        vtcon_add(e->f, 1, "(S) frame buffer device", true);
        fixture_write(e->f, "proc/iomem", iomem_seabios);
        osrelease(e->f, "6.1.0-56-amd64");
}

static void assert_strv(char **got, const char *const *want)
{
        g_assert_nonnull(got);
        g_assert_cmpuint(strv_length(got), ==, g_strv_length((char **)want));
        for (size_t i = 0; want[i]; i++)
                g_assert_cmpstr(got[i], ==, want[i]);
}

static const char *const none[] = {NULL};
static const char *const vesa_fb[] = {"vesa-framebuffer.0", NULL};

static void assert_nothing(vk_aperture *a)
{
        assert_strv(a->firmware_fbs, none);
        assert_strv(a->fbdevs, none);
        assert_strv(a->vtconsoles, none);
        g_assert_false(a->removes_console);
}

static void check(test_env *e, const char *name, vk_aperture **ret)
{
        gpu_load(e, name);
        g_assert_cmpint(vk_aperture_check(e->root, e->gpu, ret), ==, 0);
}

/* Again, for the same device after the test changed the tree or a fact. */
static void recheck(test_env *e, vk_aperture **ret)
{
        g_assert_cmpint(vk_aperture_check(e->root, e->gpu, ret), ==, 0);
}

static void test_boot_vga_vesafb(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        check(&e, "0000:00:01.0", &a);

        g_assert_true(a->vga_class);
        g_assert_true(a->boot_vga);
        assert_strv(a->firmware_fbs, vesa_fb);
        assert_strv(a->fbdevs, (const char *const[]){"fb0", NULL});
        assert_strv(a->vtconsoles, (const char *const[]){"vtcon1", NULL});
        g_assert_true(a->removes_console);
        env_free(&e);
}

/* The 5ae3716cfdcd fix: a second VGA device whose BARs do not hold the fb leaves it alone. */
static void test_secondary_vga_keeps_fb(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL, *c = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        fixture_pci(e.f, SECONDARY_VGA);
        check(&e, "0000:00:03.0", &a);

        g_assert_true(a->vga_class);
        g_assert_false(a->boot_vga);
        assert_nothing(a);

        /* BARs just above the fb (it ends at 0xfd17ffff) and just below it. */
        fixture_pci(e.f, "0000:00:05.0 class=0x030000 boot_vga=0 "
                         "resource=0xfd180000-0xfd1fffff:0x42208");
        fixture_pci(e.f, "0000:00:06.0 class=0x030000 boot_vga=0 "
                         "resource=0xfc000000-0xfcffffff:0x42208");
        check(&e, "0000:00:05.0", &b);
        assert_nothing(b);
        check(&e, "0000:00:06.0", &c);
        assert_nothing(c);
        env_free(&e);
}

/* A secondary VGA device whose BAR does hold the firmware fb (the fb is in its memory even
 * though another device is the boot VGA): the overlap check unregisters it. */
static void test_secondary_vga_overlapping_fb(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        gpu_load(&e, "0000:00:01.0");
        e.gpu->boot_vga = 0; /* as if another device were the boot VGA */
        recheck(&e, &a);

        assert_strv(a->firmware_fbs, vesa_fb);
        assert_strv(a->vtconsoles, (const char *const[]){"vtcon1", NULL});
        g_assert_true(a->removes_console);
        env_free(&e);
}

static void test_ovmf_efifb(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL;
        test_env e = {.f = fixture_new()};

        fixture_pci(e.f, "0000:00:01.0 vendor=0x1234 device=0x1111 class=0x030000 boot_vga=1 "
                         "resource=0x80000000-0x80ffffff:0x42208");
        fixture_platform(e.f, "efi-framebuffer.0 driver=efi-framebuffer");
        fb_add(e.f, 0, "devices/platform/efi-framebuffer.0", "EFI VGA");
        vtcon_add(e.f, 0, "(S) dummy device", false);
        vtcon_add(e.f, 1, "(S) frame buffer device", true);
        fixture_write(e.f, "proc/iomem", iomem_ovmf);
        osrelease(e.f, "6.1.0-56-amd64");
        check(&e, "0000:00:01.0", &a);

        assert_strv(a->firmware_fbs, (const char *const[]){"efi-framebuffer.0", NULL});
        assert_strv(a->fbdevs, (const char *const[]){"fb0", NULL});
        assert_strv(a->vtconsoles, (const char *const[]){"vtcon1", NULL});
        g_assert_true(a->removes_console);
        env_free(&e);
}

/* bochs-display and QEMU's secondary-vga are class 0x0380: vfio-pci treats them as non-VGA. */
static void test_display_class_0380(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        fixture_pci(e.f, "0000:00:04.0 vendor=0x1234 device=0x1111 class=0x038000 "
                         "resource=0xfd000000-0xfdffffff:0x42208");
        /* Even a BAR over the fb does not matter: the aperture code does not run. */
        check(&e, "0000:00:04.0", &a);

        g_assert_false(a->vga_class);
        g_assert_false(a->boot_vga);
        assert_nothing(a);
        env_free(&e);
}

static void test_non_vga(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        fixture_pci(e.f, "0000:00:02.0 vendor=0x8086 device=0x100e class=0x020000 driver=e1000 "
                         "resource=0xfeb80000-0xfeb9ffff:0x40200");
        check(&e, "0000:00:02.0", &a);

        g_assert_false(a->vga_class);
        assert_nothing(a);
        env_free(&e);
}

/* An unprivileged /proc/iomem: zero addresses, but the nesting still says whose BAR holds the
 * framebuffer. */
static const char iomem_zeroed[] = "00000000-00000000 : Reserved\n"
                                   "00000000-00000000 : PCI Bus 0000:00\n"
                                   "  00000000-00000000 : 0000:00:03.0\n"
                                   "  00000000-00000000 : 0000:00:01.0\n"
                                   "    00000000-00000000 : vesafb\n";

static void test_iomem_zeroed_nesting(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        fixture_write(e.f, "proc/iomem", iomem_zeroed);
        fixture_pci(e.f, SECONDARY_VGA);
        check(&e, "0000:00:03.0", &a);
        /* Nested under 00:01.0, so not in 00:03.0's memory. */
        assert_nothing(a);

        /* The same view from the device that owns the BAR (not as the boot device, so only the
         * overlap can decide): it goes. */
        gpu_load(&e, "0000:00:01.0");
        e.gpu->boot_vga = 0;
        recheck(&e, &b);
        assert_strv(b->firmware_fbs, vesa_fb);
        g_assert_true(b->removes_console);
        env_free(&e);
}

/* Nothing tells whose memory the fb is in: a secondary VGA device is assumed to take it. */
static void test_iomem_unknown_is_conservative(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        fixture_write(e.f, "proc/iomem",
                      "00000000-00000000 : Reserved\n    00000000-00000000 : vesafb\n");
        fixture_pci(e.f, SECONDARY_VGA);
        check(&e, "0000:00:03.0", &a);
        assert_strv(a->firmware_fbs, vesa_fb);
        g_assert_true(a->removes_console);

        /* No iomem at all: the same answer. */
        fixture_unlink(e.f, "proc/iomem");
        recheck(&e, &b);
        assert_strv(b->firmware_fbs, vesa_fb);
        env_free(&e);
}

/* A firmware fb with no driver bound registers no aperture: only sysfb_disable() can take it,
 * and on 6.1 that is the boot device's business. */
static void test_driverless_fb_needs_primary(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {.f = fixture_new()};

        fixture_pci(e.f, "0000:00:01.0 class=0x030000 boot_vga=0 "
                         "resource=0xfd000000-0xfdffffff:0x42208");
        fixture_platform(e.f, "simple-framebuffer.0");
        osrelease(e.f, "6.1.0-56-amd64");
        check(&e, "0000:00:01.0", &a);
        assert_nothing(a);

        /* The boot device disables sysfb, which unregisters it whatever its driver. */
        e.gpu->boot_vga = 1;
        recheck(&e, &b);
        assert_strv(b->firmware_fbs, (const char *const[]){"simple-framebuffer.0", NULL});
        g_assert_false(b->removes_console);
        env_free(&e);
}

/* 6.12: sysfb parents its device under the GPU whose BAR holds it and sysfb_disable(dev) only
 * acts for that parent, or for anyone when there is no parent. */
static void test_612_parented_fb(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {.f = fixture_new()};

        fixture_pci(e.f, "0000:00:01.0 vendor=0x1234 device=0x1111 class=0x030000 boot_vga=1 "
                         "resource=" STD_VGA_BAR0);
        fixture_pci(e.f, SECONDARY_VGA);
        fixture_platform(e.f, "vesa-framebuffer.0 parent=0000:00:01.0 driver=vesa-framebuffer");
        g_autofree char *fbdev =
            g_strconcat(fixture_syspath(e.f, "0000:00:01.0"), "/vesa-framebuffer.0", NULL);
        fb_add(e.f, 0, fbdev, "VESA VGA");
        vtcon_add(e.f, 0, "(S) dummy device", false);
        vtcon_add(e.f, 1, "(S) frame buffer device", true);
        fixture_write(e.f, "proc/iomem", iomem_seabios);
        osrelease(e.f, "6.12.117+deb12-amd64");

        check(&e, "0000:00:03.0", &a);
        assert_nothing(a);

        check(&e, "0000:00:01.0", &b);
        assert_strv(b->firmware_fbs, vesa_fb);
        assert_strv(b->fbdevs, (const char *const[]){"fb0", NULL});
        assert_strv(b->vtconsoles, (const char *const[]){"vtcon1", NULL});
        env_free(&e);
}

/* 6.12 with an fb that has no parent: any VGA device's sysfb_disable(dev) removes it, where
 * 6.1 kept it for a secondary device. */
static void test_612_unparented_fb(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        osrelease(e.f, "6.12.117+deb12-amd64");
        fixture_pci(e.f, SECONDARY_VGA);
        check(&e, "0000:00:03.0", &a);
        assert_strv(a->firmware_fbs, vesa_fb);
        g_assert_true(a->removes_console);

        /* Unknown kernel: the union of both rules. */
        fixture_unlink(e.f, "proc/sys/kernel/osrelease");
        recheck(&e, &b);
        assert_strv(b->firmware_fbs, vesa_fb);
        env_free(&e);
}

/* The GPU's own driver (bochs-drm) provides fb1; the firmware fb0 stays, so fbcon keeps a
 * framebuffer and no console is lost. Once fb0 is gone, fb1 is the last one. */
static void test_native_driver_fb(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        fixture_pci(e.f, "0000:00:04.0 class=0x038000 driver=bochs-drm "
                         "resource=0xe0000000-0xe0ffffff:0x42208");
        fb_add(e.f, 1, fixture_syspath(e.f, "0000:00:04.0"), "bochs-drmdrmfb");
        check(&e, "0000:00:04.0", &a);
        assert_strv(a->firmware_fbs, none);
        assert_strv(a->fbdevs, (const char *const[]){"fb1", NULL});
        assert_strv(a->vtconsoles, none);
        g_assert_false(a->removes_console);

        fixture_unlink(e.f, "sys/class/graphics/fb0");
        recheck(&e, &b);
        assert_strv(b->fbdevs, (const char *const[]){"fb1", NULL});
        assert_strv(b->vtconsoles, (const char *const[]){"vtcon1", NULL});
        g_assert_true(b->removes_console);
        env_free(&e);
}

/* Two GPUs on bochs-drm (fb0 on the boot VGA, fb1 on the secondary): the consoles are shown on
 * fb0, so moving the boot VGA takes them off its display although fb1 remains; moving the
 * secondary does not. */
static void test_console_fb_of_boot_gpu(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {};

        seabios_vesafb(&e);
        fixture_unlink(e.f, "sys/class/graphics/fb0");
        fb_add(e.f, 0, fixture_syspath(e.f, "0000:00:01.0"), "bochs-drmdrmfb");
        fixture_pci(e.f, "0000:00:04.0 class=0x038000 driver=bochs-drm "
                         "resource=0xe0000000-0xe0ffffff:0x42208");
        fb_add(e.f, 1, fixture_syspath(e.f, "0000:00:04.0"), "bochs-drmdrmfb");

        check(&e, "0000:00:01.0", &a);
        assert_strv(a->fbdevs, (const char *const[]){"fb0", NULL});
        assert_strv(a->vtconsoles, (const char *const[]){"vtcon1", NULL});
        g_assert_true(a->removes_console);

        check(&e, "0000:00:04.0", &b);
        assert_strv(b->fbdevs, (const char *const[]){"fb1", NULL});
        assert_strv(b->vtconsoles, none);
        g_assert_false(b->removes_console);
        env_free(&e);
}

/* SeaBIOS text mode: vgacon is the console; the boot VGA device takes it, a secondary does not. */
static void test_vgacon(void)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL, *b = NULL;
        test_env e = {.f = fixture_new()};

        fixture_pci(e.f, "0000:00:01.0 class=0x030000 boot_vga=1 resource=" STD_VGA_BAR0);
        fixture_pci(e.f, SECONDARY_VGA);
        vtcon_add(e.f, 0, "(S) VGA+", true);
        osrelease(e.f, "6.1.0-56-amd64");

        check(&e, "0000:00:01.0", &a);
        assert_strv(a->firmware_fbs, none);
        assert_strv(a->vtconsoles, (const char *const[]){"vtcon0", NULL});
        g_assert_true(a->removes_console);

        check(&e, "0000:00:03.0", &b);
        assert_nothing(b);
        env_free(&e);
}

static void test_firmware_fbs_list(void)
{
        _cleanup_(strv_freep) char **l = NULL;
        test_env e = {.f = fixture_new()};

        fixture_platform(e.f, "vesa-framebuffer.0");
        fixture_platform(e.f, "efi-framebuffer.0");
        fixture_platform(e.f, "serial8250");
        fixture_platform(e.f, "simple-framebuffer.12");
        fixture_platform(e.f, "vesa-framebuffer.x");
        env_open(&e);

        g_assert_cmpint(vk_aperture_firmware_fbs(e.root, &l), ==, 0);
        assert_strv(l, (const char *const[]){"efi-framebuffer.0", "simple-framebuffer.12",
                                             "vesa-framebuffer.0", NULL});
        env_free(&e);
}

static void test_vtcon_list_and_bind(void)
{
        g_autofree char *bind0 = NULL, *bind1 = NULL, *bind2 = NULL, *bind10 = NULL;
        vk_vtcon *l = NULL;
        size_t n = 0;
        test_env e = {.f = fixture_new()};

        vtcon_add(e.f, 0, "(S) dummy device", false);
        vtcon_add(e.f, 1, "(S) frame buffer device", false);
        vtcon_add(e.f, 2, "(S) VGA+", true);
        vtcon_add(e.f, 10, "(M) frame buffer device", false);
        env_open(&e);

        g_assert_cmpint(vk_vtcon_list(e.root, &l, &n), ==, 0);
        g_assert_cmpuint(n, ==, 4);
        g_assert_cmpstr(l[0].id, ==, "vtcon0");
        g_assert_cmpstr(l[0].name, ==, "(S) dummy device");
        g_assert_false(l[0].bound);
        g_assert_cmpstr(l[2].id, ==, "vtcon2");
        g_assert_true(l[2].bound);
        g_assert_cmpstr(l[3].id, ==, "vtcon10");
        vk_vtcon_list_free(l, n);

        g_assert_cmpint(vk_vtcon_bind(e.root, "../vtcon1", true), ==, -EINVAL);
        g_assert_cmpint(vk_vtcon_bind(e.root, "vtcon", true), ==, -EINVAL);
        g_assert_cmpint(vk_vtcon_bind(e.root, "vtcon1/../vtcon0", true), ==, -EINVAL);
        g_assert_cmpint(vk_vtcon_bind(e.root, "vtcon7", true), ==, -ENOENT);

        /* Two unbound non-dummy consoles get bound; the dummy and the bound one are left. */
        g_assert_cmpint(vk_vtcon_bind_all(e.root), ==, 2);
        g_autofree char *p = g_strdup_printf("%s/sys/class/vtconsole", fixture_prefix(e.f));
        g_autofree char *p0 = g_strconcat(p, "/vtcon0/bind", NULL);
        g_autofree char *p1 = g_strconcat(p, "/vtcon1/bind", NULL);
        g_autofree char *p2 = g_strconcat(p, "/vtcon2/bind", NULL);
        g_autofree char *p10 = g_strconcat(p, "/vtcon10/bind", NULL);
        g_assert_true(g_file_get_contents(p0, &bind0, NULL, NULL));
        g_assert_true(g_file_get_contents(p1, &bind1, NULL, NULL));
        g_assert_true(g_file_get_contents(p2, &bind2, NULL, NULL));
        g_assert_true(g_file_get_contents(p10, &bind10, NULL, NULL));
        g_assert_cmpstr(bind0, ==, "0\n");
        g_assert_cmpstr(bind1, ==, "1");
        g_assert_cmpstr(bind2, ==, "1\n");
        g_assert_cmpstr(bind10, ==, "1");

        g_assert_cmpint(vk_vtcon_bind(e.root, "vtcon1", false), ==, 0);
        g_free(bind1);
        g_assert_true(g_file_get_contents(p1, &bind1, NULL, NULL));
        g_assert_cmpstr(bind1, ==, "0");
        env_free(&e);
}

/* No class/vtconsole (CONFIG_VT=n): nothing to list or bind, not an error. */
static void test_vtcon_none(void)
{
        vk_vtcon *l = NULL;
        size_t n = 7;
        test_env e = {.f = fixture_new()};

        env_open(&e);
        g_assert_cmpint(vk_vtcon_list(e.root, &l, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        vk_vtcon_list_free(l, n);
        g_assert_cmpint(vk_vtcon_bind_all(e.root), ==, 0);
        env_free(&e);
}

static void test_parse_iomem(void)
{
        _cleanup_(freep) vk_iomem_range *r = NULL;
        size_t n = 0;

        g_assert_cmpint(vk_parse_iomem(iomem_seabios, &r, &n), ==, 0);
        g_assert_cmpuint(n, ==, 11);
        g_assert_cmpuint(r[0].start, ==, 0);
        g_assert_cmpuint(r[0].end, ==, 0xfff);
        g_assert_cmpstr(r[0].name, ==, "Reserved");
        g_assert_cmpint(r[0].depth, ==, 0);
        g_assert_cmpstr(r[8].name, ==, "0000:00:01.0");
        g_assert_cmpint(r[8].depth, ==, 1);
        g_assert_cmpuint(r[9].start, ==, 0xfd000000);
        g_assert_cmpuint(r[9].end, ==, 0xfd17ffff);
        g_assert_cmpstr(r[9].name, ==, "vesafb");
        g_assert_cmpint(r[9].depth, ==, 2);
}

static void test_parse_iomem_odd(void)
{
        _cleanup_(freep) vk_iomem_range *r = NULL;
        size_t n = 0;
        const char text[] =
            "garbage\n"
            "-1-2 : signed\n"
            "00000010-0000000f : backwards\n"
            "00001000-00001fff :\n"
            "00002000-00002fff : no newline at the end, and a name far longer than sixty-three "
            "characters so it is cut"
            "\n1000000000000000000-1 : too many digits\n"
            "ffffffffffffffff-ffffffffffffffff : top";

        g_assert_cmpint(vk_parse_iomem(text, &r, &n), ==, 0);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpuint(strlen(r[0].name), ==, 63);
        g_assert_true(g_str_has_prefix(r[0].name, "no newline at the end"));
        g_assert_cmpuint(r[1].start, ==, UINT64_MAX);
        g_assert_cmpstr(r[1].name, ==, "top");

        _cleanup_(freep) vk_iomem_range *empty = NULL;
        g_assert_cmpint(vk_parse_iomem("", &empty, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/aperture/boot-vga-vesafb", test_boot_vga_vesafb);
        g_test_add_func("/aperture/secondary-vga-keeps-fb", test_secondary_vga_keeps_fb);
        g_test_add_func("/aperture/secondary-vga-overlapping-fb",
                        test_secondary_vga_overlapping_fb);
        g_test_add_func("/aperture/ovmf-efifb", test_ovmf_efifb);
        g_test_add_func("/aperture/display-class-0380", test_display_class_0380);
        g_test_add_func("/aperture/non-vga", test_non_vga);
        g_test_add_func("/aperture/iomem-zeroed-nesting", test_iomem_zeroed_nesting);
        g_test_add_func("/aperture/iomem-unknown", test_iomem_unknown_is_conservative);
        g_test_add_func("/aperture/driverless-fb", test_driverless_fb_needs_primary);
        g_test_add_func("/aperture/6.12-parented-fb", test_612_parented_fb);
        g_test_add_func("/aperture/6.12-unparented-fb", test_612_unparented_fb);
        g_test_add_func("/aperture/native-driver-fb", test_native_driver_fb);
        g_test_add_func("/aperture/console-fb-of-boot-gpu", test_console_fb_of_boot_gpu);
        g_test_add_func("/aperture/vgacon", test_vgacon);
        g_test_add_func("/aperture/firmware-fbs", test_firmware_fbs_list);
        g_test_add_func("/aperture/vtcon-list-bind", test_vtcon_list_and_bind);
        g_test_add_func("/aperture/vtcon-none", test_vtcon_none);
        g_test_add_func("/aperture/parse-iomem", test_parse_iomem);
        g_test_add_func("/aperture/parse-iomem-odd", test_parse_iomem_odd);
        return g_test_run();
}
