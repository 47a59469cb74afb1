/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What binding a VFIO driver to a display device takes from the host. The kernel's part lives in
 * vfio_pci_vga_init -> aperture_remove_conflicting_pci_devices (VGA class 0x0300 only):
 *   - sysfb_disable() unregisters the firmware framebuffer device sysfb created: before 6.11
 *     when the device is the primary (boot) VGA device; from 6.11 (b49420d6a1ae, with the 6.12
 *     fix ad604f0a4c04) when the device is that framebuffer's parent, or for any VGA device when
 *     the framebuffer has no parent;
 *   - every firmware framebuffer whose aperture overlaps one of the device's memory BARs is
 *     unregistered (only a bound fbdev/DRM driver registers an aperture);
 *   - for the primary device, vgacon is replaced by the dummy console.
 * Separately, moving any display device unbinds its host driver, which takes the driver's own
 * fbdev emulation (fbN whose device is the GPU) with it. fbcon shows the consoles on the first
 * registered fbN (the boot device's, with FRAMEBUFFER_CONSOLE_DETECT_PRIMARY): when that one goes,
 * fbcon unbinds (fbcon_fb_unbind moves consoles only to an fbN another console already shows on),
 * even though another GPU's fbN may remain. Nothing here comes back on its own: sysfb_disable() is
 * one-way.
 *
 * When a fact is unknown (no /proc/iomem, zeroed addresses for unprivileged readers, unknown
 * kernel version) the answer errs towards "it goes": refusing a harmless assignment costs the user
 * one `console=takeover`; a wrong "it stays" costs them their console. vfiod runs as root, so
 * real addresses are the normal case.
 */

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "aperture.h"
#include "holders.h"
#include "macros.h"
#include "sysfs.h"

#define IOMEM_MAX_BYTES   (4u * 1024 * 1024)
#define IOMEM_MAX_ENTRIES 65536
#define VTCON_MAX         64
#define PCI_CLASS_VGA     0x0300 /* class_code >> 8 */
#define PCI_STD_NUM_BARS  6      /* the kernel checks BARs 0-5, never the ROM */

/* ---- /proc/iomem ---- */

static bool parse_hex_u64(const char *s, const char **end, uint64_t *ret)
{
        uint64_t v = 0;
        const char *p = s;

        /* strtoull would accept signs and blanks; iomem has bare hex digits only. */
        for (; isxdigit((unsigned char)*p); p++) {
                if (p - s >= 16)
                        return false;
                int digit =
                    isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
                v = v << 4 | (uint64_t)digit;
        }
        if (p == s)
                return false;
        *end = p;
        *ret = v;
        return true;
}

/* One line: "<2*depth spaces><start>-<end> : <name>". */
static bool parse_iomem_line(const char *line, size_t len, vk_iomem_range *ret)
{
        const char *p = line, *e = line + len;
        size_t spaces = 0;

        while (p < e && *p == ' ') {
                p++;
                spaces++;
        }

        /* Work on a bounded copy so the number parser never reads past the line. */
        char buf[128];
        size_t rest = (size_t)(e - p);
        if (rest >= sizeof(buf))
                rest = sizeof(buf) - 1;
        memcpy(buf, p, rest);
        buf[rest] = 0;

        uint64_t start, end;
        const char *q;
        if (!parse_hex_u64(buf, &q, &start) || *q != '-')
                return false;
        if (!parse_hex_u64(q + 1, &q, &end) || strncmp(q, " : ", 3) != 0)
                return false;
        if (end < start)
                return false;

        /* The name is taken from the original line: the bounded copy may have cut it short. */
        const char *name = p + (q + 3 - buf);
        size_t name_len = (size_t)(e - name);
        if (name_len == 0)
                return false;
        if (name_len >= sizeof(ret->name))
                name_len = sizeof(ret->name) - 1;

        *ret = (vk_iomem_range){.start = start, .end = end, .depth = (int)(spaces / 2)};
        memcpy(ret->name, name, name_len);
        ret->name[name_len] = 0;
        return true;
}

int vk_parse_iomem(const char *text, vk_iomem_range **ret, size_t *ret_n)
{
        _cleanup_(freep) vk_iomem_range *l = NULL;
        size_t n = 0, allocated = 0;

        if (!text || !ret || !ret_n)
                return -EINVAL;

        /* Malformed lines are skipped: the format is the kernel's and fixed; a line we cannot
         * read says nothing about the ones around it. */
        for (const char *p = text; *p && n < IOMEM_MAX_ENTRIES;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                vk_iomem_range r;

                if (parse_iomem_line(p, len, &r)) {
                        if (n == allocated) {
                                size_t na = allocated ? allocated * 2 : 32;
                                vk_iomem_range *nl_ = realloc(l, na * sizeof(*l));
                                if (!nl_)
                                        return -ENOMEM;
                                l = nl_;
                                allocated = na;
                        }
                        l[n++] = r;
                }
                p += len;
                if (*p == '\n')
                        p++;
        }

        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

/* What /proc/iomem tells us, if anything. */
typedef struct iomem_view {
        vk_iomem_range *ranges;
        size_t n;
        bool zeroed; /* unprivileged reader: structure and names only */
} iomem_view;

static void iomem_view_done(iomem_view *v)
{
        free(v->ranges);
        *v = (iomem_view){};
}

/* -ENOENT/-EACCES and friends leave the view empty (unknown); only -ENOMEM is an error. */
static int iomem_view_load(vk_root *root, iomem_view *ret)
{
        _cleanup_(freep) char *text = NULL;
        int r;

        *ret = (iomem_view){};
        if (root->proc_fd < 0)
                return 0;
        r = vk_proc_read(root, "iomem", IOMEM_MAX_BYTES, &text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        r = vk_parse_iomem(text, &ret->ranges, &ret->n);
        if (r < 0)
                return r;

        ret->zeroed = true;
        for (size_t i = 0; i < ret->n; i++)
                if (ret->ranges[i].start != 0 || ret->ranges[i].end != 0)
                        ret->zeroed = false;
        return 0;
}

/* ---- firmware framebuffers ---- */

/* The platform devices sysfb registers (drivers/firmware/sysfb.c), with the iomem names their
 * drivers request or their resources carry. vga/ega framebuffers live in the legacy VGA window,
 * which is never a BAR. */
static const struct fb_kind {
        const char *prefix;
        const char *resources[4];
        bool legacy_window;
} fb_kinds[] = {
    {"efi-framebuffer", {"efifb"}, false},
    {"vesa-framebuffer", {"vesafb"}, false},
    {"simple-framebuffer", {"simplefb", "simpledrm", "BOOTFB"}, false},
    {"platform-framebuffer", {}, false},
    {"vga-framebuffer", {}, true},
    {"ega-framebuffer", {}, true},
};

/* "<prefix>.<id>" with a decimal id, as platform_device_alloc(name, id) names them. */
static const struct fb_kind *fb_kind_of(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(fb_kinds); i++) {
                size_t l = strlen(fb_kinds[i].prefix);
                if (strncmp(name, fb_kinds[i].prefix, l) != 0 || name[l] != '.' || !name[l + 1])
                        continue;
                if (strspn(name + l + 1, "0123456789") == strlen(name + l + 1))
                        return &fb_kinds[i];
        }
        return NULL;
}

int vk_aperture_firmware_fbs(vk_root *root, char ***ret)
{
        _cleanup_(strv_freep) char **names = NULL, **l = NULL;
        int r;

        if (!root || !ret)
                return -EINVAL;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        r = vk_sysfs_list(root->sysfs_fd, "bus/platform/devices", &names);
        if (r < 0 && r != -ENOENT)
                return r;
        for (char **n = names; n && *n; n++) {
                if (!fb_kind_of(*n))
                        continue;
                r = strv_extend(&l, *n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

typedef enum tristate { NO, YES, UNKNOWN } tristate;

typedef enum sysfb_rule {
        SYSFB_RULE_PRIMARY, /* < 6.11: sysfb_disable() when the device is the primary VGA */
        SYSFB_RULE_PARENT,  /* >= 6.11: sysfb_disable(dev) when dev is the parent, or no parent */
        SYSFB_RULE_UNKNOWN, /* either */
} sysfb_rule;

static sysfb_rule sysfb_rule_of(vk_root *root)
{
        _cleanup_(freep) char *release = NULL;
        unsigned major, minor;

        if (root->proc_fd < 0 || vk_sysfs_read(root->proc_fd, "sys/kernel/osrelease", &release) < 0)
                return SYSFB_RULE_UNKNOWN;
        if (sscanf(release, "%u.%u", &major, &minor) != 2)
                return SYSFB_RULE_UNKNOWN;
        return major > 6 || (major == 6 && minor >= 11) ? SYSFB_RULE_PARENT : SYSFB_RULE_PRIMARY;
}

/* "DDDD:BB:DD.F": how iomem names a PCI device's BAR. */
static bool is_pci_name(const char *s)
{
        static const char shape[] = "xxxx:xx:xx.x";
        if (strlen(s) != sizeof(shape) - 1)
                return false;
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != shape[i])
                        return false;
        return true;
}

static bool iomem_entry_is_fb(const vk_iomem_range *e, const char *fb, const struct fb_kind *kind)
{
        if (streq(e->name, fb))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(kind->resources) && kind->resources[i]; i++)
                if (streq(e->name, kind->resources[i]))
                        return true;
        return false;
}

/* The nearest enclosing entry that names a PCI device, or NULL. */
static const vk_iomem_range *iomem_owner(const iomem_view *v, size_t i)
{
        int depth = v->ranges[i].depth;
        for (size_t j = i; j-- > 0 && depth > 0;) {
                if (v->ranges[j].depth >= depth)
                        continue;
                depth = v->ranges[j].depth;
                if (is_pci_name(v->ranges[j].name))
                        return &v->ranges[j];
        }
        return NULL;
}

static bool range_hits_bars(const vk_iomem_range *e, const vk_device *gpu)
{
        for (size_t b = 0; b < gpu->n_bars && b < ELEMENTSOF(gpu->bars); b++) {
                const vk_bar *bar = &gpu->bars[b];
                if (bar->index >= PCI_STD_NUM_BARS || bar->end < bar->start ||
                    (bar->start == 0 && bar->end == 0))
                        continue;
                if (e->start <= bar->end && bar->start <= e->end)
                        return true;
        }
        return false;
}

/* Does the framebuffer's memory overlap one of gpu's memory BARs? */
static tristate fb_overlaps(const iomem_view *v, const char *fb, const struct fb_kind *kind,
                            const vk_device *gpu)
{
        tristate answer = NO;
        bool seen = false;

        if (kind->legacy_window)
                return NO;

        for (size_t i = 0; i < v->n; i++) {
                const vk_iomem_range *e = &v->ranges[i];
                if (!iomem_entry_is_fb(e, fb, kind))
                        continue;
                seen = true;
                if (!v->zeroed) {
                        if (range_hits_bars(e, gpu))
                                return YES;
                        continue;
                }
                /* Without addresses the tree still shows whose BAR holds the framebuffer. */
                const vk_iomem_range *owner = iomem_owner(v, i);
                if (owner && streq(owner->name, gpu->id.name))
                        return YES;
                if (!owner)
                        answer = UNKNOWN;
        }
        return seen ? answer : UNKNOWN;
}

typedef enum fb_parent { FB_PARENT_NONE, FB_PARENT_GPU, FB_PARENT_OTHER } fb_parent;

static fb_parent fb_parent_of(const char *fb_syspath, const vk_device *gpu)
{
        const char *slash = strrchr(fb_syspath, '/');
        size_t len = slash ? (size_t)(slash - fb_syspath) : 0;

        if (len == strlen("devices/platform") && strncmp(fb_syspath, "devices/platform", len) == 0)
                return FB_PARENT_NONE;
        if (gpu->syspath && len == strlen(gpu->syspath) &&
            strncmp(fb_syspath, gpu->syspath, len) == 0)
                return FB_PARENT_GPU;
        return FB_PARENT_OTHER;
}

typedef struct fb_state {
        char *name;
        char *syspath; /* resolved, relative to the sysfs root */
        bool goes;
} fb_state;

static void fb_states_free(fb_state *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].name);
                free(l[i].syspath);
        }
        free(l);
}

/* Decides, for one firmware framebuffer, whether gpu's aperture code unregisters it. */
static int fb_decide(vk_root *root, const vk_device *gpu, const iomem_view *iomem, sysfb_rule rule,
                     fb_state *fb)
{
        const struct fb_kind *kind = fb_kind_of(fb->name);
        _cleanup_(freep) char *driver = NULL;
        char path[PATH_MAX];
        int r;

        fb_parent parent = fb_parent_of(fb->syspath, gpu);
        bool primary = gpu->boot_vga == 1;

        if ((rule != SYSFB_RULE_PARENT && primary) ||
            (rule != SYSFB_RULE_PRIMARY && parent != FB_PARENT_OTHER)) {
                fb->goes = true;
                return 0;
        }

        /* Only a bound fbdev/DRM driver registers the aperture that the overlap check detaches. */
        snprintf(path, sizeof(path), "bus/platform/devices/%s/driver", fb->name);
        r = vk_sysfs_read_link_name(root->sysfs_fd, path, &driver);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        fb->goes = fb_overlaps(iomem, fb->name, kind, gpu) != NO;
        return 0;
}

static int fb_states_load(vk_root *root, fb_state **ret, size_t *ret_n)
{
        _cleanup_(strv_freep) char **names = NULL;
        fb_state *l;
        size_t n;
        int r;

        r = vk_aperture_firmware_fbs(root, &names);
        if (r < 0)
                return r;
        n = strv_length(names);
        l = calloc(n + 1, sizeof(*l));
        if (!l)
                return -ENOMEM;

        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                char path[PATH_MAX];
                char *syspath = NULL;

                snprintf(path, sizeof(path), "bus/platform/devices/%s", names[i]);
                r = vk_sysfs_resolve_link(root->sysfs_fd, path, &syspath);
                if (r == -ENOENT)
                        continue; /* unregistered since we listed it */
                if (r < 0) {
                        fb_states_free(l, k);
                        return r;
                }
                l[k].syspath = syspath;
                l[k].name = strdup(names[i]);
                if (!l[k++].name) {
                        fb_states_free(l, k);
                        return -ENOMEM;
                }
        }
        *ret = l;
        *ret_n = k;
        return 0;
}

/* ---- fbN and vtconsoles ---- */

/* fbN that go: those whose device is a departing firmware framebuffer, or the GPU itself (its
 * host driver's fbdev emulation leaves with the driver). *ret_console_fb_goes says whether the
 * lowest-numbered fbN with a device, the one fbcon shows the consoles on, is among them. */
static int fbdevs_collect(vk_root *root, const vk_device *gpu, const fb_state *fbs, size_t n_fbs,
                          char ***fbdevs, bool *ret_console_fb_goes)
{
        _cleanup_(strv_freep) char **names = NULL;
        long lowest = -1;
        bool lowest_goes = false;
        int r;

        r = vk_sysfs_list(root->sysfs_fd, "class/graphics", &names);
        if (r < 0 && r != -ENOENT)
                return r;

        for (char **n = names; n && *n; n++) {
                _cleanup_(freep) char *target = NULL;
                char path[PATH_MAX];

                if (strncmp(*n, "fb", 2) != 0 || !(*n)[2] ||
                    strspn(*n + 2, "0123456789") != strlen(*n + 2))
                        continue;
                snprintf(path, sizeof(path), "class/graphics/%s/device", *n);
                r = vk_sysfs_resolve_link(root->sysfs_fd, path, &target);
                if (r == -ENOENT)
                        continue; /* fbcon, or unregistered meanwhile */
                if (r < 0)
                        return r;

                bool goes = streq_ptr(target, gpu->syspath);
                for (size_t i = 0; i < n_fbs && !goes; i++)
                        goes = fbs[i].goes && streq(target, fbs[i].syspath);
                if (goes) {
                        r = strv_extend(fbdevs, *n);
                        if (r < 0)
                                return r;
                }

                long number = strtol(*n + 2, NULL, 10);
                if (lowest < 0 || number < lowest) {
                        lowest = number;
                        lowest_goes = goes;
                }
        }
        *ret_console_fb_goes = lowest_goes;
        return 0;
}

/* Console descriptions as class/vtconsole/<id>/name shows them: "(M) frame buffer device". */
static bool vtcon_is(const char *name, const char *what)
{
        return name && strstr(name, what);
}

static bool vtcon_is_vgacon(const char *name)
{
        /* vgacon describes itself by the adapter it found: VGA+, EGA+, EGA, CGA, MDA-2, HGC. */
        static const char *const descs[] = {"VGA+", "EGA", "CGA", "MDA", "HGC"};
        if (!name || strlen(name) < 4 || name[0] != '(' || name[2] != ')' || name[3] != ' ')
                return false;
        for (size_t i = 0; i < ELEMENTSOF(descs); i++)
                if (strncmp(name + 4, descs[i], strlen(descs[i])) == 0)
                        return true;
        return false;
}

static int vtcon_number(const char *id)
{
        if (strncmp(id, "vtcon", 5) != 0 || !id[5] || strlen(id + 5) > 4 ||
            strspn(id + 5, "0123456789") != strlen(id + 5))
                return -EINVAL;
        return atoi(id + 5);
}

void vk_vtcon_list_free(vk_vtcon *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].id);
                free(l[i].name);
        }
        free(l);
}

static int vtcon_cmp(const void *a, const void *b)
{
        return vtcon_number(((const vk_vtcon *)a)->id) - vtcon_number(((const vk_vtcon *)b)->id);
}

int vk_vtcon_list(vk_root *root, vk_vtcon **ret, size_t *ret_n)
{
        _cleanup_(strv_freep) char **ids = NULL;
        vk_vtcon *l = NULL;
        size_t n = 0;
        int r;

        if (!root || !ret || !ret_n)
                return -EINVAL;

        /* No class/vtconsole: a kernel without CONFIG_VT has no consoles to lose. */
        r = vk_sysfs_list(root->sysfs_fd, "class/vtconsole", &ids);
        if (r < 0 && r != -ENOENT)
                return r;

        l = calloc(VTCON_MAX, sizeof(*l));
        if (!l)
                return -ENOMEM;

        for (char **id = ids; id && *id && n < VTCON_MAX; id++) {
                _cleanup_(freep) char *name = NULL, *bind = NULL;
                char path[PATH_MAX];
                int bound;

                if (vtcon_number(*id) < 0)
                        continue;
                snprintf(path, sizeof(path), "class/vtconsole/%s/name", *id);
                r = vk_sysfs_read(root->sysfs_fd, path, &name);
                if (r >= 0) {
                        snprintf(path, sizeof(path), "class/vtconsole/%s/bind", *id);
                        r = vk_sysfs_read(root->sysfs_fd, path, &bind);
                }
                if (r >= 0)
                        r = vk_parse_bool(bind, &bound);
                if (r == -ENOENT)
                        continue; /* unregistered meanwhile */
                if (r >= 0) {
                        l[n].id = strdup(*id);
                        r = l[n].id ? 0 : -ENOMEM;
                }
                if (r < 0) {
                        vk_vtcon_list_free(l, n + 1);
                        return r;
                }
                l[n].name = TAKE_PTR(name);
                l[n].bound = bound;
                n++;
        }

        /* vtcon10 after vtcon2: the kernel's order, not the alphabet's. */
        qsort(l, n, sizeof(*l), vtcon_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
}

int vk_vtcon_bind(vk_root *root, const char *id, bool bind)
{
        char path[PATH_MAX];

        if (!root || !id || vtcon_number(id) < 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "class/vtconsole/%s/bind", id);
        return vk_sysfs_write(root->sysfs_fd, path, bind ? "1" : "0");
}

int vk_vtcon_bind_all(vk_root *root)
{
        vk_vtcon *l = NULL;
        size_t n = 0;
        int r, first_error = 0, bound = 0;

        r = vk_vtcon_list(root, &l, &n);
        if (r < 0)
                return r;

        /* Keep going past a failure: every console we can give back is worth having. */
        for (size_t i = 0; i < n; i++) {
                if (l[i].bound || vtcon_is(l[i].name, "dummy device"))
                        continue;
                r = vk_vtcon_bind(root, l[i].id, true);
                if (r < 0) {
                        if (first_error == 0)
                                first_error = r;
                        continue;
                }
                bound++;
        }
        vk_vtcon_list_free(l, n);
        return first_error < 0 ? first_error : bound;
}

/* ---- the check ---- */

vk_aperture *vk_aperture_free(vk_aperture *a)
{
        if (!a)
                return NULL;
        strv_free(a->firmware_fbs);
        strv_free(a->fbdevs);
        strv_free(a->vtconsoles);
        free(a);
        return NULL;
}

static int vtconsoles_collect(vk_root *root, bool fbcon_goes, bool vgacon_goes, char ***out)
{
        vk_vtcon *l = NULL;
        size_t n = 0;
        int r;

        if (!fbcon_goes && !vgacon_goes)
                return 0;
        r = vk_vtcon_list(root, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (!l[i].bound)
                        continue;
                if ((fbcon_goes && vtcon_is(l[i].name, "frame buffer device")) ||
                    (vgacon_goes && vtcon_is_vgacon(l[i].name)))
                        r = strv_extend(out, l[i].id);
        }
        vk_vtcon_list_free(l, n);
        return r < 0 ? r : 0;
}

int vk_aperture_check(vk_root *root, const vk_device *gpu, vk_aperture **ret)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL;
        fb_state *fbs = NULL;
        size_t n_fbs = 0;
        bool console_fb_goes = false;
        iomem_view iomem = {};
        int r;

        if (!root || !gpu || !ret)
                return -EINVAL;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->firmware_fbs = calloc(1, sizeof(char *));
        a->fbdevs = calloc(1, sizeof(char *));
        a->vtconsoles = calloc(1, sizeof(char *));
        if (!a->firmware_fbs || !a->fbdevs || !a->vtconsoles)
                return -ENOMEM;

        a->vga_class = gpu->id.bus == VK_BUS_PCI && (gpu->class_code >> 8) == PCI_CLASS_VGA;
        a->boot_vga = a->vga_class && gpu->boot_vga == 1;

        r = fb_states_load(root, &fbs, &n_fbs);
        if (r < 0)
                return r;

        if (a->vga_class && n_fbs > 0) {
                sysfb_rule rule = sysfb_rule_of(root);
                r = iomem_view_load(root, &iomem);
                for (size_t i = 0; i < n_fbs && r >= 0; i++) {
                        r = fb_decide(root, gpu, &iomem, rule, &fbs[i]);
                        if (r >= 0 && fbs[i].goes)
                                r = strv_extend(&a->firmware_fbs, fbs[i].name);
                }
                iomem_view_done(&iomem);
        }
        if (r >= 0)
                r = fbdevs_collect(root, gpu, fbs, n_fbs, &a->fbdevs, &console_fb_goes);
        fb_states_free(fbs, n_fbs);
        if (r < 0)
                return r;

        /* The fbcon consoles go with the fbN they are shown on, whatever other fbN remain. */
        r = vtconsoles_collect(root, console_fb_goes, a->boot_vga, &a->vtconsoles);
        if (r < 0)
                return r;

        a->removes_console = strv_length(a->vtconsoles) > 0;
        *ret = TAKE_PTR(a);
        return 0;
}
