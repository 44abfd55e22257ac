"""The library's client (``genesys-tls connect`` and :func:`genesys_tls.handshake.connect`) against
``openssl s_server`` on 127.0.0.1, with a PKI made by the openssl command line.

Each scenario runs twice: through the CLI (a subprocess, ``--address 127.0.0.1:PORT --json``) and through the
library. The expected outcome is a handshake result of the contract (``ok`` or ``error.category``).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from openssl_tools import (
    CLIENT_APP,
    LOOPBACK,
    SERVER_APP,
    InteropPKI,
    LeafFiles,
    Process,
    check_result_shape,
    genesys_connect,
    s_server,
    write_environment,
)

pytestmark = pytest.mark.interop

WAYS = ("cli", "library")


def client_security(pki: InteropPKI, **extra: str) -> dict[str, str]:
    """The client's [security] options: trust the interop root, plus ``extra``."""
    return {"trusted-ca": str(pki.ca_file), **extra}


def with_client_cert(pki: InteropPKI, **extra: str) -> dict[str, str]:
    return client_security(pki, certificate=str(pki.client.cert), **{"certificate-key": str(pki.client.key)},
                           **extra)


def server_args(leaf: LeafFiles, *more: str) -> list[str]:
    """s_server's certificate arguments for an issued leaf (``-cert_chain`` with its CAs below the root)."""
    args = ["-cert", str(leaf.cert), "-key", str(leaf.key)]
    if leaf.intermediates is not None:
        args += ["-cert_chain", str(leaf.intermediates)]
    return [*args, *more]


def run_client(way: str, env_file: Path, port_id: str, port: int) -> tuple[dict[str, Any], int | None]:
    """One client handshake with the connection ``TServer_Interop/port_id``: (result JSON, CLI exit code)."""
    if way == "cli":
        code, result, err = genesys_connect(env_file, CLIENT_APP, f"{SERVER_APP}/{port_id}", port)
        assert result is not None, f"connect printed no JSON (exit {code}): {err}"
        return result, code
    import genesys_tls as gt
    from genesys_tls.handshake import connect

    resolved = gt.resolve_client(gt.load(env_file), CLIENT_APP, SERVER_APP, port_id=port_id)
    return connect(resolved, address=f"{LOOPBACK}:{port}", timeout=10.0, check=False).to_dict(), None


def handshake(way: str, tmp_path: Path, openssl: str, s_server_args: list[str], *,
              security: dict[str, str], transport: str = "tls=1", connection: str = "", wait_server: bool = False,
              ) -> tuple[dict[str, Any], int | None, Process]:
    """Start s_server, connect once through ``way``, end s_server; the client's result, exit code and the
    s_server process (its output: complete when ``wait_server``, which waits for s_server to end by itself)."""
    env_file = write_environment(tmp_path / "env.yaml", client_security=security,
                                 ports={"secure": transport}, connections={"secure": connection})
    with s_server(openssl, *s_server_args) as server:
        result, code = run_client(way, env_file, "secure", server.port)
        if wait_server:  # -naccept 1: s_server ends once the client has gone, its output complete
            server.finish(5)
    server.finish(5)
    return result, code, server


def assert_ok(result: dict[str, Any], code: int | None) -> None:
    check_result_shape(result)
    assert result["ok"] is True, result
    assert "error" not in result or result["error"] is None, result
    if code is not None:
        assert code == 0, result


def assert_failed(result: dict[str, Any], code: int | None, category: str) -> None:
    check_result_shape(result)
    assert result["ok"] is False, result
    assert result["error"]["category"] == category, result
    assert result["error"]["detail"], result
    if code is not None:
        assert code == 1, result


@pytest.fixture(params=WAYS)
def way(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --------------------------------------------------------------------------------------------- simple


def test_simple_ok(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.server),
                                security=client_security(pki), connection="tls-target-name-check=host")
    assert_ok(result, code)
    assert result["protocol"] == "TLSv1.3"
    assert result["cipher"]
    assert result["peer"]["subject"] == "CN=tsrv-host"
    assert result["peer"]["issuer"] == "CN=Interop Root CA"
    assert set(result["peer"]["sans"]) == {"DNS:tsrv-host", "IP:127.0.0.1"}
    assert set(result["checks"]) == {"chain", "target-name"}


def test_chain_through_an_intermediate(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """s_server sends leaf + issuing CA (``-cert_chain``); the client trusts only the root."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.chained_server),
                                security=client_security(pki), connection="tls-target-name-check=host")
    assert_ok(result, code)
    assert result["peer"]["issuer"] == "CN=Interop Issuing CA"


def test_untrusted_server(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """The client trusts only the issuing CA; the server's certificate comes from the root."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.server),
                                security={"trusted-ca": str(pki.issuing.cert)})
    assert_failed(result, code, "untrusted")


