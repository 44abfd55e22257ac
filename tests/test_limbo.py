"""x509-limbo's SERVER cases as real TLS handshakes through the library's client path, with plain OpenSSL
(``openssl verify``) as the baseline.

For each SERVER case (``validation_kind == "SERVER"``):

* a server thread on 127.0.0.1 (one listening socket for the whole module, one handshake per case) presents
  ``peer_certificate`` + ``untrusted_intermediates`` with ``peer_certificate_key`` (a case without a key is
  skipped, saying so);
* the client is the library's: an environment whose client application has ``trusted-ca`` = the case's
  ``trusted_certs``, ``tls-target-name-check=host`` and ``tls-target-name`` = ``expected_peer_name`` (no name
  check when the case has none), ``tls-crl`` = the case's CRLs when it has some; then
  :func:`genesys_tls.contexts.client_plan` (which builds :func:`~genesys_tls.contexts.client_context`) and
  :func:`genesys_tls.handshake.connect`, dialling 127.0.0.1 while checking the case's name;
* the outcome (handshake ok -> ``SUCCESS``, else ``FAILURE``; a configuration the library refuses is a
  ``FAILURE`` too) is compared with ``expected_result``.

Every case where the library's outcome differs from the suite's is listed in :data:`LIBRARY_DIFFERENCES` with the
reason; the per-case test fails for an unlisted difference and for a listed one that no longer happens, and
``docs/limbo.md`` must carry the same list (regenerate it with ``GENESYS_TLS_WRITE_LIMBO_DOC=1 pytest
tests/test_limbo.py``).

Python's :mod:`ssl` has no verification-time setting, so the library always validates at the current time. A case
with a ``validation_time`` whose certificates or CRLs are valid at one of that time and now but not at the other
cannot be reproduced; such cases are compared with the same limitation applied to OpenSSL: the baseline the
library must match or beat is ``openssl verify`` at the current time (no ``-attime``). The faithful baseline
(``-attime <validation_time>``) is reported too.

The vectors stay beside the project (``../shared/vectors/x509-limbo.json`` from the project root): absent, the
cases are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT.parent / "shared" / "vectors" / "x509-limbo.json"
DOC = ROOT / "docs" / "limbo.md"
LOOPBACK = "127.0.0.1"
#: Bound of one handshake / one ``openssl verify``, seconds.
TIMEOUT = 10.0

SUCCESS, FAILURE, SKIPPED = "SUCCESS", "FAILURE", "SKIPPED"

# --------------------------------------------------------------------------------------- differences

_TIME = (
    "validation_time not reproducible: Python's ssl has no verification-time setting and the chain has expired "
    "by now; plain OpenSSL at the same clock fails too"
)
_TIME_NOTAFTER = (
    _TIME + "; even at the validation_time (-attime) OpenSSL fails it: X509_cmp_time treats notAfter as exclusive"
)
_RFC5280 = (
    "RFC 5280 profile rule that OpenSSL does not enforce (only X509_V_FLAG_X509_STRICT checks some; Genesys "
    "components and the library do not set it); plain OpenSSL accepts it too"
)
_CABF = (
    "CA/Browser Forum (Web PKI) rule; Genesys validates with OpenSSL's RFC 5280 profile (private PKIs), not the "
    "Web PKI profile; plain OpenSSL accepts it too"
)
_CN_CONSISTENCY = (
    "CABF 7.1.4.3 (subject CN must copy a SAN entry); OpenSSL checks the name against the SAN and ignores the CN "
    "when a SAN is present; plain OpenSSL accepts it too"
)
_CHAIN_BUILDING = (
    "OpenSSL's chain building does not backtrack to another candidate path once the first one fails; plain "
    "OpenSSL fails too"
)
_PURPOSE = (
    "the TLS server purpose check (X509_PURPOSE_SSL_SERVER, which every OpenSSL TLS client applies) refuses a "
    "CA certificate as the server's certificate; plain openssl verify (no -purpose) accepts it"
)
_NC_WILDCARD = (
    "name constraints against a wildcard SAN: OpenSSL matches the SAN text '*.example.com' against the excluded "
    "subtree 'bar.example.com' literally, so it is not excluded; plain OpenSSL accepts it too"
)
_NC_SYNTAX = (
    "OpenSSL does not check the syntax of dNSName constraints or SANs in name-constraint processing; plain "
    "OpenSSL accepts it too"
)
_MAX_DEPTH = (
    "max_chain_depth: Genesys has no option for a maximum chain depth, so OpenSSL's default (100) applies; "
    "plain OpenSSL accepts it too"
)

#: Every SERVER case where the library's outcome differs from x509-limbo's ``expected_result``, with the reason.
#: ``docs/limbo.md`` carries the same list (checked by :func:`test_doc_lists_the_same_differences`).
LIBRARY_DIFFERENCES: dict[str, str] = {
    # -- deliberate (Genesys behaviour)
    "webpki::san::no-san": (
        "Genesys CN fallback: tls-target-name-check=host accepts the subject CN of a certificate without a DNS "
        "SAN (the library sets hostname_checks_common_name); the Web PKI requires a SAN"
    ),
    # -- the validation time cannot be set
    "rfc5280::validity::notbefore-exact": _TIME + " (with -attime it succeeds)",
    "rfc5280::validity::notafter-exact": _TIME_NOTAFTER,
    "rfc5280::validity::notafter-fractional": _TIME_NOTAFTER,
    # -- OpenSSL's verifier: chain building, purpose, depth
    "cve::cve-2024-0567": _CHAIN_BUILDING + " (cross-signed cycle A <-> B <-> C resolved only through the "
    "self-signed A)",
    "rfc5280::nc::nc-forbids-alternate-chain-ica": _CHAIN_BUILDING,
    "rfc5280::nc::nc-forbids-same-chain-ica": _CHAIN_BUILDING,
    "rfc5280::root-and-intermediate-swapped": (
        "the trust anchor is an intermediate: OpenSSL needs a self-signed root in the trust store unless "
        "X509_V_FLAG_PARTIAL_CHAIN is set (Genesys components do not set it); plain OpenSSL fails too"
    ),
    "pathlen::validation-ignores-pathlen-in-leaf": _PURPOSE,
    "rfc5280::ca-as-leaf": _PURPOSE,
    "pathlen::max-chain-depth-0-exhausted": _MAX_DEPTH,
    "pathlen::max-chain-depth-1-exhausted": _MAX_DEPTH,
    # -- CRLs
    "crl::crlnumber-missing": (
        "RFC 5280 5.2.3 (a CRL MUST carry CRLNumber): neither OpenSSL nor genesys_tls.crl requires it; plain "
        "OpenSSL accepts the CRL too"
    ),
    # -- name constraints
    "cve::cve-2025-61727": _NC_WILDCARD,
    "rfc5280::nc::nc-forbids-dnsname-wildcard-san": _NC_WILDCARD,
    "rfc5280::nc::invalid-dnsname-leading-period": _NC_SYNTAX,
    "rfc5280::nc::nc-permits-invalid-dns-san": _NC_SYNTAX,
    "rfc5280::nc::permitted-dns-match-noncritical": _RFC5280 + " (non-critical NameConstraints)",
    "rfc5280::nc::not-allowed-in-ee-noncritical": _RFC5280 + " (NameConstraints in an end-entity certificate)",
    "rfc5280::nc::not-allowed-in-ee-critical": _RFC5280 + " (NameConstraints in an end-entity certificate)",
    "webpki::nc::intermediate-permitted-excluded-subtrees-both-null": _CABF + " (empty NameConstraints)",
    "webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences": _CABF + " (empty NameConstraints)",
    # -- RFC 5280 profile
    "rfc5280::aki::leaf-missing-aki": _RFC5280 + " (authorityKeyIdentifier missing)",
    "rfc5280::aki::intermediate-missing-aki": _RFC5280 + " (authorityKeyIdentifier missing)",
    "rfc5280::ski::root-missing-ski": _RFC5280 + " (subjectKeyIdentifier missing)",
    "rfc5280::ski::intermediate-missing-ski": _RFC5280 + " (subjectKeyIdentifier missing)",
    "rfc5280::pc::ica-noncritical-pc": _RFC5280 + " (non-critical PolicyConstraints)",
    "rfc5280::san::noncritical-with-empty-subject": _RFC5280 + " (empty subject with a non-critical SAN)",
    "rfc5280::san::underscore-dns": _RFC5280 + " (underscore in a dNSName SAN)",
    "rfc5280::serial::too-long": _RFC5280 + " (serial number longer than 20 octets)",
    "rfc5280::serial::zero": _RFC5280 + " (serial number zero)",
    "rfc5280::root-missing-basic-constraints": _RFC5280 + " (trust anchor without basicConstraints)",
    "rfc5280::root-non-critical-basic-constraints": _RFC5280 + " (non-critical basicConstraints in the root)",
    "rfc5280::leaf-ku-keycertsign": _RFC5280 + " (keyCertSign in a cA=FALSE certificate)",
    # -- Web PKI (CA/Browser Forum) profile
    "webpki::aki::root-with-aki-missing-keyidentifier": _CABF + " (root AKI without keyIdentifier)",
    "webpki::cn::ipv4-hex-mismatch": _CN_CONSISTENCY,
    "webpki::cn::ipv4-leading-zeros-mismatch": _CN_CONSISTENCY,
    "webpki::cn::ipv6-uppercase-mismatch": _CN_CONSISTENCY,
    "webpki::cn::ipv6-uncompressed-mismatch": _CN_CONSISTENCY,
    "webpki::cn::ipv6-non-rfc5952-mismatch": _CN_CONSISTENCY,
    "webpki::cn::punycode-not-in-san": _CN_CONSISTENCY,
    "webpki::cn::utf8-vs-punycode-mismatch": _CN_CONSISTENCY,
    "webpki::cn::not-in-san": _CN_CONSISTENCY,
    "webpki::cn::case-mismatch": _CN_CONSISTENCY,
    "webpki::eku::ee-anyeku": _CABF + " (anyExtendedKeyUsage beside serverAuth in the leaf)",
    "webpki::eku::ee-critical-eku": _CABF + " (critical extKeyUsage in the leaf)",
    "webpki::eku::ee-without-eku": _CABF + " (leaf without extKeyUsage, which RFC 5280 allows)",
    "webpki::eku::root-has-eku": _CABF + " (extKeyUsage in the root)",
    "webpki::san::public-suffix-multi-label-wildcard-san": _CABF + " (wildcard over a public suffix: needs the "
    "Public Suffix List, which OpenSSL does not use)",
    "webpki::san::public-suffix-private-namespace-wildcard-san": _CABF + " (wildcard over a public suffix: needs "
    "the Public Suffix List, which OpenSSL does not use)",
    "webpki::san::san-critical-with-nonempty-subject": _CABF + " (critical SAN with a non-empty subject)",
    "webpki::malformed-aia": _CABF + " (empty authorityInfoAccess; OpenSSL does not read AIA when verifying)",
    "webpki::forbidden-dsa-root": _CABF + " (DSA-3072 root key, which passes OpenSSL security level 2)",
    "webpki::forbidden-rsa-not-divisible-by-8-in-root": _CABF + " (RSA-2052 root key)",
    "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf": _CABF + " (RSA-2052 leaf key)",
    "webpki::v1-cert": _CABF + " (X.509 v2 leaf)",
    "webpki::ee-basicconstraints-ca": _CABF + " (cA=TRUE in a leaf without keyCertSign)",
}


# ----------------------------------------------------------------------------------------------- data


def load_cases() -> list[dict[str, Any]]:
    """The SERVER test cases of x509-limbo (empty when the vectors are absent)."""
    if not VECTORS.is_file():
        return []
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    return [c for c in data["testcases"] if c["validation_kind"] == "SERVER"]


CASES = load_cases()
CASES_BY_ID = {c["id"]: c for c in CASES}
NO_VECTORS = f"x509-limbo vectors absent: {VECTORS} (they stay beside the project; CI has them)"


def _param_cases() -> list[Any]:
    if not CASES:
        return [pytest.param(None, id="no-vectors", marks=pytest.mark.skip(reason=NO_VECTORS))]
    return [pytest.param(c["id"], id=c["id"]) for c in CASES]


def _validation_time(case: dict[str, Any]) -> dt.datetime | None:
    """The case's validation time, to the second (X.509 times and ``-attime`` have no fractions)."""
    value = case["validation_time"]
    return dt.datetime.fromisoformat(value).replace(microsecond=0) if value else None


def _windows(case: dict[str, Any]) -> list[tuple[dt.datetime, dt.datetime | None]] | None:
    """The validity windows of every certificate and CRL of a case (None when one cannot be parsed)."""
    from cryptography import x509

    out: list[tuple[dt.datetime, dt.datetime | None]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for pem in [*case["trusted_certs"], *case["untrusted_intermediates"], case["peer_certificate"]]:
                cert = x509.load_pem_x509_certificate(pem.encode())
                out.append((cert.not_valid_before_utc, cert.not_valid_after_utc))
            for pem in case["crls"]:
                crl = x509.load_pem_x509_crl(pem.encode())
                out.append((crl.last_update_utc, crl.next_update_utc))
        except ValueError:
            return None
    return out


def time_limited(case: dict[str, Any], now: dt.datetime) -> bool:
    """Whether the case's ``validation_time`` cannot be reproduced at ``now``: a certificate or CRL is valid at
    one of the two moments and not at the other (a case that cannot be parsed counts as limited)."""
    when = _validation_time(case)
    if when is None:
        return False
    windows = _windows(case)
    if windows is None:
        return True

    def inside(moment: dt.datetime, start: dt.datetime, end: dt.datetime | None) -> bool:
        return start <= moment and (end is None or moment <= end)

    return any(inside(when, a, b) != inside(now, a, b) for a, b in windows)


# ------------------------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Outcome:
    """What one verifier said about one case."""

    result: str  # SUCCESS, FAILURE or SKIPPED
    detail: str = ""


@dataclass(frozen=True)
class CaseFiles:
    trusted: Path
    untrusted: Path | None
    leaf: Path
    chain: Path
    key: Path | None
    crls: Path | None


_WORK: list[Path] = []


def _workdir() -> Path:
    if not _WORK:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="limbo-"))
        _WORK.append(path)
    return _WORK[0]


@cache
def case_files(case_id: str) -> CaseFiles:
    """The case's PEM files, written once in a temporary folder."""
    case = CASES_BY_ID[case_id]
    folder = _workdir() / re.sub(r"[^A-Za-z0-9._-]+", "_", case_id)
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, pems: list[str]) -> Path:
        path = folder / name
        path.write_text("".join(p if p.endswith("\n") else p + "\n" for p in pems))
        return path

    inter = case["untrusted_intermediates"]
    return CaseFiles(
        trusted=write("trusted.pem", case["trusted_certs"]),
        untrusted=write("untrusted.pem", inter) if inter else None,
        leaf=write("leaf.pem", [case["peer_certificate"]]),
        chain=write("chain.pem", [case["peer_certificate"], *inter]),
        key=write("key.pem", [case["peer_certificate_key"]]) if case["peer_certificate_key"] else None,
        crls=write("crls.pem", case["crls"]) if case["crls"] else None,
    )


# ------------------------------------------------------------------------------ plain OpenSSL baseline


@cache
def openssl_outcome(case_id: str, *, at_validation_time: bool) -> Outcome:
    """``openssl verify`` with its default flags: ``-CAfile trusted [-untrusted intermediates]
    [-attime T] [-verify_hostname N | -verify_ip IP] [-crl_check -CRLfile crls] leaf``."""
    openssl = shutil.which("openssl")
    assert openssl is not None
    case = CASES_BY_ID[case_id]
    files = case_files(case_id)
    argv = [openssl, "verify", "-CAfile", str(files.trusted)]
    if files.untrusted is not None:
        argv += ["-untrusted", str(files.untrusted)]
    when = _validation_time(case)
    if at_validation_time and when is not None:
        argv += ["-attime", str(int(when.timestamp()))]
    name = case["expected_peer_name"]
    if name:
        argv += ["-verify_ip" if name["kind"] == "IP" else "-verify_hostname", name["value"]]
    if files.crls is not None:
        argv += ["-crl_check", "-CRLfile", str(files.crls)]
    argv.append(str(files.leaf))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                          stdin=subprocess.DEVNULL)
    text = " ".join((proc.stdout + proc.stderr).split())
    if proc.returncode == 0 and proc.stdout.rstrip().endswith(": OK"):
        return Outcome(SUCCESS, text)
    return Outcome(FAILURE, text[:300])


