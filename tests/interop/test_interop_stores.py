"""Interop of the Windows-store thumbprints with the openssl command line: ``genesys-tls serve`` on a Windows
host configured only with thumbprints against ``openssl s_client``, and a thumbprint-only client against
``openssl s_server``, on the same certificates (the PEM files the store's PFX exports were made from).

Everything runs on 127.0.0.1; every process is bounded (see openssl_tools)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openssl_tools import LOOPBACK, genesys_serve, json_lines, s_client, s_server

import genesys_tls as gt
from genesys_tls.pki import PKIFiles, build_pki

pytestmark = pytest.mark.interop

REPORT_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def winpki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return build_pki(tmp_path_factory.mktemp("interop-winstore"), windows=True)


def _env_file(pki: PKIFiles) -> Path:
    assert pki.windows_environment is not None
    return pki.windows_environment


def test_thumbprint_server_against_s_client_mutual(openssl: str, winpki: PKIFiles) -> None:
    client = winpki.hosts["client-host"]
    with genesys_serve(_env_file(winpki), "TServer", "mutual", count=1) as served:
        done = s_client(openssl, served.port, "-cert", str(client.cert), "-key", str(client.key),
                        "-CAfile", str(winpki.ca), "-verify_return_error", "-verify_hostname", "tsrv-host",
                        "-servername", "tsrv-host")
        code = served.finish(REPORT_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verification: OK" in done.stderr and re.search(r"Peer certificate: CN\s*=\s*tsrv-host", done.stderr)
    (result,) = json_lines(served.out)
    assert code == 0 and result["ok"], (served.out, served.err)
    assert result["peer"]["subject"] == "CN=client-host"


def test_thumbprint_client_against_s_server_mutual(openssl: str, winpki: PKIFiles) -> None:
    server = winpki.hosts["tsrv-host"]
    env = gt.load(_env_file(winpki))
    resolved = gt.resolve_client(env, "Client_client-host", "TServer", "mutual")
    with s_server(openssl, "-cert", str(server.cert), "-key", str(server.key), "-CAfile", str(winpki.ca),
                  "-Verify", "1", "-verify_return_error") as proc:
        result = gt.connect(resolved, address=(LOOPBACK, proc.port), timeout=10.0)
        proc.finish(REPORT_TIMEOUT)
    assert result.ok, result.error
    assert result.peer is not None and result.peer.subject == "CN=tsrv-host"
    assert result.checks == ("chain", "target-name")
    assert re.search(r"CN\s*=\s*client-host", proc.out + proc.err), proc.out + proc.err
