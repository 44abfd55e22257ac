"""CRL files (``tls-crl``): load them, check them against the trusted CAs, cache them, hand them to OpenSSL.

A Genesys ``tls-crl`` option names one file: PEM with one or more ``X509 CRL`` blocks, or one DER CRL. Before
a context uses it, :func:`check_crls` makes sure that every CRL in it

* was issued and signed by one of the trusted CA certificates (issuer name, signature, and the CA's keyUsage
  allows ``cRLSign`` when it has a keyUsage), else :attr:`~genesys_tls.errors.Category.CRL_UNAVAILABLE`;
* is current: ``thisUpdate <= now``, else ``CRL_UNAVAILABLE``; ``nextUpdate`` present, else
  ``CRL_UNAVAILABLE``, and later than now, else :attr:`~genesys_tls.errors.Category.CRL_EXPIRED`.

The result, :class:`CheckedCRLs`, holds a PEM copy of the CRLs that ``ssl.SSLContext.load_verify_locations``
can load: CPython reads CRLs from a ``cafile`` only, never from ``cadata``. Which certificates OpenSSL then
checks (the leaf, or the whole chain) is set by :mod:`genesys_tls.contexts`; see ``docs/crl.md``.

:class:`CRLCache` (and its shared instance :data:`default_cache`) reads and checks each file once, however many
connections use it, and re-checks only the dates on every use.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .errors import Category, ConfigurationError, TLSError

__all__ = ["OPTION", "CRLCache", "CheckedCRLs", "check_crls", "default_cache", "load_crls"]

#: The Genesys option that names a CRL file.
OPTION = "tls-crl"

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.*?-----END X509 CRL-----", re.DOTALL)
_VALID_FORMS = "a CRL file: PEM with one or more 'X509 CRL' blocks, or one DER CRL"

StrPath = str | os.PathLike[str]


# --- loading ----------------------------------------------------------------------------------------------


def _read(path: StrPath) -> tuple[bytes, tuple[int, int]]:
    """The bytes of a CRL file and the (st_mtime_ns, st_size) of what was read."""
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            data = handle.read()
    except FileNotFoundError:
        raise ConfigurationError("CRL file not found", file=os.fspath(path), option=OPTION) from None
    except OSError as exc:
        raise ConfigurationError(
            f"CRL file cannot be read ({exc.strerror or exc})", file=os.fspath(path), option=OPTION
        ) from None
    return data, (status.st_mtime_ns, status.st_size)


def _parse(data: bytes, path: StrPath) -> tuple[x509.CertificateRevocationList, ...]:
    file = os.fspath(path)
    if not data.strip():
        raise ConfigurationError("CRL file is empty", file=file, option=OPTION, valid=_VALID_FORMS)
    if _PEM_BLOCK.search(data):
        blocks = _PEM_CRL.findall(data)
        if not blocks:
            found = sorted({kind.decode("ascii") for kind in _PEM_BLOCK.findall(data)})
            raise ConfigurationError(
                f"PEM file holds no X509 CRL block (found: {', '.join(found)})",
                file=file, option=OPTION, valid=_VALID_FORMS,
            )
        crls = []
        for number, block in enumerate(blocks, start=1):
            try:
                crls.append(x509.load_pem_x509_crl(block))
            except ValueError as exc:
                raise ConfigurationError(
                    f"X509 CRL block {number} of {len(blocks)} cannot be parsed ({exc})",
                    file=file, option=OPTION, valid=_VALID_FORMS,
                ) from None
        return tuple(crls)
    try:
        return (x509.load_der_x509_crl(data),)
    except ValueError:
        raise ConfigurationError(
            "file is neither a PEM nor a DER CRL", file=file, option=OPTION, valid=_VALID_FORMS
        ) from None


def load_crls(path: StrPath) -> tuple[x509.CertificateRevocationList, ...]:
    """Read the CRLs of a ``tls-crl`` file.

    Args:
        path: a PEM file with one or more ``-----BEGIN X509 CRL-----`` blocks, or a DER file with one CRL.

    Returns:
        The CRLs, in file order.

    Raises:
        ConfigurationError: the file is missing, unreadable, empty, or holds no CRL that cryptography can
            parse; the error names the file and the option ``tls-crl``.
    """
    data, _ = _read(path)
    return _parse(data, path)


# --- the PEM copy for OpenSSL -----------------------------------------------------------------------------

_pem_lock = threading.Lock()
_pem_dir: Path | None = None


def _remove_pem_dir() -> None:
    if _pem_dir is not None:
        shutil.rmtree(_pem_dir, ignore_errors=True)


def _write_pem(crls: Sequence[x509.CertificateRevocationList]) -> Path:
    """A PEM file holding ``crls``, in a private (0700) directory removed at exit; one file per content."""
    global _pem_dir  # noqa: PLW0603 - one private directory per process, made on first use
    pem = b"".join(crl.public_bytes(serialization.Encoding.PEM) for crl in crls)
    name = f"crls-{hashlib.sha256(pem).hexdigest()[:32]}.pem"
    with _pem_lock:
        if _pem_dir is None or not _pem_dir.is_dir():
            if _pem_dir is None:
                atexit.register(_remove_pem_dir)
            _pem_dir = Path(tempfile.mkdtemp(prefix="genesys-tls-crl-"))
        target = _pem_dir / name
        if not target.is_file():
            descriptor, temporary = tempfile.mkstemp(dir=_pem_dir, suffix=".tmp")
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            os.replace(temporary, target)
        return target


# --- checking ---------------------------------------------------------------------------------------------


def _when(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _now(now: datetime.datetime | None) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=datetime.UTC)


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _allows_crl_sign(ca: x509.Certificate) -> bool:
    try:
        usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    except Exception:  # unparseable extensions: OpenSSL would not use this CA either
        return False
    return usage.crl_sign


def _signature_valid(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except Exception:  # a key type that cannot sign CRLs (X25519...) or an unsupported algorithm
        return False


@attrs.frozen
class CheckedCRLs:
    """CRLs whose issuers and signatures were checked against trusted CAs.

    Made by :func:`check_crls` and :meth:`CRLCache.get`; users do not build these.

    Attributes:
        crls: the CRLs, in file order.
        issuers: the issuer name of each CRL, in the same order.
        signers: the trusted CA certificate that signed each CRL, in the same order.
        pem_path: a PEM file with all the CRLs, for ``ssl.SSLContext.load_verify_locations(cafile=...)``.
            It lives in a private temporary directory removed when the process exits; never write to it.
        source: the ``tls-crl`` file the CRLs came from, when known.
    """

    crls: tuple[x509.CertificateRevocationList, ...]
    issuers: tuple[x509.Name, ...]
    signers: tuple[x509.Certificate, ...]
    pem_path: Path
    source: Path | None = None

    def check_validity(self, now: datetime.datetime | None = None) -> None:
        """Check that every CRL is current at ``now`` (default: the current time).

        Raises:
            TLSError: ``crl-expired`` when a nextUpdate has passed; ``crl-unavailable`` when a CRL is not
                valid yet or has no nextUpdate. The detail names the file, the issuer and the dates.
        """
        moment = _now(now)
        for index, crl in enumerate(self.crls):
            which = _which(index, len(self.crls), crl, self.source)
            this_update = crl.last_update_utc
            next_update = crl.next_update_utc
            if this_update > moment:
                raise TLSError(
                    Category.CRL_UNAVAILABLE,
                    f"{which} is not valid yet: thisUpdate {_when(this_update)} is after {_when(moment)}",
                )
            if next_update is None:
                raise TLSError(
                    Category.CRL_UNAVAILABLE,
                    f"{which} has no nextUpdate (thisUpdate {_when(this_update)}), so it cannot be "
                    "known current",
                )
            if next_update <= moment:
                raise TLSError(
                    Category.CRL_EXPIRED,
                    f"{which} has expired: nextUpdate {_when(next_update)} is not after {_when(moment)} "
                    f"(thisUpdate {_when(this_update)})",
                )

    def is_revoked(self, cert: x509.Certificate) -> bool:
        """Whether a CRL from ``cert``'s issuer lists ``cert``'s serial number."""
        return any(
            issuer == cert.issuer and crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            is not None
            for crl, issuer in zip(self.crls, self.issuers, strict=True)
        )

    def covers(self, issuer_cert: x509.Certificate) -> bool:
        """Whether a CRL signed by ``issuer_cert`` (same name and same key) is present.

        Without one, OpenSSL fails a CRL-checked handshake for the certificates it issued with "unable to
        get certificate CRL".
        """
        key = _spki(issuer_cert)
        return any(
            signer.subject == issuer_cert.subject and _spki(signer) == key for signer in self.signers
        )


def _which(
    index: int, count: int, crl: x509.CertificateRevocationList, source: Path | str | None
) -> str:
    where = f" of {source}" if source is not None else ""
    number = f" {index + 1} of {count}" if count > 1 else ""
    return f"CRL{number}{where} (issuer {crl.issuer.rfc4514_string()!r})"


def _signed(
    crls: Sequence[x509.CertificateRevocationList],
    trusted: Sequence[x509.Certificate],
    path: StrPath | None,
) -> CheckedCRLs:
    """Check issuers and signatures (not dates) and write the PEM copy."""
    source = Path(path) if path is not None else None
    if not crls:
        raise TLSError(Category.CRL_UNAVAILABLE, f"no CRL given{f' in {source}' if source else ''}")
    signers = []
    for index, crl in enumerate(crls):
        which = _which(index, len(crls), crl, source)
        named = [ca for ca in trusted if ca.subject == crl.issuer]
        if not named:
            known = "; ".join(repr(ca.subject.rfc4514_string()) for ca in trusted) or "none"
            raise TLSError(
                Category.CRL_UNAVAILABLE,
                f"{which} was not issued by a trusted CA (trusted: {known}); "
                f"thisUpdate {_when(crl.last_update_utc)}",
            )
        signer = next((ca for ca in named if _signature_valid(crl, ca)), None)
        if signer is None:
            raise TLSError(
                Category.CRL_UNAVAILABLE,
                f"{which} has a signature that does not verify with the key of the trusted CA of that name; "
                f"thisUpdate {_when(crl.last_update_utc)}",
            )
        if not _allows_crl_sign(signer):
            raise TLSError(
                Category.CRL_UNAVAILABLE,
                f"{which} is signed by a CA whose keyUsage does not allow cRLSign; "
                f"thisUpdate {_when(crl.last_update_utc)}",
            )
        signers.append(signer)
    return CheckedCRLs(
        crls=tuple(crls),
        issuers=tuple(crl.issuer for crl in crls),
        signers=tuple(signers),
        pem_path=_write_pem(crls),
        source=source,
    )


def check_crls(
    crls: Sequence[x509.CertificateRevocationList],
    trusted: Sequence[x509.Certificate],
    *,
    now: datetime.datetime | None = None,
    path: StrPath | None = None,
) -> CheckedCRLs:
    """Check CRLs against the trusted CAs and the clock.

    Args:
        crls: the CRLs, as :func:`load_crls` returns them.
        trusted: the CA certificates that may sign them (the ``trusted-ca`` file, plus intermediates to check
            CRLs of a whole chain).
        now: the time to check against; default the current time. A naive datetime is taken as UTC.
        path: the ``tls-crl`` file, named in error details.

    Returns:
        The checked CRLs, with a PEM copy at :attr:`CheckedCRLs.pem_path`.

    Raises:
        TLSError: ``crl-unavailable`` when a CRL's issuer is not trusted, its signature does not verify, the
            CA may not sign CRLs, or the CRL is not valid yet or has no nextUpdate; ``crl-expired`` when its
            nextUpdate has passed.
    """
    checked = _signed(crls, trusted, path)
    checked.check_validity(now)
    return checked


# --- the cache --------------------------------------------------------------------------------------------


class CRLCache:
    """Checked CRL files, read and signature-checked once per file version and trusted CA set.

    An entry is keyed by the file's absolute path and the SHA-256 fingerprints of the trusted CAs, and is
    valid while the file's ``st_mtime_ns`` and ``st_size`` stay the same: change either and the next
    :meth:`get` reads the file again. Dates are checked on every :meth:`get`, since a cached CRL can expire.
    Safe to share between threads.

    Attributes:
        hits: how many :meth:`get` calls were served from the cache.
        misses: how many read and checked a file.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, frozenset[bytes]], tuple[tuple[int, int], CheckedCRLs]] = {}
        self.hits = 0
        self.misses = 0

    def get(
        self, path: StrPath, trusted: Sequence[x509.Certificate], *, now: datetime.datetime | None = None
    ) -> CheckedCRLs:
        """The checked CRLs of ``path``, from the cache when the file has not changed.

        Args:
            path: the ``tls-crl`` file.
            trusted: the CA certificates that may sign the CRLs.
            now: the time the dates are checked against; default the current time.

        Returns:
            The same :class:`CheckedCRLs` object for as long as the file and ``trusted`` stay the same.

        Raises:
            ConfigurationError: as :func:`load_crls`.
            TLSError: as :func:`check_crls`.
        """
        absolute = os.path.abspath(path)
        key = (absolute, frozenset(ca.fingerprint(hashes.SHA256()) for ca in trusted))
        try:
            status = os.stat(absolute)
            stamp: tuple[int, int] | None = (status.st_mtime_ns, status.st_size)
        except OSError:
            stamp = None  # _read reports it
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == stamp:
                self.hits += 1
                checked = entry[1]
            else:
                self._entries.pop(key, None)
                self.misses += 1
                data, read_stamp = _read(absolute)
                checked = _signed(_parse(data, absolute), trusted, absolute)
                self._entries[key] = (read_stamp, checked)
        checked.check_validity(now)
        return checked

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


#: The cache the library's contexts share.
default_cache = CRLCache()
