"""The context cache (genesys_tls.cache): identical settings give the same context; changed files, a changed
CRL or changed options give a new one; an expired CRL still fails closed on a hit; the cache is bounded."""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import threading
import warnings
from pathlib import Path

import pytest
import yaml

import genesys_tls.crl as crl_module
from genesys_tls.cache import ContextCache, default_context_cache, file_version
from genesys_tls.contexts import client_context, client_plan, server_context
from genesys_tls.crl import CRLCache
from genesys_tls.errors import Category, ConfigurationError, InsecureConfigurationWarning, TLSError
from genesys_tls.handshake import Server, connect
from genesys_tls.loaders import loads
from genesys_tls.model import Environment
from genesys_tls.pki import CertificateAuthority
from genesys_tls.resolve import resolve_client, resolve_server


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    ca = CertificateAuthority.create("Cache CA")
    ca.issue_server(["tsrv-host", "127.0.0.1"]).write(tmp_path, "server")
    ca.issue_client("client-host").write(tmp_path, "client")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    (tmp_path / "crl.pem").write_bytes(ca.crl())
    return tmp_path


def env_of(folder: Path, port: str = "tls=1;tls-mutual=1;tls-crl=crl.pem", connection: str = "") -> Environment:
    security = {"certificate": "server.pem", "certificate-key": "server.key", "trusted-ca": "ca.pem"}
    client = {"certificate": "client.pem", "certificate-key": "client.key", "trusted-ca": "ca.pem"}
    data = {
        "hosts": {"tsrv-host": {"ip": "127.0.0.1", "os": "unix"}, "client-host": {"os": "unix"}},
        "applications": {
            "TServer": {"type": "T-Server", "host": "tsrv-host", "options": {"security": security},
                        "ports": {"p": {"port": 7001, "transport": port}}},
            "Client": {"type": "Third Party Application", "host": "client-host",
                       "options": {"security": client},
                       "connections": [{"server": "TServer", "port-id": "p", "transport": connection}]},
        },
    }
    return loads(yaml.safe_dump(data), base_dir=folder, source=folder / "environment.yaml")


def test_identical_settings_give_the_same_context(folder: Path) -> None:
    cache = ContextCache()
    env = env_of(folder)
    first = server_context(resolve_server(env, "TServer", "p"), context_cache=cache)
    # Resolved again, from an environment loaded again: still the same settings and files.
    again = server_context(resolve_server(env_of(folder), "TServer", "p"), context_cache=cache)
    assert again is first
    client = client_context(resolve_client(env, "Client", "TServer", "p"), context_cache=cache)
    assert client_plan(resolve_client(env, "Client", "TServer", "p"), context_cache=cache).context is client
    assert client is not first
    assert (cache.hits, cache.misses) == (2, 2)
    # No cache: a private context each time.
    assert server_context(resolve_server(env, "TServer", "p"), context_cache=None) is not first


def test_touch_keeps_the_context_and_a_new_certificate_gives_a_new_one(folder: Path) -> None:
    cache = ContextCache()
    resolved = resolve_server(env_of(folder), "TServer", "p")
    first = server_context(resolved, context_cache=cache)
    os.utime(folder / "server.pem", ns=(1, 1))  # a new stamp, the same content
    assert server_context(resolved, context_cache=cache) is first
    # Rotation by rename-into-place (what certificate tools do), same settings.
    renewed = CertificateAuthority.create("Cache CA 2")
    renewed.issue_server(["tsrv-host"]).write(folder, "next")
    os.replace(folder / "next.pem", folder / "server.pem")
    os.replace(folder / "next.key", folder / "server.key")
    second = server_context(resolved, context_cache=cache)
    assert second is not first
    assert server_context(resolved, context_cache=cache) is second