# ----------------------------------------------------------------------------------- the library side


class CaseServer:
    """One listening socket on 127.0.0.1 and one thread; :meth:`handshake` serves one TLS handshake with the
    server context of a case."""

    def __init__(self) -> None:
        self.sock = socket.create_server((LOOPBACK, 0))
        self.sock.settimeout(TIMEOUT)
        self.port: int = self.sock.getsockname()[1]
        self._jobs: queue.Queue[ssl.SSLContext | None] = queue.Queue()
        self._done: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="limbo-server", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            ctx = self._jobs.get()
            if ctx is None:
                return
            self._done.put(self._serve_one(ctx))

    def _serve_one(self, ctx: ssl.SSLContext) -> str:
        try:
            conn, _ = self.sock.accept()
        except OSError as exc:
            return f"accept: {exc}"
        with conn:
            conn.settimeout(TIMEOUT)
            try:
                tls = ctx.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                return f"handshake: {exc}"
            with contextlib.suppress(OSError, ssl.SSLError):
                # A clean close_notify, so the client's read after the handshake ends at once.
                tls.unwrap()
            return "ok"

    @contextlib.contextmanager
    def serving(self, ctx: ssl.SSLContext) -> Iterator[None]:
        """Serve one handshake with ``ctx`` while the body runs; wait (bounded) for it to end."""
        self._jobs.put(ctx)
        try:
            yield
        finally:
            try:
                self._done.get(timeout=TIMEOUT + 5)
            except queue.Empty:
                # the server is still waiting in accept(): poke it so it is free for the next case
                with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), timeout=2):
                    pass
                self._done.get(timeout=TIMEOUT + 5)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(TIMEOUT)
        self.sock.close()


