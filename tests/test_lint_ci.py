"""Lint for CI: --select/--ignore, --suppressions, --list-rules, --explain, look-alike security names (GT115)
and JSON/SARIF locations at the line of the option (YAML, JSON and .cfg files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import genesys_tls as gt
from genesys_tls.cli import main
from genesys_tls.errors import ConfigurationError
from genesys_tls.lint import RULES, lint
from genesys_tls.lint.reporters import to_sarif
from genesys_tls.lint.suppressions import Suppression, load_suppressions, select_codes
from genesys_tls.loaders import dump, positions

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"

#: transport mistakes on a port (GT101, GT102, GT104), a client without a name check (GT209)...
ENV = """\
hosts:
  h: {}
  c: {}
applications:
  S:
    host: h
    ports:
      p:
        port: 7001
        transport: "tls=1; tls-mutual=1;TLS=1;tls-mutal=1"
  C:
    host: c
    connections:
      - server: S
        port-id: p
"""


def validate(doc: Any, name: str) -> None:
    jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text())).validate(doc)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def lint_json(capsys: pytest.CaptureFixture[str], *args: str, expect: int | None = None) -> dict[str, Any]:
    code, out, err = run(capsys, "lint", *args, "--json")
    doc: dict[str, Any] = json.loads(out)
    if expect is not None:
        assert code == expect, err
    if "error" not in doc:
        validate(doc, "lint.schema.json")
    return doc


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "env.yaml"
    path.write_text(ENV)
    return path


def codes(doc: dict[str, Any]) -> set[str]:
    return {f["code"] for f in doc["findings"]}


# ============================================================================================ select / ignore


def test_select_and_ignore_codes_prefixes_and_names(env_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    everything = codes(lint_json(capsys, str(env_file)))
    assert {"GT101", "GT102", "GT104"} <= everything and any(not c.startswith("GT1") for c in everything)
    assert codes(lint_json(capsys, str(env_file), "--select", "GT1")) == {c for c in everything if c[2] == "1"}
    assert codes(lint_json(capsys, str(env_file), "--select", "GT10", "--ignore", "GT104")) == {"GT101", "GT102"}
    assert codes(lint_json(capsys, str(env_file), "--ignore", "GT1", "--select", "GT104")) == {"GT104"}
    assert codes(lint_json(capsys, str(env_file), "--select", "transport-case,GT101")) == {"GT101", "GT102"}
    assert codes(lint_json(capsys, str(env_file), "--ignore", "ALL", expect=0)) == set()
    # the exit code follows what is left: GT104 alone is a warning
    assert codes(lint_json(capsys, str(env_file), "--select", "GT104", expect=0)) == {"GT104"}


def test_unknown_selector_is_exit_2_with_did_you_mean(env_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = lint_json(capsys, str(env_file), "--select", "GT1O4", expect=2)
    validate(doc, "error.schema.json")
    assert doc["error"]["value"] == "GT1O4" and "GT104" in doc["error"]["suggestions"]
    with pytest.raises(ConfigurationError, match="selector"):
        select_codes(["transport-cse"], None)
    assert select_codes(None, None) == frozenset(RULES)


# ============================================================================================ suppressions


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_suppression_with_a_reason_is_listed_and_not_counted(
    env_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sup = write(tmp_path / "sup.yaml", (
        "suppressions:\n"
        "  - {code: GT101, object: S/p, option: tls-mutual, reason: 'vendor default, ticket SEC-1'}\n"
        "  - {code: GT102, object: S/p, reason: accepted}\n"
        "  - {code: GT305, object: S/p, reason: stale entry}\n"
    ))
    before = lint_json(capsys, str(env_file), "--select", "GT10", expect=1)
    doc = lint_json(capsys, str(env_file), "--select", "GT10", "--suppressions", str(sup), expect=0)
    assert codes(doc) == codes(before) - {"GT101", "GT102"}
    assert [(s["code"], s["suppression"]["reason"]) for s in doc["suppressed"]] == [
        ("GT101", "vendor default, ticket SEC-1"), ("GT102", "accepted")
    ]
    assert doc["summary"]["error"] == 0
    assert [(u["code"], u["entry"]) for u in doc["unused-suppressions"]] == [("GT305", 3)]
    code, text, _ = run(capsys, "lint", str(env_file), "--select", "GT10", "--suppressions", str(sup))
    assert code == 0 and "(2 suppressed)" in text and "vendor default" in text and "suppression #3" in text
    # SARIF: the suppressed results are there, each with an accepted external suppression and its reason
    code, out, _ = run(capsys, "lint", str(env_file), "--select", "GT10", "--suppressions", str(sup), "--format",
                       "sarif")
    results = json.loads(out)["runs"][0]["results"]
    marked = [r for r in results if r.get("suppressions")]
    assert [r["ruleId"] for r in marked] == ["GT101", "GT102"]
    assert marked[0]["suppressions"][0]["kind"] == "external"
    assert marked[0]["suppressions"][0]["status"] == "accepted"
    assert marked[0]["suppressions"][0]["justification"] == "vendor default, ticket SEC-1"
    assert all("suppressions" not in r for r in results if r["ruleId"] == "GT104")


@pytest.mark.parametrize(
    ("entry", "expect", "suggestion"),
    [
        ("{code: GT101, object: S/p}", "needs a reason", None),
        ("{code: GT101, object: S/p, reason: '  '}", "needs a reason", None),
        ("{code: GT1O1, object: S/p, reason: r}", "unknown lint rule", "GT101"),
        ("{code: GT101, object: S/q, reason: r}", "no object", "S/p"),
        ("{code: GT101, object: 'C -> S/pp', reason: r}", "no object", "C -> S/p"),
        ("{code: GT101, object: S/p, reason: r, reasn: x}", "unknown key", "reason"),
    ],
)
def test_bad_suppressions_are_exit_2(
    env_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, expect: str,
    suggestion: str | None,
) -> None:
    sup = write(tmp_path / "sup.yaml", f"suppressions:\n  - {entry}\n")
    doc = lint_json(capsys, str(env_file), "--suppressions", str(sup), expect=2)
    validate(doc, "error.schema.json")
    assert expect in doc["error"]["message"] and doc["error"]["file"] == str(sup)
    if suggestion:
        assert suggestion in doc["error"]["suggestions"]


def test_suppressions_from_python(env_file: Path, tmp_path: Path) -> None:
    env = gt.load(env_file)
    sup = write(tmp_path / "sup.json", json.dumps([{"code": "transport-space", "object": "S/p", "reason": "r"}]))
    loaded = load_suppressions(sup, env=env)
    assert loaded == (Suppression("GT101", "S/p", "r", file=str(sup), entry=1),)
    report = lint(env, suppressions=loaded)
    assert "GT101" not in report.codes() and [s.finding.code for s in report.suppressed] == ["GT101"]
    assert report.unused_suppressions == ()


# ============================================================================================ list / explain


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lint", "--list-rules")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(RULES)
    code, out, _ = run(capsys, "lint", "--list-rules", "--json")
    doc = json.loads(out)
    validate(doc, "lint-rules.schema.json")
    assert [r["code"] for r in doc["rules"]] == list(RULES)


def test_explain_gives_text_example_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    rule = RULES["GT104"]
    for name in ("GT104", "gt104", "transport-unknown-key"):
        code, out, _ = run(capsys, "lint", "--explain", name)
        assert code == 0
        assert rule.description in out and f"Fix: {rule.fix}" in out
        assert "tls-mutal=1" in out and "Fixed:" in out
    code, out, _ = run(capsys, "lint", "--explain", "GT104", "--json")
    doc = json.loads(out)
    validate(doc, "lint-rules.schema.json")
    assert doc["rules"][0]["example"] == rule.example


def test_explain_unknown_code_is_exit_2_with_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "lint", "--explain", "GT2O1", "--json")
    assert code == 2 and "did you mean" in err
    doc = json.loads(out)
    validate(doc, "error.schema.json")
    assert "GT201" in doc["error"]["suggestions"]
    code, _, err = run(capsys, "lint", "--explain", "transport-unknown")
    assert code == 2 and "transport-unknown-key" in err
    code, _, err = run(capsys, "lint")
    assert code == 2 and "ENV" in err


# ============================================================================================ GT115


def test_look_alike_security_names_are_errors_naming_the_option(tmp_path: Path) -> None:
    text = (
        "hosts:\n"
        "  h:\n"
        "    annex:\n"
        "      security: {\"tls\u2010mutual\": '1', \"tls-\u0441rl\": crl.pem, Trusted-CA: x}\n"
        "      securty: {certificate: s.pem}\n"
        "applications:\n"
        "  S:\n"
        "    host: h\n"
        "    options: {Security: {certificate-key: s.key}}\n"
        "    ports: {p: {port: 7001, transport: \"tls=1;tls\u2011mutual=1\"}}\n"
    )
    report = lint(gt.loads(text))
    found = {(f.code, f.object, f.option): f for f in report.findings if f.code in ("GT113", "GT115", "GT104")}
    assert found[("GT115", "h", "tls\u2010mutual")].severity.value == "error"
    assert "'tls-mutual'" in found[("GT115", "h", "tls\u2010mutual")].message
    assert "U+2010" in found[("GT115", "h", "tls\u2010mutual")].message
    assert "'tls-crl'" in found[("GT115", "h", "tls-\u0441rl")].message
    assert "certificate" in found[("GT115", "h", "certificate")].message
    assert "did you mean 'security'" in found[("GT115", "h", "certificate")].message
    assert "certificate-key" in found[("GT115", "S", "certificate-key")].message
    assert found[("GT115", "S/p", "tls\u2011mutual")].severity.value == "error"
    # the milder findings on the same names are replaced, the case-only one stays a GT113 warning
    assert ("GT113", "h", "tls\u2010mutual") not in found and ("GT104", "S/p", "tls\u2011mutual") not in found
    assert ("GT113", "h", "Trusted-CA") in found and ("GT115", "h", "Trusted-CA") not in found


# ============================================================================================ locations


def option_line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def sarif_lines(capsys: pytest.CaptureFixture[str], path: Path) -> dict[tuple[str, str], int]:
    _, out, _ = run(capsys, "lint", str(path), "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    return {
        (r["ruleId"], r["properties"]["option"]): r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in results
    }


def test_sarif_and_json_point_at_the_option_line_yaml(env_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file.write_text(
        "hosts:\n"
        "  h:\n"
        "    annex:\n"
        "      security:\n"
        "        certificate: s.pem\n"
        "        sec-protocol: SSLv3\n"
        "        tls-target-name-check: hostname\n"
        "applications:\n"
        "  S:\n"
        "    host: h\n"
        "    ports:\n"
        "      default: {port: 7000}\n"
        "      p:\n"
        "        port: 7001\n"
        "        transport: 'tls=1; tls-mutual=1'\n"
    )
    text = env_file.read_text()
    lines = sarif_lines(capsys, env_file)
    assert lines[("GT110", "tls-target-name-check")] == option_line(text, "tls-target-name-check")
    assert lines[("GT110", "sec-protocol")] == option_line(text, "sec-protocol")
    assert lines[("GT101", "tls-mutual")] == option_line(text, "transport:")
    doc = lint_json(capsys, str(env_file))
    by = {(f["code"], f["option"]): f["line"] for f in doc["findings"]}
    assert by[("GT110", "sec-protocol")] == option_line(text, "sec-protocol")


def test_option_lines_in_json_and_cfg_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = gt.loads("hosts: {h: {annex: {security: {sec-protocol: SSLv3, certificate: s.pem}}}}\n"
                   "applications: {S: {host: h, ports: {p: {port: 7001, transport: 'TLS=1'}}}}\n")
    path = tmp_path / "env.json"
    path.write_text(dump(env, "json"))
    text = path.read_text()
    lines = sarif_lines(capsys, path)
    assert lines[("GT110", "sec-protocol")] == option_line(text, '"sec-protocol"')
    assert lines[("GT102", "TLS")] == option_line(text, '"transport"')
    cfg = tmp_path / "lca.cfg"
    cfg.write_text("[log]\nverbose = all\n\n[security]\n# TLS\ncertificate = s.pem\nsec-protocol = SSLv3\n")
    lines = sarif_lines(capsys, cfg)
    assert lines[("GT110", "sec-protocol")] == 7


def test_positions_are_found_on_demand_and_dropped_when_the_file_changes(env_file: Path) -> None:
    env = gt.load(env_file)
    found = positions(env)
    assert found is not None and found.line("applications", "S", "ports", "p", "transport") == (
        option_line(ENV, "transport:")
    )
    assert positions(gt.loads(ENV)) is None  # no file
    again = gt.load(env_file)
    env_file.write_text("\n" + ENV)
    assert positions(again) is None  # the file changed since it was loaded: no line is better than a wrong one
    report = lint(again)
    sarif = to_sarif(report)
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in sarif["runs"][0]["results"])


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_position_is_the_line_of_its_key(fmt: str) -> None:
    from genesys_tls.loaders import text_positions

    env = gt.load(ROOT / "examples" / "environment.yaml")
    text = dump(env, fmt)
    found = text_positions(text, fmt)
    assert found is not None and len(found.lines) > 30
    lines = text.splitlines()
    for path, number in found.lines.items():
        last = path[-1]
        if isinstance(last, str):
            assert last in lines[number - 1], (path, number)


def test_misspelt_application_type_gets_did_you_mean() -> None:
    env = gt.loads("hosts: {h: {}}\napplications: {S: {type: T-Sever, host: h, ports: {p: {port: 7001}}},\n"
                   "  C: {type: Third Party Application, host: h, connections: [{server: S, port-id: p, "
                   "transport: tls=1}]}}\n")
    [finding] = [f for f in lint(env).findings if f.code == "GT503"]
    assert finding.object == "S" and finding.hint.startswith("did you mean 'T-Server'")


@pytest.mark.parametrize("code", ["GT101", "GT102", "GT103", "GT104", "GT105", "GT106", "GT107"])
def test_lint_shows_every_transport_diagnostic_of_the_fixtures(code: str) -> None:
    from genesys_tls.ignored import TRANSPORT_RULES

    env = gt.loads(RULES[code].example)
    diagnostics = env.applications["S"].ports["secure"].transport.diagnostics
    rules_of = [TRANSPORT_RULES[d.code] for d in diagnostics]
    assert code in rules_of
    shown = [f.code for f in lint(env).findings if f.code in TRANSPORT_RULES.values()]
    assert shown == rules_of  # one finding per diagnostic, in string order


def test_suppression_text_is_escaped_and_key_material_refused(
    env_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sup = write(tmp_path / "sup.yaml", 'suppressions:\n  - {code: GT101, object: S/p, reason: "ok\\e[31m red"}\n')
    code, out, _ = run(capsys, "lint", str(env_file), "--select", "GT101", "--suppressions", str(sup))
    assert code == 0 and "\x1b" not in out and "\\x1b[31m" in out
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
    key = f"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----"
    write(sup, f'suppressions:\n  - {{code: GT101, object: S/p, reason: "{key}"}}\n')
    code, out, err = run(capsys, "lint", str(env_file), "--suppressions", str(sup), "--json")
    assert code == 2 and "MIIEvQ" not in out + err and "private key material" in err


def test_text_output_names_file_and_line(env_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "lint", str(env_file), "--select", "GT104")
    assert f"at {env_file}:{option_line(ENV, 'transport:')}" in out
