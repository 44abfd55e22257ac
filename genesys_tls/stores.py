"""Certificate stores: a folder (or a list) of PEM certificates with their keys and of PKCS#12 files, modelling a
Windows "Personal" certificate store, read with ``cryptography`` (no ``ssl``, no sockets).

A :class:`CertificateStore` holds :class:`StoreEntry` objects, one per certificate, each with its SHA-1
thumbprint (what Windows shows and Genesys options name), its private key when the store has it, and the other
certificates of its file (the chain). Look-ups:

* :meth:`CertificateStore.by_thumbprint`: exact SHA-1 thumbprint, any case, with or without spaces or colons;
* :meth:`CertificateStore.select`: the Workspace SIP Endpoint search, thumbprint first, then issuer, then
  subject (see :func:`normalize_thumbprint` and ``docs/sipendpoint.md``).

Passwords of PKCS#12 files and encrypted PEM keys come from a :data:`PasswordSource` callback, typically
:func:`env_passwords` (the NAME of an environment variable is given, never the password itself). Errors name the
store, the file and the certificates (subject and thumbprint), never key material or passwords.

Example::

    from genesys_tls.stores import CertificateStore, env_passwords

    store = CertificateStore.load("store/", passwords=env_passwords("STORE_PASSWORD"))
    chosen = store.select("Communications Server")
    print(chosen.rule, chosen.entry.subject, chosen.entry.thumbprint)
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from . import _files
from .errors import ConfigurationError

__all__ = [
    "CERTIFICATE_SUFFIXES",
    "KEY_SUFFIXES",
    "MAX_STORE_FILE",
    "PKCS12_SUFFIXES",
    "CertificateStore",
    "PasswordSource",
    "SearchRule",
    "Selection",
    "StoreEntry",
    "env_passwords",
    "normalize_thumbprint",
    "thumbprint",
]

#: ``callback(path) -> password`` for a PKCS#12 file or an encrypted PEM key (``None``: no password known).
PasswordSource: TypeAlias = Callable[[Path], str | bytes | None]
#: Which rule of the search matched.
SearchRule: TypeAlias = Literal["thumbprint", "issuer", "subject"]

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer")
KEY_SUFFIXES = (".key",)
PKCS12_SUFFIXES = (".pfx", ".p12")
#: The largest store file read (bytes): certificates and PFX files are a few kilobytes.
MAX_STORE_FILE = 1 << 20
#: Attribute names shown beyond RFC 4514's own: Windows writes emailAddress as ``E``.
_NAMES = {NameOID.EMAIL_ADDRESS: "E"}
_HEX40 = re.compile(r"^[0-9A-F]{40}$")
# Windows' certificate dialog copies an invisible left-to-right mark before the thumbprint.
_THUMBPRINT_NOISE = re.compile(r"[\s:\u200e\u200f\ufeff]")


def thumbprint(cert: x509.Certificate) -> str:
    """The SHA-1 thumbprint of a certificate, 40 upper-case hex digits (Windows' "Thumbprint")."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - SHA-1 is what a thumbprint is


def normalize_thumbprint(value: str) -> str | None:
    """``value`` as a thumbprint (upper case, spaces, colons and invisible marks removed), ``None`` when it is
    not 40 hex digits."""
    text = _THUMBPRINT_NOISE.sub("", value).upper()
    return text if _HEX40.match(text) else None


def env_passwords(variable: str, *, environ: Mapping[str, str] | None = None) -> PasswordSource:
    """A :data:`PasswordSource` reading environment variables: ``<variable>_<STEM>`` for the file
    ``<stem>.pfx`` (the stem upper-cased, other characters than letters and digits as ``_``), else
    ``<variable>`` for every file.

    Args:
        variable: the NAME of the environment variable (never the password itself).
        environ: the environment (default ``os.environ``, read when a password is needed).
    """
    if not variable or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", variable):
        raise ConfigurationError(
            "not an environment variable name", option="password-env", value=variable,
            valid="letters, digits and '_', not starting with a digit",
        )

    def source(path: Path) -> str | None:
        env = os.environ if environ is None else environ
        stem = re.sub(r"[^A-Za-z0-9]", "_", path.stem).upper()
        return env.get(f"{variable}_{stem}", env.get(variable))

    return source


@attrs.frozen
class StoreEntry:
    """One certificate of a store.

    Attributes:
        certificate: the certificate.
        private_key: its private key when the store holds it (never shown in the ``repr``).
        chain: the other certificates of its file (PEM bundle or PKCS#12), in file order.
        source: the file it came from.
        thumbprint: its SHA-1 thumbprint, 40 upper-case hex digits.
    """

    certificate: x509.Certificate = attrs.field(repr=False)
    private_key: PrivateKeyTypes | None = attrs.field(repr=False, eq=False)
    chain: tuple[x509.Certificate, ...] = attrs.field(repr=False)
    source: Path
    thumbprint: str

    @property
    def subject(self) -> str:
        """The subject, RFC 4514 (most specific attribute first; emailAddress written ``E`` as Windows does)."""
        return self.certificate.subject.rfc4514_string(_NAMES)

    @property
    def issuer(self) -> str:
        """The issuer, RFC 4514 (emailAddress written ``E``)."""
        return self.certificate.issuer.rfc4514_string(_NAMES)

    @property
    def has_key(self) -> bool:
        """Whether the store holds the private key."""
        return self.private_key is not None

    @property
    def not_after(self) -> dt.datetime:
        """The end of validity (aware, UTC)."""
        return self.certificate.not_valid_after_utc

    def valid_at(self, when: dt.datetime) -> bool:
        """Whether ``when`` is inside the validity window."""
        return self.certificate.not_valid_before_utc <= when <= self.certificate.not_valid_after_utc

    def describe(self) -> str:
        """``subject (thumbprint T)``: what errors and reports show, never key material."""
        return f"{self.subject or '<empty subject>'} (thumbprint {self.thumbprint})"


@attrs.frozen
class Selection:
    """What :meth:`CertificateStore.select` chose.

    Attributes:
        entry: the certificate chosen.
        rule: which search rule matched: ``thumbprint``, ``issuer`` or ``subject``.
        search_value: the value searched.
        candidates: every certificate the rule matched, the chosen one first, in preference order.
    """

    entry: StoreEntry
    rule: SearchRule
    search_value: str
    candidates: tuple[StoreEntry, ...]

    @property
    def others(self) -> tuple[StoreEntry, ...]:
        """The candidates not chosen."""
        return self.candidates[1:]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: rule, the chosen certificate and the others (subjects and thumbprints only)."""
        return {
            "rule": self.rule,
            "search_value": self.search_value,
            "subject": self.entry.subject,
            "issuer": self.entry.issuer,
            "thumbprint": self.entry.thumbprint,
            "others": [{"subject": e.subject, "thumbprint": e.thumbprint} for e in self.others],
        }


def _read_bounded(path: Path, location: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_STORE_FILE` bytes (special files refused, never
    blocking: :func:`genesys_tls._files.read_regular_file`)."""
    try:
        return _files.read_regular_file(path, limit=MAX_STORE_FILE, what="store file")
    except ConfigurationError as exc:
        raise ConfigurationError(
            exc.reason, file=str(path), object=location, valid="certificate, key and PKCS#12 files", problem=exc.problem
        ) from None


def _password_bytes(value: str | bytes | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value or None
    return value.encode("utf-8") or None


def _spki(cert_or_key: x509.Certificate | PrivateKeyTypes) -> bytes:
    public = cert_or_key.public_key()
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


_PEM_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9 ]+ )?PRIVATE KEY-----.*?-----END (?:[A-Z0-9 ]+ )?PRIVATE KEY-----",
                      re.DOTALL)


