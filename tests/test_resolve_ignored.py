"""`resolve` shows what it did not use: every transport diagnostic of the rule fixtures, options of the other
end, options at undocumented levels, misspelt and look-alike names; JSON errors with the exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import genesys_tls as gt
from genesys_tls.cli import main
from genesys_tls.ignored import TRANSPORT_RULES, ignored
from genesys_tls.lint import RULES
from genesys_tls.transport import DiagnosticCode

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def resolve_json(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> dict[str, Any]:
    code, out, err = run(capsys, "resolve", str(path), *args, "--json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator(schema("resolve.schema.json")).validate(doc)
    return doc


@pytest.mark.parametrize("code", list(DiagnosticCode), ids=lambda c: c.value)
def test_every_transport_diagnostic_of_the_rule_fixtures_is_shown(
    code: DiagnosticCode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = RULES[TRANSPORT_RULES[code]]
    path = tmp_path / "env.yaml"
    path.write_text(rule.example)
    env = gt.load(path)
    transport = env.applications["S"].ports["secure"].transport
    expected = [(d.code.value, d.position) for d in transport.diagnostics]
    assert (code.value in {c for c, _ in expected})  # the fixture triggers this diagnostic
    doc = resolve_json(capsys, path, "--app", "S", "--port", "secure")
    shown = [(i["code"], i["position"]) for i in doc["ignored"] if i["kind"] == "transport"]
    assert shown == expected
    item = next(i for i in doc["ignored"] if i["code"] == code.value)
    assert item["rule"] == rule.code and item["level"] == "port" and item["object"] == "S"
    _, text, _ = run(capsys, "resolve", str(path), "--app", "S", "--port", "secure")
    assert "not used (" in text and f"[{rule.code}" in text


def test_client_shows_its_connection_and_the_target_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(
        "hosts: {h: {}, c: {}}\n"
        "applications:\n"
        "  S: {host: h, ports: {p: {port: 7001, transport: 'tls=1;TLS=1'}}}\n"
        "  C:\n"
        "    host: c\n"
        "    options: {security: {tls-mutual: '1'}}\n"
        "    connections: [{server: S, port-id: p, transport: 'tls-target-name-check=host; upgrade=1'}]\n"
    )
    doc = resolve_json(capsys, path, "--app", "C", "--connection", "S/p")
    got = {(i["level"], i["object"], i["code"], i["option"]) for i in doc["ignored"]}
    assert ("connection", "C", "space", " upgrade") in got
    assert ("application-options", "C", "server-side-option", "tls-mutual") in got
    assert ("target-port", "S", "case", "TLS") in got
    case = next(i for i in doc["ignored"] if i["code"] == "case")
    assert case["suggestions"][0] == "tls"


SERVER_MISTAKES = """\
hosts:
  h:
    annex:
      Security: {trusted-ca: ca.pem}
      securty: {certificate: s.pem}
      security: {tls-mutal: '1', inactivity-timeout: '30'}
applications:
  S: {host: h, options: {security: {tls-target-name-check: host, tls: '1'}}, ports: {p: {port: 7001, transport: tls=1}}}
"""


def test_server_side_other_end_levels_and_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(SERVER_MISTAKES)
    doc = resolve_json(capsys, path, "--app", "S", "--port", "p")
    by_option = {i["option"]: i for i in doc["ignored"]}
    assert by_option["tls-target-name-check"]["code"] == "client-side-option"
    assert by_option["tls"]["code"] == "undocumented-level" and by_option["tls"]["effect"] == "psdk-only"
    assert by_option["trusted-ca"]["code"] == "section-name" and by_option["trusted-ca"]["rule"] == "GT115"
    assert by_option["certificate"]["code"] == "section-name" and "did you mean 'security'" in (
        by_option["certificate"]["message"]
    )
    assert by_option["tls-mutal"]["suggestions"] == ["tls-mutual"]
    assert "inactivity-timeout" not in by_option  # a real [security] option, not a TLS one: not listed
    doc = resolve_json(capsys, path, "--app", "S", "--port", "p", "--reading", "doc")
    tls = next(i for i in doc["ignored"] if i["option"] == "tls")
    assert tls["code"] == "not-read-in-this-reading" and tls["effect"] == "ignored"


def test_clean_example_has_nothing_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    doc = resolve_json(capsys, ROOT / "examples" / "environment.yaml", "--app", "MyTLibClient", "--connection",
                       "TServer_SIP/secure")
    assert doc["ignored"] == []
    env = gt.load(ROOT / "examples" / "environment.yaml")
    assert ignored(env, gt.resolve_server(env, "TServer_SIP", "secure")) == ()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--app", "MyTLibClent", "--connection", "TServer_SIP"], "unknown application"),
        (["--app", "MyTLibClient", "--connection", "TServer_SIP/secur"], "secure"),
        (["--app", "TServer_SIP", "--port", "secrue"], "secure"),
    ],
)
def test_json_errors_on_stdout_with_the_exit_code(
    capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    code, out, err = run(capsys, "resolve", str(ROOT / "examples" / "environment.yaml"), *args, "--json")
    assert code == 2 and len(err.strip().splitlines()) == 1
    doc = json.loads(out)
    jsonschema.Draft202012Validator(schema("error.schema.json")).validate(doc)
    assert doc["error"]["exit-code"] == 2 and doc["error"]["kind"] == "configuration"
    assert reason in json.dumps(doc["error"]) and doc["error"]["suggestions"]
