"""Real TLS handshakes with Genesys settings: :func:`connect`, :func:`connect_async`, :class:`Server`,
:func:`serve`, and :func:`classify`, which turns OpenSSL's errors into the contract's failure categories.

Every handshake gives a :class:`HandshakeResult` (``to_dict()`` is the contract's ``connect --json`` /
``serve --json`` object). A client helper raises :class:`~genesys_tls.errors.TLSError` on failure (or
returns the failed result with ``check=False``); the server records every handshake, accepted or refused.

TLS 1.3 moves the server's verdict on the client certificate after the client's side of the handshake: the
client's ``do_handshake`` returns before the server has checked its certificate. The client helpers
therefore read for a short while (:data:`POST_HANDSHAKE_WAIT`) after a TLS 1.3 handshake, so that a refusal
(``certificate required``, ``unknown ca``...) is reported as a failure with the right category. A server
that then closes the connection or sends nothing is a success.

Example::

    import genesys_tls as gt
    from genesys_tls.handshake import Server, connect

    env = gt.load("environment.yaml")
    with Server(gt.resolve_server(env, "TServer", "secure")) as server:
        result = connect(gt.resolve_client(env, "MyTLibClient", "TServer", "secure"),
                         address=server.address)
    print(result.to_dict())
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from cryptography import x509

from .catalogue import Side
from .contexts import (
    ConnectionPlan,
    CRLCheck,
    PasswordCallback,
    _build_server_with_notes,
    client_plan,
    parse_address,
)
from .crl import CRLCache
from .errors import Category, ConfigurationError, TLSError
from .resolved import NOT_AUTHENTICATED, Check, Mode, ResolvedSecurity

__all__ = [
    "POST_HANDSHAKE_WAIT",
    "HandshakeResult",
    "PeerIdentity",
    "Server",
    "classify",
    "connect",
    "connect_async",
    "serve",
]

#: Seconds a client reads after a TLS 1.3 handshake to catch the server's refusal of its certificate.
POST_HANDSHAKE_WAIT = 0.3
#: Seconds a server waits for the client's close_notify after sending its own.
_CLOSE_WAIT = 1.0
_LOOPBACK = "127.0.0.1"
#: ``getpeercert()`` attribute names -> RFC 4514 short names.
_ATTRIBUTE_NAMES = {
    "commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
    "localityName": "L", "stateOrProvinceName": "ST", "domainComponent": "DC", "streetAddress": "STREET",
    "userId": "UID",
}


# --------------------------------------------------------------------------------------------- results


@attrs.frozen
class PeerIdentity:
    """Who the peer's certificate says it is.

    Attributes:
        subject: the subject, RFC 4514 (``CN=tsrv-host``).
        issuer: the issuer, RFC 4514.
        sans: the subjectAltName entries: ``DNS:name``, ``IP:address``, ``email:...``, ``URI:...``.
    """

    subject: str
    issuer: str
    sans: tuple[str, ...] = ()

    @classmethod
    def from_certificate(cls, cert: x509.Certificate) -> PeerIdentity:
        """The identity of a :mod:`cryptography` certificate."""
        sans: list[str] = []
        try:
            ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (x509.ExtensionNotFound, ValueError):
            ext = None
        for name in ext or ():
            if isinstance(name, x509.DNSName):
                sans.append(f"DNS:{name.value}")
            elif isinstance(name, x509.IPAddress):
                sans.append(f"IP:{name.value}")
            elif isinstance(name, x509.RFC822Name):
                sans.append(f"email:{name.value}")
            elif isinstance(name, x509.UniformResourceIdentifier):
                sans.append(f"URI:{name.value}")
        return cls(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), tuple(sans))

    @classmethod
    def from_der(cls, der: bytes | None) -> PeerIdentity | None:
        """The identity of a DER certificate (``getpeercert(binary_form=True)``), ``None`` for none."""
        if not der:
            return None
        try:
            with warnings.catch_warnings():
                # cryptography warns (and will later refuse) on RFC 5280 violations such as serial 0; the
                # handshake already succeeded, so the identity is best effort and never breaks a result.
                warnings.simplefilter("ignore")
                return cls.from_certificate(x509.load_der_x509_certificate(der))
        except ValueError:
            return None

    @classmethod
    def from_dict(cls, cert: Mapping[str, Any] | None) -> PeerIdentity | None:
        """The identity of a verified certificate in :meth:`ssl.SSLSocket.getpeercert`'s dictionary form
        (``None`` when empty: the dictionary is only filled for verified certificates)."""
        if not cert:
            return None

        def name(rdns: Any) -> str:
            parts = [
                "+".join(f"{_ATTRIBUTE_NAMES.get(key, key)}={value}" for key, value in rdn)
                for rdn in rdns or ()
            ]
            return ",".join(reversed(parts))  # RFC 4514 lists the last RDN first

        sans = []
        for kind, value in cert.get("subjectAltName", ()):
            if kind == "DNS":
                sans.append(f"DNS:{value}")
            elif kind == "IP Address":
                sans.append(f"IP:{ipaddress.ip_address(value.strip())}")
            elif kind == "email":
                sans.append(f"email:{value}")
            elif kind == "URI":
                sans.append(f"URI:{value}")
        return cls(name(cert.get("subject")), name(cert.get("issuer")), tuple(sans))

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``peer`` object."""
        return {"subject": self.subject, "issuer": self.issuer, "sans": list(self.sans)}


