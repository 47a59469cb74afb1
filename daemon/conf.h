/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * (Named conf.h, not config.h, so it does not shadow the build's generated config.h.)
 *
 * /etc/vfiod/vfiod.conf, a GKeyFile:
 *
 *   [Daemon]
 *   UnbindTimeoutMs=10000                       1 .. CONFIG_TIMEOUT_MS_MAX
 *   ConsolePolicy=refuse                        refuse | takeover
 *   AllowedDrivers=vfio-pci;vfio-platform;vfio-amba;   VFIO drivers only, at least one
 *   [Deny]
 *   Devices=0000:00:02.0;platform:fff51000.ethernet;   never assigned, by name
 *   Ids=8086:1234;                              never assigned, by vendor:device (hex)
 *
 * The file is read once at start. An absent file means the defaults above. Anything the parser
 * does not understand -- a line that is not a group, key or comment, an unknown group or key
 * (a typo must not silently drop a deny rule), a key or group given twice, a bad value -- is an
 * error naming the line, and the daemon refuses to start rather than guess.
 */

#include "engine.h"

#define CONFIG_UNBIND_TIMEOUT_MS_DEFAULT 10000u
/* Upper bound for UnbindTimeoutMs and the timeout-ms option: ten minutes. */
#define CONFIG_TIMEOUT_MS_MAX 600000u

/* Fills *ret with the built-in defaults. */
int config_defaults(engine_config *ret);

/*
 * Loads path over the defaults. On success *ret is filled (the caller frees it with
 * config_done). On failure returns -EINVAL for a malformed file or the -errno of reading it, and
 * *ret_error (if given) is a newly allocated sentence "PATH:LINE: what is wrong".
 */
int config_load(const char *path, engine_config *ret, char **ret_error);

/* Parses already-read text; origin names it in messages. */
int config_parse(const char *text, size_t len, const char *origin, engine_config *ret,
                 char **ret_error);

void config_done(engine_config *c);
