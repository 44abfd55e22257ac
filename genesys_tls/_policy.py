"""Private: protocol and cipher policy: ``sec-protocol`` ranges (catalogue data) as :class:`ssl.TLSVersion`,
``cipher-list`` and the OpenSSL security level. Public names are re-exported by :mod:`genesys_tls.contexts`.
"""

from __future__ import annotations

import ssl
import warnings

from ._keys import _located
from .cache import warn
from .catalogue import ProtocolVersion, protocol_range
from .errors import ConfigurationError, InsecureConfigurationWarning, LegacyProtocolWarning
from .resolved import ResolvedSecurity

__all__ = ["check_cipher_list", "protocol_bounds"]

#: Python's own security level (``ssl.SSLContext`` sets ``@SECLEVEL=2``), kept when ``cipher-list`` is set.
_SECLEVEL = 2
#: Ciphers for TLS 1.0/1.1 when ``cipher-list`` is not set: Python's old default, which keeps the SHA-1
#: MAC suites those versions need (Python's current default removes them).
_LEGACY_CIPHERS = "DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK"

#: The one place protocol versions become :class:`ssl.TLSVersion` (the ranges are catalogue data).
_TLS_VERSIONS: dict[ProtocolVersion, ssl.TLSVersion] = {
    (1, 0): ssl.TLSVersion.TLSv1,
    (1, 1): ssl.TLSVersion.TLSv1_1,
    (1, 2): ssl.TLSVersion.TLSv1_2,
    (1, 3): ssl.TLSVersion.TLSv1_3,
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
    minimum, maximum = protocol_range(sec_protocol_canonical, legacy=legacy)
    if minimum < (1, 1):
        warn(
            "sec-protocol=TLSv1: TLS 1.0 is allowed as the floor because legacy protocols were opted into; "
            "OpenSSL security level 0 is used so that TLS 1.0 can be negotiated at all",
            LegacyProtocolWarning,
            stacklevel=2,
        )
    return _TLS_VERSIONS[minimum], _TLS_VERSIONS[maximum] if maximum is not None else None


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


def _apply_protocols(ctx: ssl.SSLContext, resolved: ResolvedSecurity) -> list[str]:
    """``sec-protocol`` and ``cipher-list`` (they interact through the security level); returns warnings."""
    notes: list[str] = []
    sec_protocol = resolved.sec_protocol
    try:
        minimum, maximum = protocol_bounds(sec_protocol, legacy=resolved.legacy_protocols)
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
            f"sec-protocol={sec_protocol}: {version} is deprecated (RFC 8996); OpenSSL security level 0 is "
            "used because OpenSSL 3 refuses TLS 1.0/1.1 at level 1 and above (weak keys and SHA-1 are then "
            "accepted too)"
        )
        if maximum is not None:  # TLSv1 already warned in protocol_bounds
            warn(text, LegacyProtocolWarning, stacklevel=4)
        notes.append(text)
    ciphers = resolved.cipher_list
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
            warn(text, InsecureConfigurationWarning, stacklevel=4)
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
            f"sec-protocol={sec_protocol} allows TLS 1.1, but OpenSSL 3 refuses TLS 1.1 at security level "
            f"{ctx.security_level}: the effective floor is TLS 1.2 (write @SECLEVEL=0 in cipher-list to accept "
            "TLS 1.1 peers, which weakens every connection)"
        )
    return notes


