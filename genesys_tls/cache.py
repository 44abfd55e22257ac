"""The context cache: identical resolved settings give the same TLS context.

:func:`genesys_tls.contexts.client_context`, :func:`~genesys_tls.contexts.server_context`,
:func:`~genesys_tls.contexts.client_plan`, the handshake helpers, the simulated servers and clients and
``serve`` build their contexts through a :class:`ContextCache` (:data:`default_context_cache` unless told
otherwise). An entry is keyed by

* the side, the mode and every option's value (as written and normalised), the legacy-protocol opt-in, the
  CRL scope (``crl_check``) and the password source (the callback object, or the environment variable's
  name);
* the identity of every file the context reads (``certificate``, ``certificate-key``, ``trusted-ca``,
  ``tls-crl``): its absolute path and the SHA-256 of its content.

Invalidation rule: a lookup first compares each file's ``stat`` stamp (device, inode, size, mtime and ctime in
nanoseconds) with the one seen when the entry was made or last confirmed; a file whose stamp changed is read
and hashed again, and only a changed *content* gives a new context (a ``touch`` does not; a rename-into-place
rotation does). A file that cannot be read is never served from the cache: the build runs and reports it. A
hit re-checks the dates of the entry's CRLs, so an expired CRL still fails closed (``crl-expired``), and emits
again the warnings the build emitted (encryption-only, legacy protocols...). At most ``maxsize`` contexts are
kept, the least recently used one is dropped first; :meth:`ContextCache.clear` drops them all.

Contexts from the cache are shared: treat them as read-only; ``context_cache=None`` (see
:func:`genesys_tls.contexts.client_context`) builds a private one.

This module does not touch TLS itself: it stores what :mod:`genesys_tls.contexts` builds.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import hashlib
import os
import stat
import threading
import typing
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs

from ._files import MAX_CRL_BYTES

__all__ = ["DEFAULT_MAXSIZE", "ContextCache", "FileVersion", "default_context_cache", "file_version"]

#: How many contexts :data:`default_context_cache` keeps.
DEFAULT_MAXSIZE = 256

T = TypeVar("T")

#: A file's ``stat`` stamp: (device, inode, size, mtime_ns, ctime_ns).
Stamp = tuple[int, int, int, int, int]


@attrs.frozen
class FileVersion:
    """One version of a file the configuration names.

    Attributes:
        path: the absolute path.
        sha256: the SHA-256 of its content (hex).
        stamp: the ``stat`` stamp seen with that content.
    """

    path: str
    sha256: str
    stamp: Stamp = attrs.field(eq=False)


def _stamp(path: str) -> Stamp | None:
    """The stamp of a regular file (``None``: missing, unreadable, or not a regular file)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_version(path: str | os.PathLike[str], *, limit: int = MAX_CRL_BYTES) -> FileVersion | None:
    """The :class:`FileVersion` of ``path`` now (``None`` when it is missing, not a regular file, too large,
    or cannot be read: the caller's own read reports why)."""
    name = os.path.abspath(os.fspath(path))
    before = _stamp(name)
    if before is None or before[2] > limit:
        return None
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(name, flags)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        digest = hashlib.sha256()
        left = limit + 1
        while left > 0 and (chunk := os.read(descriptor, min(left, 1 << 20))):
            digest.update(chunk)
            left -= len(chunk)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    after = _stamp(name)
    if after != before:  # changed while read: no stable version yet
        return None
    return FileVersion(name, digest.hexdigest(), before)


# --- warnings emitted by a build, so that a hit emits them again ---------------------------------------

_RECORDING: contextvars.ContextVar[list[tuple[str, type[Warning]]] | None] = contextvars.ContextVar(
    "genesys_tls_build_warnings", default=None
)


def warn(text: str, category: type[Warning], stacklevel: int = 2) -> None:
    """``warnings.warn`` that the cache remembers for the build under way (thread- and task-safe)."""
    recording = _RECORDING.get()
    if recording is not None:
        recording.append((text, category))
    warnings.warn(text, category, stacklevel=stacklevel + 1)


@contextlib.contextmanager
def _recording() -> Iterator[list[tuple[str, type[Warning]]]]:
    emitted: list[tuple[str, type[Warning]]] = []
    token = _RECORDING.set(emitted)
    try:
        yield emitted
    finally:
        _RECORDING.reset(token)


# --- the cache ---------------------------------------------------------------------------------------------


