"""Live reconfiguration (genesys_tls.reload) with real handshakes on 127.0.0.1: a rotated certificate is
presented on the next handshake (checked by fingerprint) while an open connection keeps exchanging data; a
CRL update refuses the revoked client; tls-mutual and sec-protocol take effect on the next handshake; every
refused reload keeps the old generation serving and says why; watching by content, rename-into-place, a
file that disappears and comes back; no thread or descriptor left behind."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _reload_pki import PKI

from genesys_tls.ca import CertificateAuthority
from genesys_tls.contexts import client_plan
from genesys_tls.handshake import Server
from genesys_tls.harness import SimulatedClient, SimulatedServer
from genesys_tls.loaders import load
from genesys_tls.reload import LiveClient, ReloadEvent, Watcher
from genesys_tls.resolve import resolve_client, resolve_server

TIMEOUT = 10.0


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    return PKI(tmp_path)


@pytest.fixture
def clean() -> Iterator[None]:
    """Fails the test when a thread or a file descriptor is left behind."""
    threads = set(threading.enumerate())
    fds = len(os.listdir("/proc/self/fd"))
    yield
    for thread in set(threading.enumerate()) - threads:
        thread.join(TIMEOUT)
    assert set(threading.enumerate()) - threads == set()
    assert len(os.listdir("/proc/self/fd")) <= fds


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def file_der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def open_tls(pki: PKI, address: tuple[str, int], port_id: str = "secure") -> ssl.SSLSocket:
    """A TLS connection with the client's settings, left open (the caller closes it)."""
    plan = client_plan(resolve_client(load(pki.env_file), "Client", "TServer", port_id))
    raw = socket.create_connection(address, timeout=TIMEOUT)
    return plan.context.wrap_socket(raw, server_hostname=plan.server_hostname)


def presented(pki: PKI, address: tuple[str, int]) -> str:
    with open_tls(pki, address) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        tls.recv(100)  # the greeting line
        return fingerprint(der)


def started(pki: PKI, port_id: str = "secure", **kwargs: Any) -> SimulatedServer:
    return SimulatedServer(load(pki.env_file), "TServer", port_id, port=0, timeout=TIMEOUT, **kwargs)


def client(pki: PKI, server: SimulatedServer) -> SimulatedClient:
    return SimulatedClient(load(pki.env_file), "Client", server, timeout=TIMEOUT)


# --- rotation ----------------------------------------------------------------------------------------------


def test_rotation_next_handshake_presents_the_new_certificate(pki: PKI, clean: None) -> None:
    with started(pki) as server:
        old = fingerprint(file_der(pki.folder / "server.pem"))
        assert presented(pki, server.address) == old
        held = open_tls(pki, server.address)
        assert held.recv(100).startswith(b"genesys-tls TServer/secure")
        new = fingerprint(pki.rotate())
        event = server.reload()
        assert event.applied and event.generation == 1 and server.generation.number == 1
        files = {c["role"]: c for c in event.changes if c["kind"] == "file"}
        assert set(files) == {"certificate", "key"}
        cert = files["certificate"]
        assert cert["old"]["fingerprint"].replace(":", "").lower() == old
        assert cert["new"]["fingerprint"].replace(":", "").lower() == new
        assert cert["new"]["expires"] and files["key"]["new"]["fingerprint"] is None
        assert presented(pki, server.address) == new
        held.sendall(b"still here\n")  # the connection opened before the rotation still exchanges data
        assert held.recv(100) == b"still here\n"
        held.close()
        records = server.wait_for(3)
        assert [r.generation for r in records[:3]] == [0, 0, 1]


def test_a_reload_that_changes_nothing_builds_nothing(pki: PKI) -> None:
    with started(pki) as server:
        context = server.context
        os.utime(pki.folder / "server.pem")
        event = server.reload()
        assert not event.applied and not event.refused and event.changes == ()
        assert server.context is context and server.generation.number == 0 and server.events == []


