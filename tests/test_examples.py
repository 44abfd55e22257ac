"""The examples/ scripts work: the T-Library-style client against a real server on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from genesys_tls.handshake import Server
from genesys_tls.loaders import load
from genesys_tls.pki import build_pki
from genesys_tls.resolve import resolve_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run_client(env: Path, connection: str, address: tuple[str, int]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "tlib_client.py"), str(env), "--app", "Client_client-host",
         "--connection", connection, "--address", f"{address[0]}:{address[1]}", "--timeout", "10"],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_tlib_client_connects_with_the_effective_settings(tmp_path: Path) -> None:
    files = build_pki(tmp_path / "pki")
    env = load(files.environment)
    with Server(resolve_server(env, "TServer", "mutual"), port=0) as server:
        ok = _run_client(files.environment, "TServer/mutual", server.address)
    assert ok.returncode == 0, ok.stderr
    assert "mode mutual" in ok.stdout and "the server is authenticated" in ok.stdout
    assert server.results and server.results[0].ok


def test_tlib_client_reports_a_failed_handshake(tmp_path: Path) -> None:
    files = build_pki(tmp_path / "pki")
    # The server presents the wrong-name certificate: the client's name check must refuse it.
    text = files.environment.read_text().replace("certs/tsrv-host.pem", "certs/wrong-name.pem").replace(
        "certs/tsrv-host.key", "certs/wrong-name.key")
    bad = files.environment.with_name("wrong.yaml")
    bad.write_text(text)
    with Server(resolve_server(load(bad), "TServer", "secure"), port=0) as server:
        failed = _run_client(files.environment, "TServer/secure", server.address)
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "name-mismatch" in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr
