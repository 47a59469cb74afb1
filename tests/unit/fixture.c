/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fixture trees shaped like Debian's 6.1 kernel (amd64, QEMU q35 guests; see KERNEL.md).
 *
 * Where the shapes come from:
 *  - /sys/devices/pci0000:00/<bdf>[/<bdf>...]: PCI devices nest under the root bus and under
 *    their upstream bridge (drivers/pci/probe.c names them "%04x:%02x:%02x.%d").
 *  - Attributes vendor/device/subsystem_* print "0x%04x\n", class "0x%06x\n", driver_override
 *    "%s\n" or "(null)\n", resource 13 lines "0x%016llx 0x%016llx 0x%016llx\n" (17 for bridges),
 *    modalias "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n" (drivers/pci/pci-sysfs.c).
 *  - Every symlink is relative, exactly as sysfs_create_link makes them: bus/pci/devices/<bdf>
 *    -> ../../../devices/..., <dev>/driver -> ../../../bus/pci/drivers/<drv> (one "../" per level
 *    of the device directory below sys/), <dev>/subsystem -> .../bus/pci, <dev>/iommu_group ->
 *    .../kernel/iommu_groups/<n>, kernel/iommu_groups/<n>/devices/<bdf> -> ../../../../devices/...
 *  - Buses carry drivers_autoprobe ("1\n") and drivers_probe; drivers carry bind, unbind, uevent
 *    (drivers/base/bus.c). Platform devices live in /sys/devices/platform/<name>.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

struct fixture {
        char *prefix;
        GHashTable *syspaths; /* kernel name -> syspath relative to sys/ */
};

static char *fixture_path(const fixture *f, const char *path)
{
        return g_build_filename(f->prefix, path, NULL);
}

fixture *fixture_new(void)
{
        static const char *const dirs[] = {
            "sys/bus/pci/devices",
            "sys/bus/pci/drivers",
            "sys/bus/platform/devices",
            "sys/bus/platform/drivers",
            "sys/bus/amba/devices",
            "sys/bus/amba/drivers",
            "sys/devices/pci0000:00",
            "sys/devices/platform",
            "sys/kernel/iommu_groups",
            "sys/class",
            "dev/vfio",
            "proc",
            "run",
        };
        g_autoptr(GError) error = NULL;
        fixture *f = g_new0(fixture, 1);

        f->prefix = g_dir_make_tmp("vfiod-fixture.XXXXXX", &error);
        g_assert_no_error(error);
        f->syspaths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++)
                fixture_mkdir(f, dirs[i]);
        /* drivers/base/bus.c: bus attributes; autoprobe is on after boot. */
        const char *buses[] = {"pci", "platform", "amba"};
        for (size_t i = 0; i < G_N_ELEMENTS(buses); i++) {
                g_autofree char *autoprobe =
                    g_strdup_printf("sys/bus/%s/drivers_autoprobe", buses[i]);
                g_autofree char *probe = g_strdup_printf("sys/bus/%s/drivers_probe", buses[i]);
                fixture_write(f, autoprobe, "1\n");
                fixture_write(f, probe, "");
        }
        return f;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        return remove(path) < 0 ? -errno : 0;
}

void fixture_free(fixture *f)
{
        if (!f)
                return;
        g_assert_no_errno(nftw(f->prefix, remove_entry, 16, FTW_DEPTH | FTW_PHYS));
        g_hash_table_unref(f->syspaths);
        g_free(f->prefix);
        g_free(f);
}

const char *fixture_prefix(const fixture *f)
{
        return f->prefix;
}

void fixture_mkdir(fixture *f, const char *path)
{
        g_autofree char *p = fixture_path(f, path);
        g_assert_no_errno(g_mkdir_with_parents(p, 0755));
}

/* Creates parent directories as needed, so a test can write "sys/class/vtconsole/vtcon0/bind". */
void fixture_write(fixture *f, const char *path, const char *content)
{
        g_autofree char *p = fixture_path(f, path);
        g_autofree char *dir = g_path_get_dirname(p);
        g_autoptr(GError) error = NULL;

        g_assert_no_errno(g_mkdir_with_parents(dir, 0755));
        g_file_set_contents(p, content, -1, &error);
        g_assert_no_error(error);
}

