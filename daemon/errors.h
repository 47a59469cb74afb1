/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The API's named errors. The engine reports failures as engine_error classes; only the method
 * handlers turn them into org.vfiod1.Error.* replies, through these helpers.
 */

#include <systemd/sd-bus.h>

#include "engine.h"
#include "lib/vfiod-errors.h"
#include "macros.h"

/* Name -> errno, registered with sd_bus_error_add_map() so that sd_bus_error_set*() return a
 * meaningful errno for our names. */
extern const sd_bus_error_map vfiod_error_map[];

/* The D-Bus error name of an engine error class; NULL for ENGINE_OK or an unknown value. */
const char *engine_error_to_bus_name(engine_error e);

/* Sets a named error of class e with a formatted message; returns the negative errno of the
 * name (as sd_bus_error_set does), suitable as a method handler's return value. */
int bus_error_setf_engine(sd_bus_error *error, engine_error e, const char *format, ...)
    _printf_(3, 4);

/* Sets the error described by an engine failure. */
int bus_error_set_failure(sd_bus_error *error, const engine_failure *f);

/* Copies a device name into buf for use in an error message, shortened with "..." when it is
 * longer than buf (names come from untrusted callers and may be 5,000 characters long). */
const char *bus_error_quote_name(const char *name, char *buf, size_t size);
