/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The a{sv} options of AssignDevice/PlanAssignment (daemon/options.c), read from real sd-bus
 * messages, and the mapping of engine errors to org.vfiod1.Error names (daemon/errors.c).
 */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>

#include "conf.h"
#include "errors.h"
#include "macros.h"
#include "options.h"

typedef struct ctx {
        sd_bus *bus;
        sd_bus_message *m;
        engine_config config;
        sd_bus_error error;
} ctx;

/* Messages need a bus object; one started on a socketpair is enough to build and read them,
 * no peer or bus daemon required. */
static void ctx_setup(ctx *c, gconstpointer data)
{
        int sv[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
        g_assert_cmpint(sd_bus_new(&c->bus), ==, 0);
        g_assert_cmpint(sd_bus_set_fd(c->bus, sv[0], sv[0]), ==, 0);
        g_assert_cmpint(sd_bus_start(c->bus), ==, 0);
        close(sv[1]);
        g_assert_cmpint(config_defaults(&c->config), ==, 0);
        g_assert_cmpint(sd_bus_error_add_map(vfiod_error_map), >=, 0);

        g_assert_cmpint(sd_bus_message_new_method_call(c->bus, &c->m, "org.vfiod1", "/org/vfiod1",
                                                       "org.vfiod1.Manager", "PlanAssignment"),
                        ==, 0);
        g_assert_cmpint(sd_bus_message_open_container(c->m, 'a', "{sv}"), >=, 0);
}

static void ctx_teardown(ctx *c, gconstpointer data)
{
        sd_bus_error_free(&c->error);
        sd_bus_message_unref(c->m);
        sd_bus_flush_close_unref(c->bus);
        config_done(&c->config);
}

static void add_s(ctx *c, const char *key, const char *value)
{
        g_assert_cmpint(sd_bus_message_append(c->m, "{sv}", key, "s", value), >=, 0);
}

static void add_u(ctx *c, const char *key, uint32_t value)
{
        g_assert_cmpint(sd_bus_message_append(c->m, "{sv}", key, "u", value), >=, 0);
}

/* Closes the dict, seals the message as if it had been received, and reads the options. */
static int parse(ctx *c, assign_options *o)
{
        g_assert_cmpint(sd_bus_message_close_container(c->m), >=, 0);
        g_assert_cmpint(sd_bus_message_seal(c->m, 1, 0), ==, 0);
        g_assert_cmpint(sd_bus_message_rewind(c->m, true), >=, 0);
        return bus_read_assign_options(c->m, &c->config, o, &c->error);
}

/* Fails with InvalidArgument whose message mentions what. */
static void assert_invalid(ctx *c, const char *what)
{
        assign_options o = {.timeout_ms = 4242};

        g_assert_cmpint(parse(c, &o), ==, -EINVAL);
        g_assert_cmpstr(c->error.name, ==, "org.vfiod1.Error.InvalidArgument");
        if (!strstr(c->error.message, what))
                g_error("message \"%s\" does not mention \"%s\"", c->error.message, what);
        /* Untouched on failure. */
        g_assert_cmpuint(o.timeout_ms, ==, 4242);
        g_assert_null(o.driver);
}

static void test_defaults(ctx *c, gconstpointer data)
{
        assign_options o = {};

        g_assert_cmpint(parse(c, &o), ==, 0);
        g_assert_null(o.driver);
        g_assert_cmpint(o.lifetime, ==, LEASE_CLIENT);
        g_assert_cmpint(o.console, ==, CONSOLE_REFUSE);
        g_assert_cmpuint(o.owner_uid, ==, UID_INVALID);
        g_assert_cmpuint(o.timeout_ms, ==, 0);
        assign_options_done(&o);
}

static void test_console_default_from_config(ctx *c, gconstpointer data)
{
        assign_options o = {};

        c->config.default_console = CONSOLE_TAKEOVER;
        g_assert_cmpint(parse(c, &o), ==, 0);
        g_assert_cmpint(o.console, ==, CONSOLE_TAKEOVER);
        assign_options_done(&o);
}

static void test_all_options(ctx *c, gconstpointer data)
{
        assign_options o = {};

        add_s(c, "driver", "vfio-platform");
        add_s(c, "lifetime", "persistent");
        add_s(c, "console", "takeover");
        add_u(c, "owner-uid", 1000);
        add_u(c, "timeout-ms", 600000);
        g_assert_cmpint(parse(c, &o), ==, 0);
        g_assert_cmpstr(o.driver, ==, "vfio-platform");
        g_assert_cmpint(o.lifetime, ==, LEASE_PERSISTENT);
        g_assert_cmpint(o.console, ==, CONSOLE_TAKEOVER);
        g_assert_cmpuint(o.owner_uid, ==, 1000);
        g_assert_cmpuint(o.timeout_ms, ==, 600000);
        assign_options_done(&o);
}

static void test_explicit_client_refuse(ctx *c, gconstpointer data)
{
        assign_options o = {};

        c->config.default_console = CONSOLE_TAKEOVER;
        add_s(c, "lifetime", "client");
        add_s(c, "console", "refuse");
        add_u(c, "owner-uid", 0);
        add_u(c, "timeout-ms", 1);
        g_assert_cmpint(parse(c, &o), ==, 0);
        g_assert_cmpint(o.lifetime, ==, LEASE_CLIENT);
        g_assert_cmpint(o.console, ==, CONSOLE_REFUSE);
        g_assert_cmpuint(o.owner_uid, ==, 0);
        g_assert_cmpuint(o.timeout_ms, ==, 1);
        assign_options_done(&o);
}

static void test_driver_variant_allowed_by_config(ctx *c, gconstpointer data)
{
        assign_options o = {};

        g_assert_cmpint(strv_extend(&c->config.allowed_drivers, "mlx5-vfio-pci"), ==, 0);
        add_s(c, "driver", "mlx5-vfio-pci");
        g_assert_cmpint(parse(c, &o), ==, 0);
        g_assert_cmpstr(o.driver, ==, "mlx5-vfio-pci");
        assign_options_done(&o);
}

/* One option with a bad value or type; the message must name what is wrong. */
typedef struct bad_option {
        const char *name;
        const char *key;
        char type; /* 's' or 'u' */
        const char *s;
        uint32_t u;
        const char *mentions;
} bad_option;

static const bad_option bad_options[] = {
    {"driver-not-allowed", "driver", 's', "e1000", 0, "e1000"},
    {"driver-variant-not-configured", "driver", 's', "mlx5-vfio-pci", 0,
     "vfio-pci, vfio-platform, vfio-amba"},
    {"wrong-type-string-for-uint", "owner-uid", 's', "1000", 0, "owner-uid"},
    {"wrong-type-uint-for-string", "driver", 'u', NULL, 1, "'s'"},
    {"bad-lifetime", "lifetime", 's', "forever", 0, "forever"},
    {"bad-console", "console", 's', "Takeover", 0, "Takeover"},
    {"owner-uid-invalid", "owner-uid", 'u', NULL, UINT32_MAX, "4294967295"},
    {"timeout-zero", "timeout-ms", 'u', NULL, 0, "timeout-ms"},
    {"timeout-too-long", "timeout-ms", 'u', NULL, CONFIG_TIMEOUT_MS_MAX + 1, "600001"},
};

static void test_bad_option(ctx *c, gconstpointer data)
{
        const bad_option *b = data;

        if (b->type == 's')
                add_s(c, b->key, b->s);
        else
                add_u(c, b->key, b->u);
        assert_invalid(c, b->mentions);
}

static void test_unknown_key(ctx *c, gconstpointer data)
{
        add_s(c, "lifetime", "client");
        add_s(c, "drvier", "vfio-pci");
        assert_invalid(c, "drvier");
}

static void test_duplicate_key(ctx *c, gconstpointer data)
{
        add_s(c, "lifetime", "client");
        add_s(c, "lifetime", "persistent");
        assert_invalid(c, "twice");
}

static void test_wrong_type_int64(ctx *c, gconstpointer data)
{
        g_assert_cmpint(sd_bus_message_append(c->m, "{sv}", "timeout-ms", "t", (uint64_t)5), >=, 0);
        assert_invalid(c, "timeout-ms");
}

static void test_wrong_type_container(ctx *c, gconstpointer data)
{
        g_assert_cmpint(sd_bus_message_append(c->m, "{sv}", "console", "as", 1, "takeover"), >=, 0);
        assert_invalid(c, "'as'");
}

static void test_long_value_is_shortened(ctx *c, gconstpointer data)
{
        g_autofree char *value = g_strnfill(5000, 'x');

        add_s(c, "driver", value);
        assert_invalid(c, "driver");
        g_assert_cmpuint(strlen(c->error.message), <, 400);
}

static void test_wrong_container_signature(ctx *c, gconstpointer data)
{
        assign_options o = {};

        /* A caller that sends something other than a{sv} where the options go. */
        sd_bus_message_unref(c->m);
        g_assert_cmpint(sd_bus_message_new_method_call(c->bus, &c->m, "org.vfiod1", "/org/vfiod1",
                                                       "org.vfiod1.Manager", "PlanAssignment"),
                        ==, 0);
        g_assert_cmpint(sd_bus_message_open_container(c->m, 'a', "s"), >=, 0);
        g_assert_cmpint(sd_bus_message_append(c->m, "s", "driver"), >=, 0);
        g_assert_cmpint(parse(c, &o), <, 0);
        g_assert_null(o.driver);
}

/* Every engine error class has its documented name, and the name maps back to an errno. */
static void test_error_names(void)
{
        static const struct {
                engine_error e;
                const char *name;
                int errnum;
        } table[] = {
            {ENGINE_NO_SUCH_DEVICE, "org.vfiod1.Error.NoSuchDevice", ENODEV},
            {ENGINE_NOT_ASSIGNABLE, "org.vfiod1.Error.NotAssignable", EPERM},
            {ENGINE_BUSY, "org.vfiod1.Error.Busy", EBUSY},
            {ENGINE_GROUP_NOT_VIABLE, "org.vfiod1.Error.GroupNotViable", EXDEV},
            {ENGINE_TIMEOUT, "org.vfiod1.Error.Timeout", ETIMEDOUT},
            {ENGINE_CONSOLE_IN_USE, "org.vfiod1.Error.ConsoleInUse", EBUSY},
            {ENGINE_UNSUPPORTED, "org.vfiod1.Error.Unsupported", EOPNOTSUPP},
            {ENGINE_ROLLED_BACK, "org.vfiod1.Error.RolledBack", ECANCELED},
            {ENGINE_INVALID_ARGUMENT, "org.vfiod1.Error.InvalidArgument", EINVAL},
            {ENGINE_NOT_ASSIGNED, "org.vfiod1.Error.NotAssigned", ESRCH},
        };

        g_assert_cmpint(sd_bus_error_add_map(vfiod_error_map), >=, 0);
        g_assert_null(engine_error_to_bus_name(ENGINE_OK));
        g_assert_null(engine_error_to_bus_name((engine_error)999));

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;

                g_assert_cmpstr(engine_error_to_bus_name(table[i].e), ==, table[i].name);
                g_assert_cmpint(bus_error_setf_engine(&error, table[i].e, "case %zu", i), ==,
                                -table[i].errnum);
                g_assert_cmpstr(error.name, ==, table[i].name);
                g_assert_cmpint(sd_bus_error_get_errno(&error), ==, table[i].errnum);
                sd_bus_error_free(&error);
        }
}

