"""Target-name matching: ``tls-target-name-check=host`` on a :mod:`cryptography` certificate.

A Genesys client with ``tls-target-name-check=host`` checks the server certificate against the expected name
(``tls-target-name``, else the target host). :mod:`genesys_tls.contexts` has OpenSSL make that check during
the handshake (``check_hostname=True``); this module answers the same question without a connection, for lint,
the CLI and readable error details, and gives the same answer as Python's :mod:`ssl` on OpenSSL 3
(``check_hostname=True``, ``hostname_checks_common_name=True``, ``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS``):

* The name goes through what :mod:`ssl` does to ``server_hostname`` first: the ``idna`` codec (so
  ``bücher.example`` is checked as ``xn--bcher-kva.example``); an empty name, a leading dot, an empty label, a
  NUL or (for a DNS name) more than 255 characters never match, since :mod:`ssl` refuses to connect with them.
* A name that OpenSSL reads as an IP address (``a2i_IPADDRESS``: ``10.0.0.5``, ``::1``, and also the
  lenient ``sscanf`` forms ``010.0.0.5`` or ``10.0.0.5 `` that mean ``10.0.0.5``) matches only an iPAddress
  SAN with the same bytes: never a dNSName SAN, never the subject CN; an IPv4 name never matches an IPv6 SAN.
* Any other name is a DNS name. It matches a dNSName SAN equal to it ignoring ASCII case; trailing dots are
  not ignored (``example.com.`` matches only ``example.com.``). A SAN ``*.example.com`` matches one whole
  left-most label made of letters, digits and hyphens (an A-label such as ``xn--bcher-kva`` counts), not
  ``example.com`` nor ``a.b.example.com``. A ``*`` that is not the whole left-most label (``f*.example.com``),
  a second ``*``, a pattern with fewer than three labels (``*.com``), a trailing dot, an empty label, a label
  that starts or ends with ``-`` or any other character (``_``) is not a wildcard: the SAN then only matches
  the same text.
* The subject CN (every CN attribute) is checked, by the same rules, only when the certificate has no dNSName
  SAN at all; iPAddress or other SANs do not hide it. Genesys accepts such CN-only certificates.
* A certificate whose extensions cryptography cannot parse never matches; the reason says why.

``docs/target-names.md`` lists the rules with examples and the figures of the test that checks them against
real handshakes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import TypeAlias

import attrs
from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["NameMatch", "explain_target_name", "match_target_name"]

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_ALNUM = frozenset(_ASCII_UPPER + _ASCII_LOWER + _DIGITS)
#: Characters the label matched by ``*`` may hold (OpenSSL ``wildcard_match``).
_WILDCARD_LABEL = _ALNUM | {"-"}
_HEX = frozenset(_DIGITS + "abcdefABCDEF")
#: ASCII-only case folding, as OpenSSL's ``equal_nocase`` (``str.lower`` would fold ``\u212a`` to ``k``).
_FOLD = str.maketrans(_ASCII_UPPER, _ASCII_LOWER)
#: ``sscanf(in, "%d.%d.%d.%d%n")`` followed by "end of string or a space" (OpenSSL ``ipv4_from_asc``).
_SCANF_IPV4 = re.compile(
    r"[ \t\n\v\f\r]*([+-]?[0-9]+)\.[ \t\n\v\f\r]*([+-]?[0-9]+)\.[ \t\n\v\f\r]*([+-]?[0-9]+)\."
    r"[ \t\n\v\f\r]*([+-]?[0-9]+)(?:[ \t\n\v\f\r]|\Z)"
)
#: The longest ``server_name`` OpenSSL sends (``TLSEXT_MAXLEN_host_name``); longer names never connect.
_SNI_MAX = 255


@attrs.frozen
class NameMatch:
    """The outcome of a target-name check, with what the certificate presented.

    Returned by :func:`explain_target_name`; users do not build these.

    Attributes:
        matched: whether the certificate is valid for the name.
        expected: the name checked, as given.
        presented: the names the certificate carries, in certificate order: ``DNS:...`` and ``IP:...`` for
            the subjectAltName entries, then ``CN:...`` for the subject common names (listed even when they
            are not used).
        reason: one readable sentence saying why the name matched or not.
    """

    matched: bool
    expected: str
    presented: tuple[str, ...]
    reason: str


#: Builds the :class:`NameMatch` of one call from (matched, reason).
_ResultFn: TypeAlias = Callable[[bool, str], NameMatch]


def match_target_name(cert: x509.Certificate, name: str) -> bool:
    """Whether ``cert`` is valid for ``name`` under ``tls-target-name-check=host``.

    The same answer as the name check of Python's :mod:`ssl` on OpenSSL 3 (see the module docstring).

    Args:
        cert: the server certificate.
        name: the expected name, a DNS name or an IP address literal.

    Returns:
        True when the certificate matches the name. A certificate cryptography cannot parse gives False.

    >>> import datetime
    >>> from cryptography.hazmat.primitives import hashes
    >>> from cryptography.hazmat.primitives.asymmetric import ec
    >>> key = ec.generate_private_key(ec.SECP256R1())
    >>> subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tsrv-host")])
    >>> cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
    ...     .public_key(key.public_key()).serial_number(1)
    ...     .not_valid_before(datetime.datetime(2024, 1, 1)).not_valid_after(datetime.datetime(2034, 1, 1))
    ...     .add_extension(x509.SubjectAlternativeName([x509.DNSName("*.example.com")]), critical=False)
    ...     .sign(key, hashes.SHA256()))
    >>> match_target_name(cert, "TSrv.Example.com"), match_target_name(cert, "a.b.example.com")
    (True, False)
    >>> match_target_name(cert, "tsrv-host")  # the CN is not used: the certificate has a DNS SAN
    False
    """
    return explain_target_name(cert, name).matched


def explain_target_name(cert: x509.Certificate, name: str) -> NameMatch:
    """Check ``name`` against ``cert`` as :func:`match_target_name` does, and say why.

    Args:
        cert: the server certificate.
        name: the expected name, a DNS name or an IP address literal.

    Returns:
        A :class:`NameMatch`; ``reason`` is fit for an error detail or a lint message.
    """
    presented = _presented(cert)

    def result(matched: bool, reason: str) -> NameMatch:
        return NameMatch(matched=matched, expected=name, presented=presented, reason=reason)

    target, problem = _target(name)
    if target is None:
        return result(False, f"{name!r} cannot be checked: {problem}.")

    try:
        san = _san(cert)
    except Exception as exc:  # cryptography raises several types for malformed DER; all mean "no match"
        return result(False, f"the certificate's extensions cannot be parsed ({_describe(exc)}), "
                             f"so {name!r} is not matched.")

    if isinstance(target, bytes):
        return _match_ip(target, name, san, result)
    return _match_dns(target, name, cert, san, result)


# --- the name ---------------------------------------------------------------------------------------------


def _target(name: str) -> tuple[str | bytes | None, str]:
    """The name as :mod:`ssl` checks it: IP address bytes, or the ASCII DNS name; else None and why."""
    # ssl refuses each of these before connecting (the idna codec, then _ssl's own checks).
    if not name:
        return None, "it is empty"
    if "\x00" in name:
        return None, "it contains a NUL character"
    if name.startswith("."):
        return None, "it starts with a dot"
    labels = name.split(".")
    if any(not label for label in labels[:-1]):
        return None, "it has an empty label"
    if any(len(label) > 63 for label in labels):
        return None, "it has a label longer than 63 characters"
    try:
        # What ssl.SSLContext._encode_hostname does to server_hostname.
        encoded = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        return None, f"it is not a valid IDNA host name ({exc.__cause__ or exc})"
    if not encoded or encoded.startswith("."):
        return None, "it is empty or starts with a dot once IDNA-encoded"
    address = _openssl_ip(encoded)
    if address is not None:
        return address, ""
    if len(encoded) > _SNI_MAX:
        return None, f"it is longer than {_SNI_MAX} characters, the most TLS server_name allows"
    return encoded, ""


def _openssl_ip(text: str) -> bytes | None:
    """The address OpenSSL's ``a2i_IPADDRESS`` reads in ``text`` (4 or 16 bytes), or None.

    Python's :mod:`ssl` uses that function to decide whether ``server_hostname`` is an IP address, so its
    leniency is kept: decimal octets with leading zeros, a sign or spaces, and anything after a space.
    """
    if ":" in text:
        return _openssl_ipv6(text)
    return _openssl_ipv4(text)


def _scanf_int(text: str) -> int:
    """The ``int`` glibc's ``%d`` stores for a decimal: clamped to a 64-bit ``long``, then truncated."""
    digits = text.lstrip("+-").lstrip("0")
    negative = text.startswith("-")
    limit = 2**63 if negative else 2**63 - 1
    value = limit if len(digits) > 19 else min(int(digits or "0"), limit)
    value = -value if negative else value
    return (value + 2**31) % 2**32 - 2**31


