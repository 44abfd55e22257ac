"""``ResolvedSecurity`` -> ``ssl.SSLContext``: contexts that behave like a Genesys component.

:func:`client_context` and :func:`server_context` turn the effective options of one connection or one
listening port (:mod:`genesys_tls.resolve`) into a configured :class:`ssl.SSLContext`; :func:`client_plan`
adds what a client needs besides the context (where to dial, the SNI name, the name checked, the checks
made, warnings). ``docs/contexts.md`` describes every mode and check with examples.

Modes (``resolved.mode``):

* ``simple``: the server presents ``certificate`` (+ ``certificate-key``); the client verifies it
  (``CERT_REQUIRED``) against ``trusted-ca``, or the ``certifi`` bundle when it has none (a plan warning
  says so).
* ``mutual`` (``tls-mutual=1`` on the server port; the client reads it from the target port): the server
  requires a client certificate and verifies it against its ``trusted-ca``; the client presents its own.
* ``encryption-only`` (``client-auth=0``): the client checks nothing (``CERT_NONE``). An
  :class:`~genesys_tls.errors.InsecureConfigurationWarning` is emitted and the plan says plainly that the
  server is NOT authenticated.

Fail closed: a missing or unreadable file, a key that does not match its certificate, a wrong password, a
cipher list OpenSSL refuses, a Windows thumbprint, an unsupported provider are
:class:`~genesys_tls.errors.ConfigurationError` naming the option, its level, the object and the file; a CRL
that cannot be trusted or is out of date is a :class:`~genesys_tls.errors.TLSError`. Nothing falls back to a
weaker setting without a warning.

Security level: Python's contexts use OpenSSL security level 2. A ``cipher-list`` without its own
``@SECLEVEL`` keeps level 2 (``:@SECLEVEL=2`` is appended, since ``set_ciphers`` would otherwise reset it to
OpenSSL's configured default). OpenSSL 3 refuses TLS 1.0 and 1.1 at level 1 and above, so level 0 is set
only where the configuration cannot work otherwise: ``sec-protocol=TLSv11`` (maximum below TLS 1.2) and
``sec-protocol=TLSv1`` with the legacy opt-in, each with a
:class:`~genesys_tls.errors.LegacyProtocolWarning`. ``SSLv23`` keeps level 2: TLS 1.1 peers then fail,
the effective floor is TLS 1.2 (a plan warning says so; write ``@SECLEVEL=0`` in ``cipher-list`` to accept
them).

Private keys and passwords never reach an exception, a ``repr``, a log or a temporary file: keys are read
by :mod:`cryptography` to check them, then by OpenSSL from their own file.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import ssl
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

import attrs
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from .catalogue import CATALOGUE, FILE_PROVIDER, Side
from .crl import CheckedCRLs, CRLCache, check_crls, default_cache, load_crls
from .errors import Category, ConfigurationError, InsecureConfigurationWarning, LegacyProtocolWarning, TLSError
from .resolve import Mode, ResolvedSecurity

__all__ = [
    "NOT_AUTHENTICATED",
    "CRLCheck",
    "ConnectionPlan",
    "PasswordCallback",
    "PrivateKey",
    "check_cipher_list",
    "client_context",
    "client_plan",
    "load_certificates",
    "load_private_key",
    "protocol_bounds",
    "server_context",
]

#: A private key as :mod:`cryptography` loads it.
PrivateKey: TypeAlias = PrivateKeyTypes
#: Returns the password of an encrypted ``certificate-key``.
PasswordCallback: TypeAlias = Callable[[], str | bytes]
#: Which certificates are checked against ``tls-crl``: the peer's leaf only, or its whole chain.
CRLCheck: TypeAlias = Literal["leaf", "chain"]

#: The statement every encryption-only result carries.
NOT_AUTHENTICATED = (
    "encryption only (client-auth=0): the server is NOT authenticated; the link is encrypted but anyone "
    "in the middle can read it"
)

#: Python's own security level (``ssl.SSLContext`` sets ``@SECLEVEL=2``), kept when ``cipher-list`` is set.
_SECLEVEL = 2
#: Ciphers for TLS 1.0/1.1 when ``cipher-list`` is not set: Python's old default, which keeps the SHA-1
#: MAC suites those versions need (Python's current default removes them).
_LEGACY_CIPHERS = "DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK"

_PROTOCOLS: dict[str, tuple[ssl.TLSVersion, ssl.TLSVersion | None]] = {
    "": (ssl.TLSVersion.TLSv1_2, None),
    "SSLv23": (ssl.TLSVersion.TLSv1_1, None),
    "TLSv11": (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
    "TLSv12": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
    "TLSv13": (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3),
}


# --------------------------------------------------------------------------------------------- protocols


def protocol_bounds(
    sec_protocol_canonical: str | None, *, legacy: bool = False
) -> tuple[ssl.TLSVersion, ssl.TLSVersion | None]:
    """The ``(minimum_version, maximum_version)`` of a ``sec-protocol`` value (see ``docs/options.md``).

    ======== ========= =========
    value    minimum   maximum
    ======== ========= =========
    ``''``   TLS 1.2   none
    SSLv23   TLS 1.1   none
    TLSv11   TLS 1.1   TLS 1.1
    TLSv12   TLS 1.2   TLS 1.2
    TLSv13   TLS 1.3   TLS 1.3
    TLSv1    TLS 1.0   none (only with ``legacy=True``, with a :class:`LegacyProtocolWarning`)
    ======== ========= =========

    Args:
        sec_protocol_canonical: the resolver's canonical value (``None`` is the default ``''``); the other
            spellings the catalogue accepts (``TLSv1.2``...) are canonicalised here too.
        legacy: the caller opted into legacy protocols (``resolved.legacy_protocols``).

    Returns:
        The minimum and the maximum (``None``: the newest the library offers).

    Raises:
        ConfigurationError: ``SSLv2``, ``SSLv3``, ``TLSv1`` without ``legacy``, or an unknown value.

    Example:
        >>> protocol_bounds("SSLv23")
        (<TLSVersion.TLSv1_1: 770>, None)
    """
    value = sec_protocol_canonical or ""
    if value not in _PROTOCOLS and value != "TLSv1":
        value = CATALOGUE["sec-protocol"].check(value, legacy_protocols=legacy)
    if value == "TLSv1":
        if not legacy:
            raise ConfigurationError(
                "sec-protocol=TLSv1 is refused: TLS 1.0 is deprecated (RFC 8996) and Security Pack "
                "8.5.100.16+ rejects it (opt into legacy protocols explicitly to allow it)",
                option="sec-protocol",
                value=sec_protocol_canonical,
                valid=CATALOGUE["sec-protocol"].valid_text(),
            )
        warnings.warn(
            "sec-protocol=TLSv1: TLS 1.0 is allowed as the floor because legacy protocols were opted into; "
            "OpenSSL security level 0 is used so that TLS 1.0 can be negotiated at all",
            LegacyProtocolWarning,
            stacklevel=2,
        )
        return ssl.TLSVersion.TLSv1, None
    return _PROTOCOLS[value]


def check_cipher_list(value: str) -> None:
    """Check that OpenSSL accepts a ``cipher-list`` value (TLS 1.2 and below; TLS 1.3 suites are not set by
    it).

    Raises:
        ConfigurationError: OpenSSL selects no cipher from it. The error names the option and the value;
            callers add the file, level and object with :meth:`~ConfigurationError.located`.

    Example:
        >>> check_cipher_list("ECDHE+AESGCM")
        >>> check_cipher_list("NO-SUCH-CIPHER")
        Traceback (most recent call last):
        ...
        genesys_tls.errors.ConfigurationError: cipher-list selects no cipher OpenSSL knows ...
    """
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _set_ciphers(probe, value)


def _set_ciphers(ctx: ssl.SSLContext, value: str) -> None:
    try:
        ctx.set_ciphers(value)
    except (ssl.SSLError, ValueError):  # ValueError: an embedded NUL
        raise ConfigurationError(
            "cipher-list selects no cipher OpenSSL knows (it governs TLS 1.2 and below; OpenSSL names such "
            "as 'ECDHE+AESGCM:!aNULL')",
            option="cipher-list",
            value=value,
            valid="an OpenSSL cipher string (openssl ciphers -v 'STRING' lists what it selects)",
        ) from None


# --------------------------------------------------------------------------------------------- files


def _located(exc: ConfigurationError, resolved: ResolvedSecurity | None, option: str | None) -> ConfigurationError:
    if resolved is None or option is None:
        return exc.located(option=option)
    return exc.located(
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


def _read_file(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigurationError(f"{what} file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigurationError(f"{what} path is a directory, not a file", file=str(path)) from None
    except OSError as exc:
        raise ConfigurationError(
            f"{what} file cannot be read ({exc.strerror or type(exc).__name__})", file=str(path)
        ) from None


def _parse_certificates(data: bytes, path: Path) -> list[x509.Certificate]:
    if b"-----BEGIN" not in data:
        hint = " (it looks like DER: convert it with 'openssl x509 -inform der')" if data[:1] == b"\x30" else ""
        raise ConfigurationError(
            f"not a PEM certificate file{hint}", file=str(path), valid="a PEM file with CERTIFICATE blocks"
        )
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ConfigurationError(
            "holds no certificate that can be read (PEM CERTIFICATE blocks expected)",
            file=str(path),
            valid="a PEM file with CERTIFICATE blocks",
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
        return _parse_certificates(_read_file(file, "certificate"), file)
    except ConfigurationError as exc:
        raise _located(exc, resolved, option) from None


def _password_bytes(password: str | bytes) -> bytes:
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


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
        return _load_key(_read_file(file, "private key"), file, password)[0]
    except ConfigurationError as exc:
        raise _located(exc, resolved, option) from None


def _load_key(
    data: bytes, path: Path, password: str | bytes | PasswordCallback | None
) -> tuple[PrivateKey, bytes | None]:
    """The key and the password bytes used (``None`` for a key in clear)."""
    if b"PRIVATE KEY-----" not in data:
        raise ConfigurationError(
            "holds no PEM private key", file=str(path), valid="a PEM private key (PKCS#1, PKCS#8 or SEC1)"
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
    secret = _password_bytes(password() if callable(password) else password)
    try:
        return serialization.load_pem_private_key(data, secret), secret
    except (ValueError, TypeError):
        raise ConfigurationError(
            "private key cannot be decrypted: wrong password", file=str(path)
        ) from None


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# The certificate file given to load_cert_chain: the certificates read and checked here, written once per
# (paths, mtimes, sizes) in a private directory (0700, files 0600) removed at exit, so that OpenSSL loads
# exactly what was checked and a comma-separated chain becomes one file.
_chain_lock = threading.Lock()
_chain_dir: Path | None = None
_chain_files: dict[tuple[tuple[str, int, int], ...], tuple[Path, tuple[x509.Certificate, ...]]] = {}


def _remove_chain_dir() -> None:
    if _chain_dir is not None:
        shutil.rmtree(_chain_dir, ignore_errors=True)


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        status = os.stat(path)
    except OSError:
        return (str(path), -1, -1)
    return (str(path.resolve()), status.st_mtime_ns, status.st_size)


def _private_file(data: bytes, prefix: str) -> Path:
    """A file holding ``data`` in the process's private directory (0700; files 0600), one per content."""
    global _chain_dir  # noqa: PLW0603 - one private directory per process, made on first use
    with _chain_lock:
        if _chain_dir is None or not _chain_dir.is_dir():
            if _chain_dir is None:
                atexit.register(_remove_chain_dir)
            _chain_dir = Path(tempfile.mkdtemp(prefix="genesys-tls-"))
        target = _chain_dir / f"{prefix}-{hashlib.sha256(data).hexdigest()[:32]}.pem"
        if not target.is_file():
            descriptor, temporary = tempfile.mkstemp(dir=_chain_dir, suffix=".tmp")
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        return target


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
    entry = (_private_file(pem, "chain"), tuple(certs))
    with _chain_lock:
        _chain_files[key] = entry
    return entry


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


