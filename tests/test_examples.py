"""The examples/ run as shipped: the lint CI gate (shipped example and a fresh pki init environment with CRLs),
connect with the shipped test material, the T-Library-style client against a real server on loopback."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography import x509

from genesys_tls.cli import main
from genesys_tls.handshake import Server
from genesys_tls.harness import SimulatedServer
from genesys_tls.loaders import load
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import resolve_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run_client(env: Path, connection: str, address: tuple[str, int]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "tlib_client.py"), str(env), "--app", "Client_client-host",
         "--connection", connection, "--address", f"{address[0]}:{address[1]}", "--timeout", "10"],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_tlib_client_connects_with_the_effective_settings(pki: PKIFiles) -> None:
    files = pki
    env = load(files.environment)
    with Server(resolve_server(env, "TServer", "mutual"), port=0) as server:
        ok = _run_client(files.environment, "TServer/mutual", server.address)
    assert ok.returncode == 0, ok.stderr
    assert "mode mutual" in ok.stdout and "the server is authenticated" in ok.stdout
    assert server.results and server.results[0].ok


def test_tlib_client_reports_a_failed_handshake(pki: PKIFiles) -> None:
    files = pki
    # The server presents the wrong-name certificate: the client's name check must refuse it.
    text = files.environment.read_text().replace("certs/tsrv-host.pem", "certs/wrong-name.pem").replace(
        "certs/tsrv-host.key", "certs/wrong-name.key")
    bad = files.environment.with_name("examples-wrong-name.yaml")
    bad.write_text(text)
    with Server(resolve_server(load(bad), "TServer", "secure"), port=0) as server:
        failed = _run_client(files.environment, "TServer/secure", server.address)
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "name-mismatch" in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def test_lint_ci_gate_passes_on_a_fresh_pki_environment_with_crls(tmp_path: Path) -> None:
    assert main(["pki", "init", str(tmp_path / "pki")]) == 0
    path = tmp_path / "pki" / "environment.yaml"
    data = yaml.safe_load(path.read_text())
    for host in data["hosts"].values():
        host["annex"]["security"]["tls-crl"] = "crl/current.pem"
    path.write_text(yaml.safe_dump(data))
    crl = x509.load_pem_x509_crl((tmp_path / "pki" / "crl" / "current.pem").read_bytes())
    assert crl.next_update_utc is not None
    # beyond lint's default 30-day expiry window, so the gate's --fail-on warning passes
    assert crl.next_update_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=31)
    gate = subprocess.run(["sh", str(EXAMPLES / "lint_ci_gate.sh"), str(path)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "no warnings or errors" in gate.stdout and (tmp_path / "lint.sarif").stat().st_size > 0


def test_lint_ci_gate_passes_on_the_shipped_example(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    gate = subprocess.run(["sh", "examples/lint_ci_gate.sh"], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=120, check=False)
    assert gate.returncode == 0, gate.stdout + gate.stderr


def test_shipped_example_connects_to_a_simulated_server() -> None:
    env = load(EXAMPLES / "environment.yaml")
    with SimulatedServer(env, "TServer_SIP", "secure", port=0) as server:
        address = "{}:{}".format(*server.address)
        code = main(["connect", str(EXAMPLES / "environment.yaml"), "--app", "MyTLibClient", "--connection",
                     "TServer_SIP/secure", "--address", address, "--timeout", "10"])
        (record,) = server.wait_for(1)
    assert code == 0
    assert record.accepted and record.authenticated  # mutual: the shipped client certificate was verified


def test_shipped_test_material_is_marked_long_lived_and_reproducible(tmp_path: Path) -> None:
    certs = EXAMPLES / "certs"
    ca = x509.load_pem_x509_certificate((certs / "ca.pem").read_bytes())
    assert "TEST" in ca.subject.rfc4514_string()
    for name in ("tsrv", "client"):
        leaf = x509.load_pem_x509_certificates((certs / f"{name}.pem").read_bytes())[0]
        assert leaf.issuer == ca.subject
        assert leaf.not_valid_after_utc >= dt.datetime(2045, 1, 1, tzinfo=dt.UTC)
        assert (certs / f"{name}.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert "TEST MATERIAL" in (EXAMPLES / "environment.yaml").read_text()
    # the generator writes the same layout (fresh keys)
    done = subprocess.run([sys.executable, str(EXAMPLES / "make_test_certs.py"), str(tmp_path)], env=_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in certs.iterdir())
