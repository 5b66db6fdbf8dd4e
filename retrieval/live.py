"""Live index updates: which version of each saved index a running process serves, and when disk has a newer one.

A saved index is ``<index_dir>/<name>``, a symlink to a version directory that an import swaps atomically
(:func:`retrieval.index_files.swap_link`). :func:`current_version` reads that link (one ``readlink``, ~1.3 µs
measured, so :class:`retrieval.service.RetrievalService` checks it on every call rather than on a timer) and
names the directory to load, so a version is loaded from its own directory even if the link moves meanwhile.

:class:`VersionWatch` remembers, per ``(lane, name)``, the version being served and a version that failed to load
(not retried until the link moves again), and lets one thread at a time load a new version while the others keep
serving the old index whole.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

Key = tuple[str, str]  # (lane, name): ("en", "catalog"), ("zh", "kb") ...


@dataclass(frozen=True)
class DiskVersion:
    """``version``: what identifies it (the link's target, or for a plain directory its ``meta.json``'s inode and
    mtime; ``""`` when nothing is there); ``path``: the directory to load it from."""

    version: str
    path: Path


def current_version(path: str | os.PathLike[str]) -> DiskVersion:
    """The version at ``path`` now (``path``: ``<index_dir>/<name>``)."""
    link = Path(path)
    try:
        target = os.readlink(link)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):  # EINVAL: a plain directory, not a link
            raise
    else:
        return DiskVersion(f"link:{target}", link.parent / target)
    try:
        meta = (link / "meta.json").stat()
    except FileNotFoundError:
        return DiskVersion("", link)
    return DiskVersion(f"dir:{meta.st_ino}:{meta.st_mtime_ns}", link)


@dataclass
class VersionWatch:
    """Served and refused versions per key; ``claim``/``release``: one loader per key at a time."""

    serving: dict[Key, str] = field(default_factory=dict)
    refused: dict[Key, str] = field(default_factory=dict)
    _loading: set[Key] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def newer(self, key: Key, path: str) -> DiskVersion | None:
        """The version on disk when it is neither the one served nor one that already failed to load (the
        common case, a link that did not move, costs one ``readlink`` and a string compare)."""
        try:
            version = "link:" + os.readlink(path)
        except OSError:
            found = current_version(path)  # a plain directory (or nothing there)
        else:
            if version == self.serving.get(key) or version == self.refused.get(key):
                return None
            found = current_version(path)  # read again: the target is resolved against the link's folder
        if found.version in (self.serving.get(key), self.refused.get(key)) or not found.version:
            return None
        return found

    def claim(self, key: Key) -> bool:
        """True for the one caller that should load ``key``'s new version now (others serve the old one)."""
        with self._lock:
            if key in self._loading:
                return False
            self._loading.add(key)
            return True

    def release(self, key: Key) -> None:
        with self._lock:
            self._loading.discard(key)

    def served(self, key: Key, version: str) -> None:
        self.serving[key] = version
        self.refused.pop(key, None)

    def refuse(self, key: Key, version: str) -> None:
        self.refused[key] = version

    def clear(self) -> None:
        self.serving.clear()
        self.refused.clear()
