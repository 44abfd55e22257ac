"""``doctor``: for each handshake failure category, a broken environment made with the project's PKI, a real
server (a simulated server built from the same environment, and ``openssl s_server``), and a diagnosis that
names the right option, level and object.

Every server listens on 127.0.0.1; every handshake has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

import genesys_tls as gt
from genesys_tls.cli import main
from genesys_tls.doctor import Diagnosis, diagnose
from genesys_tls.errors import Category, ConfigurationError
from genesys_tls.pki import PKIFiles

sys.path.insert(0, str(Path(__file__).parent / "interop"))
from openssl_tools import openssl_binary, s_server

TIMEOUT = 5.0
CLIENT, SERVER = "Client", "TServer"


@pytest.fixture(scope="module")
def files(pki: PKIFiles) -> PKIFiles:
    """The session's test PKI (tests/conftest.py)."""
    return pki


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@attrs.frozen
class Case:
    """One broken environment and what the diagnosis must name."""

    name: str
    category: str
    option: str
    source: str
    object: str | None
    server_cert: str = "tsrv-host"  # stem under certs/
    port: str = "tls=1"
    connection: str = "tls-target-name-check=host"
    client_options: Mapping[str, str] = attrs.Factory(dict)
    client_annex: Mapping[str, str] = attrs.Factory(dict)
    client_host: Mapping[str, str] | None = None  # None: certificate, key and CA of client-host
    openssl_args: tuple[str, ...] = ()
    also: tuple[tuple[str, str, str | None], ...] = ()  # more (option, source, object) expected


def _cases(f: PKIFiles) -> list[Case]:
    return [
        Case("untrusted", "untrusted", "trusted-ca", "host-annex", "client-host", server_cert="wrong-issuer",
             also=(("certificate", "host-annex", "tsrv-host"),)),
        Case("name-mismatch", "name-mismatch", "tls-target-name-check", "connection", CLIENT,
             server_cert="wrong-name"),
        Case("revoked", "revoked", "tls-crl", "application-options", CLIENT, server_cert="revoked",
             client_options={"tls-crl": str(f.crl_current)}),
        Case("expired", "expired", "certificate", "host-annex", "tsrv-host", server_cert="expired"),
        Case("not-yet-valid", "not-yet-valid", "certificate", "host-annex", "tsrv-host",
             server_cert="not-yet-valid"),
        Case("crl-unavailable", "crl-unavailable", "tls-crl", "application-options", CLIENT,
             client_options={"tls-crl": str(f.crl_wrong_ca)}),
        Case("crl-expired", "crl-expired", "tls-crl", "application-annex", CLIENT,
             client_annex={"tls-crl": str(f.crl_expired)}),
        Case("protocol", "protocol", "sec-protocol", "application-options", CLIENT,
             port="tls=1;sec-protocol=TLSv13", client_options={"sec-protocol": "TLSv12"},
             openssl_args=("-tls1_3",), also=(("sec-protocol", "port", SERVER),)),
        Case("client-certificate-required", "client-certificate-required", "tls-mutual", "port", SERVER,
             port="tls=1;tls-mutual=1", client_host={"trusted-ca": str(f.ca)},
             openssl_args=("-Verify", "1", "-CAfile", str(f.ca)),
             also=(("certificate", "host-annex", "client-host"),)),
    ]


def _environment(f: PKIFiles, case: Case, port_number: int = 7001) -> dict[str, Any]:
    certs = f.directory / "certs"
    client_host = case.client_host if case.client_host is not None else {
        "certificate": str(f.hosts["client-host"].cert), "certificate-key": str(f.hosts["client-host"].key),
        "trusted-ca": str(f.ca),
    }
    client: dict[str, Any] = {
        "type": "Third Party Application", "host": "client-host",
        "connections": [{"server": SERVER, "port-id": "secure", "transport": case.connection}],
    }
    if case.client_options:
        client["options"] = {"security": dict(case.client_options)}
    if case.client_annex:
        client["annex"] = {"security": dict(case.client_annex)}
    return {
        "hosts": {
            "tsrv-host": {"ip": "127.0.0.1", "annex": {"security": {
                "certificate": str(certs / f"{case.server_cert}.pem"),
                "certificate-key": str(certs / f"{case.server_cert}.key"),
                "trusted-ca": str(f.ca),
            }}},
            "client-host": {"ip": "127.0.0.1", "annex": {"security": dict(client_host)}},
        },
        "applications": {
            SERVER: {"type": "T-Server", "host": "tsrv-host",
                     "ports": {"secure": {"port": port_number, "transport": case.port}}},
            CLIENT: client,
        },
    }


