/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "macros.h"
#include "sysfs.h"

#define JOURNAL_MAGIC    "vfiod-journal-v1"
#define JOURNAL_SIZE_MAX (1024 * 1024)
/* The kernel refuses overrides of PAGE_SIZE - 1 bytes and more (driver_set_override). */
#define OVERRIDE_MAX 4095

static const char *const state_names[_RECORD_STATE_MAX] = {
    [RECORD_ASSIGNING] = "assigning",
    [RECORD_COMMITTED] = "committed",
    [RECORD_RELEASING] = "releasing",
};

const char *record_state_to_string(record_state s)
{
        if (s < 0 || s >= _RECORD_STATE_MAX)
                return NULL;
        return state_names[s];
}

int record_new(int group, vk_bus bus, const lease_info *lease, const char *driver, record **ret)
{
        _cleanup_(record_freep) record *r = NULL;

        if (group < 0 || !vk_bus_to_string(bus) || !lease || !driver || !ret)
                return -EINVAL;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->bus = bus;
        r->autoprobe = true;
        r->a.group = group;
        r->a.lease.lifetime = lease->lifetime;
        r->a.lease.owner_uid_caller = lease->owner_uid_caller;
        r->a.lease.node_uid = lease->node_uid;
        if (free_and_strdup(&r->a.lease.owner, lease->owner) < 0 ||
            free_and_strdup(&r->a.lease.driver, driver) < 0)
                return -ENOMEM;
        r->a.members = calloc(1, sizeof(char *));
        if (!r->a.members)
                return -ENOMEM;

        *ret = TAKE_PTR(r);
        return 0;
}

record *record_free(record *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_members; i++) {
                free(r->members[i].driver);
                free(r->members[i].override);
        }
        free(r->members);
        strv_free(r->vtconsoles);
        strv_free(r->a.members);
        lease_info_done(&r->a.lease);
        free(r);
        return NULL;
}

static const char *empty_to_null(const char *s)
{
        return s && *s ? s : NULL;
}

int record_add_member(record *r, const vk_device_id *id, bool added, const char *driver,
                      const char *override)
{
        _cleanup_(freep) char *qualified = NULL, *d = NULL, *o = NULL;
        record_member *m;
        int r_;

        if (!r || !id || id->bus != r->bus)
                return -EINVAL;
        if (record_find_member(r, id))
                return -EEXIST;

        if (asprintf(&qualified, "%s:%s", vk_bus_to_string(id->bus), id->name) < 0)
                return -ENOMEM;
        if (free_and_strdup(&d, empty_to_null(driver)) < 0 ||
            free_and_strdup(&o, empty_to_null(override)) < 0)
                return -ENOMEM;

        m = realloc(r->members, sizeof(*m) * (r->n_members + 1));
        if (!m)
                return -ENOMEM;
        r->members = m;

        r_ = strv_extend(&r->a.members, qualified);
        if (r_ < 0)
                return r_;

        r->members[r->n_members++] = (record_member){
            .id = *id,
            .added = added,
            .driver = TAKE_PTR(d),
            .override = TAKE_PTR(o),
        };
        return 0;
}

record_member *record_find_member(record *r, const vk_device_id *id)
{
        for (size_t i = 0; i < r->n_members; i++)
                if (vk_device_id_equal(&r->members[i].id, id))
                        return &r->members[i];
        return NULL;
}

/* ---- writing ---- */

static bool needs_escape(unsigned char c)
{
        return c <= 0x20 || c >= 0x7f || c == '\\' || c == '=';
}

/* Writes s escaped; NULL as "-". */
static void put_value(FILE *f, const char *s)
{
        if (!s) {
                fputc('-', f);
                return;
        }
        if (streq(s, "-")) {
                fputs("\\x2d", f);
                return;
        }
        for (const unsigned char *c = (const unsigned char *)s; *c; c++)
                if (needs_escape(*c))
                        fprintf(f, "\\x%02x", *c);
                else
                        fputc(*c, f);
}

static void put_uid(FILE *f, uid_t uid)
{
        if (uid == UID_INVALID)
                fputc('-', f);
        else
                fprintf(f, "%u", (unsigned)uid);
}

