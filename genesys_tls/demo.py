"""The main job, ``genesys-tls demo``: a test PKI, an embedded Genesys environment and the scenario matrix,
with real TLS handshakes between simulated components on 127.0.0.1.

:func:`run_demo` builds the PKI (:func:`genesys_tls.pki.build_pki`) and writes :data:`DEMO_ENVIRONMENT` next to
it (``demo.yaml``) in a temporary folder, then runs every :data:`SCENARIOS` entry: it starts the scenario's
:class:`~genesys_tls.harness.SimulatedServer` on an ephemeral port, dials it with the client application's
connection (the dialled address changes, never the name checked), compares the outcome (``ok`` or the failure
category) with the expected one, and stops the server. The folder is removed at the end unless it was given
(``--keep DIR``).

Example::

    from genesys_tls.demo import run_demo

    report = run_demo()
    print(report.render())
    assert report.failed == 0
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import textwrap
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._text import escape_text
from .errors import ConfigurationError, InsecureConfigurationWarning, TLSError

__all__ = ["DEMO_ENVIRONMENT", "SCENARIOS", "DemoReport", "Scenario", "ScenarioResult", "run_demo"]

#: The file name of the demo environment, next to the PKI's files.
DEMO_FILE = "demo.yaml"

#: The embedded environment (format: ``docs/contract.md``). Paths are those :func:`genesys_tls.pki.build_pki` writes.
#: Port numbers are the configured ones; the demo listens on ephemeral ports and dials them instead.
DEMO_ENVIRONMENT = """\
# genesys-tls demo environment: one T-Server with every port flavour, servers with broken certificates,
# a Configuration Server auto-detect (upgrade) port, and client applications, one per client behaviour.
hosts:
  tsrv-host:
    ip: 127.0.0.1
    os: unix
    annex:
      security:
        certificate: certs/tsrv-host.pem
        certificate-key: certs/tsrv-host.key
        trusted-ca: certs/ca.pem
  client-host:
    ip: 127.0.0.1
    os: unix
    annex:
      security:
        certificate: certs/client-host.pem
        certificate-key: certs/client-host.key
        trusted-ca: certs/ca.pem
  bare-host:                      # a client host without a certificate of its own
    ip: 127.0.0.1
    os: unix
    annex:
      security:
        trusted-ca: certs/ca.pem
applications:
  TServer:
    type: T-Server
    host: tsrv-host
    ports:
      default: {port: 7000}
      secure: {port: 7001, transport: "tls=1"}
      mutual: {port: 7002, transport: "tls=1;tls-mutual=1"}
      mutual-crl: {port: 7003, transport: "tls=1;tls-mutual=1;tls-crl=crl/current.pem"}
      tls12: {port: 7004, transport: "tls=1;sec-protocol=TLSv12"}
  TServer_Revoked:
    type: T-Server
    host: tsrv-host
    options:
      security: {certificate: certs/revoked.pem, certificate-key: certs/revoked.key}
    ports:
      secure: {port: 7101, transport: "tls=1"}
  TServer_Expired:
    type: T-Server
    host: tsrv-host
    options:
      security: {certificate: certs/expired.pem, certificate-key: certs/expired.key}
    ports:
      secure: {port: 7201, transport: "tls=1"}
  TServer_WrongName:
    type: T-Server
    host: tsrv-host
    options:
      security: {certificate: certs/wrong-name.pem, certificate-key: certs/wrong-name.key}
    ports:
      secure: {port: 7301, transport: "tls=1"}
  TServer_Untrusted:
    type: T-Server
    host: tsrv-host
    options:
      security: {certificate: certs/wrong-issuer.pem, certificate-key: certs/wrong-issuer.key}
    ports:
      secure: {port: 7401, transport: "tls=1"}
  ConfServer:
    type: Configuration Server
    host: tsrv-host
    ports:
      auto: {port: 2020, transport: "upgrade=1"}
  Client:
    type: Third Party Application
    host: client-host
    connections:
      - {server: TServer, port-id: default}
      - {server: TServer, port-id: secure, transport: "tls-target-name-check=host"}
      - {server: TServer, port-id: mutual, transport: "tls-target-name-check=host"}
      - {server: TServer_Revoked, port-id: secure, transport: "tls-crl=crl/current.pem"}
      - {server: TServer_Expired, port-id: secure}
      - {server: TServer_WrongName, port-id: secure, transport: "tls-target-name-check=host"}
      - {server: TServer_Untrusted, port-id: secure}
      - {server: ConfServer, port-id: auto, transport: "tls=1;tls-target-name-check=host"}
  Client_NoCheck:
    type: Third Party Application
    host: client-host
    connections:
      - {server: TServer_WrongName, port-id: secure}
  Client_NoCert:
    type: Third Party Application
    host: bare-host
    connections:
      - {server: TServer, port-id: mutual}
  Client_Revoked:
    type: Third Party Application
    host: client-host
    options:
      security:
        certificate: certs/revoked.pem
        certificate-key: certs/revoked.key
        trusted-ca: certs/ca.pem
    connections:
      - {server: TServer, port-id: mutual-crl}
  Client_EncryptionOnly:
    type: Third Party Application
    host: client-host
    connections:
      - {server: TServer_Untrusted, port-id: secure, transport: "client-auth=0"}
  Client_TLS13:
    type: Third Party Application
    host: client-host
    connections:
      - {server: TServer, port-id: tls12, transport: "sec-protocol=TLSv13"}
  Client_Plain:
    type: Third Party Application
    host: client-host
    connections:
      - {server: ConfServer, port-id: auto}