def test_changed_crl_or_option_gives_a_new_context(folder: Path) -> None:
    cache = ContextCache()
    crl_cache = CRLCache()
    resolved = resolve_server(env_of(folder), "TServer", "p")
    first = server_context(resolved, context_cache=cache, crl_cache=crl_cache)
    good = (folder / "crl.pem").read_bytes()
    ca = CertificateAuthority.create("Cache CA")  # another CA of the same name: its CRL is refused...
    (folder / "crl.pem").write_bytes(ca.crl())
    with pytest.raises(TLSError) as info:
        server_context(resolved, context_cache=cache, crl_cache=crl_cache)
    assert info.value.category is Category.CRL_UNAVAILABLE  # ...even though the old context is cached
    (folder / "crl.pem").write_bytes(good)  # the same content again: the cached context serves again
    assert server_context(resolved, context_cache=cache, crl_cache=crl_cache) is first
    other = resolve_server(env_of(folder, port="tls=1;sec-protocol=TLSv13"), "TServer", "p")
    assert server_context(other, context_cache=cache) is not first
    assert server_context(resolved, context_cache=cache, crl_check="chain") is not first


def test_new_crl_version_gives_a_new_context(folder: Path) -> None:
    cache = ContextCache()
    resolved = resolve_server(env_of(folder), "TServer", "p")
    first = server_context(resolved, context_cache=cache)
    ca = CertificateAuthority.create("Fresh CA")  # a new PKI, in the same files
    ca.issue_server(["tsrv-host"]).write(folder, "server")
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    (folder / "crl.pem").write_bytes(ca.crl())
    second = server_context(resolved, context_cache=cache)
    assert second is not first
    (folder / "crl.pem").write_bytes(ca.crl(next_update=dt.datetime.now(dt.UTC) + dt.timedelta(days=3)))
    assert server_context(resolved, context_cache=cache) is not second


def test_expired_crl_fails_closed_on_a_hit(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ContextCache()
    resolved = resolve_server(env_of(folder), "TServer", "p")
    server_context(resolved, context_cache=cache)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)  # past the CRL's nextUpdate (90 days)
    monkeypatch.setattr(crl_module, "_now", lambda now: later)
    with pytest.raises(TLSError) as info:
        server_context(resolved, context_cache=cache)
    assert info.value.category is Category.CRL_EXPIRED
    assert (cache.hits, cache.misses) == (0, 1)


def test_a_missing_file_is_never_served_from_the_cache(folder: Path) -> None:
    cache = ContextCache()
    resolved = resolve_server(env_of(folder, port="tls=1"), "TServer", "p")
    server_context(resolved, context_cache=cache)
    (folder / "server.key").unlink()
    with pytest.raises(ConfigurationError, match=r"server\.key"):
        server_context(resolved, context_cache=cache)


def test_warnings_are_emitted_again_on_a_hit(folder: Path) -> None:
    cache = ContextCache()
    resolved = resolve_client(env_of(folder, port="tls=1", connection="client-auth=0"), "Client", "TServer", "p")
    for _ in range(2):
        with pytest.warns(InsecureConfigurationWarning, match="NOT authenticated"):
            ctx = client_context(resolved, context_cache=cache)
        assert ctx.verify_mode == ssl.CERT_NONE
    assert cache.hits == 1


def test_the_cache_is_bounded_least_recently_used_first(folder: Path) -> None:
    cache = ContextCache(maxsize=2)
    ports = ["tls=1", "tls=1;sec-protocol=TLSv12", "tls=1;sec-protocol=TLSv13"]
    resolved = [resolve_server(env_of(folder, port=p), "TServer", "p") for p in ports]
    first = server_context(resolved[0], context_cache=cache)
    server_context(resolved[1], context_cache=cache)
    assert server_context(resolved[0], context_cache=cache) is first  # now the most recent
    server_context(resolved[2], context_cache=cache)  # drops resolved[1]
    assert len(cache) == 2
    assert server_context(resolved[0], context_cache=cache) is first
    misses = cache.misses
    server_context(resolved[1], context_cache=cache)
    assert cache.misses == misses + 1
    with pytest.raises(ValueError):
        ContextCache(maxsize=0)


def test_the_default_cache_serves_clients_and_servers(folder: Path) -> None:
    env = env_of(folder)
    before = default_context_cache.hits
    with Server(resolve_server(env, "TServer", "p"), count=3) as server:
        for _ in range(3):
            assert connect(resolve_client(env, "Client", "TServer", "p"), address=server.address).ok
    assert default_context_cache.hits >= before + 2  # the client's context was reused


