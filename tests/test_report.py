"""``genesys-tls report``: a self-contained HTML page, drawn with Graphviz ``dot`` and with the built-in layout,
checked in a real headless Chromium (no script errors, every application present, a screenshot), on the
example environment, on a 2,000-application environment and on a broken one."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from genesys_tls.cli import main
from genesys_tls.pki import PKIFiles
from genesys_tls.report import gather, render_report, write_report
from genesys_tls.report.drawing import DETAIL_LIMIT, dot_source, draw, graph
from genesys_tls.report.estate import Estate, Link, Node

EXAMPLE = Path(__file__).parent.parent / "examples" / "environment.yaml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_TIMEOUT = 60


def _example_apps() -> list[str]:
    return list(yaml.safe_load(EXAMPLE.read_text())["applications"])


@pytest.fixture(scope="module")
def files(pki: PKIFiles) -> PKIFiles:
    """The session's test PKI (tests/conftest.py)."""
    return pki


def _estate_env(files: PKIFiles) -> dict[str, Any]:
    """One link of each mode, one with a lint problem (a server certificate for the wrong name)."""
    certs = files.directory / "certs"
    sec = {"certificate": str(files.hosts["tsrv-host"].cert), "certificate-key": str(files.hosts["tsrv-host"].key),
           "trusted-ca": str(files.ca)}
    return {
        "hosts": {
            "tsrv-host": {"ip": "127.0.0.1", "annex": {"security": sec}},
            "bad-host": {"ip": "127.0.0.1", "annex": {"security": {
                "certificate": str(certs / "wrong-name.pem"), "certificate-key": str(certs / "wrong-name.key"),
                "trusted-ca": str(files.ca), "tls-crl": str(files.crl_current)}}},
            "client-host": {"ip": "127.0.0.1", "annex": {"security": {
                "certificate": str(files.hosts["client-host"].cert),
                "certificate-key": str(files.hosts["client-host"].key), "trusted-ca": str(files.ca)}}},
        },
        "applications": {
            "TServer": {"type": "T-Server", "host": "tsrv-host", "ports": {
                "default": {"port": 7000}, "secure": {"port": 7001, "transport": "tls=1"},
                "mutual": {"port": 7002, "transport": "tls=1;tls-mutual=1"}}},
            "BadServer": {"type": "T-Server", "host": "bad-host", "ports": {
                "secure": {"port": 7003, "transport": "tls=1"}}},
            "Client": {"type": "Third Party Application", "host": "client-host", "connections": [
                {"server": "TServer", "port-id": "default"},
                {"server": "TServer", "port-id": "secure", "transport": "client-auth=0"},
                {"server": "TServer", "port-id": "secure", "transport": "tls-target-name-check=host"},
                {"server": "TServer", "port-id": "mutual"},
                {"server": "BadServer", "port-id": "secure", "transport": "tls-target-name-check=host"},
            ]},
        },
    }


def _write_env(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data, sort_keys=False))
    return path