# --------------------------------------------------------------------------------------------- building


@attrs.frozen
class _Built:
    context: ssl.SSLContext
    warnings: tuple[str, ...]
    crl: bool
    presents_certificate: bool


def _config_error(
    reason: str, resolved: ResolvedSecurity, option: str, *, file: str | None = None, value: str | None = None,
    valid: str | None = None,
) -> ConfigurationError:
    return _located(
        ConfigurationError(reason, file=file or resolved.file, value=value, valid=valid), resolved, option
    )


def _password_source(
    password: PasswordCallback | None, password_env: str | None, resolved: ResolvedSecurity
) -> PasswordCallback | None:
    if password is not None and password_env is not None:
        raise TypeError("give password or password_env, not both")
    if password_env is None:
        return password
    name = password_env

    def from_environment() -> str:
        value = os.environ.get(name)
        if value is None:
            raise _config_error(
                f"the private key is encrypted and the environment variable {name!r} (password_env) is not set",
                resolved,
                "certificate-key",
            )
        return value

    return from_environment


def _load_own_certificate(
    ctx: ssl.SSLContext,
    resolved: ResolvedSecurity,
    password: PasswordCallback | None,
) -> tuple[x509.Certificate, ...]:
    """Load ``certificate`` (+ ``certificate-key``) into ``ctx``; the chain loaded (empty when none set)."""
    cert_paths = resolved.paths("certificate")
    key_path = resolved.path("certificate-key")
    if not cert_paths:
        if key_path is not None:
            raise _config_error(
                "certificate-key is set but certificate is not (set both, at the same level)",
                resolved, "certificate", file=str(key_path),
            )
        return ()
    chain_path, chain = _chain_file(cert_paths, resolved, "certificate")
    leaf = chain[0]
    key_option = "certificate-key" if key_path is not None else "certificate"
    key_file = key_path if key_path is not None else cert_paths[0]
    data = _read_file_located(key_file, resolved, key_option)
    if key_path is None and b"PRIVATE KEY-----" not in data:
        raise _config_error(
            f"certificate-key is not set and the certificate file {cert_paths[0]} holds no private key",
            resolved, "certificate-key", file=str(cert_paths[0]),
            valid="certificate-key: a PEM private key file",
        )
    try:
        key, secret = _load_key(data, key_file, password)
    except ConfigurationError as exc:
        raise _located(exc, resolved, key_option) from None
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        raise _config_error(
            f"the private key {key_file} does not match the certificate {cert_paths[0]} (subject "
            f"{leaf.subject.rfc4514_string()!r})",
            resolved, key_option, file=str(key_file),
        )
    try:
        ctx.load_cert_chain(str(chain_path), str(key_file), password=secret)
    except (ssl.SSLError, OSError) as exc:
        raise _config_error(
            f"OpenSSL refused the certificate and key ({getattr(exc, 'reason', None) or type(exc).__name__})",
            resolved, key_option, file=str(key_file),
        ) from None
    return chain


