"""The cloud probe's scenarios for ``genesys-tls demo``: real loopback components, real handshakes and CRL fetches.

:func:`probe_scenarios` returns the scenario results in the demo's own type
(:class:`genesys_tls.demo.ScenarioResult`): a pass, a revoked leaf, the CRL server down under ``require`` and
under ``soft``, and a TLS 1.1-only server (left out when the local OpenSSL refuses TLS 1.1 entirely).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .components import CloudApp, CloudPKI, CRLAnswer, CRLServer, tls11_supported
from .crlfetch import CRLFetchCache
from .probe import ProbeResult, probe

if TYPE_CHECKING:
    from ..demo import ScenarioResult

__all__ = ["DOMAIN", "HOST", "probe_scenarios"]

#: The demo's cloud domain and application name (resolved to 127.0.0.1 through the probe's map).
DOMAIN = "cloud.test"
HOST = f"app.{DOMAIN}"


def probe_scenarios(directory: Path, *, timeout: float = 5.0) -> list[ScenarioResult]:
    """Run the cloud probe scenarios with certificates written into ``directory``."""
    from ..demo import Scenario, ScenarioResult

    results: list[ScenarioResult] = []
    resolve = {HOST: "127.0.0.1"}

    def record(name: str, description: str, expected: str, run: ProbeResult, started: float) -> None:
        outcome = "ok" if run.ok else (run.category.value if run.category else "connection")
        detail = run.error[1] if run.error else ", ".join(run.checks) + "".join(f"; {w}" for w in run.warnings)
        scenario = Scenario(name, description, "cloud-probe", "cloud-app", "443", expected)
        results.append(ScenarioResult(scenario, outcome, outcome == expected, detail, "cloud", run.ok and
                                      "chain" in run.checks, run.protocol, None, time.perf_counter() - started))

    with CRLServer() as crl:
        pki = CloudPKI(directory, crl.url("ca.crl"))
        good = pki.leaf(HOST, "cloud-app")
        revoked = pki.leaf(HOST, "cloud-app-revoked")
        pki.revoke_last()
        crl.set("ca.crl", CRLAnswer(pki.crl()))
        common: dict[str, Any] = {"ca_file": str(pki.ca_file), "resolve": resolve, "domain": DOMAIN,
                                  "timeout": timeout}
        with CloudApp(*good) as app:
            url = f"https://{HOST}:{app.port}/"
            started = time.perf_counter()
            record("cloud-probe-pass", "cloud TLS profile: TLS 1.2 floor and cap, public-CA chain, name, CRL", "ok",
                   probe(url, cache=CRLFetchCache(), **common), started)
        with CloudApp(*revoked) as app:
            started = time.perf_counter()
            record("cloud-probe-revoked", "cloud application certificate listed on its CA's CRL", "revoked",
                   probe(f"https://{HOST}:{app.port}/", cache=CRLFetchCache(), **common), started)
        crl.set("ca.crl", CRLAnswer(hang_up=True))
        with CloudApp(*good) as app:
            url = f"https://{HOST}:{app.port}/"
            started = time.perf_counter()
            record("cloud-crl-down-require", "CRL server hangs up, --revocation require", "crl-unavailable",
                   probe(url, cache=CRLFetchCache(), **common), started)
            started = time.perf_counter()
            record("cloud-crl-down-soft", "CRL server hangs up, --revocation soft: a pass with a warning", "ok",
                   probe(url, cache=CRLFetchCache(), revocation="soft", **common), started)
        if tls11_supported():
            with CloudApp(*good, tls11_only=True) as app:
                started = time.perf_counter()
                record("cloud-tls11-only", "cloud application that speaks TLS 1.1 only", "protocol",
                       probe(f"https://{HOST}:{app.port}/", cache=CRLFetchCache(), **common), started)
    return results
