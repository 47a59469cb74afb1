/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Kept threads for work that may block in the kernel (a driver's probe or remove behind a sysfs
 * write). A thread is made only when every kept one is busy, so a write stuck in the kernel
 * never delays the next; an idle thread waits for work for VK_WORKER_IDLE_SEC and then exits.
 * Threads run with every signal blocked, so signals stay with the event loop.
 */

#define VK_WORKER_IDLE_SEC 10

/* A job is one sysfs write and a few path buffers. The default (8 MiB) was worth a whole 2 MiB
 * transparent huge page of resident memory per thread on kernels that back it so. */
#define VK_WORKER_STACK_SIZE (256 * 1024)

typedef void (*vk_work_fn)(void *userdata);

/* Runs fn(userdata) on a worker. 0, or -ENOMEM / the pthread error: then fn was not called. */
int vk_work_submit(vk_work_fn fn, void *userdata);

/* Threads that exist now, and how many of them wait for work (for tests and figures). */
void vk_workers_count(unsigned *ret_threads, unsigned *ret_idle);

/* Lets every idle worker exit now and waits until they have; busy ones are left alone. */
void vk_workers_release_idle(void);
