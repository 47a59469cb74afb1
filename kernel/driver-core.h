/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

/*
 * The driver core's primitives, with the kernel's semantics (see KERNEL.md). All return 0 or the
 * negative errno of the write. None of them verifies anything: callers re-read the driver link.
 */

/* driver_override = driver (fences the device: only that driver may bind). */
int vk_dc_set_override(vk_root *root, const vk_device_id *id, const char *driver);
/* Clears the override; the kernel clears on "\n". */
int vk_dc_clear_override(vk_root *root, const vk_device_id *id);
/* Restores an override as read earlier (NULL clears). */
int vk_dc_restore_override(vk_root *root, const vk_device_id *id, const char *driver);

/* bus/<bus>/drivers/<driver>/unbind. May block for as long as a device fd is open: use the job
 * API below from an event loop. -ENODEV if not bound to that driver. */
int vk_dc_unbind(vk_root *root, const vk_device_id *id, const char *driver);
/* bus/<bus>/drivers_probe: success does NOT mean a driver bound. */
int vk_dc_probe(vk_root *root, const vk_device_id *id);
/* bus/<bus>/drivers/<driver>/bind: -ENODEV no match, -EBUSY already bound, probe errors as is. */
int vk_dc_bind(vk_root *root, const vk_device_id *id, const char *driver);
/* bus/<bus>/drivers_autoprobe. */
int vk_dc_get_autoprobe(vk_root *root, vk_bus bus, bool *ret);
int vk_dc_set_autoprobe(vk_root *root, vk_bus bus, bool on);
/* Does bus/<bus>/drivers/<driver> exist (driver registered)? */
bool vk_dc_driver_registered(vk_root *root, vk_bus bus, const char *driver);

/*
 * Unbind, bind or probe in a worker thread: each runs a driver's code (remove or probe), which may
 * wait in the kernel for as long as the device is in use or slow to set up. The caller polls
 * vk_dc_job_fd() (readable on completion, e.g. with sd_event_add_io) and arms its own timer; on
 * timeout it drops its reference and moves on: the worker may stay blocked in the kernel, holding
 * the device lock, and frees the job when it finally returns.
 */
typedef struct vk_dc_job vk_dc_job;

int vk_dc_unbind_start(vk_root *root, const vk_device_id *id, const char *driver, vk_dc_job **ret);
/* bus/<bus>/drivers/<driver>/bind; the result is the probe's, as for vk_dc_bind. */
int vk_dc_bind_start(vk_root *root, const vk_device_id *id, const char *driver, vk_dc_job **ret);
/* bus/<bus>/drivers_probe; the result says nothing of whether a driver bound (see vk_dc_probe). */
int vk_dc_probe_start(vk_root *root, const vk_device_id *id, vk_dc_job **ret);
int vk_dc_job_fd(const vk_dc_job *job);
/* -EAGAIN while running; otherwise the unbind's result (0 or -errno). */
int vk_dc_job_result(const vk_dc_job *job);
vk_dc_job *vk_dc_job_unref(vk_dc_job *job);
static inline void vk_dc_job_unrefp(vk_dc_job **j)
{
        vk_dc_job_unref(*j);
}
