/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal: records survive a format/parse round trip byte for byte, the parser refuses
 * every deviation with the line at fault, and files are replaced atomically.
 */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "macros.h"

static vk_device_id pci(const char *name)
{
        vk_device_id id = {.bus = VK_BUS_PCI};
        g_strlcpy(id.name, name, sizeof(id.name));
        return id;
}

static record *sample(void)
{
        lease_info lease = {
            .lifetime = LEASE_CLIENT,
            .owner = (char *)":1.42",
            .owner_uid_caller = 1000,
            .node_uid = UID_INVALID,
        };
        record *r = NULL;
        vk_device_id a = pci("0000:01:00.0"), b = pci("0000:01:00.1"), c = pci("0000:01:00.2");

        g_assert_cmpint(record_new(7, VK_BUS_PCI, &lease, "vfio-pci", &r), ==, 0);
        r->state = RECORD_ASSIGNING;
        r->autoprobe = true;
        r->console_taken = true;
        g_assert_cmpint(strv_extend(&r->vtconsoles, "vtcon1"), ==, 0);
        g_assert_cmpint(record_add_member(r, &a, false, "e1000e", NULL), ==, 0);
        /* An override someone else wrote may hold anything the kernel accepts. */
        g_assert_cmpint(record_add_member(r, &b, false, NULL, "odd name=\\x\xc3\xa9"), ==, 0);
        g_assert_cmpint(record_add_member(r, &c, true, NULL, "-"), ==, 0);
        return r;
}

static void assert_records_equal(const record *x, const record *y)
{
        g_assert_cmpint(x->state, ==, y->state);
        g_assert_cmpint(x->bus, ==, y->bus);
        g_assert_cmpint(x->autoprobe, ==, y->autoprobe);
        g_assert_cmpint(x->console_taken, ==, y->console_taken);
        g_assert_cmpuint(strv_length(x->vtconsoles), ==, strv_length(y->vtconsoles));
        for (size_t i = 0; i < strv_length(x->vtconsoles); i++)
                g_assert_cmpstr(x->vtconsoles[i], ==, y->vtconsoles[i]);
        g_assert_cmpint(x->a.group, ==, y->a.group);
        g_assert_cmpstr(x->a.lease.owner, ==, y->a.lease.owner);
        g_assert_cmpstr(x->a.lease.driver, ==, y->a.lease.driver);
        g_assert_cmpint(x->a.lease.lifetime, ==, y->a.lease.lifetime);
        g_assert_cmpuint(x->a.lease.owner_uid_caller, ==, y->a.lease.owner_uid_caller);
        g_assert_cmpuint(x->a.lease.node_uid, ==, y->a.lease.node_uid);
        g_assert_cmpuint(x->n_members, ==, y->n_members);
        for (size_t i = 0; i < x->n_members; i++) {
                g_assert_cmpint(x->members[i].id.bus, ==, y->members[i].id.bus);
                g_assert_cmpstr(x->members[i].id.name, ==, y->members[i].id.name);
                g_assert_cmpint(x->members[i].added, ==, y->members[i].added);
                g_assert_cmpstr(x->members[i].driver, ==, y->members[i].driver);
                g_assert_cmpstr(x->members[i].override, ==, y->members[i].override);
                g_assert_cmpstr(x->a.members[i], ==, y->a.members[i]);
        }
}

static void test_format_exact(void)
{
        _cleanup_(record_freep) record *r = sample();
        _cleanup_(freep) char *text = NULL;

        g_assert_cmpint(journal_format(r, &text), ==, 0);
        g_assert_cmpstr(text, ==,
                        "vfiod-journal-v1\n"
                        "state=assigning\n"
                        "group=7\n"
                        "bus=pci\n"
                        "driver=vfio-pci\n"
                        "lifetime=client\n"
                        "owner=:1.42\n"
                        "caller-uid=1000\n"
                        "node-uid=-\n"
                        "autoprobe=1\n"
                        "console=taken\n"
                        "vtcon=vtcon1\n"
                        "member=0000:01:00.0 moved e1000e -\n"
                        "member=0000:01:00.1 moved - odd\\x20name\\x3d\\x5cx\\xc3\\xa9\n"
                        "member=0000:01:00.2 added - \\x2d\n"
                        "end\n");
        g_assert_cmpstr(r->a.members[2], ==, "pci:0000:01:00.2");
}

