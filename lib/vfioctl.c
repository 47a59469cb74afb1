/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfioctl: the command line face of vfiod, built on libvfiod alone. */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "kernel/macros.h"
#include "vfioctl.h"

const struct exit_code_doc exit_code_table[] = {
    {EXIT_OK, "success"},
    {EXIT_USAGE, "invalid command line, or an argument the daemon rejected"},
    {EXIT_NO_DEVICE, "no such device"},
    {EXIT_ACCESS, "not authorized, or the lease belongs to someone else"},
    {EXIT_BUSY, "the group is assigned to someone else, or a member is in use"},
    {EXIT_BLOCKED, "not possible in this state: not assignable, group not viable, console\n"
                   "     in use, unsupported, not assigned; for plan: blockers present"},
    {EXIT_FAILED, "the transaction failed and was rolled back, or timed out"},
    {EXIT_UNREACHABLE, "the daemon or the bus cannot be reached"},
    {-1, NULL},
};

static const struct {
        const char *name;
        exit_code code;
} error_exit_codes[] = {
    {VFIOD_ERROR_NO_SUCH_DEVICE, EXIT_NO_DEVICE},
    {VFIOD_ERROR_ACCESS_DENIED, EXIT_ACCESS},
    {"org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", EXIT_ACCESS},
    {VFIOD_ERROR_BUSY, EXIT_BUSY},
    {VFIOD_ERROR_NOT_ASSIGNABLE, EXIT_BLOCKED},
    {VFIOD_ERROR_GROUP_NOT_VIABLE, EXIT_BLOCKED},
    {VFIOD_ERROR_CONSOLE_IN_USE, EXIT_BLOCKED},
    {VFIOD_ERROR_UNSUPPORTED, EXIT_BLOCKED},
    {VFIOD_ERROR_NOT_ASSIGNED, EXIT_BLOCKED},
    {VFIOD_ERROR_TIMEOUT, EXIT_FAILED},
    {VFIOD_ERROR_ROLLED_BACK, EXIT_FAILED},
    {VFIOD_ERROR_INVALID_ARGUMENT, EXIT_USAGE},
    {"org.freedesktop.DBus.Error.ServiceUnknown", EXIT_UNREACHABLE},
    {"org.freedesktop.DBus.Error.NameHasNoOwner", EXIT_UNREACHABLE},
    {"org.freedesktop.DBus.Error.NoReply", EXIT_UNREACHABLE},
    {"org.freedesktop.DBus.Error.Disconnected", EXIT_UNREACHABLE},
    {"org.freedesktop.DBus.Error.NoServer", EXIT_UNREACHABLE},
    {"org.freedesktop.DBus.Error.TimedOut", EXIT_UNREACHABLE},
    {"org.freedesktop.DBus.Error.Spawn.ChildExited", EXIT_UNREACHABLE},
    {"org.freedesktop.DBus.Error.Spawn.ExecFailed", EXIT_UNREACHABLE},
};

exit_code exit_code_for(vfiod_client *client, int r)
{
        const char *name = client ? vfiod_client_get_error_name(client) : NULL;

        if (name) {
                for (size_t i = 0; i < ELEMENTSOF(error_exit_codes); i++)
                        if (streq(error_exit_codes[i].name, name))
                                return error_exit_codes[i].code;
                return EXIT_FAILED;
        }
        switch (-r) {
        case ENODEV:
                return EXIT_NO_DEVICE;
        case EACCES:
        case EPERM:
                return EXIT_ACCESS;
        case EINVAL:
        case E2BIG:
                return EXIT_USAGE;
        /* Without an error name these come from the connection, not from the daemon. */
        case ENOENT:
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
        case ETIMEDOUT:
        case EHOSTUNREACH:
                return EXIT_UNREACHABLE;
        default:
                return EXIT_FAILED;
        }
}

void print_failure(vfiod_client *client, int r, const char *what)
{
        const char *name = client ? vfiod_client_get_error_name(client) : NULL;
        const char *message = client ? vfiod_client_get_error_message(client) : NULL;

        if (name)
                fprintf(stderr, "vfioctl: %s: %s (%s)\n", what, message ? message : strerror(-r),
                        name);
        else
                fprintf(stderr, "vfioctl: %s: %s\n", what, strerror(-r));
}

