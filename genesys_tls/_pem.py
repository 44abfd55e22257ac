"""Private: the one reader of certificate, key and CRL files, the one rule of what a PEM file is, the one
private temporary-file helper, and the small certificate facts every stage asks (``spki``, ``is_ca``).

What a PEM file is: a file holding at least one ``-----BEGIN <LABEL>-----`` line; it holds certificates when
one of its labels is ``CERTIFICATE``, a private key when one ends in ``PRIVATE KEY``, CRLs when one is
``X509 CRL``. Anything else is read as DER (or refused). Imports neither ``ssl`` nor ``socket``.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import _files
from .errors import ConfigurationError

__all__ = [
    "is_ca",
    "is_pem",
    "pem_blocks",
    "pem_labels",
    "private_file",
    "read_file",
    "spki",
]

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


@functools.lru_cache(maxsize=16)
def _markers(label: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    return re.compile(rb"-----BEGIN " + label + rb"-----"), re.compile(rb"-----END " + label + rb"-----")


def pem_blocks(data: bytes, label: bytes) -> list[bytes]:
    """The PEM blocks of ``data`` whose label matches ``label`` (a regular expression, e.g. ``rb"X509 CRL"``),
    in order, found in one pass: a ``BEGIN`` line runs to the next ``END`` line. (A lazy ``BEGIN.*?END``
    pattern scans to the end of the file again from every ``BEGIN`` without its ``END``: quadratic, minutes for
    a megabyte of such lines.)"""
    begin_marker, end_marker = _markers(label)
    blocks: list[bytes] = []
    position = 0
    while (begin := begin_marker.search(data, position)) is not None:
        end = end_marker.search(data, begin.end())
        if end is None:
            break
        blocks.append(data[begin.start():end.end()])
        position = end.end()
    return blocks


def pem_labels(data: bytes) -> list[str]:
    """The labels of the PEM blocks in ``data``, in order (``CERTIFICATE``, ``PRIVATE KEY``...)."""
    return [label.decode("ascii") for label in _PEM_LABEL.findall(data)]


def is_pem(data: bytes, label: str | None = None) -> bool:
    """Whether ``data`` is PEM (any block), or holds a block with ``label`` (a suffix such as ``PRIVATE KEY``
    matches ``EC PRIVATE KEY`` too).

    Example:
        >>> is_pem(b"-----BEGIN CERTIFICATE-----\\n..."), is_pem(b"\\x30\\x82")
        (True, False)
        >>> is_pem(b"-----BEGIN EC PRIVATE KEY-----", "PRIVATE KEY")
        True
    """
    labels = pem_labels(data)
    if label is None:
        return bool(labels)
    return any(found == label or found.endswith(" " + label) for found in labels)


def read_file(path: str | os.PathLike[str], what: str, *, option: str | None = None) -> bytes:
    """The bytes of a certificate, key or CA file named by the configuration: a regular file of at most
    :data:`genesys_tls._files.MAX_CERTIFICATE_BYTES`, read without blocking
    (:func:`~genesys_tls._files.read_regular_file`).

    Raises:
        ConfigurationError: missing (``file-missing``), a folder, a special file (FIFO, device), too large or
            unreadable (``file-unreadable``); the message names ``what`` (``certificate``, ``private key``) and
            the file.
    """
    try:
        return _files.read_regular_file(path, limit=_files.MAX_CERTIFICATE_BYTES, what=f"{what} file")
    except ConfigurationError as exc:
        raise exc.located(option=option) from None


def spki(cert_or_key: Any) -> bytes:
    """The DER SubjectPublicKeyInfo of a certificate, a private key or a public key."""
    public = cert_or_key.public_key() if hasattr(cert_or_key, "public_key") else cert_or_key
    data: bytes = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def is_ca(cert: x509.Certificate) -> bool:
    """Whether the certificate's basicConstraints say it is a CA (``False`` when absent or unreadable)."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


# --------------------------------------------------------------------------------------------- private files

_lock = threading.Lock()
_directory: Path | None = None


def _remove_directory() -> None:
    if _directory is not None:
        shutil.rmtree(_directory, ignore_errors=True)


def private_file(data: bytes, prefix: str) -> Path:
    """A file holding ``data`` in the process's private directory (0700; files 0600), removed at exit; one
    file per content, written once (never write to it)."""
    global _directory  # noqa: PLW0603 - one private directory per process, made on first use
    with _lock:
        if _directory is None or not _directory.is_dir():
            if _directory is None:
                atexit.register(_remove_directory)
            _directory = Path(tempfile.mkdtemp(prefix="genesys-tls-"))
        target = _directory / f"{prefix}-{hashlib.sha256(data).hexdigest()[:32]}.pem"
        if not target.is_file():
            descriptor, temporary = tempfile.mkstemp(dir=_directory, suffix=".tmp")
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        return target