static void test_round_trip(void)
{
        _cleanup_(record_freep) record *r = sample(), *back = NULL;
        _cleanup_(freep) char *text = NULL, *again = NULL;
        unsigned line = 99;

        r->state = RECORD_COMMITTED;
        r->autoprobe = false;
        r->a.lease.lifetime = LEASE_PERSISTENT;
        r->a.lease.node_uid = 0;
        g_assert_cmpint(journal_format(r, &text), ==, 0);
        g_assert_cmpint(journal_parse(text, strlen(text), &back, &line), ==, 0);
        assert_records_equal(r, back);
        g_assert_cmpint(journal_format(back, &again), ==, 0);
        g_assert_cmpstr(text, ==, again);
}

static void test_record_members(void)
{
        _cleanup_(record_freep) record *r = sample();
        vk_device_id a = pci("0000:01:00.0"), other = pci("0000:09:00.0");
        vk_device_id plat = {.bus = VK_BUS_PLATFORM, .name = "fff51000.ethernet"};

        g_assert_nonnull(record_find_member(r, &a));
        g_assert_null(record_find_member(r, &other));
        g_assert_cmpint(record_add_member(r, &a, false, "x", NULL), ==, -EEXIST);
        g_assert_cmpint(record_add_member(r, &plat, false, "x", NULL), ==, -EINVAL);
        g_assert_cmpuint(r->n_members, ==, 3);
        g_assert_cmpuint(strv_length(r->a.members), ==, 3);
}

#define GOOD_HEAD                                                                                  \
        "vfiod-journal-v1\nstate=committed\ngroup=3\nbus=pci\ndriver=vfio-pci\n"                   \
        "lifetime=client\nowner=-\ncaller-uid=0\nnode-uid=-\nautoprobe=1\nconsole=untouched\n"
#define GOOD_MEMBER "member=0000:01:00.0 moved e1000 -\n"

typedef struct bad_case {
        const char *text;
        unsigned line; /* 0 = the file as a whole */
} bad_case;

static void test_parse_good_minimal(void)
{
        static const char text[] = GOOD_HEAD GOOD_MEMBER "end\n";
        _cleanup_(record_freep) record *r = NULL;

        g_assert_cmpint(journal_parse(text, strlen(text), &r, NULL), ==, 0);
        g_assert_cmpint(r->state, ==, RECORD_COMMITTED);
        g_assert_cmpint(r->a.group, ==, 3);
        g_assert_null(r->a.lease.owner);
        g_assert_cmpuint(r->a.lease.owner_uid_caller, ==, 0);
        g_assert_cmpstr(r->members[0].driver, ==, "e1000");
        g_assert_null(r->members[0].override);
        g_assert_false(r->returning);
}

static void test_parse_malformed(void)
{
        static const bad_case cases[] = {
            {"", 0},
            {"vfiod-journal-v2\n", 1},
            {GOOD_HEAD GOOD_MEMBER, 0},                                 /* truncated: no end */
            {GOOD_HEAD GOOD_MEMBER "end", 0},                           /* no final newline */
            {GOOD_HEAD "end\n", 12},                                    /* no member */
            {GOOD_HEAD GOOD_MEMBER "end\nextra\n", 14},                 /* data after end */
            {GOOD_HEAD GOOD_MEMBER GOOD_MEMBER "end\n", 13},            /* duplicate member */
            {GOOD_HEAD "member=0000:1:00.0 moved e1000 -\nend\n", 12},  /* not the kernel's name */
            {GOOD_HEAD "member=0000:01:00.0 moved ../x -\nend\n", 12},  /* driver with a slash */
            {GOOD_HEAD "member=0000:01:00.0 added e1000 -\nend\n", 12}, /* added had no driver */
            {GOOD_HEAD "member=0000:01:00.0 moved e1000\nend\n", 12},   /* three fields */
            {GOOD_HEAD "member=0000:01:00.0 moved e1000 - x\nend\n", 12},   /* five fields */
            {GOOD_HEAD "member=0000:01:00.0  moved e1000 -\nend\n", 12},    /* empty field */
            {GOOD_HEAD "member=0000:01:00.0 moved e1000 \\x0\nend\n", 12},  /* short escape */
            {GOOD_HEAD "member=0000:01:00.0 moved e1000 \\x00\nend\n", 12}, /* NUL */
            {GOOD_HEAD "member=0000:01:00.0 moved e1000 \\n\nend\n", 12},   /* other escape */
            {GOOD_HEAD "member=0000:01:00.0 moved e1000 a=b\nend\n", 12},   /* raw '=' */
            {GOOD_HEAD "vtcon=tty1\n" GOOD_MEMBER "end\n", 12},
            {GOOD_HEAD "bogus=1\n" GOOD_MEMBER "end\n", 12},
            {"vfiod-journal-v1\ngroup=3\n", 2}, /* order is fixed */
            {"vfiod-journal-v1\nstate=done\n", 2},
            {"vfiod-journal-v1\nstate=committed\ngroup=03\n", 3},
            {"vfiod-journal-v1\nstate=committed\ngroup=2147483648\n", 3},
            {"vfiod-journal-v1\nstate=committed\ngroup=-1\n", 3},
            {"vfiod-journal-v1\nstate=committed\ngroup=3\nbus=usb\n", 4},
            {"vfiod-journal-v1\nstate=committed\ngroup=3\nbus=pci\ndriver=-\n", 5},
            {"vfiod-journal-v1\r\nstate=committed\n", 1},
            {"vfiod-journal-v1\nstate=committed\ngroup=3\nbus=pci\ndriver=vfio-pci\n"
             "lifetime=forever\n",
             6},
            {"vfiod-journal-v1\nstate=committed\ngroup=3\nbus=pci\ndriver=vfio-pci\n"
             "lifetime=client\nowner=-\ncaller-uid=4294967295\n",
             8},
            {"vfiod-journal-v1\nstate=committed\ngroup=3\nbus=pci\ndriver=vfio-pci\n"
             "lifetime=client\nowner=-\ncaller-uid=0\nnode-uid=-\nautoprobe=2\n",
             10},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                record *r = NULL;
                unsigned line = 1234;
                int k = journal_parse(cases[i].text, strlen(cases[i].text), &r, &line);

                g_test_message("case %zu: %s", i, cases[i].text);
                g_assert_cmpint(k, ==, -EBADMSG);
                g_assert_null(r);
                g_assert_cmpuint(line, ==, cases[i].line);
        }
}

