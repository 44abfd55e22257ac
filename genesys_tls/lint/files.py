"""Checks of certificate, key and CRL file content (GT3xx, GT4xx), and the file facts the link checks use.

Where a file is named (one level of the environment), :func:`check_files` reports what the file itself gets
wrong: unreadable, not PEM, a key that is not the certificate's, dates, a CRL its own side's CAs did not sign.
For both ends of a link, :func:`side_files` loads what a side presents and trusts, :func:`verify_chain`
walks a chain to its anchors and :func:`revocation` says what a side's CRLs make of the peer's certificate.
Files are read through the run's :class:`~genesys_tls.lint.context.FileCache` (once each); answers are memoized
per distinct input. Internal to lint: users call :func:`genesys_tls.lint.lint`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from .._pem import is_ca, spki
from ..catalogue import CATALOGUE, FILE_PROVIDER, Kind, Level, is_thumbprint
from ..errors import TLSError
from ..resolve import ResolvedSecurity
from .context import LintContext
from .rules import RULES

__all__ = ["SideFiles", "check_files", "crl_untrusted", "revocation", "side_files", "verify_chain"]


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _days(delta: datetime.timedelta) -> str:
    days = delta.days
    if days < 1:
        hours = int(delta.total_seconds() // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{days} day{'s' if days != 1 else ''}"


def _subject(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string() or "(empty subject)"
    except Exception:  # a malformed name: never let a message crash the run
        return "(unreadable subject)"


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether ``parent`` signed ``child`` (name chaining and signature, via cryptography)."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def verify_chain(chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> str | None:
    """Check that ``chain`` (leaf first, then intermediates in any order) leads to one of ``anchors``.

    Walks from the leaf to its issuer, taken from the anchors first and then from the intermediates, checking
    each signature with :meth:`cryptography.x509.Certificate.verify_directly_issued_by`. A certificate that
    is itself an anchor ends the walk. Dates and extensions are not checked here (other rules report them).

    Args:
        chain: the certificates a peer sends, leaf first.
        anchors: the trusted CA certificates.

    Returns:
        ``None`` when the chain verifies, else the reason in one sentence.
    """
    if not chain:
        return "there is no certificate"
    anchor_prints = {_fingerprint(a) for a in anchors}
    current = chain[0]
    pool = list(chain[1:])
    for _ in range(len(chain) + 1):
        if _fingerprint(current) in anchor_prints:
            return None
        if any(_issued_by(current, anchor) for anchor in anchors):
            return None
        step = next((c for c in pool if _issued_by(current, c)), None)
        if step is None:
            break
        pool.remove(step)
        current = step
    issuer = current.issuer.rfc4514_string()
    if any(anchor.subject == current.issuer for anchor in anchors) or any(
        c.subject == current.issuer for c in pool
    ):
        return (
            f"a CA named {issuer!r} is there, but its key did not sign {_subject(current)!r} (another CA with "
            "the same name, or a corrupted certificate)"
        )
    trusted = "; ".join(sorted({_subject(a) for a in anchors})[:5]) or "none"
    return (
        f"nothing trusted issued {_subject(current)!r}: its issuer {issuer!r} is neither in the trusted CAs "
        f"({trusted}) nor among the intermediates in the certificate file"
    )


def _path_values(ctx: LintContext, value: str, *, chain: bool = False) -> list[Path]:
    """The files an option value names (a ``chain``, as ``certificate`` is, may be comma-separated), made
    absolute."""
    parts = value.split(",") if chain else [value]
    out = []
    for part in parts:
        path = Path(part.strip())
        if not path.is_absolute() and ctx.env.base_dir is not None:
            path = ctx.env.base_dir / path
        out.append(path)
    return out


def check_files(ctx: LintContext, obj: str, level: Level, valid: Mapping[str, str]) -> None:
    """The file checks of one level's own values (GT3xx): each certificate, key, CA and CRL file is
    readable, PEM, in date and consistent."""
    pem = valid.get("provider", FILE_PROVIDER) == FILE_PROVIDER
    certs: list[x509.Certificate] | None = None
    for name in ("certificate", "trusted-ca"):
        value = valid.get(name)
        if value is None or not pem or is_thumbprint(value):
            continue
        loaded = _load_certificates(ctx, obj, level, name, value)
        if name == "certificate":
            certs = loaded
    key_value = valid.get("certificate-key")
    if key_value is not None and pem:
        key_path = _path_values(ctx, key_value)[0]
        entry = ctx.files.private_key(key_path)
        if entry.problem is not None:
            _file_problem(ctx, obj, level, "certificate-key", entry.problem)
        elif certs and entry.value is not None and spki(entry.value) != spki(certs[0]):
            ctx.emit(
                RULES["GT304"].finding(
                    obj,
                    f"certificate-key {key_path} is not the private key of certificate "
                    f"{_subject(certs[0])!r} (the public keys differ)",
                    level=level,
                    option="certificate-key",
                )
            )
    crl_value = valid.get("tls-crl")
    if crl_value is not None:
        crl_path = _path_values(ctx, crl_value)[0]
        entry_crl = ctx.files.crls(crl_path)
        if entry_crl.problem is not None:
            _file_problem(ctx, obj, level, "tls-crl", entry_crl.problem)
        elif entry_crl.value is not None:
            for code, message in ctx.memo(("crl-dates", str(crl_path)), lambda: _crl_dates(ctx, crl_path)):
                ctx.emit(RULES[code].finding(obj, message, level=level, option="tls-crl"))
            _check_crl_trust_here(ctx, obj, level, valid, crl_path, entry_crl.value)


def _check_crl_trust_here(
    ctx: LintContext,
    obj: str,
    level: Level,
    valid: Mapping[str, str],
    crl_path: Path,
    crls: Sequence[x509.CertificateRevocationList],
) -> None:
    """A CRL named next to a trusted-ca (and maybe a certificate) at the same level: are they of one PKI?

    The signers are those genesys_tls.contexts uses: the trusted CAs and the CA certificates among the
    intermediates of the certificate file. The message is the one the link checks give, so a link that uses
    the same pair adds no second finding.
    """
    ca_value = valid.get("trusted-ca")
    if ca_value is None or is_thumbprint(ca_value) or valid.get("provider", FILE_PROVIDER) != FILE_PROVIDER:
        return
    ca_path = _path_values(ctx, ca_value)[0]
    trusted = ctx.files.certificates(ca_path).value
    if not trusted:
        return
    own: tuple[x509.Certificate, ...] = ()
    cert_key = ""
    cert_value = valid.get("certificate")
    if cert_value is not None and not is_thumbprint(cert_value):
        paths = _path_values(ctx, cert_value, chain=True)
        loaded = [ctx.files.certificates(p).value for p in paths]
        if all(loaded):
            own = tuple(c for certs in loaded for c in (certs or ())[1:] if is_ca(c))
            cert_key = str(paths[0]) if own else ""
    signers = (*trusted, *own)
    verdict = ctx.memo(
        ("crl-trust", str(crl_path), f"{ca_path}+{cert_key}"), lambda: _trust_crls(crls, signers, crl_path)
    )
    if isinstance(verdict, str):
        crl_untrusted(ctx, obj, level, crl_path, str(ca_path), verdict)


def crl_untrusted(ctx: LintContext, obj: str, level: str | Level | None, crl: Path, ca: str, why: str) -> None:
    """GT404 for a CRL file its side's trusted-ca cannot vouch for (one message wherever it is found)."""
    ctx.emit(
        RULES["GT404"].finding(
            obj, f"tls-crl {crl} cannot be used with trusted-ca {ca}: {why}", level=level, option="tls-crl"
        )
    )