@attrs.frozen
class HandshakeResult:
    """The outcome of one handshake, made by the helpers of this module.

    Attributes:
        ok: the handshake succeeded and every check passed.
        protocol: the protocol negotiated (``TLSv1.3``), ``None`` when the handshake did not get that far.
        cipher: the cipher suite negotiated.
        peer: the peer's certificate identity (the server's for a client, the client's for a server), when
            one was received and the handshake got far enough to see it.
        checks: what was verified (``chain``, ``target-name``, ``crl``).
        error: ``(category, detail)`` on failure.
        mode: ``simple``, ``mutual`` or ``encryption-only``.
        authenticated: the peer was authenticated (client: the server's certificate was verified; server:
            the client's certificate was verified).
        address: the peer's address, ``HOST:PORT``.
        side: ``client`` or ``server``: whose result this is.
        warnings: statements about weakened or ineffective settings (from the connection plan).
    """

    ok: bool
    protocol: str | None
    cipher: str | None
    peer: PeerIdentity | None
    checks: tuple[Check, ...]
    error: tuple[Category, str] | None
    mode: str
    authenticated: bool
    address: str | None
    side: Side = Side.CLIENT
    warnings: tuple[str, ...] = ()

    @property
    def category(self) -> Category | None:
        """The failure category, ``None`` on success."""
        return self.error[0] if self.error else None

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``connect --json`` / ``serve --json`` object, plus ``mode``, ``authenticated``,
        ``address``, ``warning`` (encryption-only) and ``warnings`` (when there are any)."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "protocol": self.protocol,
            "cipher": self.cipher,
            "peer": self.peer.to_dict() if self.peer else None,
            "checks": list(self.checks),
        }
        if self.error is not None:
            out["error"] = {"category": self.error[0].value, "detail": self.error[1]}
        out["mode"] = self.mode
        out["authenticated"] = self.authenticated
        if self.mode == Mode.ENCRYPTION_ONLY.value:
            out["warning"] = NOT_AUTHENTICATED
        if self.address is not None:
            out["address"] = self.address
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


# --------------------------------------------------------------------------------------------- classify

