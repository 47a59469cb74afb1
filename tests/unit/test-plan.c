/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Planning on fixture trees: each blocker the engine knows, with its error class and sentence,
 * and the steps and warnings of groups that may move. Planning is read-only, so these tests
 * also check that nothing in the tree changed.
 */
#include <glib.h>
#include <glib/gstdio.h>

#include "engine-internal.h"
#include "fixture.h"
#include "macros.h"

typedef struct env {
        fixture *f;
        vk_root *root;
        sd_event *event;
        engine *e;
        engine_config config;
        plan *p;
        engine_failure failure;
} env;

static void env_init(env *v)
{
        *v = (env){.f = fixture_new()};
        fixture_driver(v->f, "pci", "vfio-pci");
        /* An IOMMU is active unless a test says otherwise. */
        fixture_write(v->f, "sys/class/iommu/dmar0/uevent", "");
}

static void env_engine(env *v)
{
        g_autofree char *run = g_build_filename(fixture_prefix(v->f), "run", "vfiod", NULL);

        g_assert_cmpint(vk_root_open(fixture_prefix(v->f), &v->root), ==, 0);
        g_assert_cmpint(sd_event_new(&v->event), >=, 0);
        g_assert_cmpint(engine_new(v->event, v->root, NULL, &v->config, run, &v->e), ==, 0);
}

static void env_done(env *v)
{
        plan_free(v->p);
        engine_free(v->e);
        sd_event_unref(v->event);
        vk_root_unref(v->root);
        fixture_free(v->f);
        strv_free(v->config.deny_devices);
        strv_free(v->config.deny_ids);
        strv_free(v->config.allowed_drivers);
}

static int plan_for(env *v, const char *name, const assign_options *o)
{
        assign_options defaults = {.owner_uid = UID_INVALID};
        vk_device_id id;

        if (!v->e)
                env_engine(v);
        g_assert_cmpint(vk_parse_device_name(name, strlen(name), &id), ==, 0);
        v->p = plan_free(v->p);
        return engine_plan(v->e, &id, o ? o : &defaults, &v->p, &v->failure);
}

static void assert_step(const plan *p, size_t i, const char *action, const char *device,
                        const char *detail)
{
        g_assert_cmpuint(i, <, p->n_steps);
        g_assert_cmpstr(p->steps[i].action, ==, action);
        g_assert_cmpstr(p->steps[i].device, ==, device);
        g_assert_cmpstr(p->steps[i].detail, ==, detail);
}

static void assert_strv(char **got, const char *const *want)
{
        g_assert_cmpuint(strv_length(got), ==, g_strv_length((char **)want));
        for (size_t i = 0; want[i]; i++)
                g_assert_cmpstr(got[i], ==, want[i]);
}

static char *read_file(env *v, const char *path)
{
        g_autofree char *p = g_build_filename(fixture_prefix(v->f), path, NULL);
        char *s = NULL;
        g_assert_true(g_file_get_contents(p, &s, NULL, NULL));
        return s;
}

/* Planning writes nothing: the override and autoprobe are as the fixture made them. */
static void assert_untouched(env *v, const char *name)
{
        g_autofree char *path = g_strdup_printf("sys/bus/pci/devices/%s/driver_override", name);
        g_autofree char *ov = read_file(v, path);
        g_autofree char *ap = read_file(v, "sys/bus/pci/drivers_autoprobe");
        g_assert_cmpstr(ov, ==, "(null)\n");
        g_assert_cmpstr(ap, ==, "1\n");
}

