"""Results of handshakes: :class:`HandshakeResult`, the one result type of every client and server of the
package, and :class:`PeerIdentity`, who the peer's certificate says it is. Imports neither ``ssl`` nor
``socket`` (certificates are read with :mod:`cryptography`).
"""

from __future__ import annotations

import functools
import ipaddress
import time
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .catalogue import Side
from .errors import Category
from .resolved import NOT_AUTHENTICATED, Check, Mode, PortMode

__all__ = ["CertificateDetails", "HandshakeRecord", "HandshakeResult", "PeerIdentity"]

#: ``getpeercert()`` attribute names -> RFC 4514 short names.
_ATTRIBUTE_NAMES = {
    "commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
    "localityName": "L", "stateOrProvinceName": "ST", "domainComponent": "DC", "streetAddress": "STREET",
    "userId": "UID",
}


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
        """The identity of a DER certificate (``getpeercert(binary_form=True)``), ``None`` for none.

        A certificate seen again (the same peer on every connection) is not parsed again.
        """
        if not der:
            return None
        if cls is PeerIdentity:
            return _identity_of_der(der)
        return cls._parse_der(der)

    @classmethod
    def _parse_der(cls, der: bytes) -> PeerIdentity | None:
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


def _fingerprint(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    return cert.fingerprint(algorithm).hex(":").upper()


def _utc_text(when: Any) -> str:
    return str(when.strftime("%Y-%m-%dT%H:%M:%SZ"))


@attrs.frozen
class CertificateDetails:
    """One certificate of the chain a peer sent, as ``connect --show-certs`` shows it.

    Attributes:
        subject: the subject, RFC 4514.
        issuer: the issuer, RFC 4514.
        sans: the subjectAltName entries, as in :class:`PeerIdentity`.
        serial: the serial number, upper-case hexadecimal.
        not_before: start of validity, ISO 8601 UTC (``2026-01-31T12:00:00Z``).
        not_after: end of validity, ISO 8601 UTC.
        sha256: the SHA-256 fingerprint of the DER certificate, ``AB:CD:...`` (as ``openssl x509
            -fingerprint -sha256`` prints it).
        sha1: the SHA-1 fingerprint (what Windows calls the thumbprint, without the colons).
        ca: whether basicConstraints says it is a CA.
        pem: the certificate, PEM.
    """

    subject: str
    issuer: str
    sans: tuple[str, ...]
    serial: str
    not_before: str
    not_after: str
    sha256: str
    sha1: str
    ca: bool
    pem: str = attrs.field(repr=False)

    @classmethod
    def from_der(cls, der: bytes) -> CertificateDetails | None:
        """The details of a DER certificate (``None`` when it cannot be parsed)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # RFC 5280 violations: the details are best effort
                cert = x509.load_der_x509_certificate(der)
                identity = PeerIdentity.from_certificate(cert)
                try:
                    ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
                except (x509.ExtensionNotFound, ValueError):
                    ca = False
                return cls(
                    subject=identity.subject,
                    issuer=identity.issuer,
                    sans=identity.sans,
                    serial=format(cert.serial_number, "X"),
                    not_before=_utc_text(cert.not_valid_before_utc),
                    not_after=_utc_text(cert.not_valid_after_utc),
                    sha256=_fingerprint(cert, hashes.SHA256()),
                    sha1=_fingerprint(cert, hashes.SHA1()),  # noqa: S303 - an identifier, not a signature
                    ca=ca,
                    pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                )
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """One member of ``connect --json --show-certs``'s ``chain``."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "sans": list(self.sans),
            "serial": self.serial,
            "not-before": self.not_before,
            "not-after": self.not_after,
            "sha256": self.sha256,
            "sha1": self.sha1,
            "ca": self.ca,
            "pem": self.pem,
        }


