"""An adversarial corpus for the commands that read certificates and talk to peers, run as a user runs them.

Hostile certificates (subjects with ANSI escapes, BEL, CR/LF) are made at test time; special files (a FIFO,
``/dev/zero``, a folder), NUL bytes and very long paths stand where certificate, key, CA and CRL files belong;
near-miss security names, an upgrade port, an over-the-limit descriptor count. Every ``genesys-tls`` run is a
subprocess with a wall-clock bound, and its output holds no traceback and no raw control character.
"""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from test_hostile import CLI, WALL_CLOCK, _raw_control, assert_clean, run_all, run_cli

from genesys_tls._text import MESSAGE_MAX, escape_lines, one_line
from genesys_tls.ca import CertificateAuthority

#: A subject a hostile peer chooses: it would recolour the terminal, set its title, ring and forge a line.
EVIL_CN = "ev\x1b[31mil\x07\x1b]0;pwn\x07"
EVIL_O = "O\r\n  checks: chain crl"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-cli")
    ca = CertificateAuthority.create("Hostile CA")
    evil = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, EVIL_CN),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, EVIL_O)])
    ca.issue_server(["localhost", "127.0.0.1"], subject=evil).write(root, "srv")
    ca.issue_client("client", subject=evil).write(root, "cli")
    (root / "ca.pem").write_bytes(ca.cert_pem())
    ports = {name: _free_port() for name in ("secure", "mutual", "up", "upmutual")}
    env = {
        "hosts": {"h": {"ip": "127.0.0.1"}},
        "applications": {
            "S": {"host": "h", "options": {"security": {
                "certificate": "srv.pem", "certificate-key": "srv.key", "trusted-ca": "ca.pem"}},
                "ports": {
                    "secure": {"port": ports["secure"], "transport": "tls=1"},
                    "mutual": {"port": ports["mutual"], "transport": "tls=1;tls-mutual=1"},
                    "up": {"port": ports["up"], "transport": "upgrade=1"},
                    "upmutual": {"port": ports["upmutual"], "transport": "upgrade=1;tls-mutual=1"},
                }},
            "C": {"host": "h", "options": {"security": {
                "certificate": "cli.pem", "certificate-key": "cli.key", "trusted-ca": "ca.pem"}},
                "connections": [
                    {"server": "S", "port-id": "secure", "transport": "client-auth=0"},
                    {"server": "S", "port-id": "mutual"},
                    {"server": "S", "port-id": "upmutual", "transport": "tls=1"},
                ]},
        },
    }
    (root / "env.json").write_text(json.dumps(env))
    return root