def _write(tmp_path: Path, data: Mapping[str, Any]) -> Path:
    path = tmp_path / "environment.yaml"
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False))
    return path


def _check(d: Diagnosis, case: Case) -> None:
    assert not d.ok and d.exit_code == 1
    assert d.category is not None and d.category.value == case.category, d.to_dict()
    first = d.causes[0]
    assert (first.option, first.source, first.object) == (case.option, case.source, case.object), d.to_dict()
    named = {(c.option, c.source, c.object) for c in d.causes}
    for extra in case.also:
        assert extra in named, (extra, d.to_dict())
    assert all(c.message and c.fix for c in d.causes)
    assert d.to_dict()["handshake"]["error"]["category"] == case.category


def _case(files: PKIFiles, name: str) -> Case:
    return next(c for c in _cases(files) if c.name == name)




@pytest.mark.parametrize("name", [
    "untrusted", "name-mismatch", "revoked", "expired", "not-yet-valid", "crl-unavailable", "crl-expired",
    "protocol", "client-certificate-required",
])
def test_simulated_server(files: PKIFiles, tmp_path: Path, name: str) -> None:
    case = _case(files, name)
    env = gt.load(_write(tmp_path, _environment(files, case)))
    d = diagnose(env, CLIENT, SERVER, "secure", simulate=True, timeout=TIMEOUT)
    _check(d, case)
    assert d.address.source == "simulated"


@pytest.fixture(scope="module")
def openssl() -> str:
    binary = openssl_binary()
    if binary is None:
        pytest.skip("the openssl command line is not installed (these tests run openssl s_server)")
    return binary


@contextlib.contextmanager
def _openssl_server(openssl: str, files: PKIFiles, case: Case) -> Iterator[int]:
    certs = files.directory / "certs"
    args = ("-cert", str(certs / f"{case.server_cert}.pem"), "-key", str(certs / f"{case.server_cert}.key"),
            *case.openssl_args)
    # two connections: the handshake, then the unverified read of the certificate
    with s_server(openssl, *args, naccept=2) as proc:
        yield proc.port


@pytest.mark.interop
@pytest.mark.parametrize("name", [
    "untrusted", "name-mismatch", "revoked", "expired", "not-yet-valid", "crl-unavailable", "crl-expired",
    "protocol", "client-certificate-required",
])
def test_openssl_s_server(files: PKIFiles, tmp_path: Path, openssl: str, name: str) -> None:
    case = _case(files, name)
    env = gt.load(_write(tmp_path, _environment(files, case)))
    with _openssl_server(openssl, files, case) as port:
        d = diagnose(env, CLIENT, SERVER, "secure", address=f"127.0.0.1:{port}", timeout=TIMEOUT)
    _check(d, case)
    assert d.address.source == "command-line"
    if name in ("untrusted", "name-mismatch", "revoked", "expired", "not-yet-valid"):
        assert d.peer is not None  # read from the server: the explanation quotes it


def test_refused_by_the_server_names_the_server_side(files: PKIFiles, tmp_path: Path) -> None:
    """A mutual port whose tls-crl revokes the client's certificate: the server refuses it; the diagnosis
    points at the server's tls-crl (its level and object) and the client's certificate."""
    case = Case("refused", "revoked", "tls-crl", "application-options", SERVER, port="tls=1;tls-mutual=1",
                client_host={"certificate": str(files.revoked.cert), "certificate-key": str(files.revoked.key),
                             "trusted-ca": str(files.ca)},
                also=(("certificate", "host-annex", "client-host"),))
    data = _environment(files, case)
    data["applications"][SERVER]["options"] = {"security": {"tls-crl": str(files.crl_current)}}
    env = gt.load(_write(tmp_path, data))
    d = diagnose(env, CLIENT, SERVER, "secure", simulate=True, timeout=TIMEOUT)
    _check(d, case)