int journal_format(const record *r, char **ret)
{
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!r || !ret || !record_state_to_string(r->state) || !vk_bus_to_string(r->bus) ||
            !record_driver(r) || r->n_members == 0)
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fputs(JOURNAL_MAGIC "\n", f);
        fprintf(f, "state=%s\n", record_state_to_string(r->state));
        fprintf(f, "group=%d\n", r->a.group);
        fprintf(f, "bus=%s\n", vk_bus_to_string(r->bus));
        fputs("driver=", f);
        put_value(f, record_driver(r));
        fprintf(f, "\nlifetime=%s\n",
                r->a.lease.lifetime == LEASE_PERSISTENT ? "persistent" : "client");
        fputs("owner=", f);
        put_value(f, r->a.lease.owner);
        fputs("\ncaller-uid=", f);
        put_uid(f, r->a.lease.owner_uid_caller);
        fputs("\nnode-uid=", f);
        put_uid(f, r->a.lease.node_uid);
        fprintf(f, "\nautoprobe=%d\n", r->autoprobe ? 1 : 0);
        fprintf(f, "console=%s\n", r->console_taken ? "taken" : "untouched");
        for (char **v = r->vtconsoles; v && *v; v++) {
                fputs("vtcon=", f);
                put_value(f, *v);
                fputc('\n', f);
        }
        for (size_t i = 0; i < r->n_members; i++) {
                const record_member *m = &r->members[i];
                fputs("member=", f);
                put_value(f, m->id.name);
                fputs(m->added ? " added " : " moved ", f);
                put_value(f, m->driver);
                fputc(' ', f);
                put_value(f, m->override);
                fputc('\n', f);
        }
        fputs("end\n", f);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* ---- parsing ---- */

/*
 * Unescapes one field of length len. "-" yields NULL (when none_ok). Bytes that the writer
 * escapes must not appear raw, an escape must be complete and must not produce NUL.
 */
static int take_value(const char *s, size_t len, bool none_ok, size_t max, char **ret)
{
        _cleanup_(freep) char *out = NULL;
        size_t n = 0;

        if (len == 0)
                return -EBADMSG;
        if (len == 1 && s[0] == '-') {
                if (!none_ok)
                        return -EBADMSG;
                *ret = NULL;
                return 0;
        }

        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = s[i];
                if (c == '\\') {
                        int hi, lo;
                        if (len - i < 4)
                                return -EBADMSG;
                        if (s[i + 1] != 'x')
                                return -EBADMSG;
                        hi = unhexchar(s[i + 2]);
                        lo = unhexchar(s[i + 3]);
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                                return -EBADMSG;
                        out[n++] = (char)(hi * 16 + lo);
                        i += 3;
                } else if (needs_escape(c))
                        return -EBADMSG;
                else
                        out[n++] = (char)c;
        }
        out[n] = '\0';
        if (n > max)
                return -EBADMSG;
        *ret = TAKE_PTR(out);
        return 0;
}

/* A driver name ends up in a sysfs path (bus/<bus>/drivers/<name>/bind): one plain component. */
static bool driver_name_valid(const char *s)
{
        return s && *s && strlen(s) <= VK_NAME_MAX && !strchr(s, '/') && !streq(s, ".") &&
               !streq(s, "..");
}

static bool vtcon_id_valid(const char *s)
{
        if (strncmp(s, "vtcon", 5) != 0 || !s[5] || strlen(s) > 15)
                return false;
        for (const char *c = s + 5; *c; c++)
                if (*c < '0' || *c > '9')
                        return false;
        return true;
}

