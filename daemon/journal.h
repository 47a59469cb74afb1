/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The journal: one record per IOMMU group the engine has touched, in
 * <runtime_dir>/journal/<group>.txn. A record holds everything needed to put the group back
 * where it was without asking the kernel what "before" looked like: every member's previous
 * driver and override, the bus autoprobe value before the window closed, the console state.
 *
 * On-disk format (version 1), one "key=value" per line, in this order:
 *
 *   vfiod-journal-v1
 *   state=assigning|committed|releasing
 *   group=<n>
 *   bus=pci|platform|amba
 *   driver=<vfio driver>
 *   lifetime=client|persistent
 *   owner=<unique bus name>|-
 *   caller-uid=<uid>|-
 *   node-uid=<uid>|-
 *   autoprobe=0|1
 *   console=taken|untouched
 *   vtcon=<id>                                     (zero or more)
 *   member=<name> moved|added <driver>|- <override>|-   (one or more)
 *   end
 *
 * Values are escaped: '\\', ' ', '=', control characters and bytes >= 0x80 are written as
 * "\xHH", and a value that is literally "-" is written "\x2d" ("-" alone means none). Parsing is
 * strict: anything unexpected is -EBADMSG with the line number, never a guess.
 */

#include <stdbool.h>
#include <stddef.h>

#include "device.h"
#include "engine.h"

typedef enum record_state {
        RECORD_ASSIGNING,
        RECORD_COMMITTED,
        RECORD_RELEASING,
        _RECORD_STATE_MAX,
} record_state;

const char *record_state_to_string(record_state s);

typedef struct record_member {
        vk_device_id id;
        bool added;   /* appeared in the group after it was fenced: it had no driver to return to */
        char *driver; /* the driver before the assignment; NULL when it was unbound */
        char *override; /* driver_override before the assignment; NULL when unset */
} record_member;

typedef struct record {
        record_state state;
        vk_bus bus;
        bool autoprobe;     /* drivers_autoprobe before any of our windows closed it */
        bool console_taken; /* binding removed a host console (console=takeover) */
        char **vtconsoles;  /* vtconsoles bound before the assignment */
        record_member *members;
        size_t n_members;
        /* group, qualified member names and the lease; a.lease.driver is the VFIO driver. */
        engine_assignment a;

        /* In memory only: the group is on its way back to the host (rollback, release, or a
         * record left by one that could not finish), so devices appearing in it are not fenced. */
        bool returning;
} record;

int record_new(int group, vk_bus bus, const lease_info *lease, const char *driver, record **ret);
record *record_free(record *r);
static inline void record_freep(record **r)
{
        record_free(*r);
}
/* Appends a member (and its qualified name to a.members). NULL or "" driver/override = none. */
int record_add_member(record *r, const vk_device_id *id, bool added, const char *driver,
                      const char *override);
record_member *record_find_member(record *r, const vk_device_id *id);
static inline const char *record_driver(const record *r)
{
        return r->a.lease.driver;
}

/* Text form of a record; journal_parse(journal_format(r)) yields an equal record. */
int journal_format(const record *r, char **ret);
/* Parses a record. -EBADMSG on any deviation from the format; *ret_line (optional) is then the
 * 1-based line at fault (0 for problems of the whole file, e.g. a missing "end"). */
int journal_parse(const char *text, size_t size, record **ret, unsigned *ret_line);

/* "<group>.txn" names only; -EINVAL for anything else. */
int journal_filename_parse(const char *name, int *ret_group);

/* Writes <group>.txn.tmp, fsyncs it, renames it over <group>.txn and fsyncs the directory. */
int journal_save(int dirfd, const record *r);
/* Reads and parses <group>.txn. -ENOENT when absent, -EBADMSG (with *ret_line) when malformed. */
int journal_load(int dirfd, int group, record **ret, unsigned *ret_line);
/* Removes <group>.txn (absent is fine) and fsyncs the directory. */
int journal_remove(int dirfd, int group);
/* The groups that have a record, sorted; stale "*.txn.tmp" files from an interrupted write
 * are removed (their rename never happened, so the record they were replacing is current).
 * Names that are neither are returned in *ret_foreign (optional) so the caller can report them. */
int journal_list(int dirfd, int **ret_groups, size_t *ret_n, char ***ret_foreign);