def test_crl_update_refuses_the_revoked_client_on_its_next_handshake(pki: PKI, clean: None) -> None:
    with started(pki, "mutual") as server:
        assert client(pki, server).connect().ok
        pki.ca.revoke(pki.client.cert)
        (pki.folder / "crl.pem").write_bytes(pki.ca.crl())
        event = server.reload()
        assert event.applied and [c["role"] for c in event.changes] == ["crl"]
        result = client(pki, server).connect()
        assert not result.ok and result.category is not None and result.category.value == "revoked"
        assert server.wait_for(2)[1].category is not None
        assert server.wait_for(2)[1].category.value == "revoked"  # type: ignore[union-attr]


def test_tls_mutual_on_and_sec_protocol_up_take_effect_on_the_next_handshake(pki: PKI) -> None:
    pki.write_env(client_cert=False)
    with started(pki) as server:
        assert client(pki, server).connect().ok
        pki.write_env({"secure": "tls=1;tls-mutual=1", "mutual": "tls=1;tls-mutual=1"}, client_cert=False)
        event = server.reload()
        assert event.applied
        (change,) = [c for c in event.changes if c["kind"] == "option"]
        assert (change["option"], change["new"], change["new_source"]) == ("tls-mutual", "1", "port")
        refused = client(pki, server).connect()
        assert refused.category is not None and refused.category.value == "client-certificate-required"
    pki.write_env({"secure": "tls=1"}, client_transport="sec-protocol=TLSv12")
    with started(pki) as server:
        assert client(pki, server).connect().ok
        pki.write_env({"secure": "tls=1;sec-protocol=TLSv13"}, client_transport="sec-protocol=TLSv12")
        assert server.reload().applied
        result = client(pki, server).connect()
        assert result.category is not None and result.category.value == "protocol"


# --- refused reloads ---------------------------------------------------------------------------------------


