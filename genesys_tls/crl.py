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

import datetime
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from . import _files
from ._pem import is_pem, pem_blocks, pem_labels, private_file, spki
from .errors import Category, ConfigurationError, Problem, TLSError

__all__ = ["OPTION", "CRLCache", "CheckedCRLs", "HandshakeCRLs", "check_crls", "default_cache", "load_crls"]

#: The Genesys option that names a CRL file.
OPTION = "tls-crl"

_VALID_FORMS = "a CRL file: PEM with one or more 'X509 CRL' blocks, or one DER CRL"

StrPath = str | os.PathLike[str]


# --- loading ----------------------------------------------------------------------------------------------


#: What tells one version of a file from another without reading it: (device, inode, size, mtime, ctime).
_Stamp = tuple[int, int, int, int, int]


def _stamp_of(status: os.stat_result) -> _Stamp:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _current_stamp(path: str) -> _Stamp | None:
    try:
        return _stamp_of(os.stat(path))
    except (OSError, ValueError):  # ValueError: a NUL in the path, refused by _read
        return None  # _read reports it


def _read(path: StrPath) -> tuple[bytes, _Stamp]:
    """The bytes of a CRL file and the stamp of what was read: a regular file of at most
    :data:`genesys_tls._files.MAX_CRL_BYTES`, read without blocking."""
    try:
        data, status = _files.read_regular_file_status(path, limit=_files.MAX_CRL_BYTES, what="CRL file")
    except ConfigurationError as exc:
        raise exc.located(option=OPTION) from None
    return data, _stamp_of(status)


