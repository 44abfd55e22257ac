"""The ``--json`` outputs of doctor, cloud (ips, probe, pac, plan) and sipendpoint (check, serve, connect)
validate against their published JSON Schemas, with the real commands: real handshakes on 127.0.0.1, real
PAC evaluation in node, real listener processes. (``report`` writes HTML only.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import yaml
from test_cloud_probe import DOMAIN, HOST, Lab
from test_sipendpoint_cli import _files, _listening, _serve

from genesys_tls.cli import main
from genesys_tls.cli._common import SCHEMAS
from genesys_tls.cloud.components import CRLAnswer
from genesys_tls.cloud.pac_eval import node_path
from genesys_tls.cloud.rules import CLEAN_PLAN, CLOUD_RULES
from genesys_tls.errors import Category
from genesys_tls.pki import PKIFiles
from genesys_tls.resolved import Check
from genesys_tls.sipendpoint.rules import example_config
from genesys_tls.sipendpoint.scenarios import PFX_PASSWORD, Material, build_material

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "docs" / "schemas"
SCHEMA_FILES = {p.name: json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.schema.json"))}
REGISTRY: referencing.Registry[Any] = referencing.Registry().with_resources(
    (s["$id"], referencing.Resource.from_contents(s)) for s in SCHEMA_FILES.values()
)
CLIENT = "Client_client-host"


def validate(document: Any, command: str) -> None:
    schema = SCHEMA_FILES[SCHEMAS[command]]
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(document)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out)


def test_every_command_with_json_output_has_a_schema() -> None:
    for command in ("doctor", "cloud ips", "cloud probe", "cloud pac", "cloud plan", "sipendpoint check",
                    "sipendpoint serve", "sipendpoint connect"):
        assert command in SCHEMAS and SCHEMAS[command] in SCHEMA_FILES
    for name in ("sipendpoint-serve.schema.json", "sipendpoint-connect.schema.json"):
        schema = SCHEMA_FILES[name]
        props = schema.get("properties") or schema["$defs"]["session"]["properties"]
        assert set(props["checks"]["items"]["enum"]) == {c.value for c in Check}
    doctor = SCHEMA_FILES["doctor.schema.json"]
    assert set(doctor["properties"]["address"]["properties"]["source"]["enum"]) == {
        "command-line", "simulated", "environment"}


def test_doctor_ok_and_failed(pki: PKIFiles, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, ok = run(capsys, "doctor", str(pki.environment), "--app", CLIENT, "--connection", "TServer/mutual",
                   "--simulate", "--json", "--timeout", "10")
    assert code == 0 and ok["ok"] is True
    validate(ok, "doctor")
    data = yaml.safe_load(pki.environment.read_text())
    for host in data["hosts"].values():
        for option in ("certificate", "certificate-key", "trusted-ca"):
            host["annex"]["security"][option] = str(pki.directory / host["annex"]["security"][option])
    data["hosts"]["client-host"]["annex"]["security"]["trusted-ca"] = str(pki.other_ca)
    bad = tmp_path / "untrusting.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, failed = run(capsys, "doctor", str(bad), "--app", CLIENT, "--connection", "TServer/mutual", "--simulate",
                       "--json", "--timeout", "10")
    assert code == 1 and failed["category"] == "untrusted" and failed["causes"] and failed["findings"]
    validate(failed, "doctor")
    with pytest.raises(jsonschema.ValidationError):  # a failure must say its category
        validate({**failed, "category": None}, "doctor")


def test_cloud_ips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.txt"
    good.write_text("# ours\n81.2.69.0/24 isp\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {address: 10.1.0.0/16, source: isp}\n- {address: 81.2.69.0/24, source: isp}\n", encoding="utf-8")
    for argv, expected in (([str(good)], 0), ([str(bad)], 1), ([str(good), "--compare", str(bad)], 1)):
        code, doc = run(capsys, "cloud", "ips", *argv, "--json")
        assert code == expected
        validate(doc, "cloud ips")
    assert doc["findings"] and all("entry" in f for f in doc["findings"])


def test_cloud_plan_is_the_lint_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for text, expected in ((CLEAN_PLAN, 0), (CLOUD_RULES["GT711"].example, 1)):
        plan = tmp_path / f"plan{expected}.yaml"
        plan.write_text(text, encoding="utf-8")
        code, doc = run(capsys, "cloud", "plan", str(plan), "--json")
        assert code == expected
        validate(doc, "cloud plan")


@pytest.mark.skipif(node_path() is None, reason="node (JavaScript engine) is not installed")
def test_cloud_pac_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pac = tmp_path / "proxy.pac"
    assert main(["cloud", "pac", "--proxy", "proxy.example.com:8080", "-o", str(pac)]) == 0
    code, doc = run(capsys, "cloud", "pac", "--check", str(pac), "--url", "https://best-customer.genesyscloud.com/",
                    "--url", "http://intranet/", "--json")
    assert code == 0 and [r["result"] for r in doc["results"]] == ["PROXY proxy.example.com:8080", "DIRECT"]
    validate(doc, "cloud pac")
    broken = tmp_path / "broken.pac"
    broken.write_text("function FindProxyForURL(url, host) { throw new Error('no'); }\n", encoding="utf-8")
    code, doc = run(capsys, "cloud", "pac", "--check", str(broken), "--url", "https://x.genesyscloud.com/", "--json")
    assert code == 1 and doc["results"][0]["error"]
    validate(doc, "cloud pac")


def test_cloud_probe_pass_and_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab(tmp_path)
    try:
        lab.serve(CRLAnswer(lab.current))
        base = ["cloud", "probe", "--ca", str(lab.pki.ca_file), "--resolve", f"{HOST}:127.0.0.1", "--resolve",
                f"crl.ca.{DOMAIN}:127.0.0.1", "--domain", DOMAIN, "--timeout", "5", "--json"]
        code, passed = run(capsys, *base, lab.url)
        assert code == 0 and passed["ok"] is True and passed["crls"]
        validate(passed, "cloud probe")
        code, failed = run(capsys, *base, f"https://{HOST}:1/")
        assert code == 1 and failed["error"]["category"] == Category.CONNECTION.value
        validate(failed, "cloud probe")
    finally:
        lab.close()


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    return build_material(tmp_path_factory.mktemp("sipschema"))


def test_sipendpoint_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "lab.exe.config"
    config.write_text(example_config({"protocol": "http", "port": "8000", "security_level": "0"}), encoding="utf-8")
    code, doc = run(capsys, "sipendpoint", "check", str(config), "--json")
    assert code == 0 and doc["summary"]["warning"]
    validate(doc, "sipendpoint check")


def test_sipendpoint_serve_and_connect(material: Material, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config, env = _files(material, tmp_path)
    monkeypatch.setenv("WS_PFX", PFX_PASSWORD)
    process = _serve(material, config, 2)
    try:
        address = _listening(process)
        common = ["sipendpoint", "connect", str(env), "--app", "WDE", "--ca", str(material.ca), "--user",
                  str(material.user_file), "--address", address, "--store-password-env", "WS_PFX", "--json"]
        code, opened = run(capsys, *common, "--store", str(material.directory / "ws-good"))
        assert code == 0 and opened["ok"] and opened["certificate"]
        validate(opened, "sipendpoint connect")
        code, refused = run(capsys, *common, "--store", str(material.directory / "ws-wrong-e"))
        assert code == 1 and refused["outcome"] == "subject-mismatch"
        validate(refused, "sipendpoint connect")
        stdout, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [line["ok"] for line in lines] == [True, False]
    for line in lines:
        validate(line, "sipendpoint serve")
