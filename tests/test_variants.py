"""genesys_tls.variants: derived environments are new frozen objects with the change at the right level,
resolve and handshake accordingly; the trustme-style ``configure_cert`` / ``configure_trust`` helpers make
raw ssl contexts that complete a real handshake on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from pathlib import Path

import pytest

from genesys_tls import variants as v
from genesys_tls.catalogue import Source
from genesys_tls.errors import Category, ConfigurationError
from genesys_tls.handshake import Server, connect
from genesys_tls.loaders import load
from genesys_tls.model import Environment
from genesys_tls.pki import CertificateAuthority, PKIFiles
from genesys_tls.resolve import Mode, resolve_client, resolve_server

CLIENT = "Client_client-host"


@pytest.fixture(scope="module")
def env(pki: PKIFiles) -> Environment:
    return load(pki.environment)


def test_set_option_at_each_level(env: Environment) -> None:
    port = v.set_option(env, "tls-mutual", "1", app="TServer", port="secure")
    assert resolve_server(port, "TServer", "secure").mode is Mode.MUTUAL
    assert resolve_server(env, "TServer", "secure").mode is Mode.SIMPLE  # the original is unchanged
    assert port.application("TServer").port("secure").transport == {"tls": "1", "tls-mutual": "1"}

    conn = v.set_option(env, "tls-target-name-check", "no", app=CLIENT, connection="TServer/secure")
    opt = resolve_client(conn, CLIENT, "TServer", "secure")["tls-target-name-check"]
    assert (opt.value, opt.source) == ("no", Source.CONNECTION)
    # only that connection changed
    assert resolve_client(conn, CLIENT, "TServer", "mutual")["tls-target-name-check"].value == "host"

    host = v.set_option(env, "sec-protocol", "TLSv13", host="client-host")
    opt = resolve_client(host, CLIENT, "TServer", "secure")["sec-protocol"]
    assert (opt.value, opt.source, opt.object) == ("TLSv13", Source.HOST_ANNEX, "client-host")

    opts = v.set_option(env, "sec-protocol", "TLSv13", app=CLIENT)
    annex = v.set_option(opts, "sec-protocol", "TLSv12", app=CLIENT, level="application-annex")
    opt = resolve_client(annex, CLIENT, "TServer", "secure")["sec-protocol"]
    assert (opt.value, opt.source) == ("TLSv13", Source.APPLICATION_OPTIONS)
    assert [s.source for s in opt.shadowed] == [Source.APPLICATION_ANNEX]
    assert annex.source == env.source and annex.base_dir == env.base_dir


def test_remove_option(env: Environment) -> None:
    bare = v.remove_option(env, "trusted-ca", host="client-host")
    assert "trusted-ca" not in bare.host("client-host").security
    assert "trusted-ca" in env.host("client-host").security
    off = v.remove_option(env, "tls", app="TServer", port="secure")
    assert resolve_server(off, "TServer", "secure").mode is Mode.PLAIN
    with pytest.raises(ConfigurationError) as info:
        v.remove_option(env, "trusted-cas", host="client-host")
    assert info.value.suggestions == ("trusted-ca",)
    assert "cannot be removed" in str(info.value)


def test_unknown_objects_and_bad_values_fail_closed(env: Environment) -> None:
    with pytest.raises(ConfigurationError) as info:
        v.set_option(env, "tls", "1", app="TServr", port="secure")
    assert info.value.suggestions == ("TServer",)
    with pytest.raises(ConfigurationError) as info:
        v.set_option(env, "tls", "1", app="TServer", port="secur")
    assert info.value.suggestions == ("secure",)
    with pytest.raises(ConfigurationError):
        v.set_option(env, "tls", "1")  # nowhere
    with pytest.raises(ConfigurationError):
        v.set_option(env, "tls", "1", host="tsrv-host", app="TServer")  # two places
    with pytest.raises(ConfigurationError):
        v.set_option(env, "tls", 1, host="tsrv-host")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        v.set_option(env, "cipher-list", "A;B", app="TServer", port="secure")  # ';' cannot be written
    with pytest.raises(ConfigurationError):
        v.set_option(env, "tls", "1", app="TServer", level="host-annex")


def test_add_connection(env: Environment) -> None:
    more = v.add_connection(env, CLIENT, "TServer", "default", {"tls": "0"})
    assert len(more.application(CLIENT).connections) == 3
    assert resolve_client(more, CLIENT, "TServer", "default").mode is Mode.PLAIN
    with pytest.raises(ConfigurationError) as info:
        v.add_connection(env, CLIENT, "TSrever", "secure")
    assert info.value.suggestions == ("TServer",)
    with pytest.raises(ConfigurationError) as info:
        v.add_connection(env, CLIENT, "TServer", "mutal")
    assert info.value.suggestions == ("mutual",)


def test_swapped_certificate_group_makes_a_real_name_mismatch(env: Environment, pki: PKIFiles) -> None:
    wrong = v.with_certificate(env, "tsrv-host", pki.wrong_name.cert, pki.wrong_name.key)
    assert wrong.host("tsrv-host").security["certificate"] == str(pki.wrong_name.cert)
    with Server(resolve_server(wrong, "TServer", "secure"), port=0) as server:
        result = connect(resolve_client(env, CLIENT, "TServer", "secure"), address=server.address, timeout=10,
                         check=False)
    assert result.category is Category.NAME_MISMATCH


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, name: str) -> str:
    """One real handshake on loopback between two raw contexts; returns the client's protocol."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    errors: list[BaseException] = []

    def accept() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(b"x")
            protocol = tls.version() or ""
    finally:
        thread.join(10)
        listener.close()
    assert not errors, errors
    return protocol


def test_configure_cert_and_trust_make_working_raw_contexts(tmp_path: Path) -> None:
    root = CertificateAuthority.create("Variants Root")
    issuing = root.intermediate("Variants Issuing")
    server = issuing.issue_server("tsrv-host")
    client = issuing.issue_client("client-host")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.configure_cert(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    issuing.configure_trust(server_ctx)  # an intermediate trusts its root
    client_ctx = ssl.create_default_context()
    root.configure_trust(client_ctx)
    client.configure_cert(client_ctx)
    assert _handshake(server_ctx, client_ctx, "tsrv-host").startswith("TLSv1.")
    # Without the trust the same handshake fails verification.
    bare = ssl.create_default_context(cafile=None)
    bare.load_verify_locations(cadata=CertificateAuthority.create("Other").cert_pem().decode())
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server_ctx, bare, "tsrv-host")


def test_variants_module_loads_neither_ssl_nor_socket() -> None:
    import subprocess

    code = ("import sys; import genesys_tls.variants; "
            "bad = {'ssl', 'socket', '_ssl'} & set(sys.modules); print(sorted(bad)); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