def _parse(data: bytes, path: StrPath) -> tuple[x509.CertificateRevocationList, ...]:
    file = os.fspath(path)
    if not data.strip():
        raise ConfigurationError(
            "CRL file is empty", file=file, option=OPTION, valid=_VALID_FORMS, problem=Problem.FILE_FORMAT
        )
    if is_pem(data):
        blocks = pem_blocks(data, rb"X509 CRL")  # one pass: no quadratic scan of unterminated blocks
        if not blocks:
            found = sorted(set(pem_labels(data)))
            raise ConfigurationError(
                f"PEM file holds no X509 CRL block (found: {', '.join(found)})",
                file=file, option=OPTION, valid=_VALID_FORMS, problem=Problem.FILE_FORMAT,
            )
        crls = []
        for number, block in enumerate(blocks, start=1):
            try:
                crls.append(x509.load_pem_x509_crl(block))
            except ValueError as exc:
                raise ConfigurationError(
                    f"X509 CRL block {number} of {len(blocks)} cannot be parsed ({exc})",
                    file=file, option=OPTION, valid=_VALID_FORMS, problem=Problem.FILE_FORMAT,
                ) from None
        return tuple(crls)
    try:
        return (x509.load_der_x509_crl(data),)
    except ValueError:
        raise ConfigurationError(
            "file is neither a PEM nor a DER CRL", file=file, option=OPTION, valid=_VALID_FORMS,
            problem=Problem.FILE_FORMAT,
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

def _write_pem(crls: Sequence[x509.CertificateRevocationList]) -> Path:
    """A PEM file holding ``crls`` (the package's private temporary files), one file per content."""
    return private_file(b"".join(crl.public_bytes(serialization.Encoding.PEM) for crl in crls), "crls")


# --- checking ---------------------------------------------------------------------------------------------


def _when(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _now(now: datetime.datetime | None) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=datetime.UTC)


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
    #: (the latest thisUpdate, the earliest nextUpdate) of the CRLs, read once: every CRL is current between
    #: them. ``None`` when a CRL has no nextUpdate (never current) or there is none.
    _window: tuple[datetime.datetime, datetime.datetime] | None = attrs.field(init=False, eq=False, repr=False)

    @_window.default
    def _dates(self) -> tuple[datetime.datetime, datetime.datetime] | None:
        nexts = [crl.next_update_utc for crl in self.crls]
        if not self.crls or None in nexts:
            return None
        return max(crl.last_update_utc for crl in self.crls), min(n for n in nexts if n is not None)

    def check_validity(self, now: datetime.datetime | None = None) -> None:
        """Check that every CRL is current at ``now`` (default: the current time).

        Raises:
            TLSError: ``crl-expired`` when a nextUpdate has passed; ``crl-unavailable`` when a CRL is not
                valid yet or has no nextUpdate. The detail names the file, the issuer and the dates.
        """
        moment = _now(now)
        window = self._window
        if window is not None and window[0] <= moment < window[1]:
            return  # every CRL is current: no date is read again on the success path
        for index, crl in enumerate(self.crls):
            this_update = crl.last_update_utc
            next_update = crl.next_update_utc
            if this_update <= moment and next_update is not None and next_update > moment:
                continue  # current: no text is made on the success path
            which = _which(index, len(self.crls), crl, self.source)
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
        key = spki(issuer_cert)
        return any(
            signer.subject == issuer_cert.subject and spki(signer) == key for signer in self.signers
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
        pem_path=_write_pem(crls),  # written once per content
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


@attrs.frozen
class HandshakeCRLs:
    """The CRLs of one ``tls-crl`` file as a context loads them (:meth:`CRLCache.for_handshake`).

    Attributes:
        pem_path: the PEM file with every CRL, for ``load_verify_locations(cafile=...)``.
        checked_now: the CRLs whose signer is known and that were checked before the handshake.
        left_to_openssl: the CRLs of CAs the peer sends, which OpenSSL checks during the handshake.
        note: a statement about the CRLs left to OpenSSL (``None`` when there are none).
    """

    pem_path: Path
    checked_now: tuple[x509.CertificateRevocationList, ...]
    left_to_openssl: tuple[x509.CertificateRevocationList, ...]
    note: str | None
    source: Path | None = None
    _every: CheckedCRLs = attrs.field(init=False, eq=False, repr=False)

    @_every.default
    def _all(self) -> CheckedCRLs:
        every = self.checked_now + self.left_to_openssl
        return CheckedCRLs(every, tuple(c.issuer for c in every), (), self.pem_path, self.source)

    def check_dates(self, now: datetime.datetime | None = None) -> None:
        """Check that every CRL is current at ``now`` (as :meth:`CheckedCRLs.check_validity`).

        Raises:
            TLSError: ``crl-expired`` or ``crl-unavailable``.
        """
        self._every.check_validity(now)


# --- the cache --------------------------------------------------------------------------------------------


class CRLCache:
    """Checked CRL files, read and signature-checked once per file version and trusted CA set.

    An entry is keyed by the file's absolute path and the SHA-256 fingerprints of the trusted CAs, and is
    valid while the file's device, inode, size, ``st_mtime_ns`` and ``st_ctime_ns`` stay the same: change any
    (a rewrite, a rename-into-place) and the next :meth:`get` reads the file again. The parsed CRLs of one
    file version are shared by every trusted CA set that checks them (one parsed copy per version).
    Dates are checked on every :meth:`get`, since a cached CRL can expire.
    Safe to share between threads.

    Attributes:
        hits: how many :meth:`get` calls were served from the cache.
        misses: how many read and checked a file.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, frozenset[bytes]], tuple[_Stamp, CheckedCRLs]] = {}
        self._split: dict[tuple[str, frozenset[bytes]], tuple[_Stamp | None, HandshakeCRLs]] = {}
        # One parsed copy per file version, shared by every trusted set: path -> (stamp, CRLs).
        self._parsed: dict[str, tuple[_Stamp, tuple[x509.CertificateRevocationList, ...]]] = {}
        self._fingerprint_memo: dict[tuple[int, ...], tuple[tuple[x509.Certificate, ...], frozenset[bytes]]] = {}
        # id(checked) -> (checked, its HandshakeCRLs): the same view of a checked file version on every use.
        self._views: dict[int, tuple[CheckedCRLs, HandshakeCRLs]] = {}
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
        key = (absolute, self._fingerprints(trusted))
        stamp = _current_stamp(absolute)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == stamp:
                self.hits += 1
                checked = entry[1]
            else:
                self._entries.pop(key, None)
                self.misses += 1
                read_stamp, crls = self._parse_version(absolute, stamp)
                checked = _signed(crls, trusted, absolute)
                self._entries[key] = (read_stamp, checked)
        checked.check_validity(now)
        return checked

    def _fingerprints(self, cas: Sequence[x509.Certificate]) -> frozenset[bytes]:
        """The SHA-256 fingerprints of ``cas``, hashed once per set of certificate objects."""
        ids = tuple(id(ca) for ca in cas)
        with self._lock:
            memo = self._fingerprint_memo.get(ids)
        if memo is not None:
            return memo[1]
        prints = frozenset(ca.fingerprint(hashes.SHA256()) for ca in cas)
        with self._lock:
            if len(self._fingerprint_memo) >= 1024:
                self._fingerprint_memo.clear()
            self._fingerprint_memo[ids] = (tuple(cas), prints)  # the objects stay alive: ids stay theirs
        return prints

    def _parse_version(
        self, absolute: str, stamp: _Stamp | None
    ) -> tuple[_Stamp, tuple[x509.CertificateRevocationList, ...]]:
        """The parsed CRLs of the file's current version, parsed once per version (lock held)."""
        parsed = self._parsed.get(absolute)
        if parsed is not None and parsed[0] == stamp:
            return parsed
        data, read_stamp = _read(absolute)
        crls = _parse(data, absolute)
        self._parsed[absolute] = (read_stamp, crls)
        # Entries of older versions of this file go: their parsed CRLs are not kept alive by the cache.
        for old in [k for k, (s, _) in self._entries.items() if k[0] == absolute and s != read_stamp]:
            del self._entries[old]
        return read_stamp, crls

    def for_handshake(
        self, path: StrPath, signers: Sequence[x509.Certificate], *, now: datetime.datetime | None = None
    ) -> HandshakeCRLs:
        """The CRLs of ``path`` for a context: those checked now, and those left to OpenSSL.

        Every CRL signed by one of ``signers`` is checked here (as :meth:`get`). A two-tier PKI is the one
        exception: ``trusted-ca`` holds the root, the peer sends its issuing CA, and ``tls-crl`` holds the
        issuing CA's CRL. Such a CRL cannot be checked before the handshake (its signer is not known yet);
        OpenSSL checks it during the handshake against the issuing CA of the verified chain, as ``openssl
        verify -crl_check`` does, and a CRL that does not verify leaves the certificate without a CRL
        (``crl-unavailable``). The dates of every CRL are checked on every call. Anything else :meth:`get`
        refuses (a bad signature by a known CA...) stays refused.

        Raises:
            ConfigurationError: as :func:`load_crls`.
            TLSError: as :func:`check_crls`.
        """
        cas = tuple(signers)
        try:
            checked = self.get(path, cas, now=now)
            view = self._views.get(id(checked))
            if view is None or view[0] is not checked:
                if len(self._views) >= 1024:
                    self._views.clear()
                view = (checked, HandshakeCRLs(checked.pem_path, checked.crls, (), None, checked.source))
                self._views[id(checked)] = view
            return view[1]
        except TLSError as exc:
            if exc.category is not Category.CRL_UNAVAILABLE:
                raise
            refusal = exc
        absolute = os.path.abspath(path)
        stamp = _current_stamp(absolute)
        key = (absolute, self._fingerprints(cas))
        with self._lock:
            memo = self._split.get(key)
        if memo is None or memo[0] != stamp:
            crls = load_crls(absolute)
            names = {ca.subject for ca in cas}
            known = tuple(crl for crl in crls if crl.issuer in names)
            unknown = tuple(crl for crl in crls if crl.issuer not in names)
            if not unknown:
                raise refusal
            if known:
                check_crls(known, cas, path=path)
            issuers = "; ".join(sorted({repr(crl.issuer.rfc4514_string()) for crl in unknown}))
            note = (
                f"tls-crl {path}: the CRL(s) of {issuers} are not signed by a trusted-ca certificate; OpenSSL "
                "checks them during the handshake against the issuing CA the peer sends"
            )
            memo = (stamp, HandshakeCRLs(_write_pem(crls), known, unknown, note, Path(path)))
            with self._lock:
                self._split[key] = memo
        split = memo[1]
        split.check_dates(now)  # on every use, with this module's rules and messages
        return split

    def confirm(self, crls: HandshakeCRLs, *, now: datetime.datetime | None = None) -> HandshakeCRLs:
        """Check again the dates of ``crls`` (from :meth:`for_handshake`) for a context whose files are known
        unchanged (the context cache compared their versions): a hit, without reading the file's state again.

        Raises:
            TLSError: ``crl-expired`` or ``crl-unavailable``, as :meth:`for_handshake`.
        """
        crls.check_dates(now)
        with self._lock:
            self.hits += 1
        return crls

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._split.clear()
            self._parsed.clear()
            self._fingerprint_memo.clear()
            self._views.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


#: The cache the library's contexts share.
default_cache = CRLCache()
