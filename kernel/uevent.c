/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Device events for the subsystems vfiod cares about. Two backends behind one fd: libudev's
 * monitor on the real system (events after udevd ran its rules, so reservations are applied),
 * and a datagram socket the simulated kernel writes kernel-format messages to. Both end in the
 * same validation, so a consumer sees the same shape from either.
 */

#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "macros.h"
#include "uevent.h"

/* The kernel's own buffer is 2 KiB (UEVENT_BUFFER_SIZE); anything far larger is not a uevent. */
#define UEVENT_MSG_MAX 8192

#define SIM_DIR    "vfiod-sim"
#define SIM_SOCKET "uevent.sock"

static const char *const wanted_subsystems[] = {"pci", "platform", "amba", "vfio"};

static vk_uevent_action action_from_string(const char *s, size_t len)
{
        static const struct {
                const char *name;
                vk_uevent_action action;
        } table[] = {
            {"add", VK_UEVENT_ADD},   {"remove", VK_UEVENT_REMOVE}, {"change", VK_UEVENT_CHANGE},
            {"bind", VK_UEVENT_BIND}, {"unbind", VK_UEVENT_UNBIND},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strlen(table[i].name) == len && memcmp(table[i].name, s, len) == 0)
                        return table[i].action;
        return VK_UEVENT_OTHER;
}

/* A value of [1, size) bytes without NUL or '/' ('/' only where allow_slash). */
static int copy_value(char *dst, size_t size, const char *s, size_t len, bool allow_slash)
{
        if (len == 0 || len >= size || memchr(s, '\0', len))
                return -EINVAL;
        if (!allow_slash && memchr(s, '/', len))
                return -EINVAL;
        memcpy(dst, s, len);
        dst[len] = '\0';
        return 0;
}

/*
 * An absolute devpath whose components are real names: consumers append it to the sysfs root,
 * so "." / ".." / empty components would let a message point anywhere. Stores the last
 * component as the kernel name.
 */
static int set_devpath(vk_uevent *u, const char *s, size_t len)
{
        const char *end = s + len, *c;
        int r;

        r = copy_value(u->devpath, sizeof(u->devpath), s, len, true);
        if (r < 0)
                return r;
        if (s[0] != '/')
                return -EINVAL;
        for (c = s + 1;; c++) {
                const char *slash = memchr(c, '/', end - c);
                size_t n = (slash ? slash : end) - c;

                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return -EINVAL;
                if (!slash)
                        return copy_value(u->kernel_name, sizeof(u->kernel_name), c, n, false);
                c = slash;
        }
}

/* Checks and copies the four fields we use into *ret (untouched on failure). */
static int uevent_fill(const char *action, size_t action_len, const char *devpath,
                       size_t devpath_len, const char *subsystem, size_t subsystem_len,
                       const char *driver, size_t driver_len, vk_uevent *ret)
{
        vk_uevent u = {};
        int r;

        if (!action || action_len == 0 || !devpath || !subsystem)
                return -EINVAL;
        u.action = action_from_string(action, action_len);
        r = set_devpath(&u, devpath, devpath_len);
        if (r < 0)
                return r;
        r = copy_value(u.subsystem, sizeof(u.subsystem), subsystem, subsystem_len, false);
        if (r < 0)
                return r;
        /* The kernel adds DRIVER= only when bound; an empty one means the same. */
        if (driver && driver_len > 0) {
                r = copy_value(u.driver, sizeof(u.driver), driver, driver_len, false);
                if (r < 0)
                        return r;
        }
        *ret = u;
        return 0;
}

typedef struct field {
        const char *s;
        size_t len;
} field;

/* Records KEY=VALUE for a key we use; a repeated key makes the message ambiguous. */
static int field_set(field *f, const char *s, size_t len)
{
        if (f->s)
                return -EINVAL;
        f->s = s;
        f->len = len;
        return 0;
}