def _openssl_ipv4(text: str) -> bytes | None:
    found = _SCANF_IPV4.match(text)
    if found is None:
        return None
    octets = [_scanf_int(part) for part in found.groups()]
    if not all(0 <= octet <= 255 for octet in octets):
        return None
    return bytes(octets)


def _openssl_ipv6(text: str) -> bytes | None:
    head = bytearray()
    zero_at = -1
    zeros = 0
    elements = text.split(":")
    for index, element in enumerate(elements):
        if len(head) == 16:
            return None
        if not element:  # part of "::"
            if zero_at == -1:
                zero_at = len(head)
            elif zero_at != len(head):
                return None
            zeros += 1
        elif len(element) > 4:  # the final a.b.c.d
            if len(head) > 12 or index != len(elements) - 1:
                return None
            v4 = _openssl_ipv4(element)
            if v4 is None:
                return None
            head += v4
        else:
            if not set(element) <= _HEX:
                return None
            head += int(element, 16).to_bytes(2, "big")
    if zero_at == -1:
        return bytes(head) if len(head) == 16 else None
    if len(head) == 16 or zeros > 3 or (zeros == 3 and head):
        return None
    at_edge = zero_at in (0, len(head))
    if (zeros == 2 and not at_edge) or (zeros == 1 and at_edge):
        return None
    return bytes(head[:zero_at]) + bytes(16 - len(head)) + bytes(head[zero_at:])


