/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "device.h"
#include "macros.h"
#include "sysfs.h"

/* include/linux/ioport.h */
#define IORESOURCE_MEM      0x00000200ULL
#define IORESOURCE_DISABLED 0x10000000ULL
#define IORESOURCE_UNSET    0x20000000ULL

static const char *const bus_names[_VK_BUS_MAX] = {
    [VK_BUS_PCI] = "pci",
    [VK_BUS_PLATFORM] = "platform",
    [VK_BUS_AMBA] = "amba",
};

static const char *const bus_vfio_drivers[_VK_BUS_MAX] = {
    [VK_BUS_PCI] = "vfio-pci",
    [VK_BUS_PLATFORM] = "vfio-platform",
    [VK_BUS_AMBA] = "vfio-amba",
};

const char *vk_bus_to_string(vk_bus bus)
{
        if (bus < 0 || bus >= _VK_BUS_MAX)
                return NULL;
        return bus_names[bus];
}

vk_bus vk_bus_from_string(const char *s)
{
        if (s)
                for (int i = 0; i < _VK_BUS_MAX; i++)
                        if (streq(s, bus_names[i]))
                                return (vk_bus)i;
        return _VK_BUS_INVALID;
}

const char *vk_bus_default_vfio_driver(vk_bus bus)
{
        if (bus < 0 || bus >= _VK_BUS_MAX)
                return NULL;
        return bus_vfio_drivers[bus];
}

/* ---- names ---- */

/* Counts hex digits at s (at most max), or 0 if there are more than max. */
static size_t hex_run(const char *s, size_t len, size_t max)
{
        size_t n = 0;
        while (n < len && unhexchar(s[n]) >= 0)
                n++;
        return n <= max ? n : 0;
}

/*
 * The kernel names PCI functions "%04x:%02x:%02x.%d" (drivers/pci/probe.c). Domains above
 * 0xffff exist (Intel VMD uses 0x10000 and up), so the domain has 4 to 8 digits. Writes the
 * name in the kernel's lower case to out (VK_NAME_MAX + 1 bytes).
 */
static bool pci_name_normalize(const char *s, size_t len, char *out)
{
        size_t d = hex_run(s, len, 8);
        if (d < 4 || len != d + 8)
                return false;
        const char *p = s + d; /* ":BB:DD.F" */
        if (p[0] != ':' || hex_run(p + 1, 2, 2) != 2 || p[3] != ':' || hex_run(p + 4, 2, 2) != 2 ||
            p[6] != '.' || p[7] < '0' || p[7] > '7')
                return false;
        /* Device numbers stop at 31. */
        if (unhexchar(p[4]) * 16 + unhexchar(p[5]) > 0x1f)
                return false;
        for (size_t i = 0; i < len; i++)
                out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
        out[len] = '\0';
        return true;
}

