/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-client: the VM tier's unprivileged VFIO user. It asks vfiod for a device with plain sd-bus
 * calls (as any program not using libvfiod would), then proves that the group fd it received is
 * the real thing: GET_STATUS viable, SET_CONTAINER, SET_IOMMU type1v2, GET_DEVICE_FD for the
 * device and any peers named, and the vendor/device ids read from config space through each
 * device fd. Finally it closes everything and calls ReleaseDevice, unless told to hold the
 * device until killed or to leave without releasing; --wait-release holds it until SIGUSR1, so a
 * script can look at the kernel's state in between and still see the client release it.
 *
 * One "key=value" line per step on stdout, flushed, so guest scripts can assert on them and wait
 * for "holding". Exit status: 0 success, 1 usage or local error, 2 vfiod answered with a D-Bus
 * error (printed as "error name=..."), 3 the VFIO proof failed.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "macros.h"

enum {
        EXIT_USAGE = 1,
        EXIT_DBUS = 2,
        EXIT_VFIO = 3,
};

typedef struct {
        const char *bus_address;
        char **options; /* KEY=VALUE as given, NULL-terminated */
        size_t n_options;
        bool hold;
        bool keep;
        bool wait_release;
        const char *device;
        char **peers;
} client_args;

static void say(const char *fmt, ...) _printf_(1, 2);
static void say(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static int bus_connect(const char *address, sd_bus **ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (!address)
                return sd_bus_open_system(ret);
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

/* Options travel as strings, except the ones the API defines as uint32. */
static int append_options(sd_bus_message *m, char **options)
{
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (char **o = options; r >= 0 && o && *o; o++) {
                _cleanup_(freep) char *key = NULL;
                const char *eq = strchr(*o, '=');

                if (!eq)
                        return -EINVAL;
                key = strndup(*o, eq - *o);
                if (!key)
                        return -ENOMEM;
                if (strcmp(key, "owner-uid") == 0 || strcmp(key, "timeout-ms") == 0) {
                        char *end;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(eq + 1, &end, 0);
                        if (errno || *end || end == eq + 1 || v > UINT32_MAX)
                                return -EINVAL;
                        r = sd_bus_message_append(m, "{sv}", key, "u", (uint32_t)v);
                } else
                        r = sd_bus_message_append(m, "{sv}", key, "s", eq + 1);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int report_bus_error(const char *what, const sd_bus_error *error, int r)
{
        if (sd_bus_error_is_set(error)) {
                say("error name=%s", error->name);
                fprintf(stderr, "vfio-client: %s: %s: %s\n", what, error->name,
                        error->message ?: "");
        } else
                fprintf(stderr, "vfio-client: %s: %s\n", what, strerror(-r));
        return r;
}

/* AssignDevice(s device, a{sv} options) -> (h group_fd, o device); *ret_fd is our own dup. */
static int assign(sd_bus *bus, const char *device, char **options, int *ret_fd)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *path;
        int fd, r;

        r = sd_bus_message_new_method_call(bus, &m, "org.vfiod1", "/org/vfiod1",
                                           "org.vfiod1.Manager", "AssignDevice");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", device);
        if (r >= 0)
                r = append_options(m, options);
        if (r < 0)
                return report_bus_error("building AssignDevice", &error, r);
        /* Assignments under TCG are slow; wait as long as vfiod's own unbind timeouts. */
        r = sd_bus_call(bus, m, 120 * 1000 * 1000ULL, &error, &reply);
        if (r < 0)
                return report_bus_error("AssignDevice", &error, r);
        r = sd_bus_message_read(reply, "ho", &fd, &path);
        if (r < 0)
                return report_bus_error("reading the AssignDevice reply", &error, r);
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return report_bus_error("dup of the group fd", &error, -errno);
        say("assigned group_fd=%d object=%s", fd, path);
        *ret_fd = fd;
        return 0;
}

static int release(sd_bus *bus, const char *device)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, "org.vfiod1", "/org/vfiod1", "org.vfiod1.Manager",
                               "ReleaseDevice", &error, &reply, "s", device);
        if (r < 0)
                return report_bus_error("ReleaseDevice", &error, r);
        say("released device=%s", device);
        return 0;
}

static int vfio_fail(const char *what)
{
        int r = -errno;

        say("vfio-failed step=%s errno=%d", what, -r);
        fprintf(stderr, "vfio-client: %s: %s\n", what, strerror(-r));
        return r;
}

/* The group fd is only useful once it is viable and in a type1v2 container. */
static int attach_container(int group_fd, int *ret_container)
{
        struct vfio_group_status status = {.argsz = sizeof(status)};
        _cleanup_(closep) int container = -EBADF;

        if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
                return vfio_fail("GET_STATUS");
        say("group status=0x%x viable=%s", status.flags,
            status.flags & VFIO_GROUP_FLAGS_VIABLE ? "yes" : "no");
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
                errno = EPERM;
                return vfio_fail("viable");
        }

        container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        if (container < 0)
                return vfio_fail("open /dev/vfio/vfio");
        if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
                errno = ENOTSUP;
                return vfio_fail("CHECK_EXTENSION type1v2");
        }
        if (ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container) < 0)
                return vfio_fail("SET_CONTAINER");
        say("container set=ok");
        if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
                return vfio_fail("SET_IOMMU");
        say("iommu type=type1v2");
        *ret_container = TAKE_FD(container);
        return 0;
}

