# SPDX-License-Identifier: LGPL-2.1-or-later
"""FUSE glue: serves a model's /sys, /dev and /proc as three mounts under a prefix.

Three mounts rather than one with symlinks, so <prefix>/sys is a real mount point and paths that
vfiod resolves beneath it stay beneath it, as on a real system where sysfs, devtmpfs and procfs
are separate filesystems.

How the kernel is told what it may cache:
  - names and attributes: cached without expiry, and invalidated by the model the moment a name
    is removed or replaced (before the write that caused it returns), so lookups cost what they
    cost on sysfs and changes are still visible synchronously. Failed lookups are never cached.
  - file content: never (direct_io); every read reaches the attribute's show callback, like
    sysfs, whose content changes under the reader.
  - symlink targets: cached (a node's target never changes; a new link is a new inode).
Mount options: allow_other + default_permissions, because unprivileged test clients use the fds
vfiod hands out and may open nodes chowned to them; the kernel checks the modes we report.
libfuse runs multi-threaded: a write blocked in the model (a hung unbind) must not stop the rest
of the tree from answering.
"""

import ctypes
import errno
import itertools
import os
import subprocess
import sys
import threading
import time
import traceback

from . import fuse3
from .tree import Dir, File, Link, oserror

CACHE_FOREVER = 365 * 86400.0  # until the model invalidates it
FUSE_ROOT_ID = 1
SUBTREES = ("sys", "dev", "proc")


class Handle:
    def __init__(self, node, flags):
        self.node = node
        self.flags = flags
        self.cache = b""
        self.entries = None  # directory listing, taken at opendir


