/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The worker threads behind the driver-core jobs. Creating a thread per job cost a clone, signal
 * mask changes, a fresh stack to fault in and an exit with its stack released again: under TCG
 * that was a good part of an assignment's own CPU. A kept thread only wakes up.
 *
 * One process-wide pool, guarded by one mutex: the loop thread submits, workers take work in the
 * order it came. Nothing here knows what the work is.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "workers.h"

typedef struct work {
        vk_work_fn fn;
        void *userdata;
        struct work *next;
} work;

static struct {
        pthread_mutex_t lock;
        pthread_cond_t work_ready; /* work queued, or idle workers asked to leave */
        pthread_cond_t idle_left;  /* an idle worker stopped waiting */
        work *head, *tail;
        unsigned n_queued;
        unsigned n_threads;
        unsigned n_idle;
        unsigned n_releasing; /* callers in vk_workers_release_idle */
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_ready = PTHREAD_COND_INITIALIZER,
    .idle_left = PTHREAD_COND_INITIALIZER,
};

static work *take_work(void)
{
        work *w = pool.head;

        pool.head = w->next;
        if (!pool.head)
                pool.tail = NULL;
        pool.n_queued--;
        return w;
}

/* Waits (lock held) until there is work, or returns false when the thread should exit: idle for
 * too long, or idle workers are being released. */
static bool wait_for_work(void)
{
        struct timespec deadline;

        (void)clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += VK_WORKER_IDLE_SEC;

        pool.n_idle++;
        while (!pool.head && pool.n_releasing == 0)
                if (pthread_cond_clockwait(&pool.work_ready, &pool.lock, CLOCK_MONOTONIC,
                                           &deadline) == ETIMEDOUT)
                        break;
        pool.n_idle--;
        pthread_cond_broadcast(&pool.idle_left);
        return pool.head != NULL;
}

static void *worker_main(void *unused)
{
        pthread_mutex_lock(&pool.lock);
        for (;;) {
                if (!pool.head && !wait_for_work())
                        break;

                work *w = take_work();
                pthread_mutex_unlock(&pool.lock);
                w->fn(w->userdata);
                free(w);
                pthread_mutex_lock(&pool.lock);
        }
        pool.n_threads--;
        pthread_mutex_unlock(&pool.lock);
        return NULL;
}

/* Lock held. A detached thread with every signal blocked (it inherits the mask it is made with). */
static int spawn_worker(void)
{
        sigset_t all, saved;
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r == 0)
                r = pthread_attr_setstacksize(&attr, VK_WORKER_STACK_SIZE);
        if (r == 0) {
                sigfillset(&all);
                pthread_sigmask(SIG_SETMASK, &all, &saved);
                r = pthread_create(&thread, &attr, worker_main, NULL);
                pthread_sigmask(SIG_SETMASK, &saved, NULL);
        }
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        pool.n_threads++;
        return 0;
}

int vk_work_submit(vk_work_fn fn, void *userdata)
{
        work *w;
        int r = 0;

        if (!fn)
                return -EINVAL;
        w = malloc(sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (work){.fn = fn, .userdata = userdata};

        pthread_mutex_lock(&pool.lock);
        /* Every waiting worker takes one piece of queued work; beyond that a new thread is
         * needed, or this work would wait behind a write that may never return. */
        if (pool.n_idle <= pool.n_queued)
                r = spawn_worker();
        if (r >= 0) {
                if (pool.tail)
                        pool.tail->next = w;
                else
                        pool.head = w;
                pool.tail = w;
                pool.n_queued++;
                pthread_cond_signal(&pool.work_ready);
        }
        pthread_mutex_unlock(&pool.lock);

        if (r < 0)
                free(w);
        return r;
}

void vk_workers_count(unsigned *ret_threads, unsigned *ret_idle)
{
        pthread_mutex_lock(&pool.lock);
        if (ret_threads)
                *ret_threads = pool.n_threads;
        if (ret_idle)
                *ret_idle = pool.n_idle;
        pthread_mutex_unlock(&pool.lock);
}

void vk_workers_release_idle(void)
{
        pthread_mutex_lock(&pool.lock);
        pool.n_releasing++;
        pthread_cond_broadcast(&pool.work_ready);
        while (pool.n_idle > 0)
                pthread_cond_wait(&pool.idle_left, &pool.lock);
        pool.n_releasing--;
        pthread_mutex_unlock(&pool.lock);
}