/* Canonical decimal: no sign, no leading zeros, at most max. */
static int parse_decimal(const char *s, size_t len, unsigned long max, unsigned long *ret)
{
        unsigned long v = 0;

        if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                v = v * 10 + (unsigned long)(s[i] - '0');
        }
        if (v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int parse_uid(const char *s, size_t len, uid_t *ret)
{
        unsigned long v;

        if (len == 1 && s[0] == '-') {
                *ret = UID_INVALID;
                return 0;
        }
        if (parse_decimal(s, len, (unsigned long)UID_INVALID - 1, &v) < 0)
                return -EBADMSG;
        *ret = (uid_t)v;
        return 0;
}

static bool value_is(const char *s, size_t len, const char *word)
{
        return strlen(word) == len && memcmp(s, word, len) == 0;
}

typedef struct parser {
        const char *p, *end;
        unsigned line;
        const char *key; /* of the current line */
        size_t key_len;
        const char *value;
        size_t value_len;
        bool truncated; /* ran out of complete lines */
} parser;

/* Advances to the next line; splits "key=value" (a line without '=' has only a key). */
static int next_line(parser *ps)
{
        const char *nl;

        nl = ps->p < ps->end ? memchr(ps->p, '\n', (size_t)(ps->end - ps->p)) : NULL;
        if (!nl) {
                ps->truncated = true;
                return -EBADMSG;
        }
        ps->line++;
        ps->key = ps->p;
        ps->value = memchr(ps->p, '=', (size_t)(nl - ps->p));
        if (ps->value) {
                ps->key_len = (size_t)(ps->value - ps->p);
                ps->value++;
                ps->value_len = (size_t)(nl - ps->value);
        } else {
                ps->key_len = (size_t)(nl - ps->p);
                ps->value_len = 0;
        }
        ps->p = nl + 1;
        return 0;
}

static bool key_is(const parser *ps, const char *key)
{
        return ps->value && value_is(ps->key, ps->key_len, key);
}

/* Reads the next line, which must be "key=..." with exactly this key. */
static int expect(parser *ps, const char *key)
{
        if (next_line(ps) < 0 || !key_is(ps, key))
                return -EBADMSG;
        return 0;
}

static int parse_member(record *r, const char *s, size_t len)
{
        _cleanup_(freep) char *name = NULL, *driver = NULL, *override = NULL;
        const char *field[4];
        size_t field_len[4], n = 0;
        const char *start = s;
        char qualified[VK_NAME_MAX + 16];
        vk_device_id id;
        bool added;

        /* Four fields separated by single spaces; an empty field is malformed (take_value). */
        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] != ' ')
                        continue;
                if (n == 4)
                        return -EBADMSG;
                field[n] = start;
                field_len[n] = (size_t)(s + i - start);
                n++;
                start = s + i + 1;
        }
        if (n != 4)
                return -EBADMSG;

        if (take_value(field[0], field_len[0], false, VK_NAME_MAX, &name) < 0)
                return -EBADMSG;
        if (value_is(field[1], field_len[1], "moved"))
                added = false;
        else if (value_is(field[1], field_len[1], "added"))
                added = true;
        else
                return -EBADMSG;
        if (take_value(field[2], field_len[2], true, VK_NAME_MAX, &driver) < 0 ||
            (driver && !driver_name_valid(driver)))
                return -EBADMSG;
        if (take_value(field[3], field_len[3], true, OVERRIDE_MAX, &override) < 0)
                return -EBADMSG;
        if (added && driver)
                return -EBADMSG;

        /* The name must be a valid kernel name on the record's bus, written the kernel's way. */
        snprintf(qualified, sizeof(qualified), "%s:%s", vk_bus_to_string(r->bus), name);
        if (vk_parse_device_name(qualified, strlen(qualified), &id) < 0 || id.bus != r->bus ||
            !streq(id.name, name))
                return -EBADMSG;

        if (record_add_member(r, &id, added, driver, override) < 0)
                return -EBADMSG;
        return 0;
}

