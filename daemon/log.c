/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static log_level max_level = LOG_LEVEL_INFO;

/* syslog priorities, so journald (which reads "<N>" prefixes on stderr) files each line right. */
static const int level_priority[] = {
    [LOG_LEVEL_ERROR] = 3,
    [LOG_LEVEL_WARNING] = 4,
    [LOG_LEVEL_INFO] = 6,
    [LOG_LEVEL_DEBUG] = 7,
};

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARNING] = "warning",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_max_level(log_level level)
{
        max_level = level;
}

log_level log_get_max_level(void)
{
        return max_level;
}

int log_level_from_string(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i]))
                        return (int)i;
        return -EINVAL;
}

int log_internal(log_level level, int error, const char *file, int line, const char *format, ...)
{
        int saved = errno;
        int e = error < 0 ? -error : error;

        if (level <= max_level) {
                char text[2048];
                va_list ap;

                /* %m in the format refers to the error passed in, not whatever errno holds. */
                errno = e;
                va_start(ap, format);
                (void)vsnprintf(text, sizeof(text), format, ap);
                va_end(ap);

                /* Under systemd stderr is a journal stream, which reads a "<N>" prefix as the
                 * priority; on a terminal the prefix would only be noise. */
                if (getenv("JOURNAL_STREAM"))
                        fprintf(stderr, "<%d>", level_priority[level]);
                if (max_level >= LOG_LEVEL_DEBUG)
                        fprintf(stderr, "%s (%s:%d)\n", text, file, line);
                else
                        fprintf(stderr, "%s\n", text);
        }

        errno = saved;
        return -e;
}
