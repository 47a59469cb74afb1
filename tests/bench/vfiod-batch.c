/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiod-batch: requests to vfiod from one connection, for the benchmark. All AssignDevice
 * (lifetime "persistent") or ReleaseDevice calls go out at once and the tool waits for every
 * reply, so vfiod may move the groups in parallel; with --sequential each call waits for the
 * reply to the one before (what a client process per call costs is then left out). The group
 * fds that come back are closed at once: the assignments are persistent. Prints one line per
 * failed request and exits non-zero if any failed.
 *
 *   vfiod-batch [--sequential] assign DEVICE...
 *   vfiod-batch [--sequential] release DEVICE...
 *   vfiod-batch [--sequential] ping DEVICE...
 *
 * "ping" sends org.freedesktop.DBus.Peer.Ping to vfiod once per DEVICE (sd-bus answers it
 * without any work of vfiod's): the floor a call through the bus costs.
 *
 * On success it prints one line, the seconds from the first request sent to the last reply
 * read. That leaves out starting this process and connecting to the bus, which under TCG cost
 * more than a whole raw sysfs loop and are no part of vfiod's answer (the raw loop is timed in
 * a shell that is already running, too).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "macros.h"

typedef struct {
        const char *device;
        bool done;
        bool failed;
} request;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        request *req = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        req->done = true;
        if (e) {
                req->failed = true;
                fprintf(stderr, "vfiod-batch: %s: %s: %s\n", req->device, e->name,
                        e->message ?: "");
        }
        /* A successful AssignDevice carries a group fd; sd-bus closes it with the message. */
        return 0;
}

typedef enum mode { MODE_ASSIGN, MODE_RELEASE, MODE_PING } mode;

static int send_request(sd_bus *bus, mode how, request *req)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        bool assign = how == MODE_ASSIGN;
        int r;

        if (how == MODE_PING)
                r = sd_bus_message_new_method_call(bus, &m, "org.vfiod1", "/org/vfiod1",
                                                   "org.freedesktop.DBus.Peer", "Ping");
        else
                r = sd_bus_message_new_method_call(bus, &m, "org.vfiod1", "/org/vfiod1",
                                                   "org.vfiod1.Manager",
                                                   assign ? "AssignDevice" : "ReleaseDevice");
        if (r < 0)
                return r;
        if (how != MODE_PING)
                r = sd_bus_message_append(m, "s", req->device);
        if (r >= 0 && assign)
                r = sd_bus_message_append(m, "a{sv}", 1, "lifetime", "s", "persistent");
        if (r < 0)
                return r;
        /* Generous: under TCG 16+ groups take a while even in parallel. */
        /* A floating slot: the bus owns it and frees it with the reply or the connection. */
        return sd_bus_call_async(bus, NULL, m, on_reply, req, 300 * 1000 * 1000ULL);
}

static double now(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool all_done(const request *reqs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!reqs[i].done)
                        return false;
        return true;
}

/* Processes the bus until every one of reqs[0..n) has its reply. */
static int wait_replies(sd_bus *bus, const request *reqs, size_t n)
{
        int r;

        while (!all_done(reqs, n)) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r == 0) {
                        r = sd_bus_wait(bus, UINT64_MAX);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(freep) request *reqs = NULL;
        bool sequential = false;
        const char *unique;
        double start;
        mode how;
        size_t n, failed = 0;
        int r;

        if (argc > 1 && strcmp(argv[1], "--sequential") == 0) {
                sequential = true;
                argv++;
                argc--;
        }
        if (argc >= 3 && strcmp(argv[1], "assign") == 0)
                how = MODE_ASSIGN;
        else if (argc >= 3 && strcmp(argv[1], "release") == 0)
                how = MODE_RELEASE;
        else if (argc >= 3 && strcmp(argv[1], "ping") == 0)
                how = MODE_PING;
        else {
                fprintf(stderr,
                        "Usage: vfiod-batch [--sequential] assign|release|ping DEVICE...\n");
                return 1;
        }
        n = (size_t)argc - 2;
        reqs = calloc(n, sizeof(request));
        if (!reqs)
                return 1;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "vfiod-batch: cannot connect to the system bus: %s\n",
                        strerror(-r));
                return 1;
        }
        /* The connection is set up lazily; its unique name is known once Hello is answered. */
        r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0) {
                fprintf(stderr, "vfiod-batch: the bus did not answer Hello: %s\n", strerror(-r));
                return 1;
        }
        start = now();
        for (size_t i = 0; i < n; i++) {
                reqs[i].device = argv[i + 2];
                r = send_request(bus, how, &reqs[i]);
                if (r < 0) {
                        fprintf(stderr, "vfiod-batch: sending for %s: %s\n", argv[i + 2],
                                strerror(-r));
                        return 1;
                }
                if (sequential && (r = wait_replies(bus, &reqs[i], 1)) < 0) {
                        fprintf(stderr, "vfiod-batch: bus: %s\n", strerror(-r));
                        return 1;
                }
        }
        r = wait_replies(bus, reqs, n);
        if (r < 0) {
                fprintf(stderr, "vfiod-batch: bus: %s\n", strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < n; i++)
                if (reqs[i].failed)
                        failed++;
        if (failed)
                return 2;
        printf("%.6f\n", now() - start);
        return 0;
}