class CertificateStore:
    """Certificates and keys from PEM and PKCS#12 files; see the module documentation.

    Build it with :meth:`load` (a folder, a file, or a list of them) or :meth:`from_entries`.

    Attributes:
        location: what the store was loaded from (named in errors).
        entries: every certificate, in file order (files sorted by name within a folder).
    """

    def __init__(self, entries: Iterable[StoreEntry], location: str) -> None:
        self.location = location
        self.entries: tuple[StoreEntry, ...] = tuple(entries)
        seen: dict[str, StoreEntry] = {}
        for entry in self.entries:
            if entry.thumbprint in seen:
                first = seen[entry.thumbprint]
                raise ConfigurationError(
                    f"two certificates with the same thumbprint: {entry.describe()} in {first.source.name} and "
                    f"{entry.source.name}",
                    file=str(entry.source), object=location, value=entry.thumbprint,
                    valid="each certificate once in the store",
                )
            seen[entry.thumbprint] = entry
        self._by_thumbprint = seen

    def __repr__(self) -> str:
        return f"<CertificateStore {self.location} entries={len(self.entries)}>"

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_entries(cls, entries: Iterable[StoreEntry], location: str = "<memory>") -> CertificateStore:
        """A store of ready entries."""
        return cls(entries, location)

    @classmethod
    def load(
        cls,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        passwords: PasswordSource | None = None,
    ) -> CertificateStore:
        """Read a store.

        Args:
            paths: a folder (its files ending in ``.pem``/``.crt``/``.cer``, ``.key`` and ``.pfx``/``.p12``,
                not recursive; other files are ignored), a single file, or a list of files and folders.
            passwords: gives the password of each PKCS#12 file and encrypted PEM key.

        Raises:
            ConfigurationError: a path that is neither a folder nor a file, an unreadable or oversized file,
                a file that is not what its suffix says, a PKCS#12 file or key whose password is missing or
                wrong, two certificates with the same thumbprint, a key that matches no certificate.
        """
        listed = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        location = ", ".join(os.fspath(p) for p in listed) or "<empty>"
        files: list[Path] = []
        for item in listed:
            path = Path(item)
            if path.is_dir():
                files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in
                                    (*CERTIFICATE_SUFFIXES, *KEY_SUFFIXES, *PKCS12_SUFFIXES)))
            elif path.is_file():
                files.append(path)
            else:
                raise ConfigurationError(
                    "the certificate store is neither a folder nor a file", file=os.fspath(item), object=location,
                    valid="a folder of .pem/.key/.pfx files, a file, or a list of them",
                )
        entries: list[StoreEntry] = []
        loose_keys: list[tuple[Path, PrivateKeyTypes]] = []
        for path in files:
            suffix = path.suffix.lower()
            data = _read_bounded(path, location)
            if suffix in PKCS12_SUFFIXES:
                entries.extend(_load_pkcs12(path, data, passwords, location))
            else:
                certs, keys = _load_pem(path, data, passwords, location)
                if suffix in KEY_SUFFIXES and certs:
                    raise ConfigurationError("a .key file holds certificates", file=str(path), object=location,
                                             valid="private keys only")
                entries.extend(_pem_entries(path, certs, keys))
                if not certs:
                    loose_keys.extend((path, k) for k in keys)
        return cls(_attach_keys(entries, loose_keys, location), location)

    # ------------------------------------------------------------------------------------ look-ups

    def listing(self) -> str:
        """Every certificate as ``subject (thumbprint T)``, joined by ``; `` (for error messages)."""
        return "; ".join(e.describe() for e in self.entries) or "the store is empty"

    def by_thumbprint(self, value: str, *, option: str | None = None, object: str | None = None) -> StoreEntry:
        """The certificate with this SHA-1 thumbprint (any case, spaces and colons ignored).

        Raises:
            ConfigurationError: not a thumbprint, or none matches (the message lists the store's subjects and
                thumbprints).
        """
        wanted = normalize_thumbprint(value)
        if wanted is None:
            raise ConfigurationError("not a SHA-1 thumbprint", file=self.location, object=object, option=option,
                                     value=value, valid="40 hexadecimal digits, spaces and colons allowed")
        try:
            return self._by_thumbprint[wanted]
        except KeyError:
            raise ConfigurationError(
                "no certificate of the store has this thumbprint", file=self.location, object=object,
                option=option, value=value, valid=self.listing(),
            ) from None

    def select(
        self,
        search_value: str,
        *,
        require_key: bool = True,
        now: dt.datetime | None = None,
        option: str | None = None,
        object: str | None = None,
    ) -> Selection:
        """The SIP Endpoint's search: by thumbprint, then by issuer, then by subject.

        * thumbprint: exact SHA-1 thumbprint, ignoring case, spaces and colons;
        * issuer, then subject: ``search_value`` is a part of the RFC 4514 string (most specific attribute
          first, as ``CN=Agent,OU=Sales,DC=example``), compared ignoring case.

        The first rule that matches a usable certificate (one with its private key, unless
        ``require_key=False``) decides; among its matches the certificates valid ``now`` come first, then the
        latest expiry.

        Raises:
            ConfigurationError: an empty search value, or nothing matches (the message lists the store's
                subjects and thumbprints, and says when only certificates without a key matched).
        """
        text = search_value.strip()
        if not text:
            raise ConfigurationError("the certificate search value is empty", file=self.location, object=object,
                                     option=option, value=search_value, valid=self.listing())
        moment = now or dt.datetime.now(dt.UTC)
        wanted = normalize_thumbprint(text)
        needle = text.casefold()
        rules: tuple[tuple[SearchRule, Callable[[StoreEntry], bool]], ...] = (
            ("thumbprint", lambda e: wanted is not None and e.thumbprint == wanted),
            ("issuer", lambda e: needle in e.issuer.casefold()),
            ("subject", lambda e: needle in e.subject.casefold()),
        )
        keyless: list[StoreEntry] = []
        for rule, matches in rules:
            found = [e for e in self.entries if matches(e)]
            usable = [e for e in found if e.has_key or not require_key]
            keyless.extend(e for e in found if e not in usable)
            if usable:
                usable.sort(key=lambda e: (not e.valid_at(moment), -e.not_after.timestamp()))
                return Selection(usable[0], rule, search_value, tuple(usable))
        reason = "no certificate of the store matches the search value (by thumbprint, issuer or subject)"
        if keyless:
            reason = ("only certificates without their private key match the search value: "
                      + "; ".join(e.describe() for e in dict.fromkeys(keyless)))
        raise ConfigurationError(reason, file=self.location, object=object, option=option, value=search_value,
                                 valid=self.listing())