"""


@attrs.frozen
class Scenario:
    """One line of the matrix.

    Attributes:
        name: short name (the table's first column).
        description: what it shows.
        client: the client application.
        server: the server application.
        port_id: the server port (and the client's connection to it).
        expected: ``ok`` or the failure category the client must see.
        authenticated: when set, the client result's ``authenticated`` must equal it.
        server_expected: when set, what the server must record (``ok`` or its refusal's category).
        server_note: why the server records something else than the client sees (shown by ``render``).
        environment: the environment file of the PKI folder the scenario runs on (``None``: the demo's own;
            ``environment-windows.yaml``: the Windows hosts of :func:`genesys_tls.pki.build_pki`).
        live: a live reconfiguration scenario (:mod:`genesys_tls.demo_live`): its server's files or
            environment change while it serves; ``client``, ``server`` and ``port_id`` name its own folder's
            applications.
    """

    name: str
    description: str
    client: str
    server: str
    port_id: str
    expected: str
    authenticated: bool | None = None
    server_expected: str | None = None
    server_note: str = ""
    environment: str | None = None
    live: bool = False


#: What a server learns when the client refuses its certificate: only the TLS alert, never the reason.
ALERT_ONLY = "the client refused its certificate with a TLS alert, and alerts carry no reason"

#: The scenario matrix.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("plain", "default port without TLS: one line echoed", "Client", "TServer", "default", "ok",
             server_expected="ok"),
    Scenario("simple", "tls=1 port, client checks chain and host name", "Client", "TServer", "secure", "ok",
             authenticated=True, server_expected="ok"),
    Scenario("mutual", "tls-mutual=1 port, both sides present certificates", "Client", "TServer", "mutual", "ok",
             authenticated=True, server_expected="ok"),
    Scenario("mutual-no-client-cert", "mutual port, the client has no certificate", "Client_NoCert", "TServer",
             "mutual", "client-certificate-required", server_expected="client-certificate-required"),
    Scenario("revoked-server", "server certificate revoked, client has tls-crl", "Client", "TServer_Revoked",
             "secure", "revoked"),
    Scenario("revoked-client", "client certificate revoked, server port has tls-crl", "Client_Revoked",
             "TServer", "mutual-crl", "revoked", server_expected="revoked"),
    Scenario("expired-server", "server certificate expired yesterday", "Client", "TServer_Expired", "secure",
             "expired"),
    Scenario("untrusted-server", "server certificate from a CA the client does not trust", "Client",
             "TServer_Untrusted", "secure", "untrusted"),
    Scenario("name-mismatch", "certificate for wrong.invalid, tls-target-name-check=host", "Client",
             "TServer_WrongName", "secure", "name-mismatch",
             server_note=f"{ALERT_ONLY}, so a name mismatch reads as untrusted there; only the client knows "
             "the name it expected"),
    Scenario("name-mismatch-no-check", "same certificate, no name check", "Client_NoCheck", "TServer_WrongName",
             "secure", "ok", authenticated=True, server_expected="ok"),
    Scenario("encryption-only", "client-auth=0 against an untrusted server: encrypted, NOT authenticated",
             "Client_EncryptionOnly", "TServer_Untrusted", "secure", "ok", authenticated=False,
             server_expected="ok"),
    Scenario("protocol-floor", "client sec-protocol=TLSv13, server port sec-protocol=TLSv12", "Client_TLS13",
             "TServer", "tls12", "protocol", server_expected="protocol"),
    Scenario("upgrade-tls", "Configuration Server upgrade=1 port, TLS client", "Client", "ConfServer", "auto",
             "ok", authenticated=True, server_expected="ok"),
    Scenario("upgrade-plain", "Configuration Server upgrade=1 port, plain client", "Client_Plain", "ConfServer",
             "auto", "ok", server_expected="ok"),
    Scenario("windows-store-mutual", "Windows hosts: both certificates named only by thumbprint in their stores "
             "(PFX exports)", "Client_client-host", "TServer", "mutual", "ok", authenticated=True,
             server_expected="ok", environment="environment-windows.yaml"),
    Scenario("live-rotation", "certificate rotated while serving: the next handshake presents the new one "
             "(by fingerprint), a connection opened before stays up", "Client", "TServer", "secure", "ok",
             authenticated=True, server_expected="ok", live=True),
    Scenario("live-crl-update", "the port's CRL is replaced by one revoking the client: its next handshake "
             "is refused", "Client", "TServer", "mutual-crl", "revoked", server_expected="revoked", live=True),
    Scenario("live-mutual-on", "tls-mutual=1 written into the environment while serving: the next client "
             "without a certificate is refused", "Client_NoCert", "TServer", "secure",
             "client-certificate-required", server_expected="client-certificate-required", live=True),
)


@attrs.frozen
class ScenarioResult:
    """What happened in one scenario.

    Attributes:
        scenario: the scenario.
        outcome: ``ok`` or the client's failure category.
        passed: the outcome (and the authentication and server expectations) matched.
        detail: the client's failure detail, or a short account of the success.
        mode: the connection's effective mode.
        authenticated: whether the client authenticated the server.
        protocol: the TLS version negotiated (``None`` for plain or failed handshakes).
        server_outcome: what the server recorded (``ok`` or its refusal's category; ``None`` if nothing).
        seconds: wall time of the scenario (server start to stop).
    """

    scenario: Scenario
    outcome: str
    passed: bool
    detail: str
    mode: str
    authenticated: bool
    protocol: str | None
    server_outcome: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """The contract's scenario object (``name``, ``expected``, ``outcome``, ``passed``) plus details."""
        return {
            "name": self.scenario.name,
            "expected": self.scenario.expected,
            "outcome": self.outcome,
            "passed": self.passed,
            "description": self.scenario.description,
            "detail": self.detail,
            "mode": self.mode,
            "authenticated": self.authenticated,
            "protocol": self.protocol,
            "server": self.server_outcome,
            "seconds": round(self.seconds, 4),
        }


@attrs.frozen
class DemoReport:
    """Every scenario's result.

    Attributes:
        results: one per scenario, in order.
        seconds: wall time of the whole run (PKI included).
        directory: where the PKI and ``demo.yaml`` were kept (``None``: a removed temporary folder).
    """

    results: tuple[ScenarioResult, ...]
    seconds: float
    directory: Path | None = None

    @property
    def passed(self) -> int:
        """How many scenarios behaved as expected."""
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        """How many did not."""
        return len(self.results) - self.passed

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``demo --json`` object (plus ``seconds`` and ``directory`` when kept)."""
        out: dict[str, Any] = {
            "scenarios": [r.to_dict() for r in self.results],
            "passed": self.passed,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
        }
        if self.directory is not None:
            out["directory"] = str(self.directory)
        return out

    def render(self, *, colour: bool = False, width: int = 80) -> str:
        """The readable report, at most ``width`` columns (80 by default; longer texts wrap by design).

        One row per scenario (PASS/FAIL, name, mode, the client's outcome), then its one-line description and,
        when the server recorded something else than the client saw, what the server saw and why. ``colour``
        adds ANSI colours to PASS/FAIL (the CLI sets it only on a terminal, never with ``NO_COLOR``).
        """
        indent = " " * 7

        def paint(text: str, code: str) -> str:
            return f"\033[{code}m{text}\033[0m" if colour else text

        def wrap(text: str) -> list[str]:  # every text is escaped (a --keep folder, an OpenSSL detail)
            return textwrap.wrap(escape_text(text, limit=None), width=width, initial_indent=indent,
                                 subsequent_indent=indent + "  ", break_on_hyphens=False) or [indent]

        lines = [f"genesys-tls demo: {len(self.results)} scenarios, real TLS handshakes on 127.0.0.1", ""]
        name_w = max([len("scenario"), *(len(r.scenario.name) for r in self.results)])
        mode_w = max([len("mode"), *(len(r.mode) for r in self.results)])
        lines.append(f"{'':4}   {'scenario'.ljust(name_w)}  {'mode'.ljust(mode_w)}  client saw")
        for r in self.results:
            verdict = paint("PASS", "32") if r.passed else paint("FAIL", "1;31")
            outcome = r.outcome if r.outcome == r.scenario.expected else f"{r.outcome} (expected {r.scenario.expected})"
            outcome = escape_text(outcome, limit=None)
            row = f"{verdict}   {r.scenario.name.ljust(name_w)}  {r.mode.ljust(mode_w)}  {outcome}".rstrip()
            if len(row) - len(verdict) + 4 <= width:
                lines.append(row)
            else:  # a long outcome goes under its row, by design
                lines.append(f"{verdict}   {r.scenario.name.ljust(name_w)}  {r.mode}".rstrip())
                lines.extend(wrap(f"client saw: {outcome}"))
            lines.extend(wrap(r.scenario.description))
            if r.server_outcome != r.outcome:
                saw = r.server_outcome or "nothing (no handshake reached it)"
                why = r.scenario.server_note or (ALERT_ONLY if r.server_outcome == "untrusted" else "")
                lines.extend(wrap(f"server saw: {saw}" + (f": {why}" if why else "")))
            if not r.passed:
                lines.extend(wrap(f"detail: {r.detail}"))
        lines.append("")
        if any(not r.authenticated and r.mode == "encryption-only" for r in self.results):
            lines.extend(textwrap.wrap("note: encryption-only (client-auth=0) links are encrypted but the server "
                                       "is NOT authenticated", width=width))
        if self.directory is not None:
            kept, file = (escape_text(str(p), limit=None) for p in (self.directory, self.directory / DEMO_FILE))
            lines.append(f"kept: {kept} (environment {file})")
        lines.append(f"{self.passed} passed, {self.failed} failed in {self.seconds:.2f}s")
        return "\n".join(lines)


@contextlib.contextmanager
def _folder(keep: str | os.PathLike[str] | None) -> Iterator[Path]:
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="genesys-tls-demo-") as name:
            yield Path(name)
        return
    root = Path(keep)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigurationError(
            f"{root} is not an empty folder; the demo keeps its PKI in a new or empty one",
            file=str(root), option="keep", valid="a new or empty directory",
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(
            f"cannot make the demo folder {root}: {error.strerror or error}",
            file=str(error.filename or root), option="keep", valid="a new or empty directory",
        ) from None
    yield root


def _run_live(root: Path, scenario: Scenario, timeout: float) -> ScenarioResult:
    from .demo_live import LIVE_RUNNERS

    start = time.perf_counter()
    try:
        outcome, detail, mode, authenticated, protocol, server_outcome = LIVE_RUNNERS[scenario.name](root, timeout)
    except (ConfigurationError, TLSError, TimeoutError, OSError) as exc:
        category = getattr(exc, "category", None)
        outcome = category.value if category is not None else "connection"
        return ScenarioResult(scenario, outcome, False, str(exc), "-", False, None, None,
                              time.perf_counter() - start)
    passed = outcome == scenario.expected
    if scenario.authenticated is not None and authenticated != scenario.authenticated:
        passed = False
    if scenario.server_expected is not None and server_outcome != scenario.server_expected:
        passed = False
        detail += f" (server saw {server_outcome}, expected {scenario.server_expected})"
    return ScenarioResult(scenario, outcome, passed, detail, mode, authenticated, protocol, server_outcome,
                          time.perf_counter() - start)


def _run_one(env: Any, scenario: Scenario, timeout: float, root: Path | None = None) -> ScenarioResult:
    from .harness import SimulatedClient, SimulatedServer

    if scenario.live and root is not None:
        return _run_live(root, scenario, timeout)
    start = time.perf_counter()
    server_outcome: str | None = None
    try:
        with SimulatedServer(env, scenario.server, scenario.port_id, port=0, timeout=timeout) as server:
            client = SimulatedClient(env, scenario.client, server, timeout=timeout)
            result = client.connect()
            with contextlib.suppress(TimeoutError):
                server_outcome = server.wait_for(1, timeout)[0].outcome
    except (ConfigurationError, TLSError) as exc:
        category = getattr(exc, "category", None)
        outcome = category.value if category is not None else "configuration-error"
        return ScenarioResult(scenario, outcome, outcome == scenario.expected, str(exc), "-", False, None,
                              server_outcome, time.perf_counter() - start)
    outcome = "ok" if result.ok else (result.category.value if result.category else "connection")
    passed = outcome == scenario.expected
    if scenario.authenticated is not None and result.authenticated != scenario.authenticated:
        passed = False
    if scenario.server_expected is not None and server_outcome != scenario.server_expected:
        passed = False
    if result.error is not None:
        detail = result.error[1]
    elif result.protocol:
        detail = f"{result.protocol} {result.cipher}, server {result.peer.subject if result.peer else '-'}"
    else:
        detail = "plain text line echoed"
    if scenario.server_expected is not None and server_outcome != scenario.server_expected:
        detail += f" (server saw {server_outcome}, expected {scenario.server_expected})"
    return ScenarioResult(scenario, outcome, passed, detail, result.mode, result.authenticated, result.protocol,
                          server_outcome, time.perf_counter() - start)


def run_demo(
    keep: str | os.PathLike[str] | None = None,
    *,
    scenarios: Sequence[Scenario] = SCENARIOS,
    key_type: str = "ec",
    timeout: float = 5.0,
    sipendpoint: bool | None = None,
) -> DemoReport:
    """Build the PKI and the environment, run ``scenarios``, clean up.

    Args:
        keep: a new or empty folder to build in and keep; ``None``: a temporary folder removed at the end.
        scenarios: the matrix (default :data:`SCENARIOS`).
        key_type: ``ec`` (default) or ``rsa``.
        timeout: seconds for each connection and handshake.
        sipendpoint: also run the Workspace SIP Endpoint security matrix and its must-fail twins
            (:mod:`genesys_tls.sipendpoint.scenarios`, in ``sipendpoint/`` of the folder); default: only with
            the default ``scenarios``.

    Raises:
        ConfigurationError: ``keep`` is not a new or empty folder, or a bad key type.
    """
    from .loaders import load, loads
    from .pki import build_pki

    started = time.perf_counter()
    results: list[ScenarioResult] = []
    with _folder(keep) as root:
        env_path = root / DEMO_FILE
        try:
            build_pki(root, ("tsrv-host", "client-host"), key_type=key_type, windows=True)
            env_path.write_text(DEMO_ENVIRONMENT, encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(
                f"cannot write the demo PKI in {root}: {error.strerror or error}",
                file=str(error.filename or root), option="keep",
            ) from None
        env = loads(DEMO_ENVIRONMENT, source=env_path, base_dir=root.resolve())
        with warnings.catch_warnings():
            # encryption-only warns when its context is built; the table says it plainly instead.
            warnings.simplefilter("ignore", InsecureConfigurationWarning)
            others = {s.environment: load(root / s.environment) for s in scenarios if s.environment is not None}
            for scenario in scenarios:
                on = others[scenario.environment] if scenario.environment is not None else env
                results.append(_run_one(on, scenario, timeout, root))
            if scenarios is SCENARIOS:  # the default matrix includes the cloud probe's scenarios
                from .cloud.demo import probe_scenarios

                results.extend(probe_scenarios(root, timeout=timeout))
        if sipendpoint or (sipendpoint is None and scenarios is SCENARIOS):
            from .sipendpoint.scenarios import demo_results

            results.extend(demo_results(root / "sipendpoint", timeout))
    return DemoReport(tuple(results), time.perf_counter() - started, Path(keep) if keep is not None else None)
