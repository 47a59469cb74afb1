/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PCI "resource" file parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

#define IORESOURCE_MEM 0x200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vk_bar bars[VK_MAX_BARS];
        size_t n = SIZE_MAX, max;
        char *s;

        if (size < 1)
                return 0;
        /* The first byte picks the caller's array size, so short arrays are exercised too. */
        max = data[0] % (VK_MAX_BARS + 1);
        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';

        if (vk_parse_resource(s, bars, max, &n) == 0) {
                if (n > max)
                        abort();
                for (size_t i = 0; i < n; i++) {
                        if (bars[i].index >= VK_MAX_BARS || !(bars[i].flags & IORESOURCE_MEM) ||
                            bars[i].end < bars[i].start)
                                abort();
                        if (i > 0 && bars[i].index <= bars[i - 1].index)
                                abort();
                }
        } else if (n != SIZE_MAX) {
                abort(); /* output touched on failure */
        }

        free(s);
        return 0;
}
