/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uevent parser. The input is copied into a buffer of exactly its size, so any read past the
 * length the parser was given is caught by ASan. A parsed event must satisfy what consumers rely
 * on: terminated fields, an absolute devpath without "."/".." components ending in kernel_name,
 * names without '/'; a rejected one must leave the output untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s, size_t size, bool may_be_empty, bool allow_slash)
{
        size_t len = strnlen(s, size);
        if (len == size || (len == 0 && !may_be_empty))
                abort();
        if (!allow_slash && memchr(s, '/', len))
                abort();
}

static void check_event(const vk_uevent *u)
{
        if (u->action < VK_UEVENT_ADD || u->action > VK_UEVENT_OTHER)
                abort();
        check_field(u->devpath, sizeof(u->devpath), false, true);
        check_field(u->subsystem, sizeof(u->subsystem), false, false);
        check_field(u->driver, sizeof(u->driver), true, false);
        check_field(u->kernel_name, sizeof(u->kernel_name), false, false);

        if (u->devpath[0] != '/')
                abort();
        const char *last = strrchr(u->devpath, '/') + 1;
        if (strcmp(last, u->kernel_name) != 0)
                abort();
        for (const char *c = u->devpath; c; c = strchr(c + 1, '/')) {
                size_t n = strcspn(c + 1, "/");
                if (n == 0 || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vk_uevent u, before;
        char *buf = malloc(size ? size : 1);

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        memset(&u, 0x5a, sizeof(u));
        before = u;

        if (vk_uevent_parse(buf, size, &u) == 0)
                check_event(&u);
        else if (memcmp(&u, &before, sizeof(u)) != 0)
                abort();

        free(buf);
        return 0;
}
