"""Certificate material that is not a PEM path: Windows store thumbprints and Java keystores.

On a Windows host (``os: windows``) ``certificate`` and ``trusted-ca`` may be SHA-1 thumbprints of the
Windows certificate store; the Host's ``store`` (a :class:`~genesys_tls.stores.StoreLocation`: an export of the
Personal store and of the Trusted Root Certification Authorities) says where the certificates are. With
``provider=JKS``, ``certificate`` and ``trusted-ca`` name Java keystores (PKCS12-type keystores are read; a
classic JKS keystore is refused with the ``keytool`` conversion). This module turns such values into what a
context loads, with the one reader of :mod:`genesys_tls.stores`:

* :func:`own_material`: the own certificate chain and key, as the files ``load_cert_chain`` reads;
* :func:`trust_material`: the trusted CA certificates;
* :func:`material_identity`: the identity of the store files an option reads (for caches);
* :func:`store_values`: what ``resolve`` shows: each thumbprint and the certificate it names.

Each returns ``None`` for a value that is a PEM path, which the callers handle as before. Errors are
:class:`~genesys_tls.errors.ConfigurationError` naming the host, the option, its level and object, and the
store; they list the store's subjects and thumbprints, never keys or passwords.

The key reaches OpenSSL through a file of the process's private directory (0700, files 0600, removed at exit),
encrypted with a random password that only this process's memory holds.

This module imports neither ``ssl`` nor ``socket``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from ._pem import private_file
from .catalogue import KEYSTORE_PROVIDER, STORE_PROVIDER, is_thumbprint
from .errors import ConfigurationError
from .resolved import ResolvedSecurity
from .stores import CertificateStore, StoreEntry, StoreLocation, env_passwords, load_location, store_identity

__all__ = [
    "KEYSTORE_PROVIDER",
    "STORE_PROVIDER",
    "OwnMaterial",
    "material_identity",
    "own_material",
    "reads_provider",
    "store_entry",
    "store_values",
    "trust_material",
    "uses_store",
]

_PART = {"certificate": "personal", "trusted-ca": "trusted-roots"}
_SHA256 = hashes.SHA256()

#: Returns the password of a protected file (contexts' ``password`` / ``password_env``).
PasswordCallback = Callable[[], str | bytes]


@attrs.frozen
class OwnMaterial:
    """The own certificate of a side, from a store or a keystore, ready for ``load_cert_chain``.

    Attributes:
        chain: the leaf first, then the other certificates of its file that chain it (in order).
        chain_file: a PEM file of :attr:`chain`.
        key_file: the private key, PEM, encrypted with :attr:`password`.
        password: the random password of :attr:`key_file` (never shown).
        entry: the store entry.
        option: the option that named it.
    """

    chain: tuple[x509.Certificate, ...] = attrs.field(repr=False)
    chain_file: Path
    key_file: Path
    password: bytes = attrs.field(repr=False)
    entry: StoreEntry
    option: str


def uses_store(resolved: ResolvedSecurity, option: str) -> bool:
    """Whether ``option`` is a Windows store thumbprint (a Windows host, not a keystore provider)."""
    value = resolved[option].value
    return bool(
        value and resolved.windows and is_thumbprint(value) and resolved.provider != KEYSTORE_PROVIDER
    )


def _uses_keystore(resolved: ResolvedSecurity, option: str) -> bool:
    return bool(resolved[option].value) and resolved.provider == KEYSTORE_PROVIDER


def reads_provider(resolved: ResolvedSecurity) -> bool:
    """Whether genesys_tls reads the certificates of this side's ``provider``: PEM files (unset or ``PEM``),
    Java keystores (``JKS``), and the Windows store (``MSCAPI``) on a Windows host."""
    provider = resolved.provider
    if resolved.uses_pem_files or provider == KEYSTORE_PROVIDER:
        return True
    return provider == STORE_PROVIDER and resolved.windows


def _store_location(resolved: ResolvedSecurity) -> StoreLocation | None:
    return resolved.store


def _error(resolved: ResolvedSecurity, option: str, reason: str, **extra: Any) -> ConfigurationError:
    from ._keys import _config_error

    return _config_error(reason, resolved, option, **extra)


def _where(resolved: ResolvedSecurity, location: StoreLocation, part: str) -> str:
    return f"host {resolved.host}, {part} store {location.describe(part)}"


def _open_store(resolved: ResolvedSecurity, option: str) -> tuple[CertificateStore, str]:
    """The store part ``option`` names certificates of, and its description for messages."""
    location = _store_location(resolved)
    opt = resolved[option]
    if location is None:
        raise _error(
            resolved, option,
            f"{option} is a Windows certificate-store thumbprint, but host {resolved.host} has no store "
            "(give the host a store: an export of its Personal store and trusted roots)",
            value=opt.value, valid=f"hosts: {resolved.host}: store: PATH (a folder of .pfx/.pem files)",
        )
    part = _PART[option]
    if part == "trusted-roots" and not location.trusted_roots:
        raise _error(
            resolved, option,
            f"trusted-ca is a thumbprint, but the store of host {resolved.host} has no trusted-roots part",
            value=opt.value, valid=f"hosts: {resolved.host}: store: {{personal: PATH, trusted-roots: PATH}}",
        )
    where = _where(resolved, location, part)
    try:
        return load_location(location, part, resolved.base_dir), where
    except ConfigurationError as exc:
        raise _error(resolved, option, f"{where}: {exc.reason}", file=exc.file, value=exc.value,
                     valid=exc.valid if isinstance(exc.valid, str) else None) from None


def _store_entry(resolved: ResolvedSecurity, option: str) -> tuple[StoreEntry, CertificateStore, str]:
    store, where = _open_store(resolved, option)
    value = resolved[option].value or ""
    try:
        entry = store.by_thumbprint(value)
    except ConfigurationError as exc:
        raise _error(resolved, option, f"{where}: {exc.reason}", value=value,
                     valid=exc.valid if isinstance(exc.valid, str) else None) from None
    return entry, store, where


def store_entry(resolved: ResolvedSecurity, option: str) -> StoreEntry:
    """The store certificate a thumbprint ``option`` (``certificate`` / ``trusted-ca``) names.

    Raises:
        ConfigurationError: no store, no such thumbprint, or a store that cannot be read.
    """
    return _store_entry(resolved, option)[0]


def _keystore(resolved: ResolvedSecurity, option: str, password: PasswordCallback | None) -> CertificateStore:
    paths = resolved.paths(option)
    location = _store_location(resolved)
    passwords: Callable[[Path], str | bytes | None] | None = None
    if location is not None and location.password_env is not None:
        passwords = env_passwords(location.password_env)
    elif password is not None:
        callback = password

        def from_callback(_: Path) -> str | bytes | None:
            return callback()

        passwords = from_callback

    try:
        return CertificateStore.load_keystore(paths[0], passwords=passwords)
    except ConfigurationError as exc:
        raise _error(resolved, option, f"provider=JKS keystore: {exc.reason}", file=exc.file,
                     valid=exc.valid if isinstance(exc.valid, str) else None) from None


# (store identity, thumbprint) -> the files given to OpenSSL; the key file's password lives only here.
_files_lock = threading.Lock()
_files: dict[tuple[object, ...], tuple[Path, Path, bytes]] = {}


def _files_of(entry: StoreEntry, chain: tuple[x509.Certificate, ...]) -> tuple[Path, Path, bytes]:
    key = (str(entry.source), entry.thumbprint, tuple(c.fingerprint(_SHA256) for c in chain))
    with _files_lock:
        cached = _files.get(key)
        if cached is not None and cached[0].is_file() and cached[1].is_file():
            return cached
    assert entry.private_key is not None  # noqa: S101 - checked by the caller
    password = secrets.token_urlsafe(24).encode("ascii")
    encryption = serialization.BestAvailableEncryption(password)
    try:  # a random password needs no slow key derivation: the traditional format decrypts fast
        pem = entry.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, encryption
        )
    except ValueError:  # Ed25519/Ed448 keys exist only in PKCS#8
        pem = entry.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    made = (private_file(chain_pem, "store-chain"), private_file(pem, "store-key"), password)
    with _files_lock:
        _files[key] = made
    return made


def _ordered_chain(entry: StoreEntry) -> tuple[x509.Certificate, ...]:
    """The leaf, then the certificates of its file that issued it, up the chain (roots left out)."""
    chain = [entry.certificate]
    pool = list(entry.chain)
    while pool:
        issuer = next((c for c in pool if c.subject == chain[-1].issuer), None)
        if issuer is None or issuer.subject == issuer.issuer:
            break
        chain.append(issuer)
        pool.remove(issuer)
    return tuple(chain)


def own_material(resolved: ResolvedSecurity, password: PasswordCallback | None = None) -> OwnMaterial | None:
    """The own certificate and key when ``certificate`` is a store thumbprint or a keystore; ``None`` when it
    is unset or a PEM path.

    Args:
        resolved: the side's settings.
        password: the keystore password for ``provider=JKS`` when the host's store gives no ``password-env``.

    Raises:
        ConfigurationError: no store, no such thumbprint, a store that cannot be read (wrong or missing
            password, duplicate thumbprints, not a folder or file), or no private key for the certificate.
    """
    option = "certificate"
    if uses_store(resolved, option):
        entry, store, where = _store_entry(resolved, option)
    elif _uses_keystore(resolved, option):
        store = _keystore(resolved, option, password)
        where = f"provider=JKS keystore {resolved.paths(option)[0]}"
        keyed = [e for e in store.entries if e.has_key]
        if not keyed:
            raise _error(resolved, option, f"{where} holds no private key entry", valid=store.listing())
        entry = keyed[0]
    else:
        return None
    if not entry.has_key:
        raise _error(
            resolved, option,
            f"{where}: the store holds no private key for {entry.describe()} (a PFX exported without its key?)",
            value=resolved[option].value, valid="a certificate whose private key is in the store",
        )
    chain = _ordered_chain(entry)
    chain_file, key_file, secret = _files_of(entry, chain)
    return OwnMaterial(chain, chain_file, key_file, secret, entry, option)


def trust_material(
    resolved: ResolvedSecurity, password: PasswordCallback | None = None
) -> tuple[x509.Certificate, ...] | None:
    """The trusted CAs when ``trusted-ca`` is a store thumbprint (that one root) or a keystore (every
    certificate of the truststore); ``None`` when it is unset or a PEM path.

    Raises:
        ConfigurationError: as :func:`own_material` (an empty truststore too).
    """
    option = "trusted-ca"
    if uses_store(resolved, option):
        entry, _, _ = _store_entry(resolved, option)
        return (entry.certificate,)
    if _uses_keystore(resolved, option):
        store = _keystore(resolved, option, password)
        if not store.entries:
            raise _error(resolved, option, "the provider=JKS truststore holds no certificate")
        return tuple(e.certificate for e in store.entries)
    return None


def material_identity(resolved: ResolvedSecurity) -> tuple[tuple[str, int, int], ...]:
    """``(path, mtime_ns, size)`` of every store or keystore file this side's certificates come from (empty
    when they are PEM paths): part of a context cache key, so a replaced export is read again."""
    out: list[tuple[str, int, int]] = []
    location = _store_location(resolved)
    for option, part in _PART.items():
        if uses_store(resolved, option) and location is not None:
            out.extend(store_identity(location.paths(part, resolved.base_dir)))
        elif _uses_keystore(resolved, option):
            out.extend(store_identity(resolved.paths(option)[:1]))
    return tuple(out)


def store_values(resolved: ResolvedSecurity) -> dict[str, dict[str, Any]]:
    """For each of ``certificate`` / ``trusted-ca`` that is a store thumbprint or a keystore: the certificate
    it names (``thumbprint``, ``subject``, ``issuer``, ``not-after``, ``file``, ``store``, ``has-key``).

    A keystore whose password is given only to contexts (``password_env``) is left out.

    Raises:
        ConfigurationError: as :func:`own_material` (a thumbprint that matches nothing...).
    """
    out: dict[str, dict[str, Any]] = {}
    for option in _PART:
        if uses_store(resolved, option):
            entry, _, where = _store_entry(resolved, option)
        elif _uses_keystore(resolved, option):
            location = _store_location(resolved)
            try:
                store = _keystore(resolved, option, None)
            except ConfigurationError:
                if location is not None and location.password_env is not None:
                    raise
                continue  # its password comes with the context (password_env): resolve cannot open it
            keyed = [e for e in store.entries if e.has_key] if option == "certificate" else []
            if not (keyed or store.entries):
                continue
            entry, where = (keyed or list(store.entries))[0], f"provider=JKS keystore {resolved.paths(option)[0]}"
        else:
            continue
        out[option] = {
            "thumbprint": entry.thumbprint,
            "subject": entry.subject,
            "issuer": entry.issuer,
            "not-after": entry.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "file": str(entry.source),
            "store": where,
            "has-key": entry.has_key,
        }
    return out
