/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* How vfioctl shows devices and plans: a table, key/value details, and JSON. */

#include <stdio.h>
#include <string.h>

#include "vfioctl.h"

/* RFC 8259 string: quote, backslash and control characters escaped; UTF-8 passes through. */
void json_print_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\b':
                        fputs("\\b", f);
                        break;
                case '\f':
                        fputs("\\f", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

static void json_print_strv(FILE *f, const char *const *l)
{
        fputc('[', f);
        for (size_t i = 0; l[i]; i++) {
                if (i > 0)
                        fputs(", ", f);
                json_print_string(f, l[i]);
        }
        fputc(']', f);
}

static void json_key(FILE *f, const char *key, bool first)
{
        fputs(first ? "{" : ", ", f);
        json_print_string(f, key);
        fputs(": ", f);
}

/* Keys are the D-Bus property names, plus "Path" for the object. */
void print_device_json(FILE *f, const vfiod_device *d)
{
        const struct {
                const char *key;
                const char *value;
        } strings[] = {
            {"Path", vfiod_device_get_path(d)},
            {"Name", vfiod_device_get_name(d)},
            {"Bus", vfiod_device_get_bus(d)},
            {"SysfsPath", vfiod_device_get_sysfs_path(d)},
            {"Description", vfiod_device_get_description(d)},
            {"Driver", vfiod_device_get_driver(d)},
            {"DriverOverride", vfiod_device_get_driver_override(d)},
            {"State", vfiod_device_get_state(d)},
            {"Owner", vfiod_device_get_owner(d)},
        };

        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
                json_key(f, strings[i].key, i == 0);
                json_print_string(f, strings[i].value);
        }
        json_key(f, "VendorId", false);
        fprintf(f, "%u", (unsigned)vfiod_device_get_vendor_id(d));
        json_key(f, "DeviceId", false);
        fprintf(f, "%u", (unsigned)vfiod_device_get_device_id(d));
        json_key(f, "Class", false);
        fprintf(f, "%u", (unsigned)vfiod_device_get_class(d));
        json_key(f, "IommuGroup", false);
        fprintf(f, "%d", (int)vfiod_device_get_iommu_group(d));
        json_key(f, "OwnerUid", false);
        if (vfiod_device_get_owner_uid(d) == VFIOD_UID_INVALID)
                fputs("null", f);
        else
                fprintf(f, "%u", (unsigned)vfiod_device_get_owner_uid(d));
        json_key(f, "BootVga", false);
        fputs(vfiod_device_get_boot_vga(d) ? "true" : "false", f);
        json_key(f, "Assignable", false);
        fputs(vfiod_device_get_assignable(d) ? "true" : "false", f);
        json_key(f, "GroupPeers", false);
        json_print_strv(f, vfiod_device_get_group_peers(d));
        json_key(f, "Blockers", false);
        json_print_strv(f, vfiod_device_get_blockers(d));
        fputc('}', f);
}

void print_device_row_header(FILE *f)
{
        fprintf(f, "%-24s %-8s %5s %-14s %-10s %s\n", "DEVICE", "BUS", "GROUP", "DRIVER", "STATE",
                "DESCRIPTION");
}

void print_device_row(FILE *f, const vfiod_device *d)
{
        const char *driver = vfiod_device_get_driver(d);
        int32_t group = vfiod_device_get_iommu_group(d);
        char group_text[16] = "-";

        if (group >= 0)
                snprintf(group_text, sizeof(group_text), "%d", (int)group);
        fprintf(f, "%-24s %-8s %5s %-14s %-10s %s\n", vfiod_device_get_name(d),
                vfiod_device_get_bus(d), group_text, *driver ? driver : "-",
                vfiod_device_get_state(d), vfiod_device_get_description(d));
}

static void print_strv_lines(FILE *f, const char *label, const char *const *l)
{
        fprintf(f, "%16s:", label);
        if (!l[0])
                fputs(" -", f);
        for (size_t i = 0; l[i]; i++)
                fprintf(f, "%s%s", i == 0 ? " " : "\n                  ", l[i]);
        fputc('\n', f);
}

static const char *or_dash(const char *s)
{
        return *s ? s : "-";
}

void print_device_details(FILE *f, const vfiod_device *d)
{
        fprintf(f, "%16s: %s\n", "Name", vfiod_device_get_name(d));
        fprintf(f, "%16s: %s\n", "Path", vfiod_device_get_path(d));
        fprintf(f, "%16s: %s\n", "Bus", vfiod_device_get_bus(d));
        fprintf(f, "%16s: %s\n", "SysfsPath", vfiod_device_get_sysfs_path(d));
        fprintf(f, "%16s: %04x:%04x\n", "Id", (unsigned)vfiod_device_get_vendor_id(d),
                (unsigned)vfiod_device_get_device_id(d));
        fprintf(f, "%16s: 0x%06x\n", "Class", (unsigned)vfiod_device_get_class(d));
        fprintf(f, "%16s: %s\n", "Description", or_dash(vfiod_device_get_description(d)));
        fprintf(f, "%16s: %s\n", "Driver", or_dash(vfiod_device_get_driver(d)));
        fprintf(f, "%16s: %s\n", "DriverOverride", or_dash(vfiod_device_get_driver_override(d)));
        if (vfiod_device_get_iommu_group(d) >= 0)
                fprintf(f, "%16s: %d\n", "IommuGroup", (int)vfiod_device_get_iommu_group(d));
        else
                fprintf(f, "%16s: -\n", "IommuGroup");
        print_strv_lines(f, "GroupPeers", vfiod_device_get_group_peers(d));
        fprintf(f, "%16s: %s\n", "State", vfiod_device_get_state(d));
        fprintf(f, "%16s: %s\n", "Owner", or_dash(vfiod_device_get_owner(d)));
        if (vfiod_device_get_owner_uid(d) != VFIOD_UID_INVALID)
                fprintf(f, "%16s: %u\n", "OwnerUid", (unsigned)vfiod_device_get_owner_uid(d));
        else
                fprintf(f, "%16s: -\n", "OwnerUid");
        fprintf(f, "%16s: %s\n", "BootVga", vfiod_device_get_boot_vga(d) ? "yes" : "no");
        fprintf(f, "%16s: %s\n", "Assignable", vfiod_device_get_assignable(d) ? "yes" : "no");
        print_strv_lines(f, "Blockers", vfiod_device_get_blockers(d));
}

void print_plan(FILE *f, const vfiod_plan *plan)
{
        const char *action, *device, *detail;
        size_t n = vfiod_plan_get_n_steps(plan);

        fputs("Steps:\n", f);
        for (size_t i = 0; i < n; i++)
                if (vfiod_plan_get_step(plan, i, &action, &device, &detail) >= 0)
                        fprintf(f, "  %2zu. %-8s %-24s %s\n", i + 1, action, device, detail);
        if (n == 0)
                fputs("  (none)\n", f);

        const char *const *warnings = vfiod_plan_get_warnings(plan);
        if (warnings[0]) {
                fputs("Warnings:\n", f);
                for (size_t i = 0; warnings[i]; i++)
                        fprintf(f, "  - %s\n", warnings[i]);
        }
        const char *const *blockers = vfiod_plan_get_blockers(plan);
        if (blockers[0]) {
                fputs("Blockers:\n", f);
                for (size_t i = 0; blockers[i]; i++)
                        fprintf(f, "  - %s\n", blockers[i]);
        }
}
