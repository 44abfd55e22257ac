"""What the server core leaves out of the hot path, as behaviour: no TLS 1.3 session tickets unless asked
for, and the client certificate parsed only when a record's peer is looked at. Real handshakes on loopback."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from genesys_tls.demo import DEMO_ENVIRONMENT
from genesys_tls.loaders import loads
from genesys_tls.model import Environment
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import resolve_server
from genesys_tls.results import LazyPeerIdentity, PeerIdentity
from genesys_tls.server import Generation, ServerCore, echo_lines


@pytest.fixture(scope="module")
def env(genesys_pki: PKIFiles) -> Environment:
    return loads(DEMO_ENVIRONMENT, source=genesys_pki.directory / "demo.yaml", base_dir=genesys_pki.directory)


def _client(genesys_pki: PKIFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(genesys_pki.ca))
    ctx.load_cert_chain(str(genesys_pki.directory / "certs" / "client-host.pem"),
                        str(genesys_pki.directory / "certs" / "client-host.key"))
    return ctx


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
        assert _has_ticket(core.address, _client(genesys_pki)) is expected
        assert core.wait(1)


def test_the_client_certificate_is_parsed_when_looked_at(env: Environment, genesys_pki: PKIFiles) -> None:
    generation = Generation.build(resolve_server(env, "TServer", "mutual"))
    with ServerCore(generation, after=echo_lines(b"hi\n"), idle_timeout=5) as core:
        _has_ticket(core.address, _client(genesys_pki))
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