static void usage(FILE *f)
{
        fputs("Usage: vfioctl [--bus-address=ADDRESS] COMMAND ...\n"
              "\n"
              "  list [--json]                 devices vfiod can assign\n"
              "  show DEV [--json]             all properties of one device\n"
              "  plan DEV [ASSIGN OPTIONS]     what an assignment would do, and what blocks it\n"
              "  assign DEV [ASSIGN OPTIONS] -- COMMAND [ARG...]\n"
              "                                run COMMAND holding the device; its group fd is\n"
              "                                inherited, its number in $VFIOD_GROUP_FD; the\n"
              "                                device is released when COMMAND exits\n"
              "  assign DEV --persistent [ASSIGN OPTIONS]\n"
              "                                assign until `vfioctl release DEV` or reboot;\n"
              "                                prints the device's object path\n"
              "  release DEV                   return the device's group to its host drivers\n"
              "  monitor                       print device changes until interrupted\n"
              "\n"
              "DEV is 0000:01:00.0, pci:0000:01:00.0, platform:NAME or a /sys/devices path.\n"
              "ASSIGN OPTIONS: --driver=NAME --owner=USER --console=takeover|refuse\n"
              "                --timeout-ms=N (unbind timeout), and for assign --persistent.\n"
              "Without a COMMAND the group fd would close with vfioctl, so assign needs\n"
              "--persistent; add --owner=USER for a program that opens /dev/vfio/N itself.\n"
              "\n"
              "Exit status (with a COMMAND: the command's status, 128+N if signal N killed it,\n"
              "unless the assignment or the release failed):\n",
              f);
        for (size_t i = 0; exit_code_table[i].meaning; i++)
                fprintf(f, "  %d  %s\n", exit_code_table[i].code, exit_code_table[i].meaning);
}

_printf_(1, 2) static int usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("vfioctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'vfioctl --help'.\n", stderr);
        return EXIT_USAGE;
}

