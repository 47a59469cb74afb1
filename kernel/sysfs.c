/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macros.h"
#include "sysfs.h"

/* Same bound as the kernel's path walk (MAXSYMLINKS). */
#define MAX_LINKS 40

int vk_read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_n)
{
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, allocated = 0;

        if (fd < 0 || !ret)
                return -EINVAL;

        /* Neither sysfs nor proc reports a size: read to EOF. One byte past max tells "exactly
         * max" from "cut", and one more keeps room for the terminating NUL. */
        for (;;) {
                if (allocated - size < 2) {
                        size_t na = allocated ? allocated * 2 : 16384;
                        if (na > max + 2)
                                na = max + 2;
                        char *nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        allocated = na;
                }
                ssize_t k = read(fd, buf + size, allocated - size - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t)k;
                if (size > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = '\0';
        if (ret_n)
                *ret_n = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int vk_sysfs_read(int dirfd, const char *path, char **ret)
{
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t n = 0;

        if (!path || !ret)
                return -EINVAL;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* A text attribute comes whole from the first read when the buffer is bigger than the
         * page its show callback prints into (kernfs hands out the seq_file's buffer at once),
         * so a read that returns less than asked has reached the end: the read that would
         * confirm it cost a system call on every attribute. More than a page is no attribute. */
        buf = malloc(VK_SYSFS_ATTR_MAX + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf, VK_SYSFS_ATTR_MAX + 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                n = (size_t)k;
                break;
        }
        if (n > VK_SYSFS_ATTR_MAX)
                return -EFBIG;
        /* Text attributes never contain NUL; one that does is not what we think it is. */
        if (memchr(buf, '\0', n))
                return -EBADMSG;
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        buf[n] = '\0';

        *ret = TAKE_PTR(buf);
        return 0;
}

int vk_sysfs_write(int dirfd, const char *path, const char *value)
{
        _cleanup_(closep) int fd = -EBADF;
        size_t len;
        ssize_t k;

        if (!path || !value)
                return -EINVAL;
        len = strlen(value);

        /* No O_CREAT: a missing attribute is -ENOENT, never a new file. O_TRUNC is what a shell
         * redirection does; sysfs ignores it and plain files (fixtures) then hold the value. */
        fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* The kernel's store callbacks see exactly one buffer: never split or retry a value. */
        do
                k = write(fd, value, len);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        if ((size_t)k != len)
                return -EIO;
        return 0;
}

static int read_link(int dirfd, const char *path, char **ret)
{
        char buf[PATH_MAX];
        ssize_t n = readlinkat(dirfd, path, buf, sizeof(buf));
        if (n < 0)
                return -errno;
        if ((size_t)n >= sizeof(buf))
                return -ENAMETOOLONG;
        buf[n] = '\0';
        char *s = strdup(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int vk_sysfs_read_link_name(int dirfd, const char *path, char **ret)
{
        _cleanup_(freep) char *target = NULL;
        const char *base;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_link(dirfd, path, &target);
        if (r < 0)
                return r;
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (!*base || streq(base, ".") || streq(base, ".."))
                return -EINVAL;

        char *s = strdup(base);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/*
 * A path walk like realpath(), but inside dirfd's tree only: every component is looked up
 * relative to dirfd through the part already resolved (which contains no symlinks), symlinks
 * are expanded by hand, ".." may not climb above dirfd and absolute targets are refused, so
 * nothing outside the tree is ever consulted. The final path must exist.
 */
int vk_sysfs_resolve_link_walk(int dirfd, const char *path, char **ret)
{
        char done[PATH_MAX] = ""; /* resolved so far, relative to dirfd, no symlinks */
        char todo[PATH_MAX];      /* what is left to walk */
        size_t done_len = 0;
        unsigned links = 0;

        if (!path || !ret)
                return -EINVAL;
        if (path[0] == '/')
                return -EXDEV;
        if (strlen(path) >= sizeof(todo))
                return -ENAMETOOLONG;
        strcpy(todo, path);

        for (;;) {
                char *rest = todo + strspn(todo, "/");
                if (!*rest)
                        break;
                size_t clen = strcspn(rest, "/");
                char comp[NAME_MAX + 1];
                if (clen > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, rest, clen);
                comp[clen] = '\0';
                rest += clen;
                bool last = rest[strspn(rest, "/")] == '\0';
                memmove(todo, rest, strlen(rest) + 1);

                if (streq(comp, "."))
                        continue;
                if (streq(comp, "..")) {
                        if (done_len == 0)
                                return -EXDEV;
                        char *slash = strrchr(done, '/');
                        done_len = slash ? (size_t)(slash - done) : 0;
                        done[done_len] = '\0';
                        continue;
                }

                char candidate[PATH_MAX];
                int k = snprintf(candidate, sizeof(candidate), "%s%s%s", done, done_len ? "/" : "",
                                 comp);
                if (k < 0 || (size_t)k >= sizeof(candidate))
                        return -ENAMETOOLONG;

                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, candidate, target, sizeof(target));
                if (n >= 0) {
                        if ((size_t)n >= sizeof(target))
                                return -ENAMETOOLONG;
                        target[n] = '\0';
                        if (++links > MAX_LINKS)
                                return -ELOOP;
                        if (target[0] == '/')
                                return -EXDEV;
                        /* Walk the target next, then whatever followed the link. */
                        if ((size_t)n + 1 + strlen(todo) >= sizeof(todo))
                                return -ENAMETOOLONG;
                        memmove(todo + n + 1, todo, strlen(todo) + 1);
                        memcpy(todo, target, (size_t)n);
                        todo[n] = '/';
                        continue;
                }
                if (errno != EINVAL)
                        return -errno;

                /* Not a symlink: it exists; anything below it must be a directory. */
                if (!last) {
                        struct stat st;
                        if (fstatat(dirfd, candidate, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return -errno;
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                }
                memcpy(done, candidate, (size_t)k + 1);
                done_len = (size_t)k;
        }

        if (done_len == 0)
                return -EINVAL; /* the tree's root is not a link target we hand out */
        char *s = strdup(done);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Where an fd of ours points, from /proc/self/fd (our own process, not the tree under test). */
static int fd_path(int fd, char *buf, size_t size)
{
        char link[64];
        ssize_t n;

        (void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, buf, size);
        if (n < 0)
                return -errno;
        if ((size_t)n >= size)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        return 0;
}

/*
 * The same walk done by the kernel: openat2() with RESOLVE_BENEATH refuses absolute links and
 * ".." above dirfd exactly as the walk above does, in one system call instead of two per path
 * component (which, on every device load, was most of what the daemon spent on a uevent). The
 * canonical name then comes from /proc/self/fd. Returns 1 when this way is not available (no
 * openat2, a seccomp filter, no /proc, an fd whose name is not below dirfd's) so the caller
 * walks by hand; errors of the walk itself come back as they are.
 */
int vk_sysfs_resolve_link_beneath(int dirfd, const char *path, char **ret)
{
        struct open_how how = {
            .flags = O_PATH | O_CLOEXEC,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        char base[PATH_MAX], full[PATH_MAX];
        _cleanup_(closep) int fd = -EBADF;
        size_t base_len;
        const char *rel;
        char *s;
        int r;

        if (!path || !ret)
                return -EINVAL;
        if (!*path)
                return -EINVAL; /* the tree's root, as the walk by hand says too */
        for (unsigned attempt = 0;; attempt++) {
                fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
                if (fd >= 0)
                        break;
                /* EAGAIN: a concurrent rename made ".." ambiguous; the kernel asks to retry. */
                if (errno == EAGAIN && attempt < 8)
                        continue;
                if (errno == ENOSYS || errno == EPERM || errno == EAGAIN)
                        return 1;
                return -errno;
        }

        r = fd_path(dirfd, base, sizeof(base));
        if (r >= 0)
                r = fd_path(fd, full, sizeof(full));
        if (r < 0)
                return 1;
        base_len = streq(base, "/") ? 0 : strlen(base);
        if (strncmp(full, base, base_len) != 0)
                return 1;
        rel = full + base_len;
        if (*rel == '\0')
                return -EINVAL; /* the tree's root is not a link target we hand out */
        if (*rel != '/')
                return 1;
        s = strdup(rel + 1);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int vk_sysfs_resolve_link(int dirfd, const char *path, char **ret)
{
        int r;

        if (!path || !ret)
                return -EINVAL;
        if (path[0] == '/')
                return -EXDEV;
        if (strlen(path) >= PATH_MAX)
                return -ENAMETOOLONG;
        r = vk_sysfs_resolve_link_beneath(dirfd, path, ret);
        if (r <= 0)
                return r;
        return vk_sysfs_resolve_link_walk(dirfd, path, ret);
}

static int strcmp_ptr(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The linux_dirent64 records getdents64(2) fills a buffer with. */
struct vk_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

/* getdents64 straight into a buffer: opendir/readdir would add an fstat and two fcntls to every
 * listing, and the daemon lists a few directories per request. With dirs_only, only real
 * directories are kept (no links, no files); kernfs reports the type of every entry, other file
 * systems may not, and those entries are asked with fstatat. */
static int list_names(int dirfd, const char *path, bool dirs_only, char ***ret)
{
        _cleanup_(strv_freep) char **names = NULL;
        _cleanup_(closep) int fd = -EBADF;
        char buf[8192] __attribute__((aligned(8)));

        if (!path || !ret)
                return -EINVAL;
        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (;;) {
                long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                for (long off = 0; off < n;) {
                        const struct vk_dirent64 *de = (const struct vk_dirent64 *)(buf + off);
                        struct stat st;

                        off += de->d_reclen;
                        /* sysfs has no hidden entries; this skips "." and "..". */
                        if (de->d_name[0] == '.')
                                continue;
                        if (dirs_only && de->d_type != DT_DIR &&
                            (de->d_type != DT_UNKNOWN ||
                             fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                             !S_ISDIR(st.st_mode)))
                                continue;
                        if (strv_extend(&names, de->d_name) < 0)
                                return -ENOMEM;
                }
        }
        qsort(names, strv_length(names), sizeof(char *), strcmp_ptr);

        *ret = TAKE_PTR(names);
        return 0;
}

int vk_sysfs_list(int dirfd, const char *path, char ***ret)
{
        return list_names(dirfd, path, false, ret);
}

int vk_sysfs_list_dirs(int dirfd, const char *path, char ***ret)
{
        return list_names(dirfd, path, true, ret);
}

/* A value, then at most one newline, then the end: what show callbacks print. */
static bool at_end(const char *p)
{
        return p[0] == '\0' || (p[0] == '\n' && p[1] == '\0');
}

int vk_parse_hex_u32(const char *s, uint32_t *ret)
{
        uint32_t v = 0;
        const char *p;

        if (!s || !ret)
                return -EINVAL;
        p = s;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                p += 2;
        if (unhexchar(*p) < 0)
                return -EINVAL;
        for (; unhexchar(*p) >= 0; p++) {
                if (v > UINT32_MAX >> 4)
                        return -ERANGE;
                v = (v << 4) | (uint32_t)unhexchar(*p);
        }
        if (!at_end(p))
                return -EINVAL;
        *ret = v;
        return 0;
}

int vk_parse_int(const char *s, int *ret)
{
        bool negative = false;
        long long v = 0;
        const char *p;

        if (!s || !ret)
                return -EINVAL;
        p = s;
        if (*p == '-') {
                negative = true;
                p++;
        }
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (*p - '0');
                if (v > (long long)INT_MAX + 1)
                        return -ERANGE;
        }
        if (!at_end(p))
                return -EINVAL;
        if (negative)
                v = -v;
        if (v > INT_MAX || v < INT_MIN)
                return -ERANGE;
        *ret = (int)v;
        return 0;
}

int vk_parse_bool(const char *s, int *ret)
{
        if (!s || !ret)
                return -EINVAL;
        /* "0"/"1" from device attributes, "N"/"Y" from module parameters (param_get_bool). */
        if ((s[0] == '0' || s[0] == 'N') && at_end(s + 1))
                *ret = 0;
        else if ((s[0] == '1' || s[0] == 'Y') && at_end(s + 1))
                *ret = 1;
        else
                return -EINVAL;
        return 0;
}
