/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiod-batch: one batch of concurrent requests to vfiod, for the benchmark. All AssignDevice
 * (lifetime "persistent") or ReleaseDevice calls go out at once on one connection and the tool
 * waits for every reply, so vfiod may move the groups in parallel. The group fds that come back
 * are closed at once: the assignments are persistent. Prints one line per failed request and
 * exits non-zero if any failed.
 *
 *   vfiod-batch assign DEVICE...
 *   vfiod-batch release DEVICE...
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

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

static int send_request(sd_bus *bus, bool assign, request *req)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.vfiod1", "/org/vfiod1",
                                           "org.vfiod1.Manager",
                                           assign ? "AssignDevice" : "ReleaseDevice");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", req->device);
        if (r >= 0 && assign)
                r = sd_bus_message_append(m, "a{sv}", 1, "lifetime", "s", "persistent");
        if (r < 0)
                return r;
        /* Generous: under TCG 16+ groups take a while even in parallel. */
        /* A floating slot: the bus owns it and frees it with the reply or the connection. */
        return sd_bus_call_async(bus, NULL, m, on_reply, req, 300 * 1000 * 1000ULL);
}

static bool all_done(const request *reqs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!reqs[i].done)
                        return false;
        return true;
}

int main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(freep) request *reqs = NULL;
        size_t n, failed = 0;
        bool assign;
        int r;

        if (argc < 3 || (strcmp(argv[1], "assign") != 0 && strcmp(argv[1], "release") != 0)) {
                fprintf(stderr, "Usage: vfiod-batch assign|release DEVICE...\n");
                return 1;
        }
        assign = strcmp(argv[1], "assign") == 0;
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
        for (size_t i = 0; i < n; i++) {
                reqs[i].device = argv[i + 2];
                r = send_request(bus, assign, &reqs[i]);
                if (r < 0) {
                        fprintf(stderr, "vfiod-batch: sending for %s: %s\n", argv[i + 2],
                                strerror(-r));
                        return 1;
                }
        }
        while (!all_done(reqs, n)) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "vfiod-batch: bus: %s\n", strerror(-r));
                        return 1;
                }
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return 1;
        }
        for (size_t i = 0; i < n; i++)
                if (reqs[i].failed)
                        failed++;
        return failed ? 2 : 0;
}
