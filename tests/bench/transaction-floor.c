/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * transaction-floor: the kernel and journal work that the assignment transaction of
 * ARCHITECTURE.md asks of any implementation, done directly, one PCI device after the other,
 * and nothing else: no bus, no daemon, no checks beyond the reads the steps name, no
 * announcements. The raw loop of the benchmark is the floor of moving a device at all; this is
 * the floor of moving it as a transaction. Under TCG one access to sysfs costs tens to hundreds
 * of microseconds where a plain system call costs two, so the two floors differ by more than
 * the extra writes suggest. Per device, for every member of its IOMMU group (the benchmark's
 * groups hold one device each; a bridge, which a real transaction leaves where it is, would be
 * fenced here like any member and fail the check after the probe):
 *
 *   assign:  plan (device, group, members' drivers and overrides), journal the intent,
 *            close the window (read autoprobe, list the bus, autoprobe off), fence, unbind the
 *            host driver, probe, verify the driver link, reopen the window (autoprobe on, list
 *            the bus), open the group node and check it is viable, journal the commit;
 *   release: plan, journal the intent, close the window, unbind from vfio-pci, clear the
 *            override, probe, verify the driver link, reopen the window, drop the record.
 *
 *   transaction-floor assign|release JOURNAL-DIR DEVICE...
 *
 * Prints the seconds from the first step to the last on success. It writes the running kernel's
 * sysfs, so it refuses to run outside a guest of tests/vm/vm.py.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macros.h"

#define MAX_MEMBERS 32

static int sysfs = -1, journal = -1;

static int fail(const char *what, const char *path, int err)
{
        fprintf(stderr, "transaction-floor: %s %s: %s\n", what, path, strerror(err));
        return -err;
}

static int write_attr(const char *path, const char *value)
{
        _cleanup_(closep) int fd = openat(sysfs, path, O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return fail("open", path, errno);
        if (write(fd, value, strlen(value)) < 0)
                return fail("write", path, errno);
        return 0;
}

static int read_attr(const char *path, char *buf, size_t size)
{
        _cleanup_(closep) int fd = openat(sysfs, path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return fail("open", path, errno);
        n = read(fd, buf, size - 1);
        if (n < 0)
                return fail("read", path, errno);
        buf[n] = '\0';
        return 0;
}

/* Names here are device, driver and group names: short, and refused whole when not. */
static int copy_name(char *dst, size_t size, const char *src)
{
        size_t len = strlen(src);

        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(dst, src, len + 1);
        return 0;
}

/* Last component of the link's target into buf; "" when there is no link. */
static int link_name(const char *path, char *buf, size_t size)
{
        char target[PATH_MAX];
        ssize_t n = readlinkat(sysfs, path, target, sizeof(target) - 1);
        const char *slash;

        if (n < 0) {
                if (errno != ENOENT)
                        return fail("readlink", path, errno);
                buf[0] = '\0';
                return 0;
        }
        target[n] = '\0';
        slash = strrchr(target, '/');
        return copy_name(buf, size, slash ? slash + 1 : target);
}

/* Reads every entry of a directory below sysfs; returns the number of entries. */
static int list_dir(const char *path, char names[][64], size_t max)
{
        int fd = openat(sysfs, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir;
        struct dirent *de;
        size_t n = 0;
        int r = 0;

        if (fd < 0)
                return fail("open", path, errno);
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return fail("opendir", path, errno);
        }
        while (r >= 0 && (de = readdir(dir)))
                if (de->d_name[0] != '.' && names && n < max)
                        r = copy_name(names[n++], 64, de->d_name);
        closedir(dir);
        return r < 0 ? r : (int)n;
}

/* The write-to-temp, fsync, rename, fsync-the-directory record of a transaction step. */
static int journal_write(const char *group, const char *state, char members[][64], int n)
{
        char tmp[128], name[128], text[4096];
        size_t len;
        int fd;

        snprintf(tmp, sizeof(tmp), "%s.txn.tmp", group);
        snprintf(name, sizeof(name), "%s.txn", group);
        len = (size_t)snprintf(text, sizeof(text), "state=%s\n", state);
        for (int i = 0; i < n && len < sizeof(text); i++)
                len += (size_t)snprintf(text + len, sizeof(text) - len, "member=%s\n", members[i]);
        fd = openat(journal, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return fail("create", tmp, errno);
        if (write(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
                close(fd);
                return fail("write", tmp, errno);
        }
        close(fd);
        if (renameat(journal, tmp, journal, name) < 0)
                return fail("rename", tmp, errno);
        if (fsync(journal) < 0)
                return fail("fsync", "journal directory", errno);
        return 0;
}

static int window(bool close_it)
{
        char value[16];
        int r;

        if (close_it) {
                r = read_attr("bus/pci/drivers_autoprobe", value, sizeof(value));
                if (r < 0)
                        return r;
        }
        r = list_dir("bus/pci/devices", NULL, 0);
        if (r < 0)
                return r;
        return write_attr("bus/pci/drivers_autoprobe", close_it ? "0" : "1");
}

/* The plan's reads: the device, its group, each member's driver and override. */
static int plan(const char *device, char *group, size_t group_size, char members[][64],
                char drivers[][64])
{
        char path[PATH_MAX], value[256];
        struct stat st;
        int n, r;

        snprintf(path, sizeof(path), "bus/pci/devices/%s", device);
        if (fstatat(sysfs, path, &st, 0) < 0)
                return fail("stat", path, errno);
        snprintf(path, sizeof(path), "bus/pci/devices/%s/iommu_group", device);
        r = link_name(path, group, group_size);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "kernel/iommu_groups/%s/devices", group);
        n = list_dir(path, members, MAX_MEMBERS);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "bus/pci/devices/%s/driver", members[i]);
                r = link_name(path, drivers[i], 64);
                if (r < 0)
                        return r;
                snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", members[i]);
                r = read_attr(path, value, sizeof(value));
                if (r < 0)
                        return r;
        }
        return n;
}

static int probe_and_verify(const char *member, const char *want)
{
        char path[PATH_MAX], driver[64];
        int r;

        /* Succeeds also when no driver claims the device (an edu on release). */
        r = write_attr("bus/pci/drivers_probe", member);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "bus/pci/devices/%s/driver", member);
        r = link_name(path, driver, sizeof(driver));
        if (r < 0)
                return r;
        if (want && strcmp(driver, want) != 0) {
                fprintf(stderr, "transaction-floor: %s: driver \"%s\", want \"%s\"\n", member,
                        driver, want);
                return -EIO;
        }
        return 0;
}

/* The opening every transaction shares: plan, journal the intent, close the hotplug window.
 * Returns the number of members. */
static int begin(const char *device, const char *state, char *group, size_t group_size,
                 char members[][64], char drivers[][64])
{
        int n, r;

        n = plan(device, group, group_size, members, drivers);
        if (n < 0)
                return n;
        r = journal_write(group, state, members, n);
        if (r >= 0)
                r = window(true);
        return r < 0 ? r : n;
}

static int assign(const char *device)
{
        char group[32], members[MAX_MEMBERS][64], drivers[MAX_MEMBERS][64], path[PATH_MAX];
        _cleanup_(closep) int node = -1;
        struct vfio_group_status status = {.argsz = sizeof(status)};
        int n, r = 0;

        n = begin(device, "assigning", group, sizeof(group), members, drivers);
        if (n < 0)
                return n;
        for (int i = 0; r >= 0 && i < n; i++) {
                snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", members[i]);
                r = write_attr(path, "vfio-pci");
                if (r >= 0 && drivers[i][0]) {
                        snprintf(path, sizeof(path), "bus/pci/drivers/%s/unbind", drivers[i]);
                        r = write_attr(path, members[i]);
                }
        }
        for (int i = 0; r >= 0 && i < n; i++)
                r = probe_and_verify(members[i], "vfio-pci");
        if (r >= 0)
                r = window(false);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/dev/vfio/%s", group);
        node = open(path, O_RDWR | O_CLOEXEC);
        if (node < 0)
                return fail("open", path, errno);
        if (ioctl(node, VFIO_GROUP_GET_STATUS, &status) < 0)
                return fail("GET_STATUS", path, errno);
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                return fail("viable", path, EBUSY);
        return journal_write(group, "committed", members, n);
}

static int release(const char *device)
{
        char group[32], members[MAX_MEMBERS][64], drivers[MAX_MEMBERS][64], path[PATH_MAX];
        int n, r = 0;

        n = begin(device, "releasing", group, sizeof(group), members, drivers);
        if (n < 0)
                return n;
        for (int i = 0; r >= 0 && i < n; i++) {
                if (strcmp(drivers[i], "vfio-pci") == 0)
                        r = write_attr("bus/pci/drivers/vfio-pci/unbind", members[i]);
                snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", members[i]);
                if (r >= 0)
                        r = write_attr(path, "\n");
        }
        /* Whichever host driver claims it (the one it came from, for these devices). */
        for (int i = 0; r >= 0 && i < n; i++)
                r = probe_and_verify(members[i], NULL);
        if (r >= 0)
                r = window(false);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s.txn", group);
        if (unlinkat(journal, path, 0) < 0)
                return fail("unlink", path, errno);
        return fsync(journal) < 0 ? fail("fsync", "journal directory", errno) : 0;
}

static bool inside_vm_guest(void)
{
        char cmdline[4096];
        _cleanup_(closep) int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0 || (n = read(fd, cmdline, sizeof(cmdline) - 1)) <= 0)
                return false;
        cmdline[n] = '\0';
        return strstr(cmdline, "vfiod_vm.guest=1") != NULL;
}

static double now(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[])
{
        bool do_assign;
        double start;

        if (argc < 4 || (strcmp(argv[1], "assign") != 0 && strcmp(argv[1], "release") != 0)) {
                fprintf(stderr, "Usage: transaction-floor assign|release JOURNAL-DIR DEVICE...\n");
                return 1;
        }
        if (!inside_vm_guest()) {
                fprintf(stderr, "transaction-floor: writes sysfs; runs only in a tests/vm guest\n");
                return 1;
        }
        do_assign = strcmp(argv[1], "assign") == 0;
        sysfs = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        journal = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sysfs < 0 || journal < 0) {
                fprintf(stderr, "transaction-floor: open /sys or %s: %s\n", argv[2],
                        strerror(errno));
                return 1;
        }
        start = now();
        for (int i = 3; i < argc; i++)
                if ((do_assign ? assign(argv[i]) : release(argv[i])) < 0)
                        return 2;
        printf("%.6f\n", now() - start);
        return 0;
}