# ------------------------------------------------------------------------------------ readers


def _load_pem(
    path: Path, data: bytes, passwords: PasswordSource | None, location: str
) -> tuple[list[x509.Certificate], list[PrivateKeyTypes]]:
    certs: list[x509.Certificate] = []
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # RFC 5280 deviations are lint's business, not the store's
                certs = list(x509.load_pem_x509_certificates(data))
        except ValueError:
            raise ConfigurationError("a PEM certificate of the store cannot be parsed", file=str(path),
                                     object=location, valid="PEM certificates") from None
    keys: list[PrivateKeyTypes] = []
    for block in _PEM_KEY.findall(data):
        keys.append(_load_pem_key(path, block, passwords, location))
    if not certs and not keys:
        raise ConfigurationError("the file holds no PEM certificate or private key", file=str(path),
                                 object=location, valid="PEM certificates and keys, or PKCS#12 (.pfx/.p12)")
    return certs, keys


def _load_pem_key(path: Path, block: bytes, passwords: PasswordSource | None, location: str) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(block, password=None)
    except TypeError:
        pass  # encrypted
    except ValueError:
        raise ConfigurationError("a PEM private key of the store cannot be parsed", file=str(path),
                                 object=location) from None
    secret = _password_bytes(passwords(path)) if passwords is not None else None
    if secret is None:
        raise ConfigurationError("the private key is encrypted and no password was given", file=str(path),
                                 object=location, valid="a password through the password environment variable")
    try:
        return serialization.load_pem_private_key(block, password=secret)
    except (ValueError, TypeError):
        raise ConfigurationError("wrong password for the encrypted private key", file=str(path),
                                 object=location) from None


