/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A fixture tree with a root handle opened on it, as GTest fixture setup/teardown:
 *   g_test_add("/x/y", fixture_root, NULL, fixture_root_setup, test_fn, fixture_root_teardown);
 * Header-only, so the fixture library itself stays free of kernel/.
 */

#include <glib.h>

#include "fixture.h"
#include "root.h"

typedef struct fixture_root {
        fixture *f;
        vk_root *root;
} fixture_root;

static inline void fixture_root_setup(fixture_root *c, gconstpointer data)
{
        c->f = fixture_new();
        g_assert_cmpint(vk_root_open(fixture_prefix(c->f), &c->root), ==, 0);
}

static inline void fixture_root_teardown(fixture_root *c, gconstpointer data)
{
        vk_root_unref(c->root);
        fixture_free(c->f);
}