def test_one_parsed_crl_per_file_version_is_shared(folder: Path) -> None:
    cache = CRLCache()
    ca_pem = (folder / "ca.pem").read_bytes()
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(ca_pem)
    other = CertificateAuthority.create("Other").cert
    one = cache.get(folder / "crl.pem", [ca])
    two = cache.get(folder / "crl.pem", [ca, other])
    assert one is not two and one.crls[0] is two.crls[0]


def test_file_version_is_by_content(folder: Path) -> None:
    path = folder / "ca.pem"
    first = file_version(path)
    assert first is not None
    os.utime(path, ns=(5, 5))
    again = file_version(path)
    assert again == first and again is not None and again.stamp != first.stamp
    assert file_version(folder / "missing.pem") is None
    assert file_version(folder) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path.write_bytes(b"changed")
    assert file_version(path) != first


# --- plans made through the cache ---------------------------------------------------------------------------


def test_a_plan_asked_for_again_is_the_same_plan(folder: Path) -> None:
    cache = ContextCache()
    resolved = resolve_client(env_of(folder), "Client", "TServer", "p")
    first = client_plan(resolved, address="127.0.0.1:7001", context_cache=cache)
    assert client_plan(resolved, address="127.0.0.1:7001", context_cache=cache) is first
    other = client_plan(resolved, address=("127.0.0.1", 7002), context_cache=cache)
    assert other is not first and (other.dial_port, other.context) == (7002, first.context)
    private = client_plan(resolved, address="127.0.0.1:7001", context_cache=None)
    assert private is not first and private.context is not first.context


def test_a_changed_certificate_file_gives_a_new_plan(folder: Path) -> None:
    cache = ContextCache()
    resolved = resolve_client(env_of(folder), "Client", "TServer", "p")
    first = client_plan(resolved, address="127.0.0.1:7001", context_cache=cache)
    ca = CertificateAuthority.create("Rotated CA")
    ca.issue_client("client-host").write(folder, "client")
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    (folder / "crl.pem").write_bytes(ca.crl())
    second = client_plan(resolved, address="127.0.0.1:7001", context_cache=cache)
    assert second is not first and second.context is not first.context
    assert client_plan(resolved, address="127.0.0.1:7001", context_cache=cache) is second


def test_an_expired_crl_fails_closed_on_a_cached_plan(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ContextCache()
    resolved = resolve_client(env_of(folder, connection="tls-crl=crl.pem"), "Client", "TServer", "p")
    client_plan(resolved, address="127.0.0.1:7001", context_cache=cache)
    client_plan(resolved, address="127.0.0.1:7001", context_cache=cache)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)  # past the CRL's nextUpdate
    monkeypatch.setattr(crl_module, "_now", lambda now: later)
    with pytest.raises(TLSError) as info:
        client_plan(resolved, address="127.0.0.1:7001", context_cache=cache)
    assert info.value.category is Category.CRL_EXPIRED
    result = connect(resolved, address="127.0.0.1:7001", context_cache=cache, check=False)
    assert not result.ok and result.category is Category.CRL_EXPIRED


# --- the short read after a TLS 1.3 handshake ends at the server's session ticket ----------------------------


def test_a_session_ticket_ends_the_wait_for_a_late_refusal(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import genesys_tls.handshake as handshake_module

    # A raw mutual TLS 1.3 server that issues tickets, then waits for the client to speak (as a real server
    # does) until the test lets it go. With a wait far longer than the bound, connect returns while the server
    # still holds the connection only if the ticket ended the wait.
    monkeypatch.setattr(handshake_module, "POST_HANDSHAKE_WAIT", 60.0)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(folder / "server.pem"), str(folder / "server.key"))
    ctx.load_verify_locations(cafile=str(folder / "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.num_tickets = 1
    release, closed = threading.Event(), threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(10)
        with ctx.wrap_socket(conn, server_side=True):
            release.wait(20)
        closed.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        resolved = resolve_client(env_of(folder, port="tls=1;tls-mutual=1"), "Client", "TServer", "p")
        result = connect(resolved, address=listener.getsockname()[:2], timeout=30)
        assert result.ok and result.protocol == "TLSv1.3"
        assert not closed.is_set()  # the server still holds the connection: no wait for its close
    finally:
        release.set()
        thread.join(20)
        listener.close()
