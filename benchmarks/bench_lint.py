"""Benchmark of ``genesys-tls lint`` on large generated environments.

Generates environments of N applications with 5 connections each (default N = 5,000, 10,000 and 20,000, the
last one being 100,000 connections) that refer to a handful of certificate files, then measures the time to
load the environment (JSON) and the time to lint it, and prints the time per connection, the ratios
lint/load and lint/``json.load`` of the same file (same run), and the growth of the lint time from one size
to the next. Linear growth shows as a constant time per connection across sizes. Levels, ports and connections
with the same inputs are checked once (``Report.stats.checks_shared`` counts the others). Times are process CPU time
(``time.process_time``), steadier than wall time on a shared machine; wall time is printed too.

    python benchmarks/bench_lint.py                      # 5,000 / 10,000 / 20,000 applications
    python benchmarks/bench_lint.py --apps 1000 --apps 4000
    python benchmarks/bench_lint.py --markdown           # the table for docs/lint-benchmark.md

The environment: one Host per 100 applications (``hNNN.bench.example``), each Host Annex naming one of four
server certificates (SAN ``*.bench.example``), its key, the CA and a CRL; each application has a plain
``default`` port and a ``secure`` port (``tls=1``, every fifth with ``tls-mutual=1``) and connects to the
``secure`` port of the next five applications with ``tls-target-name-check=host``. Everything verifies, so
lint finds nothing and does all its work (chains, names, CRLs, support matrix) on every distinct set of inputs
(800 at 20,000 applications: the Hosts of both ends, the target port's settings, the types); the other
connections share the answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import genesys_tls as gt
from genesys_tls.lint import lint
from genesys_tls.pki import CertificateAuthority

CONNECTIONS_PER_APP = 5
APPS_PER_HOST = 100
CERTIFICATES = 4
#: Application types whose every pair the Supporting Components data lists as supported (a clean run).
TYPES = ("T-Server", "SIP Server", "Interaction Concentrator", "Configuration Server")


def write_pki(folder: Path) -> None:
    """A CA, four server certificates for ``*.bench.example``, and the CA's CRL (current for 90 days)."""
    now = dt.datetime.now(dt.UTC)
    ca = CertificateAuthority.create("Bench CA")
    for index in range(CERTIFICATES):
        ca.issue(["*.bench.example"], common_name=f"bench-{index}").write(folder, f"server-{index}")
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    (folder / "crl.pem").write_bytes(ca.crl(last_update=now - dt.timedelta(days=1),
                                            next_update=now + dt.timedelta(days=90)))


def environment(apps: int) -> dict[str, Any]:
    """The environment data (format: ``docs/contract.md``) for ``apps`` applications."""
    hosts: dict[str, Any] = {}
    for h in range((apps + APPS_PER_HOST - 1) // APPS_PER_HOST):
        cert = h % CERTIFICATES
        hosts[f"h{h:04d}.bench.example"] = {
            "ip": "127.0.0.1",
            "os": "unix",
            "annex": {
                "security": {
                    "certificate": f"server-{cert}.pem",
                    "certificate-key": f"server-{cert}.key",
                    "trusted-ca": "ca.pem",
                    "tls-crl": "crl.pem",
                    "tls-target-name-check": "host",
                }
            },
        }
    applications: dict[str, Any] = {}
    for a in range(apps):
        secure = "tls=1;tls-mutual=1" if a % 5 == 0 else "tls=1"
        applications[f"App{a:06d}"] = {
            "type": TYPES[a % len(TYPES)],
            "host": f"h{a // APPS_PER_HOST:04d}.bench.example",
            "ports": {"default": {"port": 7000}, "secure": {"port": 7001, "transport": secure}},
            "connections": [
                {"server": f"App{(a + k) % apps:06d}", "port-id": "secure", "transport": "tls-target-name-check=host"}
                for k in range(1, CONNECTIONS_PER_APP + 1)
            ],
        }
    return {"hosts": hosts, "applications": applications}


def measure(folder: Path, apps: int) -> dict[str, Any]:
    """Write, load and lint one environment; the figures."""
    path = folder / f"env-{apps}.json"
    path.write_text(json.dumps(environment(apps)), encoding="utf-8")
    cpu = time.process_time()
    with open(path, "rb") as handle:
        json.load(handle)
    json_cpu = time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    env = gt.load(path)
    load_s, load_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    report = lint(env)
    lint_s, lint_cpu = time.perf_counter() - start, time.process_time() - cpu
    connections = sum(len(app.connections) for app in env.applications.values())
    return {
        "apps": apps,
        "connections": connections,
        "load_s": load_s,
        "lint_s": lint_s,
        "load_cpu": load_cpu,
        "lint_cpu": lint_cpu,
        "lint_us_per_connection": lint_cpu / connections * 1e6,
        "ratio": lint_cpu / load_cpu,
        "json_cpu": json_cpu,
        "json_ratio": lint_cpu / json_cpu,
        "findings": len(report.findings),
        "max_file_reads": report.stats.files.max_reads,
        "files_read": len(report.stats.files.reads),
        "ports_resolved": report.stats.ports_resolved,
        "checks_shared": report.stats.checks_shared,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--apps", type=int, action="append", help="applications (repeat); default 5000 10000 20000")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--quick", action="store_true", help="200 and 400 applications: a smoke test")
    args = parser.parse_args(argv)
    sizes = [200, 400] if args.quick else args.apps or [5_000, 10_000, 20_000]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        folder = Path(tmp)
        write_pki(folder)
        for apps in sizes:
            row = measure(folder, apps)
            rows.append(row)
            print(
                f"{row['apps']:>6} apps {row['connections']:>7} connections: load {row['load_cpu']:6.2f} s CPU "
                f"({row['load_s']:.2f} s wall), lint {row['lint_cpu']:6.2f} s CPU ({row['lint_s']:.2f} s wall) = "
                f"{row['lint_us_per_connection']:5.0f} us CPU/connection, lint/load {row['ratio']:5.1f}, "
                f"lint/json.load {row['json_ratio']:5.1f}"
                + (f", growth {row['lint_cpu'] / rows[-2]['lint_cpu']:.2f}" if len(rows) > 1 else "")
                + f"; {row['findings']} findings, {row['files_read']} files each read {row['max_file_reads']}x, "
                f"{row['ports_resolved']} ports resolved, {row['checks_shared']} checks shared",
                file=sys.stderr,
            )
    if args.markdown:
        print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}.")
        print()
        print("| applications | connections | load CPU (s) | lint CPU (s) | lint wall (s) "
              "| lint CPU per connection (µs) | lint / load (CPU) | files read (each) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['apps']:,} | {r['connections']:,} | {r['load_cpu']:.2f} | {r['lint_cpu']:.2f} | "
                  f"{r['lint_s']:.2f} | {r['lint_us_per_connection']:.0f} | {r['ratio']:.1f} | "
                  f"{r['files_read']} ({r['max_file_reads']}x) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
