/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOMMU groups: members, roles and viability, on the group shapes QEMU's q35 produces. */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "fixture-root.h"
#include "group.h"
#include "macros.h"

typedef fixture_root ctx;

static const vk_member *member(const vk_group *g, const char *name)
{
        vk_device_id id;
        g_assert_cmpint(vk_parse_device_name(name, strlen(name), &id), ==, 0);
        return vk_group_find(g, &id);
}

/* A plain pcie-root-port puts the endpoint alone in its group. */
static void test_single_endpoint(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL;
        const vk_member *blocker = NULL;

        fixture_pci(c->f, "0000:00:1c.0 class=0x060400 driver=pcieport group=6");
        fixture_pci(c->f, "0000:01:00.0 parent=0000:00:1c.0 class=0x020000 driver=e1000e group=7");
        g_assert_cmpint(vk_group_load(c->root, 7, &g), ==, 0);
        g_assert_cmpint(g->id, ==, 7);
        g_assert_cmpuint(g->n_members, ==, 1);
        g_assert_cmpstr(g->members[0].dev->id.name, ==, "0000:01:00.0");
        g_assert_cmpint(g->members[0].role, ==, VK_MEMBER_MOVE);
        g_assert_cmpstr(g->members[0].dev->driver, ==, "e1000e");
        /* e1000e does DMA through the kernel: VFIO would refuse the group. */
        g_assert_false(vk_group_viable(g, &blocker));
        g_assert_true(blocker == &g->members[0]);
        g_assert_null(member(g, "0000:00:1c.0"));
}

/* root port with disable-acs=on: the port shares the endpoint's group, viable on pcieport. */
static void test_bridge_on_pcieport(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL, *after = NULL;
        const vk_member *blocker = NULL;

        fixture_pci(c->f, "0000:00:1c.0 class=0x060400 driver=pcieport group=3");
        fixture_pci(c->f, "0000:01:00.0 parent=0000:00:1c.0 class=0x020000 driver=e1000e group=3");
        g_assert_cmpint(vk_group_load(c->root, 3, &g), ==, 0);
        g_assert_cmpuint(g->n_members, ==, 2);
        /* Sorted by name. */
        g_assert_cmpstr(g->members[0].dev->id.name, ==, "0000:00:1c.0");
        g_assert_cmpstr(g->members[1].dev->id.name, ==, "0000:01:00.0");
        g_assert_cmpint(member(g, "0000:00:1c.0")->role, ==, VK_MEMBER_STAY);
        g_assert_cmpint(member(g, "0000:01:00.0")->role, ==, VK_MEMBER_MOVE);
        g_assert_false(vk_group_viable(g, &blocker));
        g_assert_true(blocker == member(g, "0000:01:00.0"));

        /* After the endpoint moved to vfio-pci, the kernel accepts the group. */
        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver");
        fixture_unlink(c->f, "sys/bus/pci/drivers/e1000e/0000:01:00.0");
        fixture_driver(c->f, "pci", "vfio-pci");
        fixture_symlink(c->f, "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver",
                        "../../../../bus/pci/drivers/vfio-pci");
        blocker = NULL;
        g_assert_cmpint(vk_group_load(c->root, 3, &after), ==, 0);
        g_assert_cmpstr(member(after, "0000:01:00.0")->dev->driver, ==, "vfio-pci");
        g_assert_true(vk_group_viable(after, &blocker));
        g_assert_null(blocker);
        g_assert_true(vk_group_viable(after, NULL));
}

/* pcie-pci-bridge: one group with the bridge and everything behind it. The bridge has no
 * driver (pcieport binds PCIe ports only); endpoints without drivers are viable as they are. */
static void test_pci_bridge_group(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL;

        fixture_pci(c->f, "0000:00:03.0 class=0x060400 group=2");
        fixture_pci(c->f, "0000:01:01.0 parent=0000:00:03.0 vendor=0x1234 device=0x11e8 group=2");
        fixture_pci(c->f, "0000:01:02.0 parent=0000:00:03.0 vendor=0x1b36 device=0x0005 group=2 "
                          "override=vfio-pci");
        g_assert_cmpint(vk_group_load(c->root, 2, &g), ==, 0);
        g_assert_cmpuint(g->n_members, ==, 3);
        g_assert_cmpint(member(g, "0000:00:03.0")->role, ==, VK_MEMBER_STAY);
        g_assert_true(member(g, "0000:00:03.0")->dev->is_bridge);
        g_assert_cmpint(member(g, "0000:01:01.0")->role, ==, VK_MEMBER_MOVE);
        g_assert_cmpint(member(g, "0000:01:02.0")->role, ==, VK_MEMBER_MOVE);
        g_assert_cmpstr(member(g, "0000:01:02.0")->dev->driver_override, ==, "vfio-pci");
        g_assert_true(vk_group_viable(g, NULL));
}

