"""OpenSSL's errors -> the failure categories of the contract: :func:`classify` (verify codes, reasons, alerts
received from the peer, socket errors). Private: use :func:`genesys_tls.classify` or
:func:`genesys_tls.handshake.classify`.
"""

from __future__ import annotations

import re
import socket
import ssl

from .catalogue import Side
from .errors import Category, TLSError

__all__ = ["classify"]

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
