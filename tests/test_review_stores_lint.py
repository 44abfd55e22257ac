"""Hostile input to the host stores, the thumbprint rule, ``resolve``'s table and ignored block, and lint's
text output: passwords that are not UTF-8, thumbprints with invisible marks and look-alike characters,
control characters in values and names, secrets in transport strings.

The CLI runs in subprocesses with a wall-clock bound, on files made at test time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from genesys_tls import catalogue
from genesys_tls.catalogue import is_thumbprint
from genesys_tls.contexts import load_private_key
from genesys_tls.pki import PKIFiles, build_pki
from genesys_tls.stores import normalize_thumbprint as store_normalize
from genesys_tls.transport import parse_transport

CLI = [sys.executable, "-m", "genesys_tls"]
WALL_CLOCK = 60
VARIABLE = "GTLS_REVIEW_PFX"
SECRETS = ["hunter2secret", "hunter3secret", "hunter4secret"]


def run_cli(*argv: str, cwd: Path, env: dict[bytes, bytes] | None = None) -> subprocess.CompletedProcess[str]:
    environ: dict[bytes, bytes] = dict(os.environb)
    environ.update(env or {})
    return subprocess.run(
        [*CLI, *argv], cwd=cwd, capture_output=True, text=True, timeout=WALL_CLOCK, check=False,
        encoding="utf-8", errors="backslashreplace", env=environ,  # type: ignore[arg-type]
    )


def assert_user_error(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0 or c in "\u200e\u202e"]


@pytest.fixture(scope="module")
def windows(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return build_pki(tmp_path_factory.mktemp("review-windows"), windows=True)


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# --- passwords that are not UTF-8 ----------------------------------------------------------------------------


def test_pfx_password_that_is_not_utf8_is_a_configuration_error(tmp_path: Path) -> None:
    made = run_cli("pki", "init", str(tmp_path / "pki"), "--windows", "--pfx-password-env", VARIABLE,
                   cwd=tmp_path, env={VARIABLE.encode(): b"good-password"})
    assert made.returncode == 0, made.stderr
    env = tmp_path / "pki" / "environment-windows.yaml"
    for args in ([], ["--json"]):
        proc = run_cli("resolve", str(env), "--app", "TServer", "--port", "mutual", *args, cwd=tmp_path,
                       env={VARIABLE.encode(): b"\xff\xfe-not-utf8"})
        assert_user_error(proc)
        assert "not UTF-8" in proc.stdout + proc.stderr
        assert "tsrv-host.pfx" in proc.stdout + proc.stderr
        assert "not-utf8" not in proc.stdout + proc.stderr
        if args:
            assert json.loads(proc.stdout)["error"]["option"] == "certificate"


def test_pki_init_refuses_a_pfx_password_that_is_not_utf8(tmp_path: Path) -> None:
    proc = run_cli("pki", "init", str(tmp_path / "pki"), "--windows", "--pfx-password-env", VARIABLE,
                   cwd=tmp_path, env={VARIABLE.encode(): b"pw\xff\xfe-not-utf8"})
    assert_user_error(proc)
    assert "not UTF-8" in proc.stderr and "not-utf8" not in proc.stderr + proc.stdout


def test_pem_key_password_from_a_non_utf8_environment_variable_is_used_as_its_bytes(tmp_path: Path) -> None:
    secret = b"\xff\xfe-latin1-pw"
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "k.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(secret)))
    as_environ = secret.decode("utf-8", "surrogateescape")  # what os.environ holds for those bytes
    loaded = load_private_key(path, as_environ)
    assert loaded.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


# --- one thumbprint rule ------------------------------------------------------------------------------------

THUMB = "FA88D858A8DCC6F354F86D891CEB4E4AFEF4E809"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (THUMB, THUMB),
        (THUMB.lower(), THUMB),
        (" ".join(THUMB[i:i + 2] for i in range(0, 40, 2)), THUMB),
        (":".join(THUMB[i:i + 2] for i in range(0, 40, 2)), THUMB),
        ("\u200e" + THUMB, THUMB),  # Windows' dialog copies a left-to-right mark before it
        (THUMB[:38] + "\ufb00", None),  # the ligature upper-cases to "FF": a look-alike, not hex
        ("\u0661" * 40, None),  # Arabic-Indic digits
        ("\uff21" * 40, None),  # full-width A
        (THUMB[:20] + "\u200b" + THUMB[20:], None),  # zero-width space is not a separator
        (THUMB[:39], None),
    ],
)
def test_is_thumbprint_and_the_store_lookup_follow_one_rule(value: str, expected: str | None) -> None:
    assert catalogue.normalize_thumbprint(value) == expected
    assert store_normalize(value) == expected
    assert is_thumbprint(value) is (expected is not None)


def test_thumbprint_pasted_with_the_windows_mark_resolves_through_the_store(
    windows: PKIFiles, tmp_path: Path
) -> None:
    assert windows.windows_environment is not None
    data = yaml.safe_load(windows.windows_environment.read_text())
    security = data["hosts"]["tsrv-host"]["annex"]["security"]
    thumb = security["certificate"]
    security["certificate"] = "\u200e" + thumb
    env = write(windows.directory / "lrm.yaml", data)
    proc = run_cli("resolve", str(env), "--app", "TServer", "--port", "mutual", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"store: certificate {thumb} names CN=tsrv-host" in proc.stdout
    assert not raw_controls(proc.stdout)


# --- control characters and secrets in resolve and lint text --------------------------------------------------


@pytest.fixture(scope="module")
def pem_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pki(tmp_path_factory.mktemp("review-pem")).environment


def hostile_env(pem_env: Path, tmp_path: Path) -> Path:
    data = yaml.safe_load(pem_env.read_text())
    app = data["applications"]["TServer"]
    app["ports"]["secure"]["transport"] = (
        "tls=1;cipher-list=AES\x1b[31mRED\u202e;bogus\x1b[2J=1;passwd=hunter2secret;tls-password=hunter3secret;"
        " pass =hunter4secret;passwd=hunter2secret"
    )
    data["applications"]["TServer\x1b[1m"] = app
    return write(tmp_path / "hostile.yaml", data)


def test_resolve_table_escapes_control_characters_of_values_and_names(pem_env: Path, tmp_path: Path) -> None:
    env = hostile_env(pem_env, tmp_path)
    proc = run_cli("resolve", str(env), "--app", "TServer\x1b[1m", "--port", "secure", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not raw_controls(proc.stdout)
    assert "TServer\\x1b[1m port secure" in proc.stdout
    assert "AES\\x1b[31mRED\\u202e" in proc.stdout


def test_transport_secrets_are_redacted_in_resolve_and_lint(pem_env: Path, tmp_path: Path) -> None:
    env = hostile_env(pem_env, tmp_path)
    outputs = [
        run_cli("resolve", str(env), "--app", "TServer", "--port", "secure", cwd=tmp_path),
        run_cli("resolve", str(env), "--app", "TServer", "--port", "secure", "--json", cwd=tmp_path),
        *(run_cli("lint", str(env), "--format", fmt, cwd=tmp_path) for fmt in ("text", "json", "sarif")),
    ]
    for proc in outputs:
        assert "Traceback" not in proc.stderr
        both = proc.stdout + proc.stderr
        assert "passwd" in both  # the findings are there...
        for secret in SECRETS:
            assert secret not in both  # ...the passwords are not
        assert "<redacted>" in both
    ignored = json.loads(outputs[1].stdout)["ignored"]
    assert {i["value"] for i in ignored if i["option"] == "passwd"} == {"passwd=<redacted>"}


def test_lint_text_escapes_object_and_option_names(pem_env: Path, tmp_path: Path) -> None:
    env = hostile_env(pem_env, tmp_path)
    proc = run_cli("lint", str(env), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert not raw_controls(proc.stdout)
    assert "TServer\\x1b[1m" in proc.stdout and "bogus\\x1b[2J" in proc.stdout


def test_transport_messages_never_hold_secret_values() -> None:
    params = parse_transport("tls=1;password=first1;password=second2; pass =third3;passwd=fourth4 ")
    assert params.shown == "tls=1;password=<redacted>;password=<redacted>; pass =<redacted>;passwd=<redacted>"
    text = " ".join(params.locate(d) for d in params.diagnostics)
    for secret in ("first1", "second2", "third3", "fourth4"):
        assert secret not in text
    assert dict(params)["password"] == "first1"  # the values themselves are kept for the runtime


def test_suppressions_alias_bomb_is_refused_with_the_limit(pem_env: Path, tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run_cli("lint", str(pem_env), "--suppressions", str(bomb), cwd=tmp_path)
    assert_user_error(proc)
    assert "billion laughs" in proc.stderr and "bomb.yaml" in proc.stderr


def _hostile_server_files(directory: Path) -> Path:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Evil\x1b[31m CA\u202e")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName("tsrv-host"), *(x509.DNSName(f"n{i}\x1b[2J\x07.example") for i in range(500))]
    leaf = (x509.CertificateBuilder().subject_name(name("tsrv\x07host\x1b]0;pwned\x07\u202e")).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=9))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False).sign(ca_key, hashes.SHA256()))
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = (x509.CertificateBuilder().subject_name(name("agent\x1b[2J\x07\u202e")).issuer_name(ca_name)
              .public_key(client_key.public_key()).serial_number(3).not_valid_before(now - dt.timedelta(days=1))
              .not_valid_after(now + dt.timedelta(days=9)).sign(ca_key, hashes.SHA256()))
    (directory / "cli.pem").write_bytes(client.public_bytes(serialization.Encoding.PEM))
    (directory / "cli.key").write_bytes(client_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "srv.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "srv.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    trust = {"trusted-ca": "ca.pem"}
    return write(directory / "env.yaml", {
        "hosts": {"tsrv-host": {"ip": "127.0.0.1"}, "c": {"ip": "127.0.0.1"}},
        "applications": {
            "TServer": {"type": "T-Server", "host": "tsrv-host",
                        "ports": {"secure": {"port": 7001, "transport": "tls=1"},
                                  "mutual": {"port": 7002, "transport": "tls=1;tls-mutual=1"}},
                        "annex": {"security": {"certificate": "srv.pem", "certificate-key": "srv.key", **trust}}},
            "Cl": {"type": "Third Party Application", "host": "c", "annex": {"security": trust},
                   "connections": [{"server": "TServer", "port-id": "secure", "transport": "tls=1"}]},
        },
    })


def _serve(env: Path, port_id: str, count: int) -> tuple[subprocess.Popen[str], str]:
    """``genesys-tls serve`` on a free loopback port, and the HOST:PORT it listens on."""
    server = subprocess.Popen(
        [*CLI, "serve", str(env), "--app", "TServer", "--port", port_id, "--address", "127.0.0.1:0", "--count",
         str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="backslashreplace",
    )
    assert server.stderr is not None
    listening = server.stderr.readline().strip()
    assert listening.startswith("listening on"), listening
    return server, listening.rsplit(" ", 1)[-1]


def test_connect_report_escapes_what_a_hostile_server_certificate_holds(tmp_path: Path) -> None:
    env = _hostile_server_files(tmp_path)
    server, address = _serve(env, "secure", 2)
    try:
        for extra in (["--show-certs"], []):
            proc = run_cli("connect", str(env), "--app", "Cl", "--connection", "TServer/secure", "--address",
                           address, *extra, cwd=tmp_path)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert not raw_controls(proc.stdout + proc.stderr)
            peer = next(line for line in proc.stdout.splitlines() if line.startswith("  peer: "))
            assert peer.startswith("  peer: CN=tsrv\\x07host\\x1b]0")
            assert len(peer) < 2000 and peer.endswith("...")  # 500 SANs: shortened
    finally:
        server.kill()
        server.communicate(timeout=WALL_CLOCK)


def test_sigterm_stops_serve_and_removes_the_private_key_files(tmp_path: Path) -> None:
    made = run_cli("pki", "init", str(tmp_path / "pki"), "--windows", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    environ = {**os.environ, "TMPDIR": str(scratch)}
    server = subprocess.Popen(
        [*CLI, "serve", str(tmp_path / "pki" / "environment-windows.yaml"), "--app", "TServer", "--port", "mutual",
         "--address", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    )
    try:
        assert server.stderr is not None
        assert server.stderr.readline().startswith("listening on")
        private = [p for p in scratch.iterdir() if p.name.startswith("genesys-tls-")]
        assert private and any(f.name.startswith("store-key-") for f in private[0].iterdir())
        assert private[0].stat().st_mode & 0o777 == 0o700
        server.terminate()
        server.communicate(timeout=WALL_CLOCK)
        assert server.returncode == 0
        assert not private[0].exists()  # the key file went with its directory
    finally:
        server.kill()
        server.communicate(timeout=WALL_CLOCK)


def test_sarif_uris_are_uri_references_for_any_file_name(pem_env: Path, tmp_path: Path) -> None:
    import re
    import shutil
    import urllib.parse

    folder = tmp_path / "my dir"
    shutil.copytree(pem_env.parent, folder)
    env = folder / "env #1 100%é.yaml"
    data = yaml.safe_load(pem_env.read_text())
    data["applications"]["TServer"]["ports"]["secure"]["transport"] = "tls=1;bogus=1"
    write(env, data)
    proc = run_cli("lint", str(env.relative_to(tmp_path)), "--format", "sarif", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    run = json.loads(proc.stdout)["runs"][0]
    uris = [run["artifacts"][0]["location"]["uri"]] + [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in run["results"] for loc in result["locations"] if "physicalLocation" in loc
    ]
    assert len(uris) > 1
    for uri in uris:
        assert re.fullmatch(r"[A-Za-z0-9\-._~%!$&'()*+,;=:@/]+", uri), uri  # RFC 3986 path characters only
        assert urllib.parse.unquote(uri) == "my dir/env #1 100%é.yaml"


def test_diagnostics_of_a_long_transport_string_quote_only_its_neighbourhood(pem_env: Path, tmp_path: Path) -> None:
    pieces = 4000
    transport = "tls=1;" + ";".join(f"x{i}=1" for i in range(pieces)) + ";password=hunter2secret"
    params = parse_transport(transport)
    located = [params.locate(d) for d in params.diagnostics]
    assert len(located) == pieces + 1
    assert max(map(len, located)) < 300  # not the whole ~35,000 characters in each of them
    assert "(character 6 of '...x0=1;x1=1;" in located[0] and located[0].endswith("...')")
    assert located[-1].endswith("of '...password=<redacted>')")
    assert parse_transport("tls=1;bad=1").locate(parse_transport("tls=1;bad=1").diagnostics[0]).endswith(
        "(character 6 of 'tls=1;bad=1')")  # a short string is quoted whole
    data = yaml.safe_load(pem_env.read_text())
    data["applications"]["TServer"]["ports"]["secure"]["transport"] = transport
    env = write(tmp_path / "long.yaml", data)
    size = env.stat().st_size
    for argv in (["resolve", str(env), "--app", "TServer", "--port", "secure", "--json"],
                 ["lint", str(env), "--format", "json"], ["lint", str(env)]):
        proc = run_cli(*argv, cwd=tmp_path)
        assert "Traceback" not in proc.stderr
        assert len(proc.stdout) < 100 * size  # linear in the file (it was ~5,000 times the file: 170 MB)
        assert "hunter2secret" not in proc.stdout


def test_serve_escapes_the_subject_of_a_client_certificate(tmp_path: Path) -> None:
    import socket
    import ssl

    server, address = _serve(_hostile_server_files(tmp_path), "mutual", 1)
    try:
        host, port = address.rsplit(":", 1)
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        context.check_hostname = False
        context.load_cert_chain(tmp_path / "cli.pem", tmp_path / "cli.key")
        with socket.create_connection((host, int(port)), timeout=WALL_CLOCK) as raw, \
                context.wrap_socket(raw, server_hostname="tsrv-host") as tls:
            tls.recv(1)  # the server closes after the handshake
        out, _ = server.communicate(timeout=WALL_CLOCK)
        assert "client CN=agent\\x1b[2J\\x07\\u202e" in out, out
        assert not raw_controls(out)
    finally:
        server.kill()
        server.communicate(timeout=WALL_CLOCK)


def test_a_store_file_of_unterminated_key_blocks_is_refused_at_once(windows: PKIFiles, tmp_path: Path) -> None:
    from genesys_tls._pem import pem_blocks
    from genesys_tls.stores import _PRIVATE_KEY_LABEL, MAX_STORE_FILE

    begin = b"-----BEGIN PRIVATE KEY-----\n"
    flood = tmp_path / "flood.key"
    flood.write_bytes(begin * (MAX_STORE_FILE // len(begin)))  # a lazy BEGIN.*?END scan: minutes
    assert windows.windows_environment is not None
    data = yaml.safe_load(windows.windows_environment.read_text())
    data["hosts"]["tsrv-host"]["store"]["personal"] = str(flood)
    env = write(tmp_path / "flood.yaml", data)
    proc = run_cli("resolve", str(env), "--app", "TServer", "--port", "mutual", cwd=tmp_path)  # bounded: 60 s
    assert_user_error(proc)
    assert "holds no PEM certificate or private key" in proc.stderr and "flood.key" in proc.stderr
    block = b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"
    assert pem_blocks(b"x" + block + b"\n" + begin + block + begin, _PRIVATE_KEY_LABEL) == [block, begin + block]


def test_a_crl_file_of_unterminated_blocks_is_refused_at_once(tmp_path: Path) -> None:
    """The CRL reader finds its blocks in one pass too: 2 MB of ``BEGIN X509 CRL`` lines without an ``END``
    (a lazy ``BEGIN.*?END`` scan: quadratic, minutes) is refused in a child process bounded to 60 s."""
    flood = tmp_path / "flood.crl"
    flood.write_bytes(b"-----BEGIN X509 CRL-----\n" * 80_000)
    code = ("import sys\nfrom genesys_tls.crl import load_crls\nfrom genesys_tls.errors import ConfigurationError\n"
            "try:\n    load_crls(sys.argv[1])\nexcept ConfigurationError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code, str(flood)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0 and "no X509 CRL block" in done.stdout, done
