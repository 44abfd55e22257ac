"""The simulated components: real handshakes on loopback for every port mode, the server's records (accepted
and refused, with categories), addresses of ephemeral ports, and a clean stop."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import time
import warnings
from pathlib import Path

import pytest

from genesys_tls.contexts import client_plan
from genesys_tls.demo import DEMO_ENVIRONMENT
from genesys_tls.errors import Category, ConfigurationError, InsecureConfigurationWarning
from genesys_tls.harness import (
    HandshakeRecord,
    PortMode,
    SimulatedClient,
    SimulatedServer,
    environment_with_addresses,
    is_tls_client_hello,
    run_client,
)
from genesys_tls.loaders import loads
from genesys_tls.model import Environment
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import resolve_client


@pytest.fixture(scope="module")
def env(genesys_pki: PKIFiles) -> Environment:
    """The demo's environment over the session PKI (same file layout): every port mode and client kind."""
    return loads(DEMO_ENVIRONMENT, source=genesys_pki.directory / "demo.yaml", base_dir=genesys_pki.directory)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else -1


# --------------------------------------------------------------------------------------------- port modes


def test_plain_port_echoes_a_line(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "default", port=0) as server:
        assert server.mode is PortMode.PLAIN and server.context is None
        result = run_client(env, "Client", server)
        (record,) = server.wait_for(1)
    assert result.ok and result.mode == "plain" and result.protocol is None
    assert result.address == "{}:{}".format(*server.address)
    assert record.accepted and not record.tls and record.port_mode is PortMode.PLAIN and record.outcome == "ok"


def test_secure_port_simple_handshake(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "secure", port=0) as server:
        assert server.mode is PortMode.SECURE
        result = run_client(env, "Client", server)
        (record,) = server.wait_for(1)
    assert result.ok, result.error
    assert result.mode == "simple" and result.authenticated
    assert result.checks == ("chain", "target-name")
    assert result.peer is not None and result.peer.subject == "CN=tsrv-host"
    assert record.accepted and record.tls and record.protocol == result.protocol == "TLSv1.3"
    assert record.cipher == result.cipher
    assert record.peer is None and not record.authenticated  # a simple port asks for no client certificate
    assert record.client is not None and record.client.startswith("127.0.0.1:")


def test_mutual_port_records_the_client_identity(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "mutual", port=0) as server:
        result = run_client(env, "Client", server)
        (record,) = server.wait_for(1)
    assert result.ok and result.mode == "mutual"
    assert record.accepted and record.authenticated and record.checks == ("chain",)
    assert record.peer is not None and record.peer.subject == "CN=client-host"
    assert "DNS:client-host" in record.peer.sans
    data = record.to_dict()
    assert data["ok"] is True and data["tls"] is True and data["port-mode"] == "secure"
    assert data["peer"]["subject"] == "CN=client-host" and "error" not in data


def test_upgrade_port_serves_tls_and_plain_clients(env: Environment) -> None:
    with SimulatedServer(env, "ConfServer", "auto", port=0) as server:
        assert server.mode is PortMode.UPGRADE and server.context is not None
        tls_result = run_client(env, "Client", server)
        plain_result = run_client(env, "Client_Plain", server)
        records = server.wait_for(2)
    assert tls_result.ok and tls_result.protocol == "TLSv1.3" and tls_result.authenticated
    assert plain_result.ok and plain_result.mode == "plain"
    assert [(r.tls, r.accepted, r.port_mode) for r in records] == [
        (True, True, PortMode.UPGRADE), (False, True, PortMode.UPGRADE)
    ]


def test_tls_client_reads_the_greeting_and_the_echo(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "secure", port=0) as server:
        plan = client_plan(resolve_client(env, "Client", "TServer", "secure"), address=server.address)
        with socket.create_connection(server.address, timeout=5) as raw, plan.context.wrap_socket(
            raw, server_hostname=plan.server_hostname
        ) as tls:
            greeting = tls.recv(100)
            tls.sendall(b"one\ntwo\n")
            echoed = b""
            deadline = time.monotonic() + 5
            while echoed.count(b"\n") < 2 and time.monotonic() < deadline:
                echoed += tls.recv(100)
    assert greeting == b"genesys-tls TServer/secure\n"
    assert echoed == b"one\ntwo\n"


def test_connect_async_and_plain_async(env: Environment) -> None:
    with SimulatedServer(env, "ConfServer", "auto", port=0) as server:

        async def both() -> list[bool]:
            results = await asyncio.gather(
                SimulatedClient(env, "Client", server).connect_async(),
                SimulatedClient(env, "Client_Plain", server).connect_async(),
            )
            return [r.ok for r in results]

        assert asyncio.run(both()) == [True, True]
        assert sorted(r.tls for r in server.wait_for(2)) == [False, True]