def _read_file_located(path: Path, resolved: ResolvedSecurity, option: str) -> bytes:
    try:
        return _read_file(path, "private key" if option == "certificate-key" else "certificate")
    except ConfigurationError as exc:
        raise _located(exc, resolved, option) from None


def _load_trust(ctx: ssl.SSLContext, resolved: ResolvedSecurity) -> tuple[x509.Certificate, ...] | None:
    """Load ``trusted-ca``; the CAs loaded, or ``None`` when it is not set."""
    path = resolved.path("trusted-ca")
    if path is None:
        return None
    cas = load_certificates(path, resolved=resolved, option="trusted-ca")
    ctx.load_verify_locations(
        cadata="".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in cas)
    )
    return tuple(cas)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def _load_crl(
    ctx: ssl.SSLContext,
    resolved: ResolvedSecurity,
    trusted: Sequence[x509.Certificate],
    own_chain: Sequence[x509.Certificate],
    crl_check: str,
    cache: CRLCache | None,
) -> tuple[bool, tuple[str, ...]]:
    """Load ``tls-crl`` (checked through the CRL cache) and set the CRL flags; (loaded, warnings)."""
    path = resolved.path("tls-crl")
    if path is None:
        return False, ()
    # CRLs may be signed by the trusted CAs or by the intermediates of our own chain (same PKI in practice).
    signers = [*trusted, *(c for c in own_chain[1:] if _is_ca(c))]
    notes: tuple[str, ...] = ()
    try:
        pem_path = (cache if cache is not None else default_cache).get(path, signers).pem_path
    except ConfigurationError as exc:
        raise _located(exc, resolved, "tls-crl") from None
    except TLSError as exc:
        if exc.category is not Category.CRL_UNAVAILABLE:
            raise
        pem_path, notes = _crls_of_issuing_cas(path, signers, exc, resolved)
    ctx.load_verify_locations(cafile=str(pem_path))
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN if crl_check == "chain" else ssl.VERIFY_CRL_CHECK_LEAF
    return True, notes