/* GET_DEVICE_FD, then vendor and device id from the config region through that fd. */
static int open_device(int group_fd, const char *name, int *ret_fd)
{
        struct vfio_region_info region = {
            .argsz = sizeof(region),
            .index = VFIO_PCI_CONFIG_REGION_INDEX,
        };
        _cleanup_(closep) int fd = -EBADF;
        uint16_t ids[2];
        ssize_t n;

        fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
        if (fd < 0)
                return vfio_fail("GET_DEVICE_FD");
        if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &region) < 0)
                return vfio_fail("GET_REGION_INFO config");
        n = pread(fd, ids, sizeof(ids), (off_t)region.offset);
        if (n != (ssize_t)sizeof(ids)) {
                if (n >= 0)
                        errno = EIO;
                return vfio_fail("read config space");
        }
        /* PCI config space is little endian; so is every host this tier runs on. */
        say("device name=%s fd=%d vendor=0x%04x device=0x%04x", name, fd, ids[0], ids[1]);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int run(const client_args *a)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(closep) int group_fd = -EBADF, container = -EBADF;
        _cleanup_(freep) int *device_fds = NULL;
        size_t n_peers = 0;
        int r;

        while (a->peers && a->peers[n_peers])
                n_peers++;
        device_fds = malloc((n_peers + 1) * sizeof(int));
        if (!device_fds)
                return EXIT_USAGE;
        for (size_t i = 0; i <= n_peers; i++)
                device_fds[i] = -EBADF;

        r = bus_connect(a->bus_address, &bus);
        if (r < 0) {
                fprintf(stderr, "vfio-client: cannot connect to the bus: %s\n", strerror(-r));
                return EXIT_USAGE;
        }
        r = assign(bus, a->device, a->options, &group_fd);
        if (r < 0)
                return EXIT_DBUS;

        r = attach_container(group_fd, &container);
        for (size_t i = 0; r >= 0 && i <= n_peers; i++)
                r = open_device(group_fd, i == 0 ? a->device : a->peers[i - 1], &device_fds[i]);
        if (r >= 0 && a->hold) {
                say("holding");
                for (;;)
                        pause();
        }
        if (r >= 0 && a->wait_release) {
                sigset_t usr1;
                int sig;

                /* SIGUSR1 is blocked since main(), so one sent before we get here is not lost. */
                sigemptyset(&usr1);
                sigaddset(&usr1, SIGUSR1);
                say("waiting");
                (void)sigwait(&usr1, &sig);
        }
        for (size_t i = 0; i <= n_peers; i++)
                safe_close(device_fds[i]);
        group_fd = safe_close(group_fd);
        container = safe_close(container);
        if (r < 0)
                return EXIT_VFIO;
        if (a->keep) {
                say("kept");
                return 0;
        }
        /* Every fd is closed first: vfio-pci's unbind waits for open device fds. */
        return release(bus, a->device) < 0 ? EXIT_DBUS : 0;
}

static void usage(FILE *f)
{
        fputs("Usage: vfio-client [--bus-address=ADDR] [--option=KEY=VALUE]...\n"
              "                   [--hold|--keep|--wait-release] DEVICE [PEER...]\n"
              "Assigns DEVICE through vfiod, proves the group fd with VFIO ioctls on DEVICE and\n"
              "on each PEER of its group, then releases it. --hold keeps everything open until\n"
              "killed; --keep exits without ReleaseDevice; --wait-release releases on SIGUSR1.\n",
              f);
}

int main(int argc, char *argv[])
{
        static const struct option longopts[] = {
            {"bus-address", required_argument, NULL, 'b'},
            {"option", required_argument, NULL, 'o'},
            {"hold", no_argument, NULL, 'H'},
            {"keep", no_argument, NULL, 'k'},
            {"wait-release", no_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        _cleanup_(freep) char **options = calloc(argc + 1, sizeof(char *));
        client_args a = {};
        int c;

        if (!options)
                return EXIT_USAGE;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case 'b':
                        a.bus_address = optarg;
                        break;
                case 'o':
                        if (!strchr(optarg, '=')) {
                                fprintf(stderr, "vfio-client: --option wants KEY=VALUE\n");
                                return EXIT_USAGE;
                        }
                        options[a.n_options++] = optarg;
                        break;
                case 'H':
                        a.hold = true;
                        break;
                case 'k':
                        a.keep = true;
                        break;
                case 'w':
                        a.wait_release = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc || a.hold + a.keep + a.wait_release > 1) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (a.wait_release) {
                sigset_t usr1;

                sigemptyset(&usr1);
                sigaddset(&usr1, SIGUSR1);
                sigprocmask(SIG_BLOCK, &usr1, NULL);
        }
        options[a.n_options] = NULL;
        a.options = options;
        a.device = argv[optind];
        a.peers = argv + optind + 1;
        return run(&a);
}