# --------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("client", "server_app", "port_id", "category"),
    [
        ("Client_NoCert", "TServer", "mutual", Category.CLIENT_CERTIFICATE_REQUIRED),
        ("Client_Revoked", "TServer", "mutual-crl", Category.REVOKED),
        ("Client_TLS13", "TServer", "tls12", Category.PROTOCOL),
    ],
)
def test_server_refusals_reach_client_and_record(
    env: Environment, client: str, server_app: str, port_id: str, category: Category
) -> None:
    with SimulatedServer(env, server_app, port_id, port=0) as server:
        result = run_client(env, client, server)
        (record,) = server.wait_for(1)
    assert not result.ok and result.category is category, result.error
    assert not record.accepted and record.tls and record.category is category and record.detail
    assert record.outcome == category.value
    assert record.to_dict()["error"]["category"] == category.value


@pytest.mark.parametrize(
    ("server_app", "category"),
    [
        ("TServer_Expired", Category.EXPIRED),
        ("TServer_Revoked", Category.REVOKED),
        ("TServer_Untrusted", Category.UNTRUSTED),
        ("TServer_WrongName", Category.NAME_MISMATCH),
    ],
)
def test_client_refusals_are_recorded_by_the_server(env: Environment, server_app: str, category: Category) -> None:
    with SimulatedServer(env, server_app, "secure", port=0) as server:
        result = run_client(env, "Client", server)
        (record,) = server.wait_for(1)
    assert result.category is category, result.error
    assert not record.accepted and record.category is not None  # the client's alert, as the server saw it
    assert "refused our certificate" in record.detail


def test_encryption_only_accepts_an_untrusted_server_unauthenticated(env: Environment) -> None:
    with SimulatedServer(env, "TServer_Untrusted", "secure", port=0) as server, warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureConfigurationWarning)
        result = run_client(env, "Client_EncryptionOnly", server)
    assert result.ok and result.mode == "encryption-only" and not result.authenticated
    assert result.checks == () and "warning" in result.to_dict()


def test_tls_client_on_a_plain_port_is_refused(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "default", port=0) as server:
        result = run_client(env, "Client", "TServer", "secure", address=server)
        (record,) = server.wait_for(1)
    assert not result.ok and result.category is Category.CONNECTION
    assert not record.accepted and not record.tls and record.category is Category.PROTOCOL
    assert "plain port" in record.detail


def test_plain_client_on_a_secure_port_fails(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "secure", port=0) as server:
        result = run_client(env, "Client", "TServer", "default", address=server)
        (record,) = server.wait_for(1)
    # Both are right: the server answers the plain line with a TLS alert and closes with the rest of the line
    # unread, so the kernel resets the connection; the client sees the alert (protocol) or, when the reset
    # arrives first, the reset (connection). The server's side is exact.
    assert not result.ok and result.category in (Category.PROTOCOL, Category.CONNECTION)
    assert not record.accepted and record.tls and record.category is Category.PROTOCOL


def test_silent_client_on_an_upgrade_port_times_out(env: Environment) -> None:
    with SimulatedServer(env, "ConfServer", "auto", port=0, timeout=0.2) as server, socket.create_connection(
        server.address
    ):
        (record,) = server.wait_for(1, timeout=5)
    assert not record.accepted and record.category is Category.CONNECTION and "sent nothing" in record.detail


def test_connection_refused_when_nothing_listens(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "default", port=0) as server:
        address = server.address
    result = run_client(env, "Client", "TServer", "default", address=address, timeout=2)
    assert not result.ok and result.category is Category.CONNECTION


# --------------------------------------------------------------------------------------------- addresses


def test_environment_with_addresses_moves_only_the_dialled_address(env: Environment) -> None:
    with SimulatedServer(env, "TServer", "secure", port=0) as server:
        moved = environment_with_addresses(env, [server])
        assert moved.application("TServer").port("secure").number == server.address[1]
        assert moved.host("tsrv-host").ip == "127.0.0.1"
        resolved = resolve_client(moved, "Client", "TServer", "secure")
        assert resolved.target is not None and resolved.target.address == f"127.0.0.1:{server.address[1]}"
        assert resolved.expected_name == "tsrv-host"  # the name checked did not change
        result = run_client(moved, "Client", "TServer", "secure")  # no address: the environment's
    assert result.ok and "target-name" in result.checks
    assert env.application("TServer").port("secure").number == 7001  # the original is untouched


def test_server_listens_on_the_configured_number(env: Environment) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        free = probe.getsockname()[1]
    moved = environment_with_addresses(env, {"TServer/default": ("127.0.0.1", free)})
    with SimulatedServer(moved, "TServer", "default") as server:
        assert server.address == ("127.0.0.1", free)
        assert run_client(moved, "Client", "TServer", "default").ok