def test_expired_server_certificate(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """A server certificate from ``openssl ca -startdate 20200101000000Z -enddate 20200201000000Z``."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.expired_server),
                                security=client_security(pki))
    assert_failed(result, code, "expired")


def test_not_yet_valid_server_certificate(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.future_server),
                                security=client_security(pki))
    assert_failed(result, code, "not-yet-valid")


def test_nothing_listening(way: str, tmp_path: Path, pki: InteropPKI) -> None:
    """A loopback port with nothing listening: ``connection``."""
    env_file = write_environment(tmp_path / "env.yaml", client_security=client_security(pki))
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    result, code = run_client(way, env_file, "secure", port)
    assert_failed(result, code, "connection")


# -------------------------------------------------------------------------------------------- mutual


def test_mutual_with_client_certificate(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, server = handshake(
        way, tmp_path, openssl, server_args(pki.server, "-Verify", "1", "-CAfile", str(pki.ca_file)),
        security=with_client_cert(pki), transport="tls=1;tls-mutual=1", wait_server=True,
    )
    assert_ok(result, code)
    assert "interop-client" in server.out + server.err, (server.out, server.err)


def test_mutual_without_client_certificate(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = handshake(
        way, tmp_path, openssl, server_args(pki.server, "-Verify", "1", "-CAfile", str(pki.ca_file)),
        security=client_security(pki), transport="tls=1;tls-mutual=1",
    )
    assert_failed(result, code, "client-certificate-required")


def test_mutual_without_client_certificate_tls12(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """Same over TLS 1.2, where the server refuses during the handshake (alert handshake_failure)."""
    result, code, _ = handshake(
        way, tmp_path, openssl,
        server_args(pki.server, "-Verify", "1", "-CAfile", str(pki.ca_file), "-tls1_2"),
        security=client_security(pki), transport="tls=1;tls-mutual=1",
    )
    assert_failed(result, code, "client-certificate-required")


# --------------------------------------------------------------------------------------------- CRLs


@pytest.mark.parametrize("form", ["pem", "der"])
def test_revoked_server(way: str, form: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    crl = pki.crl_pem if form == "pem" else pki.crl_der
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.revoked_server),
                                security=client_security(pki, **{"tls-crl": str(crl)}))
    assert_failed(result, code, "revoked")


def test_crl_checked_and_not_revoked(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.server),
                                security=client_security(pki, **{"tls-crl": str(pki.crl_pem)}))
    assert_ok(result, code)
    assert "crl" in result["checks"]


def test_expired_crl(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """A CRL from ``openssl ca -gencrl -crl_lastupdate 2020... -crl_nextupdate 2020...``."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.server),
                                security=client_security(pki, **{"tls-crl": str(pki.crl_expired)}))
    assert_failed(result, code, "crl-expired")


def test_revoked_by_the_issuing_ca_trusting_the_chain(way: str, tmp_path: Path, openssl: str,
                                                      pki: InteropPKI) -> None:
    """trusted-ca holds root + issuing CA; tls-crl holds both CAs' CRLs; the leaf is revoked by the issuing CA."""
    trust = tmp_path / "root-and-issuing.pem"
    trust.write_text(pki.ca_file.read_text() + pki.issuing.cert.read_text())
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.chained_revoked),
                                security={"trusted-ca": str(trust), "tls-crl": str(pki.crl_bundle)})
    assert_failed(result, code, "revoked")


def test_revoked_by_the_issuing_ca_trusting_the_root(way: str, tmp_path: Path, openssl: str,
                                                     pki: InteropPKI) -> None:
    """trusted-ca is the root only; the server sends the issuing CA; the issuing CA's CRL lists the leaf.
    Plain OpenSSL (``openssl verify -crl_check``, s_client ``-CRL``) says revoked."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.chained_revoked),
                                security=client_security(pki, **{"tls-crl": str(pki.issuing_crl)}))
    assert_failed(result, code, "revoked")


# -------------------------------------------------------------------------------------------- names


def test_name_mismatch(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """s_server presents the certificate of other-host; the client checks tsrv-host."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.other),
                                security=client_security(pki), connection="tls-target-name-check=host")
    assert_failed(result, code, "name-mismatch")


def test_no_name_check_accepts_another_name(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.other),
                                security=client_security(pki), connection="tls-target-name-check=no")
    assert_ok(result, code)
    assert "target-name" not in result["checks"]


def test_target_name_overrides_the_host(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.other), security=client_security(pki),
                                connection="tls-target-name-check=host;tls-target-name=other-host")
    assert_ok(result, code)
    assert "target-name" in result["checks"]


