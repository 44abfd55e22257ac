"""``openssl s_client`` against the library's server side: ``genesys-tls serve --count 1 --json`` (a subprocess;
its port read from the stderr line ``listening on HOST:PORT``) and :class:`genesys_tls.handshake.Server`.

s_client runs with ``-brief -no_ign_eof`` and stdin from /dev/null: it makes the handshake and ends. The outcome
checked is what the server side reports (one handshake result of the contract), and, when the handshake
succeeds, what s_client saw.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from openssl_tools import (
    LOOPBACK,
    SERVER_APP,
    InteropPKI,
    check_result_shape,
    genesys_serve,
    json_lines,
    s_client,
    write_environment,
)

pytestmark = pytest.mark.interop

WAYS = ("cli", "library")
#: How long the server side may take to report the handshake after s_client ended.
REPORT_TIMEOUT = 15.0


def server_security(pki: InteropPKI, **extra: str) -> dict[str, str]:
    """The server's [security]: the tsrv-host certificate, trusting the interop root, plus ``extra``."""
    return {"certificate": str(pki.server.cert), "certificate-key": str(pki.server.key),
            "trusted-ca": str(pki.ca_file), **extra}


def client_cert_args(leaf: Any) -> list[str]:
    return ["-cert", str(leaf.cert), "-key", str(leaf.key)]


def verify_args(pki: InteropPKI) -> list[str]:
    return ["-verify_return_error", "-CAfile", str(pki.ca_file), "-verify_hostname", "tsrv-host"]


def serve_once(way: str, tmp_path: Path, openssl: str, client_args: list[str], *, security: dict[str, str],
               transport: str = "tls=1") -> tuple[dict[str, Any], int | None, subprocess.CompletedProcess[str]]:
    """Serve one handshake on port ``secure`` (``transport``) through ``way``; s_client connects once.
    Returns the server's handshake result (contract JSON), the CLI's exit code and s_client's process."""
    env_file = write_environment(tmp_path / "env.yaml", server_security=security, ports={"secure": transport},
                                 connections={})
    if way == "cli":
        with genesys_serve(env_file, SERVER_APP, "secure", count=1) as served:
            client = s_client(openssl, served.port, *client_args)
            code = served.finish(REPORT_TIMEOUT)
        results = json_lines(served.out)
        assert code is not None, f"serve --count 1 did not end after one handshake: {served.out} {served.err}"
        assert len(results) == 1, (served.out, served.err)
        return results[0], code, client

    import genesys_tls as gt
    from genesys_tls.handshake import Server

    resolved = gt.resolve_server(gt.load(env_file), SERVER_APP, "secure")
    with Server(resolved, host=LOOPBACK, port=0, count=1) as server:
        host, port = server.address
        assert host == LOOPBACK
        client = s_client(openssl, port, *client_args)
        assert server.wait(1, timeout=REPORT_TIMEOUT), "Server recorded no handshake"
        result = server.results[0].to_dict()
    return result, None, client


def assert_ok(result: dict[str, Any], code: int | None) -> None:
    check_result_shape(result)
    assert result["ok"] is True, result
    if code is not None:
        assert code == 0, result


def assert_failed(result: dict[str, Any], code: int | None, category: str) -> None:
    check_result_shape(result)
    assert result["ok"] is False, result
    assert result["error"]["category"] == category, result
    if code is not None:
        assert code == 1, result