# CRL files holding CRLs of CAs that are not known before the handshake, keyed like the CRL cache.
_issuing_crls: dict[
    tuple[tuple[str, int, int], frozenset[bytes]], tuple[Path, tuple[x509.CertificateRevocationList, ...], str]
] = {}


def _crls_of_issuing_cas(
    path: Path, signers: Sequence[x509.Certificate], refusal: TLSError, resolved: ResolvedSecurity
) -> tuple[Path, tuple[str, ...]]:
    """A two-tier PKI: ``trusted-ca`` holds the root, the peer sends its issuing CA, and ``tls-crl`` holds the
    issuing CA's CRL. Such a CRL cannot be checked before the handshake (its signer is not known yet);
    OpenSSL checks it during the handshake against the issuing CA of the verified chain, as ``openssl verify
    -crl_check`` does, and a CRL that does not verify leaves the certificate without a CRL
    (``crl-unavailable``). The CRLs of known CAs in the same file are still checked here; the dates of every
    CRL too. Anything else the cache refused (a bad signature by a known CA...) stays refused."""
    key = (_stamp(path), frozenset(ca.fingerprint(hashes.SHA256()) for ca in signers))
    with _chain_lock:
        memo = _issuing_crls.get(key)
    if memo is None:
        try:
            crls = load_crls(path)
        except ConfigurationError as exc:
            raise _located(exc, resolved, "tls-crl") from None
        names = {ca.subject for ca in signers}
        known = [crl for crl in crls if crl.issuer in names]
        unknown = [crl for crl in crls if crl.issuer not in names]
        if not unknown:
            raise refusal
        if known:
            check_crls(known, signers, path=path)
        pem = b"".join(crl.public_bytes(serialization.Encoding.PEM) for crl in crls)
        issuers = "; ".join(sorted({repr(crl.issuer.rfc4514_string()) for crl in unknown}))
        memo = (_private_file(pem, "crls"), tuple(crls), issuers)
        with _chain_lock:
            _issuing_crls[key] = memo
    pem_path, all_crls, issuers = memo
    # Dates, on every use, with the CRL module's rules and messages (signers are not used for dates).
    CheckedCRLs(all_crls, tuple(c.issuer for c in all_crls), (), pem_path, path).check_validity()
    return pem_path, (
        f"tls-crl {path}: the CRL(s) of {issuers} are not signed by a trusted-ca certificate; OpenSSL checks "
        "them during the handshake against the issuing CA the peer sends",
    )