void fixture_symlink(fixture *f, const char *path, const char *target)
{
        g_autofree char *p = fixture_path(f, path);
        g_autofree char *dir = g_path_get_dirname(p);

        g_assert_no_errno(g_mkdir_with_parents(dir, 0755));
        g_assert_no_errno(symlink(target, p));
}

/* Removes a file, a symlink or a whole directory (a device vanishing). */
void fixture_unlink(fixture *f, const char *path)
{
        g_autofree char *p = fixture_path(f, path);
        struct stat st;

        g_assert_no_errno(lstat(p, &st));
        if (S_ISDIR(st.st_mode))
                g_assert_no_errno(nftw(p, remove_entry, 16, FTW_DEPTH | FTW_PHYS));
        else
                g_assert_no_errno(unlink(p));
}

const char *fixture_syspath(const fixture *f, const char *name)
{
        const char *s = g_hash_table_lookup(f->syspaths, name);
        g_assert_nonnull(s);
        return s;
}

/* "../" once per component of a path below sys/: the way back to sys/ from inside it. */
static char *up_to_sys(const char *dir_below_sys)
{
        GString *s = g_string_new(NULL);
        for (const char *c = dir_below_sys; *c; c++)
                if (*c == '/')
                        g_string_append(s, "../");
        g_string_append(s, "../");
        return g_string_free(s, FALSE);
}

/* A symlink at sys/<at> pointing at sys/<target>, relative like the kernel makes it. */
static void sys_link(fixture *f, const char *at, const char *target)
{
        g_autofree char *at_dir = g_path_get_dirname(at);
        g_autofree char *up = up_to_sys(at_dir);
        g_autofree char *rel = g_strconcat(up, target, NULL);
        g_autofree char *path = g_strconcat("sys/", at, NULL);
        fixture_symlink(f, path, rel);
}

static void sys_write(fixture *f, const char *syspath, const char *attr, const char *content)
{
        g_autofree char *path = g_strdup_printf("sys/%s/%s", syspath, attr);
        fixture_write(f, path, content);
}

void fixture_driver(fixture *f, const char *bus, const char *name)
{
        g_autofree char *dir = g_strdup_printf("sys/bus/%s/drivers/%s", bus, name);
        g_autofree char *bind = g_strconcat(dir, "/bind", NULL);
        g_autofree char *unbind = g_strconcat(dir, "/unbind", NULL);
        g_autofree char *uevent = g_strconcat(dir, "/uevent", NULL);
        g_autofree char *p = fixture_path(f, dir);

        if (g_file_test(p, G_FILE_TEST_IS_DIR))
                return;
        fixture_write(f, bind, "");
        fixture_write(f, unbind, "");
        fixture_write(f, uevent, "");
        if (g_str_equal(bus, "pci")) {
                /* drivers/pci/pci-driver.c: dynamic ids. */
                g_autofree char *new_id = g_strconcat(dir, "/new_id", NULL);
                g_autofree char *remove_id = g_strconcat(dir, "/remove_id", NULL);
                fixture_write(f, new_id, "");
                fixture_write(f, remove_id, "");
        }
}

/* Parsed "key=value" pairs of a spec; the first word is the device name. */
typedef struct spec {
        char **words;
        const char *name;
} spec;

static void spec_parse(spec *s, const char *text)
{
        s->words = g_strsplit_set(text, " \t\n", -1);
        s->name = NULL;
        for (char **w = s->words; *w; w++)
                if (**w) {
                        s->name = *w;
                        break;
                }
        g_assert_nonnull(s->name);
}

static const char *spec_get(const spec *s, const char *key)
{
        size_t n = strlen(key);
        for (char **w = s->words; *w; w++)
                if (strncmp(*w, key, n) == 0 && (*w)[n] == '=')
                        return *w + n + 1;
        return NULL;
}

static unsigned spec_hex(const spec *s, const char *key, unsigned def)
{
        const char *v = spec_get(s, key);
        if (!v)
                return def;
        char *end;
        unsigned long x = strtoul(v, &end, 16);
        g_assert_true(*v && !*end);
        return (unsigned)x;
}