def test_environment_with_addresses_errors(env: Environment) -> None:
    with pytest.raises(ConfigurationError, match="APP/PORT_ID"):
        environment_with_addresses(env, {"TServer": ("127.0.0.1", 1)})
    with pytest.raises(ConfigurationError, match="no port"):
        environment_with_addresses(env, {"TServer/nope": ("127.0.0.1", 1)})
    with pytest.raises(ConfigurationError, match="different IP"):
        environment_with_addresses(env, {"TServer/secure": ("127.0.0.1", 1), "TServer/mutual": ("127.0.0.2", 2)})


# --------------------------------------------------------------------------------------------- lifecycle


def test_stop_leaves_no_thread_or_socket_behind(env: Environment) -> None:
    threads, fds = set(threading.enumerate()), _fds()
    server = SimulatedServer(env, "ConfServer", "auto", port=0).start()
    assert server.running
    idle = socket.create_connection(server.address)  # connected, never speaks (waiting in the peek)
    half = socket.create_connection(server.address)
    half.sendall(b"\x16\x03")  # half a TLS record header
    assert run_client(env, "Client", server).ok
    assert run_client(env, "Client_Plain", server).ok
    server.wait_for(2)
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 2
    server.stop()  # idempotent
    idle.close()
    half.close()
    assert not server.running
    assert set(threading.enumerate()) == threads
    assert _fds() == fds
    with pytest.raises(RuntimeError):
        server.start()


def test_stop_during_a_handshake(env: Environment) -> None:
    threads = set(threading.enumerate())
    with SimulatedServer(env, "TServer", "secure", port=0) as server, socket.create_connection(server.address) as raw:
        ctx = ssl.create_default_context()
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        hello = ctx.wrap_bio(incoming, outgoing, server_hostname="tsrv-host")
        with pytest.raises(ssl.SSLWantReadError):
            hello.do_handshake()
        raw.sendall(outgoing.read())  # a ClientHello, then silence: the server waits for the rest
        time.sleep(0.05)
    assert set(threading.enumerate()) == threads


def test_wait_for_times_out_and_address_needs_start(env: Environment) -> None:
    server = SimulatedServer(env, "TServer", "secure", port=0)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.address
    with server, pytest.raises(TimeoutError, match="0 connection"):
        server.wait_for(1, timeout=0.05)


def test_configuration_errors_are_raised_before_starting(env: Environment) -> None:
    with pytest.raises(ConfigurationError, match="no port"):
        SimulatedServer(env, "TServer", "nope")
    bare = loads(
        "hosts: {h: {}}\napplications:\n  S: {host: h, ports: {secure: {transport: 'tls=1'}}}\n"
    )
    with pytest.raises(ConfigurationError, match="certificate"):
        SimulatedServer(bare, "S", "secure", port=0)
    with pytest.raises(ConfigurationError, match="port=0"):
        SimulatedServer(loads("applications: {S: {ports: {default: {}}}}"), "S", "default")


def test_tls_client_hello_detection() -> None:
    assert is_tls_client_hello(b"\x16\x03\x01\x02\x00")
    assert is_tls_client_hello(b"\x16") and is_tls_client_hello(b"\x16\x03")
    assert not is_tls_client_hello(b"")
    assert not is_tls_client_hello(b"GET / HTTP/1.1")
    assert not is_tls_client_hello(b"\x16\x02\x01")
    assert not is_tls_client_hello(b"\x16\x03\x09")


def test_record_to_result_is_the_serve_shape() -> None:
    record = HandshakeRecord(accepted=False, tls=True, port_mode=PortMode.SECURE, category=Category.REVOKED,
                             detail="x", client="127.0.0.1:1", mode="mutual")
    data = record.to_dict()
    assert data["ok"] is False and data["error"] == {"category": "revoked", "detail": "x"}
    assert data["mode"] == "mutual" and data["address"] == "127.0.0.1:1" and data["port-mode"] == "secure"


# --------------------------------------------------------------------------------------------- one decision


@pytest.mark.parametrize(
    ("port_id", "client", "expected"),
    [
        ("secure", "Client", ()),
        ("mutual", "Client", ("chain",)),
        ("mutual-crl", "Client_Revoked", ("chain", "crl")),
    ],
)
def test_harness_reports_the_checks_of_the_context(
    env: Environment, port_id: str, client: str, expected: tuple[str, ...]
) -> None:
    """The simulated server's records carry the checks the server context makes: the same as the Python
    server's results and the resolved settings (one decision, read by every stage)."""
    from genesys_tls.handshake import Server
    from genesys_tls.resolve import resolve_server

    resolved = resolve_server(env, "TServer", port_id)
    with SimulatedServer(env, "TServer", port_id, port=0) as sim:
        run_client(env, client, sim)
        (record,) = sim.wait_for(1)
    with Server(resolved, count=1) as server:
        run_client(env, client, "TServer", port_id, address=server.address)
        assert server.wait(1)
    assert record.checks == server.results[0].checks == resolved.checks == sim.checks == expected
    assert record.mode == server.results[0].mode