def _check_crl_mode(crl_check: str) -> None:
    if crl_check not in ("leaf", "chain"):
        raise ConfigurationError("unknown CRL check", option="crl-check", value=str(crl_check), valid=("leaf", "chain"))


def _check_provider(resolved: ResolvedSecurity) -> list[str]:
    notes = []
    provider = resolved["provider"].normalized
    if not resolved.uses_pem_files:
        raise _config_error(
            f"provider {provider} is not supported: genesys_tls builds contexts from PEM files only",
            resolved, "provider", value=resolved["provider"].value, valid=FILE_PROVIDER,
        )
    if resolved["fips140-enabled"].as_bool():
        text = (
            "fips140-enabled=1 is not enforced: genesys_tls uses the default OpenSSL provider, not a FIPS 140 "
            "module"
        )
        warnings.warn(text, InsecureConfigurationWarning, stacklevel=4)
        notes.append(text)
    return notes


def _apply_protocols(ctx: ssl.SSLContext, resolved: ResolvedSecurity) -> list[str]:
    """``sec-protocol`` and ``cipher-list`` (they interact through the security level); returns warnings."""
    notes: list[str] = []
    opt = resolved["sec-protocol"]
    try:
        minimum, maximum = protocol_bounds(opt.normalized, legacy=resolved.legacy_protocols)
    except ConfigurationError as exc:
        raise _located(exc, resolved, "sec-protocol") from None
    legacy_floor = minimum < ssl.TLSVersion.TLSv1_2
    lower_level = legacy_floor and (
        (maximum is not None and maximum < ssl.TLSVersion.TLSv1_2) or minimum is ssl.TLSVersion.TLSv1
    )
    if legacy_floor:
        with warnings.catch_warnings():
            # Python deprecates TLSv1/TLSv1_1 values; the configuration asked for them and we warn ourselves.
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = minimum
            if maximum is not None:
                ctx.maximum_version = maximum
    else:
        ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
    if lower_level:
        version = "TLS 1.0" if minimum is ssl.TLSVersion.TLSv1 else "TLS 1.1"
        text = (
            f"sec-protocol={opt.normalized}: {version} is deprecated (RFC 8996); OpenSSL security level 0 is "
            "used because OpenSSL 3 refuses TLS 1.0/1.1 at level 1 and above (weak keys and SHA-1 are then "
            "accepted too)"
        )
        if maximum is not None:  # TLSv1 already warned in protocol_bounds
            warnings.warn(text, LegacyProtocolWarning, stacklevel=4)
        notes.append(text)
    ciphers = resolved["cipher-list"].value
    level = 0 if lower_level else _SECLEVEL
    if ciphers:
        spec = ciphers if "@SECLEVEL" in ciphers.upper() else f"{ciphers}:@SECLEVEL={level}"
        try:
            _set_ciphers(ctx, spec)
        except ConfigurationError as exc:
            bad = ConfigurationError(exc.reason, option="cipher-list", value=ciphers, valid=exc.valid)
            raise _located(bad, resolved, "cipher-list") from None
        if "@SECLEVEL" in ciphers.upper() and ctx.security_level < _SECLEVEL:
            text = (
                f"cipher-list sets OpenSSL security level {ctx.security_level} "
                f"(below Python's {_SECLEVEL}): weak keys and signatures are accepted"
            )
            warnings.warn(text, InsecureConfigurationWarning, stacklevel=4)
            notes.append(text)
        if minimum is ssl.TLSVersion.TLSv1_3:
            notes.append(
                "cipher-list does not govern TLS 1.3 suites and sec-protocol=TLSv13 allows only TLS 1.3: "
                "cipher-list has no effect"
            )
    elif lower_level:
        _set_ciphers(ctx, f"{_LEGACY_CIPHERS}:@SECLEVEL=0")
    if legacy_floor and not lower_level and ctx.security_level > 0:
        notes.append(
            f"sec-protocol={opt.normalized} allows TLS 1.1, but OpenSSL 3 refuses TLS 1.1 at security level "
            f"{ctx.security_level}: the effective floor is TLS 1.2 (write @SECLEVEL=0 in cipher-list to accept "
            "TLS 1.1 peers, which weakens every connection)"
        )
    return notes