/* Header and keys must agree when both name the same thing. */
static int field_merge(field *key, const field *header)
{
        if (!header->s)
                return 0;
        if (!key->s) {
                *key = *header;
                return 0;
        }
        if (key->len != header->len || memcmp(key->s, header->s, key->len) != 0)
                return -EINVAL;
        return 0;
}

int vk_uevent_parse(const char *buf, size_t len, vk_uevent *ret)
{
        field action = {}, devpath = {}, subsystem = {}, driver = {};
        field header_action = {}, header_devpath = {};
        /* The keys we use; the kernel sends more (SEQNUM, MODALIAS, ...), which we skip. */
        const struct {
                const char *key;
                field *f;
        } keys[] = {
            {"ACTION", &action},
            {"DEVPATH", &devpath},
            {"SUBSYSTEM", &subsystem},
            {"DRIVER", &driver},
        };
        const char *p, *end;
        int r;

        if (!buf || !ret || len == 0 || len > UEVENT_MSG_MAX)
                return -EINVAL;
        p = buf;
        end = buf + len;

        for (bool first = true; p < end; first = false) {
                const char *nul = memchr(p, '\0', end - p);
                const char *e = nul ? nul : end;
                size_t n = e - p;
                const char *eq = memchr(p, '=', n);
                const char *at = memchr(p, '@', n);

                if (n == 0)
                        return -EINVAL;
                if (first && at && (!eq || at < eq)) {
                        /* The kernel's "action@devpath" header, as on the netlink socket. */
                        header_action = (field){p, at - p};
                        header_devpath = (field){at + 1, e - at - 1};
                } else if (!eq) {
                        return -EINVAL;
                } else {
                        size_t klen = eq - p;
                        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                                if (strlen(keys[i].key) != klen || memcmp(p, keys[i].key, klen))
                                        continue;
                                r = field_set(keys[i].f, eq + 1, e - eq - 1);
                                if (r < 0)
                                        return r;
                                break;
                        }
                }
                if (!nul)
                        break;
                p = nul + 1;
        }

        r = field_merge(&action, &header_action);
        if (r < 0)
                return r;
        r = field_merge(&devpath, &header_devpath);
        if (r < 0)
                return r;
        return uevent_fill(action.s, action.len, devpath.s, devpath.len, subsystem.s, subsystem.len,
                           driver.s, driver.len, ret);
}

struct vk_uevent_source {
        /* Real system. */
        struct udev *udev;
        struct udev_monitor *monitor;
        /* Non-system root: our socket and the directory holding it, to unlink it on free. */
        int socket_fd;
        int dir_fd;
        dev_t socket_dev;
        ino_t socket_ino;
};

vk_uevent_source *vk_uevent_source_free(vk_uevent_source *s)
{
        struct stat st;

        if (!s)
                return NULL;
        udev_monitor_unref(s->monitor);
        udev_unref(s->udev);
        /* Remove our socket file, but not one a newer instance bound in its place. */
        if (s->dir_fd >= 0 && fstatat(s->dir_fd, SIM_SOCKET, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_dev == s->socket_dev && st.st_ino == s->socket_ino)
                (void)unlinkat(s->dir_fd, SIM_SOCKET, 0);
        safe_close(s->socket_fd);
        safe_close(s->dir_fd);
        free(s);
        return NULL;
}

static int source_new_udev(vk_uevent_source *s)
{
        int r;

        s->udev = udev_new();
        if (!s->udev)
                return -ENOMEM;
        s->monitor = udev_monitor_new_from_netlink(s->udev, "udev");
        if (!s->monitor)
                return errno > 0 ? -errno : -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(wanted_subsystems); i++) {
                r = udev_monitor_filter_add_match_subsystem_devtype(s->monitor,
                                                                    wanted_subsystems[i], NULL);
                if (r < 0)
                        return r;
        }
        /* A group assignment emits bursts of events; a bigger buffer avoids ENOBUFS. Failing
         * to enlarge it only makes overruns likelier, so it is not fatal. */
        (void)udev_monitor_set_receive_buffer_size(s->monitor, 16 * 1024 * 1024);
        return udev_monitor_enable_receiving(s->monitor);
}

