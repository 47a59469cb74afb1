/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>

#include "errors.h"

const sd_bus_error_map vfiod_error_map[] = {
#define ERROR_MAP_ENTRY(key, errnum) SD_BUS_ERROR_MAP(VFIOD_ERROR_##key, errnum),
    VFIOD_ERROR_LIST(ERROR_MAP_ENTRY) /* each entry brings its comma */
#undef ERROR_MAP_ENTRY
    SD_BUS_ERROR_MAP_END,
};

/* Each API error name has an engine class of the same key, so the list indexes both. */
static const char *const engine_error_names[] = {
#define ENGINE_ERROR_NAME(key, errnum) [ENGINE_##key] = VFIOD_ERROR_##key,
    VFIOD_ERROR_LIST(ENGINE_ERROR_NAME)
#undef ENGINE_ERROR_NAME
};

const char *engine_error_to_bus_name(engine_error e)
{
        if ((unsigned)e >= ELEMENTSOF(engine_error_names))
                return NULL;
        return engine_error_names[e];
}

_printf_(3, 0) static int bus_error_setv_engine(sd_bus_error *error, engine_error e,
                                                const char *format, va_list ap)
{
        const char *name = engine_error_to_bus_name(e);
        char message[1024];

        /* A failure without a class is still a failure: never let it reach the caller as success
         * or as an anonymous errno. */
        if (!name)
                name = VFIOD_ERROR_ROLLED_BACK;

        (void)vsnprintf(message, sizeof(message), format, ap);
        return sd_bus_error_set(error, name, message);
}

int bus_error_setf_engine(sd_bus_error *error, engine_error e, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = bus_error_setv_engine(error, e, format, ap);
        va_end(ap);
        return r;
}

int bus_error_set_failure(sd_bus_error *error, const engine_failure *f)
{
        if (f->message[0])
                return bus_error_setf_engine(error, f->error, "%s", f->message);

        /* The engine always writes a sentence; this is the fallback that still names the step,
         * the device and the errno, so the reply is never empty. */
        if (f->errnum > 0)
                return bus_error_setf_engine(error, f->error, "%s of %s failed: %s", f->step,
                                             f->device[0] ? f->device : "the group",
                                             strerror(f->errnum));
        return bus_error_setf_engine(error, f->error, "%s of %s failed", f->step,
                                     f->device[0] ? f->device : "the group");
}

const char *bus_error_quote_name(const char *name, char *buf, size_t size)
{
        size_t n = strlen(name);

        if (size == 0)
                return "";
        if (n < size) {
                memcpy(buf, name, n + 1);
                return buf;
        }
        if (size <= 4) {
                buf[0] = '\0';
                return buf;
        }
        memcpy(buf, name, size - 4);
        memcpy(buf + size - 4, "...", 4);
        return buf;
}
