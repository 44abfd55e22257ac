"""``genesys-tls connect`` and ``genesys-tls serve`` in-process (genesys_tls.cli.main): exit codes 0/1/2, JSON
shapes, readable output; real handshakes on 127.0.0.1 against a :class:`Server` or a ``serve`` thread."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from genesys_tls.cli import main
from genesys_tls.handshake import Server, connect
from genesys_tls.loaders import load
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import resolve_client, resolve_server

CLIENT = "Client_client-host"
PASSWORD = "pa55-w0rd"


def variant(pki: PKIFiles, name: str, edit: Any) -> Path:
    """A copy of the PKI's environment.yaml, changed by ``edit(data)``, next to it (relative paths work)."""
    data = yaml.safe_load(pki.environment.read_text())
    edit(data)
    path = pki.directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def set_security(level: dict[str, Any], **values: str | None) -> None:
    security = level.setdefault("annex", {}).setdefault("security", {})
    for name, value in values.items():
        key = name.replace("_", "-")
        if value is None:
            security.pop(key, None)
        else:
            security[key] = value


def json_out(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.fixture
def server(pki: PKIFiles) -> Iterator[Server]:
    env = load(pki.environment)
    with Server(resolve_server(env, "TServer", "secure")) as srv:
        yield srv


def address(srv: Server) -> str:
    return f"127.0.0.1:{srv.address[1]}"


def connect_argv(env: Path, connection: str, where: str, *extra: str) -> list[str]:
    return ["connect", str(env), "--app", CLIENT, "--connection", connection, "--address", where, *extra]


# --- connect ----------------------------------------------------------------------------------------------


def test_connect_ok_json(pki: PKIFiles, server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(connect_argv(pki.environment, "TServer/secure", address(server), "--json"))
    data, err = json_out(capsys)
    assert code == 0 and err == ""
    assert data["ok"] is True and data["protocol"] == "TLSv1.3" and data["cipher"]
    assert data["peer"] == {
        "subject": "CN=tsrv-host", "issuer": "CN=Test CA", "sans": ["DNS:tsrv-host", "IP:127.0.0.1"]}
    assert data["checks"] == ["chain", "target-name"]
    assert data["mode"] == "simple" and data["authenticated"] is True and "error" not in data


def test_connect_ok_text(pki: PKIFiles, server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(connect_argv(pki.environment, "TServer/secure", address(server))) == 0
    out = capsys.readouterr().out
    assert ": OK" in out and "mode: simple" in out and "peer: CN=tsrv-host" in out
    assert "checks: chain, target-name" in out


def test_connect_name_mismatch_exit_1(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    env = variant(pki, "wrong-name", lambda d: set_security(
        d["hosts"]["tsrv-host"], certificate="certs/wrong-name.pem", certificate_key="certs/wrong-name.key"))
    with Server(resolve_server(load(env), "TServer", "secure"), count=2) as srv:
        assert main(connect_argv(env, "TServer/secure", address(srv), "--json")) == 1
        data, _ = json_out(capsys)
        assert data["ok"] is False and data["error"]["category"] == "name-mismatch"
        assert "tsrv-host" in data["error"]["detail"]
        assert main(connect_argv(env, "TServer/secure", address(srv))) == 1
        out = capsys.readouterr().out
        assert "FAILED (name-mismatch)" in out and "error: name-mismatch" in out


def test_connect_encryption_only_says_not_authenticated(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    env = variant(pki, "encryption-only", lambda d: (
        set_security(d["hosts"]["tsrv-host"], certificate="certs/wrong-issuer.pem",
                     certificate_key="certs/wrong-issuer.key"),
        d["applications"][CLIENT]["connections"][0].update(transport="client-auth=0")))
    with Server(resolve_server(load(env), "TServer", "secure"), count=2) as srv:
        assert main(connect_argv(env, "TServer/secure", address(srv))) == 0
        out = capsys.readouterr().out
        assert "encryption-only" in out and "NOT authenticated" in out
        assert main(connect_argv(env, "TServer/secure", address(srv), "--json")) == 0
        data, _ = json_out(capsys)
    assert data["ok"] is True and data["authenticated"] is False and data["checks"] == []
    assert data["mode"] == "encryption-only" and "NOT authenticated" in data["warning"]


def test_connect_configuration_error_exit_2(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    env = variant(pki, "missing-ca", lambda d: set_security(
        d["hosts"]["client-host"], trusted_ca="certs/missing-ca.pem"))
    assert main(connect_argv(env, "TServer/secure", "127.0.0.1:9")) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    for part in ("configuration error", "missing-ca.pem", "trusted-ca", "host-annex", "client-host"):
        assert part in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["--address", "nonsense"],
        ["--timeout", "0"],
        ["--crl-check", "all"],
    ],
)
def test_connect_usage_errors_exit_2(pki: PKIFiles, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(["connect", str(pki.environment), "--app", CLIENT, "--connection", "TServer/secure", *argv]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_connect_unknown_application_exit_2(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", str(pki.environment), "--app", "Nope", "--connection", "TServer"]) == 2
    assert "Nope" in capsys.readouterr().err


def test_connect_refused_exit_1(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert main(connect_argv(pki.environment, "TServer/secure", f"127.0.0.1:{free}", "--json", "--timeout", "2")) == 1
    data, _ = json_out(capsys)
    assert data["error"]["category"] == "connection"


def test_connect_crl_options(pki: PKIFiles, server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    expired = variant(pki, "crl-expired", lambda d: set_security(d["hosts"]["client-host"], tls_crl="crl/expired.pem"))
    assert main(connect_argv(expired, "TServer/secure", address(server), "--json")) == 1
    data, _ = json_out(capsys)
    assert data["error"]["category"] == "crl-expired" and data["checks"] == ["chain", "target-name", "crl"]
    current = variant(pki, "crl-current", lambda d: set_security(d["hosts"]["client-host"], tls_crl="crl/current.pem"))
    assert main(connect_argv(current, "TServer/secure", address(server), "--json", "--crl-check", "leaf")) == 0
    data, _ = json_out(capsys)
    assert data["checks"] == ["chain", "target-name", "crl"]


def test_connect_password_env(
    pki: PKIFiles, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = pki.directory / "certs" / "client-enc.key"
    key = serialization.load_pem_private_key(pki.hosts["client-host"].key.read_bytes(), None)
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode())))
    env = variant(pki, "client-enc", lambda d: set_security(
        d["hosts"]["client-host"], certificate_key="certs/client-enc.key"))
    with Server(resolve_server(load(env), "TServer", "mutual"), count=1) as srv:
        monkeypatch.setenv("GTLS_CLI_KEY_PASSWORD", PASSWORD)
        argv = connect_argv(env, "TServer/mutual", address(srv), "--json", "--password-env", "GTLS_CLI_KEY_PASSWORD")
        assert main(argv) == 0
        data, _ = json_out(capsys)
        assert data["mode"] == "mutual" and data["ok"]
        monkeypatch.delenv("GTLS_CLI_KEY_PASSWORD")
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "GTLS_CLI_KEY_PASSWORD" in err and PASSWORD not in err
        assert main(argv[:-2]) == 2  # no password at all
        assert "encrypted" in capsys.readouterr().err


# --- serve ------------------------------------------------------------------------------------------------


class Serving:
    """``genesys-tls serve ...`` run by ``main`` in a thread; its output read through capsys."""

    def __init__(self, argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.out = ""
        self.err = ""
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, args=(list(argv),), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while "listening on" not in self.err and self.thread.is_alive() and time.monotonic() < deadline:
            self._read()
            time.sleep(0.01)
        self._read()
        match = re.search(r"listening on (\S+):(\d+)", self.err)
        self.address = (match.group(1), int(match.group(2))) if match else None

    def _run(self, argv: list[str]) -> None:
        self.code = main(argv)

    def _read(self) -> None:
        captured = self.capsys.readouterr()
        self.out += captured.out
        self.err += captured.err

    def finish(self) -> int | None:
        self.thread.join(10)
        self._read()
        return self.code


def serve_argv(env: Path, port: str, *extra: str) -> list[str]:
    return ["serve", str(env), "--app", "TServer", "--port", port, *extra]


def test_serve_json_lines_exit_0(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    env = load(pki.environment)
    serving = Serving(serve_argv(pki.environment, "mutual", "--address", "127.0.0.1:0", "--count", "2", "--json"),
                      capsys)
    assert serving.address is not None and serving.address[0] == "127.0.0.1"
    client = resolve_client(env, CLIENT, "TServer", "mutual")
    for _ in range(2):
        assert connect(client, address=serving.address).ok
    assert serving.finish() == 0
    lines = [json.loads(line) for line in serving.out.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["ok"] is True and line["mode"] == "mutual" and line["authenticated"] is True
        assert line["peer"]["subject"] == "CN=client-host" and line["checks"] == ["chain"]
        assert set(line) >= {"ok", "protocol", "cipher", "peer", "checks"}


def test_serve_refused_handshake_exit_1(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    bare = variant(pki, "bare-client", lambda d: set_security(
        d["hosts"]["client-host"], certificate=None, certificate_key=None))
    serving = Serving(serve_argv(pki.environment, "mutual", "--address", "127.0.0.1:0", "--count", "2"), capsys)
    assert serving.address is not None
    assert "mode mutual" in serving.err
    good = resolve_client(load(pki.environment), CLIENT, "TServer", "mutual")
    assert connect(good, address=serving.address).ok
    result = connect(resolve_client(load(bare), CLIENT, "TServer", "mutual"), address=serving.address, check=False)
    assert result.error is not None and result.error[0].value == "client-certificate-required"
    assert serving.finish() == 1
    lines = serving.out.splitlines()
    assert lines[0].startswith("accepted 127.0.0.1:") and "client CN=client-host" in lines[0]
    assert lines[1].startswith("refused 127.0.0.1:") and "client-certificate-required" in lines[1]


def test_serve_listens_on_the_configured_port(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    env = variant(pki, "port-number", lambda d: d["applications"]["TServer"]["ports"]["secure"].update(port=free))
    serving = Serving(serve_argv(env, "secure", "--count", "1", "--json"), capsys)
    assert serving.address == ("127.0.0.1", free)
    assert connect(resolve_client(load(env), CLIENT, "TServer", "secure"), address=serving.address).ok
    assert serving.finish() == 0
    assert json.loads(serving.out)["mode"] == "simple"


def test_serve_errors_exit_2(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    no_ca = variant(pki, "server-no-ca", lambda d: set_security(d["hosts"]["tsrv-host"], trusted_ca=None))
    assert main(serve_argv(no_ca, "mutual", "--address", "127.0.0.1:0", "--count", "1")) == 2
    err = capsys.readouterr().err
    assert "trusted-ca" in err and "Traceback" not in err
    assert main(serve_argv(pki.environment, "nope", "--count", "1")) == 2
    assert main(serve_argv(pki.environment, "secure", "--count", "0")) == 2
    assert main(serve_argv(pki.environment, "default", "--address", "127.0.0.1:0", "--count", "1")) == 2
    assert "TLS is off" in capsys.readouterr().err
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(serve_argv(pki.environment, "secure", "--address", f"127.0.0.1:{port}", "--count", "1")) == 2
    err = capsys.readouterr().err
    assert "cannot listen" in err and "Traceback" not in err


def one_line_exit_2(capsys: pytest.CaptureFixture[str], code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    return captured.err


# --- --timeout nan / inf / huge reached socket.settimeout and crashed with a traceback ---------------------


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e300", "-inf"])
def test_connect_timeout_not_finite_is_usage(
    pki: PKIFiles, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    code = main([
        "connect", str(pki.environment), "--app", CLIENT, "--connection", "TServer/secure",
        "--address", "127.0.0.1:1", f"--timeout={timeout}",
    ])
    assert "--timeout" in one_line_exit_2(capsys, code)


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e300"])
def test_serve_timeout_not_finite_is_usage(
    pki: PKIFiles, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    codes: list[int] = []
    argv = [
        "serve", str(pki.environment), "--app", "TServer", "--port", "secure",
        "--address", "127.0.0.1:0", "--count", "1", f"--timeout={timeout}",
    ]
    # Before the fix serve listened with the bad timeout (and crashed on the first client): run it in a
    # thread so that a regression fails instead of hanging.
    thread = threading.Thread(target=lambda: codes.append(main(argv)), daemon=True)
    thread.start()
    thread.join(20)
    assert codes, "serve accepted the timeout and listened"
    assert "--timeout" in one_line_exit_2(capsys, codes[0])
