# SPDX-License-Identifier: LGPL-2.1-or-later
"""The scenario registry: @scenario("name", **Sim options) on a function taking the Sim."""

SCENARIOS = {}


def scenario(name, **sim_options):
    def register(fn):
        if name in SCENARIOS:
            raise ValueError("scenario %s registered twice" % name)
        SCENARIOS[name] = (fn, sim_options)
        return fn
    return register
