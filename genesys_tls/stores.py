"""Certificate stores: a folder (or a list) of PEM certificates with their keys and of PKCS#12 files, modelling a
Windows "Personal" certificate store, read with ``cryptography`` (no ``ssl``, no sockets).

A :class:`CertificateStore` holds :class:`StoreEntry` objects, one per certificate, each with its SHA-1
thumbprint (what Windows shows and Genesys options name), its private key when the store has it, and the other
certificates of its file (the chain). Look-ups:

* :meth:`CertificateStore.by_thumbprint`: exact SHA-1 thumbprint, any case, with or without spaces or colons;
* :meth:`CertificateStore.select`: the Workspace SIP Endpoint search, thumbprint first, then issuer, then
  subject (see :func:`normalize_thumbprint` and ``docs/sipendpoint.md``).

A Windows host's ``store`` in an environment is a :class:`StoreLocation` (its Personal store and trusted roots);
:func:`load_location` reads one part, once per content (:func:`store_identity`), and
:mod:`genesys_tls.material` resolves ``certificate`` / ``trusted-ca`` thumbprints with it. Java keystores
(``provider=JKS``) are read by :meth:`CertificateStore.load_keystore`: PKCS12-type keystores are read, classic
JKS and JCEKS keystores are refused with the ``keytool`` command that converts them (no maintained reader of
those formats exists among this library's dependencies).

Passwords of PKCS#12 files and encrypted PEM keys come from a :data:`PasswordSource` callback, typically
:func:`env_passwords` (the NAME of an environment variable is given, never the password itself). Errors name the
store, the file and the certificates (subject and thumbprint), never key material or passwords.

Example::

    from genesys_tls.stores import CertificateStore, env_passwords

    store = CertificateStore.load("store/", passwords=env_passwords("STORE_PASSWORD"))
    chosen = store.select("Communications Server")
    print(chosen.rule, chosen.entry.subject, chosen.entry.thumbprint)

Size: one store type serves the SIP Endpoint and the hosts' Windows stores; its readers (PEM, PKCS#12, Java
keystores) and the host store location build nothing else, so they stay next to the type they fill.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
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

from ._files import read_regular_file
from ._pem import pem_blocks, spki
from .catalogue import normalize_thumbprint
from .errors import ConfigurationError

__all__ = [
    "CERTIFICATE_SUFFIXES",
    "KEYSTORE_SUFFIXES",
    "KEY_SUFFIXES",
    "MAX_STORE_FILE",
    "PKCS12_SUFFIXES",
    "CertificateStore",
    "PasswordSource",
    "SearchRule",
    "Selection",
    "StoreEntry",
    "StoreLocation",
    "env_passwords",
    "load_location",
    "normalize_thumbprint",
    "password_bytes",
    "pkcs12_password",
    "store_identity",
    "thumbprint",
]

#: ``callback(path) -> password`` for a PKCS#12 file or an encrypted PEM key (``None``: no password known).
PasswordSource: TypeAlias = Callable[[Path], str | bytes | None]
#: Which rule of the search matched.
SearchRule: TypeAlias = Literal["thumbprint", "issuer", "subject"]

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer")
KEY_SUFFIXES = (".key",)
PKCS12_SUFFIXES = (".pfx", ".p12")
#: Java keystore files: read when they are PKCS12-type keystores, refused (with the conversion) when classic JKS.
KEYSTORE_SUFFIXES = (".jks", ".ks", ".keystore", ".truststore")
_STORE_SUFFIXES = (*CERTIFICATE_SUFFIXES, *KEY_SUFFIXES, *PKCS12_SUFFIXES, *KEYSTORE_SUFFIXES)
#: The first bytes of a classic Java keystore (``JKS``) and of a ``JCEKS`` keystore.
_JAVA_MAGIC = {b"\xfe\xed\xfe\xed": "JKS", b"\xce\xce\xce\xce": "JCEKS"}
#: The largest store file read (bytes): certificates and PFX files are a few kilobytes.
MAX_STORE_FILE = 1 << 20
#: Attribute names shown beyond RFC 4514's own: Windows writes emailAddress as ``E``.
_NAMES = {NameOID.EMAIL_ADDRESS: "E"}


def thumbprint(cert: x509.Certificate) -> str:
    """The SHA-1 thumbprint of a certificate, 40 upper-case hex digits (Windows' "Thumbprint")."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - SHA-1 is what a thumbprint is


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
        return read_regular_file(path, limit=MAX_STORE_FILE, what="store file")
    except ConfigurationError as exc:
        raise exc.located(object=location) from None


def password_bytes(value: str | bytes) -> bytes:
    """A password as the bytes OpenSSL and ``cryptography`` take: text as UTF-8, and an environment
    variable's bytes that are not UTF-8 as they were set (``os.environ`` keeps them as lone surrogates).

    Raises:
        ConfigurationError: text that no byte string stands for (a lone surrogate typed in code); the
            password itself is never shown.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise ConfigurationError(
            "the password holds a character that cannot be written as bytes (a lone surrogate); the password "
            "is not shown", valid="UTF-8 text, or the bytes of an environment variable",
        ) from None


def _password_bytes(value: str | bytes | None) -> bytes | None:
    return None if value is None else password_bytes(value) or None


def pkcs12_password(
    secret: bytes, *, file: str | None = None, object: str | None = None, option: str | None = None,
    value: str | None = None,
) -> bytes:
    """``secret`` when it can be a PKCS#12 password: PKCS#12 passwords are text (BMPString), so bytes that are
    not UTF-8 (an environment variable set in another encoding) are refused, naming the file, object or
    option (``value``: the variable's NAME), never the password."""
    try:
        secret.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(
            "the PKCS#12 password is not UTF-8 text (PKCS#12 passwords are text): set the variable in UTF-8; "
            "the password is not shown", file=file, object=object, option=option, value=value,
            valid="a UTF-8 password",
        ) from None
    return secret


_PRIVATE_KEY_LABEL = rb"(?:[A-Z0-9 ]+ )?PRIVATE KEY"


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
                files.extend(_store_files(path))
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
            if suffix in PKCS12_SUFFIXES or suffix in KEYSTORE_SUFFIXES or data[:4] in _JAVA_MAGIC:
                _refuse_java_keystore(path, data, location)
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

    @classmethod
    def load_keystore(
        cls, path: str | os.PathLike[str], *, passwords: PasswordSource | None = None
    ) -> CertificateStore:
        """Read a Java keystore file (``provider=JKS``) whatever its name: a PKCS12-type keystore is read, a
        classic JKS or JCEKS keystore is refused with the ``keytool`` command that converts it.

        Raises:
            ConfigurationError: not a regular file, a classic JKS/JCEKS keystore, not PKCS#12 (a PEM file...),
                a wrong or missing password.
        """
        file = Path(path)
        location = os.fspath(path)
        if not file.is_file():
            raise ConfigurationError("the keystore is not a file", file=location, object=location,
                                     valid="a PKCS12-type keystore file")
        data = _read_bounded(file, location)
        _refuse_java_keystore(file, data, location)
        if data.lstrip()[:10] == b"-----BEGIN":
            raise ConfigurationError(
                "provider=JKS names a keystore, but this is a PEM file (use provider=PEM, or leave it unset)",
                file=location, object=location, valid="a PKCS12-type keystore file",
            )
        return cls(_load_pkcs12(file, data, passwords, location), location)

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


def _store_files(folder: Path) -> list[Path]:
    """The store files of a folder (not recursive), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _STORE_SUFFIXES)


def _refuse_java_keystore(path: Path, data: bytes, location: str) -> None:
    """Refuse a classic JKS or JCEKS keystore, saying how to convert it (no maintained reader exists for
    them among this library's dependencies)."""
    kind = _JAVA_MAGIC.get(data[:4])
    if kind is None:
        return
    raise ConfigurationError(
        f"{path.name} is a classic {kind} keystore, which genesys_tls cannot read; convert it to a PKCS12 "
        f"keystore with: keytool -importkeystore -srckeystore {path.name} -srcstoretype {kind} "
        f"-destkeystore {path.stem}.p12 -deststoretype PKCS12",
        file=str(path), object=location, valid="a PKCS12-type keystore (.p12, .pfx, or .jks of type PKCS12)",
    )


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
    for block in pem_blocks(data, _PRIVATE_KEY_LABEL):
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
    if secret is not None:
        pkcs12_password(secret, file=str(path), object=location)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except (ValueError, TypeError):
        reason = ("wrong password for the PKCS#12 file, or not a PKCS#12 file" if secret is not None
                  else "the PKCS#12 file is encrypted and no password was given, or it is not a PKCS#12 file")
        raise ConfigurationError(reason, file=str(path), object=location,
                                 valid="a PKCS#12 file and its password through the password environment "
                                       "variable") from None
    certs = [c for c in (cert, *extra) if c is not None]
    if not certs:
        raise ConfigurationError("the PKCS#12 file holds no certificate", file=str(path), object=location)
    entries = []
    key_spki = spki(key) if key is not None else None
    for c in certs:
        own_key = key if key_spki is not None and spki(c) == key_spki else None
        entries.append(StoreEntry(c, own_key, tuple(o for o in certs if o is not c), path, thumbprint(c)))
    return entries


def _pem_entries(path: Path, certs: list[x509.Certificate], keys: list[PrivateKeyTypes]) -> list[StoreEntry]:
    by_spki = {spki(k): k for k in keys}
    return [
        StoreEntry(c, by_spki.get(spki(c)), tuple(o for o in certs if o is not c), path, thumbprint(c))
        for c in certs
    ]


def _attach_keys(
    entries: list[StoreEntry], loose: list[tuple[Path, PrivateKeyTypes]], location: str
) -> list[StoreEntry]:
    """Give the keys of ``.key`` files to the certificates they belong to (matched by public key)."""
    if not loose:
        return entries
    index = {i: spki(e.certificate) for i, e in enumerate(entries)}
    out = list(entries)
    for path, key in loose:
        public = spki(key)
        owners = [i for i, s in index.items() if s == public]
        if not owners:
            raise ConfigurationError(
                "a private key of the store belongs to no certificate of the store", file=str(path),
                object=location, valid="each key next to its certificate",
            )
        for i in owners:
            if out[i].private_key is None:
                out[i] = attrs.evolve(out[i], private_key=key)
    return out


# ------------------------------------------------------------------------------------ host stores


def _paths(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class StoreLocation:
    """Where a Windows host's certificate store export lives (the ``store`` of a Host in an environment).

    Attributes:
        personal: the Personal store: folders and files of PEM certificates with their keys and PKCS#12
            files (``certificate`` thumbprints name these).
        trusted_roots: the Trusted Root Certification Authorities: folders or PEM bundles (``trusted-ca``
            thumbprints name these); empty when not given.
        password_env: the NAME of the environment variable holding the PKCS#12 and key passwords (see
            :func:`env_passwords`); never the password itself.
    """

    personal: tuple[str, ...] = attrs.field(converter=_paths)
    trusted_roots: tuple[str, ...] = attrs.field(default=(), converter=_paths)
    password_env: str | None = None

    def describe(self, part: str = "personal") -> str:
        """The paths of one part (``personal`` or ``trusted-roots``) as written, for messages."""
        return ", ".join(self.personal if part == "personal" else self.trusted_roots)

    def to_data(self) -> str | dict[str, object]:
        """The environment-format value (the short form when only the Personal part is given)."""
        if not self.trusted_roots and self.password_env is None and len(self.personal) == 1:
            return self.personal[0]
        out: dict[str, object] = {"personal": self.personal[0] if len(self.personal) == 1 else list(self.personal)}
        if self.trusted_roots:
            out["trusted-roots"] = (self.trusted_roots[0] if len(self.trusted_roots) == 1
                                    else list(self.trusted_roots))
        if self.password_env is not None:
            out["password-env"] = self.password_env
        return out

    def paths(self, part: str, base_dir: Path | None) -> tuple[Path, ...]:
        """The paths of one part, relative ones resolved against ``base_dir``."""
        listed = self.personal if part == "personal" else self.trusted_roots
        return tuple(p if p.is_absolute() or base_dir is None else base_dir / p for p in map(Path, listed))


def store_identity(paths: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """``(path, mtime_ns, size)`` of every file a store made of ``paths`` reads (folders listed): a key that
    changes when the store's export is replaced or edited."""
    out: list[tuple[str, int, int]] = []
    for path in paths:
        try:
            files = _store_files(path) if path.is_dir() else [path]
        except OSError:
            files = [path]
        for file in files:
            try:
                status = file.stat()
            except OSError:
                out.append((str(file), -1, -1))
            else:
                out.append((str(file.resolve()), status.st_mtime_ns, status.st_size))
    return tuple(out)


_cache_lock = threading.Lock()
_cache: dict[tuple[object, ...], CertificateStore] = {}
_CACHE_SIZE = 64


def load_location(
    location: StoreLocation, part: str, base_dir: Path | None, *, environ: Mapping[str, str] | None = None
) -> CertificateStore:
    """One part (``personal`` or ``trusted-roots``) of a host's store, read once per content: cached by the
    identity of its files (:func:`store_identity`) and a digest of the passwords it may use.

    Raises:
        ConfigurationError: as :meth:`CertificateStore.load`.
    """
    paths = location.paths(part, base_dir)
    env = os.environ if environ is None else environ
    secrets = hashlib.sha256()
    if location.password_env is not None:
        for name in sorted(n for n in env if n == location.password_env or n.startswith(location.password_env + "_")):
            secrets.update(name.encode() + b"=" + env[name].encode("utf-8", "surrogateescape") + b"\0")
    key = (part, store_identity(paths), location.password_env, secrets.hexdigest())
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    passwords = env_passwords(location.password_env, environ=environ) if location.password_env else None
    store = CertificateStore.load(list(paths), passwords=passwords)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[key] = store
    return store