static int parse_body(parser *ps, record **ret)
{
        _cleanup_(record_freep) record *r = NULL;
        _cleanup_(freep) char *driver = NULL, *owner = NULL;
        lease_info lease = {};
        record_state state = _RECORD_STATE_MAX;
        unsigned long group;
        vk_bus bus = _VK_BUS_INVALID;
        char busname[16] = "";
        int k;

        if (next_line(ps) < 0 || ps->value || !value_is(ps->key, ps->key_len, JOURNAL_MAGIC))
                return -EBADMSG;

        if (expect(ps, "state") < 0)
                return -EBADMSG;
        for (k = 0; k < _RECORD_STATE_MAX; k++)
                if (value_is(ps->value, ps->value_len, state_names[k]))
                        state = (record_state)k;
        if (state == _RECORD_STATE_MAX)
                return -EBADMSG;

        if (expect(ps, "group") < 0 || parse_decimal(ps->value, ps->value_len, INT_MAX, &group) < 0)
                return -EBADMSG;

        if (expect(ps, "bus") < 0 || ps->value_len >= sizeof(busname))
                return -EBADMSG;
        memcpy(busname, ps->value, ps->value_len);
        bus = vk_bus_from_string(busname);
        if (bus < 0)
                return -EBADMSG;

        if (expect(ps, "driver") < 0 ||
            take_value(ps->value, ps->value_len, false, VK_NAME_MAX, &driver) < 0 ||
            !driver_name_valid(driver))
                return -EBADMSG;

        if (expect(ps, "lifetime") < 0)
                return -EBADMSG;
        if (value_is(ps->value, ps->value_len, "client"))
                lease.lifetime = LEASE_CLIENT;
        else if (value_is(ps->value, ps->value_len, "persistent"))
                lease.lifetime = LEASE_PERSISTENT;
        else
                return -EBADMSG;

        if (expect(ps, "owner") < 0 ||
            take_value(ps->value, ps->value_len, true, VK_NAME_MAX, &owner) < 0)
                return -EBADMSG;
        lease.owner = owner;

        if (expect(ps, "caller-uid") < 0 ||
            parse_uid(ps->value, ps->value_len, &lease.owner_uid_caller) < 0)
                return -EBADMSG;
        if (expect(ps, "node-uid") < 0 || parse_uid(ps->value, ps->value_len, &lease.node_uid) < 0)
                return -EBADMSG;

        k = record_new((int)group, bus, &lease, driver, &r);
        if (k < 0)
                return k == -ENOMEM ? k : -EBADMSG;
        r->state = state;

        if (expect(ps, "autoprobe") < 0)
                return -EBADMSG;
        if (value_is(ps->value, ps->value_len, "0"))
                r->autoprobe = false;
        else if (value_is(ps->value, ps->value_len, "1"))
                r->autoprobe = true;
        else
                return -EBADMSG;

        if (expect(ps, "console") < 0)
                return -EBADMSG;
        if (value_is(ps->value, ps->value_len, "taken"))
                r->console_taken = true;
        else if (!value_is(ps->value, ps->value_len, "untouched"))
                return -EBADMSG;

        if (next_line(ps) < 0)
                return -EBADMSG;
        while (key_is(ps, "vtcon")) {
                _cleanup_(freep) char *id = NULL;
                if (take_value(ps->value, ps->value_len, false, 15, &id) < 0 ||
                    !vtcon_id_valid(id) || strv_contains(r->vtconsoles, id))
                        return -EBADMSG;
                k = strv_extend(&r->vtconsoles, id);
                if (k < 0)
                        return k;
                if (next_line(ps) < 0)
                        return -EBADMSG;
        }

        while (key_is(ps, "member")) {
                k = parse_member(r, ps->value, ps->value_len);
                if (k < 0)
                        return k;
                if (next_line(ps) < 0)
                        return -EBADMSG;
        }
        if (r->n_members == 0)
                return -EBADMSG;

        if (ps->value || !value_is(ps->key, ps->key_len, "end"))
                return -EBADMSG;
        if (ps->p != ps->end) {
                ps->line++;
                return -EBADMSG;
        }

        *ret = TAKE_PTR(r);
        return 0;
}

int journal_parse(const char *text, size_t size, record **ret, unsigned *ret_line)
{
        parser ps = {.p = text, .end = text + size};
        int r;

        if (!text || !ret)
                return -EINVAL;
        if (size > JOURNAL_SIZE_MAX || memchr(text, '\0', size)) {
                if (ret_line)
                        *ret_line = 0;
                return -EBADMSG;
        }

        r = parse_body(&ps, ret);
        if (r == -EBADMSG && ret_line)
                *ret_line = ps.truncated ? 0 : ps.line;
        return r;
}

/* ---- files ---- */

int journal_filename_parse(const char *name, int *ret_group)
{
        const char *dot;
        unsigned long group;

        if (!name || !ret_group)
                return -EINVAL;
        dot = strchr(name, '.');
        if (!dot || !streq(dot, ".txn") ||
            parse_decimal(name, (size_t)(dot - name), INT_MAX, &group) < 0)
                return -EINVAL;
        *ret_group = (int)group;
        return 0;
}