def _half_written_certificate(pki: PKI) -> None:
    data = (pki.folder / "server.pem").read_bytes()
    (pki.folder / "server.pem").write_bytes(data[: len(data) // 2])


def _key_not_matching(pki: PKI) -> None:
    other = pki.ca.issue_server(["tsrv-host"])
    (pki.folder / "server.key").write_bytes(other.key_pem())


def _crl_from_another_ca(pki: PKI) -> None:
    other = CertificateAuthority.create("Reload CA")  # same name, another key
    (pki.folder / "crl.pem").write_bytes(other.crl())


def _certificate_replaced_by_a_directory(pki: PKI) -> None:
    (pki.folder / "server.pem").unlink()
    (pki.folder / "server.pem").mkdir()


def _port_gone(pki: PKI) -> None:
    pki.write_env({"other": "tls=1"})


def _environment_truncated(pki: PKI) -> None:
    text = pki.env_file.read_text()
    pki.env_file.write_text(text[: len(text) // 3] + "\n  - [unclosed")


@pytest.mark.parametrize(
    ("damage", "category"),
    [
        (_half_written_certificate, "configuration"),
        (_key_not_matching, "configuration"),
        (_crl_from_another_ca, "crl-unavailable"),
        (_certificate_replaced_by_a_directory, "configuration"),
        (_port_gone, "configuration"),
        (_environment_truncated, "configuration"),
    ],
)
def test_a_refused_reload_keeps_the_old_generation_serving(pki: PKI, damage: Any, category: str) -> None:
    with started(pki, "mutual") as server:
        old = fingerprint(file_der(pki.folder / "server.pem"))
        context = server.context
        damage(pki)
        event = server.reload()
        assert not event.applied and event.refused and event.generation == 0
        assert event.error is not None and event.error["category"] == category and event.error["message"]
        assert server.generation.number == 0 and server.context is context
        assert server.events == [event]
        line = event.to_dict()
        assert line["event"] == "reload" and line["applied"] is False and line["error"]["category"] == category
        assert "refused" in event.render()
        # Still serving the old generation: a full mutual handshake with the old certificate.
        plan_ctx = context
        assert plan_ctx is not None
        ca = pki.ca.cert_pem().decode()
        ctx = ssl.create_default_context(cadata=ca)
        ctx.load_cert_chain(str(pki.folder / "client.pem"), str(pki.folder / "client.key"))
        with socket.create_connection(server.address, timeout=TIMEOUT) as raw, \
                ctx.wrap_socket(raw, server_hostname="tsrv-host") as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None and fingerprint(der) == old
            assert tls.recv(100).startswith(b"genesys-tls")


def test_private_key_never_appears_in_an_event(pki: PKI) -> None:
    with started(pki) as server:
        key = (pki.folder / "server.key").read_text()
        (pki.folder / "server.key").write_text(key.replace("PRIVATE KEY-----\n", "PRIVATE KEY-----\nXX", 1))
        event = server.reload()
        body = key.splitlines()[1]
        assert event.refused and body not in str(event.to_dict()) and body not in event.render()


# --- watching ----------------------------------------------------------------------------------------------


def test_watch_applies_a_rename_into_place_rotation(pki: PKI, clean: None) -> None:
    with started(pki) as server:
        server.watch(interval=0.02, debounce=0.05)
        new = fingerprint(pki.rotate())
        assert server.wait_for_generation(1, TIMEOUT).number == 1
        assert presented(pki, server.address) == new
        (event,) = server.events
        assert event.applied


def test_watch_survives_a_file_that_disappears_and_comes_back(pki: PKI, clean: None) -> None:
    with started(pki) as server:
        watcher = Watcher(server.reloader, interval=0.02, debounce=0.0)
        saved = (pki.folder / "crl.pem").read_bytes()
        (pki.folder / "server.pem").rename(pki.folder / "kept.pem")
        event = watcher.poll()
        assert event is not None and event.refused and event.error is not None
        assert "server.pem" in event.error["message"]
        (pki.folder / "kept.pem").rename(pki.folder / "server.pem")
        assert watcher.poll() is not None  # back with the content it had: nothing to apply
        assert server.generation.number == 0
        pki.rotate()
        event = watcher.poll()
        assert event is not None and event.applied and server.generation.number == 1
        assert (pki.folder / "crl.pem").read_bytes() == saved


def test_watch_debounces_a_burst_and_compares_by_content(pki: PKI) -> None:
    with started(pki) as server:
        watcher = Watcher(server.reloader, interval=1.0, debounce=0.5)
        os.utime(pki.folder / "server.pem")  # a new mtime, the same content: no change
        assert watcher.poll(now=100.0) is None and watcher.poll(now=101.0) is None
        issued = pki.ca.issue_server(["tsrv-host"])
        (pki.folder / "server.key").write_bytes(issued.key_pem())  # first half of a rotation...
        assert watcher.poll(now=200.0) is None  # ...changes are settling
        (pki.folder / "server.pem").write_bytes(issued.cert_pem())  # ...second half, still in the burst
        assert watcher.poll(now=200.3) is None
        event = watcher.poll(now=200.9)  # quiet for debounce seconds: one reload with both files
        assert event is not None and event.applied
        assert {c["role"] for c in event.changes} == {"certificate", "key"}
        assert watcher.poll(now=202.0) is None


def test_watch_picks_up_the_environment_file(pki: PKI, clean: None) -> None:
    pki.write_env(client_cert=False)
    with started(pki) as server:
        server.watch(interval=0.02, debounce=0.05)
        pki.write_env({"secure": "tls=1;tls-mutual=1", "mutual": "tls=1"}, client_cert=False)
        server.wait_for_generation(1, TIMEOUT)
        assert any(c["kind"] == "file" and c["role"] == "environment" for c in server.events[0].changes)
        result = client(pki, server).connect()
        assert result.category is not None and result.category.value == "client-certificate-required"


def test_reload_from_an_environment_object(pki: PKI) -> None:
    with started(pki) as server:
        pki.write_env({"secure": "tls=1;sec-protocol=TLSv13"})
        env = load(pki.env_file)
        event = server.reload(env)
        assert event.applied and server.resolved["sec-protocol"].value == "TLSv13"
        assert server.reload().applied is False  # the file says the same as the object


# --- serve's Server, the client helper ---------------------------------------------------------------------


def test_server_reload_and_watch(pki: PKI, clean: None) -> None:
    events: list[ReloadEvent] = []
    with Server(resolve_server(load(pki.env_file), "TServer", "secure"), timeout=TIMEOUT) as server:
        server.watch(interval=0.02, debounce=0.05, on_event=events.append)
        new = fingerprint(pki.rotate())
        assert server.holder.wait_for(1, TIMEOUT)
        assert events and events[0].applied and events[0].generation == 1
        with open_tls(pki, server.address) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None and fingerprint(der) == new
        assert server.wait(1)
        assert server.results[0].generation == 1


def test_live_client_uses_the_current_files(pki: PKI, clean: None) -> None:
    with started(pki, "mutual") as server:
        live = LiveClient(pki.env_file, "Client", "TServer", "mutual")
        assert live.connect(server.address).ok
        # The client's certificate is rotated to one from a CA the server does not trust: the next
        # connection presents it (and is refused), without recreating the client.
        stranger = CertificateAuthority.create("Stranger CA").issue_client("client-host")
        stranger.write(pki.folder, "client")
        refused = live.connect(server.address)
        assert not refused.ok
        pki.client.write(pki.folder, "client")
        assert live.connect(server.address).ok
        # A changed environment file: the next connection resolves it again.
        pki.write_env({"secure": "tls=1", "mutual": "tls=1;tls-mutual=1;tls-crl=crl.pem"},
                      client_transport="sec-protocol=TLSv13")
        assert live.resolved()["sec-protocol"].value == "TLSv13"


# --- the pytest plugin -------------------------------------------------------------------------------------


def test_plugin_changes_the_environment_mid_test_and_waits(
    genesys_live_pki: Any, genesys_server: Any, genesys_client: Any, genesys_reload: Any
) -> None:
    env_file = genesys_live_pki.environment
    server = genesys_server("TServer", "secure", env=load(env_file))
    assert genesys_client("Client_client-host", server, env=load(env_file)).ok
    text = env_file.read_text()
    assert "transport: tls=1\n" in text
    env_file.write_text(text.replace("transport: tls=1\n", "transport: tls=1;sec-protocol=TLSv13\n", 1))
    generation = genesys_reload(server)
    assert generation.number == 1 and generation.resolved["sec-protocol"].value == "TLSv13"
    assert server.resolved["sec-protocol"].value == "TLSv13"
    with pytest.raises(pytest.fail.Exception, match="changed nothing"):
        genesys_reload(server)
    (genesys_live_pki.directory / "certs" / "tsrv-host.key").write_text("not a key\n")
    with pytest.raises(pytest.fail.Exception, match="reload refused: configuration"):
        genesys_reload(server)
    assert server.generation.number == 1


# --- interop -----------------------------------------------------------------------------------------------


def _openssl_sees(address: tuple[str, int], ca: Path) -> str:
    """The SHA-256 of the certificate ``openssl s_client`` is shown (its chain verified against ``ca``)."""
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"{address[0]}:{address[1]}", "-servername", "tsrv-host",
         "-CAfile", str(ca), "-verify_return_error"],
        input="", capture_output=True, text=True, timeout=30, check=False,
    )
    assert "Verify return code: 0 (ok)" in done.stdout, done.stdout + done.stderr
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", done.stdout, re.S)
    assert pem is not None
    return fingerprint(ssl.PEM_cert_to_DER_cert(pem.group(0)))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
def test_openssl_s_client_sees_the_rotation(pki: PKI) -> None:
    with started(pki) as server:
        server.watch(interval=0.02, debounce=0.05)
        assert _openssl_sees(server.address, pki.folder / "ca.pem") == fingerprint(file_der(pki.folder / "server.pem"))
        new = fingerprint(pki.rotate())
        server.wait_for_generation(1, TIMEOUT)
        assert _openssl_sees(server.address, pki.folder / "ca.pem") == new
