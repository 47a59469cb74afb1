/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfiod: assigns IOMMU groups to VFIO over D-Bus. Command line as in CONTRACTS.md. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "manager.h"

static void help(void)
{
        printf("Usage: vfiod [OPTIONS]\n\n"
               "Assigns host devices (whole IOMMU groups) to VFIO on request over D-Bus.\n\n"
               "  --root=DIR         kernel root prefix: DIR/sys, DIR/dev, DIR/proc, DIR/run "
               "(default /)\n"
               "  --bus-address=ADDR bus to serve on (default $DBUS_SYSTEM_BUS_ADDRESS, else the "
               "system bus)\n"
               "  --runtime-dir=DIR  journal directory (default $RUNTIME_DIRECTORY, else "
               "/run/vfiod)\n"
               "  --config=FILE      configuration (default %s)\n"
               "  --log-level=LEVEL  error, warning, info (default) or debug\n"
               "  --version          print the version and exit\n"
               "  -h, --help         show this help\n",
               VFIOD_CONFIG_FILE);
}

enum {
        ARG_ROOT = 0x100,
        ARG_BUS_ADDRESS,
        ARG_RUNTIME_DIR,
        ARG_CONFIG,
        ARG_LOG_LEVEL,
        ARG_VERSION,
};

static int parse_argv(int argc, char *argv[], manager_options *o, const char **ret_bus_address)
{
        static const struct option options[] = {
            {"root", required_argument, NULL, ARG_ROOT},
            {"bus-address", required_argument, NULL, ARG_BUS_ADDRESS},
            {"runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR},
            {"config", required_argument, NULL, ARG_CONFIG},
            {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
            {"version", no_argument, NULL, ARG_VERSION},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_ROOT:
                        o->root = optarg;
                        break;
                case ARG_BUS_ADDRESS:
                        *ret_bus_address = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        o->runtime_dir = optarg;
                        break;
                case ARG_CONFIG:
                        o->config_path = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        level = log_level_from_string(optarg);
                        if (level < 0)
                                return log_error_errno(level,
                                                       "Unknown log level \"%s\": use error, "
                                                       "warning, info or debug.",
                                                       optarg);
                        log_set_max_level(level);
                        break;
                case ARG_VERSION:
                        printf("vfiod %s\n", VFIOD_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }

        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument \"%s\"; see --help.",
                                       argv[optind]);
        return 1;
}

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) manager *m = NULL;
        manager_options o = {};
        const char *bus_address = NULL;
        int r;

        r = parse_argv(argc, argv, &o, &bus_address);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        r = manager_new(&o, &m);
        if (r < 0)
                return EXIT_FAILURE;

        r = manager_start(m, bus_address);
        if (r < 0)
                return EXIT_FAILURE;

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