/* A kernel device name as a single directory entry: printable, no '/', no "..". */
static bool kernel_name_valid(const char *s, size_t len)
{
        if (len == 0 || len > VK_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
                        return false;
        if (memmem(s, len, "..", 2))
                return false;
        return !(len == 1 && s[0] == '.');
}

static bool id_valid(const vk_device_id *id)
{
        return id && id->bus >= 0 && id->bus < _VK_BUS_MAX &&
               kernel_name_valid(id->name, strnlen(id->name, sizeof(id->name)));
}

static bool has_prefix(const char *s, size_t len, const char *prefix, size_t *ret_skip)
{
        size_t n = strlen(prefix);
        if (len < n || memcmp(s, prefix, n) != 0)
                return false;
        *ret_skip = n;
        return true;
}

int vk_parse_device_name(const char *s, size_t len, vk_device_id *ret)
{
        vk_device_id id = {};
        size_t skip = 0;

        /* The longest accepted input is "platform:" plus a maximal name. */
        if (!s || !ret || len == 0 || len > VK_NAME_MAX + strlen("platform:"))
                return -EINVAL;
        if (memchr(s, '\0', len))
                return -EINVAL;

        if (has_prefix(s, len, "pci:", &skip)) {
                id.bus = VK_BUS_PCI;
        } else if (has_prefix(s, len, "platform:", &skip)) {
                id.bus = VK_BUS_PLATFORM;
        } else if (has_prefix(s, len, "amba:", &skip)) {
                id.bus = VK_BUS_AMBA;
        } else {
                /* Bare names are PCI only: "fff51000.ethernet" alone would be ambiguous. */
                id.bus = VK_BUS_PCI;
        }
        s += skip;
        len -= skip;

        if (id.bus == VK_BUS_PCI) {
                if (!pci_name_normalize(s, len, id.name))
                        return -EINVAL;
        } else {
                if (!kernel_name_valid(s, len))
                        return -EINVAL;
                memcpy(id.name, s, len);
                id.name[len] = '\0';
        }
        *ret = id;
        return 0;
}

int vk_device_bus_path(const vk_device_id *id, char *buf, size_t size)
{
        if (!id_valid(id) || !buf)
                return -EINVAL;
        int n = snprintf(buf, size, "bus/%s/devices/%s", bus_names[id->bus], id->name);
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* ---- resolution ---- */

/* Which supported bus the device directory at syspath belongs to, from its subsystem link. */
static int syspath_bus(vk_root *root, const char *syspath, vk_bus *ret)
{
        _cleanup_(freep) char *link = NULL, *subsystem = NULL;
        int r;

        if (asprintf(&link, "%s/subsystem", syspath) < 0)
                return -ENOMEM;
        r = vk_sysfs_resolve_link(root->sysfs_fd, link, &subsystem);
        if (r == -ENOENT)
                return -ENODEV; /* a directory that is no device (power/, a bus's root, ...) */
        if (r < 0)
                return r;
        if (strncmp(subsystem, "bus/", 4) != 0)
                return -EXDEV; /* a class device: net, block, drm, ... */
        vk_bus bus = vk_bus_from_string(subsystem + 4);
        if (bus < 0)
                return -EXDEV; /* usb, i2c, ...: not movable by vfiod */
        *ret = bus;
        return 0;
}

/* Follows rel inside the tree to a device directory under devices/ and names its bus. */
static int device_dir(vk_root *root, const char *rel, char **ret_syspath, vk_bus *ret_bus)
{
        _cleanup_(freep) char *syspath = NULL;
        struct stat st;
        int r;

        r = vk_sysfs_resolve_link(root->sysfs_fd, rel, &syspath);
        if (r == -ENOENT || r == -ENOTDIR)
                return -ENODEV;
        if (r == -EINVAL)
                return -EXDEV; /* the tree's root itself */
        if (r < 0)
                return r;
        if (strncmp(syspath, "devices/", 8) != 0)
                return -EXDEV;
        if (fstatat(root->sysfs_fd, syspath, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? -ENODEV : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENODEV;
        r = syspath_bus(root, syspath, ret_bus);
        if (r < 0)
                return r;
        *ret_syspath = TAKE_PTR(syspath);
        return 0;
}

/* The device's directory through the bus listing: canonical, inside devices/, on that bus. */
static int device_syspath(vk_root *root, const vk_device_id *id, char **ret)
{
        char path[sizeof("bus//devices/") + 16 + VK_NAME_MAX];
        _cleanup_(freep) char *syspath = NULL;
        vk_bus bus;
        int r;

        r = vk_device_bus_path(id, path, sizeof(path));
        if (r < 0)
                return r;
        r = device_dir(root, path, &syspath, &bus);
        if (r < 0)
                return r;
        if (bus != id->bus)
                return -EXDEV; /* the bus lists a directory that belongs to another bus */
        *ret = TAKE_PTR(syspath);
        return 0;
}

int vk_device_identify(vk_root *root, const char *syspath, vk_device_id *ret)
{
        vk_device_id id = {};
        const char *base;
        int r;

        if (!root || !syspath || !ret)
                return -EINVAL;
        if (strncmp(syspath, "devices/", 8) != 0)
                return -EXDEV;
        base = strrchr(syspath, '/') + 1;
        if (!kernel_name_valid(base, strlen(base)))
                return -EXDEV;
        r = syspath_bus(root, syspath, &id.bus);
        if (r < 0)
                return r;
        strcpy(id.name, base);
        *ret = id;
        return 0;
}

/* Checks an absolute path before anything is looked up; returns it relative to sys/. */
static int path_validate(const char *s, size_t len, const char **ret_rel)
{
        if (len >= PATH_MAX)
                return -EINVAL;
        if (len < 5 || memcmp(s, "/sys/", 5) != 0)
                return -EXDEV;
        const char *p = s + 5, *end = s + len;
        while (p < end) {
                const char *slash = memchr(p, '/', (size_t)(end - p));
                size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
                if (n == 0 || n > VK_NAME_MAX)
                        return -EINVAL;
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
                                return -EINVAL;
                p += n;
                if (slash && slash + 1 == end)
                        break; /* one trailing slash */
                if (slash)
                        p++;
        }
        *ret_rel = s + 5;
        return 0;
}

static int resolve_path(vk_root *root, const char *s, size_t len, vk_device_id *ret)
{
        _cleanup_(freep) char *rel = NULL, *syspath = NULL, *check = NULL;
        const char *below_sys, *base;
        vk_device_id id = {};
        int r;

        r = path_validate(s, len, &below_sys);
        if (r < 0)
                return r;
        rel = strndup(below_sys, len - (size_t)(below_sys - s));
        if (!rel)
                return -ENOMEM;

        r = device_dir(root, rel, &syspath, &id.bus);
        if (r < 0)
                return r;
        base = strrchr(syspath, '/') + 1;
        if (!kernel_name_valid(base, strlen(base)))
                return -EXDEV;
        strcpy(id.name, base);

        /* The bus must know this very directory under this name. */
        r = device_syspath(root, &id, &check);
        if (r < 0)
                return r == -ENODEV ? -EXDEV : r;
        if (!streq(check, syspath))
                return -EXDEV;

        *ret = id;
        return 0;
}

bool vk_device_known_at(vk_root *root, const vk_device_id *id, const char *link_path)
{
        const vk_fixed_facts *known;
        struct stat st;

        if (!root || !id || !link_path)
                return false;
        known = vk_root_find_facts_by_name(root, id->bus, id->name);
        if (!known || !known->syspath)
                return false;
        if (fstatat(root->sysfs_fd, link_path, &st, 0) < 0)
                return false;
        return S_ISDIR(st.st_mode) && st.st_dev == known->dev && st.st_ino == known->ino;
}

int vk_device_resolve(vk_root *root, const char *name, size_t len, vk_device_id *ret)
{
        char bus_path[sizeof("bus//devices/") + 16 + VK_NAME_MAX];
        _cleanup_(freep) char *syspath = NULL;
        vk_device_id id;
        int r;

        if (!root || !name || !ret || len == 0 || memchr(name, '\0', len))
                return -EINVAL;
        if (name[0] == '/')
                return resolve_path(root, name, len, ret);

        r = vk_parse_device_name(name, len, &id);
        if (r < 0)
                return r;
        /* A device met before answers with one stat of its bus link. */
        if (vk_device_bus_path(&id, bus_path, sizeof(bus_path)) >= 0 &&
            vk_device_known_at(root, &id, bus_path)) {
                *ret = id;
                return 0;
        }
        r = device_syspath(root, &id, &syspath);
        if (r < 0)
                return r;
        *ret = id;
        return 0;
}

/* ---- facts ---- */

/* One load: the device directory held open, so every read refers to the same instance. */
typedef struct loader {
        vk_root *root;
        const vk_device_id *id;
        const char *syspath;
        int fd;
} loader;

/* Still the same device? Its bus listing must lead to the directory we hold open. A device
 * removed and re-added under the same name is a new directory (new inode): that counts as gone.
 * The listing's link is followed by stat only: it is compared with the directory we validated
 * when the load began, so a link that leads anywhere else simply does not match. */
static bool loader_device_present(loader *l)
{
        char path[sizeof("bus//devices/") + 16 + VK_NAME_MAX];
        struct stat held, current;

        if (fstat(l->fd, &held) < 0 || held.st_nlink == 0)
                return false;
        if (vk_device_bus_path(l->id, path, sizeof(path)) < 0)
                return false;
        if (fstatat(l->root->sysfs_fd, path, &current, 0) < 0)
                return false;
        return held.st_dev == current.st_dev && held.st_ino == current.st_ino;
}

/*
 * Every attribute the loader reads is optional: -ENOENT reads as "this device has none". A device
 * that leaves while it is read also answers -ENOENT, so whether it is still there is asked once,
 * after the last read (vk_device_load), not after each missing attribute; asking each time made
 * a load of a device without SR-IOV or a driver cost five path walks more.
 */
static int load_string(loader *l, const char *attr, char **ret)
{
        return vk_sysfs_read(l->fd, attr, ret);
}

static int load_link_name(loader *l, const char *attr, char **ret)
{
        return vk_sysfs_read_link_name(l->fd, attr, ret);
}

static int load_optional_string(loader *l, const char *attr, char **ret)
{
        int r = load_string(l, attr, ret);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

/* Absent numbers read as 0 (ids) or -1 (counts, flags); present ones must parse. */
static int load_hex(loader *l, const char *attr, uint32_t *ret)
{
        _cleanup_(freep) char *s = NULL;
        int r = load_optional_string(l, attr, &s);
        if (r < 0)
                return r;
        if (!s)
                *ret = 0;
        return s ? vk_parse_hex_u32(s, ret) : 0;
}

static int load_int(loader *l, const char *attr, int *ret)
{
        _cleanup_(freep) char *s = NULL;
        int r = load_optional_string(l, attr, &s);
        if (r < 0)
                return r;
        if (!s)
                *ret = -1;
        return s ? vk_parse_int(s, ret) : 0;
}

static int load_optional_link(loader *l, const char *attr, char **ret)
{
        int r = load_link_name(l, attr, ret);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

/* "(null)" is how the kernel prints an unset override (drivers/base/driver.c users). */
static void override_normalize(char **s)
{
        if (*s && (streq(*s, "(null)") || !**s)) {
                free(*s);
                *s = NULL;
        }
}

/*
 * vfio-pci refuses every function whose config header is not type 0 (vfio_pci_probe checks
 * hdr_type). sysfs has no header-type attribute, so the class stands for it: PCI-to-PCI (0x0604),
 * semi-transparent PCI-to-PCI (0x0609) and CardBus (0x0607) bridges carry type 1/2 headers.
 * Host and ISA bridges (0x0600, 0x0601) have type 0 headers and are ordinary endpoints here.
 */
static bool pci_class_is_bridge(uint32_t class_code)
{
        uint32_t cls = class_code >> 8;
        return cls == 0x0604 || cls == 0x0607 || cls == 0x0609;
}

/*
 * Facts fixed for the life of a device directory, read once per directory instance and kept in
 * the root (vk_root_keep_facts): a load that finds them there saves six attribute reads of three
 * system calls each, for one fstat.
 *
 * Why fixed: vendor, device, class, subsystem ids and modalias print fields of struct pci_dev (or
 * the platform/ACPI/OF identity) set at enumeration, and they belong to the bus's dev_groups,
 * which bus_add_device creates before the bus listing and "subsystem" links that the load starts
 * from (drivers/base/bus.c), so no load can see the directory without them. Not here, though
 * they look fixed: sriov_totalvfs shows pci_sriov_get_totalvfs(), which the bound PF driver may
 * lower (pci_sriov_set_totalvfs) and pci_iov_remove resets on unbind; and a VF's "physfn" link is
 * made by pci_iov_sysfs_link only after pci_device_add announced the VF, so an absent link is
 * looked for again on every load and only a present one, which lasts as long as the VF, is kept.
 *
 * Why the inode tells instances apart: on sysfs (kernfs) each node gets a 64-bit id, the low
 * half from idr_alloc_cyclic and the high half incremented whenever the low half wraps
 * (__kernfs_new_node, fs/kernfs/dir.c), and with a 64-bit ino_t that id is the inode number
 * (kernfs_id_ino, include/linux/kernfs.h; since v5.5). A device removed and added again at the
 * same address is a new node, so it gets an inode number never used before during this boot.
 * Other filesystems (fixture trees) may hand a freed inode number out again: tests that replace a
 * device directory create the new one before the old one goes.
 */
static int load_fixed(loader *l, vk_device *d)
{
        int r;

        if ((r = load_optional_string(l, "modalias", &d->modalias)) < 0)
                return r;
        if (l->id->bus != VK_BUS_PCI)
                return 0;
        if ((r = load_hex(l, "vendor", &d->vendor)) < 0 ||
            (r = load_hex(l, "device", &d->device)) < 0 ||
            (r = load_hex(l, "class", &d->class_code)) < 0 ||
            (r = load_hex(l, "subsystem_vendor", &d->subsystem_vendor)) < 0 ||
            (r = load_hex(l, "subsystem_device", &d->subsystem_device)) < 0)
                return r;
        return 0;
}

static int fixed_from_cache(const vk_fixed_facts *f, vk_device *d)
{
        d->vendor = f->vendor;
        d->device = f->device;
        d->class_code = f->class_code;
        d->subsystem_vendor = f->subsystem_vendor;
        d->subsystem_device = f->subsystem_device;
        /* Copies: the device owns its strings (vk_device_free). */
        if (strdup_optional(f->modalias, &d->modalias) < 0 ||
            strdup_optional(f->physfn, &d->physfn) < 0)
                return -ENOMEM;
        return 0;
}

/* Keeps what a complete load read from the directory whose identity is st. */
static void fixed_keep(vk_root *root, const vk_device *d, const struct stat *st)
{
        vk_fixed_facts f = {
            .bus = d->id.bus,
            .name = (char *)d->id.name,
            .dev = st->st_dev,
            .ino = st->st_ino,
            .vendor = d->vendor,
            .device = d->device,
            .class_code = d->class_code,
            .subsystem_vendor = d->subsystem_vendor,
            .subsystem_device = d->subsystem_device,
            .modalias = d->modalias,
            .physfn = d->physfn,
            .syspath = d->syspath,
        };
        /* Out of memory, the next load just reads them again. */
        (void)vk_root_keep_facts(root, &f);
}

/* The PCI attributes that can change while the directory exists, read on every load. */
static int load_pci(loader *l, vk_device *d)
{
        _cleanup_(freep) char *resource = NULL;
        int r;

        /* sriov_numvfs_show takes the device lock on 6.1 (later kernels a lock of SR-IOV's
         * own), so it is not read while an unbind holds that lock: the count stays unknown. */
        if ((r = load_int(l, "boot_vga", &d->boot_vga)) < 0 ||
            (!d->unbinding && (r = load_int(l, "sriov_numvfs", &d->numvfs)) < 0) ||
            (r = load_int(l, "sriov_totalvfs", &d->totalvfs)) < 0)
                return r;
        if (!d->physfn && (r = load_optional_link(l, "physfn", &d->physfn)) < 0)
                return r;

        r = load_optional_string(l, "resource", &resource);
        if (r < 0)
                return r;
        if (resource) {
                r = vk_parse_resource(resource, d->bars, VK_MAX_BARS, &d->n_bars);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The VFIO core's child device, present from the end of a VFIO probe to the end of its remove:
 * path is "vfio-dev" below dirfd. */
static bool has_vfio_dev(int dirfd, const char *path)
{
        struct stat st;

        return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode);
}

/* After a link or attribute came back missing: is the device (its bus path) still there?
 * 0 yes, -ENODEV gone. */
static int device_present(vk_root *root, const char *bus_path)
{
        if (faccessat(root->sysfs_fd, bus_path, F_OK, 0) < 0)
                return errno == ENOENT ? -ENODEV : -errno;
        return 0;
}

/* The kept facts of id's directory when it is still where it was met before, with it open in
 * *ret_fd (O_PATH) and its identity in *ret_st; NULL (nothing open) otherwise. The path was
 * resolved beneath the root then; the same inode there now is the same directory instance, so
 * neither the bus's link nor the subsystem need resolving again. A device added again since, or
 * moved, is not found there and takes the full way. */
static const vk_fixed_facts *known_directory(vk_root *root, const vk_device_id *id, int *ret_fd,
                                             struct stat *ret_st)
{
        const vk_fixed_facts *known = vk_root_find_facts_by_name(root, id->bus, id->name);
        _cleanup_(closep) int fd = -EBADF;

        if (!known || !known->syspath)
                return NULL;
        fd = openat(root->sysfs_fd, known->syspath, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, ret_st) < 0)
                return NULL;
        if (ret_st->st_dev != known->dev || ret_st->st_ino != known->ino)
                return NULL;
        *ret_fd = TAKE_FD(fd);
        return known;
}

int vk_device_load(vk_root *root, const vk_device_id *id, vk_device **ret)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        _cleanup_(freep) char *group = NULL;
        _cleanup_(closep) int fd = -EBADF;
        const vk_fixed_facts *known;
        struct stat st;
        int r;

        if (!root || !id_valid(id) || !ret)
                return -EINVAL;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->id = *id;
        d->iommu_group = d->boot_vga = d->numvfs = d->totalvfs = -1;

        known = known_directory(root, id, &fd, &st);
        if (known && !(d->syspath = strdup(known->syspath)))
                return -ENOMEM;
        if (!known) {
                r = device_syspath(root, id, &d->syspath);
                if (r < 0)
                        return r;
                fd = openat(root->sysfs_fd, d->syspath, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return errno == ENOENT ? -ENODEV : -errno;
                /* Every read goes through fd, so this identity is the directory they all
                 * describe. */
                if (fstat(fd, &st) < 0)
                        return -errno;
        }

        loader l = {.root = root, .id = id, .syspath = d->syspath, .fd = fd};

        r = load_optional_link(&l, "driver", &d->driver);
        if (r < 0)
                return r;
        d->unbinding = !d->driver && has_vfio_dev(fd, "vfio-dev");
        /* While unbinding, driver_override_show would wait for the device lock (6.1). */
        if (!d->unbinding &&
            (r = load_optional_string(&l, "driver_override", &d->driver_override)) < 0)
                return r;
        if ((r = load_optional_link(&l, "iommu_group", &group)) < 0)
                return r;
        override_normalize(&d->driver_override);
        if (group) {
                r = vk_parse_int(group, &d->iommu_group);
                if (r < 0)
                        return r;
        }

        r = known ? fixed_from_cache(known, d) : load_fixed(&l, d);
        if (r < 0)
                return r;
        d->is_bridge = id->bus == VK_BUS_PCI && pci_class_is_bridge(d->class_code);
        if (id->bus == VK_BUS_PCI) {
                r = load_pci(&l, d);
                if (r < 0)
                        return r;
        }
        /* Facts read from a device that left meanwhile would describe nothing. */
        if (!loader_device_present(&l))
                return -ENODEV;
        /* Kept only now: a directory that vanished mid-load may have answered "absent". */
        if (!known || (!known->physfn && d->physfn))
                fixed_keep(root, d, &st);

        *ret = TAKE_PTR(d);
        return 0;
}

vk_device *vk_device_free(vk_device *d)
{
        if (!d)
                return NULL;
        free(d->syspath);
        free(d->driver);
        free(d->driver_override);
        free(d->modalias);
        free(d->physfn);
        free(d);
        return NULL;
}

int vk_device_copy(const vk_device *d, vk_device **ret)
{
        _cleanup_(vk_device_freep) vk_device *c = NULL;

        if (!d || !ret)
                return -EINVAL;
        c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = *d;
        c->syspath = c->driver = c->driver_override = c->modalias = c->physfn = NULL;
        if (strdup_optional(d->syspath, &c->syspath) < 0 ||
            strdup_optional(d->driver, &c->driver) < 0 ||
            strdup_optional(d->driver_override, &c->driver_override) < 0 ||
            strdup_optional(d->modalias, &c->modalias) < 0 ||
            strdup_optional(d->physfn, &c->physfn) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* A cheap re-read of one attribute or link through the bus listing. A missing one yields NULL
 * while the device is still there, and -ENODEV once it is gone. */
static int read_one(vk_root *root, const vk_device_id *id, const char *attr,
                    int (*reader)(int dirfd, const char *path, char **ret), char **ret)
{
        char path[sizeof("bus//devices//driver_override") + 16 + VK_NAME_MAX];
        char *value = NULL;
        int r;

        if (!root || !ret)
                return -EINVAL;
        r = vk_device_bus_path(id, path, sizeof(path));
        if (r < 0)
                return r;
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "/%s", attr);

        r = reader(root->sysfs_fd, path, &value);
        if (r == -ENOENT) {
                path[n] = '\0';
                r = device_present(root, path);
                if (r < 0)
                        return r;
        } else if (r < 0)
                return r;
        *ret = value;
        return 0;
}

int vk_device_read_driver(vk_root *root, const vk_device_id *id, char **ret)
{
        return read_one(root, id, "driver", vk_sysfs_read_link_name, ret);
}

int vk_device_unbinding(vk_root *root, const vk_device_id *id)
{
        char path[sizeof("bus//devices//vfio-dev") + 16 + VK_NAME_MAX];
        struct stat st;
        size_t n;
        int r;

        if (!root)
                return -EINVAL;
        r = vk_device_bus_path(id, path, sizeof(path) - sizeof("/vfio-dev"));
        if (r < 0)
                return r;
        n = strlen(path);

        /* Asked on every plan and every uevent: a bound device answers with one stat. */
        strcpy(path + n, "/driver");
        if (fstatat(root->sysfs_fd, path, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return 0;
        if (errno != ENOENT)
                return -errno;
        strcpy(path + n, "/vfio-dev");
        if (has_vfio_dev(root->sysfs_fd, path))
                return 1;
        /* Neither: plain unbound, or gone (which the two misses above also look like). */
        path[n] = '\0';
        return device_present(root, path);
}

int vk_device_read_override(vk_root *root, const vk_device_id *id, char **ret)
{
        char *override = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = vk_device_unbinding(root, id);
        if (r < 0)
                return r;
        if (r > 0)
                return -EBUSY;
        r = read_one(root, id, "driver_override", vk_sysfs_read, &override);
        if (r < 0)
                return r;
        override_normalize(&override);
        *ret = override;
        return 0;
}

int vk_device_read_binding(vk_root *root, const vk_device_id *id, char **ret_driver,
                           bool *ret_unbinding, char **ret_override)
{
        char path[sizeof("bus//devices//driver_override") + 16 + VK_NAME_MAX];
        _cleanup_(freep) char *driver = NULL, *override = NULL;
        bool unbinding = false, missing = false;
        size_t n;
        int r;

        if (!root || !ret_driver || !ret_unbinding || !ret_override)
                return -EINVAL;
        r = vk_device_bus_path(id, path, sizeof(path) - sizeof("/driver_override"));
        if (r < 0)
                return r;
        n = strlen(path);

        strcpy(path + n, "/driver");
        r = vk_sysfs_read_link_name(root->sysfs_fd, path, &driver);
        if (r == -ENOENT) {
                strcpy(path + n, "/vfio-dev");
                unbinding = has_vfio_dev(root->sysfs_fd, path);
        } else if (r < 0)
                return r;
        if (!unbinding) {
                strcpy(path + n, "/driver_override");
                r = vk_sysfs_read(root->sysfs_fd, path, &override);
                if (r == -ENOENT)
                        missing = true;
                else if (r < 0)
                        return r;
                override_normalize(&override);
        }
        /* Anything found through the bus's link shows the device is there. A missing override
         * is what a device that left answers, or one on a bus without driver_override. */
        if (missing) {
                path[n] = '\0';
                r = device_present(root, path);
                if (r < 0)
                        return r;
        }

        *ret_driver = TAKE_PTR(driver);
        *ret_unbinding = unbinding;
        *ret_override = TAKE_PTR(override);
        return 0;
}

/* ---- resource ---- */

static const char *parse_hex_u64(const char *p, uint64_t *ret)
{
        uint64_t v = 0;
        size_t n = 0;

        if (p[0] != '0' || p[1] != 'x')
                return NULL;
        for (p += 2; unhexchar(*p) >= 0; p++, n++) {
                if (n == 16)
                        return NULL;
                v = (v << 4) | (uint64_t)unhexchar(*p);
        }
        if (n == 0)
                return NULL;
        *ret = v;
        return p;
}

/*
 * drivers/pci/pci-sysfs.c prints one "start end flags" line per resource: the six BARs and
 * the ROM (indexes 0-6, the only ones vk_bar describes), then SR-IOV BARs and bridge windows,
 * which are checked for shape but not returned. Unassigned or disabled ranges do not decode
 * addresses and are skipped like empty slots and I/O ports.
 */
int vk_parse_resource(const char *text, vk_bar *bars, size_t max, size_t *ret_n)
{
        vk_bar found[VK_MAX_BARS];
        size_t n = 0;
        unsigned index = 0;
        const char *p;

        if (!text || (!bars && max > 0) || !ret_n)
                return -EINVAL;

        for (p = text; *p; index++) {
                uint64_t start, end, flags;

                if (!(p = parse_hex_u64(p, &start)) || *p++ != ' ' ||
                    !(p = parse_hex_u64(p, &end)) || *p++ != ' ' || !(p = parse_hex_u64(p, &flags)))
                        return -EINVAL;
                if (*p == '\n')
                        p++;
                else if (*p)
                        return -EINVAL;
                if (end < start)
                        return -EINVAL;

                if (index >= VK_MAX_BARS || (start == 0 && end == 0 && flags == 0))
                        continue;
                if (!(flags & IORESOURCE_MEM) || (flags & (IORESOURCE_UNSET | IORESOURCE_DISABLED)))
                        continue;
                found[n++] = (vk_bar){.index = index, .start = start, .end = end, .flags = flags};
        }
        if (n > max)
                return -ENOBUFS;

        if (n > 0)
                memcpy(bars, found, n * sizeof(found[0]));
        *ret_n = n;
        return 0;
}

/* ---- enumeration ---- */

int vk_bus_list_devices(vk_root *root, vk_bus bus, char ***ret)
{
        char path[64];

        if (!root || !ret || !vk_bus_to_string(bus))
                return -EINVAL;
        snprintf(path, sizeof(path), "bus/%s/devices", bus_names[bus]);
        return vk_sysfs_list(root->sysfs_fd, path, ret);
}
