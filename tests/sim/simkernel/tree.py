# SPDX-License-Identifier: LGPL-2.1-or-later
"""The virtual file tree the simulator serves.

Three kinds of node, like sysfs: directories, attribute files whose content is produced by a
callback on every read (and consumed by a callback on every write), and symlinks. Symlink targets
are stored as absolute paths inside the tree ("/sys/devices/...") and handed out relative to the
link's directory, the way sysfs writes them, so they resolve inside whichever mount serves them.

The tree itself is not thread-safe; the model guards it with its own lock. Every node ever
attached stays findable by inode number (an open file outlives its name), and every name that
goes away is recorded in `unlinked` so the FUSE layer can tell the kernel to forget it.
"""

import errno
import itertools
import os
import stat
import time

_inodes = itertools.count(2)


def oserror(code, what=""):
    return OSError(code, os.strerror(code), what)


class Node:
    def __init__(self, mode, uid=0, gid=0):
        self.ino = next(_inodes)
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = time.time()
        self.parent = None
        self.name = ""

    def path(self):
        parts = []
        node = self
        while node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(parts))


class Dir(Node):
    def __init__(self, mode=0o755):
        super().__init__(stat.S_IFDIR | mode)
        self.children = {}


class File(Node):
    """An attribute. read() returns bytes or str; write(bytes) returns the count consumed.

    Either callback may raise OSError with the errno the kernel would return. A missing read
    callback makes the file write-only (opening it for reading fails with EACCES, as kernfs does
    for attributes without a show method); a missing write callback makes it read-only.
    on_open(flags) may refuse an open (the VFIO group node allows one at a time) and on_release()
    runs when the last reference to that open file goes away.
    """

    def __init__(self, read=None, write=None, mode=None, size=4096, on_open=None,
                 on_release=None):
        if mode is None:
            mode = (0o444 if read else 0) | (0o200 if write else 0)
        super().__init__(stat.S_IFREG | mode)
        self.read = read
        self.write = write
        self.size = size
        self.on_open = on_open
        self.on_release = on_release
        self.dead = False  # removed from the tree while still open


class Link(Node):
    def __init__(self, target):
        super().__init__(stat.S_IFLNK | 0o777)
        self.target = target

    def relative_target(self):
        return os.path.relpath(self.target, os.path.dirname(self.path()))


def _split(path):
    return [p for p in path.split("/") if p]


class Tree:
    def __init__(self):
        self.root = Dir()
        self.inodes = {self.root.ino: self.root}
        self.unlinked = []  # (subtree, parent Dir, name), drained by the model's lock

    def lookup(self, path, follow_last=False, _depth=0):
        """The node at path (symlinks in the middle are followed, the last one only on request)."""
        if _depth > 40:
            raise oserror(errno.ELOOP, path)
        node = self.root
        parts = _split(path)
        for i, part in enumerate(parts):
            if not isinstance(node, Dir):
                raise oserror(errno.ENOTDIR, path)
            if part == "..":
                node = node.parent or node
                continue
            child = node.children.get(part)
            if child is None:
                raise oserror(errno.ENOENT, path)
            last = i == len(parts) - 1
            if isinstance(child, Link) and (not last or follow_last):
                resolved = os.path.normpath(child.target)
                rest = "/".join(parts[i + 1:])
                return self.lookup(resolved + ("/" + rest if rest else ""), follow_last,
                                   _depth + 1)
            node = child
        return node

    def exists(self, path):
        try:
            self.lookup(path)
            return True
        except OSError:
            return False

    def mkdir(self, path, mode=0o755):
        """Creates path and missing parents; returns the directory."""
        node = self.root
        for part in _split(path):
            child = node.children.get(part)
            if child is None:
                child = Dir(mode)
                self._attach(node, part, child)
            if not isinstance(child, Dir):
                raise oserror(errno.ENOTDIR, path)
            node = child
        return node

    def _attach(self, parent, name, node):
        self.inodes[node.ino] = node
        node.parent = parent
        node.name = name
        parent.children[name] = node
        parent.mtime = time.time()

    def add(self, path, node):
        """Places node at path (parents created), replacing what was there."""
        parent = self.mkdir(os.path.dirname(path))
        name = os.path.basename(path)
        old = parent.children.get(name)
        if old is not None:
            self._mark_dead(old)
            self._record_unlink(parent, name)
        self._attach(parent, name, node)
        return node

    def file(self, path, read=None, write=None, **kwargs):
        return self.add(path, File(read, write, **kwargs))

    def const(self, path, text, mode=0o444):
        """A read-only attribute with fixed content (a trailing newline is added, as sysfs does)."""
        data = (text + "\n").encode()
        return self.add(path, File(lambda: data, None, mode=mode))

    def link(self, path, target):
        return self.add(path, Link(target))

    def remove(self, path):
        """Removes path and everything below it; a missing path is not an error."""
        try:
            node = self.lookup(path)
        except OSError:
            return
        if node.parent is None:
            return
        del node.parent.children[node.name]
        node.parent.mtime = time.time()
        self._mark_dead(node)
        self._record_unlink(node.parent, node.name)

    def _record_unlink(self, parent, name):
        parts = _split(parent.path())
        if parts:  # names directly under "/" are the mounts themselves
            self.unlinked.append((parts[0], parent, name))

    def _mark_dead(self, node):
        if isinstance(node, File):
            node.dead = True
        elif isinstance(node, Dir):
            for child in node.children.values():
                self._mark_dead(child)