def _require_tls(resolved: ResolvedSecurity, side: Side) -> None:
    if resolved.side is not side:
        raise ConfigurationError(
            f"these settings are the {resolved.side.value} side of {resolved.object}; "
            f"a {side.value} context needs resolve_{side.value}(...)",
            object=resolved.object,
        )
    if resolved.mode is Mode.PLAIN:
        opt = resolved["tls"]
        raise ConfigurationError(
            "TLS is off for this link (tls is not 1): there is no TLS context to build",
            file=resolved.file,
            object=opt.object or resolved.object,
            level=resolved.level_of("tls"),
            option="tls",
            value=opt.value,
            valid="tls=1 on the port or the connection",
        )


def _build_client(
    resolved: ResolvedSecurity,
    password: PasswordCallback | None,
    password_env: str | None,
    crl_check: str,
    crl_cache: CRLCache | None,
) -> _Built:
    _require_tls(resolved, Side.CLIENT)
    _check_crl_mode(crl_check)
    secret = _password_source(password, password_env, resolved)
    notes = _check_provider(resolved)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.hostname_checks_common_name = True  # Genesys accepts CN-only certificates
    encryption_only = resolved.mode is Mode.ENCRYPTION_ONLY
    name_check = resolved.checks_target_name
    notes += _apply_protocols(ctx, resolved)
    own = _load_own_certificate(ctx, resolved, secret)
    if resolved["tls-mutual"].as_bool() and not own:
        notes.append(
            "the server requires a client certificate (tls-mutual=1 on its port) and this client has none "
            "(certificate is not set): the handshake will fail"
        )
    crl = False
    if encryption_only:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        warnings.warn(
            f"{resolved.object}: {NOT_AUTHENTICATED}", InsecureConfigurationWarning, stacklevel=3
        )
        notes.insert(0, NOT_AUTHENTICATED)
        if name_check:
            notes.append("tls-target-name-check=host has no effect: client-auth=0 turns every server check off")
        if resolved.path("tls-crl") is not None:
            notes.append("tls-crl has no effect: client-auth=0 turns every server check off")
    else:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = name_check
        trusted = _load_trust(ctx, resolved)
        if trusted is None:
            ctx.load_verify_locations(cafile=_certifi_bundle())
            trusted = _certifi_certificates() if resolved.path("tls-crl") is not None else ()
            notes.append(
                "trusted-ca is not set: the server certificate is checked against the public CAs of the "
                "certifi bundle"
            )
        crl, crl_notes = _load_crl(ctx, resolved, trusted, own, crl_check, crl_cache)
        notes += crl_notes
    if name_check and not encryption_only and not resolved.expected_name:
        raise _config_error(
            "tls-target-name-check=host but there is no name to check (no tls-target-name and the server "
            "has no Host)",
            resolved, "tls-target-name-check",
        )
    return _Built(ctx, tuple(notes), crl, bool(own))


