/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sysfs attribute parsers (hex, decimal, boolean) on arbitrary text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        char again[32];
        uint32_t h;
        int i, b;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        /* Whatever parses must print back to something that parses to the same value. */
        if (vk_parse_hex_u32(s, &h) == 0) {
                snprintf(again, sizeof(again), "0x%x\n", h);
                uint32_t h2;
                if (vk_parse_hex_u32(again, &h2) != 0 || h2 != h)
                        abort();
        }
        if (vk_parse_int(s, &i) == 0) {
                snprintf(again, sizeof(again), "%d", i);
                int i2;
                if (vk_parse_int(again, &i2) != 0 || i2 != i)
                        abort();
        }
        if (vk_parse_bool(s, &b) == 0 && b != 0 && b != 1)
                abort();

        free(s);
        return 0;
}
