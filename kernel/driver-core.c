/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The driver core's sysfs primitives. Each one is a single write of the value the kernel's store
 * callback expects; the kernel's errno comes back unchanged and nothing is verified here, because
 * only a re-read of the "driver" link tells what really happened (KERNEL.md).
 */

#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "driver-core.h"
#include "macros.h"
#include "sysfs.h"
#include "workers.h"

/* A driver name becomes one path component: refuse anything that could name another file. */
static bool driver_name_is_valid(const char *driver)
{
        if (!driver)
                return false;
        size_t len = strnlen(driver, VK_NAME_MAX + 1);
        if (len == 0 || len > VK_NAME_MAX)
                return false;
        if (streq(driver, ".") || strstr(driver, ".."))
                return false;
        /* '\n' would be cut off by the kernel, so the override would not be what was asked. */
        return !strpbrk(driver, "/\n");
}

/* The device name is written as the value; it must be the kernel name we resolved earlier. */
static bool device_id_is_valid(const vk_device_id *id)
{
        if (!id)
                return false;
        size_t len = strnlen(id->name, sizeof(id->name));
        return len > 0 && len < sizeof(id->name) && !strchr(id->name, '\n');
}

static int bus_attr_path(vk_bus bus, const char *attr, char *buf, size_t size)
{
        const char *b = vk_bus_to_string(bus);
        if (!b)
                return -EINVAL;
        int n = snprintf(buf, size, "bus/%s/%s", b, attr);
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int driver_attr_path(vk_bus bus, const char *driver, const char *attr, char *buf,
                            size_t size)
{
        const char *b = vk_bus_to_string(bus);
        if (!b || !driver_name_is_valid(driver))
                return -EINVAL;
        int n = snprintf(buf, size, "bus/%s/drivers/%s%s%s", b, driver, attr ? "/" : "",
                         attr ? attr : "");
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int override_path(const vk_device_id *id, char *buf, size_t size)
{
        char dev[PATH_MAX];
        int r = vk_device_bus_path(id, dev, sizeof(dev));
        if (r < 0)
                return r;
        int n = snprintf(buf, size, "%s/driver_override", dev);
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int write_override(vk_root *root, const vk_device_id *id, const char *value)
{
        char path[PATH_MAX];
        int r;

        if (!root || !device_id_is_valid(id))
                return -EINVAL;
        r = override_path(id, path, sizeof(path));
        if (r < 0)
                return r;
        return vk_sysfs_write(root->sysfs_fd, path, value);
}

int vk_dc_set_override(vk_root *root, const vk_device_id *id, const char *driver)
{
        if (!driver_name_is_valid(driver))
                return -EINVAL;
        return write_override(root, id, driver);
}

int vk_dc_clear_override(vk_root *root, const vk_device_id *id)
{
        return write_override(root, id, "\n");
}

int vk_dc_restore_override(vk_root *root, const vk_device_id *id, const char *driver)
{
        if (!driver)
                return vk_dc_clear_override(root, id);
        return vk_dc_set_override(root, id, driver);
}

/* Builds "bus/<bus>/drivers/<driver>/<attr>" after checking every argument. */
static int driver_write_path(vk_root *root, const vk_device_id *id, const char *driver,
                             const char *attr, char *buf, size_t size)
{
        if (!root || !device_id_is_valid(id))
                return -EINVAL;
        return driver_attr_path(id->bus, driver, attr, buf, size);
}

/* bind and unbind both take the device's kernel name. */
static int write_driver_attr(vk_root *root, const vk_device_id *id, const char *driver,
                             const char *attr)
{
        char path[PATH_MAX];
        int r = driver_write_path(root, id, driver, attr, path, sizeof(path));
        if (r < 0)
                return r;
        return vk_sysfs_write(root->sysfs_fd, path, id->name);
}

int vk_dc_unbind(vk_root *root, const vk_device_id *id, const char *driver)
{
        return write_driver_attr(root, id, driver, "unbind");
}

int vk_dc_bind(vk_root *root, const vk_device_id *id, const char *driver)
{
        return write_driver_attr(root, id, driver, "bind");
}

static int write_bus_attr(vk_root *root, vk_bus bus, const char *attr, const char *value)
{
        char path[PATH_MAX];
        int r = bus_attr_path(bus, attr, path, sizeof(path));
        if (r < 0)
                return r;
        return vk_sysfs_write(root->sysfs_fd, path, value);
}

int vk_dc_probe(vk_root *root, const vk_device_id *id)
{
        if (!root || !device_id_is_valid(id))
                return -EINVAL;
        return write_bus_attr(root, id->bus, "drivers_probe", id->name);
}

int vk_dc_get_autoprobe(vk_root *root, vk_bus bus, bool *ret)
{
        _cleanup_(freep) char *value = NULL;
        char path[PATH_MAX];
        int on, r;

        if (!root || !ret)
                return -EINVAL;
        r = bus_attr_path(bus, "drivers_autoprobe", path, sizeof(path));
        if (r < 0)
                return r;
        r = vk_sysfs_read(root->sysfs_fd, path, &value);
        if (r < 0)
                return r;
        r = vk_parse_bool(value, &on);
        if (r < 0)
                return r;
        *ret = on;
        return 0;
}

int vk_dc_set_autoprobe(vk_root *root, vk_bus bus, bool on)
{
        if (!root)
                return -EINVAL;
        return write_bus_attr(root, bus, "drivers_autoprobe", on ? "1" : "0");
}

bool vk_dc_driver_registered(vk_root *root, vk_bus bus, const char *driver)
{
        char path[PATH_MAX];
        struct stat st;

        if (!root || driver_attr_path(bus, driver, NULL, path, sizeof(path)) < 0)
                return false;
        return fstatat(root->sysfs_fd, path, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The unbind job. Two references exist while the worker runs: the caller's and the worker's.
 * Whoever drops the last one frees the job, so a caller that gave up on a timeout leaves the
 * worker to clean up whenever the kernel lets its write return. The worker owns a duplicate of
 * the sysfs directory fd and never touches the root handle, whose refcount is not thread-safe.
 */
struct vk_dc_job {
        atomic_uint n_ref;
        atomic_bool done;
        atomic_int result;
        int event_fd;
        int sysfs_fd;
        char path[PATH_MAX];
        char device[VK_NAME_MAX + 1];
};

static vk_dc_job *dc_job_free(vk_dc_job *job)
{
        safe_close(job->event_fd);
        safe_close(job->sysfs_fd);
        free(job);
        return NULL;
}

vk_dc_job *vk_dc_job_unref(vk_dc_job *job)
{
        if (!job)
                return NULL;
        if (atomic_fetch_sub_explicit(&job->n_ref, 1, memory_order_acq_rel) == 1)
                dc_job_free(job);
        return NULL;
}

static void dc_job_run(void *userdata)
{
        vk_dc_job *job = userdata;
        int r = vk_sysfs_write(job->sysfs_fd, job->path, job->device);

        atomic_store_explicit(&job->result, r, memory_order_relaxed);
        atomic_store_explicit(&job->done, true, memory_order_release);
        /* Only fails on counter overflow, which one write per job cannot reach. */
        (void)eventfd_write(job->event_fd, 1);
        vk_dc_job_unref(job);
}

/* Has a worker write the device's name to path (below the tree's root). */
static int job_start(vk_root *root, const vk_device_id *id, const char *path, vk_dc_job **ret)
{
        _cleanup_(vk_dc_job_unrefp) vk_dc_job *job = NULL;
        int r;

        if (!ret)
                return -EINVAL;

        job = calloc(1, sizeof(*job));
        if (!job)
                return -ENOMEM;
        atomic_init(&job->n_ref, 1);
        atomic_init(&job->done, false);
        atomic_init(&job->result, -EAGAIN);
        job->event_fd = job->sysfs_fd = -EBADF;

        if (strlen(path) >= sizeof(job->path))
                return -ENAMETOOLONG;
        strcpy(job->path, path);
        memcpy(job->device, id->name, sizeof(job->device));

        job->sysfs_fd = fcntl(root->sysfs_fd, F_DUPFD_CLOEXEC, 3);
        if (job->sysfs_fd < 0)
                return -errno;
        job->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (job->event_fd < 0)
                return -errno;

        atomic_fetch_add_explicit(&job->n_ref, 1, memory_order_relaxed);
        r = vk_work_submit(dc_job_run, job);
        if (r < 0) {
                atomic_fetch_sub_explicit(&job->n_ref, 1, memory_order_relaxed);
                return r;
        }

        *ret = TAKE_PTR(job);
        return 0;
}

int vk_dc_unbind_start(vk_root *root, const vk_device_id *id, const char *driver, vk_dc_job **ret)
{
        char path[PATH_MAX];
        int r;

        if (!ret)
                return -EINVAL;
        r = driver_write_path(root, id, driver, "unbind", path, sizeof(path));
        if (r < 0)
                return r;
        return job_start(root, id, path, ret);
}

int vk_dc_bind_start(vk_root *root, const vk_device_id *id, const char *driver, vk_dc_job **ret)
{
        char path[PATH_MAX];
        int r;

        if (!ret)
                return -EINVAL;
        r = driver_write_path(root, id, driver, "bind", path, sizeof(path));
        if (r < 0)
                return r;
        return job_start(root, id, path, ret);
}

int vk_dc_probe_start(vk_root *root, const vk_device_id *id, vk_dc_job **ret)
{
        char path[PATH_MAX];
        int r;

        if (!root || !device_id_is_valid(id) || !ret)
                return -EINVAL;
        r = bus_attr_path(id->bus, "drivers_probe", path, sizeof(path));
        if (r < 0)
                return r;
        return job_start(root, id, path, ret);
}

int vk_dc_job_fd(const vk_dc_job *job)
{
        if (!job)
                return -EINVAL;
        return job->event_fd;
}

int vk_dc_job_result(const vk_dc_job *job)
{
        if (!job)
                return -EINVAL;
        /* The const in the API is about the caller's view; the atomics need a mutable object. */
        vk_dc_job *j = (vk_dc_job *)job;
        if (!atomic_load_explicit(&j->done, memory_order_acquire))
                return -EAGAIN;
        return atomic_load_explicit(&j->result, memory_order_relaxed);
}