@attrs.frozen
class _Entry(Generic[T]):
    value: T
    files: tuple[FileVersion, ...]
    emitted: tuple[tuple[str, type[Warning]], ...]
    recheck: Callable[[], object] | None
    keep: tuple[Any, ...]  # objects whose id() is part of the key (a password callback)
    #: The files' stamps, compared in one step on a lookup.
    stamps: tuple[Stamp, ...] = attrs.field(init=False, eq=False)

    @stamps.default
    def _stamps(self) -> tuple[Stamp, ...]:
        return tuple(f.stamp for f in self.files)


class ContextCache:
    """Built contexts by resolved settings and file versions; see the module docstring for the rule.

    Args:
        maxsize: the most entries kept (least recently used dropped first); at least 1.

    Attributes:
        hits: lookups served from the cache.
        misses: lookups that built.
    """

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[tuple[Any, ...], _Entry[Any]] = collections.OrderedDict()
        # (settings, paths) -> the keys of its entries (one per file content), for the lookup.
        self._index: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"<ContextCache {len(self)}/{self.maxsize} hits={self.hits} misses={self.misses}>"

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._index.clear()

    def get_or_build(
        self,
        settings: tuple[Any, ...],
        paths: Sequence[str | os.PathLike[str]],
        build: Callable[[], tuple[T, Callable[[], object] | None]],
        *,
        keep: tuple[Any, ...] = (),
        absolute: bool = False,
    ) -> T:
        """The value for ``settings`` and the current content of ``paths``; ``build()`` when there is none.

        Args:
            settings: a hashable key of everything but the files.
            paths: every file the build reads.
            build: returns the value and a re-check to run on every hit (the CRL dates), or ``None``.
            keep: objects to keep alive with the entry (those whose ``id`` is in ``settings``).
            absolute: ``paths`` are already absolute, normalised ``str`` paths (skips normalising them).

        Raises:
            whatever ``build`` or the re-check raises; nothing is cached then.
        """
        if absolute:
            names = typing.cast(tuple[str, ...], tuple(paths))
        else:
            names = tuple(os.path.abspath(os.fspath(p)) for p in paths)
        stamps = tuple([_stamp(name) for name in names])
        if None not in stamps:
            with self._lock:
                entry = self._find(settings, names, stamps)
            if entry is not None:
                if entry.recheck is not None:
                    entry.recheck()
                for text, category in entry.emitted:
                    warnings.warn(text, category, stacklevel=4)
                with self._lock:
                    self.hits += 1
                return entry.value  # type: ignore[no-any-return]
        versions = tuple(file_version(name) for name in names)
        with _recording() as emitted:
            value, recheck = build()
        with self._lock:
            self.misses += 1
        if None in versions or tuple(_stamp(n) for n in names) != tuple(v.stamp for v in versions if v):
            return value  # a file changed during the build, or cannot be versioned: do not cache
        files = tuple(v for v in versions if v is not None)
        group = (settings, names)
        key = (group, tuple(f.sha256 for f in files))
        with self._lock:
            if key not in self._entries:
                self._index.setdefault(group, []).append(key)
            self._entries[key] = _Entry(value, files, tuple(emitted), recheck, keep)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                old, _ = self._entries.popitem(last=False)
                keys = self._index.get(old[0], [])
                with contextlib.suppress(ValueError):
                    keys.remove(old)
                if not keys:
                    self._index.pop(old[0], None)
        return value

    def _find(
        self, settings: tuple[Any, ...], names: tuple[str, ...], stamps: tuple[Stamp | None, ...]
    ) -> _Entry[Any] | None:
        """The entry for ``settings`` whose files still have the content it was built from (lock held)."""
        fresh: dict[str, FileVersion | None] = {}
        for key in reversed(self._index.get((settings, names), ())):
            entry = self._entries[key]
            if entry.stamps == stamps:
                self._entries.move_to_end(key)
                return entry
            # A stamp changed: compare the content (a touch, or a rewrite with the same bytes, keeps it).
            current = []
            for f, s in zip(entry.files, stamps, strict=True):
                if f.stamp == s:
                    current.append(f)
                    continue
                if f.path not in fresh:
                    fresh[f.path] = file_version(f.path)
                version = fresh[f.path]
                if version is None or version.sha256 != f.sha256:
                    break
                current.append(version)
            else:
                confirmed = attrs.evolve(entry, files=tuple(current))
                self._entries[key] = confirmed
                self._entries.move_to_end(key)
                return confirmed
        return None


#: The cache every context of the package is built through by default.
default_context_cache = ContextCache()