static int parse_u32(const char *s, uint32_t *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || s[0] == '-' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

static int parse_owner(const char *s, uint32_t *ret)
{
        struct passwd *pw = getpwnam(s);
        if (pw) {
                *ret = pw->pw_uid;
                return 0;
        }
        if (parse_u32(s, ret) < 0 || *ret == VFIOD_UID_INVALID)
                return -ESRCH;
        return 0;
}

struct cmdline {
        const char *verb;
        const char *device;
        bool json;
        bool owner_set;
        vfiod_assign_options options;
        char **command; /* after "--", NULL if none */
};

enum {
        OPT_BUS_ADDRESS = 0x100,
        OPT_JSON,
        OPT_PERSISTENT,
        OPT_OWNER,
        OPT_CONSOLE,
        OPT_TIMEOUT,
        OPT_DRIVER,
        OPT_VERSION
};

static int parse_verb_options(int argc, char **argv, struct cmdline *cl, const char **bus_address)
{
        static const struct option longopts[] = {
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, OPT_VERSION},
            {"bus-address", required_argument, NULL, OPT_BUS_ADDRESS},
            {"json", no_argument, NULL, OPT_JSON},
            {"persistent", no_argument, NULL, OPT_PERSISTENT},
            {"owner", required_argument, NULL, OPT_OWNER},
            {"console", required_argument, NULL, OPT_CONSOLE},
            {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
            {"driver", required_argument, NULL, OPT_DRIVER},
            {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        exit(EXIT_OK);
                case OPT_VERSION:
                        printf("vfioctl %s\n", VFIOD_VERSION);
                        exit(EXIT_OK);
                case OPT_BUS_ADDRESS:
                        *bus_address = optarg;
                        break;
                case OPT_JSON:
                        cl->json = true;
                        break;
                case OPT_PERSISTENT:
                        cl->options.persistent = true;
                        break;
                case OPT_OWNER:
                        if (parse_owner(optarg, &cl->options.owner_uid) < 0)
                                return usage_error("--owner: no such user: %s", optarg);
                        cl->owner_set = true;
                        break;
                case OPT_CONSOLE:
                        if (streq(optarg, "takeover"))
                                cl->options.console = VFIOD_CONSOLE_TAKEOVER;
                        else if (streq(optarg, "refuse"))
                                cl->options.console = VFIOD_CONSOLE_REFUSE;
                        else
                                return usage_error("--console must be takeover or refuse, not %s",
                                                   optarg);
                        break;
                case OPT_TIMEOUT:
                        if (parse_u32(optarg, &cl->options.timeout_ms) < 0 ||
                            cl->options.timeout_ms == 0)
                                return usage_error("--timeout-ms needs a positive number, not %s",
                                                   optarg);
                        break;
                case OPT_DRIVER:
                        if (!*optarg)
                                return usage_error("--driver needs a name");
                        cl->options.driver = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        }
        return EXIT_OK;
}

static int cmd_list(vfiod_client *c, const struct cmdline *cl)
{
        vfiod_device **list = NULL;
        int r = vfiod_client_list_devices(c, &list);

        if (r < 0) {
                print_failure(c, r, "list");
                return exit_code_for(c, r);
        }
        if (cl->json) {
                fputc('[', stdout);
                for (size_t i = 0; list[i]; i++) {
                        fputs(i > 0 ? ",\n " : "", stdout);
                        print_device_json(stdout, list[i]);
                }
                fputs("]\n", stdout);
        } else {
                print_device_row_header(stdout);
                for (size_t i = 0; list[i]; i++)
                        print_device_row(stdout, list[i]);
        }
        vfiod_device_list_free(list);
        return EXIT_OK;
}

static int cmd_show(vfiod_client *c, const struct cmdline *cl)
{
        vfiod_device *d = NULL;
        int r = vfiod_client_get_device(c, cl->device, &d);

        if (r < 0) {
                print_failure(c, r, cl->device);
                return exit_code_for(c, r);
        }
        if (cl->json) {
                print_device_json(stdout, d);
                fputc('\n', stdout);
        } else
                print_device_details(stdout, d);
        vfiod_device_unref(d);
        return EXIT_OK;
}

static int cmd_plan(vfiod_client *c, const struct cmdline *cl)
{
        vfiod_plan *plan = NULL;
        int r = vfiod_client_plan(c, cl->device, &cl->options, &plan);

        if (r < 0) {
                print_failure(c, r, cl->device);
                return exit_code_for(c, r);
        }
        print_plan(stdout, plan);
        bool blocked = vfiod_plan_get_blockers(plan)[0] != NULL;
        vfiod_plan_free(plan);
        return blocked ? EXIT_BLOCKED : EXIT_OK;
}

static int cmd_assign(vfiod_client *c, const struct cmdline *cl)
{
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *path = NULL;
        int r;

        if (cl->command)
                return run_with_lease(c, cl->device, &cl->options, cl->command);

        r = vfiod_client_assign(c, cl->device, &cl->options, &fd, &path);
        if (r < 0) {
                print_failure(c, r, cl->device);
                return exit_code_for(c, r);
        }
        printf("%s\n", path);
        return EXIT_OK;
}

static int cmd_release(vfiod_client *c, const struct cmdline *cl)
{
        int r = vfiod_client_release(c, cl->device);

        if (r < 0) {
                print_failure(c, r, cl->device);
                return exit_code_for(c, r);
        }
        return EXIT_OK;
}

static int on_monitor_event(vfiod_client *c, vfiod_event event, const vfiod_device *d,
                            void *userdata)
{
        static const char *const names[] = {
            [VFIOD_EVENT_DEVICE_ADDED] = "added",
            [VFIOD_EVENT_DEVICE_REMOVED] = "removed",
            [VFIOD_EVENT_DEVICE_CHANGED] = "changed",
        };
        const char *driver = vfiod_device_get_driver(d);
        const char *owner = vfiod_device_get_owner(d);

        printf("%s %s:%s driver=%s state=%s owner=%s\n", names[event], vfiod_device_get_bus(d),
               vfiod_device_get_name(d), *driver ? driver : "-", vfiod_device_get_state(d),
               *owner ? owner : "-");
        fflush(stdout);
        return 0;
}

static int cmd_monitor(vfiod_client *c, const struct cmdline *cl)
{
        _cleanup_(closep) int sfd = -EBADF;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0) {
                print_failure(NULL, -errno, "signalfd");
                return EXIT_FAILED;
        }

        r = vfiod_client_monitor(c, on_monitor_event, NULL);
        if (r < 0) {
                print_failure(c, r, "monitor");
                return exit_code_for(c, r);
        }
        for (;;) {
                uint64_t until;
                int timeout_ms = -1;

                while ((r = vfiod_client_process(c)) > 0)
                        ;
                if (r < 0) {
                        print_failure(c, r, "monitor");
                        return exit_code_for(c, r);
                }
                if (vfiod_client_get_timeout(c, &until) >= 0 && until != UINT64_MAX) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        uint64_t now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
                        timeout_ms = until > now ? (int)((until - now + 999) / 1000) : 0;
                }
                struct pollfd p[2] = {
                    {.fd = vfiod_client_get_fd(c), .events = vfiod_client_get_events(c)},
                    {.fd = sfd, .events = POLLIN},
                };
                if (poll(p, 2, timeout_ms) < 0 && errno != EINTR) {
                        print_failure(NULL, -errno, "poll");
                        return EXIT_FAILED;
                }
                if (p[1].revents & POLLIN)
                        return EXIT_OK;
        }
}

