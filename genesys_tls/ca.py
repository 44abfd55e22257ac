"""A certificate authority for tests on ``cryptography`` (a trustme-like API): root CAs, intermediates,
server and client leaves (SAN or CN-only, any validity window), revocation and CRLs, PEM files.

For test harnesses, not for production: keys are made in memory, certificates are short and plain (subject
CN only, SHA-256 signatures). The Genesys scaffolding on top of it (a whole PKI folder and its environment
file) is :mod:`genesys_tls.pki`, which also re-exports every public name of this module.

Example::

    from genesys_tls.pki import CertificateAuthority

    ca = CertificateAuthority.create("Test CA")
    server = ca.issue_server(["tsrv-host", "127.0.0.1"])
    cert_path, key_path = server.write(tmp_path, "tsrv-host")   # tsrv-host.pem, tsrv-host.key (0o600)
    ca.revoke(server)
    crl_pem = ca.crl()

Private keys and passwords never appear in a ``repr``, a log or an exception message.

Size: over 600 lines because :class:`CertificateAuthority` is one class whose issuing, revocation and CRL
methods share its private builders; the Genesys scaffolding lives apart in :mod:`genesys_tls.pki`.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias, TypedDict, Unpack

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ._keywords import check_keywords
from .errors import ConfigurationError

if TYPE_CHECKING:  # only for the configure_* helpers' annotations; this module does not load ssl
    import ssl

__all__ = [
    "SUBJECT_NAME_OVERRIDES", "CertificateAuthority", "Issued", "KeyFormat", "KeyType", "LeafOptions", "PrivateKey",
    "subject_name",
]

#: A private key the generator makes: EC P-256 or RSA.
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

class LeafOptions(TypedDict, total=False):
    """The keyword options :meth:`CertificateAuthority.issue_server` and
    :meth:`CertificateAuthority.issue_client` pass to :meth:`CertificateAuthority.issue` (meanings there)."""

    common_name: str | None
    cn_only: bool
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    key_type: KeyType | str | None
    key: PrivateKey | None
    subject: str | x509.Name | None
    emails: Sequence[str]


#: How :meth:`Issued.key_pem` encodes a key: PKCS#8, or the "traditional" OpenSSL form (PKCS#1 for RSA,
#: SEC1 for EC).
KeyFormat = Literal["pkcs8", "traditional"]

#: The host names :func:`build_pki` uses when none are given.
DEFAULT_NAMES: tuple[str, ...] = ("tsrv-host", "client-host")

_BACKDATE = dt.timedelta(hours=1)  # default notBefore / lastUpdate: an hour ago, for clock skew
_CA_LIFETIME = dt.timedelta(days=3650)
_LEAF_LIFETIME = dt.timedelta(days=365)
_CRL_LIFETIME = dt.timedelta(days=90)  # beyond lint's 30-day expiry window: a fresh PKI passes the gate
_MAX_CN = 64  # RFC 5280 upper bound of commonName

_DNS_NAME = re.compile(r"^[A-Za-z0-9*_.-]+$")
_DNS_NAME_FORM = "a DNS name (ASCII letters, digits, '-', '_', '.' and '*' wildcards) or an IP address"
_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$")
_HOST_NAME_FORM = (
    "a comma-separated list of distinct host names, each of letters, digits, '.', '-' and '_', starting "
    "and ending with a letter or digit, at most 64 characters, such as 'tsrv-host,client-host'"
)
_STEM = re.compile(r"^[A-Za-z0-9_.-]+$")

# File stems build_pki writes besides one per host name: a host may not take one of them.
_RESERVED_STEMS = frozenset(
    {"ca", "other-ca", "expired", "not-yet-valid", "wrong-name", "wrong-issuer", "revoked", "cn-only"}
)
_ENVIRONMENT_FILE = "environment.yaml"


class KeyType(enum.StrEnum):
    """The key algorithms the generator makes."""

    EC = "ec"  #: EC on NIST P-256 (secp256r1), the default: fast to make and to use
    RSA = "rsa"  #: RSA 2048
    RSA3072 = "rsa3072"  #: RSA 3072

    @classmethod
    def parse(cls, value: KeyType | str) -> KeyType:
        """``value`` as a :class:`KeyType`.

        Raises:
            ConfigurationError: not a known key type (the message lists the valid ones).
        """
        try:
            return cls(value)
        except ValueError:
            raise ConfigurationError(
                "unknown key type", option="key-type", value=str(value), valid=tuple(k.value for k in cls)
            ) from None

    @classmethod
    def of(cls, key: PrivateKey) -> KeyType:
        """The key type of an existing key.

        Raises:
            ConfigurationError: the key is neither EC P-256 nor RSA 2048/3072.
        """
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            return cls.EC
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size in (2048, 3072):
            return cls.RSA if key.key_size == 2048 else cls.RSA3072
        raise ConfigurationError(
            "unsupported private key (the test PKI makes EC P-256 and RSA 2048/3072 keys)",
            valid=tuple(k.value for k in cls),
        )


# --- the two primitive operations, kept in one place each (benchmarks/bench_pki.py counts them) ---------


def _new_key(key_type: KeyType) -> PrivateKey:
    """Generate a fresh private key of ``key_type``."""
    if key_type is KeyType.EC:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=3072 if key_type is KeyType.RSA3072 else 2048)


def _sign_certificate(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    """Sign a certificate with SHA-256 (ECDSA, or RSA PKCS#1 v1.5)."""
    return builder.sign(key, hashes.SHA256())


def _sign_crl(builder: x509.CertificateRevocationListBuilder, key: PrivateKey) -> x509.CertificateRevocationList:
    """Sign a CRL with SHA-256."""
    return builder.sign(key, hashes.SHA256())


# --- small helpers --------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _utc(value: dt.datetime | None, default: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime (naive values are read as UTC), or ``default``."""
    if value is None:
        return default
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _window(
    not_before: dt.datetime | None, not_after: dt.datetime | None, lifetime: dt.timedelta
) -> tuple[dt.datetime, dt.datetime]:
    """The validity window: the bounds given; by default from an hour ago to ``lifetime`` after the start."""
    start = _utc(not_before, _now() - _BACKDATE)
    end = _utc(not_after, start + lifetime)
    if end <= start:
        raise ConfigurationError(
            "not_after must be later than not_before",
            option="not_after",
            value=end.isoformat(),
            valid=f"a time after {start.isoformat()}",
        )
    return start, end


def _subject(common_name: str | None) -> x509.Name:
    if common_name is None:
        return x509.Name([])
    if not common_name or len(common_name) > _MAX_CN:
        raise ConfigurationError(
            "the common name must be 1 to 64 characters long",
            option="common_name",
            value=common_name,
            valid="1 to 64 characters",
        )
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


#: RFC 4514 short names :func:`subject_name` accepts beyond cryptography's own (``E`` is Windows' name for
#: emailAddress, as certificate dialogs and the SIP Endpoint's ``subject_criteria`` write it).
SUBJECT_NAME_OVERRIDES: Mapping[str, x509.ObjectIdentifier] = {
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
}


def subject_name(subject: str | x509.Name) -> x509.Name:
    """A subject from an RFC 4514 string, most specific attribute first as Windows shows it
    (``E=a@example.com,CN=Agent,OU=Sales,DC=example,DC=com``), any attribute repeated; ``E`` is emailAddress.

    Raises:
        ConfigurationError: the string is not an RFC 4514 distinguished name.
    """
    if isinstance(subject, x509.Name):
        return subject
    try:
        name = x509.Name.from_rfc4514_string(subject, dict(SUBJECT_NAME_OVERRIDES))
    except ValueError as exc:
        raise ConfigurationError(
            f"not an RFC 4514 distinguished name ({exc})", option="subject", value=subject,
            valid="attribute=value pairs joined by ',' such as 'E=a@example.com,CN=Agent,OU=Sales,DC=example'",
        ) from None
    if not name.rdns:
        raise ConfigurationError("the subject is empty", option="subject", value=subject, valid="one attribute or more")
    return name


def _general_name(name: str) -> x509.GeneralName:
    """A SAN entry: ``IPAddress`` when ``name`` parses as an IP address, ``DNSName`` otherwise."""
    if not isinstance(name, str):  # ipaddress would read an int as an address
        raise ConfigurationError("a name must be a string", option="names", value=repr(name), valid=_DNS_NAME_FORM)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        if not _DNS_NAME.match(name):
            raise ConfigurationError(
                "not a DNS name or an IP address", option="names", value=name, valid=_DNS_NAME_FORM
            ) from None
        return x509.DNSName(name)
    return x509.IPAddress(address)


def _name_list(names: str | Iterable[str]) -> list[str]:
    listed = [names] if isinstance(names, str) else list(names)
    if not listed:
        raise ConfigurationError("a certificate needs at least one name", option="names", valid=_DNS_NAME_FORM)
    return listed


def _key_for(key: PrivateKey | None, key_type: KeyType | str | None, default: KeyType) -> tuple[PrivateKey, KeyType]:
    """The key to certify: ``key`` when given (reused), else a new one of ``key_type`` or ``default``."""
    if key is not None:
        actual = KeyType.of(key)
        if key_type is not None and KeyType.parse(key_type) is not actual:
            raise ConfigurationError(
                "key_type does not match the key given", option="key_type", value=str(key_type), valid=actual
            )
        return key, actual
    kind = default if key_type is None else KeyType.parse(key_type)
    return _new_key(kind), kind


def _key_pem(key: PrivateKey, password: bytes | None, format: KeyFormat) -> bytes:
    if format == "pkcs8":
        private_format = serialization.PrivateFormat.PKCS8
    elif format == "traditional":
        private_format = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        raise ConfigurationError(
            "unknown private key format", option="format", value=str(format), valid=("pkcs8", "traditional")
        )
    encryption: serialization.KeySerializationEncryption
    if password is None:
        encryption = serialization.NoEncryption()
    elif not isinstance(password, bytes):
        raise TypeError("the key password must be bytes")  # never echo the value
    elif not password:
        raise ConfigurationError(
            "the key password is empty", option="password", valid="one or more bytes, or None for no password"
        )
    else:
        encryption = serialization.BestAvailableEncryption(password)
    return key.private_bytes(serialization.Encoding.PEM, private_format, encryption)


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file ``path`` created with permission bits ``mode`` (less the umask).

    An existing file is removed first and the new one is opened with ``O_EXCL``: the bytes never land in an
    older file with looser permissions, nor through a symbolic link, and a key is never readable by others,
    not even for a moment. Missing folders are created.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    path.unlink(missing_ok=True)
    try:
        fd = os.open(path, flags, mode)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, mode)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)


