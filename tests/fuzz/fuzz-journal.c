/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal record parser (daemon/journal.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        record *r = (record *)&size, *again = NULL; /* sentinel: must stay put on failure */
        char *text = NULL, *text_again = NULL;
        unsigned line = UINT32_MAX;
        size_t lines = 0;

        for (size_t i = 0; i < size; i++)
                if (data[i] == '\n')
                        lines++;

        if (journal_parse((const char *)data, size, &r, &line) != 0) {
                /* Nothing returned, and the line at fault exists (or 0 for the whole file). */
                if (r != (record *)&size || line > lines + 1)
                        abort();
                return 0;
        }

        /* Whatever parses formats again, and the text is a fixed point of parse + format. */
        if (r->n_members == 0 || journal_format(r, &text) != 0)
                abort();
        if (journal_parse(text, strlen(text), &again, NULL) != 0 ||
            journal_format(again, &text_again) != 0 || strcmp(text, text_again) != 0)
                abort();

        free(text);
        free(text_again);
        record_free(again);
        record_free(r);
        return 0;
}