static int write_all(int fd, const char *buf, size_t size)
{
        while (size > 0) {
                ssize_t n = write(fd, buf, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                size -= (size_t)n;
        }
        return 0;
}

int journal_save(int dirfd, const record *r)
{
        _cleanup_(freep) char *text = NULL;
        _cleanup_(closep) int fd = -EBADF;
        char tmp[32], final[32];
        int k;

        if (dirfd < 0 || !r)
                return -EINVAL;
        k = journal_format(r, &text);
        if (k < 0)
                return k;

        snprintf(final, sizeof(final), "%d.txn", r->a.group);
        snprintf(tmp, sizeof(tmp), "%d.txn.tmp", r->a.group);

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        k = write_all(fd, text, strlen(text));
        if (k >= 0 && fsync(fd) < 0)
                k = -errno;
        if (k >= 0 && close(TAKE_FD(fd)) < 0)
                k = -errno;
        /* The rename makes the new record current all at once; the directory fsync makes it
         * survive a crash (it is what a daemon restart reads). */
        if (k >= 0 && renameat(dirfd, tmp, dirfd, final) < 0)
                k = -errno;
        if (k < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return k;
        }
        if (fsync(dirfd) < 0)
                return -errno;
        return 0;
}

int journal_load(int dirfd, int group, record **ret, unsigned *ret_line)
{
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        char name[32];
        size_t size = 0;
        struct stat st;
        int r;

        if (dirfd < 0 || group < 0 || !ret)
                return -EINVAL;
        snprintf(name, sizeof(name), "%d.txn", group);
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size > JOURNAL_SIZE_MAX) {
                if (ret_line)
                        *ret_line = 0;
                return -EBADMSG;
        }

        r = vk_read_fd_bounded(fd, JOURNAL_SIZE_MAX, &buf, &size);
        if (r == -EFBIG) {
                if (ret_line)
                        *ret_line = 0;
                return -EBADMSG;
        }
        if (r < 0)
                return r;
        return journal_parse(buf, size, ret, ret_line);
}

int journal_remove(int dirfd, int group)
{
        char name[32];

        if (dirfd < 0 || group < 0)
                return -EINVAL;
        snprintf(name, sizeof(name), "%d.txn", group);
        if (unlinkat(dirfd, name, 0) < 0) {
                if (errno == ENOENT)
                        return 0;
                return -errno;
        }
        if (fsync(dirfd) < 0)
                return -errno;
        return 0;
}

static int cmp_int(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;
        return (x > y) - (x < y);
}

static bool is_stale_tmp(const char *name)
{
        size_t len = strlen(name);
        char base[32];
        int group;

        if (len <= 4 || len - 4 >= sizeof(base) || !streq(name + len - 4, ".tmp"))
                return false;
        memcpy(base, name, len - 4);
        base[len - 4] = '\0';
        return journal_filename_parse(base, &group) >= 0;
}

int journal_list(int dirfd, int **ret_groups, size_t *ret_n, char ***ret_foreign)
{
        _cleanup_(freep) int *groups = NULL;
        _cleanup_(strv_freep) char **foreign = NULL;
        _cleanup_(closep) int fd = -EBADF;
        size_t n = 0;
        DIR *d;
        int k = 0;

        if (dirfd < 0 || !ret_groups || !ret_n)
                return -EINVAL;

        /* fdopendir takes the fd; keep dirfd for the caller. */
        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                int group;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (journal_filename_parse(de->d_name, &group) >= 0) {
                        int *g = realloc(groups, sizeof(int) * (n + 1));
                        if (!g) {
                                k = -ENOMEM;
                                break;
                        }
                        groups = g;
                        groups[n++] = group;
                } else if (is_stale_tmp(de->d_name)) {
                        (void)unlinkat(dirfd, de->d_name, 0);
                } else if (ret_foreign) {
                        k = strv_extend(&foreign, de->d_name);
                        if (k < 0)
                                break;
                }
        }
        if (k == 0 && errno != 0)
                k = -errno;
        closedir(d);
        if (k < 0)
                return k;

        if (n > 0)
                qsort(groups, n, sizeof(int), cmp_int);
        *ret_groups = TAKE_PTR(groups);
        *ret_n = n;
        if (ret_foreign)
                *ret_foreign = TAKE_PTR(foreign);
        return 0;
}
