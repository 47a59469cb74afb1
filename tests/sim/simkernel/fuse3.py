# SPDX-License-Identifier: LGPL-2.1-or-later
"""A minimal ctypes binding of libfuse3's low-level API (Debian bookworm: libfuse3-3, 3.14).

Low level rather than the path-based high level (fusepy): inode numbers are ours, so the kernel
may cache every name and attribute for as long as the model does not change them, and the model
tells the kernel the moment a name goes away (fuse_lowlevel_notify_inval_entry). Without that
cache every component of every sysfs path is a round trip through Python (about 100 us each);
with it a path walk costs what it costs on sysfs, and changes are still visible synchronously.
"""

import ctypes
import ctypes.util
import platform

_lib = ctypes.CDLL(ctypes.util.find_library("fuse3") or "libfuse3.so.3", use_errno=True)

c_req = ctypes.c_void_p
c_ino = ctypes.c_uint64

if platform.machine() == "x86_64":
    class Stat(ctypes.Structure):
        _fields_ = [("st_dev", ctypes.c_uint64), ("st_ino", ctypes.c_uint64),
                    ("st_nlink", ctypes.c_uint64), ("st_mode", ctypes.c_uint32),
                    ("st_uid", ctypes.c_uint32), ("st_gid", ctypes.c_uint32),
                    ("pad0", ctypes.c_int32), ("st_rdev", ctypes.c_uint64),
                    ("st_size", ctypes.c_int64), ("st_blksize", ctypes.c_int64),
                    ("st_blocks", ctypes.c_int64),
                    ("st_atime", ctypes.c_int64), ("st_atime_nsec", ctypes.c_int64),
                    ("st_mtime", ctypes.c_int64), ("st_mtime_nsec", ctypes.c_int64),
                    ("st_ctime", ctypes.c_int64), ("st_ctime_nsec", ctypes.c_int64),
                    ("reserved", ctypes.c_int64 * 3)]
elif platform.machine() == "aarch64":
    class Stat(ctypes.Structure):
        _fields_ = [("st_dev", ctypes.c_uint64), ("st_ino", ctypes.c_uint64),
                    ("st_mode", ctypes.c_uint32), ("st_nlink", ctypes.c_uint32),
                    ("st_uid", ctypes.c_uint32), ("st_gid", ctypes.c_uint32),
                    ("st_rdev", ctypes.c_uint64), ("pad1", ctypes.c_uint64),
                    ("st_size", ctypes.c_int64), ("st_blksize", ctypes.c_int32),
                    ("pad2", ctypes.c_int32), ("st_blocks", ctypes.c_int64),
                    ("st_atime", ctypes.c_int64), ("st_atime_nsec", ctypes.c_int64),
                    ("st_mtime", ctypes.c_int64), ("st_mtime_nsec", ctypes.c_int64),
                    ("st_ctime", ctypes.c_int64), ("st_ctime_nsec", ctypes.c_int64),
                    ("reserved", ctypes.c_uint32 * 2)]
else:
    raise ImportError("struct stat layout unknown for " + platform.machine())


class FileInfo(ctypes.Structure):
    """struct fuse_file_info as of libfuse 3.14."""
    _fields_ = [("flags", ctypes.c_int),
                ("writepage", ctypes.c_uint, 1), ("direct_io", ctypes.c_uint, 1),
                ("keep_cache", ctypes.c_uint, 1), ("flush", ctypes.c_uint, 1),
                ("nonseekable", ctypes.c_uint, 1), ("flock_release", ctypes.c_uint, 1),
                ("cache_readdir", ctypes.c_uint, 1), ("noflush", ctypes.c_uint, 1),
                ("padding", ctypes.c_uint, 24), ("padding2", ctypes.c_uint, 32),
                ("fh", ctypes.c_uint64), ("lock_owner", ctypes.c_uint64),
                ("poll_events", ctypes.c_uint32)]


class EntryParam(ctypes.Structure):
    _fields_ = [("ino", c_ino), ("generation", ctypes.c_uint64), ("attr", Stat),
                ("attr_timeout", ctypes.c_double), ("entry_timeout", ctypes.c_double)]


class ConnInfo(ctypes.Structure):
    _fields_ = [("proto_major", ctypes.c_uint), ("proto_minor", ctypes.c_uint),
                ("max_write", ctypes.c_uint), ("max_read", ctypes.c_uint),
                ("max_readahead", ctypes.c_uint), ("capable", ctypes.c_uint),
                ("want", ctypes.c_uint)]  # more fields follow; we only touch these


class Args(ctypes.Structure):
    _fields_ = [("argc", ctypes.c_int), ("argv", ctypes.POINTER(ctypes.c_char_p)),
                ("allocated", ctypes.c_int)]


FUSE_CAP_CACHE_SYMLINKS = 1 << 23
SET_ATTR_MODE, SET_ATTR_UID, SET_ATTR_GID, SET_ATTR_SIZE = 1, 2, 4, 8

