/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's logging: one line per message on stderr, which the journal picks up under
 * systemd. Only daemon/ logs; kernel/ reports errors as return values.
 */

#include <errno.h>
#include <stdlib.h>

#include "macros.h"

typedef enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
} log_level;

void log_set_max_level(log_level level);
log_level log_get_max_level(void);
/* "error", "warning", "info", "debug"; -EINVAL otherwise. */
int log_level_from_string(const char *s);

/* Logs at level and returns -abs(error) (or 0 when error is 0), so a caller can write
 * "return log_error_errno(r, ...)". %m in format refers to error. */
int log_internal(log_level level, int error, const char *file, int line, const char *format, ...)
    _printf_(5, 6);

#define log_full_errno(level, error, ...)                                                          \
        log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)

#define log_debug(...)   log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__)

#define log_debug_errno(error, ...)   log_full_errno(LOG_LEVEL_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...)    log_full_errno(LOG_LEVEL_INFO, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)   log_full_errno(LOG_LEVEL_ERROR, (error), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
