"""Private: reading the certificate, key and CA files a context loads (checked with :mod:`cryptography`
first, so errors name the option, its level and the object), and the chain file given to OpenSSL. Public
names are re-exported by :mod:`genesys_tls.contexts`.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ._pem import is_pem, private_file, read_file
from .errors import ConfigurationError, Problem
from .resolved import ResolvedSecurity
from .stores import password_bytes

__all__ = ["PasswordCallback", "PrivateKey", "load_certificates", "load_private_key"]

#: A private key as :mod:`cryptography` loads it.
PrivateKey: TypeAlias = PrivateKeyTypes
#: Returns the password of an encrypted ``certificate-key``.
PasswordCallback: TypeAlias = Callable[[], str | bytes]


# --------------------------------------------------------------------------------------------- files


def _located(exc: ConfigurationError, resolved: ResolvedSecurity | None, option: str | None) -> ConfigurationError:
    if resolved is None or option is None:
        return exc.located(option=option)
    return exc.located(  # a file named by the error (a certificate...) is kept; else the environment file
        file=resolved.file,
        object=_object_of(resolved, option),
        level=resolved.level_of(option),
        option=option,
    )


def _object_of(resolved: ResolvedSecurity, option: str) -> str:
    """The configuration object an option's value came from; for an unset member of the certificate group,
    the object of the level the group was taken from."""
    opt = resolved[option]
    if opt.object is not None:
        return opt.object
    if opt.group_level is not None:
        for member in resolved:
            if member.group_level is opt.group_level and member.source is opt.group_level and member.object:
                return member.object
    return resolved.object


def _parse_certificates(data: bytes, path: Path) -> list[x509.Certificate]:
    if not is_pem(data):
        hint = " (it looks like DER: convert it with 'openssl x509 -inform der')" if data[:1] == b"\x30" else ""
        raise ConfigurationError(
            f"not a PEM certificate file{hint}", file=str(path), valid="a PEM file with CERTIFICATE blocks",
            problem=Problem.FILE_FORMAT,
        )
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ConfigurationError(
            "holds no certificate that can be read (PEM CERTIFICATE blocks expected)",
            file=str(path),
            valid="a PEM file with CERTIFICATE blocks",
            problem=Problem.FILE_FORMAT,
        ) from None
    return certs


def load_certificates(
    path: str | os.PathLike[str],
    *,
    resolved: ResolvedSecurity | None = None,
    option: str | None = None,
) -> list[x509.Certificate]:
    """The certificates of a PEM file, in file order (a chain file, or a ``trusted-ca`` file with several CAs).

    Args:
        path: the file.
        resolved: with ``option``, the settings the path came from, so the error names the option, its
            level and the object.
        option: the option that named the file.

    Raises:
        ConfigurationError: the file is missing, unreadable, not PEM or holds no certificate.
    """
    file = Path(path)
    try:
        return _parse_certificates(read_file(file, "certificate"), file)
    except ConfigurationError as exc:
        raise _located(exc, resolved, option) from None


def load_private_key(
    path: str | os.PathLike[str],
    password: str | bytes | PasswordCallback | None = None,
    *,
    resolved: ResolvedSecurity | None = None,
    option: str | None = None,
) -> PrivateKey:
    """A PEM private key: PKCS#1, PKCS#8 or SEC1, clear or encrypted.

    Args:
        path: the key file (a file holding a certificate and its key works too).
        password: the password of an encrypted key, or a callable returning it (called only when the key is
            encrypted). Ignored for a key in clear.
        resolved: with ``option``, the settings the path came from (for error locations).
        option: the option that named the file (``certificate-key``).

    Returns:
        The key. Never shown in errors.

    Raises:
        ConfigurationError: the file is missing, unreadable or holds no PEM private key; the key is encrypted
            and no password was given; the password is wrong.
    """
    file = Path(path)
    try:
        return _load_key(read_file(file, "private key"), file, password)[0]
    except ConfigurationError as exc:
        raise _located(exc, resolved, option) from None


def _load_key(
    data: bytes, path: Path, password: str | bytes | PasswordCallback | None
) -> tuple[PrivateKey, bytes | None]:
    """The key and the password bytes used (``None`` for a key in clear)."""
    if not is_pem(data, "PRIVATE KEY"):
        raise ConfigurationError(
            "holds no PEM private key", file=str(path), valid="a PEM private key (PKCS#1, PKCS#8 or SEC1)",
            problem=Problem.FILE_FORMAT,
        )
    try:
        return serialization.load_pem_private_key(data, None), None
    except TypeError:
        pass  # encrypted: needs the password
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(
            "private key cannot be read (damaged PEM or unsupported key type)",
            file=str(path),
            valid="a PEM private key (PKCS#1, PKCS#8 or SEC1)",
        ) from None
    if password is None:
        raise ConfigurationError(
            "private key is encrypted and no password was given (pass password= or password_env=, or "
            "--password-env NAME on the command line; passwords are never read from the environment file)",
            file=str(path),
        )
    secret = password_bytes(password() if callable(password) else password)
    try:
        return serialization.load_pem_private_key(data, secret), secret
    except (ValueError, TypeError):
        raise ConfigurationError(
            "private key cannot be decrypted: wrong password", file=str(path)
        ) from None


# The certificate file given to load_cert_chain: the certificates read and checked here, written once per
# (paths, mtimes, sizes) in a private directory (0700, files 0600) removed at exit, so that OpenSSL loads
# exactly what was checked and a comma-separated chain becomes one file.
_chain_lock = threading.Lock()
_chain_files: dict[tuple[tuple[str, int, int, int, int], ...], tuple[Path, tuple[x509.Certificate, ...]]] = {}
# The trusted-ca files as parsed certificates and the PEM text given to OpenSSL, per file version.
_trust_files: dict[tuple[str, int, int, int, int], tuple[tuple[x509.Certificate, ...], str]] = {}
# Key files checked against a certificate chain, per (key version, chain version): keys in clear only.
_matched_keys: set[tuple[tuple[str, int, int, int, int], tuple[tuple[str, int, int, int, int], ...]]] = set()
_MEMO_LIMIT = 4096


def _stamp(path: Path) -> tuple[str, int, int, int, int]:
    """What tells one version of a file from another: its real path, size, inode, mtime and ctime."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL in the path, refused by the reader
        return (str(path), -1, -1, -1, -1)
    return (os.path.abspath(path), status.st_mtime_ns, status.st_size, status.st_ino, status.st_ctime_ns)