/* Links and attributes every bus shares: subsystem, driver, override, group, bus listing. */
static void add_common(fixture *f, const spec *s, const char *bus, const char *syspath)
{
        g_autofree char *subsystem_at = g_strconcat(syspath, "/subsystem", NULL);
        g_autofree char *subsystem = g_strconcat("bus/", bus, NULL);
        g_autofree char *listing = g_strdup_printf("bus/%s/devices/%s", bus, s->name);
        const char *driver = spec_get(s, "driver");
        const char *override = spec_get(s, "override");
        const char *group = spec_get(s, "group");

        g_assert_false(g_hash_table_contains(f->syspaths, s->name));
        g_hash_table_insert(f->syspaths, g_strdup(s->name), g_strdup(syspath));

        sys_link(f, subsystem_at, subsystem);
        sys_link(f, listing, syspath);

        g_autofree char *ov = g_strconcat(override ? override : "(null)", "\n", NULL);
        sys_write(f, syspath, "driver_override", ov);

        if (driver) {
                g_autofree char *drvdir = g_strdup_printf("bus/%s/drivers/%s", bus, driver);
                g_autofree char *at = g_strconcat(syspath, "/driver", NULL);
                g_autofree char *back = g_strdup_printf("%s/%s", drvdir, s->name);

                fixture_driver(f, bus, driver);
                sys_link(f, at, drvdir);
                sys_link(f, back, syspath);
        }
        if (group) {
                g_autofree char *gdir = g_strdup_printf("kernel/iommu_groups/%s", group);
                g_autofree char *at = g_strconcat(syspath, "/iommu_group", NULL);
                g_autofree char *member = g_strdup_printf("%s/devices/%s", gdir, s->name);
                /* drivers/iommu/iommu.c: the group's "type" attribute. */
                g_autofree char *type = g_strdup_printf("sys/%s/type", gdir);

                sys_link(f, at, gdir);
                sys_link(f, member, syspath);
                fixture_write(f, type, "DMA\n");
        }
}

/* One line of a PCI "resource" file: "start-end:flags", or "0" for an unused slot. */
static void append_resource(GString *out, const char *r)
{
        unsigned long long start = 0, end = 0, flags = 0;
        if (!g_str_equal(r, "0")) {
                int n = sscanf(r, "%llx-%llx:%llx", &start, &end, &flags);
                g_assert_cmpint(n, ==, 3);
        }
        g_string_append_printf(out, "0x%016llx 0x%016llx 0x%016llx\n", start, end, flags);
}

static char *pci_resource_file(const spec *s, bool bridge)
{
        /* 6 BARs + ROM + 6 SR-IOV BARs; bridges add their 4 windows. */
        unsigned lines = bridge ? 17 : 13, n = 0;
        GString *out = g_string_new(NULL);

        for (char **w = s->words; *w; w++)
                if (g_str_has_prefix(*w, "resource=")) {
                        g_assert_cmpuint(n, <, lines);
                        append_resource(out, *w + strlen("resource="));
                        n++;
                }
        for (; n < lines; n++)
                append_resource(out, "0");
        return g_string_free(out, FALSE);
}