P_FI = ctypes.POINTER(FileInfo)
F = ctypes.CFUNCTYPE
OPS = [  # struct fuse_lowlevel_ops, in order, as far as `create`
    ("init", F(None, ctypes.c_void_p, ctypes.POINTER(ConnInfo))),
    ("destroy", F(None, ctypes.c_void_p)),
    ("lookup", F(None, c_req, c_ino, ctypes.c_char_p)),
    ("forget", F(None, c_req, c_ino, ctypes.c_uint64)),
    ("getattr", F(None, c_req, c_ino, P_FI)),
    ("setattr", F(None, c_req, c_ino, ctypes.POINTER(Stat), ctypes.c_int, P_FI)),
    ("readlink", F(None, c_req, c_ino)),
    ("mknod", F(None, c_req, c_ino, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_uint64)),
    ("mkdir", F(None, c_req, c_ino, ctypes.c_char_p, ctypes.c_uint32)),
    ("unlink", F(None, c_req, c_ino, ctypes.c_char_p)),
    ("rmdir", F(None, c_req, c_ino, ctypes.c_char_p)),
    ("symlink", F(None, c_req, ctypes.c_char_p, c_ino, ctypes.c_char_p)),
    ("rename", F(None, c_req, c_ino, ctypes.c_char_p, c_ino, ctypes.c_char_p, ctypes.c_uint)),
    ("link", F(None, c_req, c_ino, c_ino, ctypes.c_char_p)),
    ("open", F(None, c_req, c_ino, P_FI)),
    ("read", F(None, c_req, c_ino, ctypes.c_size_t, ctypes.c_int64, P_FI)),
    ("write", F(None, c_req, c_ino, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64, P_FI)),
    ("flush", F(None, c_req, c_ino, P_FI)),
    ("release", F(None, c_req, c_ino, P_FI)),
    ("fsync", F(None, c_req, c_ino, ctypes.c_int, P_FI)),
    ("opendir", F(None, c_req, c_ino, P_FI)),
    ("readdir", F(None, c_req, c_ino, ctypes.c_size_t, ctypes.c_int64, P_FI)),
    ("releasedir", F(None, c_req, c_ino, P_FI)),
    ("fsyncdir", F(None, c_req, c_ino, ctypes.c_int, P_FI)),
    ("statfs", F(None, c_req, c_ino)),
    ("setxattr", ctypes.c_void_p), ("getxattr", ctypes.c_void_p),
    ("listxattr", ctypes.c_void_p), ("removexattr", ctypes.c_void_p),
    ("access", ctypes.c_void_p),
    ("create", F(None, c_req, c_ino, ctypes.c_char_p, ctypes.c_uint32, P_FI)),
]


class LowlevelOps(ctypes.Structure):
    _fields_ = [(name, ftype) for name, ftype in OPS]


CALLBACK_TYPES = dict(OPS)


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


vp = ctypes.c_void_p
reply_err = _fn("fuse_reply_err", ctypes.c_int, vp, ctypes.c_int)
reply_none = _fn("fuse_reply_none", None, vp)
reply_entry = _fn("fuse_reply_entry", ctypes.c_int, vp, ctypes.POINTER(EntryParam))
reply_attr = _fn("fuse_reply_attr", ctypes.c_int, vp, ctypes.POINTER(Stat), ctypes.c_double)
reply_readlink = _fn("fuse_reply_readlink", ctypes.c_int, vp, ctypes.c_char_p)
reply_open = _fn("fuse_reply_open", ctypes.c_int, vp, P_FI)
reply_write = _fn("fuse_reply_write", ctypes.c_int, vp, ctypes.c_size_t)
reply_buf = _fn("fuse_reply_buf", ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t)
add_direntry = _fn("fuse_add_direntry", ctypes.c_size_t, vp, ctypes.c_void_p, ctypes.c_size_t,
                   ctypes.c_char_p, ctypes.POINTER(Stat), ctypes.c_int64)
session_new = _fn("fuse_session_new", vp, ctypes.POINTER(Args), ctypes.POINTER(LowlevelOps),
                  ctypes.c_size_t, vp)
session_mount = _fn("fuse_session_mount", ctypes.c_int, vp, ctypes.c_char_p)
session_exit = _fn("fuse_session_exit", None, vp)
session_destroy = _fn("fuse_session_destroy", None, vp)
loop_cfg_create = _fn("fuse_loop_cfg_create", vp)
loop_cfg_destroy = _fn("fuse_loop_cfg_destroy", None, vp)
loop_cfg_set_max_threads = _fn("fuse_loop_cfg_set_max_threads", None, vp, ctypes.c_uint)
loop_cfg_set_idle_threads = _fn("fuse_loop_cfg_set_idle_threads", None, vp, ctypes.c_uint)
session_loop_mt = _fn("fuse_session_loop_mt_312", ctypes.c_int, vp, vp)
notify_inval_entry = _fn("fuse_lowlevel_notify_inval_entry", ctypes.c_int, vp, c_ino,
                         ctypes.c_char_p, ctypes.c_size_t)


def make_args(argv):
    """A struct fuse_args; the returned tuple keeps the strings alive."""
    raw = [a.encode() for a in argv]
    arr = (ctypes.c_char_p * (len(raw) + 1))(*raw, None)
    return Args(len(raw), arr, 0), arr
