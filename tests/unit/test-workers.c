/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker pool: work runs off the caller's thread, a blocked worker does not hold up the
 * next piece of work, an idle worker is used again, and idle workers can be let go. */

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fixture.h"
#include "macros.h"
#include "workers.h"

typedef struct {
        int gate_fd;    /* read before finishing; -1: finish at once */
        int started_fd; /* written when started */
        int done_fd;    /* written when finished */
        pthread_t thread;
        bool signals_blocked;
        size_t stack_size;
} task;

static void run_task(void *userdata)
{
        task *t = userdata;
        sigset_t mask;
        eventfd_t v;

        t->thread = pthread_self();
        pthread_sigmask(SIG_SETMASK, NULL, &mask);
        t->signals_blocked = sigismember(&mask, SIGTERM) && sigismember(&mask, SIGINT) &&
                             sigismember(&mask, SIGCHLD);
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
                (void)pthread_attr_getstacksize(&attr, &t->stack_size);
                pthread_attr_destroy(&attr);
        }
        (void)eventfd_write(t->started_fd, 1);
        if (t->gate_fd >= 0)
                (void)eventfd_read(t->gate_fd, &v);
        (void)eventfd_write(t->done_fd, 1);
}

static void task_init(task *t, bool gated)
{
        *t = (task){.gate_fd = -1};
        if (gated)
                t->gate_fd = eventfd(0, EFD_CLOEXEC);
        t->started_fd = eventfd(0, EFD_CLOEXEC);
        t->done_fd = eventfd(0, EFD_CLOEXEC);
        g_assert_cmpint(t->started_fd, >=, 0);
        g_assert_cmpint(t->done_fd, >=, 0);
}

static void task_done(task *t)
{
        safe_close(t->gate_fd);
        safe_close(t->started_fd);
        safe_close(t->done_fd);
}

/* Polls until the pool has `threads` threads, `idle` of them waiting: a worker reaches its wait
 * shortly after its work, and leaves the count shortly after it stopped waiting. */
static void wait_count(unsigned threads, unsigned idle)
{
        unsigned t, i;

        for (int n = 0; n < 1000; n++) {
                vk_workers_count(&t, &i);
                if (t == threads && i == idle)
                        return;
                g_usleep(5000);
        }
        g_assert_cmpuint(t, ==, threads);
        g_assert_cmpuint(i, ==, idle);
}

/* Starts a test with no threads: waits until the last test's workers are back in their wait
 * (a worker signals its work done just before it returns there), then lets them go. */
static void reset_pool(void)
{
        unsigned t, i;

        for (int n = 0; n < 1000; n++) {
                vk_workers_count(&t, &i);
                if (t == i)
                        break;
                g_usleep(5000);
        }
        vk_workers_release_idle();
        wait_count(0, 0);
}

static void test_runs_off_thread(void)
{
        task t;

        reset_pool();
        task_init(&t, false);
        g_assert_cmpint(vk_work_submit(run_task, &t), ==, 0);
        g_assert_true(fixture_fd_readable(t.done_fd, 10000));
        g_assert_false(pthread_equal(t.thread, pthread_self()));
        g_assert_true(t.signals_blocked);
        /* The small stack, not the process default (8 MiB here). */
        g_assert_cmpuint(t.stack_size, >=, VK_WORKER_STACK_SIZE);
        g_assert_cmpuint(t.stack_size, <, 2 * VK_WORKER_STACK_SIZE);
        task_done(&t);
}

static void test_idle_worker_reused(void)
{
        task a, b;
        unsigned threads;

        reset_pool();
        task_init(&a, false);
        g_assert_cmpint(vk_work_submit(run_task, &a), ==, 0);
        g_assert_true(fixture_fd_readable(a.done_fd, 10000));
        wait_count(1, 1);

        task_init(&b, false);
        g_assert_cmpint(vk_work_submit(run_task, &b), ==, 0);
        g_assert_true(fixture_fd_readable(b.done_fd, 10000));
        g_assert_true(pthread_equal(a.thread, b.thread));
        vk_workers_count(&threads, NULL);
        g_assert_cmpuint(threads, ==, 1);
        task_done(&a);
        task_done(&b);
}

static void test_blocked_worker_does_not_hold_up(void)
{
        task stuck, next;
        unsigned threads;

        reset_pool();
        task_init(&stuck, true);
        task_init(&next, false);
        g_assert_cmpint(vk_work_submit(run_task, &stuck), ==, 0);
        g_assert_cmpint(vk_work_submit(run_task, &next), ==, 0);

        /* The second finishes while the first is still stuck, on another thread. */
        g_assert_true(fixture_fd_readable(stuck.started_fd, 10000));
        g_assert_true(fixture_fd_readable(next.done_fd, 10000));
        g_assert_false(fixture_fd_readable(stuck.done_fd, 0));
        g_assert_false(pthread_equal(stuck.thread, next.thread));
        vk_workers_count(&threads, NULL);
        g_assert_cmpuint(threads, ==, 2);

        /* Letting idle workers go leaves the stuck one alone. */
        wait_count(2, 1);
        vk_workers_release_idle();
        wait_count(1, 0);
        g_assert_false(fixture_fd_readable(stuck.done_fd, 0));

        g_assert_cmpint(eventfd_write(stuck.gate_fd, 1), ==, 0);
        g_assert_true(fixture_fd_readable(stuck.done_fd, 10000));
        task_done(&stuck);
        task_done(&next);
}

static void test_burst(void)
{
        enum { N = 12 };
        task t[N];
        unsigned threads;

        reset_pool();
        for (int i = 0; i < N; i++) {
                task_init(&t[i], true);
                g_assert_cmpint(vk_work_submit(run_task, &t[i]), ==, 0);
        }
        /* All twelve are held at their gate at once: one thread each. */
        for (int i = 0; i < N; i++)
                g_assert_true(fixture_fd_readable(t[i].started_fd, 10000));
        vk_workers_count(&threads, NULL);
        g_assert_cmpuint(threads, ==, N);
        for (int i = 0; i < N; i++)
                g_assert_cmpint(eventfd_write(t[i].gate_fd, 1), ==, 0);
        for (int i = 0; i < N; i++) {
                g_assert_true(fixture_fd_readable(t[i].done_fd, 10000));
                task_done(&t[i]);
        }
        wait_count(N, N);

        vk_workers_release_idle();
        wait_count(0, 0);
}

static void test_bad_input(void)
{
        g_assert_cmpint(vk_work_submit(NULL, NULL), ==, -EINVAL);
}

int main(int argc, char *argv[])
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/workers/runs-off-thread", test_runs_off_thread);
        g_test_add_func("/workers/idle-worker-reused", test_idle_worker_reused);
        g_test_add_func("/workers/blocked-worker-does-not-hold-up",
                        test_blocked_worker_does_not_hold_up);
        g_test_add_func("/workers/burst", test_burst);
        g_test_add_func("/workers/bad-input", test_bad_input);
        return g_test_run();
}
