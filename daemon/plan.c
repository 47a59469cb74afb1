/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Planning (step 1): a read-only look at the group that decides whether an assignment may start
 * and what it would do. Everything that would make it fail for a reason known in advance is a
 * blocker here, so the transaction never writes anything it then has to take back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "aperture.h"
#include "engine-internal.h"
#include "group.h"
#include "holders.h"
#include "sysfs.h"
#include "vfio.h"

/* The order blockers are reported in: what can never work before what is merely busy now. */
static int blocker_rank(engine_error error)
{
        switch (error) {
        case ENGINE_NOT_ASSIGNABLE:
        case ENGINE_UNSUPPORTED:
                return 0;
        case ENGINE_GROUP_NOT_VIABLE:
                return 1;
        case ENGINE_BUSY:
                return 2;
        default:
                return 3;
        }
}

typedef struct blocker {
        engine_error error;
        char *text;
} blocker;

typedef struct builder {
        engine *e;
        plan *p;
        blocker *blockers;
        size_t n_blockers;
} builder;

static void builder_done(builder *b)
{
        for (size_t i = 0; i < b->n_blockers; i++)
                free(b->blockers[i].text);
        free(b->blockers);
}

_printf_(2, 0) static int vformat(char **ret, const char *format, va_list ap)
{
        return vasprintf(ret, format, ap) < 0 ? -ENOMEM : 0;
}

_printf_(3, 4) static int add_blocker(builder *b, engine_error error, const char *format, ...)
{
        _cleanup_(freep) char *text = NULL;
        blocker *l;
        size_t at;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vformat(&text, format, ap);
        va_end(ap);
        if (r < 0)
                return r;

        l = realloc(b->blockers, sizeof(*l) * (b->n_blockers + 1));
        if (!l)
                return -ENOMEM;
        b->blockers = l;
        /* Stable insertion by rank. */
        for (at = b->n_blockers; at > 0; at--)
                if (blocker_rank(l[at - 1].error) <= blocker_rank(error))
                        break;
        memmove(l + at + 1, l + at, sizeof(*l) * (b->n_blockers - at));
        l[at] = (blocker){.error = error, .text = TAKE_PTR(text)};
        b->n_blockers++;
        return 0;
}

_printf_(4, 5) static int add_step(builder *b, const char *action, const char *device,
                                   const char *format, ...)
{
        plan_step step = {};
        plan_step *l;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vformat(&step.detail, format, ap);
        va_end(ap);
        if (r < 0)
                return r;
        step.action = strdup(action);
        step.device = strdup(device);
        l = realloc(b->p->steps, sizeof(*l) * (b->p->n_steps + 1));
        if (!step.action || !step.device || !l) {
                free(step.action);
                free(step.device);
                free(step.detail);
                if (l)
                        b->p->steps = l;
                return -ENOMEM;
        }
        b->p->steps = l;
        l[b->p->n_steps++] = step;
        return 0;
}

plan *plan_free(plan *p)
{
        if (!p)
                return NULL;
        vk_group_free(p->group);
        free(p->driver);
        for (size_t i = 0; i < p->n_steps; i++) {
                free(p->steps[i].action);
                free(p->steps[i].device);
                free(p->steps[i].detail);
        }
        free(p->steps);
        strv_free(p->warnings);
        strv_free(p->blockers);
        free(p);
        return NULL;
}

/* ---- policy ---- */

static bool driver_allowed(const engine *e, const char *driver)
{
        static const char *const defaults[] = {"vfio-pci", "vfio-platform", "vfio-amba"};

        if (e->config.allowed_drivers)
                return strv_contains(e->config.allowed_drivers, driver);
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                if (streq(defaults[i], driver))
                        return true;
        return false;
}

static bool driver_fits_bus(const char *driver, vk_bus bus)
{
        switch (bus) {
        case VK_BUS_PCI:
                return !streq(driver, "vfio-platform") && !streq(driver, "vfio-amba");
        case VK_BUS_PLATFORM:
                return streq(driver, "vfio-platform");
        case VK_BUS_AMBA:
                return streq(driver, "vfio-amba");
        default:
                return false;
        }
}