/* A bridge on a driver that is not DMA-safe stays (vfio-pci cannot take it) and blocks. */
static void test_bridge_on_other_driver(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL;
        const vk_member *blocker = NULL;

        fixture_pci(c->f, "0000:00:03.0 class=0x060400 driver=shpchp group=2");
        fixture_pci(c->f, "0000:01:01.0 parent=0000:00:03.0 group=2 driver=vfio-pci");
        g_assert_cmpint(vk_group_load(c->root, 2, &g), ==, 0);
        g_assert_cmpint(member(g, "0000:00:03.0")->role, ==, VK_MEMBER_STAY);
        g_assert_false(vk_group_viable(g, &blocker));
        g_assert_true(blocker == member(g, "0000:00:03.0"));
}

/* ICH9 00:1f.{0,2,3} share one group; the LPC bridge is an ISA bridge with a type 0 header,
 * so it is an endpoint that must move like the others. */
static void test_ich9(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL;
        const vk_member *blocker = NULL;

        fixture_pci(c->f, "0000:00:1f.3 vendor=0x8086 device=0x2930 class=0x0c0500 "
                          "driver=i801_smbus group=9");
        fixture_pci(c->f, "0000:00:1f.0 vendor=0x8086 device=0x2918 class=0x060100 "
                          "driver=lpc_ich group=9");
        fixture_pci(c->f, "0000:00:1f.2 vendor=0x8086 device=0x2922 class=0x010601 driver=ahci "
                          "group=9");
        g_assert_cmpint(vk_group_load(c->root, 9, &g), ==, 0);
        g_assert_cmpuint(g->n_members, ==, 3);
        for (size_t i = 0; i < g->n_members; i++)
                g_assert_cmpint(g->members[i].role, ==, VK_MEMBER_MOVE);
        g_assert_cmpstr(g->members[0].dev->id.name, ==, "0000:00:1f.0");
        g_assert_cmpstr(g->members[2].dev->id.name, ==, "0000:00:1f.3");
        g_assert_false(vk_group_viable(g, &blocker));
        g_assert_cmpstr(blocker->dev->id.name, ==, "0000:00:1f.0");
}

static void test_platform_group(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL;
        vk_device_id id = {.bus = VK_BUS_PLATFORM, .name = "fff51000.ethernet"};

        fixture_platform(c->f, "fff51000.ethernet driver=vfio-platform group=5");
        g_assert_cmpint(vk_group_load(c->root, 5, &g), ==, 0);
        g_assert_cmpuint(g->n_members, ==, 1);
        g_assert_nonnull(vk_group_find(g, &id));
        id.bus = VK_BUS_AMBA;
        g_assert_null(vk_group_find(g, &id));
        g_assert_cmpint(g->members[0].role, ==, VK_MEMBER_MOVE);
        g_assert_true(vk_group_viable(g, NULL));
}

static void test_errors(ctx *c, gconstpointer data)
{
        vk_group *g = (vk_group *)0x1;

        fixture_pci(c->f, "0000:00:04.0 group=1");
        g_assert_cmpint(vk_group_load(c->root, 42, &g), ==, -ENOENT);
        g_assert_cmpint(vk_group_load(c->root, -1, &g), ==, -EINVAL);
        g_assert_cmpint(vk_group_load(NULL, 1, &g), ==, -EINVAL);

        /* A member that vanished: its group link dangles. */
        fixture_pci(c->f, "0000:00:05.0 group=1");
        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:00:05.0");
        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:05.0");
        g_assert_cmpint(vk_group_load(c->root, 1, &g), ==, -ENODEV);
        g_assert_true(g == (vk_group *)0x1);
}