def _load_pkcs12(path: Path, data: bytes, passwords: PasswordSource | None, location: str) -> list[StoreEntry]:
    secret = _password_bytes(passwords(path)) if passwords is not None else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        reason = ("wrong password for the PKCS#12 file, or not a PKCS#12 file" if secret is not None
                  else "the PKCS#12 file is encrypted and no password was given, or it is not a PKCS#12 file")
        raise ConfigurationError(reason, file=str(path), object=location,
                                 valid="a PKCS#12 file and its password through the password environment "
                                       "variable") from None
    certs = [c for c in (cert, *extra) if c is not None]
    if not certs:
        raise ConfigurationError("the PKCS#12 file holds no certificate", file=str(path), object=location)
    entries = []
    key_spki = _spki(key) if key is not None else None
    for c in certs:
        own_key = key if key_spki is not None and _spki(c) == key_spki else None
        entries.append(StoreEntry(c, own_key, tuple(o for o in certs if o is not c), path, thumbprint(c)))
    return entries


def _pem_entries(path: Path, certs: list[x509.Certificate], keys: list[PrivateKeyTypes]) -> list[StoreEntry]:
    by_spki = {_spki(k): k for k in keys}
    return [
        StoreEntry(c, by_spki.get(_spki(c)), tuple(o for o in certs if o is not c), path, thumbprint(c))
        for c in certs
    ]


def _attach_keys(
    entries: list[StoreEntry], loose: list[tuple[Path, PrivateKeyTypes]], location: str
) -> list[StoreEntry]:
    """Give the keys of ``.key`` files to the certificates they belong to (matched by public key)."""
    if not loose:
        return entries
    index = {i: _spki(e.certificate) for i, e in enumerate(entries)}
    out = list(entries)
    for path, key in loose:
        spki = _spki(key)
        owners = [i for i, s in index.items() if s == spki]
        if not owners:
            raise ConfigurationError(
                "a private key of the store belongs to no certificate of the store", file=str(path),
                object=location, valid="each key next to its certificate",
            )
        for i in owners:
            if out[i].private_key is None:
                out[i] = attrs.evolve(out[i], private_key=key)
    return out
