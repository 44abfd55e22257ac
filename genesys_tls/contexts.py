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
cipher list OpenSSL refuses, a Windows thumbprint that names nothing in the host's store (or on a host with
no store), an unsupported provider are :class:`~genesys_tls.errors.ConfigurationError` naming the option, its
level, the object and the file; a CRL that cannot be trusted or is out of date is a
:class:`~genesys_tls.errors.TLSError`. Nothing falls back to a weaker setting without a warning.

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

Size: the two sides' builds share every loading step (protocols, certificate group, trust, CRL) and the
cache glue that keys them; splitting would put one side's build away from the steps it reads in order.
"""

from __future__ import annotations

import hmac
import itertools
import os
import ssl
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, TypeAlias, TypedDict, Unpack

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ._keys import (
    PasswordCallback,
    PrivateKey,
    _certifi_bundle,
    _certifi_certificates,
    _chain_file,
    _config_error,
    _key_matched,
    _load_key,
    _located,
    _remember_key_match,
    _trust_file,
    load_certificates,
    load_private_key,
)
from ._keywords import check_keywords
from ._pem import is_ca, is_pem, read_file, spki
from ._policy import _apply_protocols
from ._policy import check_cipher_list as check_cipher_list  # noqa: PLC0414 - re-exported
from ._policy import protocol_bounds as protocol_bounds  # noqa: PLC0414 - re-exported
from .addresses import parse_address
from .cache import ContextCache, default_context_cache, warn
from .catalogue import FILE_PROVIDER, KEYSTORE_PROVIDER, Side
from .crl import CRLCache, HandshakeCRLs, default_cache
from .errors import ConfigurationError, InsecureConfigurationWarning
from .material import material_identity, own_material, reads_provider, trust_material
from .resolved import NOT_AUTHENTICATED, Check, CRLScope, Mode, ResolvedSecurity

__all__ = [
    "NOT_AUTHENTICATED",
    "CRLCheck",
    "ConnectionPlan",
    "ContextOptions",
    "PasswordCallback",
    "PrivateKey",
    "client_context",
    "client_plan",
    "load_certificates",
    "load_private_key",
    "server_context",
]

#: Which certificates are checked against ``tls-crl``: the peer's leaf only, or its whole chain.
CRLCheck: TypeAlias = Literal["leaf", "chain"]


class ContextOptions(TypedDict, total=False):
    """The keyword options of every function that builds a context, all optional:

    * ``password``: returns the password of an encrypted ``certificate-key``;
    * ``password_env``: the NAME of an environment variable holding that password (never the environment
      file);
    * ``crl_check``: ``"leaf"`` (default) or ``"chain"``: which certificates ``tls-crl`` covers;
    * ``crl_cache``: the CRL cache (default :data:`genesys_tls.crl.default_cache`);
    * ``context_cache``: the context cache (default :data:`genesys_tls.cache.default_context_cache`; ``None``:
      a private context, built now, that the caller may change).
    """

    password: PasswordCallback | None
    password_env: str | None
    crl_check: CRLCheck
    crl_cache: CRLCache | None
    context_cache: ContextCache | None


def _options(function: str, options: ContextOptions) -> ContextOptions:
    """``options``, checked (``TypeError``: an unknown one)."""
    check_keywords(function, options, ContextOptions)
    return options


def _defaults(options: ContextOptions) -> tuple[PasswordCallback | None, str | None, str, CRLCache | None]:
    """``(password, password_env, crl_check, crl_cache)`` with their defaults."""
    return (
        options.get("password"),
        options.get("password_env"),
        options.get("crl_check", "leaf"),
        options.get("crl_cache"),
    )

# --------------------------------------------------------------------------------------------- building


@attrs.frozen
class _Built:
    context: ssl.SSLContext
    warnings: tuple[str, ...]
    crl: bool
    presents_certificate: bool
    #: Re-checks the CRLs' dates (through the CRL cache) when the context is served from the context cache.
    recheck: Callable[[], object] | None = None
    #: (id(resolved), address as given) -> the plan made with this context: a plan asked for again with the
    #: same settings object and address, while the context cache serves this context, is the same object. It
    #: lives as long as the cache entry (the plan keeps its ``resolved`` alive, so the id stays its own).
    plans: dict[tuple[int, object], ConnectionPlan] = attrs.field(factory=dict, eq=False, repr=False)


def _files_read(resolved: ResolvedSecurity) -> tuple[Path, ...] | None:
    """Every file a context of ``resolved`` reads (``None``: they cannot be named, the build reports why, or
    the certificates come from a Windows store or a Java keystore, whose folder may gain files: not cached)."""
    try:
        if material_identity(resolved):
            return None
        named = (*resolved.certificate_paths, resolved.key_path, resolved.trusted_ca_path, resolved.crl_path)
    except ConfigurationError:
        return None
    return tuple(dict.fromkeys(p for p in named if p is not None))


#: A per-process salt: the key of a context made with ``password_env`` holds a salted digest of the variable's
#: value (so that a changed password rebuilds), never the value.
_SALT = os.urandom(16)


def _secret_marker(value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(_SALT, value.encode("utf-8", "surrogatepass"), "sha256").hexdigest()


def _cached(side: Side, resolved: ResolvedSecurity, options: ContextOptions) -> _Built:
    """Build through the ``context_cache`` option (see :mod:`genesys_tls.cache` for the key and the invalidation
    rule); settings whose certificates come from a Windows store or a Java keystore are built each time."""
    context_cache = options.get("context_cache", default_context_cache) if options else default_context_cache

    def fresh() -> tuple[_Built, Callable[[], object] | None]:
        built = (_build_client if side is Side.CLIENT else _build_server)(resolved, options)
        return built, built.recheck

    if context_cache is None:
        return fresh()[0]
    described = _describe(resolved)
    if described is None:
        return fresh()[0]
    token, names = described
    if not options:  # the common case: every default
        return context_cache.get_or_build((side, token, "leaf", None, None, None, None), names, fresh, absolute=True)
    password, password_env, crl_check, crl_cache = _defaults(options)
    settings = (
        side, token, crl_check, id(password) if password is not None else None, password_env,
        _secret_marker(os.environ.get(password_env)) if password_env is not None else None,
        id(crl_cache) if crl_cache is not None else None,
    )
    return context_cache.get_or_build(settings, names, fresh, keep=(password, crl_cache), absolute=True)


#: id(resolved) -> (a weak reference to it, its settings token, the absolute paths of the files it reads):
#: computed once per object.
_DESCRIBED: dict[int, tuple[weakref.ref[ResolvedSecurity], int, tuple[str, ...]]] = {}
#: The settings a resolved object decides -> a small token standing for them in the cache keys (hashed on every
#: lookup). Tokens are never reused: when the table is full it starts again, which only costs rebuilds.
_TOKENS: dict[tuple[object, ...], int] = {}
_NEXT_TOKEN = itertools.count(1)
_MAX_TOKENS = 65536
_DESCRIBED_LOCK = threading.Lock()


def _describe(resolved: ResolvedSecurity) -> tuple[int, tuple[str, ...]] | None:
    """A token of the part of the cache key that ``resolved`` decides, and the files it reads (``None``: not
    cacheable)."""
    key = id(resolved)
    memo = _DESCRIBED.get(key)
    if memo is not None and memo[0]() is resolved:
        return memo[1], memo[2]
    paths = _files_read(resolved)
    if paths is None:
        return None
    settings = (
        resolved.side, resolved.mode, resolved.legacy_protocols, resolved.windows, resolved.expected_name,
        str(resolved.base_dir),
        # Only the encryption-only warning names the object; everything else is shared between objects.
        resolved.object if resolved.mode is Mode.ENCRYPTION_ONLY else None,
        tuple((name, opt.value, opt.normalized) for name, opt in resolved.options.items()),
    )
    names = tuple(os.path.abspath(os.fspath(p)) for p in paths)

    def forget(_: object, key: int = key) -> None:
        with _DESCRIBED_LOCK:
            _DESCRIBED.pop(key, None)

    with _DESCRIBED_LOCK:
        token = _TOKENS.get(settings)
        if token is None:
            if len(_TOKENS) >= _MAX_TOKENS:
                _TOKENS.clear()
            token = _TOKENS[settings] = next(_NEXT_TOKEN)
        _DESCRIBED[key] = (weakref.ref(resolved, forget), token, names)
    return token, names


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
    stored = own_material(resolved, password)  # a Windows store thumbprint or a Java keystore
    if stored is not None:
        _load_chain(ctx, resolved, stored.chain_file, stored.key_file, stored.password, "certificate")
        return stored.chain
    cert_paths = resolved.certificate_paths
    key_path = resolved.key_path
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
    secret: bytes | None = None
    if not _key_matched(key_file, cert_paths):  # a key in clear already checked against this chain: skip
        data = _read_file_located(key_file, resolved, key_option)
        if key_path is None and not is_pem(data, "PRIVATE KEY"):
            raise _config_error(
                f"certificate-key is not set and the certificate file {cert_paths[0]} holds no private key",
                resolved, "certificate-key", file=str(cert_paths[0]),
                valid="certificate-key: a PEM private key file",
            )
        try:
            key, secret = _load_key(data, key_file, password)
        except ConfigurationError as exc:
            raise _located(exc, resolved, key_option) from None
        if spki(key) != spki(leaf):
            raise _config_error(
                f"the private key {key_file} does not match the certificate {cert_paths[0]} (subject "
                f"{leaf.subject.rfc4514_string()!r})",
                resolved, key_option, file=str(key_file),
            )
        if secret is None:
            _remember_key_match(key_file, cert_paths)
    _load_chain(ctx, resolved, chain_path, key_file, secret, key_option)
    return chain


def _load_chain(
    ctx: ssl.SSLContext, resolved: ResolvedSecurity, chain_path: Path, key_file: Path, secret: bytes | None,
    option: str,
) -> None:
    try:
        ctx.load_cert_chain(str(chain_path), str(key_file), password=secret)
    except (ssl.SSLError, OSError) as exc:
        raise _config_error(
            f"OpenSSL refused the certificate and key ({getattr(exc, 'reason', None) or type(exc).__name__})",
            resolved, option, file=str(key_file),
        ) from None


def _read_file_located(path: Path, resolved: ResolvedSecurity, option: str) -> bytes:
    try:
        return read_file(path, "private key" if option == "certificate-key" else "certificate")
    except ConfigurationError as exc:
        raise _located(exc, resolved, option) from None


def _load_trust(
    ctx: ssl.SSLContext, resolved: ResolvedSecurity, password: PasswordCallback | None = None
) -> tuple[x509.Certificate, ...] | None:
    """Load ``trusted-ca``; the CAs loaded, or ``None`` when it is not set."""
    cas = trust_material(resolved, password)  # a Windows store thumbprint or a Java truststore
    if cas is not None:
        ctx.load_verify_locations(
            cadata="".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in cas)
        )
        return tuple(cas)
    path = resolved.trusted_ca_path
    if path is None:
        return None
    found, text = _trust_file(path, resolved, "trusted-ca")
    ctx.load_verify_locations(cadata=text)
    return found


def _load_crl(
    ctx: ssl.SSLContext,
    resolved: ResolvedSecurity,
    trusted: Sequence[x509.Certificate],
    own_chain: Sequence[x509.Certificate],
    crl_check: str,
    cache: CRLCache | None,
) -> tuple[Callable[[], HandshakeCRLs] | None, tuple[str, ...]]:
    """Load ``tls-crl`` (checked through the CRL cache) and set the CRL flags; (a re-check of the CRLs loaded,
    warnings)."""
    path = resolved.crl_path
    if path is None:
        return None, ()
    # CRLs may be signed by the trusted CAs or by the intermediates of our own chain (same PKI in practice).
    signers = [*trusted, *(c for c in own_chain[1:] if is_ca(c))]
    crl_cache = cache if cache is not None else default_cache
    try:
        crls = crl_cache.for_handshake(path, signers)
    except ConfigurationError as exc:
        raise _located(exc, resolved, "tls-crl") from None
    notes = (crls.note,) if crls.note else ()
    ctx.load_verify_locations(cafile=str(crls.pem_path))
    scope = CRLScope.parse(crl_check)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN if scope is CRLScope.CHAIN else ssl.VERIFY_CRL_CHECK_LEAF
    # A hit of the context cache has compared the versions of every file read here: only the dates can change.
    return lambda: crl_cache.confirm(crls), notes


def _check_crl_mode(crl_check: str) -> None:
    CRLScope.parse(crl_check)


def _check_provider(resolved: ResolvedSecurity) -> list[str]:
    notes = []
    provider = resolved.provider
    if not reads_provider(resolved):
        raise _config_error(
            f"provider {provider} is not supported: genesys_tls builds contexts from PEM files, Java keystores "
            "(JKS) and, on Windows hosts, store thumbprints (MSCAPI)",
            resolved, "provider", value=resolved["provider"].value, valid=f"{FILE_PROVIDER} or {KEYSTORE_PROVIDER}",
        )
    if resolved.fips140:
        text = (
            "fips140-enabled=1 is not enforced: genesys_tls uses the default OpenSSL provider, not a FIPS 140 "
            "module"
        )
        warn(text, InsecureConfigurationWarning, stacklevel=4)
        notes.append(text)
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


def _build_client(resolved: ResolvedSecurity, options: ContextOptions) -> _Built:
    password, password_env, crl_check, crl_cache = _defaults(options)
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
    if resolved.requires_client_certificate and not own:
        notes.append(
            "the server requires a client certificate (tls-mutual=1 on its port) and this client has none "
            "(certificate is not set): the handshake will fail"
        )
    crl: Callable[[], HandshakeCRLs] | None = None
    if encryption_only:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        warn(
            f"{resolved.object}: {NOT_AUTHENTICATED}", InsecureConfigurationWarning, stacklevel=3
        )
        notes.insert(0, NOT_AUTHENTICATED)
        if name_check:
            notes.append("tls-target-name-check=host has no effect: client-auth=0 turns every server check off")
        if resolved.crl_path is not None:
            notes.append("tls-crl has no effect: client-auth=0 turns every server check off")
    else:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = name_check
        trusted = _load_trust(ctx, resolved, secret)
        if trusted is None:
            ctx.load_verify_locations(cafile=_certifi_bundle())
            trusted = _certifi_certificates() if resolved.crl_path is not None else ()
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
    return _Built(ctx, tuple(notes), crl is not None, bool(own), crl)


def _build_server(resolved: ResolvedSecurity, options: ContextOptions) -> _Built:
    password, password_env, crl_check, crl_cache = _defaults(options)
    if resolved.side is Side.SERVER and resolved.tls_mode is not resolved.mode:
        # An upgrade (auto-detect) port without tls=1: its TLS side uses the port's certificate settings
        # as a secure port would, mutual when tls-mutual=1.
        resolved = attrs.evolve(resolved, mode=resolved.tls_mode)
    _require_tls(resolved, Side.SERVER)
    _check_crl_mode(crl_check)
    secret = _password_source(password, password_env, resolved)
    notes = _check_provider(resolved)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    notes += _apply_protocols(ctx, resolved)
    if not resolved.has_certificate:
        raise _config_error(
            "a TLS server port needs its own certificate (certificate and certificate-key)",
            resolved, "certificate", valid="a PEM certificate file (and certificate-key)",
        )
    own = _load_own_certificate(ctx, resolved, secret)
    crl: Callable[[], HandshakeCRLs] | None = None
    if resolved.requires_client_certificate:
        ctx.verify_mode = ssl.CERT_REQUIRED
        trusted = _load_trust(ctx, resolved, secret)
        if trusted is None:
            raise _config_error(
                "tls-mutual=1 but trusted-ca is not set: the server cannot check client certificates",
                resolved, "trusted-ca", valid="a PEM file with the CAs that issue client certificates",
            )
        crl, crl_notes = _load_crl(ctx, resolved, trusted, own, crl_check, crl_cache)
        notes += crl_notes
    else:
        ctx.verify_mode = ssl.CERT_NONE
        if resolved.crl_path is not None:
            notes.append("tls-crl has no effect: this port does not ask for client certificates (tls-mutual=0)")
    return _Built(ctx, tuple(notes), crl is not None, True, crl)


def client_context(resolved: ResolvedSecurity, **options: Unpack[ContextOptions]) -> ssl.SSLContext:
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
        context_cache: the context cache (default :data:`genesys_tls.cache.default_context_cache`): identical
            settings and unchanged files give the same, shared context (treat it as read-only); ``None``
            builds a private one.

    Raises:
        ConfigurationError: TLS is off, a file is missing or wrong, a wrong password, a bad cipher list...
        TLSError: the ``tls-crl`` file cannot be trusted (``crl-unavailable``) or has expired (``crl-expired``).

    Example:
        >>> import genesys_tls as gt
        >>> env = gt.load("examples/environment.yaml")  # doctest: +SKIP
        >>> ctx = gt.client_context(gt.resolve_client(env, "MyTLibClient", "TServer_SIP", "secure"))  # doctest: +SKIP
    """
    return _cached(Side.CLIENT, resolved, _options("client_context", options)).context


