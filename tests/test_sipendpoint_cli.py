"""``genesys-tls sipendpoint serve`` and ``connect``: a real listener process and the Workspace side."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _sip import IDENTITY_KEYS, IDENTITY_OPTIONS, workspace_env

from genesys_tls.cli import main
from genesys_tls.sipendpoint.rules import example_config
from genesys_tls.sipendpoint.scenarios import PFX_PASSWORD, Material, build_material

TIMEOUT = 20


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    return build_material(tmp_path_factory.mktemp("sipcli"))


def _files(material: Material, tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "InteractionWorkspaceSIPEndpoint.exe.config"
    config.write_text(example_config({"protocol": "https", "port": "8000", "security_level": "2",
                                      "certificate_search_value": "OU=EMEA", "ipv4_address_range": "127.0.0.0/8",
                                      **IDENTITY_KEYS}), encoding="utf-8")
    env = tmp_path / "workspace.yaml"
    env.write_text(workspace_env({"protocol": "https", "port": "8000", "security-level": "3",
                                  "certificate-search-value": "OU=EMEA", **IDENTITY_OPTIONS}), encoding="utf-8")
    return config, env


def _serve(material: Material, config: Path, count: int) -> subprocess.Popen[str]:
    exe = shutil.which("genesys-tls") or str(Path(sys.executable).with_name("genesys-tls"))
    return subprocess.Popen(
        [exe, "sipendpoint", "serve", str(config), "--store", str(material.directory / "ep-good"),
         "--ca", str(material.ca), "--user", str(material.user_file), "--address", "127.0.0.1:0",
         "--count", str(count), "--json", "--timeout", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _listening(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("listening on "), line
    return line.split()[-1]


def test_serve_and_connect_open_a_session(material: Material, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, env = _files(material, tmp_path)
    monkeypatch.setenv("WS_PFX", PFX_PASSWORD)
    process = _serve(material, config, 3)
    try:
        address = _listening(process)
        common = ["sipendpoint", "connect", str(env), "--app", "WDE", "--ca", str(material.ca), "--user",
                  str(material.user_file), "--address", address, "--store-password-env", "WS_PFX", "--json"]
        assert main([*common, "--store", str(material.directory / "ws-good"), "--finalize"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["ok"] and out["status"] == 201 and out["finalize"]["response"]["restarted"] is True
        assert out["certificate"]["rule"] == "subject" and "PRIVATE" not in json.dumps(out)
        assert main([*common, "--store", str(material.directory / "ws-wrong-e")]) == 1
        refused = json.loads(capsys.readouterr().out)
        assert refused["outcome"] == "subject-mismatch" and refused["status"] == 403
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=TIMEOUT)
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [line["ok"] for line in lines] == [True, True, False]
    assert lines[2]["error"]["category"] == "subject-mismatch" and lines[2]["requests"][0]["status"] == 403
    assert process.returncode == 1, "a refused connection: exit 1"
    assert "PRIVATE" not in stdout + stderr


def test_connect_bad_inputs_exit_2(material: Material, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, env = _files(material, tmp_path)
    base = ["sipendpoint", "connect", str(env), "--app", "WDE", "--ca", str(material.ca), "--user",
            str(material.user_file), "--address", "127.0.0.1:9", "--store", str(material.directory / "ws-good")]
    monkeypatch.setenv("WS_PFX", "not-the-password")
    assert main([*base, "--store-password-env", "WS_PFX"]) == 2
    err = capsys.readouterr().err.strip()
    assert "wrong password" in err and "not-the-password" not in err and len(err.splitlines()) == 1
    nothing = tmp_path / "nothing.yaml"
    nothing.write_text(workspace_env({"protocol": "https", "port": "8000", "security-level": "2",
                                      "certificate-search-value": "No Such Certificate"}), encoding="utf-8")
    monkeypatch.setenv("WS_PFX", PFX_PASSWORD)
    assert main(["sipendpoint", "connect", str(nothing), "--app", "WDE", "--ca", str(material.ca), "--address",
                 "127.0.0.1:9", "--store", str(material.directory / "ws-good"), "--store-password-env",
                 "WS_PFX"]) == 2
    err = capsys.readouterr().err.strip()
    assert "No Such Certificate" in err and "CN=John Smith" in err and "thumbprint" in err
    assert "PRIVATE" not in err and len(err.splitlines()) == 1


def test_serve_bad_inputs_exit_2(material: Material, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = _files(material, tmp_path)
    assert main(["sipendpoint", "serve", str(config), "--store", str(material.directory / "ep-good"), "--ca",
                 str(material.ca)]) == 2, "level 2 without a user"
    assert "directory user" in capsys.readouterr().err
    assert main(["sipendpoint", "serve", str(config), "--store", str(tmp_path / "missing"), "--ca",
                 str(material.ca), "--user", str(material.user_file)]) == 2
    assert "neither a folder nor a file" in capsys.readouterr().err
    assert os.environ.get("GENESYS_TLS_NEVER_SET") is None