_SERVER: list[CaseServer] = []


def _server() -> CaseServer:
    if not _SERVER:
        _SERVER.append(CaseServer())
    return _SERVER[0]


@pytest.fixture(scope="module", autouse=True)
def _close_server() -> Iterator[None]:
    yield
    while _SERVER:
        _SERVER.pop().close()
    for path in _WORK:
        shutil.rmtree(path, ignore_errors=True)
    _WORK.clear()
    case_files.cache_clear()


def server_context(files: CaseFiles) -> ssl.SSLContext:
    """The test server's context: presents the case's chain whatever its keys (security level 0)."""
    assert files.key is not None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.load_cert_chain(str(files.chain), str(files.key))
    return ctx


def client_environment(case: dict[str, Any], files: CaseFiles) -> Any:
    """The environment of one case: client ``LimboClient`` -> server ``LimboServer`` port ``secure`` (tls=1)."""
    from genesys_tls.loaders import environment_from_data

    security: dict[str, str] = {"trusted-ca": str(files.trusted)}
    name = case["expected_peer_name"]
    if name:
        security["tls-target-name-check"] = "host"
        security["tls-target-name"] = name["value"]
    if files.crls is not None:
        security["tls-crl"] = str(files.crls)
    data = {
        "hosts": {"limbo-server": {"ip": LOOPBACK}, "limbo-client": {}},
        "applications": {
            "LimboServer": {
                "type": "T-Server",
                "host": "limbo-server",
                "ports": {"secure": {"port": 9, "transport": "tls=1"}},
            },
            "LimboClient": {
                "type": "Third Party Application",
                "host": "limbo-client",
                "options": {"security": security},
                "connections": [{"server": "LimboServer", "port-id": "secure"}],
            },
        },
    }
    return environment_from_data(data, base_dir=files.trusted.parent)