def _build_server(
    resolved: ResolvedSecurity,
    password: PasswordCallback | None,
    password_env: str | None,
    crl_check: str,
    crl_cache: CRLCache | None,
) -> _Built:
    if resolved.side is Side.SERVER and resolved.mode is Mode.PLAIN and resolved["upgrade"].as_bool():
        # An upgrade (auto-detect) port without tls=1: its TLS side uses the port's certificate settings
        # as a secure port would, mutual when tls-mutual=1.
        mode = Mode.MUTUAL if resolved["tls-mutual"].as_bool() else Mode.SIMPLE
        resolved = attrs.evolve(resolved, mode=mode)
    _require_tls(resolved, Side.SERVER)
    _check_crl_mode(crl_check)
    secret = _password_source(password, password_env, resolved)
    notes = _check_provider(resolved)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    notes += _apply_protocols(ctx, resolved)
    if not resolved.paths("certificate"):
        raise _config_error(
            "a TLS server port needs its own certificate (certificate and certificate-key)",
            resolved, "certificate", valid="a PEM certificate file (and certificate-key)",
        )
    own = _load_own_certificate(ctx, resolved, secret)
    crl = False
    if resolved.mode is Mode.MUTUAL:
        ctx.verify_mode = ssl.CERT_REQUIRED
        trusted = _load_trust(ctx, resolved)
        if trusted is None:
            raise _config_error(
                "tls-mutual=1 but trusted-ca is not set: the server cannot check client certificates",
                resolved, "trusted-ca", valid="a PEM file with the CAs that issue client certificates",
            )
        crl, crl_notes = _load_crl(ctx, resolved, trusted, own, crl_check, crl_cache)
        notes += crl_notes
    else:
        ctx.verify_mode = ssl.CERT_NONE
        if resolved.path("tls-crl") is not None:
            notes.append("tls-crl has no effect: this port does not ask for client certificates (tls-mutual=0)")
    return _Built(ctx, tuple(notes), crl, True)


def client_context(
    resolved: ResolvedSecurity,
    *,
    password: PasswordCallback | None = None,
    password_env: str | None = None,
    crl_check: CRLCheck = "leaf",
    crl_cache: CRLCache | None = None,
) -> ssl.SSLContext:
    """The client :class:`ssl.SSLContext` of a resolved connection.

    ``PROTOCOL_TLS_CLIENT``; ``CERT_REQUIRED`` with ``trusted-ca`` (or the certifi bundle), or ``CERT_NONE``
    for encryption-only; ``check_hostname`` for ``tls-target-name-check=host`` (CN-only certificates
    accepted); the own certificate when set; ``sec-protocol``, ``cipher-list`` and ``tls-crl`` applied.
    Wrap sockets with ``server_hostname=client_plan(resolved).server_hostname``.

    Args:
        resolved: ``resolve_client(...)``.
        password: returns the password of an encrypted ``certificate-key``.
        password_env: the NAME of an environment variable holding that password (never the environment file).
        crl_check: ``"leaf"`` (default) or ``"chain"``: which certificates ``tls-crl`` covers.
        crl_cache: the CRL cache (default :data:`genesys_tls.crl.default_cache`).

    Raises:
        ConfigurationError: TLS is off, a file is missing or wrong, a wrong password, a bad cipher list...
        TLSError: the ``tls-crl`` file cannot be trusted (``crl-unavailable``) or has expired (``crl-expired``).

    Example:
        >>> import genesys_tls as gt
        >>> env = gt.load("examples/environment.yaml")  # doctest: +SKIP
        >>> ctx = gt.client_context(gt.resolve_client(env, "MyTLibClient", "TServer_SIP", "secure"))  # doctest: +SKIP
    """
    return _build_client(resolved, password, password_env, crl_check, crl_cache).context


def server_context(
    resolved: ResolvedSecurity,
    *,
    password: PasswordCallback | None = None,
    password_env: str | None = None,
    crl_check: CRLCheck = "leaf",
    crl_cache: CRLCache | None = None,
) -> ssl.SSLContext:
    """The server :class:`ssl.SSLContext` of a resolved listening port.

    ``PROTOCOL_TLS_SERVER`` presenting ``certificate`` (a comma-separated chain, leaf first, is sent in that
    order); for ``tls-mutual=1``: ``CERT_REQUIRED`` against ``trusted-ca`` and ``tls-crl``.

    Args:
        resolved: ``resolve_server(...)``.
        password: returns the password of an encrypted ``certificate-key``.
        password_env: the NAME of an environment variable holding that password.
        crl_check: ``"leaf"`` (default) or ``"chain"``.
        crl_cache: the CRL cache (default :data:`genesys_tls.crl.default_cache`).

    Raises:
        ConfigurationError: TLS is off, no certificate, mutual without ``trusted-ca``, a bad file...
        TLSError: the ``tls-crl`` file cannot be trusted or has expired.
    """
    return _build_server(resolved, password, password_env, crl_check, crl_cache).context


