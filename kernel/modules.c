/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Kernel modules through libkmod, the way modprobe resolves them (names, aliases, modprobe.d,
 * blacklists for aliases). Under a non-system root the running kernel is never touched: loading
 * only checks that the tree already has the driver, which is what the simulated kernel and the
 * fixtures model.
 */

#include <libkmod.h>
#include <limits.h>
#include <stdio.h>

#include "macros.h"
#include "modules.h"
#include "sysfs.h"

/* Aliases are longer than names ("pci:v00008086d...") but always far below a page. */
#define MODULE_NAME_MAX 4095

struct vk_modules {
        vk_root *root;
        struct kmod_ctx *ctx;
        bool system;
};

static void kmod_module_unref_listp(struct kmod_list **l)
{
        kmod_module_unref_list(*l);
}

static void kmod_module_unrefp(struct kmod_module **m)
{
        kmod_module_unref(*m);
}

/* libkmod logs errors to stderr by default; kernel/ does not log, callers report errors. */
static void discard_log(void *data, int priority, const char *file, int line, const char *fn,
                        const char *format, va_list args)
{
}

int vk_modules_new(vk_root *root, const char *dirname, vk_modules **ret)
{
        /* An empty list, not NULL: the host's modprobe.d has nothing to say about a fixture. */
        static const char *const no_config[] = {NULL};
        _cleanup_(vk_modules_freep) vk_modules *m = NULL;
        int r;

        if (!root || !ret)
                return -EINVAL;
        r = vk_root_is_system(root);
        if (r < 0)
                return r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->system = r > 0;
        m->root = vk_root_ref(root);
        m->ctx = kmod_new(dirname, m->system ? NULL : no_config);
        if (!m->ctx)
                return -ENOMEM;
        kmod_set_log_fn(m->ctx, discard_log, NULL);

        *ret = TAKE_PTR(m);
        return 0;
}

vk_modules *vk_modules_free(vk_modules *m)
{
        if (!m)
                return NULL;
        kmod_unref(m->ctx);
        vk_root_unref(m->root);
        free(m);
        return NULL;
}

static bool name_is_valid(const char *name)
{
        if (!name)
                return false;
        size_t len = strnlen(name, MODULE_NAME_MAX + 1);
        return len > 0 && len <= MODULE_NAME_MAX;
}

/* modprobe treats '-' and '_' in module names as the same character. */
static bool names_equivalent(const char *a, const char *b)
{
        for (; *a && *b; a++, b++) {
                char x = *a == '-' ? '_' : *a;
                char y = *b == '-' ? '_' : *b;
                if (x != y)
                        return false;
        }
        return *a == *b;
}

/* 1 when any bus in the tree has registered a driver called name (sys/bus/<any>/drivers/name). */
static int tree_has_driver(vk_modules *m, const char *name)
{
        _cleanup_(strv_freep) char **buses = NULL;
        int r;

        r = vk_sysfs_list(m->root->sysfs_fd, "bus", &buses);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (char **b = buses; *b; b++) {
                _cleanup_(strv_freep) char **drivers = NULL;
                char path[NAME_MAX + sizeof("bus//drivers")];

                if ((size_t)snprintf(path, sizeof(path), "bus/%s/drivers", *b) >= sizeof(path))
                        continue;
                r = vk_sysfs_list(m->root->sysfs_fd, path, &drivers);
                /* Not every bus directory need have drivers/ (nor be a directory, in a fixture). */
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r < 0)
                        return r;
                for (char **d = drivers; *d; d++)
                        if (names_equivalent(*d, name))
                                return 1;
        }
        return 0;
}

/* The modules providing name, as modprobe would find them; *ret = NULL when none does. */
static int lookup(vk_modules *m, const char *name, struct kmod_list **ret)
{
        struct kmod_list *list = NULL;
        int r = kmod_module_new_from_lookup(m->ctx, name, &list);
        if (r < 0)
                return r;
        *ret = list;
        return 0;
}

/* Fixture/simulator rule: "loaded" means the tree has the driver, under its name or a module's
 * that provides the alias. Lookup failures mean no index to consult, i.e. nothing provides it. */
static int load_in_tree(vk_modules *m, const char *name)
{
        _cleanup_(kmod_module_unref_listp) struct kmod_list *list = NULL;
        struct kmod_list *l;
        int r;

        r = tree_has_driver(m, name);
        if (r != 0)
                return r < 0 ? r : 0;
        if (lookup(m, name, &list) < 0)
                return -ENOENT;
        kmod_list_foreach(l, list)
        {
                _cleanup_(kmod_module_unrefp) struct kmod_module *mod = kmod_module_get_module(l);
                r = tree_has_driver(m, kmod_module_get_name(mod));
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return -ENOENT;
}

/*
 * Real system: insert every module providing name with its dependencies, like modprobe does.
 * Success if any of them is built in, already live or now inserted; blacklisting (which applies
 * to aliases only, as for modprobe) is reported as -EPERM.
 */
static int load_system(vk_modules *m, const char *name)
{
        _cleanup_(kmod_module_unref_listp) struct kmod_list *list = NULL;
        struct kmod_list *l;
        int result = -ENOENT, r;

        r = lookup(m, name, &list);
        if (r < 0)
                return r;
        kmod_list_foreach(l, list)
        {
                _cleanup_(kmod_module_unrefp) struct kmod_module *mod = kmod_module_get_module(l);
                int state = kmod_module_get_initstate(mod);

                if (state == KMOD_MODULE_BUILTIN || state == KMOD_MODULE_LIVE) {
                        result = 0;
                        continue;
                }
                r = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY,
                                                    NULL, NULL, NULL, NULL);
                if (r == 0 || r == -EEXIST)
                        result = 0;
                else if (result != 0)
                        result = r > 0 ? -EPERM : r;
        }
        return result;
}

int vk_modules_load(vk_modules *m, const char *name)
{
        if (!m || !name_is_valid(name))
                return -EINVAL;
        return m->system ? load_system(m, name) : load_in_tree(m, name);
}

bool vk_modules_is_builtin(vk_modules *m, const char *name)
{
        _cleanup_(kmod_module_unref_listp) struct kmod_list *list = NULL;
        struct kmod_list *l;

        if (!m || !name_is_valid(name) || lookup(m, name, &list) < 0)
                return false;
        kmod_list_foreach(l, list)
        {
                _cleanup_(kmod_module_unrefp) struct kmod_module *mod = kmod_module_get_module(l);
                /* libkmod answers BUILTIN from modules.builtin alone; for other modules it
                 * reads /sys/module/<name>/initstate, which can only say live or absent. */
                if (kmod_module_get_initstate(mod) == KMOD_MODULE_BUILTIN)
                        return true;
        }
        return false;
}

bool vk_modules_known(vk_modules *m, const char *name)
{
        _cleanup_(kmod_module_unref_listp) struct kmod_list *list = NULL;

        if (!m || !name_is_valid(name) || lookup(m, name, &list) < 0)
                return false;
        return list != NULL;
}
