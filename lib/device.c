/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Device snapshots: parsing org.vfiod1.Device properties, accessors, listing and lookup. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-private.h"
#include "kernel/macros.h"

vfiod_device *device_new(const char *path)
{
        vfiod_device *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        d->path = strdup(path);
        if (!d->path) {
                free(d);
                return NULL;
        }
        d->n_ref = 1;
        d->iommu_group = -1;
        d->owner_uid = VFIOD_UID_INVALID;
        return d;
}

_VFIOD_PUBLIC_ vfiod_device *vfiod_device_ref(vfiod_device *device)
{
        if (device)
                device->n_ref++;
        return device;
}

_VFIOD_PUBLIC_ vfiod_device *vfiod_device_unref(vfiod_device *device)
{
        if (!device || --device->n_ref > 0)
                return NULL;
        free(device->path);
        free(device->name);
        free(device->bus);
        free(device->sysfs_path);
        free(device->description);
        free(device->driver);
        free(device->driver_override);
        free(device->state);
        free(device->owner);
        strv_free(device->group_peers);
        strv_free(device->blockers);
        free(device);
        return NULL;
}

_VFIOD_PUBLIC_ vfiod_device **vfiod_device_list_free(vfiod_device **list)
{
        if (list) {
                for (vfiod_device **i = list; *i; i++)
                        vfiod_device_unref(*i);
                free(list);
        }
        return NULL;
}

/* How each property is stored: the D-Bus type and where in the struct it goes. */
static const struct property_slot {
        const char *name;
        const char *type;
        size_t offset;
} property_slots[] = {
    {"Name", "s", offsetof(vfiod_device, name)},
    {"Bus", "s", offsetof(vfiod_device, bus)},
    {"SysfsPath", "s", offsetof(vfiod_device, sysfs_path)},
    {"VendorId", "q", offsetof(vfiod_device, vendor_id)},
    {"DeviceId", "q", offsetof(vfiod_device, device_id)},
    {"Class", "u", offsetof(vfiod_device, class)},
    {"Description", "s", offsetof(vfiod_device, description)},
    {"Driver", "s", offsetof(vfiod_device, driver)},
    {"DriverOverride", "s", offsetof(vfiod_device, driver_override)},
    {"IommuGroup", "i", offsetof(vfiod_device, iommu_group)},
    {"GroupPeers", "ao", offsetof(vfiod_device, group_peers)},
    {"State", "s", offsetof(vfiod_device, state)},
    {"Owner", "s", offsetof(vfiod_device, owner)},
    {"OwnerUid", "u", offsetof(vfiod_device, owner_uid)},
    {"BootVga", "b", offsetof(vfiod_device, boot_vga)},
    {"Assignable", "b", offsetof(vfiod_device, assignable)},
    {"Blockers", "as", offsetof(vfiod_device, blockers)},
};

static const struct property_slot *property_slot_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(property_slots); i++)
                if (streq(property_slots[i].name, name))
                        return &property_slots[i];
        return NULL;
}

/* Reads the variant's value into its slot; the message is positioned inside the variant. */
static int property_slot_read(const struct property_slot *slot, vfiod_device *d, sd_bus_message *m)
{
        void *p = (char *)d + slot->offset;
        int r;

        switch (slot->type[0]) {
        case 's': {
                const char *s;
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                return free_and_strdup((char **)p, s);
        }
        case 'q':
                return sd_bus_message_read_basic(m, 'q', p);
        case 'u':
                return sd_bus_message_read_basic(m, 'u', p);
        case 'i':
                return sd_bus_message_read_basic(m, 'i', p);
        case 'b': {
                int b;
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                *(bool *)p = b;
                return 0;
        }
        case 'a': {
                char **l = NULL;
                /* read_strv accepts "as", "ao" and "ag" alike. */
                r = sd_bus_message_read_strv(m, &l);
                if (r < 0)
                        return r;
                strv_free(*(char ***)p);
                *(char ***)p = l;
                return 0;
        }
        }
        return -EBADMSG;
}

