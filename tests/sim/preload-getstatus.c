/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * LD_PRELOAD shim for the sim tier: answers VFIO_GROUP_GET_STATUS on the simulated kernel's
 * /dev/vfio/<group> nodes, and passes every other ioctl to libc untouched.
 *
 * Why it exists: the simulated kernel is a FUSE filesystem, and FUSE forwards an ioctl to its
 * server only as far as the command encodes the argument (direction and size, _IOR/_IOW). The
 * VFIO uAPI defines VFIO_GROUP_GET_STATUS as _IO(';', 103): no size, no direction, yet its
 * argument is a pointer to struct vfio_group_status that the kernel reads (argsz) and fills
 * (flags). A FUSE server cannot touch that memory. So the simulator publishes the flags as the
 * node's content ("flags=<n>\n", computed by the kernel's viability rule on every read), and this
 * shim turns the ioctl into a pread of it, with the kernel's argument checks. The unmodified
 * vfiod binary runs with it in LD_PRELOAD; nothing in vfiod knows about the simulator.
 *
 * Only fds on a FUSE filesystem (fstatfs f_type FUSE_SUPER_MAGIC) are answered here; a real VFIO
 * group is a character device on devtmpfs and always reaches the kernel.
 */

#include <dlfcn.h>
#include <errno.h>
#include <linux/magic.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int fd, unsigned long request, ...);

static ioctl_fn real_ioctl(void)
{
        static ioctl_fn fn;
        ioctl_fn f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);

        if (!f) {
                /* dlsym returns void *; POSIX guarantees it converts to a function pointer. */
                f = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
                __atomic_store_n(&fn, f, __ATOMIC_RELEASE);
        }
        return f;
}

static int on_fuse(int fd)
{
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return 0;
        return sfs.f_type == FUSE_SUPER_MAGIC;
}

/* Returns 0 or a negative errno, like the kernel's vfio_group_ioctl_get_status. */
static int sim_group_get_status(int fd, struct vfio_group_status *status)
{
        const size_t minsz = offsetof(struct vfio_group_status, flags) + sizeof(status->flags);
        char buf[64];
        unsigned flags;
        ssize_t n;

        if (!status)
                return -EFAULT;
        if (status->argsz < minsz)
                return -EINVAL;

        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
                return -errno; /* ENODEV once the group is gone, as the kernel reports */
        buf[n] = '\0';
        if (sscanf(buf, "flags=%u", &flags) != 1)
                return -EIO;

        status->flags = flags;
        return 0;
}

__attribute__((visibility("default"))) int ioctl(int fd, unsigned long request, ...)
{
        ioctl_fn next = real_ioctl();
        va_list ap;
        void *arg;
        int r;

        va_start(ap, request);
        arg = va_arg(ap, void *);
        va_end(ap);

        if (request == VFIO_GROUP_GET_STATUS && on_fuse(fd)) {
                r = sim_group_get_status(fd, arg);
                if (r < 0) {
                        errno = -r;
                        return -1;
                }
                return 0;
        }

        if (!next) {
                errno = ENOSYS;
                return -1;
        }
        return next(fd, request, arg);
}