@cache
def library_outcome(case_id: str) -> Outcome:
    """One real handshake: the library's client (``client_plan`` + ``connect``) against the case's server."""
    from genesys_tls.contexts import client_plan
    from genesys_tls.errors import GenesysTLSError
    from genesys_tls.handshake import connect
    from genesys_tls.resolve import resolve_client

    case = CASES_BY_ID[case_id]
    if not case["peer_certificate_key"]:
        return Outcome(SKIPPED, "the case has no peer_certificate_key: no server can present its certificate")
    files = case_files(case_id)
    try:
        server_ctx = server_context(files)
    except (ssl.SSLError, OSError, ValueError) as exc:
        return Outcome(SKIPPED, f"OpenSSL cannot load the case's certificate and key to present them: {exc}")
    server = _server()
    try:
        resolved = resolve_client(client_environment(case, files), "LimboClient", "LimboServer", "secure")
        plan = client_plan(resolved, address=(LOOPBACK, server.port))
    except GenesysTLSError as exc:
        return Outcome(FAILURE, f"refused before the handshake: {type(exc).__name__}: {exc}")
    try:
        with server.serving(server_ctx):
            result = connect(plan, timeout=TIMEOUT, check=False)
    except GenesysTLSError as exc:  # e.g. a name Python refuses as server_hostname
        return Outcome(FAILURE, f"refused: {type(exc).__name__}: {exc}")
    if result.ok:
        return Outcome(SUCCESS, f"{result.protocol} {result.cipher}")
    category, detail = result.error
    return Outcome(FAILURE, f"{category}: {detail}")


# -------------------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    agree: int
    disagree: int
    skipped: int

    def line(self) -> str:
        return f"{self.agree} agree, {self.disagree} disagree, {self.skipped} skipped"


def figures(outcomes: dict[str, Outcome]) -> Figures:
    counts = Counter(
        "skipped" if o.result == SKIPPED else
        "agree" if o.result == CASES_BY_ID[cid]["expected_result"] else "disagree"
        for cid, o in outcomes.items()
    )
    return Figures(counts["agree"], counts["disagree"], counts["skipped"])