@pytest.fixture(params=WAYS)
def way(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_simple(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """s_client verifies the server (``-verify_return_error -CAfile root -verify_hostname tsrv-host``)."""
    result, code, client = serve_once(way, tmp_path, openssl, verify_args(pki), security=server_security(pki))
    assert_ok(result, code)
    assert "Verification: OK" in client.stderr, client.stderr
    assert "Protocol version: TLSv1.3" in client.stderr, client.stderr
    assert result["protocol"] == "TLSv1.3"
    assert result["peer"] is None or not result["peer"].get("subject")  # no client certificate


def test_mutual_with_client_certificate(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, client = serve_once(way, tmp_path, openssl, [*verify_args(pki), *client_cert_args(pki.client)],
                                      security=server_security(pki), transport="tls=1;tls-mutual=1")
    assert_ok(result, code)
    assert "Verification: OK" in client.stderr, client.stderr
    assert result["peer"]["subject"] == "CN=interop-client"
    assert result["peer"]["issuer"] == "CN=Interop Root CA"
    assert "chain" in result["checks"]


def test_mutual_without_client_certificate(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = serve_once(way, tmp_path, openssl, verify_args(pki), security=server_security(pki),
                                 transport="tls=1;tls-mutual=1")
    assert_failed(result, code, "client-certificate-required")


def test_mutual_without_client_certificate_tls12(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, client = serve_once(way, tmp_path, openssl, [*verify_args(pki), "-tls1_2"],
                                      security=server_security(pki), transport="tls=1;tls-mutual=1")
    assert_failed(result, code, "client-certificate-required")
    assert client.returncode != 0


def test_mutual_untrusted_client(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """The server trusts only the issuing CA; the client's certificate comes from the root."""
    security = server_security(pki, **{"trusted-ca": str(pki.issuing.cert)})
    result, code, _ = serve_once(way, tmp_path, openssl, client_cert_args(pki.client), security=security,
                                 transport="tls=1;tls-mutual=1")
    assert_failed(result, code, "untrusted")


@pytest.mark.parametrize("form", ["pem", "der"])
def test_revoked_client(way: str, form: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    crl = pki.crl_pem if form == "pem" else pki.crl_der
    result, code, _ = serve_once(
        way, tmp_path, openssl, [*verify_args(pki), *client_cert_args(pki.revoked_client)],
        security=server_security(pki, **{"tls-crl": str(crl)}), transport="tls=1;tls-mutual=1",
    )
    assert_failed(result, code, "revoked")


def test_client_not_revoked_with_crl(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = serve_once(
        way, tmp_path, openssl, [*verify_args(pki), *client_cert_args(pki.client)],
        security=server_security(pki, **{"tls-crl": str(pki.crl_pem)}), transport="tls=1;tls-mutual=1",
    )
    assert_ok(result, code)
    assert "crl" in result["checks"]


def test_protocol_mismatch(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """s_client ``-tls1_2`` against a server with ``sec-protocol=TLSv13``."""
    result, code, client = serve_once(way, tmp_path, openssl, [*verify_args(pki), "-tls1_2"],
                                      security=server_security(pki, **{"sec-protocol": "TLSv13"}))
    assert_failed(result, code, "protocol")
    assert client.returncode != 0


def test_cipher_list(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """Server ``cipher-list`` with one TLS 1.2 suite; s_client offers it among others."""
    suite = "ECDHE-ECDSA-AES256-GCM-SHA384"
    result, code, client = serve_once(
        way, tmp_path, openssl,
        [*verify_args(pki), "-tls1_2", "-cipher", f"ECDHE-ECDSA-AES128-GCM-SHA256:{suite}"],
        security=server_security(pki, **{"cipher-list": suite, "sec-protocol": "TLSv12"}),
    )
    assert_ok(result, code)
    assert result["cipher"] == suite
    assert f"Ciphersuite: {suite}" in client.stderr, client.stderr


def test_serve_counts_handshakes(tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """``serve --count 2``: two JSON lines (one refused, one accepted), then it ends by itself."""
    env_file = write_environment(tmp_path / "env.yaml", server_security=server_security(pki),
                                 ports={"secure": "tls=1;tls-mutual=1"}, connections={})
    with genesys_serve(env_file, SERVER_APP, "secure", count=2) as served:
        assert served.err.startswith("listening on ") or f"listening on {LOOPBACK}:" in served.err
        s_client(openssl, served.port, *verify_args(pki))
        s_client(openssl, served.port, *verify_args(pki), *client_cert_args(pki.client))
        code = served.finish(REPORT_TIMEOUT)
    results = json_lines(served.out)
    assert code is not None, "serve did not end after --count handshakes"
    assert [r["ok"] for r in results] == [False, True], results
    assert results[0]["error"]["category"] == "client-certificate-required"
