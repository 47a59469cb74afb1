/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * caller.c on a private dbus-daemon started here: a server connection answers "who am I" with
 * caller_uid(), clients ask. All run on one sd-event loop, so a lookup really is in flight while
 * more requests arrive.
 */

#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "caller.h"
#include "macros.h"

typedef struct bus_env {
        GPid daemon;
        char *dir; /* holds the bus socket */
        char *address;
        sd_event *event;
        sd_bus *server;
        sd_bus_slot *object;
        caller_registry *reg;
} bus_env;

typedef struct answer {
        bool done;
        bool failed;
        uint32_t uid;
} answer;

static int method_uid(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        bus_env *env = userdata;
        uid_t uid;
        int r;

        r = caller_uid(env->reg, m, &uid);
        if (r <= 0)
                return r < 0 ? r : 1;
        return sd_bus_reply_method_return(m, "u", (uint32_t)uid);
}

static const sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Uid", "", "u", method_uid, 0),
    SD_BUS_VTABLE_END,
};

static sd_bus *connect_to(bus_env *env)
{
        sd_bus *bus = NULL;

        g_assert_cmpint(sd_bus_new(&bus), ==, 0);
        g_assert_cmpint(sd_bus_set_address(bus, env->address), >=, 0);
        g_assert_cmpint(sd_bus_set_bus_client(bus, true), >=, 0);
        g_assert_cmpint(sd_bus_start(bus), >=, 0);
        g_assert_cmpint(sd_bus_attach_event(bus, env->event, 0), >=, 0);
        return bus;
}

static void env_init(bus_env *env)
{
        g_autoptr(GError) err = NULL;
        g_autofree char *listen = NULL;
        g_autoptr(GIOChannel) ch = NULL;
        gint out = -1;
        gsize len = 0;

        *env = (bus_env){};
        env->dir = g_dir_make_tmp("vfiod-test-caller.XXXXXX", &err);
        g_assert_no_error(err);
        /* Our own socket path: the session config's default would go wherever TMPDIR says. */
        listen = g_strdup_printf("--address=unix:path=%s/bus", env->dir);
        const char *argv[] = {"dbus-daemon",       "--session", "--nofork", "--nopidfile",
                              "--print-address=1", listen,      NULL};
        g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                                               NULL, NULL, &env->daemon, NULL, &out, NULL, &err));
        ch = g_io_channel_unix_new(out);
        g_io_channel_set_close_on_unref(ch, true);
        g_assert_cmpint(g_io_channel_read_line(ch, &env->address, &len, NULL, &err), ==,
                        G_IO_STATUS_NORMAL);
        g_strchomp(env->address);
        g_test_message("bus at %s", env->address);

        g_assert_cmpint(sd_event_new(&env->event), ==, 0);
        env->server = connect_to(env);
        g_assert_cmpint(caller_registry_new(&env->reg), ==, 0);
        g_assert_cmpint(
            sd_bus_add_object_vtable(env->server, &env->object, "/t", "t.Caller", vtable, env), ==,
            0);
}

static void env_done(bus_env *env)
{
        sd_bus_slot_unref(env->object);
        caller_registry_free(env->reg);
        sd_bus_flush_close_unref(env->server);
        sd_event_unref(env->event);
        kill(env->daemon, SIGTERM);
        g_spawn_close_pid(env->daemon);
        g_autofree char *sock = g_build_filename(env->dir, "bus", NULL);
        (void)unlink(sock);
        (void)rmdir(env->dir);
        g_free(env->dir);
        g_free(env->address);
}

static int on_answer(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        answer *a = userdata;

        a->done = true;
        if (sd_bus_message_is_method_error(m, NULL))
                a->failed = true;
        else
                g_assert_cmpint(sd_bus_message_read(m, "u", &a->uid), >, 0);
        return 0;
}

static void ask(bus_env *env, sd_bus *client, answer *a)
{
        const char *server;

        *a = (answer){};
        g_assert_cmpint(sd_bus_get_unique_name(env->server, &server), ==, 0);
        g_assert_cmpint(sd_bus_call_method_async(client, NULL, server, "/t", "t.Caller", "Uid",
                                                 on_answer, a, ""),
                        >=, 0);
}

