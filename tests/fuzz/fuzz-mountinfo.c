/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The proc/self/mountinfo parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "holders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vk_mount *m = (vk_mount *)&size; /* sentinel: must stay put on failure */
        size_t n = SIZE_MAX;
        char *s = malloc(size + 1);

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        if (vk_parse_mountinfo(s, &m, &n) == 0) {
                for (size_t i = 0; i < n; i++) {
                        /* An unescaped field is never longer than its escaped form and never
                         * empty; every entry has all three. */
                        const char *fields[] = {m[i].mount_point, m[i].fstype, m[i].source};
                        for (size_t k = 0; k < 3; k++)
                                if (!fields[k] || !fields[k][0] || strlen(fields[k]) > size)
                                        abort();
                }
                vk_mount_list_free(m, n);
        } else if (n != SIZE_MAX || m != (vk_mount *)&size) {
                abort();
        }

        free(s);
        return 0;
}
