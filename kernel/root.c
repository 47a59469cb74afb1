/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macros.h"
#include "root.h"

static int open_dir_at(int dirfd, const char *name, bool required, int *ret_fd)
{
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT && !required) {
                        *ret_fd = -EBADF;
                        return 0;
                }
                return -errno;
        }
        *ret_fd = fd;
        return 0;
}

int vk_root_open(const char *prefix, vk_root **ret)
{
        _cleanup_(closep) int prefix_fd = -EBADF;
        _cleanup_(vk_root_unrefp) vk_root *root = NULL;
        int r;

        if (!prefix || !*prefix || !ret)
                return -EINVAL;

        prefix_fd = open(prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (prefix_fd < 0)
                return -errno;

        root = calloc(1, sizeof(*root));
        if (!root)
                return -ENOMEM;
        root->n_ref = 1;
        root->facts_max = VK_FIXED_FACTS_MAX;
        root->sysfs_fd = root->dev_fd = root->proc_fd = root->run_fd = -EBADF;
        root->prefix = strdup(prefix);
        if (!root->prefix)
                return -ENOMEM;

        /* Real directory fds (not O_PATH): callers list directories and read through them. */
        r = open_dir_at(prefix_fd, "sys", true, &root->sysfs_fd);
        if (r < 0)
                return r;
        r = open_dir_at(prefix_fd, "dev", true, &root->dev_fd);
        if (r < 0)
                return r;
        /* Fixtures that test only sysfs need no proc or run. */
        r = open_dir_at(prefix_fd, "proc", false, &root->proc_fd);
        if (r < 0)
                return r;
        r = open_dir_at(prefix_fd, "run", false, &root->run_fd);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(root);
        return 0;
}

vk_root *vk_root_ref(vk_root *root)
{
        if (root)
                root->n_ref++;
        return root;
}

static void facts_clear(vk_fixed_facts *f)
{
        free(f->name);
        free(f->modalias);
        free(f->physfn);
        free(f->syspath);
        *f = (vk_fixed_facts){};
}

static void facts_drop_all(vk_root *root)
{
        for (size_t i = 0; i < root->n_facts; i++)
                facts_clear(&root->facts[i]);
        root->n_facts = 0;
}

vk_root *vk_root_unref(vk_root *root)
{
        if (!root || --root->n_ref > 0)
                return NULL;
        facts_drop_all(root);
        free(root->facts);
        safe_close(root->sysfs_fd);
        safe_close(root->dev_fd);
        safe_close(root->proc_fd);
        safe_close(root->run_fd);
        free(root->prefix);
        free(root);
        return NULL;
}

/* Compares inodes rather than strings: "/", "//", "/." and a bind mount of / are all the system.
 * Returns 1 or 0, or -errno when the prefix cannot be examined any more. */
int vk_root_is_system(const vk_root *root)
{
        struct stat a, b;

        if (!root)
                return -EINVAL;
        if (stat(root->prefix, &a) < 0 || stat("/", &b) < 0)
                return -errno;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ---- facts fixed per device directory ---- */

/* Linear: a few dozen entries, compared with the system calls a hit saves, cost nothing. */
static vk_fixed_facts *facts_slot(const vk_root *root, int bus, const char *name)
{
        for (size_t i = 0; i < root->n_facts; i++)
                if (root->facts[i].bus == bus && strcmp(root->facts[i].name, name) == 0)
                        return &root->facts[i];
        return NULL;
}

const vk_fixed_facts *vk_root_find_facts_by_name(const vk_root *root, int bus, const char *name)
{
        if (!root || !name)
                return NULL;
        return facts_slot(root, bus, name);
}

int vk_root_keep_facts(vk_root *root, const vk_fixed_facts *facts)
{
        vk_fixed_facts copy, *slot;

        if (!root || !facts || !facts->name)
                return -EINVAL;
        if (root->facts_max == 0)
                return 0;

        /* Copies first, so that running out of memory changes nothing. */
        copy = *facts;
        copy.name = copy.modalias = copy.physfn = copy.syspath = NULL;
        if (strdup_optional(facts->name, &copy.name) < 0 ||
            strdup_optional(facts->modalias, &copy.modalias) < 0 ||
            strdup_optional(facts->physfn, &copy.physfn) < 0 ||
            strdup_optional(facts->syspath, &copy.syspath) < 0) {
                facts_clear(&copy);
                return -ENOMEM;
        }

        slot = facts_slot(root, facts->bus, facts->name);
        if (slot) {
                facts_clear(slot);
                *slot = copy;
                return 0;
        }
        /* Bounded: past the cap (thousands of SR-IOV functions) start over rather than grow; the
         * loads after that read the facts again, which costs time, not correctness. */
        if (root->n_facts >= root->facts_max)
                facts_drop_all(root);
        if (root->n_facts == root->n_facts_allocated) {
                size_t n = root->n_facts_allocated ? root->n_facts_allocated * 2 : 32;
                if (n > root->facts_max)
                        n = root->facts_max;
                vk_fixed_facts *grown = reallocarray(root->facts, n, sizeof(*grown));
                if (!grown) {
                        facts_clear(&copy);
                        return -ENOMEM;
                }
                root->facts = grown;
                root->n_facts_allocated = n;
        }
        root->facts[root->n_facts++] = copy;
        return 0;
}
