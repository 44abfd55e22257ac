"""Certificate and CRL files read for explanations and reports: bounded, regular files only, never raising.

The readers return the parsed objects, or one sentence saying why the file cannot be used, so that a
diagnosis or a report shows the reason next to everything else instead of stopping. No ssl, no sockets.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from . import _files
from .errors import ConfigurationError

__all__ = ["MAX_FILE", "read_bounded", "read_certificates", "read_crls"]

#: Largest certificate or CRL file read (the CRL limit of :mod:`genesys_tls._files`).
MAX_FILE = _files.MAX_CRL_BYTES


def read_bounded(path: Path) -> bytes | str:
    """The bytes of a regular certificate/CRL file (the one bounded reader, :mod:`genesys_tls._files`), else why not."""
    try:
        return _files.read_regular_file(path, limit=MAX_FILE, what="file")
    except ConfigurationError as exc:
        return str(exc)


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
