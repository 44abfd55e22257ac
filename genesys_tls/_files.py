"""Certificate and CRL files read for explanations and reports: bounded, regular files only, never raising.

The readers return the parsed objects, or one sentence saying why the file cannot be used, so that a
diagnosis or a report shows the reason next to everything else instead of stopping. No ssl, no sockets.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography import x509

from .errors import ConfigurationError

__all__ = ["MAX_FILE", "read_bounded", "read_certificates", "read_crls"]

#: Largest certificate or CRL file read (bigger files are not read: "larger than").
MAX_FILE = 4 * 1024 * 1024


def read_bounded(path: Path) -> bytes | str:
    """The bytes of a regular file of at most :data:`MAX_FILE` bytes, else why not (special files refused)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if info.st_size > MAX_FILE:
        return f"{path} is larger than {MAX_FILE} bytes"
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE + 1)[:MAX_FILE]
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"


def read_certificates(path: Path) -> tuple[x509.Certificate, ...] | str:
    """The certificates of a PEM file, or why they cannot be read."""
    data = read_bounded(path)
    if isinstance(data, str):
        return data
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        return f"{path} holds no PEM certificate"


def read_crls(path: Path) -> tuple[x509.CertificateRevocationList, ...] | str:
    """The CRLs of a ``tls-crl`` file (PEM or DER), or why they cannot be read."""
    from .crl import load_crls

    data = read_bounded(path)
    if isinstance(data, str):
        return data
    try:
        return load_crls(path)
    except ConfigurationError as exc:
        return f"{path}: {exc.reason}"
