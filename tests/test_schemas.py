"""Every ``--json`` output validates against its published JSON Schema (docs/schemas/), with the real
commands: resolve, lint, connect and serve (real handshakes on 127.0.0.1), demo, pki init, and the error
object every command prints with ``--json``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import yaml

from genesys_tls.catalogue import Source
from genesys_tls.cli import build_parser, main
from genesys_tls.cli._common import SCHEMAS
from genesys_tls.errors import Category
from genesys_tls.handshake import Server
from genesys_tls.lint.rules import Severity
from genesys_tls.loaders import load
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import Mode, resolve_server

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "docs" / "schemas"
EXAMPLE = ROOT / "examples" / "environment.yaml"
CLIENT = "Client_client-host"


def _schemas() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.schema.json"))}


SCHEMA_FILES = _schemas()
REGISTRY: referencing.Registry[Any] = referencing.Registry().with_resources(
    (s["$id"], referencing.Resource.from_contents(s)) for s in SCHEMA_FILES.values()
)


def validate(document: Any, schema_file: str) -> None:
    schema = SCHEMA_FILES[schema_file]
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(document)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out), err


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = SCHEMA_FILES[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith("/" + name)


def test_every_json_command_has_a_schema_and_help_points_at_it() -> None:
    assert {f for f in SCHEMAS.values()} | {"error.schema.json", "lint-rules.schema.json"} == set(SCHEMA_FILES)
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions)  # type: ignore[union-attr]
    for command, file in SCHEMAS.items():
        name, _, action = command.partition(" ")
        p = sub.choices[name]  # type: ignore[attr-defined]
        if action:
            p = next(a for a in p._subparsers._group_actions).choices[action]
        text = p.format_help()
        assert f"docs/schemas/{file}" in text and "error.schema.json" in " ".join(text.split())


def test_schema_enums_are_the_code_enums() -> None:
    resolve = SCHEMA_FILES["resolve.schema.json"]
    assert set(resolve["$defs"]["option"]["properties"]["source"]["enum"]) == {s.value for s in Source}
    assert set(resolve["properties"]["mode"]["enum"]) == {m.value for m in Mode}
    connect = SCHEMA_FILES["connect.schema.json"]
    assert set(connect["properties"]["error"]["properties"]["category"]["enum"]) == {c.value for c in Category}
    lint = SCHEMA_FILES["lint.schema.json"]
    assert set(lint["properties"]["findings"]["items"]["properties"]["severity"]["enum"]) == {
        s.value for s in Severity
    }
    error = SCHEMA_FILES["error.schema.json"]
    assert set(error["properties"]["error"]["properties"]["category"]["enum"]) == {c.value for c in Category}


def test_resolve_client_and_server(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = run(capsys, "resolve", str(EXAMPLE), "--app", "MyTLibClient", "--connection",
                       "TServer_SIP/secure", "--json")
    assert code == 0
    validate(doc, "resolve.schema.json")
    assert doc["options"]["sec-protocol"]["shadowed"]  # the example shows a shadowed value
    code, doc, _ = run(capsys, "resolve", str(EXAMPLE), "--app", "TServer_SIP", "--port", "secure", "--json")
    assert code == 0
    validate(doc, "resolve.schema.json")
    with pytest.raises(jsonschema.ValidationError):  # the schema tells the sides apart
        validate({**doc, "side": "client"}, "resolve.schema.json")


def test_lint_clean_and_with_findings(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = run(capsys, "lint", str(pki.environment), "--json")
    assert code == 0 and doc["findings"] == []
    validate(doc, "lint.schema.json")
    data = yaml.safe_load(pki.environment.read_text())
    data["hosts"]["tsrv-host"]["annex"]["security"]["trusted-ca"] = "certs/missing.pem"
    data["hosts"]["client-host"]["annex"]["security"]["sec-protocol"] = "SSLv23"
    bad = pki.directory / "findings.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, doc, _ = run(capsys, "lint", str(bad), "--format", "json")
    assert code == 1 and doc["summary"]["error"] and doc["summary"]["warning"]
    validate(doc, "lint.schema.json")


def test_connect_ok_failed_and_serve_lines(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    env = str(pki.environment)
    with Server(resolve_server(load(pki.environment), "TServer", "mutual"), port=0) as server:
        address = "{}:{}".format(*server.address)
        code, ok, _ = run(capsys, "connect", env, "--app", CLIENT, "--connection", "TServer/mutual",
                          "--address", address, "--json", "--timeout", "10")
    assert code == 0 and ok["ok"] is True
    validate(ok, "connect.schema.json")
    code, failed, _ = run(capsys, "connect", env, "--app", CLIENT, "--connection", "TServer/secure",
                          "--address", "127.0.0.1:1", "--json", "--timeout", "5")
    assert code == 1 and failed["error"]["category"] == "connection"
    validate(failed, "connect.schema.json")
    with pytest.raises(jsonschema.ValidationError):  # a failure without its error does not validate
        validate({k: v for k, v in failed.items() if k != "error"}, "connect.schema.json")

    # serve in a child process: one accepted handshake, one refused (a client trusting another CA).
    proc = subprocess.Popen(
        [sys.executable, "-m", "genesys_tls", "serve", env, "--app", "TServer", "--port", "mutual",
         "--address", "127.0.0.1:0", "--count", "2", "--json", "--timeout", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"listening on (\S+)", line)
        assert match, line
        where = match.group(1)
        assert main(["connect", env, "--app", CLIENT, "--connection", "TServer/mutual", "--address", where,
                     "--timeout", "10"]) == 0
        data = yaml.safe_load(pki.environment.read_text())
        data["hosts"]["client-host"]["annex"]["security"]["trusted-ca"] = "certs/other-ca.pem"
        other = pki.directory / "other-ca.yaml"
        other.write_text(yaml.safe_dump(data))
        assert main(["connect", str(other), "--app", CLIENT, "--connection", "TServer/mutual", "--address",
                     where, "--timeout", "10"]) == 1
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    capsys.readouterr()
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["ok"] for x in lines] == [True, False]
    for doc in lines:
        validate(doc, "serve.schema.json")


def test_demo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, doc, _ = run(capsys, "demo", "--json", "--keep", str(tmp_path / "demo"))
    assert code == 0 and doc["failed"] == 0 and doc["directory"]
    validate(doc, "demo.schema.json")


def test_pki_init(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, doc, _ = run(capsys, "pki", "init", str(tmp_path / "p"), "--json")
    assert code == 0
    validate(doc, "pki-init.schema.json")
    assert all(Path(p).is_file() for p in doc["files"].values())


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (["resolve", str(EXAMPLE), "--json"], "usage"),
        (["resolve", str(EXAMPLE), "--app", "MyTLibClien", "--port", "secure", "--json"], "configuration"),
        (["lint", "/nonexistent/env.yaml", "--format", "json"], "configuration"),
        (["connect", str(EXAMPLE), "--app", "MyTLibClient", "--connection", "TServer_SIP/secur", "--json"],
         "configuration"),
        (["demo", "--json", "--timeout", "0"], "usage"),
        (["pki", "init", "", "--json"], "configuration"),
    ],
)
def test_errors_are_json_with_the_same_exit_code(
    capsys: pytest.CaptureFixture[str], argv: list[str], kind: str
) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and err.strip() and "Traceback" not in err
    doc = json.loads(out)
    validate(doc, "error.schema.json")
    assert doc["error"]["kind"] == kind and doc["error"]["exit-code"] == 2
    assert doc["error"]["message"] == err.strip().splitlines()[-1]
    # Without --json the error stays on stderr only.
    plain = [a for a in argv if a != "--json"]
    if "--format" not in plain:
        assert main(plain) == 2
        assert capsys.readouterr().out == ""


def test_error_json_carries_the_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    main(["resolve", str(EXAMPLE), "--app", "MyTLibClien", "--port", "secure", "--json"])
    doc = json.loads(capsys.readouterr().out)["error"]
    assert doc["suggestions"] == ["MyTLibClient"] and "TServer_SIP" in doc["valid"]
    assert doc["file"].endswith("environment.yaml")


def test_tls_error_outside_a_handshake_is_json_exit_1(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(pki.environment.read_text())
    data["hosts"]["tsrv-host"]["annex"]["security"]["tls-crl"] = "crl/expired.pem"
    path = pki.directory / "expired-crl.yaml"
    path.write_text(yaml.safe_dump(data))
    code = main(["serve", str(path), "--app", "TServer", "--port", "mutual", "--address", "127.0.0.1:0",
                 "--count", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 1, err
    doc = json.loads(out.splitlines()[-1])
    validate(doc, "error.schema.json")
    assert doc["error"]["kind"] == "tls" and doc["error"]["category"] == "crl-expired"
