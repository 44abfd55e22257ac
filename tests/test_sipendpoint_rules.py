"""GT6xx rules and ``genesys-tls sipendpoint check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _sip import workspace, workspace_env

from genesys_tls.cli import main
from genesys_tls.lint.rules import RULES
from genesys_tls.sipendpoint.model import parse_endpoint_config
from genesys_tls.sipendpoint.rules import SIP_EXAMPLES, SIP_RULES, check, example_config, render_report


def _report(keys: dict[str, str], options: dict[str, str] | None):  # type: ignore[no-untyped-def]
    return check(parse_endpoint_config(example_config(keys), file="x.config"),
                 workspace(options) if options is not None else None)


@pytest.mark.parametrize("code", sorted(SIP_RULES))
def test_rule_examples(code: str) -> None:
    example = SIP_EXAMPLES[code]
    assert code in _report(dict(example.endpoint), dict(example.workspace) if example.workspace else None).codes()
    fixed = _report(dict(example.fixed_endpoint), dict(example.fixed_workspace) if example.fixed_workspace else None)
    assert code not in fixed.codes()


def test_codes_do_not_clash_with_the_lint_registry() -> None:
    assert not set(SIP_RULES) & set(RULES)
    assert all(code.startswith("GT6") for code in SIP_RULES)


def test_pair_table_in_lint() -> None:
    base = {"protocol": "https", "certificate_search_value": "x", "ipv4_address_range": "10.0.0.0/8"}
    ws = {"protocol": "https", "port": "8000", "certificate-search-value": "x"}
    assert "GT601" in _report({**base, "security_level": "1"}, {**ws, "security-level": "0"}).codes()
    assert "GT601" in _report({**base, "security_level": "1"}, {**ws, "security-level": "1"}).codes()
    assert "GT602" in _report({**base, "security_level": "0"}, {**ws, "security-level": "2"}).codes()
    clean = _report({**base, "security_level": "1"}, {**ws, "security-level": "2"})
    assert clean.findings == ()


def test_duplicate_line_and_sarif() -> None:
    text = example_config({"protocol": "http", "port": "8000", "port#2": "8001", "localhost": "true"})
    report = check(parse_endpoint_config(text, file="dup.config"))
    data = report.to_dict()
    duplicate = next(f for f in data["findings"] if f["code"] == "GT611")
    assert duplicate["line"] == 6 and duplicate["file"] == "dup.config"
    sarif = json.loads(render_report(report, "sarif"))
    run = sarif["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == set(SIP_RULES)
    result = next(r for r in run["results"] if r["ruleId"] == "GT611")
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    assert "GT605" in render_report(report, "text")


def test_cli_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.config"
    good.write_text(example_config({"protocol": "https", "security_level": "1", "certificate_search_value": "x",
                                    "ipv4_address_range": "10.0.0.0/8"}), encoding="utf-8")
    env = tmp_path / "env.yaml"
    env.write_text(workspace_env({"protocol": "https", "port": "8000", "security-level": "1"}), encoding="utf-8")
    assert main(["sipendpoint", "check", str(good)]) == 0
    capsys.readouterr()
    assert main(["sipendpoint", "check", str(good), "--workspace", str(env), "--app", "WDE", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in out["findings"]] == ["GT601"] and out["summary"]["error"] == 1
    lab = tmp_path / "lab.config"
    lab.write_text(example_config({"protocol": "http"}), encoding="utf-8")
    assert main(["sipendpoint", "check", str(lab)]) == 0
    capsys.readouterr()
    assert main(["sipendpoint", "check", str(lab), "--fail-on", "warning", "--format", "sarif"]) == 1
    assert json.loads(capsys.readouterr().out)["version"] == "2.1.0"


BAD_CLI = {
    "malformed": "<configuration><appSettings>",
    "doctype": '<!DOCTYPE configuration [<!ENTITY x "y">]><configuration/>',
    "protocol": example_config({"protocol": "ftp"}),
    "port": example_config({"port": "70000"}),
    "level": example_config({"protocol": "https", "security_level": "5"}),
    "https-no-level": example_config({"protocol": "https"}),
    "cidr": example_config({"ipv4_address_range": "fd00::/8"}),
    "criterion": example_config({"subject_criteria": "Q", "subject_matching_properties": "mail"}),
    "count": example_config({"subject_criteria": "E,CN", "subject_matching_properties": "mail"}),
}


@pytest.mark.parametrize("case", sorted(BAD_CLI))
def test_cli_bad_input_exits_2_with_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{case}.config"
    path.write_text(BAD_CLI[case], encoding="utf-8")
    assert main(["sipendpoint", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "Traceback" not in err


def test_cli_workspace_bad_level_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.config"
    good.write_text(example_config({}), encoding="utf-8")
    env = tmp_path / "env.yaml"
    env.write_text(workspace_env({"protocol": "https", "port": "8000", "security-level": "7"}), encoding="utf-8")
    assert main(["sipendpoint", "check", str(good), "--workspace", str(env), "--app", "WDE"]) == 2
    err = capsys.readouterr().err.strip()
    assert "security-level" in err and "'7'" in err and len(err.splitlines()) == 1


def test_cli_text_escapes_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from genesys_tls.cli.sipendpoint import printable

    assert printable("a\x1b[31mb\nc") == "a\\x1b[31mb\nc"
    path = tmp_path / "odd.config"
    path.write_text(example_config({"protocol": "http", "ti\x1btle": "x"}).replace("\x1b", "&#27;"),
                    encoding="utf-8")
    main(["sipendpoint", "check", str(path)])
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err
