"""Regression tests for review fixes: no traceback on bad CLI input, no private key text in any output, and
catalogue facts read from the catalogue."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from genesys_tls import demo
from genesys_tls.catalogue import CATALOGUE
from genesys_tls.cli import main
from genesys_tls.contexts import protocol_bounds
from genesys_tls.errors import ConfigurationError
from genesys_tls.loaders import load, load_component_config
from genesys_tls.pki import PKIFiles, build_pki

CLIENT = "Client_client-host"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return build_pki(tmp_path_factory.mktemp("review-pki"))


def one_line_exit_2(capsys: pytest.CaptureFixture[str], code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    return captured.err


# --- --timeout nan / inf / huge reached socket.settimeout and crashed with a traceback ---------------------


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e300", "-inf"])
def test_connect_timeout_not_finite_is_usage(
    pki: PKIFiles, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    code = main([
        "connect", str(pki.environment), "--app", CLIENT, "--connection", "TServer/secure",
        "--address", "127.0.0.1:1", f"--timeout={timeout}",
    ])
    assert "--timeout" in one_line_exit_2(capsys, code)


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e300"])
def test_serve_timeout_not_finite_is_usage(
    pki: PKIFiles, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    codes: list[int] = []
    argv = [
        "serve", str(pki.environment), "--app", "TServer", "--port", "secure",
        "--address", "127.0.0.1:0", "--count", "1", f"--timeout={timeout}",
    ]
    # Before the fix serve listened with the bad timeout (and crashed on the first client): run it in a
    # thread so that a regression fails instead of hanging.
    thread = threading.Thread(target=lambda: codes.append(main(argv)), daemon=True)
    thread.start()
    thread.join(20)
    assert codes, "serve accepted the timeout and listened"
    assert "--timeout" in one_line_exit_2(capsys, codes[0])


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


# --- a private key pasted as an option value was echoed by resolve --json, lint and error messages ---------


def _key_text(pki: PKIFiles) -> str:
    return pki.hosts["tsrv-host"].key.read_text()


def _secret_lines(pki: PKIFiles) -> list[str]:
    return [line for line in _key_text(pki).splitlines() if line and not line.startswith("-----")]


def _variant(pki: PKIFiles, name: str, edit: Any) -> Path:
    data = yaml.safe_load(pki.environment.read_text())
    edit(data)
    path = pki.directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("where", ["host-annex", "transport"])
@pytest.mark.parametrize(
    "argv",
    [
        ["resolve", "--app", "TServer", "--port", "secure", "--json"],
        ["lint", "--json"],
        ["lint"],
        ["serve", "--app", "TServer", "--port", "secure", "--address", "127.0.0.1:0", "--count", "1"],
    ],
)
def test_inline_private_key_is_refused_and_never_shown(
    pki: PKIFiles, capsys: pytest.CaptureFixture[str], where: str, argv: list[str]
) -> None:
    key = _key_text(pki)

    def edit(data: dict[str, Any]) -> None:
        if where == "host-annex":
            data["hosts"]["tsrv-host"]["annex"]["security"]["certificate-key"] = key
        else:
            port = data["applications"]["TServer"]["ports"]["secure"]
            port["transport"] = "tls=1;certificate-key=" + key.replace("\n", " ")

    path = _variant(pki, f"inline-key-{where}", edit)
    code = main([argv[0], str(path), *argv[1:]])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert "private key" in captured.err
    for line in _secret_lines(pki):
        assert line[:16] not in captured.out + captured.err


def test_inline_private_key_in_component_config_is_refused(pki: PKIFiles, tmp_path: Path) -> None:
    key = _key_text(pki).replace("\n", " ")
    cfg = tmp_path / "lca.cfg"
    cfg.write_text(f"[security]\ncertificate-key = {key}\n")
    with pytest.raises(ConfigurationError) as info:
        load_component_config(cfg)
    text = str(info.value) + repr(info.value)
    for line in _secret_lines(pki):
        assert line[:16] not in text


def test_inline_private_key_error_holds_no_key_via_api(pki: PKIFiles) -> None:
    key = _key_text(pki)
    path = _variant(
        pki, "inline-key-api",
        lambda d: d["hosts"]["client-host"]["annex"]["security"].__setitem__("certificate-key", key),
    )
    with pytest.raises(ConfigurationError) as info:
        load(path)
    assert info.value.value is None
    assert info.value.option == "certificate-key"
    text = str(info.value) + repr(info.value) + repr(info.value.args)
    for line in _secret_lines(pki):
        assert line[:16] not in text


# --- sec-protocol valid values are the catalogue's, not a second list in contexts.py ------------------------


def test_protocol_bounds_valid_values_come_from_the_catalogue() -> None:
    with pytest.raises(ConfigurationError) as info:
        protocol_bounds("TLSv1", legacy=False)
    assert info.value.valid == CATALOGUE["sec-protocol"].valid_text()