def server_context(resolved: ResolvedSecurity, **options: Unpack[ContextOptions]) -> ssl.SSLContext:
    """The server :class:`ssl.SSLContext` of a resolved listening port.

    ``PROTOCOL_TLS_SERVER`` presenting ``certificate`` (a comma-separated chain, leaf first, is sent in that
    order); for ``tls-mutual=1``: ``CERT_REQUIRED`` against ``trusted-ca`` and ``tls-crl``.

    Args:
        resolved: ``resolve_server(...)``.
        password: returns the password of an encrypted ``certificate-key``.
        password_env: the NAME of an environment variable holding that password.
        crl_check: ``"leaf"`` (default) or ``"chain"``.
        crl_cache: the CRL cache (default :data:`genesys_tls.crl.default_cache`).
        context_cache: as :func:`client_context`.

    Raises:
        ConfigurationError: TLS is off, no certificate, mutual without ``trusted-ca``, a bad file...
        TLSError: the ``tls-crl`` file cannot be trusted or has expired.
    """
    return _cached(Side.SERVER, resolved, _options("server_context", options)).context


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
    checks: tuple[Check, ...]
    mode: Mode
    authenticated: bool
    warnings: tuple[str, ...]
    resolved: ResolvedSecurity = attrs.field(repr=False)

    @property
    def address(self) -> str:
        """``dial_host:dial_port`` (IPv6 in brackets)."""
        host = f"[{self.dial_host}]" if ":" in self.dial_host else self.dial_host
        return f"{host}:{self.dial_port}"


#: (name, check_hostname) pairs that ``wrap_bio`` accepted as a server name: checked once per name.
_SENDABLE_NAMES: set[tuple[str, bool]] = set()


def client_plan(
    resolved: ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    **options: Unpack[ContextOptions],
) -> ConnectionPlan:
    """The context and the connection details of a resolved connection.

    Args:
        resolved: ``resolve_client(...)``.
        address: ``"HOST:PORT"`` or ``(host, port)`` to dial instead of the configured one; it never changes
            the name checked or sent as SNI.
        password, password_env, crl_check, crl_cache, context_cache: as :func:`client_context`.

    Raises:
        ConfigurationError: as :func:`client_context`, or nowhere to dial (no port number and no
            ``address``).
        TLSError: as :func:`client_context`.
    """
    return _client_plan(resolved, address, _options("client_plan", options))


#: The most plans one context keeps (see :attr:`_Built.plans`).
_MAX_PLANS = 64


def _client_plan(
    resolved: ResolvedSecurity, address: str | tuple[str, int] | None, options: ContextOptions
) -> ConnectionPlan:
    """:func:`client_plan` with ``options`` already checked."""
    built = _cached(Side.CLIENT, resolved, options)
    try:
        memo = built.plans.get((id(resolved), address))
    except TypeError:  # an unhashable address (a list): no memo
        return _new_plan(resolved, address, built)
    if memo is not None and memo.resolved is resolved:
        return memo
    plan = _new_plan(resolved, address, built)
    if len(built.plans) >= _MAX_PLANS:
        built.plans.clear()
    built.plans[(id(resolved), address)] = plan
    return plan


def _new_plan(resolved: ResolvedSecurity, address: str | tuple[str, int] | None, built: _Built) -> ConnectionPlan:
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
    server_hostname = resolved.expected_name or None
    if server_hostname is not None and (server_hostname, built.context.check_hostname) not in _SENDABLE_NAMES:
        try:  # what wrap_socket will do with the name, before anything is dialled
            built.context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname=server_hostname)
        except ValueError as exc:
            option = resolved.expected_name_option
            raise _config_error(
                f"the expected name {server_hostname!r} cannot be sent as a TLS server name ({exc})",
                resolved, option, value=server_hostname, valid="a DNS name or an IP address",
            ) from None
        if len(_SENDABLE_NAMES) >= 4096:
            _SENDABLE_NAMES.clear()
        _SENDABLE_NAMES.add((server_hostname, built.context.check_hostname))
    return ConnectionPlan(
        context=built.context,
        dial_host=dial_host,
        dial_port=dial_port,
        server_hostname=server_hostname,
        expected_name=server_hostname,
        checks=resolved.checks,
        mode=resolved.mode,
        authenticated=resolved.authenticated,
        warnings=built.warnings,
        resolved=resolved,
    )


def _build_server_with_notes(
    resolved: ResolvedSecurity, **options: Unpack[ContextOptions]
) -> tuple[ssl.SSLContext, tuple[str, ...], tuple[str, ...]]:
    """The server context, its warnings and its checks (for :mod:`genesys_tls.handshake`)."""
    built = _cached(Side.SERVER, resolved, _options("server", options))
    return built.context, built.warnings, resolved.checks
