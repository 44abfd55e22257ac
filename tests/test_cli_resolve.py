"""`genesys-tls resolve` against the contract: JSON shape, table, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from genesys_tls.catalogue import CATALOGUE
from genesys_tls.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "environment.yaml"
SOURCES = {"port", "connection", "application-options", "application-annex", "host-annex", "target-port", "default"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_client_json_matches_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "resolve", str(EXAMPLE), "--app", "MyTLibClient", "--connection", "TServer_SIP/secure", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["side"] == "client" and data["application"] == "MyTLibClient"
    assert data["target"] == {
        "server": "TServer_SIP", "port-id": "secure", "host": "tsrv-host", "address": "127.0.0.1:7001"
    }
    assert data["mode"] == "mutual"
    assert set(data["options"]) == set(CATALOGUE)
    opts = data["options"]
    assert {k: opts["tls"][k] for k in ("value", "source", "object")} == {
        "value": "1", "source": "target-port", "object": "TServer_SIP"
    }
    assert {k: opts["tls-mutual"][k] for k in ("value", "source", "object")} == {
        "value": "1", "source": "target-port", "object": "TServer_SIP"
    }
    assert opts["sec-protocol"]["value"] == "TLSv12"
    assert opts["sec-protocol"]["source"] == "application-options"
    assert opts["sec-protocol"]["shadowed"] == [
        {"value": "TLSv13", "source": "host-annex", "object": "client-host"}
    ]
    for opt in opts.values():
        assert opt["source"] in SOURCES
        assert ("object" in opt) == (opt["source"] != "default")


def test_server_json_has_no_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "resolve", str(EXAMPLE), "--app", "TServer_SIP", "--port", "secure", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["side"] == "server" and "target" not in data and data["mode"] == "mutual"
    assert data["options"]["certificate"] == {
        "value": "certs/tsrv.pem", "source": "host-annex", "object": "tsrv-host", "group-level": "host-annex"
    }


def test_table_names_value_source_object_shadowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "resolve", str(EXAMPLE), "--app", "MyTLibClient", "--connection", "TServer_SIP")
    assert code == 0
    assert "mode: mutual" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("sec-protocol"))
    assert "TLSv12" in line and "application-options" in line and "'TLSv13' at host-annex client-host" in line


@pytest.mark.parametrize(
    ("content", "suffix", "args", "expect"),
    [
        (None, ".yaml", ["--app", "A", "--port", "p"], "file not found"),
        ("hosts: [", ".yaml", ["--app", "A", "--port", "p"], "invalid YAML"),
        ("{", ".json", ["--app", "A", "--port", "p"], "invalid JSON"),
        ("applications: {S: {ports: {p: {transport: 'tls=enabled'}}}}", ".yaml", ["--app", "S", "--port", "p"],
         "option tls"),
        ("applications: {S: {ports: {p: {}}}}", ".yaml", ["--app", "Nope", "--port", "p"], "Nope"),
        ("applications: {S: {ports: {p: {}}}}", ".yaml", ["--app", "S", "--port", "q"], "'q'"),
        ("applications: {S: {host: h}}", ".yaml", ["--app", "S", "--port", "p"], "host 'h'"),
        ("applications: {A: {connections: [{server: X}]}}", ".yaml", ["--app", "A", "--connection", "X"], "'X'"),
        ("applications: {S: {options: [1, 2]}}", ".yaml", ["--app", "S", "--port", "p"], "must be a mapping"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, suffix: str, args: list[str],
    expect: str,
) -> None:
    path = tmp_path / f"env{suffix}"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "resolve", str(path), *args)
    assert code == 2
    assert out == ""
    assert expect in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert str(path) in err or "Nope" in err


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "resolve", str(EXAMPLE), "--app", "MyTLibClient")
    assert code == 2 and "Traceback" not in err


def test_console_script_runs() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "genesys_tls", "resolve", str(EXAMPLE), "--app", "TServer_SIP", "--port", "secure",
         "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["mode"] == "mutual"