def _load_certificates(
    ctx: LintContext, obj: str, level: Level, name: str, value: str
) -> list[x509.Certificate] | None:
    out: list[x509.Certificate] = []
    ok = True
    for path in _path_values(ctx, value, chain=CATALOGUE[name].kind is Kind.CERTIFICATE):
        entry = ctx.files.certificates(path)
        if entry.problem is not None:
            _file_problem(ctx, obj, level, name, entry.problem)
            ok = False
            continue
        assert entry.value is not None  # noqa: S101 - a loaded entry without a problem has a value
        out.extend(entry.value)
        for code, message in _cert_dates_of(ctx, path, entry.value):
            ctx.emit(RULES[code].finding(obj, message, level=level, option=name))
    return out if ok else None


def _file_problem(ctx: LintContext, obj: str, level: Level, option: str, problem: Any) -> None:
    ctx.emit(RULES[problem.code].finding(obj, f"{option}: {problem.message}", level=level, option=option))


def _cert_dates_of(
    ctx: LintContext, path: Path, certs: Sequence[x509.Certificate]
) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = ctx.memo(("cert-dates", str(path)), lambda: _cert_dates(ctx, path, certs))
    return result


def _cert_dates(ctx: LintContext, path: Path, certs: Sequence[x509.Certificate]) -> list[tuple[str, str]]:
    out = []
    soon = ctx.now + datetime.timedelta(days=ctx.expiry_days)
    for cert in certs:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        who = f"{path}: certificate {_subject(cert)!r}"
        if end <= ctx.now:
            out.append(("GT305", f"{who} expired on {_utc(end)} ({_days(ctx.now - end)} ago)"))
        elif start > ctx.now:
            out.append(("GT307", f"{who} is not valid before {_utc(start)}"))
        elif end <= soon:
            out.append(
                ("GT306", f"{who} expires on {_utc(end)}, in {_days(end - ctx.now)} (window: {ctx.expiry_days} days)")
            )
    return out