def _env(work: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((work / "env.json").read_text())
    return data


def _serve(work: Path, env: str, port: str, *extra: str, limit: int | None = None) -> subprocess.Popen[str]:
    """``genesys-tls serve`` in the background, once it listens (its stderr is read by a thread)."""

    def lower() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    proc = subprocess.Popen(
        [*CLI, "serve", env, "--app", "S", "--port", port, *extra], cwd=work, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="backslashreplace",
        preexec_fn=lower,  # noqa: PLW1509 - only setrlimit, before exec
    )
    lines: list[str] = []
    listening = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("listening on "):
                listening.set()
        listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    STDERR[proc.pid] = (lines, reader)
    if not listening.wait(WALL_CLOCK) or proc.poll() is not None:
        proc.kill()
        pytest.fail(f"serve did not start: {lines}")
    return proc


#: serve's process id -> (its stderr lines so far, the thread reading them)
STDERR: dict[int, tuple[list[str], threading.Thread]] = {}


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """serve's stdout and stderr once it has ended (killed after WALL_CLOCK seconds: a failure)."""
    try:
        proc.wait(timeout=WALL_CLOCK)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("serve did not end")
    finally:
        lines, reader = STDERR.pop(proc.pid)
        reader.join(WALL_CLOCK)
    assert proc.stdout is not None
    return proc.stdout.read(), "".join(lines)


def _clean_output(text: str) -> None:
    assert "Traceback" not in text
    assert not _raw_control(text), repr(text)


# ------------------------------------------------------------------------------ hostile peers


def test_a_hostile_subject_is_escaped_in_connect_and_serve(work: Path) -> None:
    server = _serve(work, "env.json", "mutual", "--count", "3")
    text = run_cli("connect", "env.json", "--app", "C", "--connection", "S/mutual", cwd=work)
    plain = run_cli("connect", "env.json", "--app", "C", "--connection", "S/secure", "--address",
                    f"127.0.0.1:{_env(work)['applications']['S']['ports']['mutual']['port']}", cwd=work)
    as_json = run_cli("connect", "env.json", "--app", "C", "--connection", "S/mutual", "--json", cwd=work)
    out, err = _finish(server)
    for proc in (text, plain):  # mutual, and encryption-only (nothing about the server is checked)
        assert_clean(proc, code=0)
        (peer,) = [line for line in proc.stdout.splitlines() if line.startswith("  peer: ")]
        assert "\\x1b[31m" in peer and "\\x07" in peer and "\\r\\n  checks: chain crl" in peer
        assert [line for line in proc.stdout.splitlines() if line.startswith("  checks:")] == ["  checks: chain"] or (
            proc is plain and "  checks: none" in proc.stdout.splitlines()
        )  # the subject cannot forge a line
    assert json.loads(as_json.stdout)["peer"]["subject"].count("\x1b") == 2  # JSON keeps it, escaped by JSON
    _clean_output(as_json.stdout + out + err)
    accepted = out.splitlines()
    assert len(accepted) == 3 and all("\\x1b[31m" in line for line in accepted)


def test_the_upgrade_port_tells_tls_from_plain_clients(work: Path) -> None:
    server = _serve(work, "env.json", "upmutual", "--count", "2")
    tls = run_cli("connect", "env.json", "--app", "C", "--connection", "S/upmutual", cwd=work)
    number = _env(work)["applications"]["S"]["ports"]["upmutual"]["port"]
    with socket.create_connection(("127.0.0.1", number), timeout=WALL_CLOCK) as plain:
        plain.sendall(b"hello\r\n")
        assert plain.recv(100) == b""  # a clean end of stream, not a reset
    out, err = _finish(server)
    assert_clean(tls, code=0)
    _clean_output(out + err)
    lines = sorted(out.splitlines())
    assert "TLSv1.3" in lines[0] and lines[0].endswith("(authenticated)") and "mode=mutual" in lines[0]
    assert "plain (no TLS)" in lines[1]
    assert "upgrade port: TLS clients mutual" in err
    assert server.returncode == 0


def test_serve_survives_the_descriptor_limit(work: Path) -> None:
    number = _env(work)["applications"]["S"]["ports"]["secure"]["port"]
    server = _serve(work, "env.json", "secure", "--timeout", "2", limit=48)
    try:
        idle = [socket.create_connection(("127.0.0.1", number), timeout=WALL_CLOCK) for _ in range(80)]
        good = run_cli("connect", "env.json", "--app", "C", "--connection", "S/secure", "--timeout", "15",
                       cwd=work)
        for sock in idle:
            sock.close()
        again = run_cli("connect", "env.json", "--app", "C", "--connection", "S/secure", cwd=work)
        assert server.poll() is None, "serve ended"
    finally:
        server.terminate()
    out, err = _finish(server)
    assert_clean(good, code=0)
    assert_clean(again, code=0)
    _clean_output(out + err)
    assert "accept failed" in err and "Too many open files (EMFILE)" in err  # recorded, not a traceback
    assert "did not finish its handshake within 2.0s" in out  # idle clients are dropped



def test_serve_is_not_held_by_silent_connections(work: Path) -> None:
    """More silent TCP connections than workers (64), the default 10 s timeout: a client is still served
    within its 3 s, and SIGINT ends serve without waiting for the silent ones to time out."""
    number = _env(work)["applications"]["S"]["ports"]["secure"]["port"]
    server = _serve(work, "env.json", "secure")
    idle = [socket.create_connection(("127.0.0.1", number), timeout=WALL_CLOCK) for _ in range(100)]
    try:
        good = run_cli("connect", "env.json", "--app", "C", "--connection", "S/secure", "--timeout", "3",
                       cwd=work)
        assert server.poll() is None, "serve ended"
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail("serve waited for the silent connections")
    finally:
        server.kill()
        for sock in idle:
            sock.close()
    out, err = _finish(server)
    assert_clean(good, code=0)
    _clean_output(out + err)
    assert server.returncode == 0


# ------------------------------------------------------------------------------ hostile files


_KINDS = ("fifo", "zero", "dir", "nul", "long", "escape")


def _hostile_path(work: Path, kind: str) -> str:
    if kind == "fifo":
        fifo = work / "hostile.fifo"
        if not fifo.exists():
            import os

            os.mkfifo(fifo)
        return fifo.name
    (work / "a-folder").mkdir(exist_ok=True)
    return {"zero": "/dev/zero", "dir": "a-folder", "nul": "a\x00b.pem", "long": "L" * 5000 + ".pem",
            "escape": "x\x1b[2J\x07.pem"}[kind]


@pytest.mark.parametrize("option", ["certificate", "certificate-key", "trusted-ca", "tls-crl"])
def test_special_files_where_certificates_belong(work: Path, option: str) -> None:
    argvs = []
    for kind in _KINDS:
        env = _env(work)
        for app in ("S", "C"):
            env["applications"][app]["options"]["security"][option] = _hostile_path(work, kind)
        (work / f"{option}-{kind}.json").write_text(json.dumps(env))
        argvs.append(["connect", f"{option}-{kind}.json", "--app", "C", "--connection", "S/mutual"])
        argvs.append(["serve", f"{option}-{kind}.json", "--app", "S", "--port", "mutual", "--count", "1"])
        if kind in ("fifo", "zero"):
            argvs.append(["lint", f"{option}-{kind}.json"])
            argvs.append(["doctor", f"{option}-{kind}.json", "--app", "C", "--connection", "S/mutual"])
    for argv, proc in zip(argvs, run_all(argvs, cwd=work), strict=True):
        if argv[0] == "lint":  # findings, exit 1, no hang
            assert proc.returncode == 1, (argv, proc.stderr)
            _clean_output(proc.stdout + proc.stderr)
            assert "regular file" in proc.stdout, proc.stdout
            continue
        assert_clean(proc, code=2)
        assert option in proc.stderr, proc.stderr
        assert len(proc.stderr) < 1500  # a very long path is shortened
        if "fifo" in argv[1]:
            assert "hostile.fifo" in proc.stderr and "named pipe" in proc.stderr
        if "zero" in argv[1]:
            assert "/dev/zero" in proc.stderr and "character device" in proc.stderr


def test_the_cipher_list_error_names_the_file(work: Path) -> None:
    env = _env(work)
    env["applications"]["S"]["ports"]["secure"]["transport"] = "tls=1;cipher-list=NO-SUCH-CIPHER"
    (work / "ciphers.json").write_text(json.dumps(env))
    proc = run_cli("serve", "ciphers.json", "--app", "S", "--port", "secure", "--count", "1", cwd=work)
    assert_clean(proc, code=2)
    assert "file ciphers.json" in proc.stderr and "cipher-list" in proc.stderr and "NO-SUCH-CIPHER" in proc.stderr


def test_a_long_argument_is_shortened_in_the_error_line(work: Path) -> None:
    proc = run_cli("connect", "env.json", "--app", "C", "--connection", "S/mutual", "--address",
                   "\x1b[2J" + "9" * 20_000, cwd=work)
    assert_clean(proc, code=2)
    assert len(proc.stderr) <= MESSAGE_MAX + 1 and proc.stderr.rstrip().endswith("...")


# ------------------------------------------------------------------------------ hostile names


def test_names_are_escaped_in_the_resolve_table_and_lint_text(work: Path) -> None:
    env = _env(work)
    env["applications"]["S\x1b[31m\x07"] = dict(env["applications"]["S"])
    port = {"port": 1234, "transport": "tls=1;certificate=c\x1b[9m.pem"}
    env["applications"]["S\x1b[31m\x07"]["ports"] = {"p\x1b[3m": port}
    (work / "names.json").write_text(json.dumps(env))
    table, lint = run_all([["resolve", "names.json", "--app", "S\x1b[31m\x07", "--port", "p\x1b[3m"],
                           ["lint", "names.json"]], cwd=work)
    assert_clean(table, code=0)
    assert "S\\x1b[31m\\x07 port p\\x1b[3m (server side)" in table.stdout
    rows = [line for line in table.stdout.splitlines() if line.startswith(("option ", "tls ", "certificate "))]
    assert len({line.index("source") if line.startswith("option") else line.index("port ") for line in rows}) == 1
    assert lint.returncode == 1
    _clean_output(lint.stdout + lint.stderr)
    assert "c\\x1b[9m.pem" in lint.stdout


def test_near_miss_security_names_are_warned_about(work: Path) -> None:
    env = _env(work)
    env["applications"]["C"]["options"]["Security"] = {"tls-crl": "x.crl"}
    env["applications"]["C"]["options"]["security"]["tls-\u0441rl"] = "y.crl"  # a Cyrillic es
    env["applications"]["C"]["connections"][1]["transport"] = "tls-target\u2010name-check=host"  # a Unicode hyphen
    env["applications"]["S"]["options"]["security "] = {"tls-mutual": "1"}
    (work / "near.json").write_text(json.dumps(env))
    server = _serve(work, "near.json", "mutual", "--count", "2", "--json")
    text, as_json = run_all([["connect", "near.json", "--app", "C", "--connection", "S/mutual"],
                             ["connect", "near.json", "--app", "C", "--connection", "S/mutual", "--json"]], cwd=work)
    out, err = _finish(server)
    for proc in (text, as_json):
        assert_clean(proc, code=0)
        warned = [line for line in proc.stderr.splitlines() if line.startswith("genesys-tls connect: warning:")]
        assert len(warned) == 3, proc.stderr
        assert all("runtime ignores it" in line for line in warned)
        for intended in ("'tls-crl'", "'security'", "'tls-target-name-check'"):
            assert any(intended in line for line in warned), intended
    warnings = json.loads(as_json.stdout)["warnings"]
    assert sum("runtime ignores it" in w for w in warnings) == 3
    assert "genesys-tls serve: warning: S (application-options): section 'security ' is not 'security'" in err
    for line in out.splitlines():
        assert any("'security '" in w for w in json.loads(line)["warnings"])
    _clean_output(out + err)


def test_a_key_in_the_environment_is_never_shown_by_connect_or_serve(work: Path) -> None:
    key = (work / "srv.key").read_text()
    body = "".join(line for line in key.splitlines() if not line.startswith("-----"))
    argvs = []
    for name, value in {"pem-path": key, "body-path": body, "in-a-list": [key]}.items():
        env = _env(work)
        env["applications"]["S"]["options"]["security"]["certificate-key"] = value
        env["applications"]["C"]["options"]["security"]["trusted-ca"] = value
        (work / f"key-{name}.json").write_text(json.dumps(env))
        argvs.append(["connect", f"key-{name}.json", "--app", "C", "--connection", "S/mutual"])
        argvs.append(["serve", f"key-{name}.json", "--app", "S", "--port", "mutual", "--count", "1", "--json"])
    for proc in run_all(argvs, cwd=work):
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and not _raw_control(proc.stdout + proc.stderr)
        for line in key.splitlines()[1:-1]:
            assert line[:16] not in proc.stdout + proc.stderr, "key text in the output"


# ------------------------------------------------------------------------------ the shared helpers


def test_escape_lines_and_one_line() -> None:
    assert escape_lines("a\x1b[31m\nb\x07") == "a\\x1b[31m\nb\\x07"
    assert escape_lines(escape_lines("x\x00\ny")) == "x\\x00\ny"  # escaping twice changes nothing
    assert one_line("a\r\n  b\x1b") == "a b\\x1b"
    assert one_line("x" * 5000).endswith("...") and len(one_line("x" * 5000)) == MESSAGE_MAX


def test_certificate_and_crl_readers_refuse_special_files(tmp_path: Path) -> None:
    import os

    from genesys_tls._pem import read_file
    from genesys_tls.crl import load_crls
    from genesys_tls.errors import ConfigurationError, Problem

    fifo = tmp_path / "pipe.pem"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    for path, problem in ((fifo, Problem.FILE_UNREADABLE), ("/dev/zero", Problem.FILE_UNREADABLE),
                          (tmp_path, Problem.FILE_UNREADABLE), (tmp_path / "none.pem", Problem.FILE_MISSING),
                          ("a\x00b", Problem.FILE_UNREADABLE)):
        with pytest.raises(ConfigurationError) as cert:
            read_file(path, "certificate", option="certificate")
        with pytest.raises(ConfigurationError) as crl:
            load_crls(path)
        for caught, option in ((cert, "certificate"), (crl, "tls-crl")):
            assert caught.value.problem is problem and caught.value.option == option
            assert caught.value.file == os.fspath(path)


def test_the_limits_page_names_the_output_and_server_limits() -> None:
    import errno

    from genesys_tls import stores
    from genesys_tls.cloud import _read
    from genesys_tls.server import BACKOFF_ERRNOS
    from genesys_tls.sipendpoint import directory, model

    page = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text()
    assert f"at most {MESSAGE_MAX:,} characters" in page
    assert f"| {stores.MAX_STORE_FILE >> 20} MiB | `genesys_tls.stores.MAX_STORE_FILE` |" in page
    assert f"| {model.MAX_CONFIG_SIZE >> 20} MiB | `genesys_tls.sipendpoint.model.MAX_CONFIG_SIZE` |" in page
    assert f"| {directory.MAX_USER_FILE >> 10} KiB | `genesys_tls.sipendpoint.directory.MAX_USER_FILE` |" in page
    assert f"| {_read.MAX_BYTES >> 20} MiB (PAC 1 MiB) | `genesys_tls.cloud._read.MAX_BYTES` |" in page
    assert "genesys_tls.cli._common.write_text" in page and "genesys_tls.cli._common.safe" in page
    for code in BACKOFF_ERRNOS:
        assert f"`{errno.errorcode[code]}`" in page, errno.errorcode[code]


_SIMULATED_UNDER_EMFILE = """
import resource, socket, ssl, sys
import genesys_tls as gt
from genesys_tls.contexts import client_plan
from genesys_tls.harness import SimulatedServer
from genesys_tls.pki import build_pki

build_pki(sys.argv[1])
env = gt.load(sys.argv[1] + "/environment.yaml")
plan = client_plan(gt.resolve_client(env, "Client_client-host", "TServer", "secure"))
resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
with SimulatedServer(env, "TServer", "secure", port=0, timeout=1, idle_timeout=1) as server:
    # The client's descriptors first: the server accepts each connection at once (into its waiting room), so
    # descriptors opened while connecting would race with the server's for the same limit.
    idle = [socket.socket() for _ in range(30)]
    for sock in idle:
        sock.settimeout(10)
        sock.connect(server.address)
    for _ in range(3):  # good clients while the limit is reached (each needs descriptors on both sides)
        for sock in idle[:8]:
            sock.close()
        del idle[:8]
        with socket.create_connection(server.address, timeout=20) as raw:
            with plan.context.wrap_socket(raw, server_hostname=plan.server_hostname) as tls:
                assert tls.recv(100).startswith(b"genesys-tls TServer/secure")
    print(server.running, server.core.accept_error_count > 0, server.core.failure)
"""


def test_the_simulated_server_survives_the_descriptor_limit(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _SIMULATED_UNDER_EMFILE, str(tmp_path)], capture_output=True,
                          text=True, timeout=WALL_CLOCK * 2, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "None"], proc.stdout + proc.stderr


def test_every_other_reader_refuses_special_files_and_nul_paths(tmp_path: Path) -> None:
    import os

    from genesys_tls import stores
    from genesys_tls.cloud._read import read_text
    from genesys_tls.errors import ConfigurationError
    from genesys_tls.sipendpoint.directory import load_user_file
    from genesys_tls.sipendpoint.model import load_endpoint_config

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    readers = {
        "store": lambda p: stores._read_bounded(Path(p), "store"),
        "endpoint": load_endpoint_config,
        "user": load_user_file,
        "cloud": lambda p: read_text(p, what="network plan"),
    }
    for name, reader in readers.items():
        for path, said in ((fifo, "named pipe"), ("/dev/zero", "character device"), (tmp_path, "directory"),
                           ("a\x00b", "NUL")):
            with pytest.raises(ConfigurationError) as caught:
                reader(path)
            assert said in caught.value.reason, (name, caught.value.reason)
            assert caught.value.file == os.fspath(path)
