/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * org.vfiod1.Device objects under /org/vfiod1/device. Nothing is kept per device: the find
 * callback checks the kernel for the device named by the path, the enumerator lists the buses,
 * and the property getters read sysfs (plus the lease table) at call time.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "group.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "sysfs.h"

static const vk_bus supported_buses[] = {VK_BUS_PCI, VK_BUS_PLATFORM, VK_BUS_AMBA};

void device_view_clear(device_view *v)
{
        free(v->path);
        sd_bus_message_unref(v->message);
        vk_device_free(v->device);
        strv_free(v->blockers);
        *v = (device_view){};
}

int device_object_path(const vk_device_id *id, char **ret)
{
        char name[VK_NAME_MAX + 16];

        (void)snprintf(name, sizeof(name), "%s:%s", vk_bus_to_string(id->bus), id->name);
        return sd_bus_path_encode(VFIOD_DEVICE_PREFIX, name, ret);
}

/* The id an object path names. Only the canonical, bus-qualified spelling is an object, so each
 * device has exactly one path. */
static int path_to_id(const char *path, vk_device_id *ret)
{
        _cleanup_(freep) char *name = NULL;
        char canonical[VK_NAME_MAX + 16];
        vk_device_id id;
        int r;

        r = sd_bus_path_decode(path, VFIOD_DEVICE_PREFIX, &name);
        if (r < 0)
                return r;
        if (r == 0 || !name)
                return -ENOENT;

        r = vk_parse_device_name(name, strlen(name), &id);
        if (r < 0)
                return -ENOENT;
        (void)snprintf(canonical, sizeof(canonical), "%s:%s", vk_bus_to_string(id.bus), id.name);
        if (!streq(canonical, name))
                return -ENOENT;

        *ret = id;
        return 0;
}

static int device_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                       void **found, sd_bus_error *error)
{
        manager *m = userdata;
        char qualified[VK_NAME_MAX + 16];
        vk_device_id id, resolved;

        if (path_to_id(path, &id) < 0)
                return 0;

        /* A device being announced as removed is already gone from sysfs. */
        if (m->removing_path && streq(m->removing_path, path)) {
                *found = m;
                return 1;
        }
        /* A change signal for a device loaded for that very signal: sd-bus asks twice per
         * signal, and each answer from sysfs was two link resolutions. */
        if (m->emitting && m->view.device && m->view.generation == m->emit_generation &&
            streq_ptr(m->view.path, path)) {
                *found = m;
                return 1;
        }

        (void)snprintf(qualified, sizeof(qualified), "%s:%s", vk_bus_to_string(id.bus), id.name);
        if (vk_device_resolve(m->root, qualified, strlen(qualified), &resolved) < 0)
                return 0;

        *found = m;
        return 1;
}

int manager_list_device_paths(manager *m, char ***ret)
{
        _cleanup_(strv_freep) char **paths = NULL;
        int r;

        for (size_t b = 0; b < ELEMENTSOF(supported_buses); b++) {
                _cleanup_(strv_freep) char **names = NULL;

                r = vk_bus_list_devices(m->root, supported_buses[b], &names);
                if (r == -ENOENT)
                        continue; /* this kernel has no such bus (amba on x86) */
                if (r < 0)
                        return r;

                for (char **n = names; n && *n; n++) {
                        _cleanup_(freep) char *path = NULL;
                        vk_device_id id = {.bus = supported_buses[b]};

                        if (strlen(*n) > VK_NAME_MAX)
                                continue;
                        strcpy(id.name, *n);
                        r = device_object_path(&id, &path);
                        if (r < 0)
                                return r;
                        r = strv_extend(&paths, path);
                        if (r < 0)
                                return r;
                }
        }

        *ret = TAKE_PTR(paths);
        return 0;
}

static int device_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                            sd_bus_error *error)
{
        manager *m = userdata;
        char **paths = NULL;
        int r;

        r = manager_list_device_paths(m, &paths);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot list devices: %m");
        *ret_nodes = paths;
        return 0;
}

/*
 * Reading devices without the device lock. After an unbind outlived its timeout the kernel still
 * holds that device's lock, and some attributes (driver_override, sriov_numvfs) take it to be
 * shown: one read would stop the loop until the kernel lets go. Links and the plain ID
 * attributes never take it, so these readers stick to them.
 */