def _check_stem(stem: str) -> None:
    if not _STEM.match(stem) or stem in (".", ".."):
        raise ConfigurationError(
            "not a file name stem",
            option="stem",
            value=stem,
            valid="letters, digits, '.', '-' and '_' (no folder separators)",
        )


# --- issued certificates --------------------------------------------------------------------------------


@attrs.frozen
class Issued:
    """A leaf certificate with its private key and the intermediates that issued it.

    Made by :meth:`CertificateAuthority.issue` and friends; do not build it yourself.

    Attributes:
        cert: the leaf certificate.
        private_key: its private key (never shown in the ``repr``).
        chain: the issuing intermediates, nearest first; neither the leaf nor the root.
    """

    cert: x509.Certificate
    private_key: PrivateKey = attrs.field(repr=False, eq=False)
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def key_type(self) -> KeyType:
        """The key algorithm of :attr:`private_key`."""
        return KeyType.of(self.private_key)

    def cert_pem(self) -> bytes:
        """The leaf certificate alone, PEM."""
        return _cert_pem(self.cert)

    def chain_pem(self) -> bytes:
        """The leaf then its intermediates, PEM: what a server or client sends (``certificate`` file)."""
        return b"".join(_cert_pem(c) for c in (self.cert, *self.chain))

    def key_pem(self, password: bytes | None = None, format: KeyFormat = "pkcs8") -> bytes:
        """The private key, PEM.

        Args:
            password: encrypt the key with it (the best available cipher of ``cryptography``); ``None``
                writes it in clear.
            format: ``"pkcs8"`` (``BEGIN PRIVATE KEY``) or ``"traditional"`` (``BEGIN RSA PRIVATE KEY`` /
                ``BEGIN EC PRIVATE KEY``, PKCS#1 or SEC1).

        Raises:
            ConfigurationError: unknown format or empty password.
            TypeError: the password is not bytes.
        """
        return _key_pem(self.private_key, password, format)

    def write(
        self,
        directory: str | os.PathLike[str],
        stem: str,
        *,
        password: bytes | None = None,
        format: KeyFormat = "pkcs8",
    ) -> tuple[Path, Path]:
        """Write ``<stem>.pem`` (leaf then intermediates) and ``<stem>.key`` (mode 0o600) in ``directory``.

        Existing files are replaced; the folder is created when missing.

        Args:
            directory: the folder.
            stem: the file name without extension.
            password: encrypt the key file with it (see :meth:`key_pem`).
            format: the key encoding (see :meth:`key_pem`).

        Returns:
            the certificate path and the key path.
        """
        _check_stem(stem)
        folder = Path(directory)
        cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
        key_bytes = self.key_pem(password, format)
        _write_file(cert_path, self.chain_pem(), 0o644)
        _write_file(key_path, key_bytes, 0o600)
        return cert_path, key_path

    def pfx(self, password: bytes | None, *, friendly_name: str | None = None) -> bytes:
        """The leaf, its key and its intermediates as PKCS#12 (``.pfx``), as ``Export-PfxCertificate`` writes.

        Args:
            password: encrypt it with this password (the best available cipher); ``None``: no encryption.
            friendly_name: the bag's friendly name (default: the subject CN, or none).

        Raises:
            ConfigurationError: an empty password.
            TypeError: the password is not bytes.
        """
        encryption: serialization.KeySerializationEncryption
        if password is None:
            encryption = serialization.NoEncryption()
        elif not isinstance(password, bytes):
            raise TypeError("the PFX password must be bytes")  # never echo the value
        elif not password:
            raise ConfigurationError("the PFX password is empty", option="password", valid="one or more bytes, or None")
        else:
            encryption = serialization.BestAvailableEncryption(password)
        if friendly_name is None:
            cns = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            friendly_name = str(cns[0].value) if cns else None
        return pkcs12.serialize_key_and_certificates(
            friendly_name.encode("utf-8") if friendly_name else None, self.private_key, self.cert,
            list(self.chain) or None, encryption,
        )

    def write_pfx(self, directory: str | os.PathLike[str], stem: str, *, password: bytes | None) -> Path:
        """Write :meth:`pfx` to ``<stem>.pfx`` (mode 0o600) in ``directory`` and return its path."""
        _check_stem(stem)
        path = Path(directory) / f"{stem}.pfx"
        _write_file(path, self.pfx(password), 0o600)
        return path

    def configure_cert(self, context: ssl.SSLContext) -> None:
        """Make ``context`` present this certificate (and its intermediates) with its key, like trustme.

        ``ssl`` loads certificates from files only: the chain and the key go to a private temporary folder
        (mode 0o700) that is removed before this returns.
        """
        with tempfile.TemporaryDirectory(prefix="genesys-tls-") as folder:
            cert_path, key_path = self.write(folder, "issued")
            context.load_cert_chain(cert_path, key_path)