_UNTRUSTED_CODES = frozenset({2, 4, 6, 7, 18, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 34, 37, 41, 55})
_VERIFY_CATEGORY: dict[int, Category] = {
    3: Category.CRL_UNAVAILABLE,  # unable to get certificate CRL
    5: Category.CRL_UNAVAILABLE,  # unable to decrypt CRL's signature
    8: Category.CRL_UNAVAILABLE,  # CRL signature failure
    9: Category.NOT_YET_VALID,
    10: Category.EXPIRED,
    11: Category.CRL_UNAVAILABLE,  # CRL is not yet valid
    12: Category.CRL_EXPIRED,
    15: Category.CRL_UNAVAILABLE,  # format error in CRL's lastUpdate
    16: Category.CRL_UNAVAILABLE,  # format error in CRL's nextUpdate
    23: Category.REVOKED,
    33: Category.CRL_UNAVAILABLE,  # unable to get CRL issuer certificate
    35: Category.CRL_UNAVAILABLE,  # key usage does not include CRL signing
    36: Category.CRL_UNAVAILABLE,  # unhandled critical CRL extension
    44: Category.CRL_UNAVAILABLE,  # different CRL scope
    54: Category.CRL_UNAVAILABLE,  # CRL path validation error
    62: Category.NAME_MISMATCH,  # hostname mismatch
    63: Category.NAME_MISMATCH,  # email address mismatch
    64: Category.NAME_MISMATCH,  # IP address mismatch
}
#: OpenSSL reasons of local or negotiation failures.
_PROTOCOL_REASONS = frozenset({
    "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE",
    "WRONG_VERSION_NUMBER", "VERSION_TOO_LOW", "VERSION_TOO_HIGH", "NO_SUITABLE_SIGNATURE_ALGORITHM",
    "NO_SHARED_GROUPS", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "UNKNOWN_PROTOCOL", "UNEXPECTED_MESSAGE",
    "UNSAFE_LEGACY_RENEGOTIATION_DISABLED", "INAPPROPRIATE_FALLBACK", "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE", "WRONG_SSL_VERSION", "UNSUPPORTED_SSL_VERSION",
})
_CLIENT_CERTIFICATE_REASONS = frozenset({"PEER_DID_NOT_RETURN_A_CERTIFICATE", "TLSV13_ALERT_CERTIFICATE_REQUIRED"})
#: Alerts that say the peer refused our certificate.
_REJECTED_ALERTS: dict[str, Category] = {
    "TLSV1_ALERT_UNKNOWN_CA": Category.UNTRUSTED,
    "SSLV3_ALERT_BAD_CERTIFICATE": Category.UNTRUSTED,
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": Category.UNTRUSTED,
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": Category.UNTRUSTED,
    "TLSV1_ALERT_DECRYPT_ERROR": Category.UNTRUSTED,
    "TLSV1_ALERT_ACCESS_DENIED": Category.UNTRUSTED,
    "SSLV3_ALERT_CERTIFICATE_REVOKED": Category.REVOKED,
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": Category.EXPIRED,
}
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")


def _ssl_text(exc: BaseException) -> str:
    return _SSL_LOCATION.sub("", str(exc)).strip() or type(exc).__name__


def _peer_word(side: Side) -> str:
    return "server" if side is Side.CLIENT else "client"


def classify(exc: BaseException, *, side: Side | str) -> tuple[Category, str]:
    """The contract category and a readable detail of a handshake failure.

    Args:
        exc: what the handshake raised: :class:`ssl.SSLCertVerificationError` (by OpenSSL verify code),
            another :class:`ssl.SSLError` (by reason, including alerts received from the peer), a socket
            error or timeout (``connection``), or a :class:`~genesys_tls.errors.TLSError` (its own category).
        side: ``client`` or ``server``: who saw the error (an alert received by a client means the server
            refused the client's certificate, and the other way round).

    Returns:
        ``(category, detail)``.

    Example:
        >>> classify(ConnectionRefusedError(111, "Connection refused"), side="client")[0].value
        'connection'
    """
    side = Side(side)
    peer = _peer_word(side)
    if isinstance(exc, TLSError):
        return exc.category, exc.detail
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        message = exc.verify_message or _ssl_text(exc)
        category = _VERIFY_CATEGORY.get(code, Category.UNTRUSTED)
        whose = f"the {peer}'s certificate"
        return category, f"{whose} failed verification: {message} (OpenSSL verify error {code})"
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
        return Category.CONNECTION, f"the {peer} closed the connection during the handshake ({_ssl_text(exc)})"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or ""
        text = _ssl_text(exc)
        if reason in _CLIENT_CERTIFICATE_REASONS:
            if side is Side.SERVER:
                return Category.CLIENT_CERTIFICATE_REQUIRED, f"the client presented no certificate ({text})"
            return (
                Category.CLIENT_CERTIFICATE_REQUIRED,
                f"the server requires a client certificate and refused the connection ({text})",
            )
        if reason in _REJECTED_ALERTS:
            return _REJECTED_ALERTS[reason], (
                f"the {peer} refused our certificate (alert {reason}: {text}); the {peer}'s log has the reason"
            )
        if reason in _PROTOCOL_REASONS or "ALERT" in reason:
            return Category.PROTOCOL, f"no common protocol or cipher with the {peer} ({text})"
        return Category.PROTOCOL, f"handshake failed ({text})"
    if isinstance(exc, TimeoutError):
        return Category.CONNECTION, f"timed out ({exc})" if str(exc) else "timed out"
    if isinstance(exc, socket.gaierror):
        return Category.CONNECTION, f"cannot resolve the address ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return Category.CONNECTION, "connection refused (nothing listens there)"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return Category.CONNECTION, f"the {peer} reset the connection during the handshake"
    if isinstance(exc, OSError):
        return Category.CONNECTION, f"connection failed ({exc.strerror or exc})"
    return Category.CONNECTION, f"{type(exc).__name__}: {exc}"


def _refine(category: Category, detail: str, exc: BaseException, plan: ConnectionPlan) -> tuple[Category, str]:
    """TLS 1.2 servers refuse a missing client certificate with a generic handshake_failure alert: when this
    client knows the server is mutual and has no certificate, say so."""
    if (
        isinstance(exc, ssl.SSLError)
        and exc.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"
        and plan.resolved.requires_client_certificate
        and not plan.resolved.has_certificate
    ):
        return Category.CLIENT_CERTIFICATE_REQUIRED, (
            "the server requires a client certificate (tls-mutual=1) and this client has none "
            f"(certificate is not set); {detail}"
        )
    return category, detail


# --------------------------------------------------------------------------------------------- client


def _finish(result: HandshakeResult, check: bool) -> HandshakeResult:
    if check and not result.ok:
        assert result.error is not None  # noqa: S101 - a failed result always has an error
        raise TLSError(result.error[0], result.error[1], result=result)
    return result


def _plan(
    plan_or_resolved: ConnectionPlan | ResolvedSecurity,
    address: str | tuple[str, int] | None,
    options: dict[str, Any],
) -> ConnectionPlan | HandshakeResult:
    """The plan to use, or a failed result when the CRL check refused to build one."""
    if isinstance(plan_or_resolved, ConnectionPlan):
        if address is None:
            return plan_or_resolved
        host, port = parse_address(address)
        return attrs.evolve(plan_or_resolved, dial_host=host, dial_port=port)
    resolved = plan_or_resolved
    try:
        return client_plan(resolved, address=address, **options)
    except TLSError as exc:
        where: str | None
        if address is not None:
            host, port = parse_address(address)
            where = f"{host}:{port}"
        else:
            where = resolved.target.address if resolved.target else None
        return HandshakeResult(
            ok=False, protocol=None, cipher=None, peer=None, checks=resolved.checks,
            error=(exc.category, exc.detail), mode=resolved.mode.value, authenticated=False, address=where,
        )


def _failure(plan: ConnectionPlan, error: tuple[Category, str], **known: Any) -> HandshakeResult:
    fields: dict[str, Any] = {"protocol": None, "cipher": None, "peer": None, **known}
    return HandshakeResult(
        ok=False, checks=plan.checks, error=error, mode=plan.mode.value, authenticated=False,
        address=plan.address, warnings=plan.warnings, **fields,
    )


def _after_handshake(tls: ssl.SSLSocket, wait: float) -> tuple[Category, str] | None:
    """Read briefly after a TLS 1.3 handshake: a refusal of our certificate arrives now."""
    tls.settimeout(wait)
    try:
        tls.recv(1)
    except TimeoutError:
        return None  # the server is waiting for us to speak: accepted
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return None  # the server hung up after the handshake
    except ssl.SSLError as exc:
        return classify(exc, side=Side.CLIENT)
    except ConnectionResetError:
        return Category.CONNECTION, (
            "the server reset the connection right after the handshake (it may have refused our certificate)"
        )
    except OSError:
        return None
    return None


def connect(
    plan_or_resolved: ConnectionPlan | ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    timeout: float = 10.0,
    check: bool = True,
    password: PasswordCallback | None = None,
    password_env: str | None = None,
    crl_check: CRLCheck = "leaf",
    crl_cache: CRLCache | None = None,
) -> HandshakeResult:
    """One blocking TLS client handshake with a connection's effective settings.

    Args:
        plan_or_resolved: a :class:`~genesys_tls.contexts.ConnectionPlan`, or ``resolve_client(...)`` (a
            plan is made with the options below).
        address: ``"HOST:PORT"`` or ``(host, port)`` to dial instead of the configured address; never
            changes the name checked.
        timeout: seconds for the TCP connection and the handshake.
        check: raise :class:`~genesys_tls.errors.TLSError` on failure (``result`` holds the
            :class:`HandshakeResult`); ``False`` returns the failed result.
        password, password_env, crl_check, crl_cache: as :func:`~genesys_tls.contexts.client_context`.

    Returns:
        The result; ``ok`` is true when the handshake succeeded and every check passed.

    Raises:
        ConfigurationError: the settings cannot make a context (whatever ``check`` is).
        TLSError: the handshake or a check failed (only with ``check=True``).
    """
    options = {"password": password, "password_env": password_env, "crl_check": crl_check, "crl_cache": crl_cache}
    planned = _plan(plan_or_resolved, address, options)
    if isinstance(planned, HandshakeResult):
        return _finish(planned, check)
    return _finish(_client_handshake(planned, timeout), check)


def _client_handshake(plan: ConnectionPlan, timeout: float) -> HandshakeResult:
    try:
        sock = socket.create_connection((plan.dial_host, plan.dial_port), timeout=timeout)
    except OSError as exc:
        category, detail = classify(exc, side=Side.CLIENT)
        return _failure(plan, (category, f"{plan.address}: {detail}"))
    with sock:
        _no_delay(sock)
        try:
            tls = plan.context.wrap_socket(
                sock, server_hostname=plan.server_hostname, do_handshake_on_connect=False
            )
        except ValueError as exc:  # a name Python refuses as server_hostname
            raise _bad_name(plan, exc) from None
        with tls:
            try:
                tls.do_handshake()
            except OSError as exc:
                category, detail = classify(exc, side=Side.CLIENT)
                return _failure(plan, _refine(category, detail, exc, plan))
            protocol, cipher = tls.version(), _cipher_name(tls.cipher())
            peer = PeerIdentity.from_der(tls.getpeercert(binary_form=True))
            if protocol == "TLSv1.3":
                refused = _after_handshake(tls, min(POST_HANDSHAKE_WAIT, timeout))
                if refused is not None:
                    return _failure(plan, refused, protocol=protocol, cipher=cipher, peer=peer)
    return HandshakeResult(
        ok=True, protocol=protocol, cipher=cipher, peer=peer, checks=plan.checks, error=None,
        mode=plan.mode.value, authenticated=plan.authenticated, address=plan.address, warnings=plan.warnings,
    )


def _bad_name(plan: ConnectionPlan, exc: ValueError) -> ConfigurationError:
    option = "tls-target-name" if plan.resolved.expected_name_option == "tls-target-name" else None
    return ConfigurationError(
        f"the expected name {plan.server_hostname!r} cannot be used as a TLS server name ({exc})",
        file=plan.resolved.file,
        object=plan.resolved.object,
        option=option,
        value=plan.server_hostname,
    )


def _no_delay(sock: socket.socket) -> None:
    # Handshake messages are small writes: without TCP_NODELAY, Nagle's algorithm and delayed ACKs add
    # ~40 ms to each handshake.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _cipher_name(cipher: tuple[str, str, int] | None) -> str | None:
    return cipher[0] if cipher else None


async def connect_async(
    plan_or_resolved: ConnectionPlan | ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    timeout: float = 10.0,
    check: bool = True,
    password: PasswordCallback | None = None,
    password_env: str | None = None,
    crl_check: CRLCheck = "leaf",
    crl_cache: CRLCache | None = None,
) -> HandshakeResult:
    """:func:`connect` on asyncio streams (same arguments, same result and errors).

    The context is built synchronously (file reads); the connection and the handshake do not block the loop.
    """
    options = {"password": password, "password_env": password_env, "crl_check": crl_check, "crl_cache": crl_cache}
    planned = _plan(plan_or_resolved, address, options)
    if isinstance(planned, HandshakeResult):
        return _finish(planned, check)
    plan = planned
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                plan.dial_host,
                plan.dial_port,
                ssl=plan.context,
                server_hostname=plan.server_hostname or "",
                ssl_handshake_timeout=timeout,
            ),
            timeout,
        )
    except OSError as exc:
        category, detail = classify(exc, side=Side.CLIENT)
        if category is Category.CONNECTION and not isinstance(exc, ssl.SSLError):
            detail = f"{plan.address}: {detail}"
        return _finish(_failure(plan, _refine(category, detail, exc, plan)), check)
    except ValueError as exc:  # a name Python refuses as server_hostname
        raise _bad_name(plan, exc) from None
    try:
        tls = writer.get_extra_info("ssl_object")
        # What the handshake negotiated, recorded by asyncio when it completed: by now a TLS 1.3 refusal of
        # our certificate may already have shut the TLS object down.
        negotiated = writer.get_extra_info("cipher")
        cipher = _cipher_name(negotiated)
        protocol = tls.version() if tls else None
        try:
            peer = PeerIdentity.from_der(tls.getpeercert(binary_form=True)) if tls else None
        except ValueError:
            peer = PeerIdentity.from_dict(writer.get_extra_info("peercert"))
        refused: tuple[Category, str] | None = None
        if protocol is None and cipher is not None and cipher.startswith("TLS_"):
            protocol = "TLSv1.3"  # only TLS 1.3 suites are named TLS_*
        if protocol == "TLSv1.3" or tls is None or tls.version() is None:
            try:
                await asyncio.wait_for(reader.read(1), min(POST_HANDSHAKE_WAIT, timeout))
            except TimeoutError:
                pass
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError, asyncio.IncompleteReadError):
                pass
            except ssl.SSLError as exc:
                refused = classify(exc, side=Side.CLIENT)
            except ConnectionResetError:
                refused = (
                    Category.CONNECTION,
                    "the server reset the connection right after the handshake (it may have refused our "
                    "certificate)",
                )
            except OSError:
                pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), _CLOSE_WAIT)
    if refused is not None:
        return _finish(_failure(plan, refused, protocol=protocol, cipher=cipher, peer=peer), check)
    return HandshakeResult(
        ok=True, protocol=protocol, cipher=cipher, peer=peer, checks=plan.checks, error=None,
        mode=plan.mode.value, authenticated=plan.authenticated, address=plan.address, warnings=plan.warnings,
    )


