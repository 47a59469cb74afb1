/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who uses a device right now, from what the kernel shows: the device's sysfs subtree (block
 * disks and partitions, network interfaces, DRM and fbdev nodes), block holders (dm, md), the
 * mount table, the swap list, and open file descriptors in /proc. Every reason is a fact the
 * kernel stated; a source we cannot read in full makes the call fail rather than answer "free".
 * A root without proc (a fixture) simply has no proc-based reasons.
 */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "holders.h"
#include "macros.h"
#include "sysfs.h"

#define PROC_FILE_MAX    (16u * 1024 * 1024)
#define WALK_MAX_DEPTH   16   /* USB storage behind hubs sits about 12 levels below the port */
#define WALK_MAX_DIRS    4096 /* device directories, not attribute groups */
#define HOLDER_MAX_DEPTH 8    /* dm on dm on md on a partition is already deep */
#define MAX_BLOCK_CHECKS 256
#define MAX_NODES        256
#define MAX_PIDS         32768
#define MAX_FDS_PER_PID  8192
#define MAX_REASONS      32
#define MOUNTS_MAX       (1u << 20)
#define IFF_UP           0x1

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

int vk_proc_read(vk_root *root, const char *path, size_t max, char **ret)
{
        _cleanup_(closep) int fd = -EBADF;

        if (!root || !path || !ret)
                return -EINVAL;
        if (root->proc_fd < 0)
                return -ENOENT;

        fd = openat(root->proc_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return vk_read_fd_bounded(fd, max, ret, NULL);
}

/* ---- parsers ---- */

/* Undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).
 * NUL (\000) cannot be part of a path: such a field is rejected. */
static char *unescape_field(const char *s, size_t len)
{
        char *out = malloc(len + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
                    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                        char c = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 |
                                        (s[i + 3] - '0'));
                        if (c == 0) {
                                free(out);
                                errno = EINVAL;
                                return NULL;
                        }
                        *o++ = c;
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

static bool parse_unsigned(const char *s, size_t len, unsigned *ret)
{
        unsigned long v = 0;
        if (len == 0 || len > 10)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long)(s[i] - '0');
        }
        if (v > UINT_MAX)
                return false;
        *ret = (unsigned)v;
        return true;
}

/* Splits a line into its first n space-separated fields (mountinfo uses single spaces). */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *flen, size_t n)
{
        size_t k = 0, i = 0;
        while (k < n && i < len) {
                size_t start = i;
                while (i < len && line[i] != ' ')
                        i++;
                f[k] = line + start;
                flen[k] = i - start;
                k++;
                if (i < len)
                        i++;
        }
        return k;
}

static void mount_done(vk_mount *m)
{
        free(m->mount_point);
        free(m->fstype);
        free(m->source);
}

void vk_mount_list_free(vk_mount *l, size_t n)
{
        for (size_t i = 0; l && i < n; i++)
                mount_done(&l[i]);
        free(l);
}

/* After the mount options come optional fields ("shared:1", any number), a lone "-", then the
 * filesystem type and the mount source. Finds those two in `rest`; false when the line has no such
 * tail. */
static bool find_type_and_source(const char *rest, size_t len, const char **f, size_t *fl)
{
        const char *sep = NULL;

        for (size_t i = 0; i < len;) {
                size_t start = i;
                while (i < len && rest[i] != ' ')
                        i++;
                if (i - start == 1 && rest[start] == '-') {
                        sep = rest + i;
                        break;
                }
                i++;
        }
        if (!sep || (size_t)(sep - rest) >= len)
                return false;
        sep++;
        if (split_fields(sep, len - (size_t)(sep - rest), f, fl, 2) < 2)
                return false;
        return fl[0] > 0 && fl[1] > 0;
}

