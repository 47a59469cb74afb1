/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The /proc/iomem parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aperture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vk_iomem_range *r = (vk_iomem_range *)&size; /* sentinel: must stay put on failure */
        size_t n = SIZE_MAX;
        char *s = malloc(size + 1);

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        if (vk_parse_iomem(s, &r, &n) == 0) {
                for (size_t i = 0; i < n; i++) {
                        /* Every entry is well-formed: ordered bounds, a terminated, non-empty
                         * name, a depth that indentation could have produced. */
                        if (r[i].end < r[i].start || r[i].depth < 0 ||
                            !memchr(r[i].name, '\0', sizeof(r[i].name)) || !r[i].name[0])
                                abort();
                }
                free(r);
        } else if (n != SIZE_MAX || r != (vk_iomem_range *)&size) {
                abort();
        }

        free(s);
        return 0;
}