# --------------------------------------------------------------------------------------------- server


def _format_address(address: tuple[Any, ...]) -> str:
    host, port = str(address[0]), int(address[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Server:
    """A TLS server on one listening port's effective settings, in a background thread.

    It binds when created (so :attr:`address` is known at once and configuration errors are raised in the
    caller's thread), handles each connection in its own thread, and records every handshake, accepted or
    refused, in :attr:`results` (and through ``on_result``). After an accepted handshake it sends
    close_notify and closes: it is a checking tool, not an application server.

    Use it as a context manager (``with Server(...) as server:``) or call :meth:`start` and :meth:`close`;
    :meth:`serve_forever` runs the loop in the calling thread instead.

    Args:
        resolved: ``resolve_server(...)``.
        host: the address to listen on (default loopback).
        port: the TCP port (0: an ephemeral port, see :attr:`address`).
        count: stop after this many connections (each gives one result); ``None``: until :meth:`close`.
        on_result: called with each :class:`HandshakeResult`, one call at a time.
        password, password_env, crl_check, crl_cache: as :func:`~genesys_tls.contexts.server_context`.
        timeout: seconds a client has to complete its handshake.

    Attributes:
        resolved: the settings served.
        context: the server context.
        warnings: statements about weakened or ineffective settings (also in every result).
        checks: what is verified of clients (``chain``, ``crl``; nothing unless mutual).
        results: every handshake so far, in the order they finished.

    Raises:
        ConfigurationError: the settings cannot make a server context.
        TLSError: the ``tls-crl`` file cannot be trusted or has expired.
        OSError: the address cannot be bound.
    """

    def __init__(
        self,
        resolved: ResolvedSecurity,
        *,
        host: str = _LOOPBACK,
        port: int = 0,
        count: int | None = None,
        on_result: Callable[[HandshakeResult], object] | None = None,
        password: PasswordCallback | None = None,
        password_env: str | None = None,
        crl_check: CRLCheck = "leaf",
        crl_cache: CRLCache | None = None,
        timeout: float = 10.0,
    ) -> None:
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        self.resolved = resolved
        self.context, self.warnings, self.checks = _build_server_with_notes(
            resolved, password=password, password_env=password_env, crl_check=crl_check, crl_cache=crl_cache
        )
        self.count = count
        self.on_result = on_result
        self.timeout = timeout
        self.results: list[HandshakeResult] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._accepted = 0
        self._handlers: list[threading.Thread] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family)
        self._listener.settimeout(0.05)
        name = self._listener.getsockname()
        self._address = (str(name[0]), int(name[1]))

    def __repr__(self) -> str:
        return f"<Server {self.resolved.object} at {_format_address(self.address)} results={len(self.results)}>"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` where it listens."""
        return self._address

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Serve in a background (daemon) thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"genesys-tls {self.resolved.object}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(BaseException):
            self.serve_forever()

    def serve_forever(self) -> None:
        """Accept connections until :attr:`count` is reached or :meth:`close` is called; wait for the
        handshakes under way. Raises what an ``on_result`` callback raised."""
        try:
            while not self._stop.is_set() and (self.count is None or self._accepted < self.count):
                try:
                    conn, peer = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stop.is_set():
                        break
                    raise
                self._accepted += 1
                handler = threading.Thread(target=self._handle, args=(conn, peer), daemon=True)
                self._handlers.append(handler)
                handler.start()
            for handler in self._handlers:
                handler.join()
        finally:
            self._finished.set()
            with self._lock:
                self._lock.notify_all()
        if self._error is not None:
            raise self._error

    def wait(self, count: int | None = None, timeout: float = 10.0) -> bool:
        """Wait until ``count`` results (default: :attr:`count`, else the server's end) are recorded.

        Returns:
            whether they were, before ``timeout`` seconds.
        """
        target = count if count is not None else self.count
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if target is not None and len(self.results) >= target:
                    return True
                if self._finished.is_set():
                    return target is None or len(self.results) >= target
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)

    def close(self) -> None:
        """Stop accepting, wait for the handshakes under way, and release the port."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)
        self._listener.close()

    def _record(self, result: HandshakeResult) -> None:
        with self._lock:
            self.results.append(result)
            if self.on_result is not None and self._error is None:
                try:
                    self.on_result(result)
                except BaseException as exc:  # reported by serve_forever in the serving thread
                    self._error = exc
                    self._stop.set()
            self._lock.notify_all()

    def _handle(self, conn: socket.socket, peer: tuple[Any, ...]) -> None:
        where = _format_address(peer)
        base: dict[str, Any] = {
            "checks": self.checks, "mode": self.resolved.mode.value, "address": where, "side": Side.SERVER,
            "warnings": self.warnings,
        }
        with conn:
            conn.settimeout(self.timeout)
            _no_delay(conn)
            try:
                tls = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            except OSError as exc:
                self._record(HandshakeResult(
                    ok=False, protocol=None, cipher=None, peer=None, error=classify(exc, side=Side.SERVER),
                    authenticated=False, **base,
                ))
                return
            with tls:
                try:
                    tls.do_handshake()
                except OSError as exc:
                    self._record(HandshakeResult(
                        ok=False, protocol=None, cipher=None, peer=None, error=classify(exc, side=Side.SERVER),
                        authenticated=False, **base,
                    ))
                    return
                peer_id = PeerIdentity.from_der(tls.getpeercert(binary_form=True))
                self._record(HandshakeResult(
                    ok=True, protocol=tls.version(), cipher=_cipher_name(tls.cipher()), peer=peer_id, error=None,
                    authenticated=self.resolved.mode is Mode.MUTUAL and peer_id is not None, **base,
                ))
                with contextlib.suppress(OSError, ValueError):
                    tls.settimeout(_CLOSE_WAIT)
                    tls.unwrap()


def serve(
    resolved: ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    count: int | None = None,
    on_result: Callable[[HandshakeResult], object] | None = None,
    on_listening: Callable[[Server], object] | None = None,
    password: PasswordCallback | None = None,
    password_env: str | None = None,
    crl_check: CRLCheck = "leaf",
    crl_cache: CRLCache | None = None,
    timeout: float = 10.0,
) -> list[HandshakeResult]:
    """Serve one listening port in the calling thread (what ``genesys-tls serve`` runs).

    Args:
        resolved: ``resolve_server(...)``.
        address: ``"HOST:PORT"`` or ``(host, port)`` to listen on; default ``127.0.0.1`` on an ephemeral
            port (port 0).
        count: stop after this many handshakes; ``None``: until interrupted.
        on_result: called with each result as it happens.
        on_listening: called once with the :class:`Server` when it listens (its :attr:`~Server.address`,
            :attr:`~Server.warnings`...).
        password, password_env, crl_check, crl_cache, timeout: as :class:`Server`.

    Returns:
        Every result, in the order they finished.

    Raises:
        ConfigurationError, TLSError, OSError: as :class:`Server`; KeyboardInterrupt passes through after the
        port is closed.
    """
    host, port = parse_address(address) if address is not None else (_LOOPBACK, 0)
    server = Server(
        resolved, host=host, port=port, count=count, on_result=on_result, password=password,
        password_env=password_env, crl_check=crl_check, crl_cache=crl_cache, timeout=timeout,
    )
    try:
        if on_listening is not None:
            on_listening(server)
        server.serve_forever()
    finally:
        server.close()
    return list(server.results)