static void test_failure_message(void)
{
        engine_failure f = {
            .error = ENGINE_ROLLED_BACK,
            .step = "probe",
            .device = "0000:01:00.0",
            .errnum = 0,
            .message = "probe of 0000:01:00.0 with vfio-pci failed: driver did not bind "
                       "(rolled back)",
        };
        sd_bus_error error = SD_BUS_ERROR_NULL;

        g_assert_cmpint(sd_bus_error_add_map(vfiod_error_map), >=, 0);
        g_assert_cmpint(bus_error_set_failure(&error, &f), ==, -ECANCELED);
        g_assert_cmpstr(error.name, ==, "org.vfiod1.Error.RolledBack");
        g_assert_cmpstr(error.message, ==, f.message);
        sd_bus_error_free(&error);

        /* Without a sentence the reply still names the step, the device and the errno. */
        f = (engine_failure){.error = ENGINE_TIMEOUT,
                             .step = "unbind",
                             .device = "0000:02:00.0",
                             .errnum = ETIMEDOUT};
        g_assert_cmpint(bus_error_set_failure(&error, &f), ==, -ETIMEDOUT);
        g_assert_cmpstr(error.name, ==, "org.vfiod1.Error.Timeout");
        g_assert_nonnull(strstr(error.message, "unbind"));
        g_assert_nonnull(strstr(error.message, "0000:02:00.0"));
        g_assert_nonnull(strstr(error.message, strerror(ETIMEDOUT)));
        sd_bus_error_free(&error);

        /* A failure without a class is never sent as an anonymous error. */
        f = (engine_failure){.error = ENGINE_OK, .step = "verify", .message = "mystery"};
        g_assert_cmpint(bus_error_set_failure(&error, &f), <, 0);
        g_assert_cmpstr(error.name, ==, "org.vfiod1.Error.RolledBack");
        sd_bus_error_free(&error);
}

