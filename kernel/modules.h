/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "root.h"

/* Kernel modules through libkmod. Module names and aliases ("vfio-pci", "pci:v00008086d...")
 * both work; "-" and "_" are equivalent as in modprobe. */

typedef struct vk_modules vk_modules;

/*
 * dirname: module directory, NULL for the running kernel's (/lib/modules/`uname -r`).
 * Under a non-system root (fixtures, the simulated kernel) nothing is ever inserted into the
 * running kernel: "loading" succeeds only if the driver is already registered in the tree
 * (sys/bus/<bus>/drivers/<name>), else -ENOENT.
 */
int vk_modules_new(vk_root *root, const char *dirname, vk_modules **ret);
vk_modules *vk_modules_free(vk_modules *m);
static inline void vk_modules_freep(vk_modules **m)
{
        vk_modules_free(*m);
}

/* Loads the module(s) providing name (and their dependencies). 0 if loaded or built in,
 * -ENOENT if nothing provides it. */
int vk_modules_load(vk_modules *m, const char *name);
/* True when the driver is built into the kernel (modules.builtin). */
bool vk_modules_is_builtin(vk_modules *m, const char *name);
/* True when some module, loadable or built in, provides name; nothing is loaded. */
bool vk_modules_known(vk_modules *m, const char *name);
