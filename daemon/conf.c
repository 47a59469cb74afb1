/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>

#include "conf.h"
#include "group.h"
#include "macros.h"

static const struct known_key {
        const char *group;
        const char *key;
} known_keys[] = {
    {"Daemon", "UnbindTimeoutMs"},
    {"Daemon", "ConsolePolicy"},
    {"Daemon", "AllowedDrivers"},
    {"Deny", "Devices"},
    {"Deny", "Ids"},
};

enum {
        KEY_UNBIND_TIMEOUT,
        KEY_CONSOLE_POLICY,
        KEY_ALLOWED_DRIVERS,
        KEY_DENY_DEVICES,
        KEY_DENY_IDS,
};

static const char *const known_groups[] = {"Daemon", "Deny"};

static const char *const default_drivers[] = {"vfio-pci", "vfio-platform", "vfio-amba"};

/* Where each known group and key was seen (0 = absent), so value errors can name their line. */
typedef struct config_lines {
        unsigned group[ELEMENTSOF(known_groups)];
        unsigned key[ELEMENTSOF(known_keys)];
} config_lines;

void config_done(engine_config *c)
{
        c->deny_devices = strv_free(c->deny_devices);
        c->deny_ids = strv_free(c->deny_ids);
        c->allowed_drivers = strv_free(c->allowed_drivers);
}

static void config_donep(engine_config *c)
{
        config_done(c);
}

int config_defaults(engine_config *ret)
{
        _cleanup_(config_donep) engine_config c = {
            .unbind_timeout_ms = CONFIG_UNBIND_TIMEOUT_MS_DEFAULT,
            .default_console = CONSOLE_REFUSE,
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(default_drivers); i++) {
                r = strv_extend(&c.allowed_drivers, default_drivers[i]);
                if (r < 0)
                        return r;
        }

        *ret = c;
        c = (engine_config){};
        return 0;
}

_printf_(5, 6) static int fail(char **ret_error, int error, const char *origin, unsigned line,
                               const char *format, ...)
{
        char text[512];
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                (void)vsnprintf(text, sizeof(text), format, ap);
                va_end(ap);
                if (line > 0)
                        *ret_error = g_strdup_printf("%s:%u: %s", origin, line, text);
                else
                        *ret_error = g_strdup_printf("%s: %s", origin, text);
        }
        return error;
}

static char *strip(char *s)
{
        char *end;

        while (isspace((unsigned char)*s))
                s++;
        end = s + strlen(s);
        while (end > s && isspace((unsigned char)end[-1]))
                *--end = '\0';
        return s;
}

static int find_group(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(known_groups); i++)
                if (streq(known_groups[i], name))
                        return (int)i;
        return -1;
}

static int find_key(const char *group, const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(known_keys); i++)
                if (streq(known_keys[i].group, group) && streq(known_keys[i].key, key))
                        return (int)i;
        return -1;
}

/*
 * GKeyFile's own errors carry no line number, and it accepts unknown groups and keys and lets a
 * repeated key silently win. This pass checks the structure line by line first, so every
 * structural mistake is reported where it is; GKeyFile then does the value syntax (escapes,
 * lists).
 */
static int scan_lines(const char *text, size_t len, const char *origin, config_lines *lines,
                      char **ret_error)
{
        g_autofree char *copy = g_strndup(text, len);
        const char *group = NULL;
        unsigned n = 0;

        for (char *raw = copy, *next; raw; raw = next) {
                char *line, *eq;
                int i;

                next = strchr(raw, '\n');
                if (next)
                        *next++ = '\0';
                n++;

                line = strip(raw);
                if (line[0] == '\0' || line[0] == '#')
                        continue;

                if (line[0] == '[') {
                        size_t l = strlen(line);

                        if (line[l - 1] != ']' || l < 3 || strpbrk(line + 1, "[]") != line + l - 1)
                                return fail(ret_error, -EINVAL, origin, n,
                                            "malformed group header \"%s\"", line);
                        line[l - 1] = '\0';
                        i = find_group(line + 1);
                        if (i < 0)
                                return fail(ret_error, -EINVAL, origin, n,
                                            "unknown group [%s] (known: [Daemon], [Deny])",
                                            line + 1);
                        if (lines->group[i] > 0)
                                return fail(ret_error, -EINVAL, origin, n,
                                            "group [%s] appears a second time (first on line %u)",
                                            line + 1, lines->group[i]);
                        lines->group[i] = n;
                        group = known_groups[i];
                        continue;
                }

                eq = strchr(line, '=');
                if (!eq)
                        return fail(ret_error, -EINVAL, origin, n,
                                    "expected [Group], Key=Value or a # comment, got \"%s\"", line);
                *eq = '\0';
                line = strip(line);
                if (line[0] == '\0')
                        return fail(ret_error, -EINVAL, origin, n, "key name missing before '='");
                if (!group)
                        return fail(ret_error, -EINVAL, origin, n,
                                    "key %s appears before any [Group]", line);
                i = find_key(group, line);
                if (i < 0)
                        return fail(ret_error, -EINVAL, origin, n, "unknown key %s in [%s]", line,
                                    group);
                if (lines->key[i] > 0)
                        return fail(ret_error, -EINVAL, origin, n,
                                    "key %s in [%s] appears a second time (first on line %u)", line,
                                    group, lines->key[i]);
                lines->key[i] = n;
        }

        return 0;
}

