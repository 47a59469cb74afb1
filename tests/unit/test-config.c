/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration parser (daemon/conf.c): defaults, a complete good file, and every kind of
 * malformed file, each of which must be refused with the line it is on.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "conf.h"
#include "macros.h"

static void assert_defaults(const engine_config *c)
{
        g_assert_cmpuint(c->unbind_timeout_ms, ==, 10000);
        g_assert_cmpint(c->default_console, ==, CONSOLE_REFUSE);
        g_assert_cmpuint(strv_length(c->allowed_drivers), ==, 3);
        g_assert_true(strv_contains(c->allowed_drivers, "vfio-pci"));
        g_assert_true(strv_contains(c->allowed_drivers, "vfio-platform"));
        g_assert_true(strv_contains(c->allowed_drivers, "vfio-amba"));
        g_assert_cmpuint(strv_length(c->deny_devices), ==, 0);
        g_assert_cmpuint(strv_length(c->deny_ids), ==, 0);
}

static void test_absent_file_gives_defaults(void)
{
        g_autofree char *dir = g_dir_make_tmp("vfiod-conf.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "missing.conf", NULL);
        engine_config c = {};

        g_assert_cmpint(config_load(path, &c, NULL), ==, 0);
        assert_defaults(&c);
        config_done(&c);
        g_rmdir(dir);
}

static void test_empty_and_comments_give_defaults(void)
{
        static const char text[] = "# nothing configured\n\n   \n# [Deny]\n";
        engine_config c = {};

        g_assert_cmpint(config_parse(text, strlen(text), "t.conf", &c, NULL), ==, 0);
        assert_defaults(&c);
        config_done(&c);
}

static void test_good_file(void)
{
        static const char text[] =
            "# vfiod test configuration\n"
            "[Daemon]\n"
            "UnbindTimeoutMs = 2500\n"
            "ConsolePolicy=takeover\n"
            "AllowedDrivers=vfio-pci;mlx5-vfio-pci;\n"
            "\n"
            "[Deny]\n"
            "Devices=0000:00:02.0;pci:0000:00:1f.3;platform:fff51000.ethernet\n"
            "Ids=8086:1234;10DE:1B80;\n";
        engine_config c = {};
        g_autofree char *error = NULL;

        g_assert_cmpint(config_parse(text, strlen(text), "t.conf", &c, &error), ==, 0);
        g_assert_null(error);
        g_assert_cmpuint(c.unbind_timeout_ms, ==, 2500);
        g_assert_cmpint(c.default_console, ==, CONSOLE_TAKEOVER);

        g_assert_cmpuint(strv_length(c.allowed_drivers), ==, 2);
        g_assert_cmpstr(c.allowed_drivers[0], ==, "vfio-pci");
        g_assert_cmpstr(c.allowed_drivers[1], ==, "mlx5-vfio-pci");

        /* Canonical spelling: PCI bare, other buses qualified. */
        g_assert_cmpuint(strv_length(c.deny_devices), ==, 3);
        g_assert_cmpstr(c.deny_devices[0], ==, "0000:00:02.0");
        g_assert_cmpstr(c.deny_devices[1], ==, "0000:00:1f.3");
        g_assert_cmpstr(c.deny_devices[2], ==, "platform:fff51000.ethernet");

        /* Ids are stored in lower case so they compare with sysfs' spelling. */
        g_assert_cmpuint(strv_length(c.deny_ids), ==, 2);
        g_assert_cmpstr(c.deny_ids[0], ==, "8086:1234");
        g_assert_cmpstr(c.deny_ids[1], ==, "10de:1b80");
        config_done(&c);
}

static void test_whitespace_and_line_endings(void)
{
        static const char text[] = "  [Daemon]  \r\n"
                                   "\tConsolePolicy = takeover  \r\n"
                                   "AllowedDrivers = vfio-pci ; vfio-amba ;\r\n"
                                   "UnbindTimeoutMs= 77 \r\n";
        engine_config c = {};

        g_assert_cmpint(config_parse(text, strlen(text), "t.conf", &c, NULL), ==, 0);
        g_assert_cmpint(c.default_console, ==, CONSOLE_TAKEOVER);
        g_assert_cmpuint(c.unbind_timeout_ms, ==, 77);
        g_assert_cmpuint(strv_length(c.allowed_drivers), ==, 2);
        g_assert_cmpstr(c.allowed_drivers[1], ==, "vfio-amba");
        config_done(&c);
}

static void test_load_from_file(void)
{
        g_autofree char *dir = g_dir_make_tmp("vfiod-conf.XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "vfiod.conf", NULL);
        g_autofree char *error = NULL;
        g_autofree char *expected = NULL;
        engine_config c = {};

        g_assert_true(g_file_set_contents(path, "[Daemon]\nUnbindTimeoutMs=42\n", -1, NULL));
        g_assert_cmpint(config_load(path, &c, &error), ==, 0);
        g_assert_cmpuint(c.unbind_timeout_ms, ==, 42);
        config_done(&c);

        /* A malformed file names itself and the line. */
        g_assert_true(g_file_set_contents(path, "[Daemon]\nUnbindTimeoutMs=42\nbogus\n", -1, NULL));
        c = (engine_config){.unbind_timeout_ms = 7};
        g_assert_cmpint(config_load(path, &c, &error), ==, -EINVAL);
        expected = g_strdup_printf("%s:3: ", path);
        g_assert_true(g_str_has_prefix(error, expected));
        /* Untouched on failure. */
        g_assert_cmpuint(c.unbind_timeout_ms, ==, 7);
        g_assert_null(c.allowed_drivers);

        g_unlink(path);
        g_rmdir(dir);
}

static void test_unreadable_path(void)
{
        g_autofree char *dir = g_dir_make_tmp("vfiod-conf.XXXXXX", NULL);
        g_autofree char *error = NULL;
        engine_config c = {};

        /* A directory where the file should be is not "absent": refuse to start. */
        g_assert_cmpint(config_load(dir, &c, &error), <, 0);
        g_assert_nonnull(error);
        g_assert_true(g_str_has_prefix(error, dir));
        g_rmdir(dir);
}

typedef struct bad_case {
        const char *name;
        const char *text;
        unsigned line;
        const char *mentions; /* the offending word the message must quote */
        size_t len;           /* for text with an embedded NUL; 0 = strlen(text) */
} bad_case;

#define NUL_TEXT "[Daemon]\nConsolePolicy=ref\0use\n"

static const bad_case bad_cases[] = {
    {"not-a-pair", "[Daemon]\n\nUnbindTimeoutMs\n", 3, "UnbindTimeoutMs"},
    {"unknown-group", "# c\n[Deamon]\nUnbindTimeoutMs=1\n", 2, "Deamon"},
    {"unknown-key", "[Daemon]\nUnbindTimeout=5000\n", 2, "UnbindTimeout"},
    {"key-in-wrong-group", "[Deny]\nConsolePolicy=refuse\n", 2, "ConsolePolicy"},
    {"localized-key", "[Deny]\nIds[de]=8086:1234\n", 2, "Ids[de]"},
    {"key-before-group", "\nUnbindTimeoutMs=5\n[Daemon]\n", 2, "UnbindTimeoutMs"},
    {"empty-key", "[Daemon]\n=5\n", 2, "key"},
    {"duplicate-key", "[Daemon]\nConsolePolicy=refuse\n#\nConsolePolicy=takeover\n", 4, "line 2"},
    {"duplicate-group", "[Deny]\nIds=8086:1234\n[Daemon]\n[Deny]\n", 4, "line 1"},
    {"unterminated-group", "[Daemon\nUnbindTimeoutMs=5\n", 1, "[Daemon"},
    {"empty-group", "[]\n", 1, "[]"},
    {"nested-brackets", "[Dae[mon]\n", 1, "[Dae[mon]"},
    {"timeout-zero", "[Daemon]\nUnbindTimeoutMs=0\n", 2, "UnbindTimeoutMs=0"},
    {"timeout-too-big", "[Daemon]\nUnbindTimeoutMs=600001\n", 2, "600001"},
    {"timeout-negative", "[Daemon]\nUnbindTimeoutMs=-5\n", 2, "-5"},
    {"timeout-unit", "[Daemon]\n\n\nUnbindTimeoutMs=10s\n", 4, "10s"},
    {"timeout-hex", "[Daemon]\nUnbindTimeoutMs=0x10\n", 2, "0x10"},
    {"timeout-overflow", "[Daemon]\nUnbindTimeoutMs=99999999999999999999999\n", 2,
     "99999999999999999999999"},
    {"console-bad", "[Daemon]\nConsolePolicy=steal\n", 2, "steal"},
    {"driver-not-vfio", "[Daemon]\nAllowedDrivers=vfio-pci;e1000;\n", 2, "e1000"},
    {"drivers-empty", "[Daemon]\nAllowedDrivers=\n", 2, "AllowedDrivers"},
    {"device-traversal", "[Deny]\nDevices=../../etc\n", 2, "../../etc"},
    {"device-bad-bus", "[Deny]\nDevices=usb:1-1\n", 2, "usb:1-1"},
    {"id-too-long", "[Deny]\nIds=8086:12345\n", 2, "8086:12345"},
    {"id-not-hex", "[Deny]\nIds=80g6:1234\n", 2, "80g6:1234"},
    {"id-no-colon", "[Deny]\n\nIds=80861234\n", 3, "80861234"},
    {"nul-byte", NUL_TEXT, 2, "NUL", sizeof(NUL_TEXT) - 1},
    {"bad-escape", "[Daemon]\nConsolePolicy=\\q\n", 2, "ConsolePolicy"},
    {"not-utf8", "[Daemon]\nConsolePolicy=ref\xffuse\n", 2, "ConsolePolicy"},
};

static void test_bad(gconstpointer data)
{
        const bad_case *bc = data;
        size_t len = bc->len ? bc->len : strlen(bc->text);
        g_autofree char *error = NULL;
        g_autofree char *prefix = NULL;
        engine_config c = {};

        g_assert_cmpint(config_parse(bc->text, len, "vfiod.conf", &c, &error), ==, -EINVAL);
        g_assert_nonnull(error);
        prefix = g_strdup_printf("vfiod.conf:%u: ", bc->line);
        if (!g_str_has_prefix(error, prefix) || !strstr(error, bc->mentions))
                g_error("case %s: got \"%s\", want prefix \"%s\" mentioning \"%s\"", bc->name,
                        error, prefix, bc->mentions);
        g_assert_null(c.allowed_drivers);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/config/absent-file-gives-defaults", test_absent_file_gives_defaults);
        g_test_add_func("/config/empty-and-comments-give-defaults",
                        test_empty_and_comments_give_defaults);
        g_test_add_func("/config/good-file", test_good_file);
        g_test_add_func("/config/whitespace-and-line-endings", test_whitespace_and_line_endings);
        g_test_add_func("/config/load-from-file", test_load_from_file);
        g_test_add_func("/config/unreadable-path", test_unreadable_path);
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                g_autofree char *name = g_strdup_printf("/config/bad/%s", bad_cases[i].name);
                g_test_add_data_func(name, &bad_cases[i], test_bad);
        }

        return g_test_run();
}