int vk_parse_mountinfo(const char *text, vk_mount **ret, size_t *ret_n)
{
        vk_mount *l = NULL;
        size_t n = 0, allocated = 0;

        if (!text || !ret || !ret_n)
                return -EINVAL;

        /* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": field 3 is the
         * device, field 5 the mount point, then after "-" the type and the source. Lines that do
         * not have that shape are skipped. */
        for (const char *p = text; *p && n < MOUNTS_MAX;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                const char *f[6], *tail[2];
                size_t fl[6], taill[2];
                unsigned major, minor;

                const char *line = p;
                p += len;
                if (*p == '\n')
                        p++;

                if (split_fields(line, len, f, fl, 6) < 6 || fl[4] == 0)
                        continue;
                const char *colon = memchr(f[2], ':', fl[2]);
                if (!colon || !parse_unsigned(f[2], (size_t)(colon - f[2]), &major) ||
                    !parse_unsigned(colon + 1, fl[2] - (size_t)(colon + 1 - f[2]), &minor))
                        continue;
                /* The optional fields begin after the mount options. */
                const char *rest = f[5] + fl[5];
                if (!find_type_and_source(rest, (size_t)(line + len - rest), tail, taill))
                        continue;

                vk_mount m = {.major = major, .minor = minor};
                m.mount_point = unescape_field(f[4], fl[4]);
                if (m.mount_point)
                        m.fstype = unescape_field(tail[0], taill[0]);
                if (m.fstype)
                        m.source = unescape_field(tail[1], taill[1]);
                if (!m.source) {
                        bool bad = errno == EINVAL;
                        mount_done(&m);
                        if (bad)
                                continue;
                        vk_mount_list_free(l, n);
                        return -ENOMEM;
                }
                if (n == allocated) {
                        size_t na = allocated ? allocated * 2 : 32;
                        vk_mount *nl_ = realloc(l, na * sizeof(*l));
                        if (!nl_) {
                                mount_done(&m);
                                vk_mount_list_free(l, n);
                                return -ENOMEM;
                        }
                        l = nl_;
                        allocated = na;
                }
                l[n++] = m;
        }

        *ret = l;
        *ret_n = n;
        return 0;
}

/* proc/swaps: a header line, then "<escaped path> <type> <size> <used> <prio>". Returns the
 * last path components ("sda2", "dm-1"): a swap partition shows as its /dev node. */
static int parse_swaps(const char *text, char ***ret)
{
        _cleanup_(strv_freep) char **l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        const char *p = strchr(text, '\n');
        while (p && *++p) {
                size_t len = strcspn(p, " \t\n");
                _cleanup_(freep) char *path = len > 0 ? unescape_field(p, len) : NULL;
                if (path) {
                        const char *base = strrchr(path, '/');
                        int r = strv_extend(&l, base ? base + 1 : path);
                        if (r < 0)
                                return r;
                } else if (len > 0 && errno == ENOMEM)
                        return -ENOMEM;
                p = strchr(p, '\n');
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- the scan ---- */

typedef struct scan {
        vk_root *root;
        char **reasons;
        char **nodes; /* "/dev/dri/card1": looked for among open file descriptors */
        vk_mount *mounts;
        size_t n_mounts;
        char **swaps;
        bool tables_loaded; /* mounts and swaps: read on the first block device or share */
        unsigned dirs, block_checks;
} scan;

static int need_tables(scan *s);

static void scan_done(scan *s)
{
        strv_free(s->reasons);
        strv_free(s->nodes);
        vk_mount_list_free(s->mounts, s->n_mounts);
        strv_free(s->swaps);
}

/* Reasons travel in D-Bus strings and end up in front of people: names from the system
 * (mount points, process names) can hold any byte, so only printable ASCII is kept. */
_printf_(2, 3) static int add_reason(scan *s, const char *fmt, ...)
{
        _cleanup_(freep) char *text = NULL;
        va_list ap;

        if (strv_length(s->reasons) >= MAX_REASONS)
                return 0;
        va_start(ap, fmt);
        int k = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        for (char *c = text; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                        *c = '?';
        if (strv_contains(s->reasons, text))
                return 0;
        return strv_extend(&s->reasons, text);
}

static int add_node(scan *s, const char *dir, const char *name)
{
        char node[PATH_MAX];

        if (strv_length(s->nodes) >= MAX_NODES)
                return 0;
        snprintf(node, sizeof(node), "%s%s", dir, name);
        if (strv_contains(s->nodes, node))
                return 0;
        return strv_extend(&s->nodes, node);
}

static bool valid_kernel_name(const char *name)
{
        return name[0] && !streq(name, ".") && !streq(name, "..") && !strchr(name, '/') &&
               strlen(name) <= NAME_MAX;
}

/*
 * One block device (disk, partition, or a holder found through holders/): its mounts, its swap
 * use, its node, and recursively whatever holds it. `path` is relative to the sysfs root;
 * `on` names the device's own block device when this one is a holder. Sets *used when anything
 * uses this device or a holder above it.
 */
static int check_block(scan *s, const char *path, const char *name, const char *on, unsigned depth,
                       bool *used)
{
        _cleanup_(freep) char *dev = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        char p[PATH_MAX];
        unsigned major, minor;
        int r;

        if (++s->block_checks > MAX_BLOCK_CHECKS)
                return -E2BIG;

        snprintf(p, sizeof(p), "%s/dev", path);
        r = vk_sysfs_read(s->root->sysfs_fd, p, &dev);
        if (r == -ENOENT)
                return 0; /* gone meanwhile, or not a device node */
        if (r < 0)
                return r;
        const char *colon = strchr(dev, ':');
        if (!colon || !parse_unsigned(dev, (size_t)(colon - dev), &major) ||
            !parse_unsigned(colon + 1, strlen(colon + 1), &minor))
                return -EBADMSG;

        r = need_tables(s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_mounts; i++) {
                if (s->mounts[i].major != major || s->mounts[i].minor != minor)
                        continue;
                *used = true;
                r = on ? add_reason(s, "block device %s (on %s) is mounted on %s", name, on,
                                    s->mounts[i].mount_point)
                       : add_reason(s, "block device %s is mounted on %s", name,
                                    s->mounts[i].mount_point);
                if (r < 0)
                        return r;
        }
        if (strv_contains(s->swaps, name)) {
                *used = true;
                r = on ? add_reason(s, "block device %s (on %s) is in use as swap", name, on)
                       : add_reason(s, "block device %s is in use as swap", name);
                if (r < 0)
                        return r;
        }
        r = add_node(s, "/dev/", name);
        if (r < 0)
                return r;

        snprintf(p, sizeof(p), "%s/holders", path);
        int fd = openat(s->root->sysfs_fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        for (struct dirent *de; (de = readdir(d));) {
                bool held = false;

                if (de->d_name[0] == '.' || !valid_kernel_name(de->d_name))
                        continue;
                if (depth + 1 >= HOLDER_MAX_DEPTH)
                        return -E2BIG;
                snprintf(p, sizeof(p), "class/block/%s", de->d_name);
                r = check_block(s, p, de->d_name, on ?: name, depth + 1, &held);
                if (r < 0)
                        return r;
                /* An active dm/md device on top is a user even when nothing is mounted. */
                if (!held) {
                        r = add_reason(s, "block device %s is held by %s", name, de->d_name);
                        if (r < 0)
                                return r;
                }
                *used = true;
        }
        return 0;
}

/* A share's tag as a virtio attribute shows it. 9pnet_virtio on 6.1 ends mount_tag with a NUL
 * instead of a newline, which vk_sysfs_read refuses; either ending is dropped here. */
static int read_tag(int dirfd, const char *path, char **ret)
{
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t n = 0;
        int r;

        fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = vk_read_fd_bounded(fd, VK_SYSFS_ATTR_MAX, &buf, &n);
        if (r < 0)
                return r;
        if (n > 0 && buf[n - 1] == '\0')
                n--;
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n == 0 || memchr(buf, '\0', n))
                return -EBADMSG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* A share is in use while a mount of its type names its tag as the source. */
static int check_share(scan *s, const char *fstype, const char *what, const char *tag)
{
        int k = need_tables(s);
        if (k < 0)
                return k;
        for (size_t i = 0; i < s->n_mounts; i++) {
                if (!streq(s->mounts[i].fstype, fstype) || !streq(s->mounts[i].source, tag))
                        continue;
                int r = add_reason(s, "%s share %s is mounted on %s", what, tag,
                                   s->mounts[i].mount_point);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * virtiofs keeps its tag away from the virtio device: since 6.10 each instance has
 * fs/virtiofs/<n>/{tag,device}, device linking back to the virtio device ("../../../devices/...").
 * Older kernels show no tag anywhere in sysfs, so there is nothing to match against.
 */
static int check_virtiofs(scan *s, const char *path)
{
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        int fd = openat(s->root->sysfs_fd, "fs/virtiofs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_(freep) char *tag = NULL;
                char p[PATH_MAX], target[PATH_MAX];

                if (de->d_name[0] == '.' || !valid_kernel_name(de->d_name))
                        continue;
                snprintf(p, sizeof(p), "%s/device", de->d_name);
                ssize_t k = readlinkat(fd, p, target, sizeof(target) - 1);
                if (k < 0) {
                        if (errno == ENOENT || errno == EINVAL)
                                continue; /* going away, or a future non-device entry */
                        return -errno;
                }
                target[k] = 0;
                /* <n>/device sits three levels below the sysfs root. */
                if (strncmp(target, "../../../", 9) != 0 || !streq(target + 9, path))
                        continue;
                snprintf(p, sizeof(p), "%s/tag", de->d_name);
                r = read_tag(fd, p, &tag);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                r = check_share(s, "virtiofs", "virtiofs", tag);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A virtio device below a PCI (or MMIO) transport: a 9p or virtiofs share may be mounted from it.
 */
static int check_virtio(scan *s, int dirfd, const char *path)
{
        _cleanup_(freep) char *tag = NULL;
        int r;

        r = read_tag(dirfd, "mount_tag", &tag);
        if (r >= 0)
                r = check_share(s, "9p", "virtio-9p", tag);
        if (r < 0 && r != -ENOENT)
                return r;
        return check_virtiofs(s, path);
}

/* A class device found under the device: decide by its subsystem what "in use" means. */
static int classify(scan *s, int dirfd, const char *path, const char *name)
{
        _cleanup_(freep) char *subsystem = NULL, *flags = NULL;
        char p[PATH_MAX];
        int r;

        r = vk_sysfs_read_link_name(dirfd, "subsystem", &subsystem);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        if (streq(subsystem, "block")) {
                bool used = false;
                return check_block(s, path, name, NULL, 0, &used);
        }
        if (streq(subsystem, "virtio"))
                return check_virtio(s, dirfd, path);
        if (streq(subsystem, "net")) {
                uint32_t v;
                r = vk_sysfs_read(dirfd, "flags", &flags);
                if (r == -ENOENT)
                        return 0;
                if (r >= 0)
                        r = vk_parse_hex_u32(flags, &v);
                if (r < 0)
                        return r;
                return (v & IFF_UP) ? add_reason(s, "network interface %s is up", name) : 0;
        }
        /* DRM connectors (card0-HDMI-A-1) share the subsystem but have no node. */
        snprintf(p, sizeof(p), "%s/dev", path);
        if (faccessat(s->root->sysfs_fd, p, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (streq(subsystem, "drm"))
                return add_node(s, "/dev/dri/", name);
        if (streq(subsystem, "graphics"))
                return add_node(s, "/dev/", name);
        return 0;
}

/* A device directory carries a "uevent" file; glue and attribute-group directories do not. */
static bool is_device_dir(scan *s, const char *path)
{
        char p[PATH_MAX];

        if ((size_t)snprintf(p, sizeof(p), "%s/uevent", path) >= sizeof(p))
                return false;
        return faccessat(s->root->sysfs_fd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int walk(scan *s, const char *path, unsigned depth, bool is_device);

/* The directories below path, each walked as what it is. Below a glue directory only devices
 * matter, so the others are not even opened. */
static int walk_children(scan *s, const char *path, unsigned depth, bool is_device)
{
        _cleanup_(strv_freep) char **dirs = NULL;
        int r;

        r = vk_sysfs_list_dirs(s->root->sysfs_fd, path, &dirs);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0; /* removed while we walked */
        if (r < 0)
                return r;
        for (char **d = dirs; *d; d++) {
                char child[PATH_MAX];
                bool child_is_device;

                if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, *d) >= sizeof(child))
                        return -ENAMETOOLONG;
                child_is_device = is_device_dir(s, child);
                if (!child_is_device && !is_device)
                        continue;
                r = walk(s, child, depth + 1, child_is_device);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * Walks the device's subtree without following symlinks. We descend through at most one glue
 * directory ("block", "net", "drm") or attribute group ("power", "queues") below a device, which
 * reaches every child device and skips the attribute groups' own subdirectories (mq/0/cpu*,
 * queues/rx-0, ...).
 */
static int walk(scan *s, const char *path, unsigned depth, bool is_device)
{
        int r;

        if (depth > WALK_MAX_DEPTH || ++s->dirs > WALK_MAX_DIRS)
                return -E2BIG;

        if (is_device && depth > 0) {
                _cleanup_(closep) int fd = -EBADF;
                const char *name = strrchr(path, '/');

                fd = openat(s->root->sysfs_fd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return errno == ENOENT ? 0 : -errno; /* removed while we walked */
                r = classify(s, fd, path, name ? name + 1 : path);
                if (r < 0)
                        return r;
        }
        return walk_children(s, path, depth, is_device);
}

/* Which processes have one of the nodes open. Processes come and go while we look: whatever
 * vanished or cannot be read is skipped. */
static int scan_fds(scan *s)
{
        _cleanup_(closedirp) DIR *procd = NULL;
        unsigned pids = 0;

        int fd = openat(s->root->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        procd = fdopendir(fd);
        if (!procd) {
                int r = -errno;
                close(fd);
                return r;
        }

        for (struct dirent *de; pids < MAX_PIDS && (de = readdir(procd));) {
                _cleanup_(closedirp) DIR *fdd = NULL;
                _cleanup_(freep) char *comm = NULL;
                char p[PATH_MAX];
                unsigned fds = 0;

                if (strspn(de->d_name, "0123456789") != strlen(de->d_name) ||
                    strlen(de->d_name) > 10)
                        continue;
                pids++;
                snprintf(p, sizeof(p), "%s/fd", de->d_name);
                int dfd = openat(s->root->proc_fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        continue;
                fdd = fdopendir(dfd);
                if (!fdd) {
                        close(dfd);
                        continue;
                }
                for (struct dirent *fe; fds < MAX_FDS_PER_PID && (fe = readdir(fdd)); fds++) {
                        char target[PATH_MAX];

                        ssize_t k = readlinkat(dirfd(fdd), fe->d_name, target, sizeof(target) - 1);
                        if (k <= 0)
                                continue;
                        target[k] = 0;
                        if (!strv_contains(s->nodes, target))
                                continue;
                        if (!comm) {
                                snprintf(p, sizeof(p), "%s/comm", de->d_name);
                                if (vk_sysfs_read(s->root->proc_fd, p, &comm) < 0)
                                        comm = strdup("?");
                                if (!comm)
                                        return -ENOMEM;
                        }
                        int r = add_reason(s, "%s is open (pid %s, %s)", target, de->d_name, comm);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int load_proc_tables(scan *s)
{
        _cleanup_(freep) char *mountinfo = NULL, *swaps = NULL;
        int r;

        r = vk_proc_read(s->root, "self/mountinfo", PROC_FILE_MAX, &mountinfo);
        if (r >= 0)
                r = vk_parse_mountinfo(mountinfo, &s->mounts, &s->n_mounts);
        if (r < 0 && r != -ENOENT)
                return r;

        r = vk_proc_read(s->root, "swaps", PROC_FILE_MAX, &swaps);
        if (r >= 0)
                r = parse_swaps(swaps, &s->swaps);
        if (r < 0 && r != -ENOENT)
                return r;
        return 0;
}

/* Most devices have no block device and no share below them: their plan reads neither table. */
static int need_tables(scan *s)
{
        if (s->tables_loaded || s->root->proc_fd < 0)
                return 0;
        s->tables_loaded = true;
        return load_proc_tables(s);
}

/*
 * A PCI function that no driver drives has nothing below it to be in use: the disks, interfaces
 * and DRM or fbdev nodes the walk looks for are registered by the bound driver's probe and go in
 * its remove, and the PCI core itself adds children to bridges only (which never move). A remove
 * that someone else has started takes the "driver" link away first; those users lose the device
 * whatever vfiod decides. Not walking saves three directory listings (the device, power/, link/),
 * a millisecond or two per plan under TCG. A platform or AMBA device is walked even then: a bus
 * node of the device tree has no driver but children that do.
 */
static bool nothing_below(const vk_device *dev)
{
        return dev->id.bus == VK_BUS_PCI && !dev->driver && !dev->unbinding && !dev->is_bridge;
}

int vk_holders_find(vk_root *root, const vk_device *dev, char ***ret_reasons)
{
        scan s = {.root = root};
        int r;

        if (!root || !dev || !dev->syspath || !ret_reasons)
                return -EINVAL;

        s.reasons = calloc(1, sizeof(char *));
        if (!s.reasons)
                return -ENOMEM;
        if (nothing_below(dev)) {
                *ret_reasons = TAKE_PTR(s.reasons);
                return 0;
        }

        r = walk(&s, dev->syspath, 0, true);
        if (r >= 0 && root->proc_fd >= 0 && strv_length(s.nodes) > 0)
                r = scan_fds(&s);
        if (r < 0) {
                scan_done(&s);
                return r;
        }

        size_t n = strv_length(s.reasons);
        *ret_reasons = TAKE_PTR(s.reasons);
        scan_done(&s);
        return (int)n;
}