void fixture_pci(fixture *f, const char *text)
{
        spec s;
        spec_parse(&s, text);

        const char *parent = spec_get(&s, "parent");
        g_autofree char *syspath = NULL;
        if (parent && !g_str_has_prefix(parent, "pci"))
                syspath = g_strdup_printf("%s/%s", fixture_syspath(f, parent), s.name);
        else
                syspath = g_strdup_printf("devices/%s/%s", parent ? parent : "pci0000:00", s.name);

        unsigned vendor = spec_hex(&s, "vendor", 0x1234), device = spec_hex(&s, "device", 0x11e8);
        unsigned class = spec_hex(&s, "class", 0x00ff00);
        /* QEMU's default subsystem ids (Red Hat, QEMU). */
        unsigned svendor = spec_hex(&s, "subsystem_vendor", 0x1af4);
        unsigned sdevice = spec_hex(&s, "subsystem_device", 0x1100);
        bool bridge = (class >> 8) == 0x0604;
        char buf[128];

        g_snprintf(buf, sizeof buf, "0x%04x\n", vendor);
        sys_write(f, syspath, "vendor", buf);
        g_snprintf(buf, sizeof buf, "0x%04x\n", device);
        sys_write(f, syspath, "device", buf);
        g_snprintf(buf, sizeof buf, "0x%06x\n", class);
        sys_write(f, syspath, "class", buf);
        g_snprintf(buf, sizeof buf, "0x%04x\n", svendor);
        sys_write(f, syspath, "subsystem_vendor", buf);
        g_snprintf(buf, sizeof buf, "0x%04x\n", sdevice);
        sys_write(f, syspath, "subsystem_device", buf);
        g_snprintf(buf, sizeof buf, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n", vendor, device,
                   svendor, sdevice, class >> 16, (class >> 8) & 0xff, class & 0xff);
        sys_write(f, syspath, "modalias", buf);
        sys_write(f, syspath, "enable", "1\n");

        g_autofree char *resource = pci_resource_file(&s, bridge);
        sys_write(f, syspath, "resource", resource);

        const char *boot_vga = spec_get(&s, "boot_vga");
        if (boot_vga) {
                g_autofree char *v = g_strconcat(boot_vga, "\n", NULL);
                sys_write(f, syspath, "boot_vga", v);
        }
        const char *totalvfs = spec_get(&s, "totalvfs"), *numvfs = spec_get(&s, "numvfs");
        if (totalvfs || numvfs) {
                g_autofree char *t = g_strconcat(totalvfs ? totalvfs : "0", "\n", NULL);
                g_autofree char *n = g_strconcat(numvfs ? numvfs : "0", "\n", NULL);
                sys_write(f, syspath, "sriov_totalvfs", t);
                sys_write(f, syspath, "sriov_numvfs", n);
                sys_write(f, syspath, "sriov_drivers_autoprobe", "1\n");
        }
        const char *physfn = spec_get(&s, "physfn");
        if (physfn) {
                /* drivers/pci/iov.c: VF -> "physfn", PF -> "virtfnN" (N = order of creation). */
                const char *pf = fixture_syspath(f, physfn);
                g_autofree char *at = g_strconcat(syspath, "/physfn", NULL);
                unsigned vf = 0;
                for (;; vf++) {
                        g_autofree char *p =
                            g_strdup_printf("%s/sys/%s/virtfn%u", f->prefix, pf, vf);
                        if (!g_file_test(p, G_FILE_TEST_EXISTS))
                                break;
                }
                g_autofree char *back = g_strdup_printf("%s/virtfn%u", pf, vf);
                sys_link(f, at, pf);
                sys_link(f, back, syspath);
        }

        add_common(f, &s, "pci", syspath);
        g_strfreev(s.words);
}

/* "efi-framebuffer.0" -> "platform:efi-framebuffer" (drivers/base/platform.c strips the id). */
static char *platform_modalias(const char *name)
{
        const char *dot = strrchr(name, '.');
        size_t n = strlen(name);
        if (dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1))
                n = (size_t)(dot - name);
        return g_strdup_printf("platform:%.*s\n", (int)n, name);
}

static char *nonpci_syspath(fixture *f, const spec *s)
{
        const char *parent = spec_get(s, "parent");
        if (!parent)
                return g_strdup_printf("devices/platform/%s", s->name);
        if (g_hash_table_contains(f->syspaths, parent))
                return g_strdup_printf("%s/%s", fixture_syspath(f, parent), s->name);
        return g_strdup_printf("devices/platform/%s/%s", parent, s->name);
}

void fixture_platform(fixture *f, const char *text)
{
        spec s;
        spec_parse(&s, text);
        g_autofree char *syspath = nonpci_syspath(f, &s);
        g_autofree char *modalias = platform_modalias(s.name);

        sys_write(f, syspath, "modalias", modalias);
        add_common(f, &s, "platform", syspath);
        g_strfreev(s.words);
}

void fixture_amba(fixture *f, const char *text)
{
        spec s;
        spec_parse(&s, text);
        g_autofree char *syspath = nonpci_syspath(f, &s);

        /* drivers/amba/bus.c: "id" is the peripheral id, "%08x\n" (a PL011 by default). */
        unsigned id = spec_hex(&s, "id", 0x00041011);
        char buf[32];
        g_snprintf(buf, sizeof buf, "%08x\n", id);
        sys_write(f, syspath, "id", buf);
        g_snprintf(buf, sizeof buf, "amba:d%08X\n", id);
        sys_write(f, syspath, "modalias", buf);
        add_common(f, &s, "amba", syspath);
        g_strfreev(s.words);
}

bool fixture_fd_readable(int fd, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);

        g_assert_cmpint(r, >=, 0);
        return r > 0 && (p.revents & POLLIN);
}