# --- the certificate --------------------------------------------------------------------------------------


def _san(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(extension.value)


def _common_names(cert: x509.Certificate) -> list[str]:
    values = (attribute.value for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    return [value if isinstance(value, str) else value.decode("latin-1") for value in values]


def _presented(cert: x509.Certificate) -> tuple[str, ...]:
    names: list[str] = []
    try:
        for general in _san(cert):
            if isinstance(general, x509.DNSName):
                names.append(f"DNS:{general.value}")
            elif isinstance(general, x509.IPAddress):
                names.append(f"IP:{general.value}")
    except Exception:  # malformed extensions: explain_target_name reports them
        names.append("SAN:<unparseable>")
    try:
        names.extend(f"CN:{cn}" for cn in _common_names(cert))
    except Exception:  # malformed subject: only reported when the CN is needed
        names.append("CN:<unparseable>")
    return tuple(names)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- matching ---------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return text.translate(_FOLD)


def _equal(pattern: str, name: str) -> bool:
    """OpenSSL ``equal_nocase``: same length, equal ignoring ASCII case, no NUL in the pattern."""
    return "\x00" not in pattern and len(pattern) == len(name) and _fold(pattern) == _fold(name)


def _wildcard(pattern: str) -> bool:
    """Whether ``pattern`` is a wildcard OpenSSL honours with ``NO_PARTIAL_WILDCARDS`` (``valid_star``).

    True means: it starts with ``*.``, holds no other ``*``, and the rest is at least two LDH labels that
    neither start nor end with ``-`` and no trailing dot.
    """
    star = -1
    at_label_start = True
    after_hyphen = False
    dots = 0
    for index, char in enumerate(pattern):
        if char == "*":
            at_label_end = index == len(pattern) - 1 or pattern[index + 1] == "."
            # One star only, in the first label, and the whole label (the A-label refusal of OpenSSL
            # cannot arise for a whole-label star: the label holds nothing else).
            if star != -1 or dots or not at_label_start or not at_label_end:
                return False
            star = index
            at_label_start = False
        elif char in _ALNUM:
            at_label_start = False
            after_hyphen = False
        elif char == ".":
            if at_label_start or after_hyphen:
                return False
            at_label_start = True
            dots += 1
        elif char == "-":
            if at_label_start:
                return False
            after_hyphen = True
        else:
            return False
    return star == 0 and not at_label_start and not after_hyphen and dots >= 2


def _dns_matches(pattern: str, name: str) -> tuple[bool, bool]:
    """(matched, by wildcard) for one SAN or CN value against an ASCII DNS name."""
    if not pattern or not _wildcard(pattern):
        return bool(pattern) and _equal(pattern, name), False
    suffix = pattern[1:]  # ".example.com"
    if len(name) <= len(suffix) or not _equal(suffix, name[len(name) - len(suffix):]):
        return False, True
    label = name[: len(name) - len(suffix)]
    return (label == "*" or set(label) <= _WILDCARD_LABEL), True


def _match_ip(
    address: bytes,
    name: str,
    san: list[x509.GeneralName],
    result: _ResultFn,
) -> NameMatch:
    shown = str(ipaddress.ip_address(address))
    what = repr(name) if shown == name else f"{name!r} (IP address {shown})"
    ip_sans = [general.value for general in san if isinstance(general, x509.IPAddress)]
    for value in ip_sans:
        if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address) and value.packed == address:
            return result(True, f"{what} matches the certificate's IP SAN {value}.")
    if ip_sans:
        listed = ", ".join(str(value) for value in ip_sans)
        return result(False, f"{what} is an IP address and none of the certificate's IP SANs ({listed}) "
                             "is that address; DNS SANs and the subject CN are never used for IP addresses.")
    return result(False, f"{what} is an IP address and the certificate has no IP SAN; DNS SANs and the "
                         "subject CN are never used for IP addresses.")


def _match_dns(
    target: str,
    name: str,
    cert: x509.Certificate,
    san: list[x509.GeneralName],
    result: _ResultFn,
) -> NameMatch:
    what = repr(name) if target == name else f"{name!r} (checked as {target!r})"
    dns_sans = [general.value for general in san if isinstance(general, x509.DNSName)]
    if dns_sans:
        for pattern in dns_sans:
            matched, wildcard = _dns_matches(pattern, target)
            if matched:
                kind = "wildcard DNS SAN" if wildcard else "DNS SAN"
                return result(True, f"{what} matches the certificate's {kind} {pattern!r}.")
        listed = ", ".join(repr(pattern) for pattern in dns_sans)
        return result(False, f"{what} matches none of the certificate's DNS SANs ({listed}); the subject CN "
                             "is not checked when a DNS SAN is present.")
    try:
        common_names = _common_names(cert)
    except Exception as exc:  # malformed subject
        return result(False, f"the certificate has no DNS SAN and its subject cannot be parsed "
                             f"({_describe(exc)}), so {name!r} is not matched.")
    for common_name in common_names:
        matched, wildcard = _dns_matches(common_name, target)
        if matched:
            kind = "wildcard subject CN" if wildcard else "subject CN"
            return result(True, f"{what} matches the certificate's {kind} {common_name!r} (the CN is "
                                "checked because the certificate has no DNS SAN).")
    if common_names:
        listed = ", ".join(repr(common_name) for common_name in common_names)
        return result(False, f"the certificate has no DNS SAN and {what} does not match its subject CN "
                             f"({listed}).")
    return result(False, f"the certificate has neither a DNS SAN nor a subject CN, so {what} cannot match.")
