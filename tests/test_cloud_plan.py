"""Network plans: every GT7xx plan rule fires on exactly its fixture, the clean plan on none; the schema; the
outputs (text, JSON, SARIF); bad plans exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from genesys_tls.cli import main
from genesys_tls.cloud.docs import render_schema
from genesys_tls.cloud.plan import lint_plan, load_plan, parse_plan
from genesys_tls.cloud.rules import CLEAN_PLAN, CLOUD_RULES
from genesys_tls.errors import ConfigurationError

PLAN_RULES = [r for r in CLOUD_RULES.values() if r.code >= "GT710"]
SCHEMA = json.loads(render_schema())


def plan_codes(text: str) -> list[str]:
    return [f.code for f in lint_plan(parse_plan(yaml.safe_load(text))).findings]


def test_clean_plan_has_no_finding() -> None:
    assert plan_codes(CLEAN_PLAN) == []
    jsonschema.validate(yaml.safe_load(CLEAN_PLAN), SCHEMA)


@pytest.mark.parametrize("rule", PLAN_RULES, ids=lambda r: r.code)
def test_each_plan_rule_fires_on_exactly_its_fixture(rule: object) -> None:
    example = rule.example  # type: ignore[attr-defined]
    assert plan_codes(example) == [rule.code]  # type: ignore[attr-defined]
    jsonschema.validate(yaml.safe_load(example), SCHEMA)


def test_every_plan_rule_has_a_fixture() -> None:
    assert all(r.example for r in PLAN_RULES) and len(PLAN_RULES) == 15


def test_rule_details() -> None:
    plan = yaml.safe_load(CLEAN_PLAN)
    plan["applications"].append({"app": "softphone-webrtc", "network": "internet"})
    plan["proxy"]["turn"] = "proxy"
    assert [(f.code, f.object) for f in lint_plan(parse_plan(plan)).findings] == [("GT716", "softphone-webrtc")]
    plan["proxy"]["allowlist"] = ["*.genesyscloud.com"]  # Workspace's phone through the proxy needs the TURN domain
    assert [(f.code, f.object) for f in lint_plan(parse_plan(plan)).findings] == [
        ("GT716", "webrtc-workspace"), ("GT716", "softphone-webrtc")
    ]
    # a TURN rule may be IP-based; a private-network rule too
    plan = yaml.safe_load(CLEAN_PLAN)
    plan["firewall"]["rules"] += [{"port": 443, "destination": "52.94.0.0/16", "turn": True},
                                  {"port": 443, "destination": "10.200.0.0/16", "network": "private"}]
    assert plan_codes(yaml.safe_dump(plan)) == []
    # a timeout of exactly 140 s is enough
    plan["firewall"]["udp-idle-timeout"] = 140
    assert plan_codes(yaml.safe_dump(plan)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"applications": [{"app": "agent-desktop-9000", "network": "internet"}]}, "unknown application"),
        ({"applications": [{"app": "designer"}]}, "needs its network"),
        ({"proxy": {"address": "http://proxy:8080"}}, "no scheme"),
        ({"proxy": {"address": "u:p@proxy:8080"}}, "credentials"),
        ({"firewall": {"udp-idle-timeout": "long"}}, "whole number"),
        ({"firewall": {"rules": [{"port": 0, "destination": "any"}]}}, "1 to 65535"),
        ({"vpn": {"include": ["10.0.0.0/33"]}}, "not an IPv4"),
        ({"vpn": {"tunnel": "partial"}}, "unknown tunnel"),
        ({"colour": "blue"}, "unknown key"),
    ],
)
def test_bad_plans_are_configuration_errors(change: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected) as info:
        parse_plan(change, file="plan.yaml")
    assert "plan.yaml" in str(info.value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(change, SCHEMA)


def test_cli_plan_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text(CLEAN_PLAN, encoding="utf-8")
    assert main(["cloud", "plan", str(clean)]) == 0
    assert "no findings" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLOUD_RULES["GT711"].example, encoding="utf-8")
    assert main(["cloud", "plan", str(bad), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"] == {"error": 1, "warning": 0, "info": 0}
    (finding,) = data["findings"]
    assert set(finding) >= {"severity", "code", "object", "option", "message", "hint"}
    assert finding["code"] == "GT711" and "140" in finding["message"]
    assert main(["cloud", "plan", str(bad), "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(CLOUD_RULES)
    assert [r["ruleId"] for r in run["results"]] == ["GT711"]
    assert run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]["id"] == "GT711"
    warn = tmp_path / "warn.yaml"
    warn.write_text(CLOUD_RULES["GT725"].example, encoding="utf-8")
    assert main(["cloud", "plan", str(warn)]) == 0
    assert main(["cloud", "plan", str(warn), "--fail-on", "warning"]) == 1


@pytest.mark.parametrize(
    "content",
    [
        "applications: [{app: agent-desktop-9000, network: internet}]\n",
        "a: &a [x, x]\nb: [*a, *a]\n",
        "applications: !!python/name:os.system\n",
        "applications: [\n",
    ],
)
def test_cli_plan_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(content, encoding="utf-8")
    assert main(["cloud", "plan", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and str(path) in err


def test_load_plan_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(CLEAN_PLAN, encoding="utf-8")
    plan = load_plan(path)
    assert plan.file == str(path) and plan.uses("softphone-sip") and plan.domain == "genesyscloud.com"