def test_target_name_ip_address(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """``tls-target-name=127.0.0.1`` is checked against the iPAddress SAN."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.server), security=client_security(pki),
                                connection="tls-target-name-check=host;tls-target-name=127.0.0.1")
    assert_ok(result, code)
    assert "target-name" in result["checks"]


# ------------------------------------------------------------------------------------ protocol, ciphers


def test_protocol_floor(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """s_server ``-tls1_2`` against a client with ``sec-protocol=TLSv13``."""
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.server, "-tls1_2"),
                                security=client_security(pki, **{"sec-protocol": "TLSv13"}))
    assert_failed(result, code, "protocol")


def test_tls12_agreed(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    result, code, _ = handshake(way, tmp_path, openssl, server_args(pki.server, "-tls1_2"),
                                security=client_security(pki, **{"sec-protocol": "TLSv12"}))
    assert_ok(result, code)
    assert result["protocol"] == "TLSv1.2"


def test_cipher_list_agreement(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """s_server ``-cipher`` with one suite; the client's cipher-list names it among others: that one is used."""
    suite = "ECDHE-ECDSA-AES128-GCM-SHA256"
    result, code, _ = handshake(
        way, tmp_path, openssl, server_args(pki.server, "-tls1_2", "-cipher", suite),
        security=client_security(pki, **{"sec-protocol": "TLSv12",
                                         "cipher-list": f"ECDHE-ECDSA-AES256-GCM-SHA384:{suite}"}),
    )
    assert_ok(result, code)
    assert result["cipher"] == suite


def test_cipher_list_disagreement(way: str, tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """No suite in common (TLS 1.2): the handshake fails with ``protocol``."""
    result, code, _ = handshake(
        way, tmp_path, openssl, server_args(pki.server, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"),
        security=client_security(pki, **{"sec-protocol": "TLSv12", "cipher-list": "ECDHE-ECDSA-AES128-GCM-SHA256"}),
    )
    assert_failed(result, code, "protocol")


# -------------------------------------------------------------------------------- library specifics


def test_library_raises_tlserror_with_the_category(tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """``connect(check=True)`` raises :class:`genesys_tls.TLSError` carrying the category and the result."""
    import genesys_tls as gt
    from genesys_tls.handshake import connect

    env_file = write_environment(tmp_path / "env.yaml", client_security=client_security(pki),
                                 connections={"secure": "tls-target-name-check=host"})
    resolved = gt.resolve_client(gt.load(env_file), CLIENT_APP, SERVER_APP, port_id="secure")
    with s_server(openssl, *server_args(pki.other)) as server, pytest.raises(gt.TLSError) as info:
        connect(resolved, address=(LOOPBACK, server.port), timeout=10.0)
    assert info.value.category == "name-mismatch"
    assert info.value.result is not None and info.value.result.ok is False


def test_address_changes_only_where_it_dials(tmp_path: Path, pki: InteropPKI) -> None:
    """The plan dials 127.0.0.1:PORT but checks (and sends as SNI) the Host name tsrv-host."""
    import genesys_tls as gt
    from genesys_tls.contexts import client_plan

    env_file = write_environment(tmp_path / "env.yaml", client_security=client_security(pki),
                                 connections={"secure": "tls-target-name-check=host"})
    resolved = gt.resolve_client(gt.load(env_file), CLIENT_APP, SERVER_APP, port_id="secure")
    plan = client_plan(resolved, address=f"{LOOPBACK}:4433")
    assert (plan.dial_host, plan.dial_port) == (LOOPBACK, 4433)
    assert plan.expected_name == "tsrv-host"
    assert plan.server_hostname == "tsrv-host"
    assert "target-name" in plan.checks


def test_sni_is_sent(tmp_path: Path, openssl: str, pki: InteropPKI) -> None:
    """s_server ``-servername tsrv-host`` with ``-cert2``: the client reaches the tsrv-host certificate through
    SNI even though it dials 127.0.0.1."""
    import genesys_tls as gt
    from genesys_tls.handshake import connect

    env_file = write_environment(tmp_path / "env.yaml", client_security=client_security(pki),
                                 connections={"secure": "tls-target-name-check=host"})
    resolved = gt.resolve_client(gt.load(env_file), CLIENT_APP, SERVER_APP, port_id="secure")
    args = [*server_args(pki.other), "-servername", "tsrv-host", "-cert2", str(pki.server.cert),
            "-key2", str(pki.server.key)]
    with s_server(openssl, *args) as server:
        result = connect(resolved, address=(LOOPBACK, server.port), timeout=10.0, check=False)
    assert result.ok, result.to_dict()
    assert result.peer is not None and result.peer.subject == "CN=tsrv-host"


def test_package_connect_stays_the_function(tmp_path: Path) -> None:
    """``gt.connect`` (a lazy top-level name) is the function even when the module that defines it,
    ``genesys_tls.handshake``, was imported first (as the CLI and ``from genesys_tls.handshake import Server`` do)."""
    import subprocess
    import sys

    code = (
        "import genesys_tls as gt\n"
        "from genesys_tls.handshake import Server\n"
        "print(callable(gt.connect), type(gt.connect).__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout.split() == ["True", "function"], (proc.stdout, proc.stderr)
