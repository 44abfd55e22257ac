"""`genesys-tls lint` against the contract: exit codes, --fail-on, formats, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genesys_tls.cli import main
from genesys_tls.lint import RULES
from genesys_tls.lint.docs import write_example_pki
from genesys_tls.lint.examples import link as _link


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example_pki(tmp_path_factory.mktemp("lint-cli-pki"))


def env_file(pki: Path, text: str, name: str = "env.yaml") -> str:
    path = pki / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lint", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_environment_exits_0(pki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env_file(pki, _link(), "clean.yaml")
    for extra in ((), ("--fail-on", "warning"), ("--json",), ("--format", "sarif")):
        code, out, err = run(capsys, path, *extra)
        assert code == 0 and err == "", extra
    code, out, _ = run(capsys, path)
    assert out.strip().endswith("no findings")


def test_errors_exit_1_and_warnings_only_with_fail_on_warning(pki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    errors = env_file(pki, RULES["GT201"].example, "errors.yaml")
    assert run(capsys, errors)[0] == 1
    warnings = env_file(pki, RULES["GT209"].example, "warnings.yaml")  # warning only
    code, out, _ = run(capsys, warnings, "--json")
    assert json.loads(out)["summary"]["error"] == 0 and json.loads(out)["summary"]["warning"] >= 1
    assert code == 0
    assert run(capsys, warnings, "--fail-on", "warning")[0] == 1
    info = env_file(pki, RULES["GT503"].example, "info.yaml")  # info only
    assert run(capsys, info, "--fail-on", "warning")[0] == 0


def test_json_output_follows_the_contract(pki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env_file(pki, RULES["GT203"].example, "split.yaml")
    code, out, _ = run(capsys, path, "--json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"findings", "summary"}
    assert set(data["summary"]) == {"error", "warning", "info"}
    assert data["summary"]["error"] == len(data["findings"]) == 3
    for f in data["findings"]:
        assert {"severity", "code", "object", "option", "message", "hint", "level"} <= set(f)
    assert {f["code"] for f in data["findings"]} == {"GT202", "GT203"}
    assert run(capsys, path, "--format", "json")[1] == out


def test_sarif_and_text_formats(pki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env_file(pki, RULES["GT203"].example, "split2.yaml")
    code, out, _ = run(capsys, path, "--format", "sarif")
    log = json.loads(out)
    assert code == 1 and log["version"] == "2.1.0"
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"GT202", "GT203"}
    code, out, _ = run(capsys, path, "--format", "text")
    assert "S/secure" in out and "GT203 certificate-group-split" in out


def test_expiry_days_and_reading(pki: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expiring = env_file(pki, RULES["GT306"].example, "expiring.yaml")
    assert run(capsys, expiring, "--fail-on", "warning")[0] == 1
    assert run(capsys, expiring, "--fail-on", "warning", "--expiry-days", "3")[0] == 0
    quirk = env_file(pki, RULES["GT213"].example, "quirk.yaml")
    assert run(capsys, quirk)[0] == 1  # psdk: plain text toward a TLS port (GT214)
    assert run(capsys, quirk, "--reading", "doc")[0] == 0  # doc: TLS, only the GT213 warning


@pytest.mark.parametrize(
    "args",
    [
        ("--expiry-days", "-1"),
        ("--expiry-days", "soon"),
        ("--fail-on", "info"),
        ("--format", "xml"),
        ("--reading", "native"),
        ("--json", "--format", "text"),
    ],
)
def test_bad_usage_exits_2(pki: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    path = env_file(pki, _link(), "usage.yaml")
    code, out, err = run(capsys, path, *args)
    # With --json the error is also a JSON object on stdout; otherwise stdout stays empty.
    assert code == 2 and (json.loads(out)["error"]["exit-code"] == 2 if "--json" in args else out == "")
    assert "Traceback" not in err


def test_an_environment_that_cannot_be_loaded_exits_2_with_one_line(
    pki: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("hosts: [unclosed\n", encoding="utf-8")
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text("applications: {A: {connections: [{server: Nowhere}]}}\n", encoding="utf-8")
    for path in (broken, dangling, tmp_path / "missing.yaml"):
        code, out, err = run(capsys, str(path))
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and str(path) in err


def test_console_script_never_prints_a_traceback(pki: Path, tmp_path: Path) -> None:
    text = (
        "hosts:\n  srv: {annex: {security: {certificate: srv.pem, certificate-key: cli.key, trusted-ca: ca.pem}}}\n"
        "applications:\n"
        '  S: {type: T-Server, host: srv, ports: {secure: {port: 7001, transport: "tls=1; tls-mutual=1"}}}\n'
    )
    path = tmp_path / "env.yaml"
    path.write_text(text, encoding="utf-8")
    for name in ("srv.pem", "cli.key", "ca.pem"):
        shutil.copy(pki / name, tmp_path / name)
    done = subprocess.run(
        [sys.executable, "-m", "genesys_tls", "lint", str(path), "--json"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert {f["code"] for f in json.loads(done.stdout)["findings"]} >= {"GT304", "GT101"}


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_ci_gate_example_script(pki: Path, tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "examples" / "lint_ci_gate.sh"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SARIF": str(tmp_path / "lint.sarif")}

    def gate(text: str, name: str) -> int:
        path = env_file(pki, text, name)
        done = subprocess.run(["sh", str(script), path], capture_output=True, text=True, env=env, check=False,
                              timeout=120)
        assert "Traceback" not in done.stderr
        return done.returncode

    assert gate(_link(), "gate-clean.yaml") == 0
    assert json.loads((tmp_path / "lint.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert gate(RULES["GT209"].example, "gate-warning.yaml") == 1
    assert json.loads((tmp_path / "lint.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    assert gate("hosts: [", "gate-broken.yaml") == 2