@dataclass(frozen=True)
class Summary:
    library: Figures
    openssl_same_clock_run: Figures  # openssl verify at the current time, on the cases the library ran
    openssl_attime_run: Figures  # openssl verify -attime <validation_time>, on the cases the library ran
    openssl_attime: Figures  # openssl verify -attime <validation_time>, every case
    openssl_same_clock: Figures  # openssl verify at the current time, every case (moves with the clock)
    time_limited: tuple[str, ...]  # among the cases the library ran
    library_differences: dict[str, Outcome]
    openssl_differences: dict[str, Outcome]  # same clock, cases the library ran

    def lines(self) -> list[str]:
        """The figures that do not move with the clock (checked against docs/limbo.md)."""
        ran = len(CASES) - self.library.skipped
        return [
            f"SERVER cases: {len(CASES)}; run as handshakes: {ran}; skipped (no peer_certificate_key, or a "
            f"certificate OpenSSL refuses to present): {self.library.skipped}",
            f"library (real handshakes, current time): {self.library.line()}",
            f"plain OpenSSL on the same {ran} cases, same clock (openssl verify, no -attime): "
            f"{self.openssl_same_clock_run.agree} agree, {self.openssl_same_clock_run.disagree} disagree",
            f"plain OpenSSL on the same {ran} cases at their validation_time (-attime): "
            f"{self.openssl_attime_run.agree} agree, {self.openssl_attime_run.disagree} disagree",
            f"plain OpenSSL on all {len(CASES)} cases at their validation_time (-attime): "
            f"{self.openssl_attime.agree} agree, {self.openssl_attime.disagree} disagree",
            f"cases run whose validation_time cannot be reproduced at the current time: {len(self.time_limited)}",
        ]

    def clock_lines(self) -> list[str]:
        """Figures that move with the clock (certificates of keyless cases expire): printed, not checked."""
        return [
            f"plain OpenSSL on all {len(CASES)} cases, current time: {self.openssl_same_clock.agree} agree, "
            f"{self.openssl_same_clock.disagree} disagree",
        ]


@cache
def summary() -> Summary:
    now = dt.datetime.now(dt.UTC)
    lib = {cid: library_outcome(cid) for cid in CASES_BY_ID}
    same = {cid: openssl_outcome(cid, at_validation_time=False) for cid in CASES_BY_ID}
    attime = {cid: openssl_outcome(cid, at_validation_time=True) for cid in CASES_BY_ID}
    ran = [cid for cid, o in lib.items() if o.result != SKIPPED]
    return Summary(
        library=figures(lib),
        openssl_same_clock_run=figures({cid: same[cid] for cid in ran}),
        openssl_attime_run=figures({cid: attime[cid] for cid in ran}),
        openssl_attime=figures(attime),
        openssl_same_clock=figures(same),
        time_limited=tuple(cid for cid in ran if time_limited(CASES_BY_ID[cid], now)),
        library_differences={
            cid: o for cid, o in lib.items() if o.result not in (SKIPPED, CASES_BY_ID[cid]["expected_result"])
        },
        openssl_differences={
            cid: same[cid] for cid in ran if same[cid].result != CASES_BY_ID[cid]["expected_result"]
        },
    )


# ---------------------------------------------------------------------------------------------- the doc

_BEGIN, _END = "<!-- limbo-differences:begin -->", "<!-- limbo-differences:end -->"
_FIG_BEGIN, _FIG_END = "<!-- limbo-figures:begin -->", "<!-- limbo-figures:end -->"


def render_differences() -> str:
    """The Markdown table of :data:`LIBRARY_DIFFERENCES` as ``docs/limbo.md`` holds it."""
    rows = ["| case | expected | library | reason |", "|---|---|---|---|"]
    for cid, reason in sorted(LIBRARY_DIFFERENCES.items()):
        expected = CASES_BY_ID[cid]["expected_result"] if cid in CASES_BY_ID else "?"
        got = FAILURE if expected == SUCCESS else SUCCESS if expected == FAILURE else "?"
        rows.append(f"| `{cid}` | {expected} | {got} | {reason.replace('|', '/')} |")
    return "\n".join(rows)


def parse_doc_differences(text: str) -> dict[str, str]:
    """Case id -> reason, from the table between the markers of ``docs/limbo.md``."""
    start, end = text.index(_BEGIN), text.index(_END)
    out: dict[str, str] = {}
    for line in text[start:end].splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|[^|]*\|[^|]*\|\s*(.*?)\s*\|\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _replace_block(text: str, begin: str, end: str, body: str) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + body + "\n" + text[stop:]


