/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The error names of the D-Bus API (org.vfiod1.Manager.xml says when each is sent) and the errno
 * each stands for. Part of libvfiod's public headers (vfiod.h includes it); vfiod includes it too,
 * so the names the daemon sends and the names the library maps come from this one list.
 */

#define VFIOD_ERROR_NO_SUCH_DEVICE   "org.vfiod1.Error.NoSuchDevice"
#define VFIOD_ERROR_NOT_ASSIGNABLE   "org.vfiod1.Error.NotAssignable"
#define VFIOD_ERROR_BUSY             "org.vfiod1.Error.Busy"
#define VFIOD_ERROR_GROUP_NOT_VIABLE "org.vfiod1.Error.GroupNotViable"
#define VFIOD_ERROR_TIMEOUT          "org.vfiod1.Error.Timeout"
#define VFIOD_ERROR_CONSOLE_IN_USE   "org.vfiod1.Error.ConsoleInUse"
#define VFIOD_ERROR_UNSUPPORTED      "org.vfiod1.Error.Unsupported"
#define VFIOD_ERROR_ROLLED_BACK      "org.vfiod1.Error.RolledBack"
#define VFIOD_ERROR_INVALID_ARGUMENT "org.vfiod1.Error.InvalidArgument"
#define VFIOD_ERROR_NOT_ASSIGNED     "org.vfiod1.Error.NotAssigned"

/* The standard D-Bus name, which sd-bus maps to EACCES itself: sent when polkit says no or the
 * lease belongs to another client. */
#define VFIOD_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"

/*
 * Every org.vfiod1.Error name with its errno, as X(KEY, ERRNO) where VFIOD_ERROR_##KEY is the
 * name: for building tables such as an sd_bus_error_map without listing the names again.
 * The errno constants come from <errno.h>, which the expanding file includes.
 */
#define VFIOD_ERROR_LIST(X)                                                                        \
        X(NO_SUCH_DEVICE, ENODEV)                                                                  \
        X(NOT_ASSIGNABLE, EPERM)                                                                   \
        X(BUSY, EBUSY)                                                                             \
        X(GROUP_NOT_VIABLE, EXDEV)                                                                 \
        X(TIMEOUT, ETIMEDOUT)                                                                      \
        X(CONSOLE_IN_USE, EBUSY)                                                                   \
        X(UNSUPPORTED, EOPNOTSUPP)                                                                 \
        X(ROLLED_BACK, ECANCELED)                                                                  \
        X(INVALID_ARGUMENT, EINVAL)                                                                \
        X(NOT_ASSIGNED, ESRCH)