static void test_quote_name(void)
{
        char buf[16];
        g_autofree char *long_name = g_strnfill(5000, 'a');

        g_assert_cmpstr(bus_error_quote_name("0000:01:00.0", buf, sizeof(buf)), ==, "0000:01:00.0");
        g_assert_cmpstr(bus_error_quote_name(long_name, buf, sizeof(buf)), ==, "aaaaaaaaaaaa...");
        g_assert_cmpuint(strlen(buf), ==, sizeof(buf) - 1);
}

#define ADD(path, fn) g_test_add("/options/" path, ctx, NULL, ctx_setup, fn, ctx_teardown)

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);

        ADD("defaults", test_defaults);
        ADD("console-default-from-config", test_console_default_from_config);
        ADD("all-options", test_all_options);
        ADD("explicit-client-refuse", test_explicit_client_refuse);
        ADD("driver-variant-allowed-by-config", test_driver_variant_allowed_by_config);
        ADD("unknown-key", test_unknown_key);
        ADD("duplicate-key", test_duplicate_key);
        ADD("wrong-type-int64", test_wrong_type_int64);
        ADD("wrong-type-container", test_wrong_type_container);
        ADD("long-value-is-shortened", test_long_value_is_shortened);
        ADD("wrong-container-signature", test_wrong_container_signature);
        for (size_t i = 0; i < ELEMENTSOF(bad_options); i++) {
                g_autofree char *path = g_strdup_printf("/options/bad/%s", bad_options[i].name);
                g_test_add(path, ctx, &bad_options[i], ctx_setup, test_bad_option, ctx_teardown);
        }
        g_test_add_func("/errors/names", test_error_names);
        g_test_add_func("/errors/failure-message", test_failure_message);
        g_test_add_func("/errors/quote-name", test_quote_name);

        return g_test_run();
}