def write_doc(s: Summary) -> None:
    """Regenerate the generated blocks of ``docs/limbo.md`` (``GENESYS_TLS_WRITE_LIMBO_DOC=1``)."""
    text = DOC.read_text(encoding="utf-8")
    text = _replace_block(text, _FIG_BEGIN, _FIG_END, "\n".join(f"- {line}" for line in s.lines()))
    text = _replace_block(text, _BEGIN, _END, render_differences())
    DOC.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("case_id", _param_cases())
def test_limbo_server_case(case_id: str) -> None:
    """One SERVER case as a real handshake: the outcome is the suite's, or the difference is listed."""
    case = CASES_BY_ID[case_id]
    outcome = library_outcome(case_id)
    if outcome.result == SKIPPED:
        pytest.skip(outcome.detail)
    expected = case["expected_result"]
    if case_id in LIBRARY_DIFFERENCES:
        assert outcome.result != expected, (
            f"{case_id} is listed in LIBRARY_DIFFERENCES ({LIBRARY_DIFFERENCES[case_id]}) but the library now "
            f"gives the expected {expected}: remove it here and in docs/limbo.md"
        )
    else:
        assert outcome.result == expected, (
            f"{case_id}: x509-limbo expects {expected}, the library gave {outcome.result} ({outcome.detail}); "
            f"description: {case['description'].strip()[:400]}"
        )


def test_limbo_library_agreement_is_at_least_openssl(record_property: Any) -> None:
    """The library agrees with the suite at least as often as plain OpenSSL with the same clock."""
    if not CASES:
        pytest.skip(NO_VECTORS)
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is not installed (it is the baseline)")
    s = summary()
    for line in s.lines() + s.clock_lines():
        print(line)
    record_property("limbo_library", s.library.line())
    record_property("limbo_openssl_same_clock_run", s.openssl_same_clock_run.line())
    record_property("limbo_openssl_attime", s.openssl_attime.line())
    assert s.library.agree + s.library.disagree + s.library.skipped == len(CASES)
    assert s.library.agree >= s.openssl_same_clock_run.agree, s.lines()
    assert set(s.library_differences) == set(LIBRARY_DIFFERENCES), (
        "unlisted: " + ", ".join(sorted(set(s.library_differences) - set(LIBRARY_DIFFERENCES)))
        + "; listed but agreeing: " + ", ".join(sorted(set(LIBRARY_DIFFERENCES) - set(s.library_differences)))
    )
    # A reason saying plain OpenSSL does the same must be true at the same clock.
    for cid, reason in LIBRARY_DIFFERENCES.items():
        if re.search(r"plain OpenSSL (at the same clock )?(fails|accepts)( it| the CRL)? too", reason):
            same = openssl_outcome(cid, at_validation_time=False)
            assert same.result == library_outcome(cid).result, (cid, reason, same.detail)
    if os.environ.get("GENESYS_TLS_WRITE_LIMBO_DOC") == "1":
        write_doc(s)
    text = DOC.read_text(encoding="utf-8")
    start, stop = text.index(_FIG_BEGIN) + len(_FIG_BEGIN), text.index(_FIG_END)
    assert text[start:stop].strip() == "\n".join(f"- {line}" for line in s.lines()), (
        "docs/limbo.md figures are stale: run GENESYS_TLS_WRITE_LIMBO_DOC=1 pytest tests/test_limbo.py"
    )


def test_doc_lists_the_same_differences() -> None:
    """docs/limbo.md lists exactly LIBRARY_DIFFERENCES, with the same reasons."""
    documented = parse_doc_differences(DOC.read_text(encoding="utf-8"))
    assert documented == {k: v.replace("|", "/") for k, v in LIBRARY_DIFFERENCES.items()}, (
        "docs/limbo.md and LIBRARY_DIFFERENCES differ: run GENESYS_TLS_WRITE_LIMBO_DOC=1 pytest tests/test_limbo.py"
    )
