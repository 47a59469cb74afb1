/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device name parser and the resolver. Names are resolved against a small tree built once
 * in a temporary directory: two real devices, and links that try to leave the tree or loop.
 * Whatever the input, a successful resolution must name one of the two real devices.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char prefix[] = "/tmp/vfiod-fuzz-name.XXXXXX";
static vk_root *root;

static const char *const dirs[] = {
    "sys/bus/pci/devices",
    "sys/bus/platform/devices",
    "sys/bus/amba/devices",
    "sys/devices/pci0000:00/0000:00:02.0/power",
    "sys/devices/platform/ACPI0007:00",
    "sys/kernel/iommu_groups/1/devices",
    "dev/vfio",
};

/* { link, target } */
static const char *const links[][2] = {
    {"sys/devices/pci0000:00/0000:00:02.0/subsystem", "../../../bus/pci"},
    {"sys/bus/pci/devices/0000:00:02.0", "../../../devices/pci0000:00/0000:00:02.0"},
    {"sys/devices/platform/ACPI0007:00/subsystem", "../../../bus/platform"},
    {"sys/bus/platform/devices/ACPI0007:00", "../../../devices/platform/ACPI0007:00"},
    {"sys/kernel/iommu_groups/1/devices/0000:00:02.0",
     "../../../../devices/pci0000:00/0000:00:02.0"},
    {"sys/bus/pci/devices/0000:00:09.0", "../../../../etc"},
    {"sys/bus/pci/devices/0000:00:0a.0", "/etc"},
    {"sys/bus/platform/devices/loop.0", "loop.0"},
    {"sys/devices/pci0000:00/up", "../../.."},
    {"sys/devices/platform/self", "."},
};

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        return remove(path);
}

static void cleanup(void)
{
        vk_root_unref(root);
        nftw(prefix, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdir_p(const char *rel)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", prefix, rel);
        for (char *p = path + strlen(prefix) + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        mkdir(path, 0755);
                        *p = '/';
                }
        mkdir(path, 0755);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char path[512];

        if (!mkdtemp(prefix))
                abort();
        atexit(cleanup);
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                mkdir_p(dirs[i]);
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", prefix, links[i][0]);
                if (symlink(links[i][1], path) < 0)
                        abort();
        }
        if (vk_root_open(prefix, &root) < 0)
                abort();
        return 0;
}

static void check_parsed(const vk_device_id *id)
{
        size_t n = strnlen(id->name, sizeof(id->name));
        char again[VK_NAME_MAX + 16];
        vk_device_id id2;

        if (id->bus < 0 || id->bus >= _VK_BUS_MAX || n == 0 || n > VK_NAME_MAX)
                abort();
        if (strchr(id->name, '/') || strstr(id->name, ".."))
                abort();
        /* The bus-qualified form parses to the same device. */
        int k = snprintf(again, sizeof(again), "%s:%s", vk_bus_to_string(id->bus), id->name);
        if (vk_parse_device_name(again, (size_t)k, &id2) != 0 || id2.bus != id->bus ||
            strcmp(id2.name, id->name) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* An exact-size copy without terminator: reading past len is a sanitizer error. */
        char *s = malloc(size ? size : 1);
        vk_device_id id;

        if (!s)
                return 0;
        memcpy(s, data, size);

        if (vk_parse_device_name(s, size, &id) == 0)
                check_parsed(&id);

        if (vk_device_resolve(root, s, size, &id) == 0) {
                bool known = (id.bus == VK_BUS_PCI && strcmp(id.name, "0000:00:02.0") == 0) ||
                             (id.bus == VK_BUS_PLATFORM && strcmp(id.name, "ACPI0007:00") == 0);
                if (!known)
                        abort();
        }

        free(s);
        return 0;
}
