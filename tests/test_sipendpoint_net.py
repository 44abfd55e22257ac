"""The endpoint listener and the Workspace client: real TLS and HTTP on 127.0.0.1 (and 127.0.0.2)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from _limits import descriptors_exhausted
from _sip import IDENTITY_KEYS, IDENTITY_OPTIONS, endpoint, workspace

from genesys_tls.errors import Category
from genesys_tls.sipendpoint.client import LAB_ONLY, WorkspaceClient
from genesys_tls.sipendpoint.http import HTTPLimits
from genesys_tls.sipendpoint.listener import EndpointListener, admit
from genesys_tls.sipendpoint.scenarios import SCENARIOS, Material, build_material, run_one
from genesys_tls.stores import CertificateStore, StoreEntry, thumbprint

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    return build_material(tmp_path_factory.mktemp("sip"))


@contextmanager
def listening(material: Material, keys: Mapping[str, str], store: str = "ep-good",
              **kwargs: object) -> Iterator[EndpointListener]:
    config = endpoint({"port": "8000", **keys})
    with EndpointListener(config, store=material.stores[store] if config.tls else None, ca_file=str(material.ca),
                          user=material.user, timeout=TIMEOUT, **kwargs) as listener:  # type: ignore[arg-type]
        yield listener


def client(material: Material, options: Mapping[str, str], store: str = "ws-good",
           source: str | None = None) -> WorkspaceClient:
    settings = workspace({"port": "8000", **options})
    return WorkspaceClient(settings, store=material.stores[store], ca_file=str(material.ca), user=material.user,
                           source=source, timeout=TIMEOUT)


HTTPS0 = {"protocol": "https", "security_level": "0", "certificate_search_value": "Agent CA"}
WS1 = {"protocol": "https", "security-level": "1"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_matrix_scenarios(material: Material, scenario: object) -> None:
    """Each matrix row opens a session end to end; each must-fail twin fails as it must, on both sides."""
    result = run_one(material, scenario, TIMEOUT)  # type: ignore[arg-type]
    assert result.passed, result.detail


def test_matrix_rows_end_to_end(material: Material) -> None:
    rows = [s for s in SCENARIOS if s.name in ("sip-lab-only", "sip-simple", "sip-mutual", "sip-identity")]
    assert [s.row for s in rows] == ["lab-only", "simple", "mutual", "identity"]
    for scenario in rows:
        result = run_one(material, scenario, TIMEOUT)
        assert result.outcome == "ok" and result.protocol == "TLSv1.3" and "HTTP 201" in result.detail


def test_level_1_needs_a_client_certificate_on_both_sides(material: Material) -> None:
    with listening(material, {**HTTPS0, "security_level": "1"}) as listener:
        result = client(material, WS1).open_session(listener.address)
        assert listener.wait(1, TIMEOUT)
    assert result.category is Category.CLIENT_CERTIFICATE_REQUIRED and result.status is None
    assert listener.records[0].category is Category.CLIENT_CERTIFICATE_REQUIRED


def test_subject_mismatch_is_a_403_listing_the_mismatches(material: Material) -> None:
    keys = {**HTTPS0, "security_level": "2", **IDENTITY_KEYS}
    options = {"protocol": "https", "security-level": "2", "certificate-search-value": "Agent CA"}
    with listening(material, keys) as listener:
        wrong_e = client(material, options, store="ws-wrong-e").open_session(listener.address)
        swapped = client(material, options, store="ws-swapped-ou").open_session(listener.address)
        good = client(material, options).open_session(listener.address)
        assert listener.wait(3, TIMEOUT)
    assert wrong_e.status == 403 and wrong_e.category is Category.SUBJECT_MISMATCH
    assert [m["criterion"] for m in wrong_e.data["mismatches"]] == ["E"]
    assert [m["index"] for m in swapped.mismatches] == [2, 3]
    assert good.ok and good.status == 201
    assert [r.category for r in listener.records].count(Category.SUBJECT_MISMATCH) == 2


def test_workspace_level_3_refuses_another_users_endpoint(material: Material) -> None:
    keys = {**HTTPS0, "security_level": "2", **IDENTITY_KEYS}
    options = {"protocol": "https", "security-level": "3", "certificate-search-value": "Agent CA",
               **IDENTITY_OPTIONS}
    with listening(material, keys, store="ep-other-user") as listener:
        result = client(material, options).open_session(listener.address)
        assert listener.wait(1, TIMEOUT)
    assert result.category is Category.SUBJECT_MISMATCH and result.status is None, "nothing was sent"
    assert listener.records[0].exchanges == ()


def _client_hello() -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_address_range_before_tls(material: Material) -> None:
    with listening(material, {**HTTPS0, "ipv4_address_range": "127.0.0.2/32"}) as listener:
        raw = socket.socket()
        raw.settimeout(TIMEOUT)
        raw.bind(("127.0.0.1", 0))
        raw.connect(listener.address)
        with raw:
            try:
                raw.sendall(_client_hello())
                answer = raw.recv(100)
            except (ConnectionResetError, BrokenPipeError):
                answer = b""
        assert answer == b"", "no ServerHello, not a byte of TLS"
        refused = client(material, {"protocol": "https", "security-level": "0"}, source="127.0.0.1")
        seen_refused = refused.open_session(listener.address)
        allowed = client(material, {"protocol": "https", "security-level": "0"}, source="127.0.0.2")
        seen_allowed = allowed.open_session(listener.address)
        assert listener.wait(3, TIMEOUT)
    assert seen_refused.category is Category.ADDRESS_REFUSED and seen_refused.handshake.protocol is None
    assert seen_allowed.ok and seen_allowed.status == 201 and LAB_ONLY in seen_allowed.handshake.warnings
    categories = [r.category for r in listener.records]
    assert categories.count(Category.ADDRESS_REFUSED) == 2 and categories.count(None) == 1
    assert all(r.handshake.protocol is None for r in listener.records if r.category is Category.ADDRESS_REFUSED)


def test_ipv6_only_ranges_refuse_ipv4_clients(material: Material) -> None:
    with listening(material, {**HTTPS0, "ipv6_address_range": "::1/128"}) as listener:
        result = client(material, {"protocol": "https", "security-level": "0"}).open_session(listener.address)
        assert listener.wait(1, TIMEOUT)
    assert result.category is Category.ADDRESS_REFUSED
    assert "only ipv6_address_range" in listener.records[0].handshake.error[1]  # type: ignore[index]


def test_cors(material: Material) -> None:
    origin, other = "https://wde.example.com", "https://evil.example.net"
    plain = {"protocol": "http", "cors": origin}
    ws = client(material, {"protocol": "http"})
    preflight = (("access-control-request-method", "POST"),)
    with listening(material, plain) as listener:
        allowed = ws.request(listener.address, "OPTIONS", "/sessions", headers=(("origin", origin), *preflight))
        refused = ws.request(listener.address, "OPTIONS", "/sessions", headers=(("origin", other), *preflight))
        status = ws.request(listener.address, "GET", "/status", headers=(("origin", origin),))
        foreign = ws.request(listener.address, "GET", "/status", headers=(("origin", other),))
    assert allowed.status == 204 and allowed.header("access-control-allow-origin") == origin
    assert "POST" in (allowed.header("access-control-allow-methods") or "")
    assert refused.status == 403 and refused.header("access-control-allow-origin") is None
    assert status.status == 200 and status.header("access-control-allow-origin") == origin
    assert foreign.status == 200 and foreign.header("access-control-allow-origin") is None
    with listening(material, {"protocol": "http"}) as listener:
        off = ws.request(listener.address, "OPTIONS", "/sessions", headers=(("origin", origin), *preflight))
    assert off.status == 403 and off.header("access-control-allow-origin") is None


def test_second_workspace_409_and_restart_after_finalize(material: Material) -> None:
    events: list[str] = []
    with listening(material, {**HTTPS0, "security_level": "1"},
                   on_event=lambda name, _details: events.append(name)) as listener:
        first = client(material, {"protocol": "https", "security-level": "2", "certificate-search-value": "Agent CA"})
        second = client(material, {"protocol": "https", "security-level": "2",
                                   "certificate-search-value": "Agent CA"})
        opened = first.open_session(listener.address)
        assert opened.status == 201 and opened.session
        busy = second.open_session(listener.address)
        assert busy.status == 409 and busy.outcome == "http-409" and busy.data["error"] == "session-active"
        call = first.start_call(listener.address, opened.session)
        assert call.status == 201
        finalize = first.finalize(listener.address, opened.session)
        assert finalize.data == {"finalized": True, "restarted": False}, "a call is still active"
        assert second.open_session(listener.address).status == 409
        ended = first.end_call(listener.address, opened.session, call.data["call"])
        assert ended.data["restarted"] is True
        status = first.status(listener.address)
        assert status.data["state"] == "idle" and status.data["generation"] == 2
        reopened = second.open_session(listener.address)
        assert reopened.status == 201 and reopened.data["generation"] == 2
        again = second.finalize(listener.address, reopened.session)  # type: ignore[arg-type]
        assert again.data["restarted"] is True
        stale = first.start_call(listener.address, opened.session)
        assert stale.status == 404
    assert events.count("restart") == 2 and events[0] == "session"


def test_workspace_checks_no_host_name(material: Material, tmp_path: Path) -> None:
    issued = material.authorities["ca"].issue(["elsewhere.invalid"], subject="CN=Elsewhere")
    store = CertificateStore.from_entries([StoreEntry(issued.cert, issued.private_key, (), tmp_path / "mem",
                                                      thumbprint(issued.cert))])
    config = endpoint({**HTTPS0, "certificate_search_value": "Elsewhere"})
    with EndpointListener(config, store=store, ca_file=str(material.ca), timeout=TIMEOUT) as listener:
        result = client(material, WS1).open_session(listener.address)
        assert result.ok and result.handshake.checks == ("chain",)


def _raw_http(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=TIMEOUT) as raw:
        raw.sendall(data)
        chunks = []
        while True:
            try:
                chunk = raw.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_http_bounds(material: Material) -> None:
    limits = HTTPLimits(max_head=2048, max_body=1024, deadline=5.0)
    with listening(material, {"protocol": "http"}, limits=limits) as listener:
        pad = b"a" * 4096
        big_head = _raw_http(listener.address, b"GET /status HTTP/1.1\r\nhost: x\r\nx-pad: " + pad + b"\r\n\r\n")
        big_body = _raw_http(listener.address, b"POST /sessions HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n")
        garbage = _raw_http(listener.address, b"NOT HTTP AT ALL\r\n\r\n")
        keep = _raw_http(listener.address, b"GET /status HTTP/1.1\r\nhost: x\r\n\r\n"
                                           b"GET /nowhere HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert big_head.startswith(b"HTTP/1.1 431")
    assert big_body.startswith(b"HTTP/1.1 413")
    assert garbage.startswith(b"HTTP/1.1 400")
    assert keep.count(b"HTTP/1.1 200") == 1 and keep.count(b"HTTP/1.1 404") == 1, "two requests, one connection"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6_peer_inside_ipv6_range(material: Material) -> None:
    with listening(material, {**HTTPS0, "ipv6_address_range": "::1/128"}, host="::1") as listener:
        result = client(material, {"protocol": "https", "security-level": "0"}).open_session(listener.address)
    assert result.ok and result.status == 201


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command line is not installed")
def test_openssl_s_client_against_the_listener(material: Material, tmp_path: Path) -> None:
    """Interop: OpenSSL's client, with the agent's certificate, opens a session on a level 1 endpoint; without
    a certificate it is refused."""
    ca = material.authorities["ca"]
    cert, key = ca.issue(["ws"], subject="CN=OpenSSL Agent").write(tmp_path, "agent")
    request = b"POST /sessions HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    with listening(material, {**HTTPS0, "security_level": "1"}) as listener:
        base = ["openssl", "s_client", "-connect", f"127.0.0.1:{listener.address[1]}", "-CAfile", str(material.ca),
                "-quiet", "-verify_return_error"]
        done = subprocess.run([*base, "-cert", str(cert), "-key", str(key)], input=request, capture_output=True,
                              timeout=20, check=False)
        refused = subprocess.run(base, input=request, capture_output=True, timeout=20, check=False)
        assert listener.wait(2, TIMEOUT)
    assert b"HTTP/1.1 201" in done.stdout, done.stderr
    assert b"HTTP/1.1" not in refused.stdout
    assert [r.category for r in listener.records].count(Category.CLIENT_CERTIFICATE_REQUIRED) == 1


def test_worker_slots_bound_concurrent_connections(material: Material) -> None:
    """With one worker, a second connection waits (in the backlog) until the first one is done."""
    with listening(material, {"protocol": "http"}, workers=1) as listener:
        idle = socket.create_connection(listener.address, timeout=TIMEOUT)
        with idle:
            waiting = client(material, {"protocol": "http"})
            results: list[object] = []
            thread = threading.Thread(target=lambda: results.append(waiting.status(listener.address)))
            thread.start()
            thread.join(0.5)
            assert thread.is_alive() and not listener.records, "the only worker is held by the idle connection"
        thread.join(TIMEOUT)
        assert results and results[0].status == 200  # type: ignore[attr-defined]


def test_localhost_true_accepts_loopback_peers_and_refuses_others(material: Material) -> None:
    """``localhost=true``: loopback peers (127.0.0.1, 127.0.0.2) open sessions; the listener's own policy, the
    one its pre-TLS hook applies, refuses every address that is not loopback (also IPv4-mapped)."""
    with listening(material, {**HTTPS0, "localhost": "true"}) as listener:
        ws = {"protocol": "https", "security-level": "0"}
        opened = client(material, ws, source="127.0.0.1").open_session(listener.address)
        status = client(material, ws, source="127.0.0.2").status(listener.address)
        assert listener.wait(2, TIMEOUT)
        for address in ("192.0.2.10", "10.0.0.1", "::ffff:192.0.2.10", "2001:db8::1"):
            decision = admit(listener.policy, (address, 50000))
            assert not decision.allowed and "localhost=true" in decision.reason, address
    assert (opened.ok, opened.status, status.ok, status.status) == (True, 201, True, 200)
    assert [r.category for r in listener.records] == [None, None]
    assert all("localhost only" in r.to_dict()["address_policy"] for r in listener.records)
    assert admit(listener.policy, ("127.0.0.1", 1)).allowed and admit(listener.policy, ("::1", 1)).allowed


def test_localhost_true_and_a_range_must_both_pass(material: Material) -> None:
    with listening(material, {**HTTPS0, "localhost": "true", "ipv4_address_range": "127.0.0.2/32"}) as listener:
        ws = {"protocol": "https", "security-level": "0"}
        refused = client(material, ws, source="127.0.0.1").open_session(listener.address)
        allowed = client(material, ws, source="127.0.0.2").open_session(listener.address)
        assert listener.wait(2, TIMEOUT)
        assert not admit(listener.policy, ("10.0.0.2", 1)).allowed, "inside no range, and not loopback"
    assert refused.category is Category.ADDRESS_REFUSED and allowed.status == 201
    assert sorted(str(r.category) for r in listener.records) == ["None", "address-refused"]


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_localhost_true_accepts_the_ipv6_loopback(material: Material) -> None:
    with listening(material, {**HTTPS0, "localhost": "true"}, host="::1") as listener:
        result = client(material, {"protocol": "https", "security-level": "0"}).open_session(listener.address)
        assert listener.wait(1, TIMEOUT)
        assert not admit(listener.policy, ("2001:db8::1", 1)).allowed
    assert result.ok and result.status == 201
    (record,) = listener.records
    assert record.handshake.address is not None and record.handshake.address.startswith("[::1]:")


def test_http_endpoint_answers_a_client_hello_400(material: Material) -> None:
    """An http endpoint reads every connection as HTTP/1.1: a TLS ClientHello is answered 400, not dropped."""
    with listening(material, {"protocol": "http"}) as listener:
        answer = _raw_http(listener.address, _client_hello())
        assert listener.wait(1, TIMEOUT)
    assert answer.startswith(b"HTTP/1.1 400")
    (record,) = listener.records
    assert record.handshake.ok and [e.status for e in record.exchanges] == [400]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd to count descriptors")
def test_listener_survives_exhausted_descriptors(material: Material) -> None:
    """Out of descriptors, the listener backs off (the server core's accept loop) and serves the waiting
    clients once descriptors are back, instead of ending its accept thread."""
    request = b"GET /status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    listener = EndpointListener(endpoint({"protocol": "http"}), timeout=TIMEOUT)
    clients = [socket.create_connection(listener.address, timeout=TIMEOUT) for _ in range(3)]  # in the backlog
    for raw in clients:
        raw.sendall(request)
    with descriptors_exhausted():
        listener.start()
        deadline = time.monotonic() + TIMEOUT
        while listener.core.accept_error_count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    try:
        assert listener.core.accept_error_count >= 1 and listener.core.running
        answers = [raw.recv(65536) for raw in clients]
        assert listener.wait(3, TIMEOUT)
    finally:
        listener.close()
        for raw in clients:
            raw.close()
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
    assert [[e.status for e in r.exchanges] for r in listener.records] == [[200]] * 3
