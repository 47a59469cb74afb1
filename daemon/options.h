/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "engine.h"

/*
 * Reads the a{sv} options of AssignDevice / Assign / PlanAssignment from m (positioned at the
 * array). Every value is type-checked and validated against the configuration; an unknown key,
 * a key given twice, a wrong type or a bad value fails with org.vfiod1.Error.InvalidArgument and
 * a message naming the option. On success *ret holds the options (free with
 * assign_options_done); on failure *ret is untouched.
 */
int bus_read_assign_options(sd_bus_message *m, const engine_config *config, assign_options *ret,
                            sd_bus_error *error);