static void run_until(bus_env *env, const answer *answers, size_t n)
{
        for (int rounds = 0; rounds < 100000; rounds++) {
                size_t done = 0;

                for (size_t i = 0; i < n; i++)
                        done += answers[i].done;
                if (done == n)
                        return;
                g_assert_cmpint(sd_event_run(env->event, 5 * 1000 * 1000), >, 0);
        }
        g_assert_not_reached();
}

/* Requests a new client sends together wait for one lookup; later ones use the kept answer. */
static void test_requests_share_one_lookup(void)
{
        answer first[3], later;
        bus_env env;
        sd_bus *client;

        env_init(&env);
        client = connect_to(&env);
        for (size_t i = 0; i < G_N_ELEMENTS(first); i++)
                ask(&env, client, &first[i]);
        run_until(&env, first, G_N_ELEMENTS(first));
        for (size_t i = 0; i < G_N_ELEMENTS(first); i++) {
                g_assert_false(first[i].failed);
                g_assert_cmpuint(first[i].uid, ==, getuid());
        }
        /* The server's own connection is not a caller; the client is the one name kept. */
        g_assert_cmpuint(caller_cached(env.reg), ==, 1);

        ask(&env, client, &later);
        run_until(&env, &later, 1);
        g_assert_false(later.failed);
        g_assert_cmpuint(later.uid, ==, getuid());
        g_assert_cmpuint(caller_cached(env.reg), ==, 1);

        sd_bus_flush_close_unref(client);
        env_done(&env);
}

/* More connections than the cache holds: it stays bounded, and a caller whose answer was
 * forgotten is simply asked about again. */
static void test_cache_bounded(void)
{
        const size_t n = CALLER_CACHE_MAX + 20;
        g_autofree sd_bus **clients = g_new0(sd_bus *, n);
        g_autofree answer *answers = g_new0(answer, n);
        answer again;
        bus_env env;

        env_init(&env);
        for (size_t i = 0; i < n; i++) {
                clients[i] = connect_to(&env);
                ask(&env, clients[i], &answers[i]);
                /* One at a time, so the first ones are the oldest answers. */
                run_until(&env, &answers[i], 1);
                g_assert_false(answers[i].failed);
                g_assert_cmpuint(answers[i].uid, ==, getuid());
        }
        g_assert_cmpuint(caller_cached(env.reg), ==, CALLER_CACHE_MAX);

        ask(&env, clients[0], &again);
        run_until(&env, &again, 1);
        g_assert_false(again.failed);
        g_assert_cmpuint(again.uid, ==, getuid());
        g_assert_cmpuint(caller_cached(env.reg), ==, CALLER_CACHE_MAX);

        for (size_t i = 0; i < n; i++)
                sd_bus_flush_close_unref(clients[i]);
        env_done(&env);
}

/* A client that leaves before the bus has said who it was: its request fails (nobody hears
 * that), and the server goes on answering others. */
static void test_caller_left_before_answer(void)
{
        answer gone, next;
        bus_env env;
        sd_bus *leaving, *client;

        env_init(&env);
        leaving = connect_to(&env);
        client = connect_to(&env);
        ask(&env, leaving, &gone);
        g_assert_cmpint(sd_bus_flush(leaving), >=, 0);
        sd_bus_close_unref(leaving);

        ask(&env, client, &next);
        run_until(&env, &next, 1);
        g_assert_false(next.failed);
        g_assert_cmpuint(next.uid, ==, getuid());
        g_assert_cmpuint(caller_cached(env.reg), <=, 2);

        sd_bus_flush_close_unref(client);
        env_done(&env);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/caller/requests-share-one-lookup", test_requests_share_one_lookup);
        g_test_add_func("/caller/cache-bounded", test_cache_bounded);
        g_test_add_func("/caller/caller-left-before-answer", test_caller_left_before_answer);
        return g_test_run();
}