static int parse_timeout(const char *value, uint32_t *ret)
{
        unsigned long v;
        char *end;

        /* Digits only: strtoul would take signs, spaces and hex prefixes. */
        if (value[0] == '\0' || strspn(value, "0123456789") != strlen(value))
                return -EINVAL;
        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno != 0 || v < 1 || v > CONFIG_TIMEOUT_MS_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

/* "8086:1234" with exactly four hex digits on each side, stored in lower case. */
static int parse_id(const char *s, char ret[static 10])
{
        if (strlen(s) != 9 || s[4] != ':')
                return -EINVAL;
        for (size_t i = 0; i < 9; i++) {
                if (i == 4)
                        continue;
                if (!isxdigit((unsigned char)s[i]))
                        return -EINVAL;
        }
        for (size_t i = 0; i < 10; i++)
                ret[i] = (char)tolower((unsigned char)s[i]);
        return 0;
}

/* The canonical spelling of a deny entry: bare for PCI ("0000:00:02.0"), bus-qualified
 * otherwise ("platform:fff51000.ethernet"), as engine_config documents. */
static int canonical_device_name(const char *s, char **ret)
{
        vk_device_id id;
        int r;

        r = vk_parse_device_name(s, strlen(s), &id);
        if (r < 0)
                return r;
        if (id.bus == VK_BUS_PCI)
                *ret = strdup(id.name);
        else
                *ret = g_strdup_printf("%s:%s", vk_bus_to_string(id.bus), id.name);
        return *ret ? 0 : -ENOMEM;
}

static int read_list(GKeyFile *kf, const char *origin, const config_lines *lines, int key,
                     char ***ret, char **ret_error)
{
        g_autoptr(GError) gerror = NULL;
        g_auto(GStrv) list = NULL;

        list = g_key_file_get_string_list(kf, known_keys[key].group, known_keys[key].key, NULL,
                                          &gerror);
        if (!list)
                return fail(ret_error, -EINVAL, origin, lines->key[key], "%s: %s",
                            known_keys[key].key, gerror->message);
        /* "a; b" means "a" and "b": GKeyFile keeps the blanks. */
        for (char **i = list; *i; i++)
                g_strstrip(*i);
        *ret = TAKE_PTR(list);
        return 0;
}

static int apply_daemon(GKeyFile *kf, const char *origin, const config_lines *lines,
                        engine_config *c, char **ret_error)
{
        int r;

        if (lines->key[KEY_UNBIND_TIMEOUT]) {
                g_autofree char *v = g_key_file_get_value(kf, "Daemon", "UnbindTimeoutMs", NULL);

                r = parse_timeout(v ? g_strstrip(v) : "", &c->unbind_timeout_ms);
                if (r < 0)
                        return fail(ret_error, -EINVAL, origin, lines->key[KEY_UNBIND_TIMEOUT],
                                    "UnbindTimeoutMs=%s is not a number of milliseconds "
                                    "between 1 and %u",
                                    v ? v : "", CONFIG_TIMEOUT_MS_MAX);
        }

        if (lines->key[KEY_CONSOLE_POLICY]) {
                g_autoptr(GError) gerror = NULL;
                g_autofree char *v = g_key_file_get_string(kf, "Daemon", "ConsolePolicy", &gerror);

                if (!v)
                        return fail(ret_error, -EINVAL, origin, lines->key[KEY_CONSOLE_POLICY],
                                    "ConsolePolicy: %s", gerror->message);
                g_strstrip(v);
                if (streq(v, "refuse"))
                        c->default_console = CONSOLE_REFUSE;
                else if (streq(v, "takeover"))
                        c->default_console = CONSOLE_TAKEOVER;
                else
                        return fail(ret_error, -EINVAL, origin, lines->key[KEY_CONSOLE_POLICY],
                                    "ConsolePolicy=%s: expected \"refuse\" or \"takeover\"", v);
        }

        if (lines->key[KEY_ALLOWED_DRIVERS]) {
                g_auto(GStrv) list = NULL;
                unsigned line = lines->key[KEY_ALLOWED_DRIVERS];

                r = read_list(kf, origin, lines, KEY_ALLOWED_DRIVERS, &list, ret_error);
                if (r < 0)
                        return r;
                if (!list[0])
                        return fail(ret_error, -EINVAL, origin, line,
                                    "AllowedDrivers is empty: no device could ever be assigned");

                c->allowed_drivers = strv_free(c->allowed_drivers);
                for (char **d = list; *d; d++) {
                        if (!vk_driver_is_vfio(*d))
                                return fail(ret_error, -EINVAL, origin, line,
                                            "AllowedDrivers: \"%s\" is not a VFIO driver "
                                            "(vfio-pci or a variant, vfio-platform, vfio-amba)",
                                            *d);
                        r = strv_extend(&c->allowed_drivers, *d);
                        if (r < 0)
                                return r;
                }
        }

        return 0;
}

static int apply_deny(GKeyFile *kf, const char *origin, const config_lines *lines, engine_config *c,
                      char **ret_error)
{
        int r;

        if (lines->key[KEY_DENY_DEVICES]) {
                g_auto(GStrv) list = NULL;

                r = read_list(kf, origin, lines, KEY_DENY_DEVICES, &list, ret_error);
                if (r < 0)
                        return r;
                for (char **d = list; *d; d++) {
                        _cleanup_(freep) char *name = NULL;

                        r = canonical_device_name(*d, &name);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return fail(ret_error, -EINVAL, origin,
                                            lines->key[KEY_DENY_DEVICES],
                                            "Devices: \"%s\" is not a device name "
                                            "(0000:01:00.0, pci:..., platform:..., amba:...)",
                                            *d);
                        r = strv_extend(&c->deny_devices, name);
                        if (r < 0)
                                return r;
                }
        }

        if (lines->key[KEY_DENY_IDS]) {
                g_auto(GStrv) list = NULL;

                r = read_list(kf, origin, lines, KEY_DENY_IDS, &list, ret_error);
                if (r < 0)
                        return r;
                for (char **d = list; *d; d++) {
                        char id[10];

                        if (parse_id(*d, id) < 0)
                                return fail(ret_error, -EINVAL, origin, lines->key[KEY_DENY_IDS],
                                            "Ids: \"%s\" is not vendor:device in hex "
                                            "(e.g. 8086:1234)",
                                            *d);
                        r = strv_extend(&c->deny_ids, id);
                        if (r < 0)
                                return r;
                }
        }

        return 0;
}

int config_parse(const char *text, size_t len, const char *origin, engine_config *ret,
                 char **ret_error)
{
        _cleanup_(config_donep) engine_config c = {};
        g_autoptr(GKeyFile) kf = NULL;
        g_autoptr(GError) gerror = NULL;
        config_lines lines = {};
        const char *nul;
        int r;

        nul = memchr(text, '\0', len);
        if (nul) {
                unsigned line = 1;
                for (const char *p = text; p < nul; p++)
                        line += *p == '\n';
                return fail(ret_error, -EINVAL, origin, line, "contains a NUL byte");
        }

        r = scan_lines(text, len, origin, &lines, ret_error);
        if (r < 0)
                return r;

        r = config_defaults(&c);
        if (r < 0)
                return r;

        kf = g_key_file_new();
        if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &gerror))
                return fail(ret_error, -EINVAL, origin, 0, "%s", gerror->message);

        r = apply_daemon(kf, origin, &lines, &c, ret_error);
        if (r < 0)
                return r;
        r = apply_deny(kf, origin, &lines, &c, ret_error);
        if (r < 0)
                return r;

        *ret = c;
        c = (engine_config){};
        return 0;
}

int config_load(const char *path, engine_config *ret, char **ret_error)
{
        g_autoptr(GError) gerror = NULL;
        g_autofree char *text = NULL;
        gsize len;

        if (!g_file_get_contents(path, &text, &len, &gerror)) {
                if (g_error_matches(gerror, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                        return config_defaults(ret);
                return fail(ret_error, -EIO, path, 0, "%s", gerror->message);
        }

        return config_parse(text, len, path, ret, ret_error);
}