def _big_env(files: PKIFiles, apps: int = 2000) -> dict[str, Any]:
    hosts = {f"h{h:03d}": {"ip": "127.0.0.1", "annex": {"security": {
        "certificate": str(files.hosts["tsrv-host"].cert), "certificate-key": str(files.hosts["tsrv-host"].key),
        "trusted-ca": str(files.ca)}}} for h in range(apps // 100)}
    applications = {}
    for i in range(apps):
        applications[f"App{i:04d}"] = {
            "type": "T-Server", "host": f"h{i // 100:03d}",
            "ports": {"secure": {"port": 7000 + i % 1000,
                                 "transport": "tls=1" + (";tls-mutual=1" if i % 5 == 0 else "")}},
            "connections": [{"server": f"App{(i + 1) % apps:04d}", "port-id": "secure"}],
        }
    return {"hosts": hosts, "applications": applications}


def _self_contained(page: str) -> None:
    """No fetch of anything: no external src/href, no @import or url() to elsewhere, a strict CSP."""
    assert "default-src 'none'" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|file:)""", page, re.I)
    assert not re.search(r"@import|url\((?!#)", page, re.I)
    assert "<link" not in page.lower() and "<iframe" not in page.lower()
    assert not re.search(r"<script[^>]+src", page, re.I)


# --------------------------------------------------------------------------------------------- page


@pytest.mark.parametrize("layout", ["dot", "builtin"])
def test_modes_and_problems_are_drawn(files: PKIFiles, tmp_path: Path, layout: str) -> None:
    if layout == "dot" and shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    env = _write_env(tmp_path / "env.yaml", _estate_env(files))
    result = write_report(env, tmp_path / "r.html", layout=layout)
    assert result.drawing.engine == layout and result.drawing.level == "applications"
    modes = {link.object: (link.mode, link.findings) for link in result.estate.links}
    assert modes["Client -> TServer/default"] == ("plain", 0)
    secure = [link.mode for link in result.estate.links if link.object == "Client -> TServer/secure"]
    assert secure == ["encryption-only", "simple"]  # two connections to one port, each with its own mode
    assert modes["Client -> TServer/mutual"][0] == "mutual"
    assert modes["Client -> BadServer/secure"][0] == "simple" and modes["Client -> BadServer/secure"][1] >= 1
    page = result.path.read_text()
    _self_contained(page)
    start = page.index('<div class="drawing"')
    svg = html.unescape(page[start:page.index("</section>", start)])  # dot writes '-' as &#45;
    for text in ("default · plain", "secure · encryption-only", "secure · simple", "mutual · mutual",
                 "Host tsrv-host"):
        assert text in svg, text
    assert re.search(r"secure · simple · ⚠ \d", svg)  # the problem link says so
    assert "#c0392b" in svg  # in the problem colour
    for app in ("TServer", "BadServer", "Client"):
        assert app in svg
    assert 'id="findings"' in page and "BadServer" in page[page.index('id="findings"'):]
    timeline = page[page.index('id="timeline"'):]
    assert "CN=wrong.invalid" in timeline and "crl CN=Test CA" in timeline and "ca CN=Test CA" in timeline


def test_dot_absent_or_failing_uses_the_builtin_layout(files: PKIFiles, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    env = _write_env(tmp_path / "env.yaml", _estate_env(files))
    estate = gather(env)
    failing = draw(estate, layout="dot", dot=shutil.which("false") or "/bin/false")
    assert failing.engine == "builtin" and "dot failed" in failing.note
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH
    assert main(["report", str(env), "-o", str(tmp_path / "r.html")]) == 0
    assert "drawing: builtin" in capsys.readouterr().err
    page = (tmp_path / "r.html").read_text()
    assert 'data-engine="builtin"' in page and "Graphviz dot is not installed" in page
    _self_contained(page)


def test_dot_source_quotes_every_name() -> None:
    estate = Estate("x", True, (), ("h",), (Node('a"b\\c', "", "h"), Node("s", "", "h")),
                    (Link('a"b\\c', "s", "p", "simple"),), (), (), dt.datetime.now(dt.UTC))
    source = dot_source(graph(estate))
    assert '"a\\"b\\\\c"' in source
    if shutil.which("dot"):
        svg = draw(estate, layout="dot").svg
        assert svg.startswith("<svg") and 'a"b\\c' in html.unescape(svg)


@pytest.mark.parametrize("layout", ["auto", "builtin"])
def test_large_estate_is_drawn_per_host(files: PKIFiles, tmp_path: Path, layout: str) -> None:
    env = _write_env(tmp_path / "big.json", _big_env(files, DETAIL_LIMIT + 50))
    result = write_report(env, tmp_path / "big.html", layout=layout)
    assert result.drawing.level == "hosts" and "drawn per Host" in result.drawing.note
    svg = html.unescape(result.drawing.svg)
    assert "100 applications" in svg and "h001" in svg
    assert re.search(r"\d+× (simple|mutual)", svg)  # connections counted per Host pair and mode
    page = result.path.read_text()
    for i in range(DETAIL_LIMIT + 50):
        assert f">App{i:04d}<" in page


def test_broken_environment_still_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text().replace("- server: TServer_SIP", "- server: TServer_SPI")
    env = tmp_path / "broken.yaml"
    env.write_text(text)
    code = main(["report", str(env), "-o", str(tmp_path / "broken.html"), "--layout", "builtin"])
    assert code == 1
    assert "does not load" in capsys.readouterr().err
    page = (tmp_path / "broken.html").read_text()
    _self_contained(page)
    errors = page[page.index('id="load-errors"'):]
    assert "TServer_SPI" in errors and "did you mean &#x27;TServer_SIP&#x27;?" in errors
    for app in _example_apps():
        assert f">{app}<" in page
    assert "not defined" in page  # the unknown server is drawn as such


def test_output_must_be_a_regular_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(EXAMPLE), "-o", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert main(["report", str(EXAMPLE), "-o", str(tmp_path / "nope" / "r.html")]) == 2


# --------------------------------------------------------------------------------------------- Chromium


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (the browser test runs it headless)")
    return CHROMIUM


def _chromium(binary: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=False,
                          stdin=subprocess.DEVNULL)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line and re.search(r"Uncaught|Error|Refused|violat", line, re.I)]


def _browse(binary: str, page: Path, tmp_path: Path, apps: list[str]) -> None:
    """One headless run: the DOM after the page's script ran, the console, and a screenshot."""
    shot = tmp_path / "shot.png"
    done = _chromium(binary, page, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom",
                     f"--screenshot={shot}", "--window-size=1280,2000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_errors(done.stderr) == []
    dom = done.stdout
    assert 'data-ready="yes"' in dom  # the page's script ran to its end
    shown = set(re.findall(r">([^<>]+)<", dom))
    assert [a for a in apps if a not in shown] == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_browser_sees_a_script_error(chromium: str, tmp_path: Path) -> None:
    """The check is real: a page with a failing script, or a blocked fetch, is caught."""
    page = tmp_path / "bad.html"
    text = render_report(EXAMPLE).replace("<script>", "<script>nosuchfunction();</script><script>", 1)
    page.write_text(text.replace("</main>", '<img src="http://127.0.0.1:9/x.png"></main>'))
    done = _chromium(chromium, page, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    errors = _console_errors(done.stderr)
    assert any("nosuchfunction" in e for e in errors), done.stderr[-2000:]
    assert any("Content Security Policy" in e or "Refused" in e for e in errors), done.stderr[-2000:]


@pytest.mark.parametrize("layout", ["dot", "builtin"])
def test_example_in_chromium(chromium: str, tmp_path: Path, layout: str) -> None:
    if layout == "dot" and shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    out = tmp_path / "example.html"
    assert main(["report", str(EXAMPLE), "-o", str(out), "--layout", layout]) == 0
    _self_contained(out.read_text())
    _browse(chromium, out, tmp_path, _example_apps())


def test_2000_applications_in_chromium(chromium: str, files: PKIFiles, tmp_path: Path) -> None:
    data = _big_env(files)
    env = _write_env(tmp_path / "big.json", data)
    out = tmp_path / "big.html"
    assert main(["report", str(env), "-o", str(out)]) == 0
    _browse(chromium, out, tmp_path, list(data["applications"]))


def test_modes_are_not_shared_between_different_settings(files: PKIFiles, tmp_path: Path) -> None:
    """The mode memo keys on every level: two clients alike but for their Host Annex get their own modes."""
    data = _estate_env(files)
    data["hosts"]["other-host"] = {"ip": "127.0.0.1", "annex": {"security": {
        **data["hosts"]["client-host"]["annex"]["security"], "client-auth": "0"}}}
    data["applications"]["Client2"] = {**data["applications"]["Client"], "host": "other-host"}
    env = _write_env(tmp_path / "env.json", data)
    modes = {(link.client, link.port_id, link.mode) for link in gather(env).links}
    assert ("Client", "mutual", "mutual") in modes
    assert ("Client2", "mutual", "encryption-only") in modes


def test_unparsable_file_still_renders(tmp_path: Path) -> None:
    env = tmp_path / "bad.yaml"
    env.write_text("hosts: [unclosed\n")
    result = write_report(env, tmp_path / "bad.html", layout="builtin")
    page = result.path.read_text()
    assert not result.estate.loaded and 'id="load-errors"' in page and "bad.yaml" in page
    _self_contained(page)