class Session:
    """One mount: the model's /<subtree> served at <prefix>/<subtree>."""

    def __init__(self, kernel, subtree, point):
        self.kernel = kernel
        self.subtree = subtree
        self.point = point
        with kernel.lock:
            self.root = kernel.tree.lookup("/" + subtree)
        self.handles = {}
        self.fh_counter = itertools.count(1)
        self.se = None
        self.se_lock = threading.Lock()  # notifications vs. session teardown
        self.mounted = threading.Event()
        self.failed = None
        self._callbacks = []
        self.ops = self._make_ops()
        self.thread = threading.Thread(target=self._serve, daemon=True, name="fuse-" + subtree)
        self.thread.start()

    # ----- plumbing -----

    def _make_ops(self):
        ops = fuse3.LowlevelOps()
        for name, ftype in fuse3.OPS:
            impl = getattr(self, "op_" + name, None)
            if impl is None:
                continue
            cb = ftype(self._guard(impl, name))
            self._callbacks.append(cb)  # ctypes callbacks must outlive the session
            setattr(ops, name, cb)
        return ops

    @staticmethod
    def _guard(impl, name):
        """Every request gets exactly one reply, whatever the model raises."""
        if name in ("init", "destroy"):
            return impl

        def call(req, *args):
            try:
                impl(req, *args)
            except OSError as e:
                fuse3.reply_err(req, e.errno or errno.EIO)
            except BaseException:
                traceback.print_exc(file=sys.stderr)
                fuse3.reply_err(req, errno.EIO)
        return call

    def _serve(self):
        opts = "allow_other,default_permissions,fsname=vfiod-sim-%s,subtype=vfiod-sim" % self.subtree
        args, keep = fuse3.make_args(["simkernel", "-o", opts])
        se = fuse3.session_new(ctypes.byref(args), ctypes.byref(self.ops),
                               ctypes.sizeof(self.ops), None)
        if not se or fuse3.session_mount(se, self.point.encode()) != 0:
            self.failed = "cannot mount " + self.point
            self.mounted.set()
            return
        self.se = se
        self.mounted.set()
        cfg = fuse3.loop_cfg_create()
        fuse3.loop_cfg_set_max_threads(cfg, 64)  # hung writes each hold one
        fuse3.loop_cfg_set_idle_threads(cfg, 4)
        fuse3.session_loop_mt(se, cfg)
        fuse3.loop_cfg_destroy(cfg)
        with self.se_lock:
            self.se = None
        fuse3.session_destroy(se)
        del keep

    def invalidate(self, parent, name):
        ino = FUSE_ROOT_ID if parent is self.root else parent.ino
        raw = name.encode()
        with self.se_lock:
            if self.se:
                fuse3.notify_inval_entry(self.se, ino, raw, len(raw))  # -ENOENT: not cached

    def node(self, ino):
        if ino == FUSE_ROOT_ID:
            return self.root
        node = self.kernel.tree.inodes.get(ino)
        if node is None:
            raise oserror(errno.ESTALE)
        return node

    def fill_stat(self, node, st):
        with self.kernel.lock:
            size = node.size if isinstance(node, File) else (
                len(node.relative_target()) if isinstance(node, Link) else 0)
        st.st_ino = node.ino
        st.st_mode = node.mode
        st.st_nlink = 2 if isinstance(node, Dir) else 1
        st.st_uid, st.st_gid = node.uid, node.gid
        st.st_size = size
        st.st_blksize = 4096
        secs = int(node.mtime)
        st.st_atime = st.st_mtime = st.st_ctime = secs
        return st

    def entry(self, node):
        e = fuse3.EntryParam()
        e.ino = node.ino
        self.fill_stat(node, e.attr)
        e.attr_timeout = e.entry_timeout = CACHE_FOREVER
        return e

    # ----- operations -----

    def op_init(self, userdata, conn):
        if conn.contents.capable & fuse3.FUSE_CAP_CACHE_SYMLINKS:
            conn.contents.want |= fuse3.FUSE_CAP_CACHE_SYMLINKS

    def op_lookup(self, req, parent, name):
        dirnode = self.node(parent)
        with self.kernel.lock:
            child = dirnode.children.get(name.decode()) if isinstance(dirnode, Dir) else None
        if child is None:
            raise oserror(errno.ENOENT)
        fuse3.reply_entry(req, ctypes.byref(self.entry(child)))

    def op_forget(self, req, ino, nlookup):
        fuse3.reply_none(req)

    def op_getattr(self, req, ino, fi):
        st = self.fill_stat(self.node(ino), fuse3.Stat())
        fuse3.reply_attr(req, ctypes.byref(st), CACHE_FOREVER)

    def op_setattr(self, req, ino, attr, to_set, fi):
        node = self.node(ino)
        if to_set & (fuse3.SET_ATTR_UID | fuse3.SET_ATTR_GID):
            uid = attr.contents.st_uid if to_set & fuse3.SET_ATTR_UID else -1
            gid = attr.contents.st_gid if to_set & fuse3.SET_ATTR_GID else -1
            self.kernel.chown(node, uid, gid)
        if to_set & fuse3.SET_ATTR_MODE:
            self.kernel.chmod(node, attr.contents.st_mode)
        if to_set & fuse3.SET_ATTR_SIZE:
            # `echo x > attr` opens with O_TRUNC; sysfs ignores the size change.
            if not isinstance(node, File) or node.write is None:
                raise oserror(errno.EACCES)
        st = self.fill_stat(node, fuse3.Stat())
        fuse3.reply_attr(req, ctypes.byref(st), CACHE_FOREVER)

    def op_readlink(self, req, ino):
        node = self.node(ino)
        if not isinstance(node, Link):
            raise oserror(errno.EINVAL)
        with self.kernel.lock:
            target = node.relative_target()
        fuse3.reply_readlink(req, target.encode())

    def op_open(self, req, ino, fi):
        node = self.node(ino)
        if not isinstance(node, File):
            raise oserror(errno.EISDIR if isinstance(node, Dir) else errno.ELOOP)
        flags = fi.contents.flags
        accmode = flags & os.O_ACCMODE
        # kernfs: no show method -> not readable, no store method -> not writable.
        if accmode in (os.O_RDONLY, os.O_RDWR) and node.read is None:
            raise oserror(errno.EACCES)
        if accmode in (os.O_WRONLY, os.O_RDWR) and node.write is None:
            raise oserror(errno.EACCES)
        handle = Handle(node, flags)
        if node.on_open:
            node.on_open(handle)
        fh = next(self.fh_counter)
        self.handles[fh] = handle
        fi.contents.fh = fh
        fi.contents.direct_io = 1
        fuse3.reply_open(req, fi)

    def op_read(self, req, ino, size, off, fi):
        handle = self.handles[fi.contents.fh]
        if handle.node.dead:
            raise oserror(errno.ENODEV)  # kernfs: the attribute was removed
        # Like sysfs' seq_file: shown at offset 0, later reads continue that snapshot.
        if off == 0 or not handle.cache:
            data = handle.node.read()
            handle.cache = data.encode() if isinstance(data, str) else bytes(data)
        chunk = handle.cache[off:off + size]
        fuse3.reply_buf(req, chunk, len(chunk))

    def op_write(self, req, ino, buf, size, off, fi):
        handle = self.handles[fi.contents.fh]
        if handle.node.dead:
            raise oserror(errno.ENODEV)
        count = handle.node.write(ctypes.string_at(buf, size))
        fuse3.reply_write(req, count)

    def op_release(self, req, ino, fi):
        handle = self.handles.pop(fi.contents.fh, None)
        if handle and handle.node.on_release:
            handle.node.on_release(handle)
        fuse3.reply_err(req, 0)

    def op_opendir(self, req, ino, fi):
        node = self.node(ino)
        if not isinstance(node, Dir):
            raise oserror(errno.ENOTDIR)
        handle = Handle(node, 0)
        with self.kernel.lock:
            handle.entries = [(".", node), ("..", node.parent or node)] + list(
                node.children.items())
        fh = next(self.fh_counter)
        self.handles[fh] = handle
        fi.contents.fh = fh
        fuse3.reply_open(req, fi)

    def op_readdir(self, req, ino, size, off, fi):
        entries = self.handles[fi.contents.fh].entries
        buf = ctypes.create_string_buffer(size)
        used = 0
        st = fuse3.Stat()
        for index in range(off, len(entries)):
            name, node = entries[index]
            st.st_ino, st.st_mode = node.ino, node.mode
            raw = name.encode()
            need = fuse3.add_direntry(req, None, 0, raw, None, 0)
            if used + need > size:
                break
            fuse3.add_direntry(req, ctypes.addressof(buf) + used, size - used, raw,
                               ctypes.byref(st), index + 1)
            used += need
        fuse3.reply_buf(req, buf.raw[:used], used)

    def op_releasedir(self, req, ino, fi):
        self.handles.pop(fi.contents.fh, None)
        fuse3.reply_err(req, 0)

    def _readonly(self, req, *args):
        raise oserror(errno.EPERM)  # sysfs has no mkdir, unlink, ... for userspace

    op_mknod = op_mkdir = op_unlink = op_rmdir = op_symlink = op_rename = op_link = _readonly
    op_create = _readonly


class Mounts:
    """The three mounts of one model."""

    def __init__(self, kernel, prefix):
        self.kernel = kernel
        self.prefix = prefix
        self.sessions = {}
        for sub in SUBTREES:
            point = os.path.join(prefix, sub)
            os.makedirs(point, exist_ok=True)
            self.sessions[sub] = Session(kernel, sub, point)
        kernel.invalidate = self.invalidate
        deadline = time.monotonic() + 10
        for session in self.sessions.values():
            if not session.mounted.wait(max(0, deadline - time.monotonic())) or session.failed:
                self.close()
                raise RuntimeError(session.failed or "simulated kernel did not mount")

    def invalidate(self, unlinked):
        """Called by the model, outside its lock, with the (subtree, parent, name) it removed."""
        for subtree, parent, name in unlinked:
            session = self.sessions.get(subtree)
            if session:
                session.invalidate(parent, name)

    def close(self):
        self.kernel.invalidate = None
        # Blocked writes would keep their callers (maybe vfiod) in the kernel forever.
        self.kernel.release_all_hangs()
        for session in self.sessions.values():
            if os.path.ismount(session.point):
                subprocess.run(["umount", "-l", session.point], check=False)
        for session in self.sessions.values():
            session.thread.join(5)