def _chain_file(
    paths: Sequence[Path], resolved: ResolvedSecurity, option: str
) -> tuple[Path, tuple[x509.Certificate, ...]]:
    key = tuple(_stamp(p) for p in paths)
    with _chain_lock:
        cached = _chain_files.get(key)
        if cached is not None and cached[0].is_file():
            return cached
    certs: list[x509.Certificate] = []
    for path in paths:
        certs.extend(load_certificates(path, resolved=resolved, option=option))
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    entry = (private_file(pem, "chain"), tuple(certs))
    with _chain_lock:
        if len(_chain_files) >= _MEMO_LIMIT:
            _chain_files.clear()
        _chain_files[key] = entry
    return entry


def _trust_file(path: Path, resolved: ResolvedSecurity, option: str) -> tuple[tuple[x509.Certificate, ...], str]:
    """The CAs of a ``trusted-ca`` file and their PEM text for ``cadata``, read once per file version."""
    key = _stamp(path)
    with _chain_lock:
        cached = _trust_files.get(key)
    if cached is not None:
        return cached
    cas = tuple(load_certificates(path, resolved=resolved, option=option))
    entry = (cas, "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in cas))
    if key[1] != -1:
        with _chain_lock:
            if len(_trust_files) >= _MEMO_LIMIT:
                _trust_files.clear()
            _trust_files[key] = entry
    return entry


def _key_matched(key_path: Path, chain_paths: Sequence[Path]) -> bool:
    """Whether this version of a key file (in clear) was already checked against this version of the chain."""
    with _chain_lock:
        return (_stamp(key_path), tuple(_stamp(p) for p in chain_paths)) in _matched_keys


def _remember_key_match(key_path: Path, chain_paths: Sequence[Path]) -> None:
    entry = (_stamp(key_path), tuple(_stamp(p) for p in chain_paths))
    with _chain_lock:
        if len(_matched_keys) >= _MEMO_LIMIT:
            _matched_keys.clear()
        _matched_keys.add(entry)


def _certifi_bundle() -> str:
    import certifi

    return str(certifi.where())


@functools.cache
def _certifi_certificates() -> tuple[x509.Certificate, ...]:
    """The certifi CAs as CRL signers (parsed only when a client without trusted-ca has a tls-crl)."""
    with open(_certifi_bundle(), "rb") as handle, warnings.catch_warnings():
        # a few public roots have non-positive serial numbers, which cryptography warns about
        warnings.simplefilter("ignore")
        return tuple(x509.load_pem_x509_certificates(handle.read()))



def _config_error(
    reason: str, resolved: ResolvedSecurity, option: str, *, file: str | None = None, value: str | None = None,
    valid: str | None = None,
) -> ConfigurationError:
    return _located(
        ConfigurationError(reason, file=file or resolved.file, value=value, valid=valid), resolved, option
    )