def test_working_connection_exits_0(files: PKIFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = _write(tmp_path, _environment(files, Case("ok", "", "", "", None)))
    code = main(["doctor", str(env_file), "--app", CLIENT, "--connection", f"{SERVER}/secure", "--simulate",
                 "--json", "--timeout", str(TIMEOUT)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["ok"] is True and out["category"] is None and out["causes"] == []
    assert out["handshake"]["ok"] is True and out["handshake"]["protocol"]
    assert out["findings"] == []


def test_nothing_listening_reports_the_address_and_where_it_came_from(
    files: PKIFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    env_file = _write(tmp_path, _environment(files, Case("c", "", "", "", None), port_number=port))
    code = main(["doctor", str(env_file), "--app", CLIENT, "--connection", SERVER, "--json",
                 "--timeout", str(TIMEOUT)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["category"] == "connection"
    assert out["address"] == {"address": f"127.0.0.1:{port}", "source": "environment",
                              "from": f"Host tsrv-host (ip 127.0.0.1) and port secure ({port}) of {SERVER}"}
    (cause,) = out["causes"]
    assert (cause["option"], cause["source"], cause["object"]) == ("address", "environment", f"{SERVER}/secure")
    assert f"127.0.0.1:{port}" in cause["message"] and "Host tsrv-host" in cause["message"]
    # the same through --address: the command line is where it came from
    code = main(["doctor", str(env_file), "--app", CLIENT, "--connection", SERVER,
                 "--address", f"127.0.0.1:{port}", "--timeout", str(TIMEOUT)])
    text = capsys.readouterr().out
    assert code == 1
    assert "FAILED (connection)" in text and "cause 1: address (command-line)" in text
    assert f"127.0.0.1:{port} from the --address option" in text


def test_text_output_names_option_level_object_and_fix(
    files: PKIFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = _write(tmp_path, _environment(files, _case(files, "untrusted")))
    code = main(["doctor", str(env_file), "--app", CLIENT, "--connection", f"{SERVER}/secure", "--simulate",
                 "--timeout", str(TIMEOUT)])
    text = capsys.readouterr().out
    assert code == 1
    assert "FAILED (untrusted)" in text
    assert "cause 1: trusted-ca (host-annex of client-host)" in text
    assert "issued by CN=Other Test CA" in text and "which holds CN=Test CA" in text
    assert "fix: put the issuing CA (CN=Other Test CA)" in text
    assert "GT309" in text  # the static check of the same connection


@pytest.mark.parametrize(("argv", "expected"), [
    (["--app", "Clinet", "--connection", SERVER], "did you mean 'Client'?"),
    (["--app", CLIENT, "--connection", "TSrver"], "did you mean 'TServer'?"),
    (["--app", CLIENT, "--connection", f"{SERVER}/secur"], "did you mean 'secure'?"),
])
def test_unknown_names_get_a_did_you_mean_and_exit_2(
    files: PKIFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    env_file = _write(tmp_path, _environment(files, Case("n", "", "", "", None)))
    code = main(["doctor", str(env_file), *argv, "--simulate"])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1


def test_plain_connection_is_a_configuration_error(files: PKIFiles, tmp_path: Path) -> None:
    env = gt.load(_write(tmp_path, _environment(files, Case("p", "", "", "", None, port="tls=0",
                                                            connection=""))))
    with pytest.raises(ConfigurationError, match="TLS is off"):
        diagnose(env, CLIENT, SERVER, "secure", simulate=True, timeout=TIMEOUT)


def test_deciding_module_imports_neither_ssl_nor_socket() -> None:
    code = "import sys, genesys_tls.doctor; print('ssl' in sys.modules, '_ssl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.split() == ["False", "False"]
    # (cryptography itself imports socket; the module does not)
    source = (Path(gt.__file__).parent / "doctor.py").read_text()
    assert "import socket" not in source and "import ssl" not in source


def test_every_category_has_an_explanation() -> None:
    from genesys_tls.doctor import _EXPLAIN

    assert set(_EXPLAIN) == set(Category)


def test_doctor_page_names_every_category() -> None:
    page = (Path(__file__).parent.parent / "docs" / "doctor.md").read_text()
    table = page[page.index("## What each failure names"):page.index("## JSON")]
    for category in Category:
        assert f"`{category.value}`" in table, category


def test_tls_client_against_a_plain_port(files: PKIFiles, tmp_path: Path) -> None:
    """The connection turns TLS on but the port is plain: the simulated plain port resets a TLS ClientHello
    (``connection``), and the first cause is the port's tls."""
    case = Case("plain-port", "connection", "tls", "default", None, port="", connection="tls=1",
                also=(("address", "simulated", f"{SERVER}/secure"),))
    env = gt.load(_write(tmp_path, _environment(files, case)))
    d = diagnose(env, CLIENT, SERVER, "secure", simulate=True, timeout=TIMEOUT)
    _check(d, case)
    assert "not a TLS port" in d.causes[0].message and "connection's transport parameters" in d.causes[0].message


def test_simulated_server_that_cannot_start_is_the_diagnosis(files: PKIFiles, tmp_path: Path) -> None:
    case = Case("server-crl", "crl-expired", "tls-crl", "application-options", SERVER, port="tls=1;tls-mutual=1")
    data = _environment(files, case)
    data["applications"][SERVER]["options"] = {"security": {"tls-crl": str(files.crl_expired)}}
    env = gt.load(_write(tmp_path, data))
    d = diagnose(env, CLIENT, SERVER, "secure", simulate=True, timeout=TIMEOUT)
    _check(d, case)
    assert "cannot start" in d.causes[0].message and "nextUpdate" in d.causes[0].message
    assert d.address.address is None and d.address.source == "simulated"


@pytest.mark.interop
def test_cli_json_against_openssl_s_server(files: PKIFiles, tmp_path: Path, openssl: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    case = _case(files, "name-mismatch")
    env_file = _write(tmp_path, _environment(files, case))
    with _openssl_server(openssl, files, case) as port:
        code = main(["doctor", str(env_file), "--app", CLIENT, "--connection", f"{SERVER}/secure",
                     "--address", f"127.0.0.1:{port}", "--json", "--timeout", str(TIMEOUT)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert set(out) >= {"ok", "category", "causes", "handshake"}
    assert out["ok"] is False and out["category"] == "name-mismatch"
    assert {"option", "source", "object", "message", "fix"} == set(out["causes"][0])
    assert out["causes"][0]["option"] == "tls-target-name-check"
    assert out["peer"]["names"] == ["DNS:wrong.invalid", "CN:wrong.invalid"]
    assert out["handshake"]["error"]["category"] == "name-mismatch"
    assert any(f["code"] == "GT308" for f in out["findings"])


def test_certificate_lost_to_the_group_rule_is_explained(files: PKIFiles, tmp_path: Path) -> None:
    """The client's Host Annex has a certificate, but its Application Options set trusted-ca alone: the
    certificate group comes whole from the Application Options, so the Host's certificate is not used."""
    case = Case("group", "client-certificate-required", "tls-mutual", "port", SERVER, port="tls=1;tls-mutual=1",
                client_options={"trusted-ca": str(files.ca)},
                also=(("certificate", "application-options", CLIENT),))
    env = gt.load(_write(tmp_path, _environment(files, case)))
    d = diagnose(env, CLIENT, SERVER, "secure", simulate=True, timeout=TIMEOUT)
    _check(d, case)
    text = d.causes[1].message
    assert "a certificate is set at host-annex of client-host but not used" in text
    assert "comes whole from the first level that sets any of its members" in text


def test_public_name() -> None:
    assert gt.diagnose is diagnose
