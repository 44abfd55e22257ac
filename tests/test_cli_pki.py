"""`genesys-tls pki init DIR [--names ...] [--key-type ec|rsa]`: what it writes, that it is usable at once,
and exit 2 with one line on bad input."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from genesys_tls.cli import main
from genesys_tls.loaders import load
from genesys_tls.resolve import resolve_client


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_writes_a_ready_environment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "pki"
    code, out, err = run(capsys, "pki", "init", str(target))
    assert code == 0 and err == ""
    assert str(target / "environment.yaml") in out and "certs/ca.pem" in out and "crl/current.pem" in out
    for name in ("ca.pem", "tsrv-host.pem", "tsrv-host.key", "client-host.pem", "revoked.pem", "expired.pem"):
        assert (target / "certs" / name).is_file()
        assert str(target / "certs" / name) in out
    assert stat.S_IMODE((target / "certs" / "tsrv-host.key").stat().st_mode) == 0o600
    env = load(target / "environment.yaml")
    resolved = resolve_client(env, "Client_client-host", "TServer", "mutual")
    assert resolved.mode.value == "mutual" and resolved.path("certificate") == target / "certs" / "client-host.pem"


def test_init_names_key_type_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "rsa"
    code, out, _ = run(capsys, "pki", "init", str(target), "--names", "cs-host,wde-host,ixn-host",
                       "--key-type", "rsa", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["names"] == ["cs-host", "wde-host", "ixn-host"] and data["key-type"] == "rsa"
    assert data["environment"] == str(target / "environment.yaml")
    assert all(Path(p).is_file() for p in data["files"].values())
    assert "BEGIN PRIVATE KEY" in (target / "certs" / "wde-host.key").read_text()
    env = load(target / "environment.yaml")
    assert {"TServer", "Client_wde-host", "Client_ixn-host"} <= set(env.applications)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--names", "a,,b"], "host name is empty"),
        (["--names", "bad name"], "not a valid host name"),
        (["--names", "a,A"], "given twice"),
        (["--names", "ca"], "another file"),
        (["--names", " "], "--names is empty"),
        (["--key-type", "dsa"], "unknown key type"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "pki", "init", str(tmp_path / "x"), *args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x" / "environment.yaml").exists()


def test_existing_environment_is_not_overwritten(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "environment.yaml").write_text("mine")
    code, _, err = run(capsys, "pki", "init", str(tmp_path))
    assert code == 2 and "does not overwrite" in err
    assert (tmp_path / "environment.yaml").read_text() == "mine"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = run(capsys, "pki", "init", str(a_file))
    assert code == 2 and "not a directory" in err


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "pki")
    assert code == 2 and "pki init DIR" in err
    code, _, err = run(capsys, "pki", "init")
    assert code == 2 and "DIR" in err


def test_pki_init_refuses_an_empty_directory_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "init", ""]) == 2
    err = capsys.readouterr().err
    assert "directory is empty" in err and "Traceback" not in err