static void test_member_leaving_tree(ctx *c, gconstpointer data)
{
        vk_group *g = (vk_group *)0x1;

        fixture_pci(c->f, "0000:00:04.0 group=1");
        fixture_symlink(c->f, "sys/kernel/iommu_groups/1/devices/0000:00:05.0",
                        "../../../../../dev");
        g_assert_cmpint(vk_group_load(c->root, 1, &g), ==, -EXDEV);
        g_assert_true(g == (vk_group *)0x1);
}

static void test_member_unsupported_bus(ctx *c, gconstpointer data)
{
        vk_group *g = (vk_group *)0x1;

        /* An fsl-mc container in a group (arm64): not a bus vfiod moves. */
        fixture_mkdir(c->f, "sys/bus/fsl-mc/devices");
        fixture_mkdir(c->f, "sys/devices/platform/soc/80c000000.fsl-mc/dprc.1");
        fixture_symlink(c->f, "sys/devices/platform/soc/80c000000.fsl-mc/dprc.1/subsystem",
                        "../../../../../bus/fsl-mc");
        fixture_symlink(c->f, "sys/kernel/iommu_groups/8/devices/dprc.1",
                        "../../../../devices/platform/soc/80c000000.fsl-mc/dprc.1");
        g_assert_cmpint(vk_group_load(c->root, 8, &g), ==, -EXDEV);
        g_assert_true(g == (vk_group *)0x1);
}

/* The listing and the member's own link disagree: it moved to another group meanwhile. */
static void test_member_moved(ctx *c, gconstpointer data)
{
        vk_group *g = (vk_group *)0x1;

        fixture_pci(c->f, "0000:00:04.0 group=1");
        fixture_symlink(c->f, "sys/kernel/iommu_groups/2/devices/0000:00:04.0",
                        "../../../../devices/pci0000:00/0000:00:04.0");
        g_assert_cmpint(vk_group_load(c->root, 2, &g), ==, -ENODEV);
        g_assert_true(g == (vk_group *)0x1);
}

/* The group links a directory the bus does not list under that name (the bus's link leads to
 * another device directory): the member is not the device the bus knows, so nothing is loaded. */
static void test_member_not_listed_by_bus(ctx *c, gconstpointer data)
{
        vk_group *g = (vk_group *)0x1;

        fixture_pci(c->f, "0000:00:04.0 group=1");
        fixture_pci(c->f, "0000:00:06.0 group=3");
        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:04.0");
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:04.0",
                        "../../../devices/pci0000:00/0000:00:06.0");
        g_assert_cmpint(vk_group_load(c->root, 1, &g), ==, -EXDEV);
        g_assert_true(g == (vk_group *)0x1);
}

/* The same group read twice: the second read starts from the members' kept facts (no link is
 * resolved again) and still sees what changed, a driver that left and a member added anew. */
static void test_member_met_before(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *first = NULL, *second = NULL, *third = NULL;
        g_autofree char *dir =
            g_build_filename(fixture_prefix(c->f), "sys/devices/pci0000:00/0000:00:04.0", NULL);
        g_autofree char *gone = g_strconcat(dir, ".gone", NULL);

        fixture_pci(c->f, "0000:00:04.0 vendor=0x1234 device=0x11e8 group=1");
        fixture_pci(c->f, "0000:00:05.0 vendor=0x8086 device=0x100e driver=e1000 group=1");
        g_assert_cmpint(vk_group_load(c->root, 1, &first), ==, 0);
        g_assert_cmpuint(first->n_members, ==, 2);
        g_assert_cmpstr(member(first, "0000:00:05.0")->dev->driver, ==, "e1000");

        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:00:05.0/driver");
        g_assert_cmpint(vk_group_load(c->root, 1, &second), ==, 0);
        g_assert_cmpuint(second->n_members, ==, 2);
        g_assert_null(member(second, "0000:00:05.0")->dev->driver);
        g_assert_true(vk_group_viable(second, NULL));

        /* Removed and added again: a new directory with other facts. */
        g_assert_no_errno(rename(dir, gone));
        fixture_write(c->f, "sys/devices/pci0000:00/0000:00:04.0/vendor", "0x1b36\n");
        fixture_write(c->f, "sys/devices/pci0000:00/0000:00:04.0/device", "0x0005\n");
        fixture_write(c->f, "sys/devices/pci0000:00/0000:00:04.0/class", "0x00ff00\n");
        fixture_write(c->f, "sys/devices/pci0000:00/0000:00:04.0/driver_override", "(null)\n");
        fixture_symlink(c->f, "sys/devices/pci0000:00/0000:00:04.0/subsystem", "../../../bus/pci");
        fixture_symlink(c->f, "sys/devices/pci0000:00/0000:00:04.0/iommu_group",
                        "../../../kernel/iommu_groups/1");
        g_assert_cmpint(vk_group_load(c->root, 1, &third), ==, 0);
        g_assert_cmphex(member(third, "0000:00:04.0")->dev->vendor, ==, 0x1b36);
        g_assert_cmpstr(member(third, "0000:00:04.0")->dev->syspath, ==,
                        "devices/pci0000:00/0000:00:04.0");
}

