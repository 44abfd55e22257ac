"""Bounded reads of regular files: the one way genesys_tls reads a file a user names.

Use :func:`read_regular_file` for every environment, component ``.cfg``, certificate, key, CA and CRL file::

    from genesys_tls import _files

    data = _files.read_regular_file(path, limit=_files.MAX_CRL_BYTES, what="CRL file")

It never blocks and never reads without bound:

1. the path is checked first: a NUL byte or a character the file system cannot encode is a
   :class:`~genesys_tls.errors.ConfigurationError`, not a ``ValueError`` traceback;
2. ``stat`` tells the file type before anything is opened: a directory, a named pipe (FIFO), a character
   device (``/dev/zero``, ``/dev/stdin``, a terminal), a block device or a socket is refused, naming the file
   and what it is;
3. the file is opened with ``O_NONBLOCK`` (a FIFO swapped in after the check cannot block the open) and
   ``O_NOCTTY``, and ``O_NOFOLLOW`` when ``follow_symlinks=False``; the opened descriptor is checked again with
   ``fstat`` (it must be a regular file, the same one that was checked);
4. at most ``limit + 1`` bytes are read: a file over the limit is refused with an error naming the file, the
   limit and how to change it (a file that grows while it is read, or a ``/proc`` file whose size says 0,
   is bounded the same way).

Limits, in one place (bytes). Each caller passes the one for its kind of file as ``limit=``, read from this
module when the call is made, so a program changes a limit for the whole library by assigning the constant
(``genesys_tls._files.MAX_CRL_BYTES = 1 << 30``); :func:`genesys_tls.load` also takes ``max_bytes=`` for one
call. ``docs/limits.md`` lists them.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import ConfigurationError, Problem

__all__ = [
    "MAX_CERTIFICATE_BYTES",
    "MAX_CRL_BYTES",
    "MAX_ENVIRONMENT_BYTES",
    "check_path",
    "read_regular_file",
    "read_regular_file_status",
    "read_text_file",
]

_MIB = 1 << 20

#: Environment files (YAML, JSON) and component ``.cfg`` files: 20,000 applications with 100,000
#: connections are about 15 MiB of JSON, so 128 MiB leaves room for the largest real configurations.
MAX_ENVIRONMENT_BYTES = 128 * _MIB

#: Certificates, private keys and CA bundles (PEM or DER): a full public CA bundle is under 1 MiB.
MAX_CERTIFICATE_BYTES = 16 * _MIB

#: CRLs: generous, a CRL with a million revoked certificates is about 40 MiB in DER and 55 MiB in PEM.
MAX_CRL_BYTES = 256 * _MIB

_READ_CHUNK = 1 * _MIB
_UNREADABLE = Problem.FILE_UNREADABLE

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device (like /dev/zero or a terminal)"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def check_path(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """``path`` as text, refused with a ConfigurationError when no file system call could take it.

    A NUL byte, or a character that cannot be encoded for the file system (a lone surrogate), would make
    ``open``/``stat`` raise ``ValueError``; here it is a ConfigurationError naming the (escaped) path.
    """
    text = os.fspath(path)
    if "\x00" in text:
        raise ConfigurationError(
            f"the {what} path holds a NUL character, which no file name can hold", file=text,
            problem=Problem.FILE_UNREADABLE,
        )
    try:
        os.fsencode(text)
    except UnicodeError:
        raise ConfigurationError(
            f"the {what} path holds a character the file system cannot encode", file=text,
            problem=Problem.FILE_UNREADABLE,
        ) from None
    return text


def read_regular_file(
    path: str | os.PathLike[str], *, limit: int, what: str = "file", follow_symlinks: bool = True
) -> bytes:
    """The content of the regular file ``path``, at most ``limit`` bytes, read without ever blocking.

    Args:
        path: the file, as the user gave it (relative paths are relative to the working directory).
        limit: the most bytes accepted; pass the module constant for the kind of file
            (:data:`MAX_ENVIRONMENT_BYTES`, :data:`MAX_CERTIFICATE_BYTES`, :data:`MAX_CRL_BYTES`).
        what: what the file is, for the messages (``"environment file"``, ``"CRL file"``).
        follow_symlinks: ``False`` refuses a symbolic link (``O_NOFOLLOW``); by default a link to a regular
            file is read like that file (configuration managers deploy files as links).

    Raises:
        ConfigurationError: a bad path, a missing or unreadable file, a directory or a special file (FIFO,
            device, socket), or a file larger than ``limit``; it names the file.
    """
    return read_regular_file_status(path, limit=limit, what=what, follow_symlinks=follow_symlinks)[0]


def read_regular_file_status(
    path: str | os.PathLike[str], *, limit: int, what: str = "file", follow_symlinks: bool = True
) -> tuple[bytes, os.stat_result]:
    """:func:`read_regular_file`, with the ``fstat`` of the file that was read (for caches keyed on its
    modification time and size)."""
    name = check_path(path, what=what)
    try:
        before = os.stat(name, follow_symlinks=follow_symlinks)
    except FileNotFoundError:
        raise ConfigurationError(f"{what} not found", file=name, problem=Problem.FILE_MISSING) from None
    except OSError as exc:
        raise _unreadable(f"cannot read the {what}: {exc.strerror}", name) from None
    if stat.S_ISLNK(before.st_mode):
        raise _unreadable(f"the {what} is a symbolic link, which is not accepted here", name)
    if not stat.S_ISREG(before.st_mode):
        raise _unreadable(f"the {what} cannot be read: it is {_kind(before.st_mode)}, not a regular file", name)
    _check_size(before.st_size, limit, what, name)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _unreadable(f"the {what} is a symbolic link, which is not accepted here", name) from None
        raise _unreadable(f"cannot read the {what}: {exc.strerror}", name) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise _unreadable(f"the {what} cannot be read: it is {_kind(opened.st_mode)}, not a regular file", name)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise _unreadable(f"the {what} was replaced while it was opened; try again", name)
        _check_size(opened.st_size, limit, what, name)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            try:
                chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
            except OSError as exc:
                raise _unreadable(f"cannot read the {what}: {exc.strerror}", name) from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        _check_size(total, limit, what, name)
        return b"".join(chunks), opened
    finally:
        os.close(fd)


def _unreadable(reason: str, name: str) -> ConfigurationError:
    return ConfigurationError(reason, file=name, problem=_UNREADABLE)


def _check_size(size: int, limit: int, what: str, name: str) -> None:
    if size > limit:
        raise ConfigurationError(
            f"the {what} is larger than {limit:,} bytes, the limit for it (a program can raise it: see "
            "docs/limits.md)",
            file=name, problem=_UNREADABLE,
        )


def read_text_file(path: Path | str, *, limit: int, what: str = "file") -> str:
    """:func:`read_regular_file` decoded as UTF-8; a UTF-8 byte order mark at the start is accepted and dropped.

    Raises:
        ConfigurationError: as :func:`read_regular_file`, and text that is not UTF-8 (UTF-16 is named).
    """
    data = read_regular_file(path, limit=limit, what=what)
    name = os.fspath(path)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigurationError(f"the {what} is UTF-16 text; save it as UTF-8", file=name, problem=Problem.FILE_FORMAT)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"the {what} is not UTF-8 text ({exc.reason} at byte {exc.start})", file=name
        ) from None