static void test_single_device(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:01:00.0 class=0x020000 driver=e1000 group=3");
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", NULL), ==, 0);

        g_assert_cmpint(v.p->group->id, ==, 3);
        g_assert_cmpstr(v.p->driver, ==, "vfio-pci");
        g_assert_cmpuint(v.p->n_steps, ==, 5);
        assert_step(v.p, 0, "load", "0000:01:00.0", "vfio-pci");
        assert_step(v.p, 1, "fence", "0000:01:00.0", "driver_override=vfio-pci");
        assert_step(v.p, 2, "unbind", "0000:01:00.0", "e1000");
        assert_step(v.p, 3, "probe", "0000:01:00.0", "vfio-pci");
        assert_step(v.p, 4, "open", "0000:01:00.0", "/dev/vfio/3");
        assert_strv(v.p->warnings,
                    (const char *const[]){
                        "host driver e1000 loses 0000:01:00.0 until it is released", NULL});
        assert_strv(v.p->blockers, (const char *const[]){NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_OK);
        g_assert_false(v.p->takes_console);
        assert_untouched(&v, "0000:01:00.0");
        env_done(&v);
}

static void test_group_with_bridge_and_peer(void)
{
        assign_options o = {.owner_uid = 107};
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:00:1c.0 class=0x060400 driver=pcieport group=5");
        fixture_pci(v.f, "0000:01:00.0 parent=0000:00:1c.0 class=0x020000 driver=e1000e group=5");
        fixture_pci(v.f, "0000:01:00.1 parent=0000:00:1c.0 class=0x040300 group=5");
        g_assert_cmpint(plan_for(&v, "pci:0000:01:00.0", &o), ==, 0);

        g_assert_cmpuint(v.p->n_steps, ==, 9);
        assert_step(v.p, 0, "load", "0000:01:00.0", "vfio-pci");
        assert_step(v.p, 1, "fence", "0000:01:00.0", "driver_override=vfio-pci");
        assert_step(v.p, 2, "fence", "0000:01:00.1", "driver_override=vfio-pci");
        assert_step(v.p, 3, "unbind", "0000:01:00.0", "e1000e");
        assert_step(v.p, 4, "probe", "0000:01:00.0", "vfio-pci");
        assert_step(v.p, 5, "probe", "0000:01:00.1", "vfio-pci");
        assert_step(v.p, 6, "keep", "0000:00:1c.0", "pcieport bridge stays");
        assert_step(v.p, 7, "open", "0000:01:00.0", "/dev/vfio/5");
        assert_step(v.p, 8, "chown", "0000:01:00.0", "/dev/vfio/5 to uid 107");
        assert_strv(v.p->warnings, (const char *const[]){
                                       "host driver e1000e loses 0000:01:00.0 until it is released",
                                       "0000:01:00.1 (audio function) moves with the group", NULL});
        assert_strv(v.p->blockers, (const char *const[]){NULL});
        env_done(&v);
}

static void test_bridge_target(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:00:1c.0 class=0x060400 driver=pcieport group=5");
        fixture_pci(v.f, "0000:01:00.0 parent=0000:00:1c.0 class=0x020000 group=5");
        g_assert_cmpint(plan_for(&v, "0000:00:1c.0", NULL), ==, 0);
        assert_strv(v.p->blockers,
                    (const char *const[]){
                        "0000:00:1c.0 is a PCI bridge; assign the devices behind it", NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_NOT_ASSIGNABLE);
        g_assert_null(v.p->group);
        g_assert_cmpuint(v.p->n_steps, ==, 0);
        env_done(&v);
}

static void test_stay_bridge_not_viable(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:00:1e.0 class=0x060401 driver=shpchp group=6");
        fixture_pci(v.f, "0000:02:00.0 parent=0000:00:1e.0 class=0x020000 group=6");
        g_assert_cmpint(plan_for(&v, "0000:02:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers,
                    (const char *const[]){"0000:00:1e.0 stays in the group bound to shpchp, which "
                                          "uses DMA; the group cannot be made viable",
                                          NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_GROUP_NOT_VIABLE);
        env_done(&v);
}

static void test_denied(void)
{
        env v;

        env_init(&v);
        g_assert_cmpint(strv_extend(&v.config.deny_devices, "pci:0000:01:00.1"), ==, 0);
        g_assert_cmpint(strv_extend(&v.config.deny_ids, "8086:10D3"), ==, 0);
        fixture_pci(v.f, "0000:01:00.0 vendor=0x1234 class=0x020000 group=3");
        fixture_pci(v.f, "0000:01:00.1 class=0x040300 group=3");
        fixture_pci(v.f, "0000:02:00.0 vendor=0x8086 device=0x10d3 class=0x020000 group=4");

        /* A denied peer blocks the whole group. */
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers,
                    (const char *const[]){
                        "0000:01:00.1 is denied by the configuration (pci:0000:01:00.1)", NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_NOT_ASSIGNABLE);

        g_assert_cmpint(plan_for(&v, "0000:02:00.0", NULL), ==, 0);
        assert_strv(
            v.p->blockers,
            (const char *const[]){"0000:02:00.0 is denied by the configuration (8086:10D3)", NULL});
        env_done(&v);
}

/* A network interface that is up under the device; holders.c reads its flags. */
static void net_interface(fixture *f, const char *dev, const char *ifname, const char *flags)
{
        g_autofree char *dir = g_strdup_printf("sys/%s/net/%s", fixture_syspath(f, dev), ifname);
        g_autofree char *uevent = g_strconcat(dir, "/uevent", NULL);
        g_autofree char *fl = g_strconcat(dir, "/flags", NULL);
        g_autofree char *sub = g_strconcat(dir, "/subsystem", NULL);
        g_autofree char *cls = g_strdup_printf("sys/class/net/%s", ifname);
        GString *up = g_string_new(NULL);

        fixture_write(f, uevent, "");
        fixture_write(f, fl, flags);
        for (const char *c = sub; *c; c++)
                if (*c == '/')
                        g_string_append(up, "../");
        g_string_append(up, "sys/class/net");
        fixture_symlink(f, sub, up->str);
        g_string_free(up, TRUE);
        g_autofree char *target = g_strdup_printf("../../../%s", dir);
        fixture_symlink(f, cls, target);
}

static void test_holders_and_order(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:01:00.0 vendor=0x8086 device=0x100e class=0x020000 driver=e1000 "
                         "group=3");
        net_interface(v.f, "0000:01:00.0", "enp1s0", "0x1003\n");
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers,
                    (const char *const[]){"0000:01:00.0: network interface enp1s0 is up", NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_BUSY);

        /* What can never work is reported before what is merely in use now. */
        g_assert_cmpint(strv_extend(&v.config.deny_ids, "8086:100e"), ==, 0);
        engine_free(v.e);
        v.e = NULL;
        vk_root_unref(v.root);
        sd_event_unref(v.event);
        env_engine(&v);
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers,
                    (const char *const[]){"0000:01:00.0 is denied by the configuration (8086:100e)",
                                          "0000:01:00.0: network interface enp1s0 is up", NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_NOT_ASSIGNABLE);
        env_done(&v);
}

static void test_sriov_pf(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:03:00.0 class=0x020000 driver=igb totalvfs=7 numvfs=2 group=8");
        g_assert_cmpint(plan_for(&v, "0000:03:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers,
                    (const char *const[]){"0000:03:00.0 has 2 SR-IOV virtual functions enabled; "
                                          "set sriov_numvfs to 0 first",
                                          NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_NOT_ASSIGNABLE);
        env_done(&v);
}

#define STD_VGA_BAR0 "0xfd000000-0xfdffffff:0x42208"

static void console_fixture(env *v)
{
        fixture_pci(v->f, "0000:00:01.0 vendor=0x1234 device=0x1111 class=0x030000 boot_vga=1 "
                          "group=2 resource=" STD_VGA_BAR0);
        fixture_platform(v->f, "vesa-framebuffer.0 driver=vesa-framebuffer");
        fixture_write(v->f, "sys/devices/platform/vesa-framebuffer.0/graphics/fb0/name",
                      "VESA VGA\n");
        fixture_write(v->f, "sys/devices/platform/vesa-framebuffer.0/graphics/fb0/dev", "29:0\n");
        fixture_symlink(v->f, "sys/devices/platform/vesa-framebuffer.0/graphics/fb0/device",
                        "../..");
        fixture_symlink(v->f, "sys/class/graphics/fb0",
                        "../../devices/platform/vesa-framebuffer.0/graphics/fb0");
        fixture_write(v->f, "sys/devices/virtual/vtconsole/vtcon0/name", "(S) dummy device\n");
        fixture_write(v->f, "sys/devices/virtual/vtconsole/vtcon0/bind", "0\n");
        fixture_symlink(v->f, "sys/class/vtconsole/vtcon0",
                        "../../devices/virtual/vtconsole/vtcon0");
        fixture_write(v->f, "sys/devices/virtual/vtconsole/vtcon1/name",
                      "(S) frame buffer device\n");
        fixture_write(v->f, "sys/devices/virtual/vtconsole/vtcon1/bind", "1\n");
        fixture_symlink(v->f, "sys/class/vtconsole/vtcon1",
                        "../../devices/virtual/vtconsole/vtcon1");
        fixture_write(v->f, "proc/iomem",
                      "c0000000-febfffff : PCI Bus 0000:00\n"
                      "  fd000000-fdffffff : 0000:00:01.0\n"
                      "    fd000000-fd17ffff : vesafb\n");
        fixture_write(v->f, "proc/sys/kernel/osrelease", "6.1.0-56-amd64\n");
}

static void test_console_refused(void)
{
        env v;

        env_init(&v);
        console_fixture(&v);
        g_assert_cmpint(plan_for(&v, "0000:00:01.0", NULL), ==, 0);
        g_assert_true(v.p->takes_console);
        assert_strv(v.p->blockers,
                    (const char *const[]){"0000:00:01.0 drives the host console; assigning it "
                                          "removes vesa-framebuffer.0, fb0, vtcon1 (pass "
                                          "console=takeover to take it)",
                                          NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_CONSOLE_IN_USE);
        assert_step(v.p, 3, "console", "0000:00:01.0", "removes vesa-framebuffer.0, fb0, vtcon1");
        env_done(&v);
}

static void test_console_takeover(void)
{
        assign_options o = {.owner_uid = UID_INVALID, .console = CONSOLE_TAKEOVER};
        env v;

        env_init(&v);
        console_fixture(&v);
        g_assert_cmpint(plan_for(&v, "0000:00:01.0", &o), ==, 0);
        g_assert_true(v.p->takes_console);
        assert_strv(v.p->blockers, (const char *const[]){NULL});
        assert_strv(v.p->warnings,
                    (const char *const[]){
                        "the host console goes away (vesa-framebuffer.0, fb0, vtcon1); it comes "
                        "back on release only if a native driver of 0000:00:01.0 provides one",
                        NULL});
        env_done(&v);
}

static void test_busy(void)
{
        lease_info lease = {.owner_uid_caller = 0, .node_uid = UID_INVALID};
        vk_device_id id = {.bus = VK_BUS_PCI, .name = "0000:01:00.0"};
        record *r = NULL;
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:01:00.0 class=0x020000 driver=vfio-pci override=vfio-pci group=3");
        env_engine(&v);
        g_assert_cmpint(record_new(3, VK_BUS_PCI, &lease, "vfio-pci", &r), ==, 0);
        g_assert_cmpint(record_add_member(r, &id, false, "e1000", NULL), ==, 0);
        r->state = RECORD_COMMITTED;
        g_assert_cmpint(engine_add_record(v.e, r), ==, 0);

        g_assert_true(engine_group_busy(v.e, 3));
        g_assert_false(engine_group_busy(v.e, 4));
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers, (const char *const[]){"group 3 is assigned", NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_BUSY);
        g_assert_true(engine_find_assignment(v.e, &id) == &r->a);

        /* A release that did not finish still holds the group. */
        r->state = RECORD_RELEASING;
        r->returning = true;
        g_assert_true(engine_find_assignment(v.e, &id) == &r->a);
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers,
                    (const char *const[]){"group 3 has an unfinished rollback or release", NULL});
        env_done(&v);
}

static void test_no_group(void)
{
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:05:00.0 class=0x020000");
        g_assert_cmpint(plan_for(&v, "0000:05:00.0", NULL), ==, 0);
        assert_strv(v.p->blockers, (const char *const[]){"0000:05:00.0 has no IOMMU group", NULL});
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_NOT_ASSIGNABLE);
        env_done(&v);

        /* Without any IOMMU, the kernel is what lacks. */
        env_init(&v);
        fixture_unlink(v.f, "sys/class/iommu");
        fixture_pci(v.f, "0000:05:00.0 class=0x020000");
        g_assert_cmpint(plan_for(&v, "0000:05:00.0", NULL), ==, 0);
        g_assert_cmpint(v.p->blocker_error, ==, ENGINE_UNSUPPORTED);
        g_assert_cmpuint(strv_length(v.p->blockers), ==, 1);
        g_assert_true(g_str_has_prefix(v.p->blockers[0], "no IOMMU is active"));
        env_done(&v);
}

static void test_bad_driver(void)
{
        assign_options o = {.owner_uid = UID_INVALID};
        env v;

        env_init(&v);
        fixture_pci(v.f, "0000:01:00.0 class=0x020000 driver=e1000 group=3");

        o.driver = (char *)"e1000";
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", &o), ==, -EINVAL);
        g_assert_null(v.p);
        g_assert_cmpint(v.failure.error, ==, ENGINE_INVALID_ARGUMENT);
        g_assert_cmpstr(v.failure.message, ==, "driver \"e1000\" is not a VFIO driver");

        o.driver = (char *)"vfio-platform";
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", &o), ==, -EINVAL);
        g_assert_cmpstr(v.failure.message, ==, "vfio-platform cannot drive pci devices");

        o.driver = (char *)"mlx5-vfio-pci";
        g_assert_cmpint(plan_for(&v, "0000:01:00.0", &o), ==, -EINVAL);
        g_assert_cmpstr(v.failure.message, ==,
                        "driver mlx5-vfio-pci is not allowed by the configuration "
                        "(AllowedDrivers)");
        env_done(&v);
}

static void test_no_such_device(void)
{
        env v;

        env_init(&v);
        g_assert_cmpint(plan_for(&v, "0000:0a:00.0", NULL), ==, -ENODEV);
        g_assert_null(v.p);
        g_assert_cmpint(v.failure.error, ==, ENGINE_NO_SUCH_DEVICE);
        g_assert_cmpstr(v.failure.device, ==, "0000:0a:00.0");
        env_done(&v);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/plan/single-device", test_single_device);
        g_test_add_func("/plan/group-with-bridge-and-peer", test_group_with_bridge_and_peer);
        g_test_add_func("/plan/bridge-target", test_bridge_target);
        g_test_add_func("/plan/stay-bridge-not-viable", test_stay_bridge_not_viable);
        g_test_add_func("/plan/denied", test_denied);
        g_test_add_func("/plan/holders-and-order", test_holders_and_order);
        g_test_add_func("/plan/sriov-pf", test_sriov_pf);
        g_test_add_func("/plan/console-refused", test_console_refused);
        g_test_add_func("/plan/console-takeover", test_console_takeover);
        g_test_add_func("/plan/busy", test_busy);
        g_test_add_func("/plan/no-group", test_no_group);
        g_test_add_func("/plan/bad-driver", test_bad_driver);
        g_test_add_func("/plan/no-such-device", test_no_such_device);
        return g_test_run();
}