/* Denied by name (any accepted spelling) or, for PCI, by vendor:device. *ret_rule names it. */
static bool device_denied(const engine *e, const vk_device *d, const char **ret_rule)
{
        for (char **n = e->config.deny_devices; n && *n; n++) {
                vk_device_id id;
                if (vk_parse_device_name(*n, strlen(*n), &id) >= 0 && id.bus == d->id.bus &&
                    streq(id.name, d->id.name)) {
                        *ret_rule = *n;
                        return true;
                }
        }
        if (d->id.bus != VK_BUS_PCI)
                return false;
        for (char **n = e->config.deny_ids; n && *n; n++) {
                char vendor[16], device[16];
                const char *colon = strchr(*n, ':');
                uint32_t v, dv;

                if (!colon || (size_t)(colon - *n) >= sizeof(vendor) ||
                    strlen(colon + 1) >= sizeof(device))
                        continue;
                memcpy(vendor, *n, (size_t)(colon - *n));
                vendor[colon - *n] = '\0';
                strcpy(device, colon + 1);
                if (vk_parse_hex_u32(vendor, &v) >= 0 && vk_parse_hex_u32(device, &dv) >= 0 &&
                    v == d->vendor && dv == d->device) {
                        *ret_rule = *n;
                        return true;
                }
        }
        return false;
}

/* What a person calls a PCI function of this class, for "... moves with the group". */
static const char *class_phrase(const vk_device *d)
{
        unsigned base = (d->class_code >> 16) & 0xff, sub = (d->class_code >> 8) & 0xff;

        if (d->id.bus != VK_BUS_PCI)
                return "device";
        switch (base) {
        case 0x01:
                return "storage controller";
        case 0x02:
                return "network controller";
        case 0x03:
                return sub == 0x00 ? "VGA controller" : "display controller";
        case 0x04:
                return sub == 0x03 ? "audio function" : "multimedia function";
        case 0x0c:
                return sub == 0x03 ? "USB controller" : "serial bus controller";
        default:
                return "function";
        }
}