def _crl_dates(ctx: LintContext, path: Path) -> list[tuple[str, str]]:
    entry = ctx.files.crls(path)
    crls = entry.value or ()
    out = []
    soon = ctx.now + datetime.timedelta(days=ctx.expiry_days)
    for index, crl in enumerate(crls):
        number = f" {index + 1} of {len(crls)}" if len(crls) > 1 else ""
        which = f"{path}: CRL{number} of {crl.issuer.rfc4514_string()!r}"
        this_update, next_update = crl.last_update_utc, crl.next_update_utc
        if this_update > ctx.now:
            out.append(("GT403", f"{which} is not valid before its thisUpdate {_utc(this_update)}"))
        elif next_update is None:
            out.append(("GT403", f"{which} has no nextUpdate, so it can never be known current"))
        elif next_update <= ctx.now:
            out.append(("GT401", f"{which} expired: nextUpdate {_utc(next_update)} has passed"))
        elif next_update <= soon:
            out.append(
                (
                    "GT402",
                    f"{which} expires on {_utc(next_update)}, in {_days(next_update - ctx.now)} "
                    f"(window: {ctx.expiry_days} days)",
                )
            )
    return out


# =========================================================================================== resolved sides


@attrs.frozen
class SideFiles:
    """What one end of a link presents and trusts, loaded from the files (``None``: unset or unusable)."""

    chain: tuple[x509.Certificate, ...] | None
    chain_key: tuple[str, ...]
    trusted: tuple[x509.Certificate, ...] | None
    trusted_key: str | None
    thumbprint: bool

    @property
    def crl_signers(self) -> tuple[tuple[x509.Certificate, ...], str] | None:
        """The CAs that may sign this side's CRLs, as genesys_tls.contexts uses them: the trusted CAs and the
        CA certificates among its own intermediates; with a key for memoization."""
        if self.trusted is None or self.trusted_key is None:
            return None
        own = tuple(c for c in (self.chain or ())[1:] if is_ca(c))
        return (*self.trusted, *own), f"{self.trusted_key}+{','.join(self.chain_key[:1]) if own else ''}"


def side_files(ctx: LintContext, res: ResolvedSecurity) -> SideFiles:
    """The certificates, key and trust of one resolved side, read once per run through the lint file cache."""
    def build() -> SideFiles:
        chain: tuple[x509.Certificate, ...] | None = None
        chain_key: tuple[str, ...] = ()
        trusted: tuple[x509.Certificate, ...] | None = None
        trusted_key: str | None = None
        thumbprint = False
        pem = res.uses_pem_files
        if res.certificate_in_store:
            thumbprint = True
        elif res.has_certificate and pem:
            paths = res.certificate_paths
            loaded = [ctx.files.certificates(p) for p in paths]
            if all(e.value for e in loaded):
                chain = tuple(c for e in loaded for c in e.value or ())
                chain_key = tuple(str(p) for p in paths)
        path = res.trusted_ca_path if res.has_trusted_ca and not res.trusted_ca_in_store and pem else None
        if path is not None:
            entry = ctx.files.certificates(path)
            if entry.value:
                trusted, trusted_key = tuple(entry.value), str(path)
        return SideFiles(chain, chain_key, trusted, trusted_key, thumbprint)

    # Relative paths resolve against the environment's folder, the same for every object of a run.
    key = ("side", res.certificate, res.trusted_ca, res.provider)
    result: SideFiles = ctx.memo(key, build)
    return result


def revocation(
    crls: Sequence[x509.CertificateRevocationList],
    signers: Sequence[x509.Certificate],
    path: Path,
    chain: Sequence[x509.Certificate],
    trusted: Sequence[x509.Certificate],
) -> tuple[str, str] | None:
    """What the CRLs of ``path`` say about ``chain``'s leaf: ``("untrusted", why)``, ``("revoked", serial)``,
    ``("no-issuer", issuer subject)`` or ``None`` (fine, or dates make the question moot)."""
    checked = _trust_crls(crls, signers, path)
    if isinstance(checked, str):
        return "untrusted", checked
    if checked is None:
        return None  # no moment where every CRL is current: GT401/GT403 report the dates
    leaf = chain[0]
    if checked.is_revoked(leaf):
        return "revoked", f"{leaf.serial_number:#x}"
    issuer = next((c for c in (*trusted, *chain[1:]) if _issued_by(leaf, c)), None)
    if issuer is not None and not checked.covers(issuer):
        return "no-issuer", repr(_subject(issuer))
    return None


def _trust_crls(
    crls: Sequence[x509.CertificateRevocationList], trusted: Sequence[x509.Certificate], path: Path
) -> Any:
    """The CRLs checked against the trusted CAs: ``CheckedCRLs``, a reason (str), or None (no common window).

    ``crl.check_crls`` checks signatures and dates together; the dates are reported by GT401-GT403 where the
    file is named, so the signatures are checked at a moment when every CRL is current (the latest
    thisUpdate), and only the signature verdict is taken from it.
    """
    from ..crl import check_crls

    if any(c.next_update_utc is None for c in crls):
        return None
    probe = max(c.last_update_utc for c in crls)
    if probe >= min(c.next_update_utc for c in crls if c.next_update_utc is not None):
        return None
    try:
        return check_crls(crls, trusted, now=probe, path=path)
    except TLSError as exc:
        return exc.detail