/* Every verb, what it accepts (so a misplaced option is an error, not ignored), and its code. */
static const struct verb {
        const char *name;
        int n_args;
        bool json, assign_options, command;
        int (*run)(vfiod_client *c, const struct cmdline *cl);
} verbs[] = {
    {"list", 0, true, false, false, cmd_list},
    {"show", 1, true, false, false, cmd_show},
    {"plan", 1, false, true, false, cmd_plan},
    {"assign", 1, false, true, true, cmd_assign},
    {"release", 1, false, false, false, cmd_release},
    {"monitor", 0, false, false, false, cmd_monitor},
};

static int check_verb(const struct cmdline *cl, int n_args, const struct verb **ret)
{
        const vfiod_assign_options defaults = VFIOD_ASSIGN_OPTIONS_INIT;
        bool has_assign_options = cl->options.persistent || cl->owner_set ||
                                  cl->options.console != VFIOD_CONSOLE_DEFAULT ||
                                  cl->options.driver ||
                                  cl->options.timeout_ms != defaults.timeout_ms;
        const struct verb *v = NULL;

        for (size_t i = 0; i < ELEMENTSOF(verbs) && !v; i++)
                if (streq(verbs[i].name, cl->verb))
                        v = &verbs[i];
        if (!v)
                return usage_error("unknown command %s", cl->verb);
        if (n_args != v->n_args)
                return usage_error(
                    v->n_args ? "%s needs exactly one device" : "%s takes no arguments", cl->verb);
        if (cl->json && !v->json)
                return usage_error("%s has no --json output", cl->verb);
        if (has_assign_options && !v->assign_options)
                return usage_error("%s takes no assignment options", cl->verb);
        if (cl->command && !v->command)
                return usage_error("%s runs no command", cl->verb);
        if (v->command && cl->command && cl->options.persistent)
                return usage_error("%s: --persistent conflicts with a command, whose lease ends "
                                   "when it exits",
                                   cl->verb);
        if (v->command && !cl->command && !cl->options.persistent)
                return usage_error("%s: without a command the device would be released as soon "
                                   "as vfioctl exits; give --persistent (and --owner=USER for a "
                                   "program that opens /dev/vfio/N itself) or a command after --",
                                   cl->verb);
        if (!v->command && cl->options.persistent)
                return usage_error("%s: --persistent changes nothing here", cl->verb);
        *ret = v;
        return EXIT_OK;
}

int main(int argc, char **argv)
{
        struct cmdline cl = {.options = VFIOD_ASSIGN_OPTIONS_INIT};
        const char *bus_address = NULL;
        vfiod_client *client = NULL;
        const struct verb *verb = NULL;
        int n_opts = argc, r;

        /* Everything after the first "--" is the command, untouched by option parsing. */
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--")) {
                        n_opts = i;
                        cl.command = i + 1 < argc ? argv + i + 1 : NULL;
                        if (!cl.command)
                                return usage_error("nothing to run after %s", "--");
                        argv[i] = NULL;
                        break;
                }

        r = parse_verb_options(n_opts, argv, &cl, &bus_address);
        if (r != EXIT_OK)
                return r;
        if (optind >= n_opts) {
                usage(stderr);
                return EXIT_USAGE;
        }
        cl.verb = argv[optind];
        cl.device = optind + 1 < n_opts ? argv[optind + 1] : NULL;
        r = check_verb(&cl, n_opts - optind - 1, &verb);
        if (r != EXIT_OK)
                return r;

        r = vfiod_client_new(bus_address, &client);
        if (r < 0) {
                print_failure(NULL, r, "cannot connect to the bus");
                return EXIT_UNREACHABLE;
        }
        /* A person at a terminal can answer a polkit agent's question. */
        if (isatty(STDIN_FILENO))
                (void)vfiod_client_set_interactive(client, true);

        r = verb->run(client, &cl);
        vfiod_client_unref(client);
        if (fflush(stdout) != 0 && r == EXIT_OK)
                return EXIT_FAILED;
        return r;
}
