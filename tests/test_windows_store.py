"""Windows store thumbprints and Java keystores: the host store in the environment format, thumbprint
resolution for contexts / handshakes / the simulated servers / resolve / lint, PKCS#12 files made by
``openssl pkcs12 -export`` and keystores made by the JRE's ``keytool``, and every bad input as a
ConfigurationError naming the host, the option and the store.

Every handshake is real, on 127.0.0.1, with certificates made at test time; subprocesses are bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

import genesys_tls as gt
from genesys_tls import loaders
from genesys_tls.ca import CertificateAuthority
from genesys_tls.cli import main
from genesys_tls.contexts import load_certificates
from genesys_tls.demo import SCENARIOS, run_demo
from genesys_tls.errors import ConfigurationError
from genesys_tls.harness import SimulatedClient, SimulatedServer
from genesys_tls.lint import lint
from genesys_tls.material import material_identity, store_values
from genesys_tls.pki import PKIFiles, build_pki
from genesys_tls.stores import thumbprint

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 10.0
PASSWORD_VARIABLE = "GTLS_TEST_STORE_PASSWORD"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return build_pki(tmp_path_factory.mktemp("winstore"), windows=True)


def windows_data(pki: PKIFiles) -> dict[str, Any]:
    assert pki.windows_environment is not None
    data: dict[str, Any] = yaml.safe_load(pki.windows_environment.read_text())
    return data


def env_of(pki: PKIFiles, data: dict[str, Any]) -> gt.Environment:
    return loaders.environment_from_data(data, source=pki.directory / "test.yaml", base_dir=pki.directory)


def windows_env(pki: PKIFiles) -> gt.Environment:
    assert pki.windows_environment is not None
    return gt.load(pki.windows_environment)


# --- the environment format ---------------------------------------------------------------------------------


def test_pki_writes_pfx_files_and_a_thumbprint_environment(pki: PKIFiles) -> None:
    data = windows_data(pki)
    for name in pki.names:
        host = data["hosts"][name]
        assert host["os"] == "windows"
        assert host["store"] == {"personal": f"store/{name}", "trusted-roots": "certs/ca.pem"}
        security = host["annex"]["security"]
        assert set(security) == {"certificate", "trusted-ca"}  # thumbprints only: no file paths, no key
        cert = load_certificates(pki.hosts[name].cert)[0]
        assert security["certificate"] == thumbprint(cert)
        assert pki.pfx[name] == pki.directory / "store" / name / f"{name}.pfx"
        key, leaf, _ = pkcs12.load_key_and_certificates(pki.pfx[name].read_bytes(), None)
        assert leaf is not None and thumbprint(leaf) == security["certificate"] and key is not None
    assert security["trusted-ca"] == thumbprint(load_certificates(pki.ca)[0])
    jsonschema.validate(data, loaders.ENVIRONMENT_SCHEMA)


@pytest.mark.parametrize(
    "store",
    [
        "store/tsrv-host",
        ["store/tsrv-host", "store/client-host/client-host.pfx"],
        {"personal": "store/tsrv-host", "trusted-roots": ["certs/ca.pem"], "password-env": "STORE_PASSWORD"},
    ],
)
def test_store_forms_load_validate_and_round_trip(pki: PKIFiles, store: Any) -> None:
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["store"] = store
    jsonschema.validate(data, loaders.ENVIRONMENT_SCHEMA)
    env = env_of(pki, data)
    location = env.hosts["tsrv-host"].store
    assert location is not None
    assert location.personal == ((store,) if isinstance(store, str) else tuple(store if isinstance(store, list)
                                                                                else [store["personal"]]))
    again = loaders.environment_from_data(loaders.dump_data(env), base_dir=pki.directory)
    assert again.hosts["tsrv-host"].store == location


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"trusted-roots": "certs/ca.pem"}, "no personal part"),
        ({"personal": "store/x", "password": "hunter2"}, "unknown key 'password'"),
        ({"personal": "store/x", "password-env": "not a name!"}, "not an environment variable name"),
        ({"personal": ""}, "personal is empty"),
        ([], "store is empty"),
        (7, "must be text"),
    ],
)
def test_bad_store_values_are_refused_when_loading(pki: PKIFiles, store: Any, message: str) -> None:
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["store"] = store
    with pytest.raises(ConfigurationError, match=message) as info:
        env_of(pki, data)
    assert "hunter2" not in str(info.value)


# --- thumbprints resolve to the store's certificate -------------------------------------------------------


@pytest.mark.parametrize("port_id", ["secure", "mutual"])
def test_handshake_between_thumbprint_only_server_and_client(pki: PKIFiles, port_id: str) -> None:
    env = windows_env(pki)
    with SimulatedServer(env, "TServer", port_id, port=0, timeout=TIMEOUT) as server:
        result = SimulatedClient(env, "Client_client-host", server, timeout=TIMEOUT).connect()
        (record,) = server.wait_for(1, TIMEOUT)
    assert result.ok, result.error
    assert result.peer is not None and result.peer.subject == "CN=tsrv-host"
    assert result.checks == ("chain", "target-name")
    assert record.outcome == "ok"
    if port_id == "mutual":
        assert result.mode == "mutual" and record.authenticated
        assert record.peer is not None and record.peer.subject == "CN=client-host"
    else:
        assert result.mode == "simple" and record.peer is None


@pytest.mark.parametrize("spell", [str.lower, lambda t: " ".join(t[i:i + 2] for i in range(0, 40, 2)),
                                   lambda t: ":".join(t[i:i + 2] for i in range(0, 40, 2)).lower()])
def test_thumbprint_spelling_any_case_with_or_without_spaces(pki: PKIFiles, spell: Any) -> None:
    data = windows_data(pki)
    for host in data["hosts"].values():
        security = host["annex"]["security"]
        security["certificate"] = spell(security["certificate"])
        security["trusted-ca"] = spell(security["trusted-ca"])
    env = env_of(pki, data)
    server = gt.resolve_server(env, "TServer", "mutual")
    client = gt.resolve_client(env, "Client_client-host", "TServer", "mutual")
    with gt.Server(server, port=0) as srv:
        result = gt.connect(client, address=srv.address, timeout=TIMEOUT)
    assert result.ok and result.peer is not None and result.peer.subject == "CN=tsrv-host"


def test_a_windows_host_store_is_not_used_for_pem_paths(pki: PKIFiles) -> None:
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["annex"]["security"] = {
        "certificate": "certs/tsrv-host.pem", "certificate-key": "certs/tsrv-host.key", "trusted-ca": "certs/ca.pem",
    }
    res = gt.resolve_server(env_of(pki, data), "TServer", "secure")
    assert store_values(res) == {} and material_identity(res) == ()
    gt.server_context(res)  # PEM files, as before


def test_resolve_shows_the_thumbprint_and_the_certificate(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    assert pki.windows_environment is not None
    env_file = str(pki.windows_environment)
    assert main(["resolve", env_file, "--app", "TServer", "--port", "mutual", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "docs" / "schemas" / "resolve.schema.json").read_text())
    jsonschema.validate(out, schema)
    cert = out["store"]["certificate"]
    expected = thumbprint(load_certificates(pki.hosts["tsrv-host"].cert)[0])
    assert out["options"]["certificate"]["value"] == expected == cert["thumbprint"]
    assert cert["subject"] == "CN=tsrv-host" and cert["issuer"] == "CN=Test CA" and cert["has-key"] is True
    assert cert["file"].endswith("tsrv-host.pfx") and "host tsrv-host" in cert["store"]
    assert out["store"]["trusted-ca"]["subject"] == "CN=Test CA"
    assert main(["resolve", env_file, "--app", "Client_client-host", "--connection", "TServer/secure"]) == 0
    text = capsys.readouterr().out
    assert "store: certificate " in text and "names CN=client-host" in text


def test_serve_and_connect_commands_with_thumbprints(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    env = windows_env(pki)
    assert pki.windows_environment is not None
    with SimulatedServer(env, "TServer", "mutual", port=0, timeout=TIMEOUT) as server:
        address = "{}:{}".format(*server.address)
        code = main(["connect", str(pki.windows_environment), "--app", "Client_client-host",
                     "--connection", "TServer/mutual", "--address", address, "--json"])
        server.wait_for(1, TIMEOUT)
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["ok"] and result["peer"]["subject"] == "CN=tsrv-host"


def test_a_replaced_store_export_is_read_again(pki: PKIFiles, tmp_path: Path) -> None:
    shutil.copytree(pki.directory / "store", tmp_path / "store")
    shutil.copytree(pki.directory / "certs", tmp_path / "certs")
    data = windows_data(pki)
    env = loaders.environment_from_data(data, base_dir=tmp_path)
    res = gt.resolve_server(env, "TServer", "secure")
    before = material_identity(res)
    assert before and gt.server_context(res)
    ca = CertificateAuthority.create("Another CA")
    issued = ca.issue(["tsrv-host"])
    issued.write_pfx(tmp_path / "store" / "tsrv-host", "tsrv-host", password=None)  # the export is replaced
    assert material_identity(res) != before
    with pytest.raises(ConfigurationError, match="no certificate of the store has this thumbprint") as info:
        gt.server_context(res)
    assert thumbprint(issued.cert) in str(info.value)  # the new content is what is listed


# --- bad input: ConfigurationError naming host, option and store ---------------------------------------------


def _assert_located(error: ConfigurationError, host: str, option: str, store: str) -> None:
    text = str(error)
    assert error.option == option and f"host {host}" in text and store in text, text
    assert "PRIVATE KEY" not in text


def test_unmatched_thumbprint_lists_the_store(pki: PKIFiles, capsys: pytest.CaptureFixture[str]) -> None:
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["annex"]["security"]["certificate"] = "00" * 20
    env = env_of(pki, data)
    with pytest.raises(ConfigurationError) as info:
        gt.server_context(gt.resolve_server(env, "TServer", "secure"))
    _assert_located(info.value, "tsrv-host", "certificate", "store/tsrv-host")
    listed = thumbprint(load_certificates(pki.hosts["tsrv-host"].cert)[0])
    assert f"CN=tsrv-host (thumbprint {listed})" in str(info.value)
    path = pki.directory / "unmatched.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["resolve", str(path), "--app", "TServer", "--port", "secure"]) == 2
    err = capsys.readouterr().err
    assert "no certificate of the store has this thumbprint" in err and "Traceback" not in err
    assert main(["serve", str(path), "--app", "TServer", "--port", "secure", "--count", "1",
                 "--address", "127.0.0.1:0"]) == 2


def test_unmatched_trusted_ca_thumbprint(pki: PKIFiles) -> None:
    data = windows_data(pki)
    data["hosts"]["client-host"]["annex"]["security"]["trusted-ca"] = "AB" * 20
    with pytest.raises(ConfigurationError) as info:
        gt.client_context(gt.resolve_client(env_of(pki, data), "Client_client-host", "TServer", "secure"))
    _assert_located(info.value, "client-host", "trusted-ca", "certs/ca.pem")
    assert "CN=Test CA (thumbprint" in str(info.value)


def test_duplicate_thumbprints(pki: PKIFiles, tmp_path: Path) -> None:
    store = tmp_path / "dup"
    store.mkdir()
    shutil.copy(pki.pfx["tsrv-host"], store / "a.pfx")
    shutil.copy(pki.pfx["tsrv-host"], store / "b.pfx")
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["store"] = {"personal": str(store), "trusted-roots": "certs/ca.pem"}
    with pytest.raises(ConfigurationError, match="two certificates with the same thumbprint") as info:
        gt.server_context(gt.resolve_server(env_of(pki, data), "TServer", "secure"))
    _assert_located(info.value, "tsrv-host", "certificate", str(store))


def test_pfx_without_key_where_one_is_needed(pki: PKIFiles, tmp_path: Path) -> None:
    store = tmp_path / "nokey"
    store.mkdir()
    leaf = load_certificates(pki.hosts["tsrv-host"].cert)[0]
    (store / "tsrv-host.pfx").write_bytes(
        pkcs12.serialize_key_and_certificates(b"tsrv", None, leaf, None, serialization.NoEncryption())
    )
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["store"] = {"personal": str(store), "trusted-roots": "certs/ca.pem"}
    env = env_of(pki, data)
    with pytest.raises(ConfigurationError, match="holds no private key") as info:
        gt.server_context(gt.resolve_server(env, "TServer", "secure"))
    _assert_located(info.value, "tsrv-host", "certificate", str(store))
    report = lint(env)
    assert any(f.code == "GT304" and "no private key" in f.message for f in report.findings)


@pytest.mark.parametrize("personal", ["does/not/exist", "/dev/null"])
def test_store_path_that_is_not_a_folder_or_file(pki: PKIFiles, personal: str) -> None:
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["store"] = {"personal": personal, "trusted-roots": "certs/ca.pem"}
    with pytest.raises(ConfigurationError) as info:
        gt.server_context(gt.resolve_server(env_of(pki, data), "TServer", "secure"))
    _assert_located(info.value, "tsrv-host", "certificate", personal)


def test_thumbprint_on_a_windows_host_without_a_store(pki: PKIFiles) -> None:
    data = windows_data(pki)
    del data["hosts"]["tsrv-host"]["store"]
    with pytest.raises(ConfigurationError, match="has no store") as info:
        gt.server_context(gt.resolve_server(env_of(pki, data), "TServer", "secure"))
    assert info.value.option == "certificate" and "hosts: tsrv-host: store: PATH" in str(info.value)


# --- PKCS#12 files made by openssl, with passwords from the environment ---------------------------------------


def _openssl() -> str:
    binary = shutil.which("openssl")
    if binary is None:
        pytest.skip("the openssl command line is not installed")
    return binary


def _export(openssl: str, pki: PKIFiles, name: str, out: Path, password: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [openssl, "pkcs12", "-export", "-in", str(pki.hosts[name].cert), "-inkey", str(pki.hosts[name].key),
         "-certfile", str(pki.ca), "-name", name, "-out", str(out), "-passout", f"env:{PASSWORD_VARIABLE}"],
        check=True, capture_output=True, timeout=30, env={PASSWORD_VARIABLE: password, "PATH": "/usr/bin:/bin"},
    )


def test_openssl_pkcs12_export_with_password_from_the_environment(
    pki: PKIFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openssl = _openssl()
    for name in pki.names:
        _export(openssl, pki, name, tmp_path / "store" / name / f"{name}.p12", "s3cret pass")
    data = windows_data(pki)
    for name, host in data["hosts"].items():
        host["store"] = {"personal": f"store/{name}", "trusted-roots": str(pki.ca), "password-env": "GTLS_PFX"}
    env = loaders.environment_from_data(data, base_dir=tmp_path)
    client = gt.resolve_client(env, "Client_client-host", "TServer", "mutual")
    server = gt.resolve_server(env, "TServer", "mutual")
    monkeypatch.delenv("GTLS_PFX", raising=False)
    with pytest.raises(ConfigurationError, match="encrypted and no password was given") as info:
        gt.server_context(server)
    _assert_located(info.value, "tsrv-host", "certificate", "store/tsrv-host")
    monkeypatch.setenv("GTLS_PFX", "wrong")
    with pytest.raises(ConfigurationError, match="wrong password") as info:
        gt.server_context(server)
    assert "wrong" not in str(info.value).replace("wrong password", "")  # the password is never shown
    monkeypatch.setenv("GTLS_PFX", "s3cret pass")
    with gt.Server(server, port=0) as srv:
        result = gt.connect(client, address=srv.address, timeout=TIMEOUT)
    assert result.ok and result.peer is not None and result.peer.subject == "CN=tsrv-host"
    monkeypatch.setenv("GTLS_PFX_CLIENT_HOST", "per-file password wins")  # NAME_<STEM> is read first
    with pytest.raises(ConfigurationError, match="wrong password"):
        gt.client_context(client)


# --- Java keystores (provider=JKS) -----------------------------------------------------------------------------


def _keytool() -> str:
    binary = shutil.which("keytool")
    if binary is None:
        pytest.skip("the JRE's keytool is not installed (default-jre-headless); keystore tests need it")
    return binary


def _keytool_run(keytool: str, *args: str) -> None:
    done = subprocess.run([keytool, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _jks_env(tmp_path: Path, keystore: str, truststore: str, password_env: str | None = None) -> gt.Environment:
    security = {"provider": "JKS", "certificate": keystore, "trusted-ca": truststore}
    data: dict[str, Any] = {
        "hosts": {"tsrv-host": {"ip": "127.0.0.1", "annex": {"security": security}},
                  "client-host": {"ip": "127.0.0.1", "annex": {"security": security}}},
        "applications": {
            "TServer": {"type": "T-Server", "host": "tsrv-host",
                        "ports": {"secure": {"port": 7001, "transport": "tls=1"}}},
            "Client": {"host": "client-host", "connections": [
                {"server": "TServer", "port-id": "secure", "transport": "tls-target-name-check=host"}]},
        },
    }
    if password_env is not None:  # the keystore password through the host store's password mechanism
        for host in data["hosts"].values():
            host["store"] = {"personal": keystore, "password-env": password_env}
    return loaders.environment_from_data(data, base_dir=tmp_path)


def test_keytool_pkcs12_keystore_and_truststore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keytool = _keytool()
    ks, ts, cert = tmp_path / "server.p12", tmp_path / "trust.p12", tmp_path / "server.cer"
    common = ["-storepass", "changeit", "-noprompt"]
    _keytool_run(keytool, "-genkeypair", "-alias", "tsrv", "-keyalg", "EC", "-groupname", "secp256r1",
                 "-dname", "CN=tsrv-host", "-ext", "SAN=dns:tsrv-host,ip:127.0.0.1", "-validity", "30",
                 "-storetype", "PKCS12", "-keystore", str(ks), *common)
    _keytool_run(keytool, "-exportcert", "-alias", "tsrv", "-keystore", str(ks), "-file", str(cert), *common)
    _keytool_run(keytool, "-importcert", "-alias", "tsrv", "-file", str(cert), "-storetype", "PKCS12",
                 "-keystore", str(ts), *common)
    env = _jks_env(tmp_path, "server.p12", "trust.p12")
    server = gt.resolve_server(env, "TServer", "secure")
    client = gt.resolve_client(env, "Client", "TServer", "secure")
    monkeypatch.setenv("GTLS_KS", "wrong")
    with pytest.raises(ConfigurationError, match="wrong password") as info:
        gt.server_context(server, password_env="GTLS_KS")
    assert info.value.option == "certificate" and "keystore" in str(info.value)
    assert store_values(server) == {}  # the keystore password comes with the context, not the environment
    monkeypatch.setenv("GTLS_KS", "changeit")
    with gt.Server(server, port=0, password_env="GTLS_KS") as srv:
        result = gt.connect(client, address=srv.address, timeout=TIMEOUT, password_env="GTLS_KS")
    assert result.ok, result.error
    assert result.peer is not None and result.peer.subject == "CN=tsrv-host"
    env = _jks_env(tmp_path, "server.p12", "trust.p12", password_env="GTLS_KS")
    server = gt.resolve_server(env, "TServer", "secure")
    shown = store_values(server)
    assert shown["certificate"]["subject"] == "CN=tsrv-host" and shown["certificate"]["has-key"]
    assert shown["trusted-ca"]["thumbprint"] == shown["certificate"]["thumbprint"]
    with gt.Server(server, port=0) as srv:  # no password_env: the host store's password-env is used
        result = gt.connect(gt.resolve_client(env, "Client", "TServer", "secure"), address=srv.address,
                            timeout=TIMEOUT)
    assert result.ok, result.error


def test_classic_jks_is_refused_with_the_conversion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keytool = _keytool()
    ks = tmp_path / "legacy.jks"
    _keytool_run(keytool, "-genkeypair", "-alias", "tsrv", "-keyalg", "EC", "-groupname", "secp256r1",
                 "-dname", "CN=tsrv-host", "-validity", "30", "-storetype", "JKS", "-keystore", str(ks),
                 "-storepass", "changeit", "-noprompt")
    assert ks.read_bytes()[:4] == b"\xfe\xed\xfe\xed"
    monkeypatch.setenv("GTLS_KS", "changeit")
    env = _jks_env(tmp_path, "legacy.jks", "legacy.jks")
    with pytest.raises(ConfigurationError) as info:
        gt.server_context(gt.resolve_server(env, "TServer", "secure"), password_env="GTLS_KS")
    text = str(info.value)
    assert info.value.option == "certificate" and "classic JKS keystore" in text
    assert "keytool -importkeystore -srckeystore legacy.jks -srcstoretype JKS" in text
    assert "-deststoretype PKCS12" in text


# --- lint ---------------------------------------------------------------------------------------------------


def test_lint_reports_an_expiring_certificate_named_only_by_thumbprint(pki: PKIFiles, tmp_path: Path) -> None:
    ca = CertificateAuthority.create("Test CA")
    now = dt.datetime.now(dt.UTC)
    soon = ca.issue(["tsrv-host", "127.0.0.1"], not_after=now + dt.timedelta(days=10))
    gone = ca.issue(["client-host", "127.0.0.1"], not_before=now - dt.timedelta(days=30),
                    not_after=now - dt.timedelta(days=1))
    soon.write_pfx(tmp_path / "tsrv", "tsrv", password=None)
    gone.write_pfx(tmp_path / "client", "client", password=None)
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    data = windows_data(pki)
    for name, folder, issued in (("tsrv-host", "tsrv", soon), ("client-host", "client", gone)):
        data["hosts"][name]["store"] = {"personal": folder, "trusted-roots": "ca.pem"}
        data["hosts"][name]["annex"]["security"] = {"certificate": thumbprint(issued.cert),
                                                    "trusted-ca": thumbprint(ca.cert)}
    env = loaders.environment_from_data(data, source=tmp_path / "env.yaml", base_dir=tmp_path)
    findings = lint(env).findings
    expiring = [f for f in findings if f.code == "GT306"]
    assert expiring and all(f.option == "certificate" for f in expiring)
    assert any(thumbprint(soon.cert) in f.message and "store of host tsrv-host" in f.message for f in expiring)
    assert any(f.code == "GT305" and thumbprint(gone.cert) in f.message for f in findings)


def test_lint_store_name_and_chain_checks(pki: PKIFiles) -> None:
    assert not [f for f in lint(windows_env(pki)).findings if f.severity == "error"]
    data = windows_data(pki)
    # The client host's certificate offered as the server's: the wrong name for tsrv-host.
    data["hosts"]["tsrv-host"]["store"]["personal"] = ["store/tsrv-host", "store/client-host"]
    data["hosts"]["tsrv-host"]["annex"]["security"]["certificate"] = data["hosts"]["client-host"]["annex"][
        "security"]["certificate"]
    data["hosts"]["client-host"]["store"]["trusted-roots"] = "certs/other-ca.pem"
    data["hosts"]["client-host"]["annex"]["security"]["trusted-ca"] = thumbprint(
        load_certificates(pki.other_ca)[0])
    codes = {f.code for f in lint(env_of(pki, data)).findings}
    assert {"GT308", "GT309"} <= codes


def test_lint_reports_an_unmatched_thumbprint(pki: PKIFiles) -> None:
    data = windows_data(pki)
    data["hosts"]["tsrv-host"]["annex"]["security"]["certificate"] = "12" * 20
    findings = [f for f in lint(env_of(pki, data)).findings if f.code == "GT303"]
    assert findings and "no certificate of the store has this thumbprint" in findings[0].message
    assert findings[0].option == "certificate"


# --- pki init and the demo ---------------------------------------------------------------------------------------


def test_pki_init_windows_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["pki", "init", str(tmp_path / "a"), "--pfx-password-env", "X"]) == 2
    assert "needs --windows" in capsys.readouterr().err
    monkeypatch.delenv("GTLS_PKI_PFX", raising=False)
    assert main(["pki", "init", str(tmp_path / "b"), "--windows", "--pfx-password-env", "GTLS_PKI_PFX"]) == 2
    assert "GTLS_PKI_PFX" in capsys.readouterr().err
    monkeypatch.setenv("GTLS_PKI_PFX", "pfx pass")
    assert main(["pki", "init", str(tmp_path / "c"), "--windows", "--pfx-password-env", "GTLS_PKI_PFX",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, json.loads((ROOT / "docs" / "schemas" / "pki-init.schema.json").read_text()))
    pfx = Path(out["files"]["pfx tsrv-host"])
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(pfx.read_bytes(), None)
    assert pkcs12.load_key_and_certificates(pfx.read_bytes(), b"pfx pass")[0] is not None
    data = yaml.safe_load(Path(out["files"]["windows-environment"]).read_text())
    assert data["hosts"]["tsrv-host"]["store"]["password-env"] == "GTLS_PKI_PFX"
    assert "pfx pass" not in Path(out["files"]["windows-environment"]).read_text()


def test_demo_windows_store_scenario() -> None:
    scenarios = tuple(s for s in SCENARIOS if s.environment is not None)
    assert [s.name for s in scenarios] == ["windows-store-mutual"]
    report = run_demo(scenarios=scenarios, timeout=TIMEOUT)
    assert report.failed == 0, report.render()
    assert report.results[0].mode == "mutual" and report.results[0].outcome == "ok"


def test_store_benchmark_quick_mode_runs() -> None:
    import sys

    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_stores.py"), "--quick"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "store / pem:" in done.stdout and "store-cold" in done.stdout