int device_read_properties(vfiod_device *d, sd_bus_message *m)
{
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const struct property_slot *slot;
                const char *name, *contents;
                char type;

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        return r;
                slot = property_slot_find(name);
                if (!slot) {
                        /* A newer daemon may have more properties than we know. */
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                } else {
                        r = sd_bus_message_peek_type(m, &type, &contents);
                        if (r < 0)
                                return r;
                        if (type != 'v' || !streq(contents, slot->type))
                                return -EBADMSG;
                        r = sd_bus_message_enter_container(m, 'v', contents);
                        if (r < 0)
                                return r;
                        r = property_slot_read(slot, d, m);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int strv_copy(char *const *l, char ***ret)
{
        _cleanup_(strv_freep) char **copy = NULL;
        int r;

        if (!l) {
                *ret = NULL;
                return 0;
        }
        for (char *const *i = l; *i; i++) {
                r = strv_extend(&copy, *i);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(copy);
        return 0;
}

int device_copy(const vfiod_device *d, vfiod_device **ret)
{
        _cleanup_(vfiod_device_unrefp) vfiod_device *c = device_new(d->path);
        int r;

        if (!c)
                return -ENOMEM;
        c->vendor_id = d->vendor_id;
        c->device_id = d->device_id;
        c->class = d->class;
        c->iommu_group = d->iommu_group;
        c->owner_uid = d->owner_uid;
        c->boot_vga = d->boot_vga;
        c->assignable = d->assignable;
        for (size_t i = 0; i < ELEMENTSOF(property_slots); i++) {
                const struct property_slot *slot = &property_slots[i];
                if (!streq(slot->type, "s"))
                        continue;
                r = free_and_strdup((char **)((char *)c + slot->offset),
                                    *(char *const *)((const char *)d + slot->offset));
                if (r < 0)
                        return r;
        }
        r = strv_copy(d->group_peers, &c->group_peers);
        if (r < 0)
                return r;
        r = strv_copy(d->blockers, &c->blockers);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int device_fetch(vfiod_client *c, const char *path, vfiod_device **ret)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(vfiod_device_unrefp) vfiod_device *d = NULL;
        int r;

        r = sd_bus_call_method(c->bus, VFIOD_BUS_NAME, path, DBUS_PROPERTIES, "GetAll", &error,
                               &reply, "s", VFIOD_DEVICE_IFACE);
        if (r < 0) {
                /* An object that is not (or no longer) there is a device that is not there;
                 * libdbus-based services say UnknownMethod where sd-bus says UnknownObject. */
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                    sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_INTERFACE) ||
                    sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                        return client_set_error_literal(c, VFIOD_ERROR_NO_SUCH_DEVICE,
                                                        error.message, -ENODEV);
                return client_set_error(c, &error, r);
        }
        d = device_new(path);
        if (!d)
                return -ENOMEM;
        r = device_read_properties(d, reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

static int device_list_append(vfiod_device ***list, size_t *n, vfiod_device *d)
{
        vfiod_device **l = realloc(*list, sizeof(vfiod_device *) * (*n + 2));
        if (!l)
                return -ENOMEM;
        l[*n] = d;
        l[*n + 1] = NULL;
        *list = l;
        (*n)++;
        return 0;
}

/* Reads one "a{sa{sv}}" of interfaces; returns the device if org.vfiod1.Device is among them. */
static int read_interfaces(sd_bus_message *m, const char *path, vfiod_device **ret)
{
        _cleanup_(vfiod_device_unrefp) vfiod_device *d = NULL;
        const char *iface;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                r = sd_bus_message_read_basic(m, 's', &iface);
                if (r < 0)
                        return r;
                if (streq(iface, VFIOD_DEVICE_IFACE) && !d) {
                        d = device_new(path);
                        if (!d)
                                return -ENOMEM;
                        r = device_read_properties(d, m);
                } else
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int devices_read_managed_objects(sd_bus_message *reply, vfiod_device ***ret, size_t *ret_n)
{
        _cleanup_(vfiod_device_list_freep) vfiod_device **list = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                _cleanup_(vfiod_device_unrefp) vfiod_device *d = NULL;
                const char *path;

                r = sd_bus_message_read_basic(reply, 'o', &path);
                if (r < 0)
                        return r;
                r = read_interfaces(reply, path, &d);
                if (r < 0)
                        return r;
                if (d) {
                        r = device_list_append(&list, &n, d);
                        if (r < 0)
                                return r;
                        TAKE_PTR(d);
                }
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        if (!list) {
                list = calloc(1, sizeof(vfiod_device *));
                if (!list)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int devices_get_managed(vfiod_client *c, vfiod_device ***ret, size_t *ret_n)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(c->bus, VFIOD_BUS_NAME, VFIOD_MANAGER_PATH, DBUS_OBJECT_MANAGER,
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0)
                return client_set_error(c, &error, r);
        return devices_read_managed_objects(reply, ret, ret_n);
}

_VFIOD_PUBLIC_ int vfiod_client_list_devices(vfiod_client *client, vfiod_device ***ret)
{
        vfiod_device **list;
        size_t n;
        int r;

        if (!client || !ret)
                return -EINVAL;
        client_reset_error(client);
        r = devices_get_managed(client, &list, &n);
        if (r < 0)
                return r;
        *ret = list;
        return (int)n;
}

static bool device_has_name(const vfiod_device *d, const char *name)
{
        if (streq_ptr(d->name, name) || streq_ptr(d->sysfs_path, name))
                return true;
        /* The bus-qualified form "pci:0000:01:00.0". */
        size_t n = d->bus ? strlen(d->bus) : 0;
        return n > 0 && strncmp(name, d->bus, n) == 0 && name[n] == ':' &&
               streq_ptr(d->name, name + n + 1);
}

_VFIOD_PUBLIC_ int vfiod_client_get_device(vfiod_client *client, const char *device,
                                           vfiod_device **ret)
{
        _cleanup_(vfiod_device_list_freep) vfiod_device **list = NULL;
        size_t n;
        int r;

        if (!client || !device || !*device || !ret)
                return -EINVAL;
        client_reset_error(client);

        if (strncmp(device, VFIOD_DEVICE_PREFIX "/", strlen(VFIOD_DEVICE_PREFIX "/")) == 0) {
                if (!sd_bus_object_path_is_valid(device))
                        return client_set_error_literal(client, VFIOD_ERROR_NO_SUCH_DEVICE,
                                                        "Not a valid object path", -ENODEV);
                return device_fetch(client, device, ret);
        }

        r = devices_get_managed(client, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (device_has_name(list[i], device)) {
                        *ret = vfiod_device_ref(list[i]);
                        return 0;
                }
        return client_set_error_literal(client, VFIOD_ERROR_NO_SUCH_DEVICE,
                                        "The daemon offers no device of that name", -ENODEV);
}

#define STRING_GETTER(field)                                                                       \
        _VFIOD_PUBLIC_ const char *vfiod_device_get_##field(const vfiod_device *device)            \
        {                                                                                          \
                return device && device->field ? device->field : "";                               \
        }

STRING_GETTER(path)
STRING_GETTER(name)
STRING_GETTER(bus)
STRING_GETTER(sysfs_path)
STRING_GETTER(description)
STRING_GETTER(driver)
STRING_GETTER(driver_override)
STRING_GETTER(state)
STRING_GETTER(owner)

_VFIOD_PUBLIC_ uint16_t vfiod_device_get_vendor_id(const vfiod_device *device)
{
        return device ? device->vendor_id : 0;
}

_VFIOD_PUBLIC_ uint16_t vfiod_device_get_device_id(const vfiod_device *device)
{
        return device ? device->device_id : 0;
}

_VFIOD_PUBLIC_ uint32_t vfiod_device_get_class(const vfiod_device *device)
{
        return device ? device->class : 0;
}

_VFIOD_PUBLIC_ int32_t vfiod_device_get_iommu_group(const vfiod_device *device)
{
        return device ? device->iommu_group : -1;
}

_VFIOD_PUBLIC_ uint32_t vfiod_device_get_owner_uid(const vfiod_device *device)
{
        return device ? device->owner_uid : VFIOD_UID_INVALID;
}

_VFIOD_PUBLIC_ bool vfiod_device_get_boot_vga(const vfiod_device *device)
{
        return device && device->boot_vga;
}

_VFIOD_PUBLIC_ bool vfiod_device_get_assignable(const vfiod_device *device)
{
        return device && device->assignable;
}

static const char *const empty_strv[] = {NULL};

_VFIOD_PUBLIC_ const char *const *vfiod_device_get_group_peers(const vfiod_device *device)
{
        return device && device->group_peers ? (const char *const *)device->group_peers
                                             : empty_strv;
}

_VFIOD_PUBLIC_ const char *const *vfiod_device_get_blockers(const vfiod_device *device)
{
        return device && device->blockers ? (const char *const *)device->blockers : empty_strv;
}
