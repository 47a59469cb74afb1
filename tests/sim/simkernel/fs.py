# SPDX-License-Identifier: LGPL-2.1-or-later
"""FUSE glue: serves a model's /sys, /dev and /proc as three mounts under a prefix.

Three mounts rather than one with symlinks, so <prefix>/sys is a real mount point and paths that
vfiod resolves beneath it stay beneath it, as on a real system where sysfs, devtmpfs and procfs
are separate filesystems.

Options, and why:
  direct_io        every read and write reaches the model: sysfs has no page cache, and content
                   and sizes change under the reader.
  *_timeout=0      no cached lookups or attributes: links and directories come and go.
  use_ino          stable inode numbers per node, so an fd can be matched with the path it came
                   from, and a recreated /dev/vfio/N is a different file.
  allow_other,     unprivileged test clients use the fds vfiod hands out and may open nodes
  default_permissions  chowned to them; the kernel checks the modes the model reports.
  big_writes       one write(2) is one store, up to 128 KiB, so over-long writes are seen whole.
libfuse runs multi-threaded: a write blocked in the model (a hung unbind) must not stop the rest
of the tree from answering.
"""

import errno
import itertools
import os
import subprocess
import threading
import time

import fusepy

from .tree import Dir, File, Link, oserror


class Handle:
    def __init__(self, node, flags):
        self.node = node
        self.flags = flags
        self.cache = b""


class SimFS(fusepy.Operations):
    use_ns = True

    def __init__(self, kernel, subtree):
        self.kernel = kernel
        self.subtree = subtree  # "/sys"
        self.handles = {}
        self.fh_counter = itertools.count(1)

    def _lookup(self, path):
        with self.kernel.lock:
            return self.kernel.tree.lookup(self.subtree + (path if path != "/" else ""))

    def getattr(self, path, fh=None):
        handle = self.handles.get(fh) if fh else None
        node = handle.node if handle else self._lookup(path)
        ns = int(node.mtime * 1e9)
        size = node.size if isinstance(node, File) else (
            len(node.relative_target()) if isinstance(node, Link) else 0)
        return {"st_mode": node.mode, "st_ino": node.ino, "st_uid": node.uid, "st_gid": node.gid,
                "st_nlink": 2 if isinstance(node, Dir) else 1, "st_size": size,
                "st_atime": ns, "st_mtime": ns, "st_ctime": ns}

    def readlink(self, path):
        node = self._lookup(path)
        if not isinstance(node, Link):
            raise oserror(errno.EINVAL)
        with self.kernel.lock:
            return node.relative_target()

    def readdir(self, path, fh):
        node = self._lookup(path)
        if not isinstance(node, Dir):
            raise oserror(errno.ENOTDIR)
        with self.kernel.lock:
            return [".", ".."] + list(node.children)

    def open(self, path, flags):
        node = self._lookup(path)
        if isinstance(node, Dir):
            raise oserror(errno.EISDIR)
        if not isinstance(node, File):
            raise oserror(errno.ELOOP)
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
        return fh

    def read(self, path, size, offset, fh):
        handle = self.handles[fh]
        if handle.node.dead:
            raise oserror(errno.ENODEV)
        # Like sysfs' seq_file: the attribute is shown at offset 0 and later reads continue it.
        if offset == 0 or not handle.cache:
            data = handle.node.read()
            handle.cache = data.encode() if isinstance(data, str) else data
        return handle.cache[offset:offset + size]

    def write(self, path, data, offset, fh):
        handle = self.handles[fh]
        if handle.node.dead:
            raise oserror(errno.ENODEV)
        return handle.node.write(bytes(data))

    def truncate(self, path, length, fh=None):
        # `echo x > attr` opens with O_TRUNC; sysfs ignores the size change.
        node = self.handles[fh].node if fh else self._lookup(path)
        if not isinstance(node, File) or node.write is None:
            raise oserror(errno.EACCES)
        return 0

    def release(self, path, fh):
        handle = self.handles.pop(fh, None)
        if handle and handle.node.on_release:
            handle.node.on_release(handle)
        return 0

    def chown(self, path, uid, gid):
        self.kernel.chown(self._lookup(path), uid, gid)
        return 0

    def chmod(self, path, mode):
        self.kernel.chmod(self._lookup(path), mode)
        return 0

    def utimens(self, path, times=None):
        return 0

    def access(self, path, amode):
        self._lookup(path)
        return 0

    def statfs(self, path):
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 0, "f_bfree": 0, "f_bavail": 0,
                "f_files": 0, "f_ffree": 0, "f_namemax": 255}

    def _readonly(self, *args, **kwargs):
        raise oserror(errno.EPERM)

    mkdir = rmdir = unlink = rename = symlink = link = mknod = _readonly

    def create(self, path, mode, fi=None):
        raise oserror(errno.EPERM)


SUBTREES = ("sys", "dev", "proc")


class Mounts:
    """The three FUSE mounts of one model, each served by its own libfuse loop thread."""

    def __init__(self, kernel, prefix):
        self.kernel = kernel
        self.prefix = prefix
        self.points = []
        self.threads = []
        for sub in SUBTREES:
            point = os.path.join(prefix, sub)
            os.makedirs(point, exist_ok=True)
            thread = threading.Thread(target=self._serve, args=(sub, point), daemon=True,
                                      name="fuse-" + sub)
            thread.start()
            self.points.append(point)
            self.threads.append(thread)
        deadline = time.monotonic() + 10
        while not all(os.path.ismount(p) for p in self.points):
            if time.monotonic() > deadline or not all(t.is_alive() for t in self.threads):
                self.close()
                raise RuntimeError("simulated kernel did not mount under " + prefix)
            time.sleep(0.01)

    def _serve(self, sub, point):
        fusepy.FUSE(SimFS(self.kernel, "/" + sub), point, foreground=True, nothreads=False,
                    allow_other=True, default_permissions=True, use_ino=True, direct_io=True,
                    attr_timeout=0, entry_timeout=0, negative_timeout=0, big_writes=True,
                    fsname="vfiod-sim-" + sub, subtype="vfiod-sim")

    def close(self):
        # Blocked writes would keep their callers (maybe vfiod) in the kernel forever.
        self.kernel.release_all_hangs()
        for point in self.points:
            if os.path.ismount(point):
                subprocess.run(["umount", "-l", point], check=False)
        for thread in self.threads:
            thread.join(5)