@attrs.frozen
class ConnectionPlan:
    """Everything a client needs to make one Genesys connection. Made by :func:`client_plan`.

    Attributes:
        context: the client context.
        dial_host: the address dialled (the Host's ``ip``, its name, or the ``address`` override).
        dial_port: the TCP port dialled.
        server_hostname: passed to ``wrap_socket``: sent as SNI, and checked when ``target-name`` is in
            :attr:`checks`; ``None`` when there is no name to send.
        expected_name: the name the server certificate must carry (``tls-target-name``, else the server's
            Host name), whether or not it is checked.
        checks: what is verified, a subset of ``("chain", "target-name", "crl")``.
        mode: ``simple``, ``mutual`` or ``encryption-only``.
        authenticated: whether the server is authenticated (``False`` for encryption-only).
        warnings: plain statements about weakened or ineffective settings (first: the encryption-only one).
        resolved: the settings the plan was made from.
    """

    context: ssl.SSLContext
    dial_host: str
    dial_port: int
    server_hostname: str | None
    expected_name: str | None
    checks: tuple[str, ...]
    mode: Mode
    authenticated: bool
    warnings: tuple[str, ...]
    resolved: ResolvedSecurity = attrs.field(repr=False)

    @property
    def address(self) -> str:
        """``dial_host:dial_port`` (IPv6 in brackets)."""
        host = f"[{self.dial_host}]" if ":" in self.dial_host else self.dial_host
        return f"{host}:{self.dial_port}"


def parse_address(address: str | tuple[str, int]) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[v6]:PORT"``) or ``(host, port)`` -> ``(host, port)``.

    Raises:
        ConfigurationError: not ``HOST:PORT`` or a port outside 0-65535.
    """
    if isinstance(address, tuple):
        host, port = address
    else:
        host, sep, text = address.rpartition(":")
        if not sep or not text.isdigit():
            raise ConfigurationError("address must be HOST:PORT", option="address", value=address, valid="HOST:PORT")
        port = int(text)
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigurationError("address must be HOST:PORT", option="address", value=str(address), valid="HOST:PORT")
    return host, port


def client_plan(
    resolved: ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    password: PasswordCallback | None = None,
    password_env: str | None = None,
    crl_check: CRLCheck = "leaf",
    crl_cache: CRLCache | None = None,
) -> ConnectionPlan:
    """The context and the connection details of a resolved connection.

    Args:
        resolved: ``resolve_client(...)``.
        address: ``"HOST:PORT"`` or ``(host, port)`` to dial instead of the configured one; it never changes
            the name checked or sent as SNI.
        password, password_env, crl_check, crl_cache: as :func:`client_context`.

    Raises:
        ConfigurationError: as :func:`client_context`, or nowhere to dial (no port number and no
            ``address``).
        TLSError: as :func:`client_context`.
    """
    built = _build_client(resolved, password, password_env, crl_check, crl_cache)
    target = resolved.target
    assert target is not None  # noqa: S101 - a client ResolvedSecurity always has a target
    if address is not None:
        dial_host, dial_port = parse_address(address)
    else:
        if target.dial_host is None or target.port is None:
            raise ConfigurationError(
                f"{target.server} port {target.port_id} has no host or port number to dial; give an address",
                file=resolved.file,
                object=f"{target.server}/{target.port_id}",
                valid="a port number in the environment, or address='HOST:PORT' (--address)",
            )
        dial_host, dial_port = target.dial_host, target.port
    encryption_only = resolved.mode is Mode.ENCRYPTION_ONLY
    name_check = resolved.checks_target_name and not encryption_only
    server_hostname = resolved.expected_name or None
    if server_hostname is not None:
        try:  # what wrap_socket will do with the name, before anything is dialled
            built.context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname=server_hostname)
        except ValueError as exc:
            option = "tls-target-name" if resolved["tls-target-name"].value else "tls-target-name-check"
            raise _config_error(
                f"the expected name {server_hostname!r} cannot be sent as a TLS server name ({exc})",
                resolved, option, value=server_hostname, valid="a DNS name or an IP address",
            ) from None
    checks: list[str] = []
    if not encryption_only:
        checks.append("chain")
    if name_check:
        checks.append("target-name")
    if built.crl:
        checks.append("crl")
    return ConnectionPlan(
        context=built.context,
        dial_host=dial_host,
        dial_port=dial_port,
        server_hostname=server_hostname,
        expected_name=server_hostname,
        checks=tuple(checks),
        mode=resolved.mode,
        authenticated=not encryption_only,
        warnings=built.warnings,
        resolved=resolved,
    )


def _build_server_with_notes(
    resolved: ResolvedSecurity,
    *,
    password: PasswordCallback | None = None,
    password_env: str | None = None,
    crl_check: CRLCheck = "leaf",
    crl_cache: CRLCache | None = None,
) -> tuple[ssl.SSLContext, tuple[str, ...], tuple[str, ...]]:
    """The server context, its warnings and its checks (for :mod:`genesys_tls.handshake`)."""
    built = _build_server(resolved, password, password_env, crl_check, crl_cache)
    checks = ("chain", "crl") if built.crl else ("chain",) if resolved.mode is Mode.MUTUAL else ()
    return built.context, built.warnings, checks
