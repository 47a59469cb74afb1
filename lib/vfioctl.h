/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the parts of vfioctl. vfioctl uses libvfiod and libc only. */

#include <stdbool.h>
#include <stdio.h>

#include "vfiod.h"

/* The exit codes scripts may rely on; `vfioctl --help` lists them from exit_code_table. */
typedef enum exit_code {
        EXIT_OK = 0,
        EXIT_USAGE = 1,       /* bad command line, or an argument the daemon rejected */
        EXIT_NO_DEVICE = 2,   /* no such device */
        EXIT_ACCESS = 3,      /* not authorized (polkit said no, or someone else's lease) */
        EXIT_BUSY = 4,        /* the group is assigned to someone else or in use */
        EXIT_BLOCKED = 5,     /* not possible in this state: not assignable, blockers, ... */
        EXIT_FAILED = 6,      /* the transaction failed and was rolled back, or timed out */
        EXIT_UNREACHABLE = 7, /* the daemon or the bus cannot be reached */
} exit_code;

struct exit_code_doc {
        exit_code code;
        const char *meaning;
};
extern const struct exit_code_doc exit_code_table[];

/* Maps a libvfiod failure (its D-Bus error name if any, else its errno) to an exit code. */
exit_code exit_code_for(vfiod_client *client, int r);

/* Prints "vfioctl: WHAT: <daemon message or strerror> (<error name>)" to stderr. */
void print_failure(vfiod_client *client, int r, const char *what);

/* Output (vfioctl-output.c). */
void json_print_string(FILE *f, const char *s);
void print_device_row_header(FILE *f);
void print_device_row(FILE *f, const vfiod_device *d);
void print_device_details(FILE *f, const vfiod_device *d);
void print_device_json(FILE *f, const vfiod_device *d);
void print_plan(FILE *f, const vfiod_plan *plan);

/*
 * assign DEV -- COMMAND (vfioctl-run.c): takes a client lease, runs @command with the group fd
 * inherited, forwards signals, releases when it exits. Returns the command's exit status
 * (128+N if a signal N killed it), or an exit_code if the assignment or release failed.
 */
int run_with_lease(vfiod_client *client, const char *device, const vfiod_assign_options *options,
                   char **command);