/* Binds <prefix>/run/vfiod-sim/uevent.sock, replacing a socket left by an earlier run. */
static int source_new_socket(vk_uevent_source *s, vk_root *root)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;
        int n;

        if (root->run_fd < 0)
                return -ENOENT;
        if (mkdirat(root->run_fd, SIM_DIR, 0755) < 0 && errno != EEXIST)
                return -errno;
        s->dir_fd = openat(root->run_fd, SIM_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s->dir_fd < 0)
                return -errno;

        if (fstatat(s->dir_fd, SIM_SOCKET, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                if (unlinkat(s->dir_fd, SIM_SOCKET, 0) < 0)
                        return -errno;
        } else if (errno != ENOENT)
                return -errno;

        /* sun_path holds 108 bytes; a deep prefix goes through our own fd of the directory. */
        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run/" SIM_DIR "/" SIM_SOCKET,
                     root->prefix);
        if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" SIM_SOCKET,
                         s->dir_fd);

        s->socket_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->socket_fd < 0)
                return -errno;
        if (bind(s->socket_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (fstatat(s->dir_fd, SIM_SOCKET, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        s->socket_dev = st.st_dev;
        s->socket_ino = st.st_ino;
        return 0;
}

int vk_uevent_source_new(vk_root *root, vk_uevent_source **ret)
{
        _cleanup_(vk_uevent_source_freep) vk_uevent_source *s = NULL;
        int r;

        if (!root || !ret)
                return -EINVAL;
        r = vk_root_is_system(root);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->socket_fd = s->dir_fd = -EBADF;

        r = r > 0 ? source_new_udev(s) : source_new_socket(s, root);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int vk_uevent_source_fd(vk_uevent_source *s)
{
        if (!s)
                return -EINVAL;
        return s->monitor ? udev_monitor_get_fd(s->monitor) : s->socket_fd;
}

static bool subsystem_wanted(const char *subsystem)
{
        for (size_t i = 0; i < ELEMENTSOF(wanted_subsystems); i++)
                if (streq(subsystem, wanted_subsystems[i]))
                        return true;
        return false;
}

static int receive_udev(vk_uevent_source *s, vk_uevent *ret)
{
        struct udev_device *d;
        int r;

        errno = 0;
        d = udev_monitor_receive_device(s->monitor);
        if (!d)
                /* Nothing queued, or a message libudev dropped (filtered, not from udevd). */
                return errno == 0 || errno == EAGAIN || errno == EINTR ? 0 : -errno;

        const char *action = udev_device_get_action(d), *devpath = udev_device_get_devpath(d),
                   *subsystem = udev_device_get_subsystem(d), *driver = udev_device_get_driver(d);
        r = uevent_fill(action, action ? strlen(action) : 0, devpath, devpath ? strlen(devpath) : 0,
                        subsystem, subsystem ? strlen(subsystem) : 0, driver,
                        driver ? strlen(driver) : 0, ret);
        udev_device_unref(d);
        return r < 0 ? r : 1;
}

/* One datagram per event. A malformed one is consumed and reported; the next call goes on. */
static int receive_socket(vk_uevent_source *s, vk_uevent *ret)
{
        char buf[UEVENT_MSG_MAX + 1];
        vk_uevent u;

        for (;;) {
                ssize_t n = recv(s->socket_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -errno;
                }
                /* MSG_TRUNC reports the real length, so an oversized message is not cut short
                 * into something that parses. */
                if ((size_t)n > UEVENT_MSG_MAX)
                        return -EINVAL;
                int r = vk_uevent_parse(buf, n, &u);
                if (r < 0)
                        return r;
                /* Same subsystems as the udev monitor's filter. */
                if (!subsystem_wanted(u.subsystem))
                        continue;
                *ret = u;
                return 1;
        }
}

int vk_uevent_source_receive(vk_uevent_source *s, vk_uevent *ret)
{
        if (!s || !ret)
                return -EINVAL;
        return s->monitor ? receive_udev(s, ret) : receive_socket(s, ret);
}
