"""The server core: generations kept per connection, the hook before TLS, the idle timeout, bounded records,
and accept errors that back off instead of ending the server. Real sockets on loopback only."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _limits import descriptors_exhausted
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from genesys_tls.demo import DEMO_ENVIRONMENT
from genesys_tls.errors import Category
from genesys_tls.loaders import loads
from genesys_tls.model import Environment
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import resolve_server
from genesys_tls.resolved import Check, Mode, PortMode
from genesys_tls.results import LazyPeerIdentity, PeerIdentity
from genesys_tls.server import Connection, Generation, GenerationHolder, ServerCore, echo, echo_lines


@pytest.fixture(scope="module")
def env(genesys_pki: PKIFiles) -> Environment:
    return loads(DEMO_ENVIRONMENT, source=genesys_pki.directory / "demo.yaml", base_dir=genesys_pki.directory)


def _client_context(genesys_pki: PKIFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(genesys_pki.ca))
    ctx.load_cert_chain(str(genesys_pki.directory / "certs" / "client-host.pem"),
                        str(genesys_pki.directory / "certs" / "client-host.key"))
    return ctx


@contextlib.contextmanager
def _tls(address: tuple[str, int], ctx: ssl.SSLContext) -> Iterator[ssl.SSLSocket]:
    with socket.create_connection(address, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="tsrv-host") as tls:
        yield tls


def test_a_connection_keeps_the_generation_it_started_with(env: Environment, genesys_pki: PKIFiles) -> None:
    holder = GenerationHolder(Generation.build(resolve_server(env, "TServer", "secure")))
    ctx = _client_context(genesys_pki)
    with ServerCore(holder, after=echo_lines(b"hi\n"), idle_timeout=5) as core, _tls(core.address, ctx) as first:
        assert first.recv(3) == b"hi\n"
        previous = holder.swap(Generation.build(resolve_server(env, "TServer", "mutual")))
        assert previous.number == 0 and holder.current.number == 1
        with _tls(core.address, ctx) as second:
            assert second.recv(3) == b"hi\n"
            assert core.wait(2)
        first.sendall(b"still here\n")  # the connection opened before the swap is still served
        assert first.recv(100) == b"still here\n"
    old, new = core.records
    assert (old.generation, old.mode, old.checks) == (0, "simple", ())
    assert (new.generation, new.mode, new.checks, new.authenticated) == (1, "mutual", ("chain",), True)
    assert new.peer is not None and new.peer.subject == "CN=client-host"


def test_before_refuses_before_any_tls_byte(env: Environment) -> None:
    seen: list[str | None] = []

    def refuse(connection: Connection) -> tuple[Category, str]:
        seen.append(connection.client)
        return Category.CONNECTION, "refused by policy"

    with ServerCore(Generation.build(resolve_server(env, "TServer", "secure")), before=refuse) as core:
        with socket.create_connection(core.address, timeout=5) as raw:
            raw.settimeout(5)
            assert raw.recv(10) == b""  # closed: no ServerHello, no alert
        assert core.wait(1)
    (record,) = core.records
    assert not record.ok and record.detail == "refused by policy" and record.tls is False
    assert seen == [record.client]


def test_idle_clients_are_dropped_after_the_idle_timeout(env: Environment) -> None:
    generation = Generation.build(resolve_server(env, "TServer", "default"))
    with ServerCore(generation, after=echo, idle_timeout=0.2) as core, socket.create_connection(core.address) as raw:
        raw.settimeout(5)
        raw.sendall(b"x")
        assert raw.recv(10) == b"x"
        assert raw.recv(10) == b""  # the server closed the idle connection (within the 5 s bound)
    assert core.records[0].port_mode is PortMode.PLAIN


def test_records_are_bounded_and_streamed(env: Environment) -> None:
    streamed = []
    core = ServerCore(Generation.build(resolve_server(env, "TServer", "default")), keep=2, on_record=streamed.append)
    with core:
        for _ in range(5):
            with socket.create_connection(core.address, timeout=5) as raw:
                raw.sendall(b"x")
        assert core.wait(5)
    assert core.total == 5 and len(streamed) == 5 and len(core.records) == 2
    assert core.records == streamed[-2:]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd to count descriptors")
def test_accept_errors_back_off_and_the_server_goes_on(env: Environment) -> None:
    core = ServerCore(Generation.build(resolve_server(env, "TServer", "default")), timeout=5)
    clients = [socket.create_connection(core.address, timeout=5) for _ in range(3)]  # queued in the backlog
    for client in clients:
        client.sendall(b"x")
    with descriptors_exhausted():
        core.start()
        deadline = time.monotonic() + 5
        while core.accept_error_count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    try:
        assert core.accept_error_count >= 1 and core.accept_errors[0].errno in (24, 23)  # EMFILE / ENFILE
        assert core.running and core.failure is None
        assert core.wait(3, timeout=10)  # the queued clients are served once descriptors are back
        assert all(r.ok for r in core.records)
    finally:
        core.stop()
        for client in clients:
            client.close()


def _mutual_context(env: Environment) -> ssl.SSLContext:
    context = Generation.build(resolve_server(env, "TServer", "mutual")).context
    assert context is not None
    return context


def test_a_generation_of_settings_of_another_kind(env: Environment, genesys_pki: PKIFiles) -> None:
    """``Generation.own``: a server whose settings are not a Genesys port (no resolved settings) still gets
    its mode and checks into every record."""
    generation = Generation.own(_mutual_context(env), Mode.MUTUAL, (Check.CHAIN,))
    assert generation.resolved is None and generation.port_mode is PortMode.SECURE
    plain = Generation.own(None, Mode.MUTUAL, (Check.CHAIN,))
    assert (plain.port_mode, plain.tls_mode, plain.checks) == (PortMode.PLAIN, Mode.PLAIN, ())
    with ServerCore(generation, after=echo, idle_timeout=5) as core, _tls(core.address,
                                                                        _client_context(genesys_pki)) as tls:
        tls.sendall(b"ping")
        assert tls.recv(4) == b"ping"
        assert core.wait(1)
    (record,) = core.records
    assert (record.ok, record.mode, record.checks, record.authenticated) == (True, "mutual", ("chain",), True)
    assert "server" in core.name


def _hello() -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    with contextlib.suppress(ssl.SSLWantReadError):
        context.wrap_bio(incoming, outgoing).do_handshake()
    return outgoing.read()


@pytest.mark.parametrize("peek", [True, False])
def test_plain_peek_off_hands_every_plain_connection_to_after(peek: bool) -> None:
    hello = _hello()
    with ServerCore(Generation.own(None, Mode.PLAIN), after=echo, idle_timeout=5, plain_peek=peek) as core:
        with socket.create_connection(core.address, timeout=5) as raw:
            raw.sendall(hello)
            with contextlib.suppress(OSError):  # the refusing server may have reset the connection already
                raw.shutdown(socket.SHUT_WR)
            echoed = b""
            with contextlib.suppress(ConnectionResetError):  # closed unread: a reset
                while chunk := raw.recv(65536):
                    echoed += chunk
        assert core.wait(1)
    (record,) = core.records
    if peek:  # the default: a ClientHello on a plain port is refused unanswered
        assert echoed == b"" and record.category is Category.PROTOCOL
    else:  # the application gets the bytes unread
        assert echoed == hello and record.ok and record.tls is False


def test_drain_lets_the_client_read_the_alert(env: Environment, genesys_pki: PKIFiles) -> None:
    """TLS 1.3: a client without a certificate ends its handshake and sends at once; the server refuses the
    missing certificate. With ``drain`` the client reads the alert instead of a reset, every time (with
    ``drain=0`` most of these clients see a reset). The drain ends as soon as the client closes."""
    drain = 3.0
    client = ssl.create_default_context(cafile=str(genesys_pki.ca))
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    seen: list[str] = []
    with ServerCore(Generation.own(_mutual_context(env), Mode.MUTUAL, (Check.CHAIN,)), drain=drain) as core:
        for _ in range(10):
            with _tls(core.address, client) as tls:
                try:
                    tls.sendall(b"x" * 65536)
                    tls.recv(100)
                    seen.append("no alert")
                except ssl.SSLError as exc:
                    seen.append(exc.reason or str(exc))
                except OSError as exc:
                    seen.append(type(exc).__name__)
        assert core.wait(10)
    assert seen == ["TLSV13_ALERT_CERTIFICATE_REQUIRED"] * 10
    assert {r.category for r in core.records} == {Category.CLIENT_CERTIFICATE_REQUIRED}


# --- what the core leaves out of the hot path: no session tickets unless asked for, the client certificate
# parsed only when a record's peer is looked at


def _has_ticket(address: tuple[str, int], ctx: ssl.SSLContext) -> bool:
    with socket.create_connection(address, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="tsrv-host") as tls:
        assert tls.version() == "TLSv1.3"
        assert tls.recv(3) == b"hi\n"  # the tickets, when sent, come before the first application bytes
        session = tls.session
        return session is not None and session.has_ticket


@pytest.mark.parametrize(("tickets", "expected"), [(None, False), (2, True)])
def test_session_tickets_only_when_asked_for(
    env: Environment, genesys_pki: PKIFiles, tickets: int | None, expected: bool
) -> None:
    generation = Generation.build(resolve_server(env, "TServer", "secure"))
    extra = {} if tickets is None else {"session_tickets": tickets}
    with ServerCore(generation, after=echo_lines(b"hi\n"), idle_timeout=5, **extra) as core:
        assert _has_ticket(core.address, _client_context(genesys_pki)) is expected
        assert core.wait(1)


def test_the_client_certificate_is_parsed_when_looked_at(env: Environment, genesys_pki: PKIFiles) -> None:
    generation = Generation.build(resolve_server(env, "TServer", "mutual"))
    with ServerCore(generation, after=echo_lines(b"hi\n"), idle_timeout=5) as core:
        _has_ticket(core.address, _client_context(genesys_pki))
        assert core.wait(1)
    record = core.records[0]
    assert record.authenticated and isinstance(record.peer, LazyPeerIdentity)
    assert record.peer._read is None  # nothing parsed yet
    pem = Path(genesys_pki.directory / "certs" / "client-host.pem").read_bytes()
    der = x509.load_pem_x509_certificates(pem)[0].public_bytes(serialization.Encoding.DER)
    expected = PeerIdentity.from_der(der)
    assert record.peer == expected and expected == record.peer and hash(record.peer) == hash(expected)
    assert record.peer.subject == "CN=client-host" and record.to_dict()["peer"]["subject"] == "CN=client-host"
    assert record.peer._read is not None


def test_at_most_workers_connections_at_once_the_next_waits_in_the_backlog(env: Environment) -> None:
    core = ServerCore(Generation.build(resolve_server(env, "TServer", "default")), workers=2, after=echo,
                      idle_timeout=5, name="bounded-core")
    with core:
        clients = [socket.create_connection(core.address, timeout=5) for _ in range(3)]
        try:
            for client in clients:
                client.sendall(b"ping\n")
            assert clients[0].recv(5) == b"ping\n" and clients[1].recv(5) == b"ping\n"
            clients[2].settimeout(0.3)
            with pytest.raises(TimeoutError):
                clients[2].recv(5)  # every worker is busy: it waits in the backlog
            assert len([t for t in threading.enumerate() if t.name.startswith("bounded-core_")]) == 2
            clients[0].close()
            clients[2].settimeout(5)
            assert clients[2].recv(5) == b"ping\n"  # served once a worker is free
        finally:
            for client in clients:
                client.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("bounded-core")]


# --- the waiting room: silent TCP connections hold no worker


@contextlib.contextmanager
def _silent(address: tuple[str, int], n: int) -> Iterator[list[socket.socket]]:
    """``n`` TCP connections that send nothing (closed on the way out)."""
    socks = [socket.create_connection(address, timeout=5) for _ in range(n)]
    try:
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(10) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("port", ["secure", "default", "auto"])
def test_silent_connections_beyond_the_workers_do_not_delay_a_client(
    env: Environment, genesys_pki: PKIFiles, port: str
) -> None:
    """100 silent connections, 4 workers, a 10 s timeout: a client that talks is served within 3 s (before, it
    waited for a worker until the silent ones timed out)."""
    app = "ConfServer" if port == "auto" else "TServer"
    core = ServerCore(Generation.build(resolve_server(env, app, port)), workers=4, timeout=10, after=echo,
                      idle_timeout=5, name=f"room-{port}")
    with _silent(core.address, 100), core:  # the silent ones are closed after the stop
        time.sleep(0.2)  # accepted: every one waits in the room
        if port == "default":
            with socket.create_connection(core.address, timeout=3) as raw:
                raw.sendall(b"ping")
                assert raw.recv(4) == b"ping"
        else:
            client = _client_context(genesys_pki)
            client.check_hostname = False
            with socket.create_connection(core.address, timeout=3) as raw, client.wrap_socket(raw) as tls:
                tls.sendall(b"ping")
                assert tls.recv(4) == b"ping"
        assert core.wait(1, timeout=3)
        assert len([t for t in threading.enumerate() if t.name.startswith(f"room-{port}_")]) <= 4
    assert [r.ok for r in core.records] == [True]  # the silent ones closed at the stop, unrecorded


def test_stop_closes_the_waiting_connections_at_once(env: Environment) -> None:
    """Even without dropping the connections under way, a stop does not wait for silent ones to time out."""
    core = ServerCore(Generation.build(resolve_server(env, "TServer", "secure")), workers=4, timeout=10)
    core.start()
    with _silent(core.address, 100) as silent:
        time.sleep(0.2)
        started = time.monotonic()
        core.stop(timeout=5, drop=False)
        assert time.monotonic() - started < 3 and not core.running
        assert all(_closed_by_server(sock) for sock in silent)
    assert core.total == 0


def test_stop_ends_serve_forever_in_the_callers_thread_with_waiting_connections(env: Environment) -> None:
    core = ServerCore(Generation.build(resolve_server(env, "TServer", "secure")), timeout=10)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            core.serve_forever()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    serving = threading.Thread(target=serve, daemon=True)
    serving.start()
    with _silent(core.address, 20) as silent:
        time.sleep(0.2)
        core.stop()
        serving.join(5)
        assert not serving.is_alive() and failures == []
        assert all(_closed_by_server(sock) for sock in silent)


@pytest.mark.parametrize(("port", "tls", "detail"), [
    ("secure", True, "the client did not finish its handshake within 0.5s"),
    ("default", False, "the client sent nothing within 0.5s"),
])
def test_a_silent_connection_is_recorded_when_it_times_out(
    env: Environment, port: str, tls: bool, detail: str
) -> None:
    core = ServerCore(Generation.build(resolve_server(env, "TServer", port)), workers=1, timeout=0.5)
    with core, _silent(core.address, 3) as silent:
        assert core.wait(3, timeout=5)  # each in its own time, none waiting for a worker
        assert all(_closed_by_server(sock) for sock in silent)
    assert [(r.category, r.detail, r.tls) for r in core.records] == [(Category.CONNECTION, detail, tls)] * 3


def test_the_waiting_room_is_bounded_and_a_refusal_is_recorded(env: Environment, genesys_pki: PKIFiles) -> None:
    core = ServerCore(Generation.build(resolve_server(env, "TServer", "secure")), timeout=10, waiting=3)
    with core, _silent(core.address, 5) as silent:
        assert core.wait(2, timeout=5)
        assert core.waiting_refused == 2
        assert all(_closed_by_server(sock) for sock in silent[3:])
        silent[0].close()  # once the server has seen it go (recorded), a place is free again: a client is served
        assert core.wait(3, timeout=5)
        with _tls(core.address, _client_context(genesys_pki)):
            assert core.wait(4, timeout=5)
    refused = [r for r in core.records if r.detail and "waiting room is full" in r.detail]
    assert len(refused) == 2 and all(r.category is Category.CONNECTION and r.tls is False for r in refused)
    assert refused[0].detail == ("the server's waiting room is full (3 connections that sent nothing yet): "
                                 "connection closed")
    assert [r.ok for r in core.records].count(True) == 1
    with pytest.raises(ValueError, match="waiting"):
        ServerCore(Generation.own(None, Mode.PLAIN), waiting=-1)


def test_count_serves_the_waiting_connections_to_the_end(env: Environment) -> None:
    """With ``count``, the connections accepted last still get served (or time out) after the accepting ends."""
    core = ServerCore(Generation.build(resolve_server(env, "TServer", "default")), timeout=1, count=2)
    serving = threading.Thread(target=core.serve_forever, daemon=True)
    serving.start()
    with _silent(core.address, 1), socket.create_connection(core.address, timeout=5) as talker:
        time.sleep(0.2)
        talker.sendall(b"x")
        serving.join(10)
        assert not serving.is_alive()
    assert sorted(r.ok for r in core.records) == [False, True]
    core.stop()