class LazyPeerIdentity(PeerIdentity):
    """A :class:`PeerIdentity` read from its DER certificate the first time one of its fields is looked at.

    The server core records every client certificate; most records are never read, so the certificate is
    parsed (with :meth:`PeerIdentity.from_der`) only when asked for. It compares, hashes and prints as the
    :class:`PeerIdentity` it stands for (a certificate that cannot be parsed reads as empty fields).
    """

    __slots__ = ("_der", "_read")
    _der: bytes
    _read: PeerIdentity | None

    def __init__(self, der: bytes) -> None:
        object.__setattr__(self, "_der", der)
        object.__setattr__(self, "_read", None)

    def identity(self) -> PeerIdentity:
        """The parsed identity (parsed once)."""
        read = self._read
        if read is None:
            read = PeerIdentity.from_der(self._der) or PeerIdentity("", "")
            object.__setattr__(self, "_read", read)
        return read

    @property
    def subject(self) -> str:
        """The subject, RFC 4514 (parsed on first use)."""
        return self.identity().subject

    @property
    def issuer(self) -> str:
        """The issuer, RFC 4514 (parsed on first use)."""
        return self.identity().issuer

    @property
    def sans(self) -> tuple[str, ...]:
        """The subjectAltName entries (parsed on first use)."""
        return self.identity().sans

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PeerIdentity):
            return (self.subject, self.issuer, self.sans) == (other.subject, other.issuer, other.sans)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.identity())

    def __repr__(self) -> str:
        return repr(self.identity())


@attrs.frozen
class HandshakeResult:
    """The outcome of one handshake: the one result type of the clients, the server core, the simulated
    servers and ``serve``.

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
        tls: server records: the connection used TLS (``None`` where not recorded).
        port_mode: server records: the mode of the port it arrived on (``None`` where not recorded).
        generation: server records: the number of the settings generation that served it.
        chain: the certificates the peer sent, its own first, as it sent them (not verified: also after a
            refused handshake); ``None`` unless asked for (``connect(..., chain=True)``, ``connect
            --show-certs``).
        at: ``time.monotonic()`` when it was made.
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
    tls: bool | None = None
    port_mode: PortMode | None = None
    generation: int | None = None
    chain: tuple[CertificateDetails, ...] | None = attrs.field(default=None, repr=False)
    at: float = attrs.field(factory=time.monotonic, eq=False, repr=False)

    @property
    def category(self) -> Category | None:
        """The failure category, ``None`` on success."""
        return self.error[0] if self.error else None

    @property
    def accepted(self) -> bool:
        """A server's word for :attr:`ok`."""
        return self.ok

    @property
    def detail(self) -> str:
        """The readable account of the failure (empty on success)."""
        return self.error[1] if self.error else ""

    @property
    def client(self) -> str | None:
        """A server's word for :attr:`address`: the client's ``HOST:PORT``."""
        return self.address

    @property
    def outcome(self) -> str:
        """``ok`` or the failure's category, as the demo prints it."""
        return "ok" if self.error is None else self.error[0].value

    def to_result(self) -> HandshakeResult:
        """The same without the server-record fields (``tls``, ``port_mode``): the ``serve --json`` shape."""
        return attrs.evolve(self, tls=None, port_mode=None)

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``connect --json`` / ``serve --json`` object, plus ``mode``, ``authenticated``,
        ``address``, ``warning`` (encryption-only), ``warnings`` (when there are any), ``tls`` and
        ``port-mode`` for the records of a simulated server, ``chain`` when it was asked for, and
        ``generation`` (the settings generation that served it) for server records."""
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
        if self.port_mode is not None:
            out["tls"] = bool(self.tls)
            out["port-mode"] = self.port_mode.value
        if self.chain is not None:
            out["chain"] = [c.to_dict() for c in self.chain]
        if self.side is Side.SERVER and self.generation is not None:
            out["generation"] = self.generation
        return out


def HandshakeRecord(
    *,
    accepted: bool,
    tls: bool,
    port_mode: PortMode,
    protocol: str | None = None,
    cipher: str | None = None,
    peer: PeerIdentity | None = None,
    category: Category | None = None,
    detail: str = "",
    client: str | None = None,
    authenticated: bool = False,
    checks: tuple[Check, ...] = (),
    mode: str = Mode.PLAIN.value,
    warnings: tuple[str, ...] = (),
    generation: int | None = None,
) -> HandshakeResult:
    """A server-side :class:`HandshakeResult` in the words of a server's record (``accepted``,
    ``category`` + ``detail``, ``client``)."""
    return HandshakeResult(
        ok=accepted, protocol=protocol, cipher=cipher, peer=peer, checks=checks,
        error=(category, detail) if category is not None else None, mode=mode, authenticated=authenticated,
        address=client, side=Side.SERVER, warnings=warnings, tls=tls, port_mode=port_mode, generation=generation,
    )


@functools.lru_cache(maxsize=1024)
def _identity_of_der(der: bytes) -> PeerIdentity | None:
    """:meth:`PeerIdentity.from_der`, once per certificate (identities are immutable)."""
    return PeerIdentity._parse_der(der)