static int read_link_name(manager *m, const vk_device_id *id, const char *attr, char **ret)
{
        char path[PATH_MAX];
        int r;

        r = vk_device_bus_path(id, path, sizeof(path) - strlen(attr) - 1);
        if (r < 0)
                return r;
        strcat(path, "/");
        strcat(path, attr);
        return vk_sysfs_read_link_name(m->root->sysfs_fd, path, ret);
}

int device_read_group(manager *m, const vk_device_id *id)
{
        _cleanup_(freep) char *name = NULL;
        int group, r;

        r = read_link_name(m, id, "iommu_group", &name);
        if (r == -ENOENT)
                return -1;
        if (r < 0)
                return r;
        r = vk_parse_int(name, &group);
        return r < 0 ? r : group;
}

int group_member_ids(manager *m, int group, vk_device_id **ret, size_t *ret_n)
{
        _cleanup_(strv_freep) char **names = NULL;
        _cleanup_(freep) vk_device_id *ids = NULL;
        char dir[64];
        size_t n = 0;
        int r;

        r = announce_listed_members(m, group, ret, ret_n);
        if (r != 0)
                return r < 0 ? r : 0;

        (void)snprintf(dir, sizeof(dir), "kernel/iommu_groups/%d/devices", group);
        r = vk_sysfs_list(m->root->sysfs_fd, dir, &names);
        if (r < 0)
                return r;

        ids = calloc(strv_length(names) + 1, sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        for (char **i = names; *i; i++) {
                _cleanup_(freep) char *subsystem = NULL;
                char path[PATH_MAX];
                vk_bus bus;

                (void)snprintf(path, sizeof(path), "%s/%s/subsystem", dir, *i);
                if (vk_sysfs_read_link_name(m->root->sysfs_fd, path, &subsystem) < 0)
                        continue; /* left the group while we looked */
                bus = vk_bus_from_string(subsystem);
                if (bus < 0 || strlen(*i) > VK_NAME_MAX)
                        continue;
                ids[n].bus = bus;
                strcpy(ids[n].name, *i);
                n++;
        }

        announce_keep_listing(m, group, ids, n);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

int group_stall_reason(manager *m, int group, char **ret_reason)
{
        _cleanup_(freep) vk_device_id *ids = NULL;
        size_t n = 0;

        if (group < 0 || group_member_ids(m, group, &ids, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (engine_device_stalled(m->engine, &ids[i])) {
                        if (asprintf(ret_reason,
                                     "an unbind of %s is still waiting for a program to close "
                                     "its VFIO device fd",
                                     ids[i].name) < 0)
                                return -ENOMEM;
                        return 1;
                }
        return 0;
}

static int read_hex_attr(manager *m, const vk_device_id *id, const char *attr, uint32_t *ret)
{
        _cleanup_(freep) char *value = NULL;
        char path[PATH_MAX];
        int r;

        r = vk_device_bus_path(id, path, sizeof(path) - strlen(attr) - 1);
        if (r < 0)
                return r;
        strcat(path, "/");
        strcat(path, attr);
        r = vk_sysfs_read(m->root->sysfs_fd, path, &value);
        if (r < 0)
                return r;
        return vk_parse_hex_u32(value, ret);
}

/* A device inside an unbind shows the override vfiod fenced it with (fence always precedes
 * unbind): the VFIO driver of the assignment that still holds its group, if any. */
static int show_fenced_override(manager *m, vk_device *d)
{
        const engine_assignment *a = engine_find_assignment(m->engine, &d->id);

        if (!a || !a->lease.driver)
                return 0;
        free(d->driver_override);
        d->driver_override = strdup(a->lease.driver);
        return d->driver_override ? 0 : -ENOMEM;
}

/* What can be known of a stalled device without its lock (its override: show_fenced_override). */
static int device_load_stalled(manager *m, const vk_device_id *id, vk_device **ret)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        char path[PATH_MAX];
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->id = *id;
        d->boot_vga = d->numvfs = d->totalvfs = -1;
        d->unbinding = true;

        r = vk_device_bus_path(id, path, sizeof(path));
        if (r < 0)
                return r;
        r = vk_sysfs_resolve_link(m->root->sysfs_fd, path, &d->syspath);
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r;
        r = vk_device_read_driver(m->root, id, &d->driver);
        if (r < 0)
                return r;
        d->iommu_group = device_read_group(m, id);
        if (id->bus == VK_BUS_PCI) {
                (void)read_hex_attr(m, id, "vendor", &d->vendor);
                (void)read_hex_attr(m, id, "device", &d->device);
                (void)read_hex_attr(m, id, "class", &d->class_code);
        }
        r = show_fenced_override(m, d);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(d);
        return 0;
}

int device_load(manager *m, const vk_device_id *id, vk_device **ret)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        int r;

        if (engine_device_waited(m->engine, id))
                return device_load_stalled(m, id, ret);
        /* Someone else's unbind the load notices itself, and leaves the attributes whose read
         * waits for the device lock alone; the override shown is then the one vfiod fenced the
         * device with, as for vfiod's own. */
        r = vk_device_load(m->root, id, &d);
        if (r < 0)
                return r;
        if (d->unbinding && (r = show_fenced_override(m, d)) < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

/* What a change signal shows (the properties device_emit_properties names): the binding and
 * the group, not the facts that only GetAll and the plan use (boot_vga, SR-IOV, BARs), which
 * would cost as many path walks again per signal. */
static int device_load_binding(manager *m, const vk_device_id *id, vk_device **ret)
{
        _cleanup_(vk_device_freep) vk_device *d = NULL;
        int r;

        if (engine_device_waited(m->engine, id))
                return device_load_stalled(m, id, ret);

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->id = *id;
        d->boot_vga = d->numvfs = d->totalvfs = -1;
        r = vk_device_read_binding(m->root, id, &d->driver, &d->unbinding, &d->driver_override);
        if (r < 0)
                return r;
        d->iommu_group = device_read_group(m, id);
        if (d->iommu_group < -1)
                return d->iommu_group;
        if (d->unbinding && (r = show_fenced_override(m, d)) < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

static bool is_property_read(sd_bus_message *msg)
{
        const char *iface = msg ? sd_bus_message_get_interface(msg) : NULL;

        return iface && (streq(iface, "org.freedesktop.DBus.Properties") ||
                         streq(iface, "org.freedesktop.DBus.ObjectManager"));
}

/* The device behind path, read once per Properties call or change signal. */
static int device_view_get(manager *m, sd_bus *bus, const char *path, device_view **ret,
                           sd_bus_error *error)
{
        sd_bus_message *current = sd_bus_get_current_message(bus);
        device_view *v = &m->view;
        vk_device *dev = NULL;
        vk_device_id id;
        int r;

        if (v->path && streq(v->path, path) &&
            (m->emitting ? v->generation == m->emit_generation
                         : v->message && v->message == current)) {
                *ret = v;
                return 0;
        }

        device_view_clear(v);

        r = path_to_id(path, &id);
        if (r < 0)
                return bus_error_setf_engine(error, ENGINE_NO_SUCH_DEVICE, "No device at %s", path);
        r = m->emitting_changes ? device_load_binding(m, &id, &dev) : device_load(m, &id, &dev);
        if (r == -ENODEV || r == -ENOENT)
                return bus_error_setf_engine(error, ENGINE_NO_SUCH_DEVICE,
                                             "Device %s has gone away", id.name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot read device %s: %m", id.name);

        v->device = dev;
        v->path = strdup(path);
        if (!v->path) {
                device_view_clear(v);
                return -ENOMEM;
        }
        if (m->emitting)
                v->generation = m->emit_generation;
        else if (is_property_read(current))
                v->message = sd_bus_message_ref(current);

        *ret = v;
        return 0;
}

/* Why the device cannot be assigned now, as AssignDevice with default options would say (the
 * engine's plan knows assigned groups and running transactions too). */
static int device_view_blockers(manager *m, device_view *v)
{
        _cleanup_(strv_freep) char **blockers = NULL;
        _cleanup_(freep) char *reason = NULL;
        assign_options o = {
            .lifetime = LEASE_CLIENT,
            .console = m->config.default_console,
            .owner_uid = UID_INVALID,
        };
        engine_failure failure = {};
        plan *p = NULL;
        int r;

        if (v->have_plan)
                return 0;

        /* Planning reads every member of the group, a stalled one too. */
        r = group_stall_reason(m, v->device->iommu_group, &reason);
        if (r < 0)
                return r;
        if (r > 0) {
                r = strv_extend(&blockers, reason);
                if (r < 0)
                        return r;
                v->blockers = TAKE_PTR(blockers);
                v->have_plan = true;
                return 0;
        }

        r = engine_plan_device(m->engine, v->device, &o, &p, &failure);
        if (r < 0)
                r = strv_extend(&blockers, failure.message[0] ? failure.message : failure.step);
        else {
                for (char **b = p->blockers; r >= 0 && b && *b; b++)
                        r = strv_extend(&blockers, *b);
                plan_free(p);
        }
        if (r < 0)
                return r;

        v->blockers = TAKE_PTR(blockers);
        v->have_plan = true;
        return 0;
}

static lease *device_lease(manager *m, const vk_device *d)
{
        lease *l = manager_find_lease_by_device(m, &d->id);

        /* A device hot-added into an assigned group is fenced for VFIO with it: it belongs to the
         * lease although it was not there when the group moved. */
        if (!l && d->driver_override && vk_driver_is_vfio(d->driver_override))
                l = manager_find_lease_by_group(m, d->iommu_group);
        return l;
}

static int device_description(manager *m, const vk_device *d, char **ret)
{
        const char *vendor = NULL, *model = NULL;
        char alias[64];
        const char *modalias = d->modalias;

        if (!m->hwdb)
                return asprintf(ret, "%s", "") < 0 ? -ENOMEM : 0;

        if (!modalias && d->id.bus == VK_BUS_PCI) {
                (void)snprintf(alias, sizeof(alias), "pci:v%08Xd%08X", d->vendor, d->device);
                modalias = alias;
        }
        if (modalias) {
                (void)sd_hwdb_get(m->hwdb, modalias, "ID_VENDOR_FROM_DATABASE", &vendor);
                (void)sd_hwdb_get(m->hwdb, modalias, "ID_MODEL_FROM_DATABASE", &model);
        }

        if (vendor && model)
                return asprintf(ret, "%s %s", vendor, model) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "%s", vendor ? vendor : model ? model : "") < 0 ? -ENOMEM : 0;
}

static int append_group_peers(manager *m, sd_bus_message *reply, const vk_device *d)
{
        _cleanup_(freep) vk_device_id *ids = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;

        if (d->iommu_group >= 0 && group_member_ids(m, d->iommu_group, &ids, &n) >= 0)
                for (size_t i = 0; i < n; i++) {
                        _cleanup_(freep) char *path = NULL;

                        if (vk_device_id_equal(&ids[i], &d->id))
                                continue;
                        r = device_object_path(&ids[i], &path);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_append_basic(reply, 'o', path);
                        if (r < 0)
                                return r;
                }

        return sd_bus_message_close_container(reply);
}

static const char *device_state(manager *m, const vk_device *d)
{
        lease *l = device_lease(m, d);

        if (l)
                return lease_state_to_string(l->state);
        /* Still inside the VFIO driver's remove, whoever started the unbind. */
        if (d->unbinding)
                return "releasing";
        if (d->driver_override && vk_driver_is_vfio(d->driver_override))
                return "reserved";
        return "host";
}

static const char *device_owner(manager *m, const vk_device *d)
{
        lease *l = device_lease(m, d);

        return l && l->info.lifetime == LEASE_CLIENT && l->info.owner ? l->info.owner : "";
}

static uint32_t device_owner_uid(manager *m, const vk_device *d)
{
        lease *l = device_lease(m, d);

        return l ? (uint32_t)l->info.node_uid : UINT32_MAX;
}

#define DEVICE_GETTER(fn)                                                                          \
        static int fn(sd_bus *bus, const char *path, const char *interface, const char *property,  \
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)

/* A property that is one value computed from the device as the kernel shows it now (d). */
#define DEVICE_SIMPLE_GETTER(fn, signature, expr)                                                  \
        DEVICE_GETTER(fn)                                                                          \
        {                                                                                          \
                device_view *v;                                                                    \
                int r = device_view_get(userdata, bus, path, &v, error);                           \
                if (r < 0)                                                                         \
                        return r;                                                                  \
                const vk_device *d = v->device;                                                    \
                return sd_bus_message_append(reply, signature, expr);                              \
        }

DEVICE_SIMPLE_GETTER(get_name, "s", d->id.name)
DEVICE_SIMPLE_GETTER(get_bus, "s", vk_bus_to_string(d->id.bus))
DEVICE_SIMPLE_GETTER(get_vendor_id, "q", (uint16_t)d->vendor)
DEVICE_SIMPLE_GETTER(get_device_id, "q", (uint16_t)d->device)
DEVICE_SIMPLE_GETTER(get_class, "u", d->class_code)
DEVICE_SIMPLE_GETTER(get_driver, "s", d->driver ? d->driver : "")
DEVICE_SIMPLE_GETTER(get_driver_override, "s", d->driver_override ? d->driver_override : "")
DEVICE_SIMPLE_GETTER(get_iommu_group, "i", d->iommu_group)
DEVICE_SIMPLE_GETTER(get_boot_vga, "b", d->boot_vga == 1)
DEVICE_SIMPLE_GETTER(get_state, "s", device_state(userdata, d))
DEVICE_SIMPLE_GETTER(get_owner, "s", device_owner(userdata, d))
DEVICE_SIMPLE_GETTER(get_owner_uid, "u", device_owner_uid(userdata, d))

DEVICE_GETTER(get_sysfs_path)
{
        _cleanup_(freep) char *s = NULL;
        device_view *v;
        int r;

        r = device_view_get(userdata, bus, path, &v, error);
        if (r < 0)
                return r;

        /* The kernel's path, whatever root prefix the daemon runs on. */
        if (asprintf(&s, "/sys/%s", v->device->syspath ? v->device->syspath : "") < 0)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", s);
}

DEVICE_GETTER(get_description)
{
        _cleanup_(freep) char *s = NULL;
        device_view *v;
        int r;

        r = device_view_get(userdata, bus, path, &v, error);
        if (r < 0)
                return r;
        r = device_description(userdata, v->device, &s);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "s", s);
}

DEVICE_GETTER(get_group_peers)
{
        device_view *v;
        int r;

        r = device_view_get(userdata, bus, path, &v, error);
        if (r < 0)
                return r;
        return append_group_peers(userdata, reply, v->device);
}

DEVICE_GETTER(get_assignable)
{
        device_view *v;
        int r;

        r = device_view_get(userdata, bus, path, &v, error);
        if (r >= 0)
                r = device_view_blockers(userdata, v);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "b", !v->blockers || !v->blockers[0]);
}

DEVICE_GETTER(get_blockers)
{
        device_view *v;
        int r;

        r = device_view_get(userdata, bus, path, &v, error);
        if (r >= 0)
                r = device_view_blockers(userdata, v);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, v->blockers);
}

static int method_assign(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        vk_device_id id;

        if (path_to_id(sd_bus_message_get_path(msg), &id) < 0)
                return bus_error_setf_engine(error, ENGINE_NO_SUCH_DEVICE, "No device at %s",
                                             sd_bus_message_get_path(msg));
        return manager_handle_assign(userdata, msg, &id, false, error);
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        vk_device_id id;

        if (path_to_id(sd_bus_message_get_path(msg), &id) < 0)
                return bus_error_setf_engine(error, ENGINE_NO_SUCH_DEVICE, "No device at %s",
                                             sd_bus_message_get_path(msg));
        return manager_handle_release(userdata, msg, &id, error);
}

#define CONST_PROPERTY(name, sig, get)                                                             \
        SD_BUS_PROPERTY(name, sig, get, 0, SD_BUS_VTABLE_PROPERTY_CONST)
#define CHANGING_PROPERTY(name, sig, get)                                                          \
        SD_BUS_PROPERTY(name, sig, get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
/* Announced by name only: their value is a whole plan (the group, every member, its holders),
 * which a change signal would compute for every device that changed whether anyone listens or
 * not. Whoever wants the new value asks for it. */
#define PLANNED_PROPERTY(name, sig, get)                                                           \
        SD_BUS_PROPERTY(name, sig, get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION)

static const sd_bus_vtable device_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CONST_PROPERTY("Name", "s", get_name),
    CONST_PROPERTY("Bus", "s", get_bus),
    CONST_PROPERTY("SysfsPath", "s", get_sysfs_path),
    CONST_PROPERTY("VendorId", "q", get_vendor_id),
    CONST_PROPERTY("DeviceId", "q", get_device_id),
    CONST_PROPERTY("Class", "u", get_class),
    CONST_PROPERTY("Description", "s", get_description),
    CHANGING_PROPERTY("Driver", "s", get_driver),
    CHANGING_PROPERTY("DriverOverride", "s", get_driver_override),
    CHANGING_PROPERTY("IommuGroup", "i", get_iommu_group),
    CHANGING_PROPERTY("GroupPeers", "ao", get_group_peers),
    CHANGING_PROPERTY("State", "s", get_state),
    CHANGING_PROPERTY("Owner", "s", get_owner),
    CHANGING_PROPERTY("OwnerUid", "u", get_owner_uid),
    CONST_PROPERTY("BootVga", "b", get_boot_vga),
    PLANNED_PROPERTY("Assignable", "b", get_assignable),
    PLANNED_PROPERTY("Blockers", "as", get_blockers),
    SD_BUS_METHOD_WITH_ARGS("Assign", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("h", group_fd),
                            method_assign, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_release,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int manager_add_device_objects(manager *m)
{
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, &m->device_slot, VFIOD_DEVICE_PREFIX,
                                       VFIOD_DEVICE_IFACE, device_vtable, device_find, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register the device objects: %m");

        r = sd_bus_add_node_enumerator(m->bus, &m->enumerator_slot, VFIOD_DEVICE_PREFIX,
                                       device_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register the device enumerator: %m");
        return 0;
}

void device_emit_properties(manager *m, const vk_device_id *id, bool all)
{
        _cleanup_(freep) char *path = NULL;
        device_view *v = NULL;
        int r;

        if (!m->bus || device_object_path(id, &path) < 0)
                return;

        /* One sysfs read for the whole signal (see device_view_get), made before sd-bus looks
         * the object up; a device gone meanwhile has its removal announced instead. */
        m->emitting = m->emitting_changes = true;
        m->emit_generation++;
        r = device_view_get(m, m->bus, path, &v, NULL);
        if (r >= 0 && all)
                r = sd_bus_emit_properties_changed(
                    m->bus, path, VFIOD_DEVICE_IFACE, "Driver", "DriverOverride", "IommuGroup",
                    "GroupPeers", "State", "Owner", "OwnerUid", "Assignable", "Blockers", NULL);
        else if (r >= 0)
                r = sd_bus_emit_properties_changed(m->bus, path, VFIOD_DEVICE_IFACE, "GroupPeers",
                                                   "Assignable", "Blockers", NULL);
        /* What a bind or unbind uevent is compared with: only a full announcement that went
         * out showed the driver. */
        if (all)
                announce_note_shown(m, id, r >= 0, r >= 0 ? v->device->driver : NULL);
        m->emitting = m->emitting_changes = false;
        device_view_clear(&m->view);

        if (r < 0)
                log_debug_errno(r, "Cannot announce the changes of %s: %m", id->name);
}

void device_emit_added(manager *m, const vk_device_id *id)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        if (!m->bus || device_object_path(id, &path) < 0)
                return;

        m->emitting = true;
        m->emit_generation++;
        r = sd_bus_emit_object_added(m->bus, path);
        m->emitting = false;
        device_view_clear(&m->view);

        if (r < 0)
                log_debug_errno(r, "Cannot announce the new device %s: %m", id->name);
}

void device_emit_removed(manager *m, const vk_device_id *id)
{
        _cleanup_(freep) char *path = NULL;
        int r;

        if (!m->bus || device_object_path(id, &path) < 0)
                return;

        announce_forget_device(m, id);
        m->removing_path = path;
        r = sd_bus_emit_object_removed(m->bus, path);
        m->removing_path = NULL;

        if (r < 0)
                log_debug_errno(r, "Cannot announce the removal of %s: %m", id->name);
}
