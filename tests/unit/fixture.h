/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Fixture trees: a temporary directory with sys/, dev/, proc/ and run/ laid out the way Debian's
 * 6.1 kernel shows them (KERNEL.md), built from short descriptions so each test shows the shape
 * it asserts on. Everything aborts the test on failure (g_assert), so callers need no checks.
 */

#include <stdbool.h>

typedef struct fixture fixture;

fixture *
fixture_new(void); /* mkdtemp + sys/bus/{pci,platform,amba}/{devices,drivers}, dev, proc, run */
void fixture_free(fixture *f); /* removes the tree */
const char *fixture_prefix(const fixture *f);

/* Plain pieces, paths relative to the prefix ("sys/bus/pci/drivers_autoprobe"). write and
 * symlink create missing parent directories; unlink also removes a whole directory tree. */
void fixture_mkdir(fixture *f, const char *path);
void fixture_write(fixture *f, const char *path, const char *content);
void fixture_symlink(fixture *f, const char *path, const char *target);
void fixture_unlink(fixture *f, const char *path);

/*
 * A PCI device, as a space-separated spec:
 *   "0000:01:00.0 parent=0000:00:02.0 vendor=0x1234 device=0x11e8 class=0x00ff00 group=3
 *    driver=e1000 override=vfio-pci boot_vga=1 totalvfs=7 numvfs=0
 *    resource=0xfe000000-0xfe0fffff:0x40200"
 * Omitted keys: parent = the host bridge pci0000:00, class 0x00ff00, no driver, "(null)" override,
 * no group, no boot_vga/sriov files. resource may repeat (one per BAR index, in order; "resource=0"
 * leaves an index empty). Also: subsystem_vendor=/subsystem_device= (default 0x1af4/0x1100),
 * physfn=<PF name> (a VF: physfn and the PF's virtfnN links).
 * Creates the device directory under sys/devices, its attributes and subsystem/driver/iommu_group
 * links, sys/bus/pci/devices/<name>, sys/bus/pci/drivers/<driver>/<name>,
 * sys/kernel/iommu_groups/<group>/devices/<name>.
 */
void fixture_pci(fixture *f, const char *spec);

/* A platform or AMBA device: "fff51000.ethernet driver=stmmaceth group=5 override=..." under
 * sys/devices/platform/ (under sys/devices/platform/<parent> when parent= is given, or under the
 * parent's directory when parent names a fixture device). AMBA also takes id= (default 0x41011). */
void fixture_platform(fixture *f, const char *spec);
void fixture_amba(fixture *f, const char *spec);

/* A registered driver without devices: sys/bus/<bus>/drivers/<name>/{bind,unbind}. */
void fixture_driver(fixture *f, const char *bus, const char *name);

/* Syspath (relative to sys/) of a device created above, e.g.
 * "devices/pci0000:00/0000:00:02.0/0000:01:00.0". */
const char *fixture_syspath(const fixture *f, const char *name);

/* Does fd become readable (POLLIN) within timeout_ms? A failing poll fails the test. */
bool fixture_fd_readable(int fd, int timeout_ms);