/* After a consistent first read the bus starts listing another directory under a member's
 * name: the second read refuses the group too. */
static void test_member_not_listed_after_load(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *first = NULL;
        vk_group *g = (vk_group *)0x1;

        fixture_pci(c->f, "0000:00:04.0 group=1");
        fixture_pci(c->f, "0000:00:06.0 group=3");
        g_assert_cmpint(vk_group_load(c->root, 1, &first), ==, 0);
        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:04.0");
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:04.0",
                        "../../../devices/pci0000:00/0000:00:06.0");
        /* The directory met before is no longer the one its bus lists: that instance counts as
         * gone (a first read, with nothing kept, says -EXDEV: the bus lists a stranger). */
        g_assert_cmpint(vk_group_load(c->root, 1, &g), ==, -ENODEV);
        g_assert_true(g == (vk_group *)0x1);
}

/* A member whose directory moved (same inode, new path) since the first read is read where it
 * is now. */
static void test_member_moved_after_load(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *first = NULL, *moved = NULL;
        const char *to = "sys/devices/pci0000:00/0000:00:01.0/0000:00:04.0";
        g_autofree char *p_dir =
            g_build_filename(fixture_prefix(c->f), "sys/devices/pci0000:00/0000:00:04.0", NULL);
        g_autofree char *p_to = g_build_filename(fixture_prefix(c->f), to, NULL);
        g_autofree char *sub = g_strconcat(to, "/subsystem", NULL);
        g_autofree char *grp = g_strconcat(to, "/iommu_group", NULL);

        fixture_pci(c->f, "0000:00:04.0 vendor=0x1234 device=0x11e8 group=1");
        g_assert_cmpint(vk_group_load(c->root, 1, &first), ==, 0);

        fixture_mkdir(c->f, "sys/devices/pci0000:00/0000:00:01.0");
        g_assert_no_errno(rename(p_dir, p_to));
        fixture_unlink(c->f, sub);
        fixture_symlink(c->f, sub, "../../../../bus/pci");
        fixture_unlink(c->f, grp);
        fixture_symlink(c->f, grp, "../../../../kernel/iommu_groups/1");
        fixture_unlink(c->f, "sys/bus/pci/devices/0000:00:04.0");
        fixture_symlink(c->f, "sys/bus/pci/devices/0000:00:04.0",
                        "../../../devices/pci0000:00/0000:00:01.0/0000:00:04.0");
        fixture_unlink(c->f, "sys/kernel/iommu_groups/1/devices/0000:00:04.0");
        fixture_symlink(c->f, "sys/kernel/iommu_groups/1/devices/0000:00:04.0",
                        "../../../../devices/pci0000:00/0000:00:01.0/0000:00:04.0");
        g_assert_cmpint(vk_group_load(c->root, 1, &moved), ==, 0);
        g_assert_cmpuint(moved->n_members, ==, 1);
        g_assert_cmpstr(moved->members[0].dev->syspath, ==, to + strlen("sys/"));
        g_assert_cmphex(moved->members[0].dev->vendor, ==, 0x1234);
}

/* A member the caller has just loaded is copied, not read again; the others are read, and a
 * caller's device that is not what the group's link leads to is ignored. */
