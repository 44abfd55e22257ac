"""An adversarial corpus for the loading side, built at test time and run through the CLI as a user runs it.

Every case runs ``genesys-tls resolve`` / ``lint`` in a subprocess with a wall-clock bound and checks: exit 2
with one line on stderr (or exit 0 where the file is valid), no traceback, no hang, no key text and no raw
control character in stdout or stderr. The library-level rules (bounded display, redaction, file types,
aliases, BOMs, near-miss names) are tested below the CLI cases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import genesys_tls as gt
from genesys_tls import _files, loaders
from genesys_tls._text import REDACTED, escape_text, looks_secret, show
from genesys_tls.errors import ConfigurationError
from genesys_tls.loaders import load, loads
from genesys_tls.model import Application, Environment
from genesys_tls.near_misses import near_misses, normalized_name

#: Every CLI run must end well within this (a FIFO read would block forever, /dev/zero never ends).
WALL_CLOCK = 30.0

CLI = [sys.executable, "-m", "genesys_tls"]


def _pem(key: Any) -> str:
    return str(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    )


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    return {
        "ec": _pem(ec.generate_private_key(ec.SECP256R1())),
        "rsa": _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    }


def _body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def _raw_control(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0]


def run_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    proc = subprocess.run(
        [*CLI, *argv], cwd=cwd, capture_output=True, text=True, timeout=WALL_CLOCK, check=False,
        encoding="utf-8", errors="backslashreplace",
    )
    assert time.monotonic() - start < WALL_CLOCK
    return proc


def run_all(argvs: list[list[str]], *, cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    """The commands run side by side (each still bounded by WALL_CLOCK)."""
    with ThreadPoolExecutor(max_workers=len(argvs)) as pool:
        return list(pool.map(lambda argv: run_cli(*argv, cwd=cwd), argvs))


def assert_clean(proc: subprocess.CompletedProcess[str], *, code: int, secrets: list[str] = ()) -> None:  # type: ignore[assignment]
    both = proc.stdout + proc.stderr
    assert proc.returncode == code, both
    assert "Traceback" not in both
    assert not _raw_control(both), repr(both)
    if code == 2:
        assert proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and proc.stderr.endswith("\n"), repr(proc.stderr)
    for secret in secrets:
        for line in _body_lines(secret):
            assert line[:16] not in both, "key text in the output"


def _commands(path: str) -> list[list[str]]:
    return [["resolve", path, "--app", "A", "--port", "default"], ["lint", path]]


def _env(**app: Any) -> dict[str, Any]:
    return {"hosts": {"h": {}}, "applications": {"A": {"host": "h", **app}}}


def _laughs(levels: int = 9) -> str:
    lines = ["hosts:", "  h:", "    annex:", "      security:", f"        a0: &a0 [{', '.join(['lol'] * 9)}]"]
    lines += [f"        a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ hostile files, via the CLI


def _special_files(tmp: Path) -> dict[str, str]:
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    (tmp / "zero.yaml").symlink_to("/dev/zero")
    (tmp / "dir.yaml").mkdir()
    (tmp / "big.json").write_text(" " * 64 + "{}")
    return {"fifo": "fifo.yaml", "zero": "zero.yaml", "dir": "dir.yaml"}


@pytest.mark.parametrize("kind", ["fifo", "zero", "dir", "laughs", "laughs-json-shape", "recursive", "tag"])
def test_hostile_files_exit_2_without_hang(tmp_path: Path, kind: str) -> None:
    names = _special_files(tmp_path)
    if kind in names:
        path = names[kind]
    elif kind == "laughs":
        path = "laughs.yaml"
        (tmp_path / path).write_text(_laughs())
        assert (tmp_path / path).stat().st_size < 600
    elif kind == "laughs-json-shape":  # the expanded value sits where an error shows it
        path = "laughs2.yaml"
        (tmp_path / path).write_text(
            "x0: &x0 [a, a, a, a, a, a, a, a]\n"
            + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 8)}]\n" for i in range(1, 5))
            + "hosts: *x4\n"
        )
    elif kind == "recursive":
        path = "rec.yaml"
        (tmp_path / path).write_text("hosts: &a {h: *a}\n")
    else:
        path = "tag.yaml"
        (tmp_path / path).write_text("hosts: !!python/object/apply:os.system [echo hi]\n")
    for proc in run_all(_commands(path), cwd=tmp_path):
        assert_clean(proc, code=2)
        if kind in ("fifo", "zero", "dir"):
            assert path in proc.stderr


def test_alias_reuse_within_the_limit_is_fine() -> None:
    apps = "".join(f"  A{i}: {{host: h, options: *opts}}\n" for i in range(200))
    env = loads("hosts: {h: {annex: &opts {security: {sec-protocol: TLSv12}}}}\napplications:\n" + apps)
    assert env.application("A199").security_options == {"sec-protocol": "TLSv12"}


@pytest.mark.parametrize(
    "name",
    ["A\x1b[31mred\x07", "B\x1b]0;title\x07", "C\u202egnp.exe", "D\r\nE", "F\x00G", "G\x9b2J"],
)
def test_control_characters_in_names_are_escaped(tmp_path: Path, name: str) -> None:
    data = _env(connections=[{"server": name}])
    (tmp_path / "env.json").write_text(json.dumps(data))
    for proc in run_all(_commands("env.json"), cwd=tmp_path):
        assert_clean(proc, code=2)
        assert "not defined" in proc.stderr


def test_control_characters_in_a_path_are_escaped(tmp_path: Path) -> None:
    for proc in run_all(_commands("e\x1b[2Jnv\x07.yaml"), cwd=tmp_path):
        assert_clean(proc, code=2)
        assert "\\x1b[2J" in proc.stderr


def test_a_very_long_value_is_shortened(tmp_path: Path) -> None:
    (tmp_path / "env.json").write_text(json.dumps(_env(connections=[{"server": "S" * 100_000}])))
    proc = run_cli("lint", "env.json", cwd=tmp_path)
    assert_clean(proc, code=2)
    assert len(proc.stderr) < 1500


_KEY_SHAPES: dict[str, Callable[[str], tuple[str, str]]] = {
    "option value": lambda k: ("env.json", json.dumps(_env(options={"security": {"certificate-key": k}}))),
    "in a list": lambda k: ("env.json", json.dumps(_env(options={"security": {"certificate-key": [k]}}))),
    "in a list of lines": lambda k: ("env.json", json.dumps(
        _env(options={"security": {"certificate": ["x", *_body_lines(k)[3:]]}}))),
    "in a mapping": lambda k: ("env.json", json.dumps(_env(options={"security": {"certificate": {"k": k}}}))),
    "as an option name": lambda k: ("env.json", json.dumps(_env(options={"security": {_body_lines(k)[0]: "x"}}))),
    "as a section name": lambda k: ("env.json", json.dumps(_env(options={k: {"x": "y"}}))),
    "port id": lambda k: ("env.json", json.dumps(_env(ports={_body_lines(k)[0]: {"port": 1}}))),
    "port number": lambda k: ("env.json", json.dumps(_env(ports={"default": {"port": k}}))),
    "application type": lambda k: ("env.json", json.dumps(_env(type=k))),
    "application name": lambda k: ("env.json", json.dumps({"applications": {k: {}}})),
    "transport": lambda k: ("env.json", json.dumps(_env(ports={"default": {"transport": "tls=1;k=" + k}}))),
    "connection server": lambda k: ("env.json", json.dumps(_env(connections=[{"server": k}]))),
    "bare base64 body as a value": lambda k: (
        "env.json", json.dumps(_env(options={"security": {"certificate-key": "".join(_body_lines(k))}}))),
    "the whole file (yaml)": lambda k: ("env.yaml", k),
    "the whole file (json)": lambda k: ("env.json", k),
    "cfg with a pasted key": lambda k: ("lca.cfg", "[security]\ncertificate-key = " + k),
    "cfg that is a key": lambda k: ("lca.cfg", k),
    "unknown top-level key": lambda k: ("env.json", json.dumps({k: 1})),
    "yaml key as a key": lambda k: ("env.yaml", "hosts: {h: {ip: [" + json.dumps(k) + "]}}\n"),
}


@pytest.mark.parametrize("algorithm", ["ec", "rsa"])
@pytest.mark.parametrize("shape", sorted(_KEY_SHAPES))
def test_key_material_is_never_shown(tmp_path: Path, keys: dict[str, str], shape: str, algorithm: str) -> None:
    key = keys[algorithm]
    name, text = _KEY_SHAPES[shape](key)
    (tmp_path / name).write_text(text)
    # one command per key kind through the CLI (both commands read the file the same way)
    argv = _commands(name)[0 if algorithm == "ec" else 1]
    assert_clean(run_cli(*argv, cwd=tmp_path), code=2, secrets=[key])
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path / name)
    shown = str(info.value) + repr(info.value)
    assert not any(line[:16] in shown for line in _body_lines(key))


def test_a_base64_key_body_given_as_the_path_is_not_shown(tmp_path: Path, keys: dict[str, str]) -> None:
    body = _body_lines(keys["rsa"])[0]
    proc = run_cli("lint", body + ".yaml", cwd=tmp_path)
    assert_clean(proc, code=2, secrets=[keys["rsa"]])


@pytest.mark.parametrize("fmt", ["yaml", "json", "cfg"])
def test_a_utf8_bom_is_accepted_everywhere(tmp_path: Path, fmt: str) -> None:
    texts = {
        "yaml": "hosts: {h: {}}\napplications: {A: {host: h, ports: {default: {port: 7000}}}}\n",
        "json": json.dumps(_env(ports={"default": {"port": 7000}})),
        "cfg": "[security]\nsec-protocol = TLSv12\n",
    }
    name = "lca.cfg" if fmt == "cfg" else f"env.{fmt}"
    (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + texts[fmt].encode())
    env = load(tmp_path / name)
    assert next(iter(env.applications.values())).name in ("A", "lca")
    if fmt != "cfg":
        assert_clean(run_cli("resolve", name, "--app", "A", "--port", "default", "--json", cwd=tmp_path), code=0)
    else:
        assert env.application("lca").security_options == {"sec-protocol": "TLSv12"}


def test_utf16_is_named(tmp_path: Path) -> None:
    (tmp_path / "env.yaml").write_bytes("hosts: {}\n".encode("utf-16"))
    proc = run_cli("lint", "env.yaml", cwd=tmp_path)
    assert_clean(proc, code=2)
    assert "UTF-16" in proc.stderr


def test_look_alike_names_load_and_resolve(tmp_path: Path) -> None:
    data = _env(
        options={"Security": {"tls-mutual": "1"}, "security ": {"tls-crl": "x.pem"},
                 "security": {"tls\u2010mutual": "1", "tls-\u0441rl": "x.pem"}},
        ports={"default": {"port": 7000, "transport": "tls=1;tls\u2011mutual=1"}},
    )
    (tmp_path / "env.json").write_text(json.dumps(data))
    proc = run_cli("resolve", "env.json", "--app", "A", "--port", "default", "--json", cwd=tmp_path)
    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    env = load(tmp_path / "env.json")
    found = {(m.written, m.intended, m.kind) for m in near_misses(env)}
    assert found == {
        ("Security", "security", "section"),
        ("security ", "security", "section"),
        ("[security] tls\u2010mutual", "tls-mutual", "option"),
        ("[security] tls-\u0441rl", "tls-crl", "option"),
        ("tls\u2011mutual", "tls-mutual", "transport"),
    }


# ------------------------------------------------------------------------------------------ the library


def test_nul_and_unencodable_paths_are_configuration_errors(tmp_path: Path) -> None:
    for bad in ("env\x00.yaml", str(tmp_path / "a\x00b.json"), "lca\x00.cfg", "env\ud800.yaml"):
        with pytest.raises(ConfigurationError) as info:
            load(bad)
        assert "\x00" not in str(info.value)
    with pytest.raises(ConfigurationError, match="NUL"):
        _files.read_regular_file("a\x00b", limit=10, what="CRL file")


def test_read_regular_file_limits_and_types(tmp_path: Path) -> None:
    path = tmp_path / "f.pem"
    path.write_bytes(b"x" * 100)
    assert _files.read_regular_file(path, limit=100, what="certificate file") == b"x" * 100
    with pytest.raises(ConfigurationError, match="larger than 99 bytes") as info:
        _files.read_regular_file(path, limit=99, what="certificate file")
    assert info.value.file == str(path)
    link = tmp_path / "link.pem"
    link.symlink_to(path)
    assert _files.read_regular_file(link, limit=100) == b"x" * 100
    with pytest.raises(ConfigurationError, match="symbolic link"):
        _files.read_regular_file(link, limit=100, follow_symlinks=False)
    os.mkfifo(tmp_path / "fifo")
    start = time.monotonic()
    with pytest.raises(ConfigurationError, match="FIFO"):
        _files.read_regular_file(tmp_path / "fifo", limit=100)
    assert time.monotonic() - start < WALL_CLOCK
    with pytest.raises(ConfigurationError, match="character device"):
        _files.read_regular_file("/dev/zero", limit=100)
    with pytest.raises(ConfigurationError, match="directory"):
        _files.read_regular_file(tmp_path, limit=100)
    with pytest.raises(ConfigurationError, match="larger than"):
        _files.read_regular_file("/proc/self/maps", limit=10)  # st_size says 0: bounded by the read


def test_the_environment_limit_applies_and_can_be_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps(_env()))
    with pytest.raises(ConfigurationError, match="larger than 10 bytes"):
        load(path, max_bytes=10)
    monkeypatch.setattr(_files, "MAX_ENVIRONMENT_BYTES", 10)
    with pytest.raises(ConfigurationError, match="larger than"):
        load(path)
    assert load(path, max_bytes=1000).application("A").host == "h"


def test_billion_laughs_is_refused_quickly_and_the_limit_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="aliases expand"):
        loads(_laughs(), source=Path("laughs.yaml"))
    small = _laughs(levels=3)  # 729 leaves
    monkeypatch.setattr(loaders, "YAML_MAX_EXPANDED_NODES", 100)
    monkeypatch.setattr(loaders, "YAML_EXPANSION_FACTOR", 2)
    with pytest.raises(ConfigurationError, match="more than 100 nodes"):
        loads(small)


def test_yaml_rules_are_kept() -> None:
    env = loads("hosts: {h: {ip: 0x1F, os: unix, annex: {security: {a: no, b: 1, c: 2001-01-01, d: ~, e: !!int 7}}}}")
    assert dict(env.host("h").security) == {"a": "no", "b": "1", "c": "2001-01-01", "d": "", "e": "7"}
    assert env.host("h").ip == "0x1F"
    for bad, words in [
        ("hosts: {a: 1, a: 2}", "duplicate key"),
        ("hosts: !!set {a}", "not allowed"),
        ("hosts: !local x", "not allowed"),
        ("hosts: &a {h: *a}", "recursive alias"),
        ("hosts: {? [a]: b}", "key must be text"),
        ("!!map [a]", "expected a mapping"),
    ]:
        with pytest.raises(ConfigurationError, match=words):
            loads(bad, source=Path("env.yaml"))


def test_show_is_bounded_on_shared_and_cyclic_values() -> None:
    value: list[Any] = ["x"] * 10
    for _ in range(60):  # 10**60 leaves when expanded
        value = [value] * 10
    text = show(value)
    assert len(text) <= 80 and text.startswith("[[[")
    loop: list[Any] = []
    loop.append(loop)
    assert len(show(loop)) <= 80


def test_one_redaction_rule(keys: dict[str, str]) -> None:
    for key in keys.values():
        body = _body_lines(key)
        for shape in (key, key.replace("\n", " "), body[0], body[1], "".join(body), [body[2]], {"a": [key]}):
            assert show(shape) == REDACTED
        assert looks_secret(body[0]) and looks_secret("".join(body))
        err = ConfigurationError("bad", file=body[0], object=body[1], value=key, option="x")
        assert not any(line[:16] in str(err) + repr(err) for line in body)
    assert show({"key-password": "hunter2"}) == '{"key-password": "<redacted>"}'
    assert str(ConfigurationError("bad", option="password", value="hunter2")).count("hunter2") == 0
    for fine in ("certs/app12345.pem", "/opt/genesys/certificates/tserver/TServerCertificateFile.pem",
                 "AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12", "tls=1;tls-mutual=1", "TLSv12"):
        assert not looks_secret(fine), fine


def test_escape_text() -> None:
    assert escape_text("a\x1b[31mb\x07\r\n\u202e\x9b") == "a\\x1b[31mb\\x07\\r\\n\\u202e\\x9b"
    assert escape_text("é☃ ok") == "é☃ ok"
    assert escape_text("x" * 500, limit=20) == "x" * 17 + "..."
    err = ConfigurationError("bad \x1b[2J", file="f\x07", object="o\x1b", level="l", option="\x00", value="v\x1b",
                             valid=("a\x1b",))
    assert not _raw_control(str(err))


def test_normalized_name() -> None:
    assert normalized_name("\u0422LS\u2010Mutual\u200b ") == "tls-mutual"
    env = Environment({}, {"A": Application("A", options={"Security": {"tls-mutual": "1"}})})
    (miss,) = near_misses(env)
    assert (miss.object, miss.level, miss.written) == ("A", "application-options", "Security")
    assert miss.intended == "security"
    assert "runtime ignores" in miss.message
    assert near_misses(gt.loads("hosts: {h: {annex: {security: {tls-mutual: '1'}}}}")) == []


def test_the_limits_page_is_current() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text()
    for constant in ("MAX_ENVIRONMENT_BYTES", "MAX_CERTIFICATE_BYTES", "MAX_CRL_BYTES"):
        mib = getattr(_files, constant) >> 20
        assert f"| {mib} MiB | `genesys_tls._files.{constant}` |" in page, constant
    assert f"{loaders.YAML_MAX_EXPANDED_NODES:,} nodes or {loaders.YAML_EXPANSION_FACTOR} times" in page


def test_a_long_list_of_valid_values_is_shortened() -> None:
    err = ConfigurationError("unknown host", value="x", valid=tuple(f"host{i}" for i in range(10_000)))
    assert len(str(err)) < 1000 and "(10000 in all)" in str(err)


def test_random_key_lines_are_redacted_and_names_are_not() -> None:
    """A later line of a key is random base64: the rule must catch (nearly) every one, and must not take the
    long names and paths of a real estate for key text. 5,000 random 64-character lines: about 0.75 are
    expected to slip (1.5 in 10,000); more than 5 means the rule regressed (the digit-count rule let ~15 by)."""
    import base64
    import os

    slipped = [line for line in (base64.b64encode(os.urandom(48)).decode() for _ in range(5000))
               if not looks_secret(line)]
    assert len(slipped) <= 5, slipped
    for fine in ("/home/GenesysAdmin/Configuration/ServerCertificates/TServer01/Primary.pem",
                 "StatServerReportingPrimaryInstance01ForTheNorthAmericanRegion",
                 "TServer_Switch01_Primary_SIPServer_Backup_Application_Name_XYZ",
                 "/var/lib/genesys/tls/InteractionServer/iWDManagerCertificateBundle.pem",
                 "SIPServer01PrimaryEMEA2TServerBackup3StatServer4ConfigServer5"):
        assert not looks_secret(fine), fine