/* "vesa-framebuffer.0, fb0, vtcon1" */
static int console_losses(const vk_aperture *a, char **ret)
{
        char **lists[] = {a->firmware_fbs, a->fbdevs, a->vtconsoles};
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        bool first = true;

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                for (char **s = lists[i]; s && *s; s++) {
                        fprintf(f, "%s%s", first ? "" : ", ", *s);
                        first = false;
                }
        if (first)
                fputs(a->boot_vga ? "the VGA text console" : "the firmware framebuffer", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* ---- checks ---- */

static int check_console(builder *b, const vk_device *d, console_policy policy)
{
        _cleanup_(vk_aperture_freep) vk_aperture *a = NULL;
        _cleanup_(freep) char *losses = NULL;
        int r;

        if (d->id.bus != VK_BUS_PCI || ((d->class_code >> 16) & 0xff) != 0x03)
                return 0;
        r = vk_aperture_check(b->e->root, d, &a);
        if (r < 0)
                return add_blocker(b, ENGINE_NOT_ASSIGNABLE,
                                   "%s: cannot tell whether it drives the host console: %s",
                                   d->id.name, strerror(-r));
        if (!a->removes_console)
                return 0;

        b->p->takes_console = true;
        r = console_losses(a, &losses);
        if (r < 0)
                return r;
        r = add_step(b, "console", d->id.name, "removes %s", losses);
        if (r < 0)
                return r;
        if (policy != CONSOLE_TAKEOVER)
                return add_blocker(b, ENGINE_CONSOLE_IN_USE,
                                   "%s drives the host console; assigning it removes %s "
                                   "(pass console=takeover to take it)",
                                   d->id.name, losses);
        return strv_extendf(&b->p->warnings,
                            "the host console goes away (%s); it comes back on release only if "
                            "a native driver of %s provides one",
                            losses, d->id.name);
}

static int check_member(builder *b, const vk_member *m, const assign_options *o)
{
        const vk_device *d = m->dev;
        _cleanup_(strv_freep) char **reasons = NULL;
        const char *rule;
        int r;

        if (m->role == VK_MEMBER_STAY) {
                if (d->driver && !vk_driver_is_dma_safe(d->driver))
                        return add_blocker(b, ENGINE_GROUP_NOT_VIABLE,
                                           "%s stays in the group bound to %s, which uses DMA; "
                                           "the group cannot be made viable",
                                           d->id.name, d->driver);
                return 0;
        }

        if (device_denied(b->e, d, &rule)) {
                r = add_blocker(b, ENGINE_NOT_ASSIGNABLE, "%s is denied by the configuration (%s)",
                                d->id.name, rule);
                if (r < 0)
                        return r;
        }
        if (d->numvfs > 0) {
                r = add_blocker(b, ENGINE_NOT_ASSIGNABLE,
                                "%s has %d SR-IOV virtual functions enabled; set sriov_numvfs "
                                "to 0 first",
                                d->id.name, d->numvfs);
                if (r < 0)
                        return r;
        }
        if (engine_loaded_device_stalled(b->e, d)) {
                r = add_blocker(b, ENGINE_BUSY,
                                "an unbind of %s is still waiting for a program to close its "
                                "VFIO device fd",
                                d->id.name);
                if (r < 0)
                        return r;
        }

        /* Whoever uses the device now would lose it mid-use; those are never guessed. */
        r = vk_holders_find(b->e->root, d, &reasons);
        if (r < 0)
                return add_blocker(b, ENGINE_BUSY, "%s: cannot tell who uses it: %s", d->id.name,
                                   strerror(-r));
        for (char **s = reasons; s && *s; s++) {
                r = add_blocker(b, ENGINE_BUSY, "%s: %s", d->id.name, *s);
                if (r < 0)
                        return r;
        }

        return check_console(b, d, o ? o->console : CONSOLE_REFUSE);
}

static int add_steps_and_warnings(builder *b, const assign_options *o)
{
        const plan *p = b->p;
        const vk_group *g = p->group;
        const char *target = p->target.name;
        int r;

        r = add_step(b, "load", target, "%s", p->driver);
        for (size_t i = 0; r >= 0 && i < g->n_members; i++)
                if (g->members[i].role == VK_MEMBER_MOVE)
                        r = add_step(b, "fence", g->members[i].dev->id.name, "driver_override=%s",
                                     p->driver);
        for (size_t i = 0; r >= 0 && i < g->n_members; i++) {
                const vk_device *d = g->members[i].dev;
                if (g->members[i].role == VK_MEMBER_MOVE && d->driver &&
                    !streq(d->driver, p->driver))
                        r = add_step(b, "unbind", d->id.name, "%s", d->driver);
        }
        for (size_t i = 0; r >= 0 && i < g->n_members; i++) {
                const vk_device *d = g->members[i].dev;
                if (g->members[i].role == VK_MEMBER_MOVE && !streq_ptr(d->driver, p->driver))
                        r = add_step(b, "probe", d->id.name, "%s", p->driver);
        }
        for (size_t i = 0; r >= 0 && i < g->n_members; i++) {
                const vk_device *d = g->members[i].dev;
                if (g->members[i].role != VK_MEMBER_STAY)
                        continue;
                if (d->driver)
                        r = add_step(b, "keep", d->id.name, "%s bridge stays", d->driver);
                else
                        r = add_step(b, "keep", d->id.name, "bridge stays unbound");
        }
        if (r < 0)
                return r;

        for (size_t i = 0; i < g->n_members; i++) {
                const vk_device *d = g->members[i].dev;
                if (g->members[i].role != VK_MEMBER_MOVE)
                        continue;
                r = check_member(b, &g->members[i], o);
                if (r < 0)
                        return r;
                if (!streq(d->id.name, target)) {
                        r = strv_extendf(&b->p->warnings, "%s (%s) moves with the group",
                                         d->id.name, class_phrase(d));
                        if (r < 0)
                                return r;
                }
                if (d->driver && !vk_driver_is_vfio(d->driver)) {
                        r = strv_extendf(&b->p->warnings,
                                         "host driver %s loses %s until it is released", d->driver,
                                         d->id.name);
                        if (r < 0)
                                return r;
                }
        }
        /* STAY members only block; they have nothing to warn about. */
        for (size_t i = 0; i < g->n_members; i++)
                if (g->members[i].role == VK_MEMBER_STAY) {
                        r = check_member(b, &g->members[i], o);
                        if (r < 0)
                                return r;
                }

        r = add_step(b, "open", target, "/dev/vfio/%d", g->id);
        if (r >= 0 && o && o->owner_uid != UID_INVALID)
                r = add_step(b, "chown", target, "/dev/vfio/%d to uid %u", g->id,
                             (unsigned)o->owner_uid);
        return r;
}

static int no_group_blocker(builder *b, const vk_device *d)
{
        vk_vfio_features features = {};

        if (vk_vfio_features_read(b->e->root, &features) >= 0 && !features.iommu) {
                if (features.noiommu)
                        return add_blocker(b, ENGINE_UNSUPPORTED,
                                           "%s has no IOMMU group; vfiod does not assign "
                                           "devices in VFIO no-IOMMU mode",
                                           d->id.name);
                return add_blocker(b, ENGINE_UNSUPPORTED,
                                   "no IOMMU is active; enable VT-d/AMD-Vi in the firmware and "
                                   "boot with intel_iommu=on or amd_iommu=on");
        }
        return add_blocker(b, ENGINE_NOT_ASSIGNABLE, "%s has no IOMMU group", d->id.name);
}

static int finish(builder *b)
{
        for (size_t i = 0; i < b->n_blockers; i++) {
                int r = strv_extend(&b->p->blockers, b->blockers[i].text);
                if (r < 0)
                        return r;
        }
        b->p->blocker_error = b->n_blockers > 0 ? b->blockers[0].error : ENGINE_OK;
        return 0;
}

static int check_driver(engine *e, const vk_device_id *id, const char *driver, engine_failure *f)
{
        if (!driver || !vk_driver_is_vfio(driver)) {
                failure_set(f, ENGINE_INVALID_ARGUMENT, "plan", id, EINVAL,
                            "driver \"%s\" is not a VFIO driver", driver ? driver : "");
                return -EINVAL;
        }
        if (!driver_allowed(e, driver)) {
                failure_set(f, ENGINE_INVALID_ARGUMENT, "plan", id, EPERM,
                            "driver %s is not allowed by the configuration (AllowedDrivers)",
                            driver);
                return -EINVAL;
        }
        if (!driver_fits_bus(driver, id->bus)) {
                failure_set(f, ENGINE_INVALID_ARGUMENT, "plan", id, EINVAL,
                            "%s cannot drive %s devices", driver, vk_bus_to_string(id->bus));
                return -EINVAL;
        }
        return 0;
}

/* Blockers, steps and warnings for the loaded target device d. */
static int plan_device(builder *b, const vk_device *d, const transaction *self,
                       const assign_options *o)
{
        plan *p = b->p;
        const char *why, *rule;
        int r;

        if (d->is_bridge)
                r = add_blocker(b, ENGINE_NOT_ASSIGNABLE,
                                "%s is a PCI bridge; assign the devices behind it", d->id.name);
        else if (d->iommu_group < 0)
                r = no_group_blocker(b, d);
        else if (engine_group_busy_other(b->e, d->iommu_group, self, &why))
                r = add_blocker(b, ENGINE_BUSY, "group %d %s", d->iommu_group, why);
        else {
                r = vk_group_load_with(b->e->root, d->iommu_group, d, &p->group);
                if (r == -ENODEV || r == -ENOENT)
                        r = add_blocker(b, ENGINE_BUSY,
                                        "group %d changed while it was read; try again",
                                        d->iommu_group);
                else if (r >= 0 && !vk_group_find(p->group, &d->id))
                        r = add_blocker(b, ENGINE_BUSY, "%s left group %d while it was read",
                                        d->id.name, d->iommu_group);
                else if (r >= 0)
                        r = add_steps_and_warnings(b, o);
        }
        /* A denied device says so even when something else blocks it too. */
        if (r >= 0 && !p->group && device_denied(b->e, d, &rule))
                r = add_blocker(b, ENGINE_NOT_ASSIGNABLE, "%s is denied by the configuration (%s)",
                                d->id.name, rule);
        return r;
}

/* given: the target as the caller just read it (NULL: read it here). */
static int plan_build_with(engine *e, const vk_device_id *id, const vk_device *given,
                           const assign_options *o, const transaction *self, plan **ret,
                           engine_failure *f)
{
        _cleanup_(vk_device_freep) vk_device *loaded = NULL;
        const vk_device *d = given;
        _cleanup_(plan_freep) plan *p = NULL;
        builder b = {.e = e};
        const char *driver;
        bool stalled;
        int r;

        if (!e || !id || !ret || !f)
                return -EINVAL;

        driver = o && o->driver ? o->driver : vk_bus_default_vfio_driver(id->bus);
        r = check_driver(e, id, driver, f);
        if (r < 0)
                return r;

        /* A device vfiod is unbinding is not even read: the kernel holds its device lock, and
         * reading driver_override waits for it. Someone else's unbind the load itself notices
         * (it skips driver_override then). */
        stalled = engine_device_waited(e, id);
        if (!stalled && !d) {
                r = vk_device_load(e->root, id, &loaded);
                d = loaded;
                if (r == -ENODEV || r == -ENOENT) {
                        failure_set(f, ENGINE_NO_SUCH_DEVICE, "plan", id, ENODEV, "no device %s:%s",
                                    vk_bus_to_string(id->bus), id->name);
                        return -ENODEV;
                }
                if (r < 0) {
                        failure_set(f, ENGINE_NOT_ASSIGNABLE, "plan", id, -r,
                                    "reading %s failed: %s", id->name, strerror(-r));
                        return r;
                }
        }

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->target = *id;
        p->driver = strdup(driver);
        if (!p->driver)
                return -ENOMEM;
        b.p = p;

        if (d && d->unbinding)
                stalled = true;
        if (stalled)
                r = add_blocker(&b, ENGINE_BUSY,
                                "an unbind of %s is still waiting for a program to close its VFIO "
                                "device fd",
                                id->name);
        else
                r = plan_device(&b, d, self, o);
        if (r >= 0)
                r = finish(&b);
        builder_done(&b);
        if (r < 0) {
                failure_set(f, ENGINE_NOT_ASSIGNABLE, "plan", id, -r,
                            "planning the assignment of %s failed: %s", id->name, strerror(-r));
                return r;
        }
        (void)sd_event_get_iteration(e->event, &p->iteration);

        *ret = TAKE_PTR(p);
        return 0;
}

int plan_to_record(engine *e, const plan *p, const lease_info *lease, record **ret)
{
        _cleanup_(record_freep) record *r = NULL;
        int k;

        if (!p || !p->group)
                return -EINVAL;
        k = record_new(p->group->id, p->target.bus, lease, p->driver, &r);
        for (size_t i = 0; k >= 0 && i < p->group->n_members; i++) {
                const vk_member *m = &p->group->members[i];
                if (m->role == VK_MEMBER_MOVE)
                        k = record_add_member(r, &m->dev->id, false, m->dev->driver,
                                              m->dev->driver_override);
        }
        if (k >= 0 && p->takes_console) {
                vk_vtcon *l = NULL;
                size_t n = 0;

                r->console_taken = true;
                k = vk_vtcon_list(e->root, &l, &n);
                for (size_t i = 0; k >= 0 && i < n; i++)
                        if (l[i].bound)
                                k = strv_extend(&r->vtconsoles, l[i].id);
                vk_vtcon_list_free(l, n);
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int plan_build(engine *e, const vk_device_id *id, const assign_options *o, const transaction *self,
               plan **ret, engine_failure *f)
{
        return plan_build_with(e, id, NULL, o, self, ret, f);
}

int engine_plan(engine *e, const vk_device_id *id, const assign_options *o, plan **ret,
                engine_failure *ret_failure)
{
        engine_failure ignored;
        return plan_build(e, id, o, NULL, ret, ret_failure ? ret_failure : &ignored);
}

int engine_plan_device(engine *e, const vk_device *d, const assign_options *o, plan **ret,
                       engine_failure *ret_failure)
{
        engine_failure ignored;

        if (!d)
                return -EINVAL;
        return plan_build_with(e, &d->id, d, o, NULL, ret, ret_failure ? ret_failure : &ignored);
}
