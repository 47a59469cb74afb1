/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>

#include "conf.h"
#include "errors.h"
#include "options.h"

typedef struct option {
        const char *key;
        char type;
        int (*set)(assign_options *o, const engine_config *config, const void *value,
                   sd_bus_error *error);
} option;

static int set_driver(assign_options *o, const engine_config *config, const void *value,
                      sd_bus_error *error)
{
        const char *s = *(const char *const *)value;
        char allowed[256] = "";

        if (strv_contains(config->allowed_drivers, s))
                return free_and_strdup(&o->driver, s);

        for (char **d = config->allowed_drivers; d && *d; d++) {
                if (allowed[0])
                        strncat(allowed, ", ", sizeof(allowed) - strlen(allowed) - 1);
                strncat(allowed, *d, sizeof(allowed) - strlen(allowed) - 1);
        }
        return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                     "option \"driver\": %.64s%s is not an allowed VFIO driver "
                                     "(allowed by the configuration: %s)",
                                     s, strlen(s) > 64 ? "..." : "", allowed);
}

static int set_lifetime(assign_options *o, const engine_config *config, const void *value,
                        sd_bus_error *error)
{
        const char *s = *(const char *const *)value;

        if (streq(s, "client"))
                o->lifetime = LEASE_CLIENT;
        else if (streq(s, "persistent"))
                o->lifetime = LEASE_PERSISTENT;
        else
                return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                             "option \"lifetime\" must be \"client\" or "
                                             "\"persistent\", not \"%.64s\"",
                                             s);
        return 0;
}

static int set_console(assign_options *o, const engine_config *config, const void *value,
                       sd_bus_error *error)
{
        const char *s = *(const char *const *)value;

        if (streq(s, "refuse"))
                o->console = CONSOLE_REFUSE;
        else if (streq(s, "takeover"))
                o->console = CONSOLE_TAKEOVER;
        else
                return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                             "option \"console\" must be \"refuse\" or "
                                             "\"takeover\", not \"%.64s\"",
                                             s);
        return 0;
}

static int set_owner_uid(assign_options *o, const engine_config *config, const void *value,
                         sd_bus_error *error)
{
        uint32_t uid = *(const uint32_t *)value;

        /* (uid_t)-1 means "no change" to chown(): it cannot name an owner. */
        if (uid == (uint32_t)UID_INVALID)
                return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                             "option \"owner-uid\": %" PRIu32 " is not a valid uid",
                                             uid);
        o->owner_uid = (uid_t)uid;
        return 0;
}

static int set_timeout(assign_options *o, const engine_config *config, const void *value,
                       sd_bus_error *error)
{
        uint32_t ms = *(const uint32_t *)value;

        if (ms < 1 || ms > CONFIG_TIMEOUT_MS_MAX)
                return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                             "option \"timeout-ms\" must be between 1 and %u "
                                             "milliseconds, not %" PRIu32,
                                             CONFIG_TIMEOUT_MS_MAX, ms);
        o->timeout_ms = ms;
        return 0;
}

static const option options[] = {
    {"driver", 's', set_driver},      {"lifetime", 's', set_lifetime},
    {"console", 's', set_console},    {"owner-uid", 'u', set_owner_uid},
    {"timeout-ms", 'u', set_timeout},
};

static int read_one(sd_bus_message *m, const engine_config *config, assign_options *o,
                    unsigned *seen, sd_bus_error *error)
{
        const option *opt = NULL;
        const char *key, *contents;
        char type, signature[2];
        union {
                const char *s;
                uint32_t u;
        } value;
        int r;

        r = sd_bus_message_read_basic(m, 's', &key);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (streq(options[i].key, key)) {
                        opt = &options[i];
                        if (*seen & (1u << i))
                                return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                                             "option \"%s\" is given twice", key);
                        *seen |= 1u << i;
                }
        if (!opt)
                return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                             "unknown option \"%.64s\" (known: driver, lifetime, "
                                             "console, owner-uid, timeout-ms)",
                                             key);

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        signature[0] = opt->type;
        signature[1] = '\0';
        if (type != SD_BUS_TYPE_VARIANT || !contents || !streq(contents, signature))
                return bus_error_setf_engine(error, ENGINE_INVALID_ARGUMENT,
                                             "option \"%s\" must be of type '%s', not '%s'", key,
                                             signature, contents ? contents : "?");

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, signature);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, opt->type, &value);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        return opt->set(o, config, &value, error);
}

int bus_read_assign_options(sd_bus_message *m, const engine_config *config, assign_options *ret,
                            sd_bus_error *error)
{
        _cleanup_(assign_options_done) assign_options o = {
            .lifetime = LEASE_CLIENT,
            .console = config->default_console,
            .owner_uid = UID_INVALID,
        };
        unsigned seen = 0;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = read_one(m, config, &o, &seen, error);
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = o;
        o = (assign_options){};
        return 0;
}
