"""`genesys-tls demo`: every scenario passes with real handshakes, the contract's JSON shape, exit codes, and
nothing left behind (temporary folder, servers, threads)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from genesys_tls import demo
from genesys_tls.cli import main
from genesys_tls.demo import SCENARIOS
from genesys_tls.errors import ConfigurationError

CONTRACT_SCENARIOS = {
    "simple": "ok",
    "mutual": "ok",
    "mutual-no-client-cert": "client-certificate-required",
    "revoked-server": "revoked",
    "revoked-client": "revoked",
    "expired-server": "expired",
    "name-mismatch": "name-mismatch",
    "name-mismatch-no-check": "ok",
    "encryption-only": "ok",
    "protocol-floor": "protocol",
    "upgrade-tls": "ok",
    "upgrade-plain": "ok",
}


def test_demo_json_every_scenario_passes_and_nothing_is_left(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    threads = set(threading.enumerate())
    code = main(["demo", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    data = json.loads(out)
    assert set(data) >= {"scenarios", "passed", "failed"}
    assert data["failed"] == 0 and data["passed"] == len(data["scenarios"]) >= len(CONTRACT_SCENARIOS)
    by_name = {s["name"]: s for s in data["scenarios"]}
    for name, expected in CONTRACT_SCENARIOS.items():
        scenario = by_name[name]
        assert {k: scenario[k] for k in ("expected", "outcome", "passed")} == {
            "expected": expected, "outcome": expected, "passed": True
        }, scenario
    for scenario in data["scenarios"]:
        assert isinstance(scenario["name"], str) and isinstance(scenario["passed"], bool)
    assert by_name["encryption-only"]["authenticated"] is False
    assert by_name["encryption-only"]["mode"] == "encryption-only"
    assert by_name["upgrade-plain"]["mode"] == "plain" and by_name["upgrade-tls"]["protocol"] == "TLSv1.3"
    assert by_name["revoked-client"]["server"] == "revoked"
    assert not list(tmp_path.glob("genesys-tls-demo-*"))  # the temporary folder is gone
    assert set(threading.enumerate()) == threads  # every server stopped


def test_demo_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "scenario" in out and "mode" in out and "client saw" in out
    # the core matrix plus the cloud and SIP Endpoint scenarios the default run adds: each one a PASS row
    assert out.count("PASS") > len(SCENARIOS) and f"{out.count('PASS')} passed, 0 failed" in out
    assert "FAIL" not in out
    assert "NOT authenticated" in out
    assert max(len(line) for line in out.splitlines()) <= 80  # fits an 80-column terminal
    assert "\033[" not in out  # not a terminal: no colour
    for scenario in SCENARIOS:  # every scenario's one-line description
        assert " ".join(scenario.description.split()) in " ".join(out.split())
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[1:2] == ["name-mismatch"])
    why = " ".join(" ".join(lines[at + 2:at + 6]).split())
    assert why.startswith("server saw: untrusted:") and "alerts carry no reason" in why


def test_demo_table_failures_and_colour() -> None:
    from genesys_tls.demo import DemoReport, ScenarioResult

    scenario = next(s for s in SCENARIOS if s.name == "revoked-server")
    failed = ScenarioResult(scenario, "ok", False, "the handshake succeeded", "simple", True, "TLSv1.3", "ok", 0.1)
    report = DemoReport((failed,), 0.1, None)
    text = report.render()
    assert "FAIL   revoked-server" in text and "ok (expected revoked)" in text
    assert "detail: the handshake succeeded" in text and "server saw" not in text  # it saw the same
    coloured = report.render(colour=True)
    assert "\033[1;31mFAIL\033[0m" in coloured


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("no_color", [None, "1"])
def test_demo_colour_only_on_a_terminal_without_no_color(no_color: str | None) -> None:
    main_fd, child_fd = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = no_color
    try:
        proc = subprocess.run([sys.executable, "-m", "genesys_tls", "demo"], stdout=child_fd,
                              stderr=subprocess.PIPE, env=env, timeout=60, check=False)
        os.close(child_fd)
        chunks = []
        while True:
            try:
                data = os.read(main_fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main_fd)
    out = b"".join(chunks).decode()
    assert proc.returncode == 0, proc.stderr
    assert ("\033[32mPASS" in out) is (no_color is None)


def test_demo_keep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    assert main(["demo", "--json", "--keep", str(kept)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["directory"] == str(kept)
    assert (kept / "demo.yaml").is_file() and (kept / "certs" / "ca.pem").is_file()
    # The kept environment resolves as the demo ran it.
    assert main(["resolve", str(kept / "demo.yaml"), "--app", "Client", "--connection", "TServer/mutual"]) == 0
    assert "mutual" in capsys.readouterr().out
    # A folder that is not empty is refused (exit 2, one line).
    assert main(["demo", "--keep", str(kept)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an empty folder" in err


def test_an_unexpected_outcome_fails_the_demo(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = demo.Scenario("wrong", "expects the wrong thing", "Client", "TServer_Expired", "secure", "ok")
    real = demo.run_demo
    monkeypatch.setattr(demo, "run_demo", lambda keep=None, **kw: real(keep, scenarios=[wrong], **kw))
    assert main(["demo", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["passed"], data["failed"]) == (0, 1)
    assert data["scenarios"][0]["outcome"] == "expired" and data["scenarios"][0]["passed"] is False
    assert main(["demo"]) == 1
    assert "FAIL   wrong" in capsys.readouterr().out


def test_console_script_demo(tmp_path: Path) -> None:
    script = shutil.which("genesys-tls", path=str(Path(sys.executable).parent)) or shutil.which("genesys-tls")
    if script is None:
        pytest.skip("the genesys-tls console script is not installed")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [script, "demo"], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed" in done.stdout and done.stderr == ""
    assert list(scratch.iterdir()) == []  # nothing left in the temporary folder


def test_bad_timeout_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--timeout", "0"]) == 2
    assert "--timeout" in capsys.readouterr().err


def one_line_exit_2(capsys: pytest.CaptureFixture[str], code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    return captured.err


# --- demo --keep where no folder can be made raised NotADirectoryError / FileNotFoundError ------------------


def test_demo_keep_under_a_file_is_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    code = main(["demo", "--keep", str(afile / "sub")])
    assert "afile" in one_line_exit_2(capsys, code)


def test_demo_keep_unwritable_is_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import genesys_tls.pki

    def refuse(root: Any, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(Path(root) / "certs"))

    monkeypatch.setattr(genesys_tls.pki, "build_pki", refuse)
    code = main(["demo", "--keep", str(tmp_path / "kept")])
    assert "Permission denied" in one_line_exit_2(capsys, code)
    with pytest.raises(ConfigurationError):
        demo.run_demo(tmp_path / "kept2")
