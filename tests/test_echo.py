"""``serve --echo`` and ``SimulatedServer(echo=True)``: after a real handshake on 127.0.0.1 the server sends
back every byte the client sends, in simple and mutual TLS, from a Python client and from ``openssl
s_client``; the idle timeout and the client's close end the echo."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from genesys_tls.contexts import client_plan
from genesys_tls.errors import ConfigurationError
from genesys_tls.harness import SimulatedServer
from genesys_tls.model import Environment
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import resolve_client

CLIENT = "Client_client-host"


def _read_exactly(tls: ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = tls.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


@contextlib.contextmanager
def _tls(env: Environment, port_id: str, address: tuple[str, int]) -> Iterator[ssl.SSLSocket]:
    """A TLS connection with the settings of the client's connection to TServer/``port_id``."""
    plan = client_plan(resolve_client(env, CLIENT, "TServer", port_id), address=address)
    with (
        socket.create_connection((plan.dial_host, plan.dial_port), timeout=10) as raw,
        plan.context.wrap_socket(raw, server_hostname=plan.server_hostname) as tls,
    ):
        yield tls


def _closed_by_server(tls: ssl.SSLSocket) -> bool:
    """The server ends the connection: close_notify (b"") or a TCP close."""
    try:
        return tls.recv(100) == b""
    except (ssl.SSLError, ConnectionResetError):
        return True


def _exchange(env: Environment, port_id: str, address: tuple[str, int], payloads: list[bytes]) -> list[bytes]:
    """Handshake with the connection's settings, send each payload and read as many bytes back."""
    answers = []
    with _tls(env, port_id, address) as tls:
        for payload in payloads:
            tls.sendall(payload)
            answers.append(_read_exactly(tls, len(payload)))
    return answers


@pytest.mark.parametrize("port_id", ["secure", "mutual"])
def test_simulated_server_echoes_bytes(genesys_env: Environment, port_id: str) -> None:
    payloads = [b"ping", b"\x00\x01binary\xff no newline", bytes(range(256)) * 1024]  # the last one: 256 KiB
    with SimulatedServer(genesys_env, "TServer", port_id, port=0, echo=True, idle_timeout=10) as server:
        assert _exchange(genesys_env, port_id, server.address, payloads) == payloads
        (record,) = server.wait_for(1)
    assert record.ok and record.tls
    assert record.authenticated is (port_id == "mutual")
    assert (record.peer is not None) is (port_id == "mutual")


def test_echo_sends_no_greeting_and_the_default_does(genesys_env: Environment) -> None:
    for echo, first in ((True, b"abc"), (False, b"genesys-tls TServer/secure\n")):
        with (
            SimulatedServer(genesys_env, "TServer", "secure", port=0, echo=echo) as server,
            _tls(genesys_env, "secure", server.address) as tls,
        ):
            tls.sendall(b"abc")  # no newline: the line echo does not answer it
            assert _read_exactly(tls, len(first)) == first


def test_echo_ends_when_the_client_is_idle(genesys_env: Environment) -> None:
    with (
        SimulatedServer(genesys_env, "TServer", "secure", port=0, echo=True, idle_timeout=0.5) as server,
        _tls(genesys_env, "secure", server.address) as tls,
    ):
        tls.sendall(b"one")
        assert _read_exactly(tls, 3) == b"one"
        # Then silence: the server closes after idle_timeout, long before the client's own 10 s timeout
        # (which would raise TimeoutError here).
        assert _closed_by_server(tls)


def test_echo_excludes_after_and_greeting(genesys_env: Environment) -> None:
    with pytest.raises(ConfigurationError, match="echo"):
        SimulatedServer(genesys_env, "TServer", "secure", port=0, echo=True, greeting=b"hi\n")
    with pytest.raises(ConfigurationError, match="echo"):
        SimulatedServer(genesys_env, "TServer", "secure", port=0, echo=True, after=lambda c: None)


def test_plugin_server_factory_takes_echo(
    genesys_server: Callable[..., SimulatedServer], genesys_env: Environment
) -> None:
    server = genesys_server("TServer", "mutual", echo=True)
    assert _exchange(genesys_env, "mutual", server.address, [b"through the plugin"]) == [b"through the plugin"]


def _serve(pki: PKIFiles, port_id: str, *extra: str) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "genesys_tls", "serve", str(pki.environment), "--app", "TServer", "--port",
         port_id, "--address", "127.0.0.1:0", "--timeout", "10", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        raise AssertionError(line + proc.communicate(timeout=10)[1])
    return proc, ("127.0.0.1", int(match.group(1)))


@pytest.mark.parametrize("port_id", ["secure", "mutual"])
def test_cli_serve_echo(pki: PKIFiles, port_id: str) -> None:
    proc, address = _serve(pki, port_id, "--echo", "--count", "1", "--json")
    try:
        payloads = [b"hello over TLS\n", b"x" * 100_000]
        assert _exchange(_env(pki), port_id, address, payloads) == payloads
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == 0, err
    (line,) = out.splitlines()
    record = json.loads(line)
    assert record["ok"] is True and record["authenticated"] is (port_id == "mutual")


def test_cli_serve_without_echo_closes_after_the_handshake(pki: PKIFiles) -> None:
    proc, address = _serve(pki, "secure", "--count", "1")
    try:
        with _tls(_env(pki), "secure", address) as tls:
            tls.sendall(b"anyone there?")
            assert _closed_by_server(tls)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("value", ["0", "nan", "-1"])
def test_cli_serve_refuses_a_bad_idle_timeout(pki: PKIFiles, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "genesys_tls", "serve", str(pki.environment), "--app", "TServer", "--port",
         "secure", "--echo", "--idle-timeout", value], capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2 and "--idle-timeout" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("port_id", ["secure", "mutual"])
def test_openssl_s_client_gets_its_bytes_back(pki: PKIFiles, port_id: str) -> None:
    proc, (host, port) = _serve(pki, port_id, "--echo", "--count", "1")
    client = pki.hosts["client-host"]
    argv = ["openssl", "s_client", "-connect", f"{host}:{port}", "-servername", "tsrv-host", "-CAfile",
            str(pki.ca), "-verify_return_error", "-quiet"]
    if port_id == "mutual":
        argv += ["-cert", str(client.cert), "-key", str(client.key)]
    s_client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert s_client.stdin is not None and s_client.stdout is not None
        s_client.stdin.write(b"interop line\n")
        s_client.stdin.flush()
        deadline = time.monotonic() + 20
        got = b""
        while b"\n" not in got and time.monotonic() < deadline:
            chunk = s_client.stdout.read1(100)  # type: ignore[attr-defined]
            if not chunk:
                break
            got += chunk
        assert got == b"interop line\n"
    finally:
        s_client.kill()
        s_client.wait(timeout=10)
        try:
            proc.communicate(timeout=30)
        finally:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0


def _env(pki: PKIFiles) -> Environment:
    from genesys_tls.loaders import load

    return load(Path(pki.environment))