static void test_load_with_loaded_member(ctx *c, gconstpointer data)
{
        _cleanup_(vk_group_freep) vk_group *g = NULL, *other = NULL, *again = NULL;
        _cleanup_(vk_device_freep) vk_device *d = NULL, *stranger = NULL;
        vk_device_id id, sid;

        fixture_pci(c->f, "0000:00:04.0 vendor=0x1234 device=0x11e8 driver=e1000 group=1");
        fixture_pci(c->f, "0000:00:05.0 vendor=0x8086 device=0x100e driver=e1000 group=1");
        fixture_pci(c->f, "0000:00:06.0 group=3");
        g_assert_cmpint(vk_parse_device_name("0000:00:04.0", 12, &id), ==, 0);
        g_assert_cmpint(vk_parse_device_name("0000:00:06.0", 12, &sid), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &id, &d), ==, 0);
        g_assert_cmpint(vk_device_load(c->root, &sid, &stranger), ==, 0);

        /* Both drivers leave after the caller's read: only the copied member still shows it. */
        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:00:04.0/driver");
        fixture_unlink(c->f, "sys/devices/pci0000:00/0000:00:05.0/driver");
        g_assert_cmpint(vk_group_load_with(c->root, 1, d, &g), ==, 0);
        g_assert_cmpuint(g->n_members, ==, 2);
        g_assert_cmpstr(member(g, "0000:00:04.0")->dev->driver, ==, "e1000");
        g_assert_null(member(g, "0000:00:05.0")->dev->driver);
        g_assert_true(member(g, "0000:00:04.0")->dev != d);
        g_assert_cmpstr(member(g, "0000:00:04.0")->dev->syspath, ==, d->syspath);
        g_assert_true(member(g, "0000:00:04.0")->dev->syspath != d->syspath);

        /* A device of another group is no help: everything is read. */
        g_assert_cmpint(vk_group_load_with(c->root, 1, stranger, &other), ==, 0);
        g_assert_null(member(other, "0000:00:04.0")->dev->driver);

        /* The group's link leads elsewhere now: the caller's copy is not taken for it. */
        fixture_unlink(c->f, "sys/kernel/iommu_groups/1/devices/0000:00:04.0");
        fixture_symlink(c->f, "sys/kernel/iommu_groups/1/devices/0000:00:04.0",
                        "../../../../devices/pci0000:00/0000:00:06.0");
        g_assert_cmpint(vk_group_load_with(c->root, 1, d, &again), <, 0);
}

static void test_driver_predicates(void)
{
        static const struct {
                const char *driver;
                bool vfio, dma_safe;
        } cases[] = {
            {"vfio-pci", true, true},
            {"vfio_pci", true, true},
            {"vfio-platform", true, true},
            {"vfio-amba", true, true},
            {"mlx5_vfio_pci", true, true},
            {"hisi-acc-vfio-pci", true, true},
            {"nvgrace_gpu_vfio_pci", true, true},
            {"vfio-pci-igd", true, true},
            {"pci-stub", false, true},
            {"pci_stub", false, true},
            {"pcieport", false, true},
            {NULL, false, true},
            {"vfio", false, false},
            {"vfio-pcix", false, false},
            {"-vfio-pci", false, false},
            {"vfio-pci-", false, false},
            {"e1000e", false, false},
            {"shpchp", false, false},
            {"ahci", false, false},
            {"", false, false},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_test_message("driver %zu: %s", i, cases[i].driver ? cases[i].driver : "(none)");
                g_assert_cmpint(vk_driver_is_vfio(cases[i].driver), ==, cases[i].vfio);
                g_assert_cmpint(vk_driver_is_dma_safe(cases[i].driver), ==, cases[i].dma_safe);
        }
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);

#define T(name, fn) g_test_add(name, ctx, NULL, fixture_root_setup, fn, fixture_root_teardown)
        T("/group/single-endpoint", test_single_endpoint);
        T("/group/bridge-on-pcieport", test_bridge_on_pcieport);
        T("/group/pci-bridge-group", test_pci_bridge_group);
        T("/group/bridge-on-other-driver", test_bridge_on_other_driver);
        T("/group/ich9", test_ich9);
        T("/group/platform", test_platform_group);
        T("/group/errors", test_errors);
        T("/group/member-leaving-tree", test_member_leaving_tree);
        T("/group/member-unsupported-bus", test_member_unsupported_bus);
        T("/group/member-moved", test_member_moved);
        T("/group/member-not-listed-by-bus", test_member_not_listed_by_bus);
        T("/group/member-met-before", test_member_met_before);
        T("/group/load-with-loaded-member", test_load_with_loaded_member);
        T("/group/member-not-listed-after-load", test_member_not_listed_after_load);
        T("/group/member-moved-after-load", test_member_moved_after_load);
        g_test_add_func("/group/driver-predicates", test_driver_predicates);
#undef T
        return g_test_run();
}