static void test_parse_nul(void)
{
        static const char text[] = GOOD_HEAD GOOD_MEMBER "end\n";
        char buf[sizeof(text)];
        record *r = NULL;
        unsigned line = 1;

        memcpy(buf, text, sizeof(text));
        buf[20] = '\0';
        g_assert_cmpint(journal_parse(buf, sizeof(text) - 1, &r, &line), ==, -EBADMSG);
        g_assert_cmpuint(line, ==, 0);
        g_assert_null(r);
}

static void test_filename(void)
{
        int g = -1;

        g_assert_cmpint(journal_filename_parse("12.txn", &g), ==, 0);
        g_assert_cmpint(g, ==, 12);
        g_assert_cmpint(journal_filename_parse("012.txn", &g), ==, -EINVAL);
        g_assert_cmpint(journal_filename_parse("12.txn.tmp", &g), ==, -EINVAL);
        g_assert_cmpint(journal_filename_parse(".txn", &g), ==, -EINVAL);
        g_assert_cmpint(journal_filename_parse("a.txn", &g), ==, -EINVAL);
        g_assert_cmpint(g, ==, 12);
}

typedef struct {
        char *dir;
        int fd;
} Dir;

static void dir_setup(Dir *d, gconstpointer data)
{
        g_autoptr(GError) error = NULL;

        d->dir = g_dir_make_tmp("vfiod-journal.XXXXXX", &error);
        g_assert_no_error(error);
        d->fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(d->fd, >=, 0);
}

static void dir_teardown(Dir *d, gconstpointer data)
{
        g_autoptr(GDir) dir = g_dir_open(d->dir, 0, NULL);
        const char *name;

        while (dir && (name = g_dir_read_name(dir))) {
                g_autofree char *p = g_build_filename(d->dir, name, NULL);
                if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
                        g_assert_cmpint(g_rmdir(p), ==, 0);
                else
                        g_assert_cmpint(g_unlink(p), ==, 0);
        }
        close(d->fd);
        g_assert_cmpint(g_rmdir(d->dir), ==, 0);
        g_free(d->dir);
}

static char *dir_file(Dir *d, const char *name)
{
        g_autofree char *p = g_build_filename(d->dir, name, NULL);
        char *s = NULL;

        if (!g_file_get_contents(p, &s, NULL, NULL))
                return NULL;
        return s;
}