# --- certificate authorities ----------------------------------------------------------------------------


@attrs.frozen(eq=False)
class CertificateAuthority:
    """A certificate authority of the test PKI: a root or an intermediate, with its revocation list.

    Make one with :meth:`create` (a root) or :meth:`intermediate`; do not build it yourself. Revocations
    (:meth:`revoke`) are the only state that changes.

    Attributes:
        cert: the CA certificate.
        private_key: its private key (never shown in the ``repr``).
        key_type: the key algorithm, also the default for what it issues.
        issuer: the CA that signed this one (``None`` for a root).
    """

    cert: x509.Certificate
    private_key: PrivateKey = attrs.field(repr=False)
    key_type: KeyType
    issuer: CertificateAuthority | None = attrs.field(default=None, repr=False)
    _revoked: dict[int, dt.datetime] = attrs.field(init=False, factory=dict, repr=False)
    _crl_numbers: Iterator[int] = attrs.field(init=False, factory=lambda: itertools.count(1), repr=False)

    @classmethod
    def create(
        cls,
        common_name: str = "Test CA",
        *,
        key_type: KeyType | str = KeyType.EC,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        path_length: int | None = None,
    ) -> CertificateAuthority:
        """A new self-signed root CA.

        Args:
            common_name: the subject CN (the whole subject).
            key_type: the CA's key, and the default key type of what it issues.
            not_before: start of validity (default: an hour ago). Naive datetimes are UTC.
            not_after: end of validity (default: ten years after the start).
            path_length: basicConstraints pathLenConstraint (``None``: unlimited).

        Raises:
            ConfigurationError: a bad key type, name or validity window.
        """
        kind = KeyType.parse(key_type)
        key = _new_key(kind)
        subject = _subject(common_name)
        start, end = _window(not_before, not_after, _CA_LIFETIME)
        cert = _sign_certificate(
            _ca_builder(subject, key.public_key(), None, start=start, end=end, path_length=path_length), key
        )
        return cls(cert, key, kind)

    def intermediate(
        self,
        common_name: str,
        *,
        key_type: KeyType | str | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        path_length: int | None = 0,
    ) -> CertificateAuthority:
        """A new intermediate CA signed by this one.

        Args:
            common_name: the subject CN.
            key_type: its key type (default: this CA's).
            not_before: start of validity (default: an hour ago).
            not_after: end of validity (default: ten years after the start).
            path_length: basicConstraints pathLenConstraint; the default 0 lets it sign leaves only.

        Raises:
            ConfigurationError: a bad key type, name or validity window.
        """
        key, kind = _key_for(None, key_type, self.key_type)
        start, end = _window(not_before, not_after, _CA_LIFETIME)
        builder = _ca_builder(
            _subject(common_name), key.public_key(), self, start=start, end=end, path_length=path_length
        )
        return CertificateAuthority(_sign_certificate(builder, self.private_key), key, kind, self)

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """This CA's certificate then its issuers' up to the root."""
        return (self.cert, *(self.issuer.chain if self.issuer is not None else ()))

    @property
    def revoked(self) -> Mapping[int, dt.datetime]:
        """The revoked serial numbers and their revocation times (a copy)."""
        return dict(self._revoked)

    def cert_pem(self) -> bytes:
        """This CA's certificate, PEM (a ``trusted-ca`` file when this is the root)."""
        return _cert_pem(self.cert)

    def key_pem(self, password: bytes | None = None, format: KeyFormat = "pkcs8") -> bytes:
        """This CA's private key, PEM (see :meth:`Issued.key_pem`)."""
        return _key_pem(self.private_key, password, format)

    def configure_trust(self, context: ssl.SSLContext) -> None:
        """Make ``context`` trust certificates this CA issued (its root's certificate, like trustme).

        For an intermediate CA the root is trusted, so the peer must send the intermediate in its chain (as
        :meth:`Issued.configure_cert` does).
        """
        root = self
        while root.issuer is not None:
            root = root.issuer
        context.load_verify_locations(cadata=root.cert_pem().decode("ascii"))

    def issue(
        self,
        names: str | Iterable[str],
        *,
        server_auth: bool = True,
        client_auth: bool = True,
        common_name: str | None = None,
        cn_only: bool = False,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key_type: KeyType | str | None = None,
        key: PrivateKey | None = None,
        crl_urls: Sequence[str] = (),
        subject: str | x509.Name | None = None,
        emails: Sequence[str] = (),
    ) -> Issued:
        """A leaf certificate signed by this CA.

        Args:
            names: DNS names and IP addresses (one string is one name); they go in the subjectAltName
                extension, IP addresses as iPAddress entries.
            server_auth: put serverAuth in extendedKeyUsage.
            client_auth: put clientAuth in extendedKeyUsage. With both false there is no
                extendedKeyUsage extension at all (any purpose).
            common_name: the subject CN (default: the first name; a name longer than 64 characters
                gives an empty subject and a critical SAN).
            cn_only: no subjectAltName extension, only the subject CN (Genesys accepts such
                certificates). ``names`` must then hold exactly one name.
            not_before: start of validity (default: an hour ago).
            not_after: end of validity (default: a year after the start).
            key_type: the key to make (default: this CA's key type).
            key: certify this existing key instead of making one (for instance an expired and a valid
                certificate of the same host); ``key_type`` must then be ``None`` or match.
            subject: the whole subject instead of the CN (see :func:`subject_name`: any attributes, ``E``,
                repeated ``OU`` and ``DC``...); ``common_name`` must then be ``None``.
            emails: e-mail addresses for the subjectAltName (rfc822Name entries), after ``names``.
            crl_urls: URLs for a CRL Distribution Points extension (one distribution point, these URLs as its
                alternatives); none by default.

        Raises:
            ConfigurationError: a bad name, key type or validity window.
        """
        listed = _name_list(names)
        alt_names = [_general_name(n) for n in listed]
        for email in emails:
            if not isinstance(email, str) or email.count("@") != 1 or not email.isascii() or " " in email:
                raise ConfigurationError("not an e-mail address", option="emails", value=repr(email),
                                         valid="local@domain, ASCII")
            alt_names.append(x509.RFC822Name(email))
        if subject is not None and (common_name is not None or cn_only):
            raise ConfigurationError("give subject or common_name/cn_only, not both", option="subject",
                                     value=str(subject))
        if cn_only and len(listed) > 1:
            raise ConfigurationError(
                "a CN-only certificate carries a single name",
                option="names",
                value=", ".join(listed),
                valid="one name",
            )
        if subject is None and common_name is None and (cn_only or len(listed[0]) <= _MAX_CN):
            common_name = listed[0]
        leaf_subject = _subject(common_name) if subject is None else subject_name(subject)
        leaf_key, kind = _key_for(key, key_type, self.key_type)
        start, end = _window(not_before, not_after, _LEAF_LIFETIME)
        public_key = leaf_key.public_key()
        builder = (
            _base_builder(leaf_subject, public_key, self, start=start, end=end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    # RSA key exchange (TLS 1.2 without ECDHE) encrypts to the key.
                    key_encipherment=kind is not KeyType.EC,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        usages = [
            oid
            for wanted, oid in (
                (server_auth, ExtendedKeyUsageOID.SERVER_AUTH),
                (client_auth, ExtendedKeyUsageOID.CLIENT_AUTH),
            )
            if wanted
        ]
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if not cn_only:
            unique = list(dict.fromkeys(alt_names))
            # RFC 5280 4.2.1.6: with an empty subject the SAN extension is critical.
            builder = builder.add_extension(
                x509.SubjectAlternativeName(unique), critical=not leaf_subject.rdns
            )
        if crl_urls:
            point = x509.DistributionPoint([x509.UniformResourceIdentifier(u) for u in crl_urls], None, None, None)
            builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
        cert = _sign_certificate(builder, self.private_key)
        return Issued(cert, leaf_key, self.chain[:-1])

    def issue_server(self, names: str | Iterable[str], **options: Unpack[LeafOptions]) -> Issued:
        """A server certificate (extendedKeyUsage serverAuth) for ``names``; the options are
        :meth:`issue`'s (:class:`LeafOptions`)."""
        check_keywords("issue_server", options, LeafOptions)
        return self.issue(names, server_auth=True, client_auth=False, **options)

    def issue_client(self, name: str, **options: Unpack[LeafOptions]) -> Issued:
        """A client certificate (extendedKeyUsage clientAuth), CN and SAN ``name``; the options are
        :meth:`issue`'s (:class:`LeafOptions`)."""
        check_keywords("issue_client", options, LeafOptions)
        return self.issue(name, server_auth=False, client_auth=True, **options)

    def revoke(self, issued_or_serial: Issued | x509.Certificate | int, *, when: dt.datetime | None = None) -> int:
        """Put a certificate on this CA's revocation list (the next :meth:`crl` lists it).

        Args:
            issued_or_serial: the certificate (it must be issued by this CA) or a bare serial number
                (taken as is, whoever issued it).
            when: the revocation time (default: now).

        Returns:
            the serial number revoked.

        Raises:
            ConfigurationError: the certificate was issued by another CA.
        """
        if isinstance(issued_or_serial, int):
            serial = issued_or_serial
        else:
            cert = issued_or_serial.cert if isinstance(issued_or_serial, Issued) else issued_or_serial
            if cert.issuer != self.cert.subject:
                raise ConfigurationError(
                    "the certificate was not issued by this CA",
                    object=cert.subject.rfc4514_string(),
                    value=cert.issuer.rfc4514_string(),
                    valid=self.cert.subject.rfc4514_string(),
                )
            serial = cert.serial_number
        self._revoked[serial] = _utc(when, _now())
        return serial

    def crl(
        self,
        *,
        last_update: dt.datetime | None = None,
        next_update: dt.datetime | None = None,
        der: bool = False,
    ) -> bytes:
        """A CRL signed by this CA listing every revoked serial.

        Pass times in the past for an expired CRL (``next_update`` before now) or in the future for one
        not yet valid.

        Args:
            last_update: thisUpdate (default: an hour ago).
            next_update: nextUpdate (default: 90 days after ``last_update``).
            der: DER instead of PEM.

        Raises:
            ConfigurationError: ``next_update`` is not after ``last_update``.
        """
        this_update = _utc(last_update, _now() - _BACKDATE)
        following = _utc(next_update, this_update + _CRL_LIFETIME)
        if following <= this_update:
            raise ConfigurationError(
                "next_update must be later than last_update",
                option="next_update",
                value=following.isoformat(),
                valid=f"a time after {this_update.isoformat()}",
            )
        # Every entry goes to the builder at once: add_revoked_certificate copies the list it holds on
        # each call, which makes a CRL of n entries cost n**2.
        revoked = [
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            for serial, when in sorted(self._revoked.items())
        ]
        builder = (
            x509.CertificateRevocationListBuilder(revoked_certificates=revoked)
            .issuer_name(self.cert.subject)
            .last_update(this_update)
            .next_update(following)
            .add_extension(x509.CRLNumber(next(self._crl_numbers)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
        )
        crl = _sign_crl(builder, self.private_key)
        return crl.public_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM)


def _base_builder(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: CertificateAuthority | None,
    *,
    start: dt.datetime,
    end: dt.datetime,
) -> x509.CertificateBuilder:
    """A certificate with subject, key, serial, validity and key identifiers; ``issuer`` None: self-signed."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
            critical=False,
        )
    return builder


def _ca_builder(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: CertificateAuthority | None,
    *,
    start: dt.datetime,
    end: dt.datetime,
    path_length: int | None,
) -> x509.CertificateBuilder:
    """:func:`_base_builder` plus the CA extensions (basicConstraints, keyCertSign and cRLSign)."""
    return (
        _base_builder(subject, public_key, issuer, start=start, end=end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )


