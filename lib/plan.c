/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* PlanAssignment: the dry run, kept as steps, warnings and blockers. */

#include <errno.h>
#include <stdlib.h>

#include "client-private.h"
#include "kernel/macros.h"

struct vfiod_plan_step {
        char *action;
        char *device;
        char *detail;
};

struct vfiod_plan {
        struct vfiod_plan_step *steps;
        size_t n_steps;
        char **warnings;
        char **blockers;
};

_VFIOD_PUBLIC_ vfiod_plan *vfiod_plan_free(vfiod_plan *plan)
{
        if (!plan)
                return NULL;
        for (size_t i = 0; i < plan->n_steps; i++) {
                free(plan->steps[i].action);
                free(plan->steps[i].device);
                free(plan->steps[i].detail);
        }
        free(plan->steps);
        strv_free(plan->warnings);
        strv_free(plan->blockers);
        free(plan);
        return NULL;
}

static void vfiod_plan_freep(vfiod_plan **p)
{
        vfiod_plan_free(*p);
}

static int plan_add_step(vfiod_plan *p, const char *action, const char *device, const char *detail)
{
        struct vfiod_plan_step *steps = realloc(p->steps, sizeof(*steps) * (p->n_steps + 1));
        if (!steps)
                return -ENOMEM;
        p->steps = steps;

        struct vfiod_plan_step s = {};
        if (free_and_strdup(&s.action, action) < 0 || free_and_strdup(&s.device, device) < 0 ||
            free_and_strdup(&s.detail, detail) < 0) {
                free(s.action);
                free(s.device);
                free(s.detail);
                return -ENOMEM;
        }
        p->steps[p->n_steps++] = s;
        return 0;
}

static int plan_read(sd_bus_message *reply, vfiod_plan **ret)
{
        _cleanup_(vfiod_plan_freep) vfiod_plan *p = calloc(1, sizeof(vfiod_plan));
        const char *action, *device, *detail;
        int r;

        if (!p)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(sss)", &action, &device, &detail)) > 0) {
                r = plan_add_step(p, action, device, detail);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        r = bus_message_read_strv_nonnull(reply, &p->warnings);
        if (r < 0)
                return r;
        r = bus_message_read_strv_nonnull(reply, &p->blockers);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

_VFIOD_PUBLIC_ int vfiod_client_plan(vfiod_client *client, const char *device,
                                     const vfiod_assign_options *options, vfiod_plan **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        if (!client || !device || !*device || !ret)
                return -EINVAL;
        client_reset_error(client);

        r = client_new_assignment_call(client, "PlanAssignment", device, options, &m);
        if (r < 0)
                return r;
        r = client_call(client, m, 0, &reply);
        if (r < 0)
                return r;
        return plan_read(reply, ret);
}

_VFIOD_PUBLIC_ size_t vfiod_plan_get_n_steps(const vfiod_plan *plan)
{
        return plan ? plan->n_steps : 0;
}

_VFIOD_PUBLIC_ int vfiod_plan_get_step(const vfiod_plan *plan, size_t index, const char **action,
                                       const char **device, const char **detail)
{
        if (!plan)
                return -EINVAL;
        if (index >= plan->n_steps)
                return -ERANGE;
        if (action)
                *action = plan->steps[index].action;
        if (device)
                *device = plan->steps[index].device;
        if (detail)
                *detail = plan->steps[index].detail;
        return 0;
}

_VFIOD_PUBLIC_ const char *const *vfiod_plan_get_warnings(const vfiod_plan *plan)
{
        static const char *const empty[] = {NULL};
        return plan ? (const char *const *)plan->warnings : empty;
}

_VFIOD_PUBLIC_ const char *const *vfiod_plan_get_blockers(const vfiod_plan *plan)
{
        static const char *const empty[] = {NULL};
        return plan ? (const char *const *)plan->blockers : empty;
}