static void test_save_load_remove(Dir *d, gconstpointer data)
{
        _cleanup_(record_freep) record *r = sample(), *back = NULL;
        _cleanup_(freep) char *expected = NULL;
        g_autofree char *on_disk = NULL, *tmp = NULL;
        struct stat st;

        g_assert_cmpint(journal_save(d->fd, r), ==, 0);
        g_assert_cmpint(journal_format(r, &expected), ==, 0);
        on_disk = dir_file(d, "7.txn");
        g_assert_cmpstr(on_disk, ==, expected);
        tmp = dir_file(d, "7.txn.tmp");
        g_assert_null(tmp);
        g_assert_cmpint(fstatat(d->fd, "7.txn", &st, 0), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);

        g_assert_cmpint(journal_load(d->fd, 7, &back, NULL), ==, 0);
        assert_records_equal(r, back);

        g_assert_cmpint(journal_remove(d->fd, 7), ==, 0);
        g_assert_cmpint(fstatat(d->fd, "7.txn", &st, 0), ==, -1);
        g_assert_cmpint(journal_remove(d->fd, 7), ==, 0);
        record_free(back);
        back = NULL;
        g_assert_cmpint(journal_load(d->fd, 7, &back, NULL), ==, -ENOENT);
        g_assert_null(back);
}

/* A save that cannot complete leaves the previous record as it was. */
static void test_save_failure_keeps_old(Dir *d, gconstpointer data)
{
        _cleanup_(record_freep) record *r = sample();
        _cleanup_(freep) char *before = NULL;
        g_autofree char *after = NULL;

        g_assert_cmpint(journal_save(d->fd, r), ==, 0);
        g_assert_cmpint(journal_format(r, &before), ==, 0);
        /* A directory where the temporary file goes makes the write fail. */
        g_assert_cmpint(mkdirat(d->fd, "7.txn.tmp", 0700), ==, 0);
        r->state = RECORD_COMMITTED;
        g_assert_cmpint(journal_save(d->fd, r), ==, -EISDIR);
        after = dir_file(d, "7.txn");
        g_assert_cmpstr(after, ==, before);
}

static void test_load_rejects(Dir *d, gconstpointer data)
{
        g_autofree char *p = g_build_filename(d->dir, "5.txn", NULL);
        g_autofree char *q = g_build_filename(d->dir, "6.txn", NULL);
        record *r = NULL;
        unsigned line = 7;

        g_assert_true(g_file_set_contents(p, GOOD_HEAD "end\n", -1, NULL));
        g_assert_cmpint(journal_load(d->fd, 5, &r, &line), ==, -EBADMSG);
        g_assert_cmpuint(line, ==, 12);
        g_assert_null(r);
        /* Records are never followed through links. */
        g_assert_cmpint(symlink(p, q), ==, 0);
        g_assert_cmpint(journal_load(d->fd, 6, &r, NULL), ==, -ELOOP);
}

static void test_list(Dir *d, gconstpointer data)
{
        _cleanup_(record_freep) record *r = sample();
        _cleanup_(freep) int *groups = NULL;
        _cleanup_(strv_freep) char **foreign = NULL;
        g_autofree char *stale = g_build_filename(d->dir, "9.txn.tmp", NULL);
        g_autofree char *other = g_build_filename(d->dir, "notes", NULL);
        size_t n = 0;

        g_assert_cmpint(journal_save(d->fd, r), ==, 0);
        r->a.group = 12;
        g_assert_cmpint(journal_save(d->fd, r), ==, 0);
        r->a.group = 3;
        g_assert_cmpint(journal_save(d->fd, r), ==, 0);
        g_assert_true(g_file_set_contents(stale, "half", -1, NULL));
        g_assert_true(g_file_set_contents(other, "x", -1, NULL));

        g_assert_cmpint(journal_list(d->fd, &groups, &n, &foreign), ==, 0);
        g_assert_cmpuint(n, ==, 3);
        g_assert_cmpint(groups[0], ==, 3);
        g_assert_cmpint(groups[1], ==, 7);
        g_assert_cmpint(groups[2], ==, 12);
        g_assert_cmpuint(strv_length(foreign), ==, 1);
        g_assert_cmpstr(foreign[0], ==, "notes");
        g_assert_false(g_file_test(stale, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/journal/format-exact", test_format_exact);
        g_test_add_func("/journal/round-trip", test_round_trip);
        g_test_add_func("/journal/record-members", test_record_members);
        g_test_add_func("/journal/parse-good-minimal", test_parse_good_minimal);
        g_test_add_func("/journal/parse-malformed", test_parse_malformed);
        g_test_add_func("/journal/parse-nul", test_parse_nul);
        g_test_add_func("/journal/filename", test_filename);
        g_test_add("/journal/save-load-remove", Dir, NULL, dir_setup, test_save_load_remove,
                   dir_teardown);
        g_test_add("/journal/save-failure-keeps-old", Dir, NULL, dir_setup,
                   test_save_failure_keeps_old, dir_teardown);
        g_test_add("/journal/load-rejects", Dir, NULL, dir_setup, test_load_rejects, dir_teardown);
        g_test_add("/journal/list", Dir, NULL, dir_setup, test_list, dir_teardown);
        return g_test_run();
}
