"""Contexts (genesys_tls.contexts): what each option does to the ssl.SSLContext, and every configuration error.

The handshakes themselves are in test_connect.py; here a few real handshakes check what a context attribute
cannot show (a chain sent in order, an encrypted key that OpenSSL really loads).
"""

from __future__ import annotations

import os
import ssl
import stat
import warnings
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from genesys_tls.contexts import (
    NOT_AUTHENTICATED,
    ConnectionPlan,
    check_cipher_list,
    client_context,
    client_plan,
    load_certificates,
    load_private_key,
    protocol_bounds,
    server_context,
)
from genesys_tls.errors import ConfigurationError, InsecureConfigurationWarning, LegacyProtocolWarning
from genesys_tls.handshake import Server, connect
from genesys_tls.loaders import loads
from genesys_tls.model import Environment
from genesys_tls.pki import CertificateAuthority
from genesys_tls.resolve import ResolvedSecurity, resolve_client, resolve_server

PASSWORD = "c0rrect-h0rse"  # the test key password; must never appear in an error


@pytest.fixture(scope="session")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """File forms the session PKI of tests/conftest.py does not hold (encrypted and traditional keys, a
    combined certificate and key, an RSA PKCS#1 key, DER, an intermediate's leaf, an empty file), made once."""
    folder = tmp_path_factory.mktemp("contexts-pki")
    ca = CertificateAuthority.create("Test CA")
    other = CertificateAuthority.create("Other CA")
    inter = ca.intermediate("Test Intermediate")
    server = ca.issue(["tsrv-host", "127.0.0.1"])
    server.write(folder, "server")
    server.write(folder, "server-enc", password=PASSWORD.encode())
    server.write(folder, "server-trad-enc", password=PASSWORD.encode(), format="traditional")
    server.write(folder, "server-trad", format="traditional")
    (folder / "combined.pem").write_bytes(server.chain_pem() + server.key_pem())
    ca.issue(["client-host"]).write(folder, "client")
    rsa = ca.issue(["tsrv-host"], key_type="rsa")
    rsa.write(folder, "rsa", format="traditional")  # PKCS#1
    leaf = inter.issue_server(["tsrv-host", "127.0.0.1"])
    (folder / "int-leaf.pem").write_bytes(leaf.cert_pem())
    (folder / "int-leaf.key").write_bytes(leaf.key_pem())
    (folder / "int.pem").write_bytes(inter.cert_pem())
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    (folder / "cas.pem").write_bytes(ca.cert_pem() + other.cert_pem())
    (folder / "ca.der").write_bytes(ca.cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                                                   fromlist=["Encoding"]).Encoding.DER))
    (folder / "crl.pem").write_bytes(ca.crl())
    (folder / "empty.pem").write_text("nothing here\n")
    return folder


def env_of(root: Path, *, port: str = "tls=1", server: Mapping[str, str] | None = None,
           client: Mapping[str, str] | None = None, connection: str = "", client_os: str = "unix",
           server_os: str = "unix", port_number: int | None = 7001) -> Environment:
    """TServer (tsrv-host, port ``p``) and Client (client-host) with one connection; Application Options."""
    srv = {"certificate": "server.pem", "certificate-key": "server.key", "trusted-ca": "ca.pem", **(server or {})}
    cli = {"trusted-ca": "ca.pem", **(client or {})}
    port_def: dict[str, object] = {"transport": port}
    if port_number is not None:
        port_def["port"] = port_number
    data = {
        "hosts": {"tsrv-host": {"ip": "127.0.0.1", "os": server_os}, "client-host": {"os": client_os}},
        "applications": {
            "TServer": {"type": "T-Server", "host": "tsrv-host",
                        "options": {"security": {k: v for k, v in srv.items() if v is not None}},
                        "ports": {"p": port_def}},
            "Client": {"type": "Third Party Application", "host": "client-host",
                       "options": {"security": {k: v for k, v in cli.items() if v is not None}},
                       "connections": [{"server": "TServer", "port-id": "p", "transport": connection}]},
        },
    }
    return loads(yaml.safe_dump(data), base_dir=root, source=root / "environment.yaml")


def client_of(env: Environment) -> ResolvedSecurity:
    return resolve_client(env, "Client", "TServer", "p")


def server_of(env: Environment) -> ResolvedSecurity:
    return resolve_server(env, "TServer", "p")


# --- protocol bounds, ciphers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "minimum", "maximum"),
    [
        ("", ssl.TLSVersion.TLSv1_2, None),
        (None, ssl.TLSVersion.TLSv1_2, None),
        ("SSLv23", ssl.TLSVersion.TLSv1_1, None),
        ("TLSv11", ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
        ("TLSv12", ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
        ("TLSv1.2", ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
        ("TLSv13", ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3),
    ],
)
def test_protocol_bounds(value: str | None, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion | None) -> None:
    assert protocol_bounds(value) == (minimum, maximum)


def test_protocol_bounds_legacy_and_refused() -> None:
    with pytest.raises(ConfigurationError, match="legacy") as info:
        protocol_bounds("TLSv1")
    assert info.value.option == "sec-protocol"
    with pytest.warns(LegacyProtocolWarning):
        assert protocol_bounds("TLSv1", legacy=True) == (ssl.TLSVersion.TLSv1, None)
    for value in ("SSLv3", "SSLv2", "TLSv14"):
        with pytest.raises(ConfigurationError):
            protocol_bounds(value, legacy=True)


def test_check_cipher_list() -> None:
    check_cipher_list("ECDHE+AESGCM:!aNULL")
    with pytest.raises(ConfigurationError) as info:
        check_cipher_list("NO-SUCH-CIPHER")
    assert info.value.option == "cipher-list" and info.value.value == "NO-SUCH-CIPHER"


def test_bad_cipher_list_names_option_level_object_and_value(root: Path) -> None:
    env = env_of(root, client={"cipher-list": "RC4-NOPE"})
    with pytest.raises(ConfigurationError) as info:
        client_context(client_of(env))
    error = info.value
    assert (error.option, error.level, error.object, error.value) == (
        "cipher-list", "application-options", "Client", "RC4-NOPE")
    assert "RC4-NOPE" in str(error) and "application-options" in str(error)
    with pytest.raises(ConfigurationError, match="cipher-list"):
        server_context(server_of(env_of(root, port="tls=1;cipher-list=NOPE")))


def test_security_level(root: Path) -> None:
    assert client_context(client_of(env_of(root))).security_level == 2
    ctx = client_context(client_of(env_of(root, client={"cipher-list": "ECDHE+AESGCM"})))
    assert ctx.security_level == 2  # set_ciphers alone would fall back to OpenSSL's configured default
    with pytest.warns(LegacyProtocolWarning, match="security level 0"):
        ctx = client_context(client_of(env_of(root, connection="sec-protocol=TLSv11")))
    assert ctx.security_level == 0
    assert (ctx.minimum_version, ctx.maximum_version) == (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = client_plan(client_of(env_of(root, connection="sec-protocol=SSLv23")))
    assert plan.context.security_level == 2 and plan.context.minimum_version == ssl.TLSVersion.TLSv1_1
    assert any("effective floor is TLS 1.2" in w for w in plan.warnings)
    with pytest.warns(InsecureConfigurationWarning, match="security level 1"):
        plan = client_plan(client_of(env_of(root, client={"cipher-list": "DEFAULT:@SECLEVEL=1"})))
    assert plan.context.security_level == 1


def test_cipher_list_with_tls13_only_is_noted(root: Path) -> None:
    plan = client_plan(client_of(env_of(root, client={"cipher-list": "ECDHE+AESGCM", "sec-protocol": "TLSv13"})))
    assert any("TLS 1.3" in w and "no effect" in w for w in plan.warnings)


# --- modes ------------------------------------------------------------------------------------------------


def test_simple_client_context(root: Path) -> None:
    plan = client_plan(client_of(env_of(root)))
    ctx = plan.context
    assert ctx.protocol is ssl.PROTOCOL_TLS_CLIENT
    assert ctx.verify_mode is ssl.CERT_REQUIRED and not ctx.check_hostname
    assert ctx.hostname_checks_common_name
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert not ctx.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    assert ctx.cert_store_stats()["x509_ca"] == 1
    assert plan.checks == ("chain",) and plan.authenticated and plan.warnings == ()
    assert plan.server_hostname == plan.expected_name == "tsrv-host"  # SNI sent even without the check


def test_name_check_and_target_name(root: Path) -> None:
    plan = client_plan(client_of(env_of(root, connection="tls-target-name-check=host;tls-target-name=cs.example.test")))
    assert plan.context.check_hostname and plan.context.verify_mode is ssl.CERT_REQUIRED
    assert plan.checks == ("chain", "target-name")
    assert plan.server_hostname == plan.expected_name == "cs.example.test"
    assert (plan.dial_host, plan.dial_port) == ("127.0.0.1", 7001)


def test_address_override_never_changes_the_name(root: Path) -> None:
    resolved = client_of(env_of(root, connection="tls-target-name-check=host"))
    for address in ("10.1.2.3:9000", ("10.1.2.3", 9000)):
        plan = client_plan(resolved, address=address)
        assert (plan.dial_host, plan.dial_port, plan.server_hostname) == ("10.1.2.3", 9000, "tsrv-host")
    assert client_plan(resolved, address="[::1]:9000").address == "[::1]:9000"
    for bad in ("nohost", "host:port", "host:70000"):
        with pytest.raises(ConfigurationError):
            client_plan(resolved, address=bad)
    with pytest.raises(ConfigurationError, match="address"):
        client_plan(client_of(env_of(root, port_number=None)))


def test_mutual_contexts(root: Path) -> None:
    env = env_of(root, port="tls=1;tls-mutual=1", client={"certificate": "client.pem", "certificate-key": "client.key"})
    srv = server_context(server_of(env))
    assert srv.protocol is ssl.PROTOCOL_TLS_SERVER and srv.verify_mode is ssl.CERT_REQUIRED
    assert srv.cert_store_stats()["x509_ca"] == 1
    plan = client_plan(client_of(env))
    assert plan.mode.value == "mutual" and plan.warnings == ()
    simple = server_context(server_of(env_of(root)))
    assert simple.verify_mode is ssl.CERT_NONE


def test_mutual_client_without_certificate_is_warned_not_refused(root: Path) -> None:
    plan = client_plan(client_of(env_of(root, port="tls=1;tls-mutual=1")))
    assert any("requires a client certificate" in w for w in plan.warnings)


def test_mutual_server_without_trusted_ca(root: Path) -> None:
    env = env_of(root, port="tls=1;tls-mutual=1", server={"trusted-ca": None})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError) as info:
        server_context(server_of(env))
    assert info.value.option == "trusted-ca" and info.value.object == "TServer"


def test_encryption_only(root: Path) -> None:
    env = env_of(root, connection="client-auth=0;tls-target-name-check=host;tls-crl=crl.pem")
    with pytest.warns(InsecureConfigurationWarning, match="NOT authenticated"):
        plan = client_plan(client_of(env))
    assert plan.context.verify_mode is ssl.CERT_NONE and not plan.context.check_hostname
    assert plan.checks == () and not plan.authenticated
    assert plan.warnings[0] == NOT_AUTHENTICATED
    assert any("tls-target-name-check" in w for w in plan.warnings)
    assert any("tls-crl has no effect" in w for w in plan.warnings)


def test_certifi_when_no_trusted_ca(root: Path) -> None:
    plan = client_plan(client_of(env_of(root, client={"trusted-ca": None})))  # type: ignore[dict-item]
    assert plan.context.verify_mode is ssl.CERT_REQUIRED
    assert plan.context.cert_store_stats()["x509_ca"] > 50
    assert any("certifi" in w for w in plan.warnings)


def test_plain_and_wrong_side_are_refused(root: Path) -> None:
    env = env_of(root, port="")
    with pytest.raises(ConfigurationError, match="TLS is off") as info:
        client_context(client_of(env))
    assert info.value.option == "tls"
    with pytest.raises(ConfigurationError, match="TLS is off"):
        server_context(server_of(env))
    with pytest.raises(ConfigurationError, match="resolve_server"):
        server_context(client_of(env_of(root)))


def test_crl_flags(root: Path) -> None:
    env = env_of(root, client={"tls-crl": "crl.pem"}, port="tls=1;tls-mutual=1;tls-crl=crl.pem")
    assert client_context(client_of(env)).verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    chain = client_context(client_of(env), crl_check="chain")
    assert chain.verify_flags & ssl.VERIFY_CRL_CHECK_CHAIN == ssl.VERIFY_CRL_CHECK_CHAIN
    assert server_context(server_of(env)).verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    assert client_plan(client_of(env)).checks == ("chain", "crl")
    with pytest.raises(ConfigurationError, match="CRL check"):
        client_context(client_of(env), crl_check="all")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError) as info:
        client_context(client_of(env_of(root, client={"tls-crl": "missing-crl.pem"})))
    assert info.value.option == "tls-crl" and info.value.level == "application-options"


def test_provider_and_fips(root: Path) -> None:
    with pytest.raises(ConfigurationError, match="PEM files, Java keystores"):
        client_context(client_of(env_of(root, client={"provider": "PKCS11"})))
    with pytest.raises(ConfigurationError, match="names a keystore, but this is a PEM file"):
        client_context(client_of(env_of(root, client={"provider": "JKS"})))  # a PEM certificate, not a keystore
    with pytest.raises(ConfigurationError, match="PEM files, Java keystores"):
        client_context(client_of(env_of(root, client={"provider": "MSCAPI"})))  # not a Windows host
    with pytest.warns(InsecureConfigurationWarning, match="fips140"):
        plan = client_plan(client_of(env_of(root, client={"fips140-enabled": "1"})))
    assert any("fips140" in w for w in plan.warnings)


# --- files ------------------------------------------------------------------------------------------------


def test_load_certificates(root: Path) -> None:
    assert len(load_certificates(root / "cas.pem")) == 2
    assert [c.subject.rfc4514_string() for c in load_certificates(root / "server.pem")] == ["CN=tsrv-host"]
    with pytest.raises(ConfigurationError, match="not found") as info:
        load_certificates(root / "nope.pem")
    assert info.value.file == str(root / "nope.pem")
    with pytest.raises(ConfigurationError, match="DER"):
        load_certificates(root / "ca.der")
    with pytest.raises(ConfigurationError, match="not a PEM"):
        load_certificates(root / "empty.pem")
    with pytest.raises(ConfigurationError, match="directory"):
        load_certificates(root)


def test_load_private_key_forms(root: Path) -> None:
    for stem in ("server", "server-trad", "rsa", "combined"):
        load_private_key(root / f"{stem}.key" if stem != "combined" else root / "combined.pem")
    for stem in ("server-enc", "server-trad-enc"):
        load_private_key(root / f"{stem}.key", PASSWORD)
        load_private_key(root / f"{stem}.key", PASSWORD.encode)  # a callable
        with pytest.raises(ConfigurationError, match="wrong password") as info:
            load_private_key(root / f"{stem}.key", "wrong")
        assert "wrong" not in (info.value.value or "")
        with pytest.raises(ConfigurationError, match="no password"):
            load_private_key(root / f"{stem}.key")
    with pytest.raises(ConfigurationError, match="no PEM private key"):
        load_private_key(root / "server.pem")


def test_missing_files_name_option_level_object_and_file(root: Path) -> None:
    cases = {
        "certificate": {"certificate": "missing.pem"},
        "certificate-key": {"certificate-key": "missing.key"},
        "trusted-ca": {"trusted-ca": "missing-ca.pem"},
    }
    for option, values in cases.items():
        with pytest.raises(ConfigurationError) as info:
            server_context(server_of(env_of(root, port="tls=1;tls-mutual=1", server=values)))
        error = info.value
        assert error.option == option and error.level == "application-options" and error.object == "TServer"
        assert error.file is not None and error.file.endswith(values[option])
        assert "not found" in str(error)


def test_key_not_matching_certificate(root: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not match") as info:
        server_context(server_of(env_of(root, server={"certificate-key": "client.key"})))
    assert info.value.option == "certificate-key"


def test_key_in_the_certificate_file_or_missing(root: Path) -> None:
    server_context(server_of(env_of(root, server={"certificate": "combined.pem", "certificate-key": None})))  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="holds no private key") as info:
        server_context(server_of(env_of(root, server={"certificate-key": None})))  # type: ignore[dict-item]
    assert info.value.option == "certificate-key"
    with pytest.raises(ConfigurationError, match="needs its own certificate"):
        server_context(server_of(env_of(root, server={"certificate": None, "certificate-key": None})))  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="certificate is not"):
        client_context(client_of(env_of(root, client={"certificate-key": "client.key"})))


def test_encrypted_key_password_sources(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = env_of(root, server={"certificate": "server-enc.pem", "certificate-key": "server-enc.key"})
    resolved = server_of(env)
    server_context(resolved, password=lambda: PASSWORD)
    monkeypatch.setenv("GTLS_TEST_KEY_PASSWORD", PASSWORD)
    server_context(resolved, password_env="GTLS_TEST_KEY_PASSWORD")
    monkeypatch.setenv("GTLS_TEST_KEY_PASSWORD", "not-it")
    with pytest.raises(ConfigurationError, match="wrong password") as info:
        server_context(resolved, password_env="GTLS_TEST_KEY_PASSWORD")
    assert info.value.option == "certificate-key" and info.value.level == "application-options"
    assert "not-it" not in str(info.value) and PASSWORD not in str(info.value)
    monkeypatch.delenv("GTLS_TEST_KEY_PASSWORD")
    with pytest.raises(ConfigurationError, match="GTLS_TEST_KEY_PASSWORD"):
        server_context(resolved, password_env="GTLS_TEST_KEY_PASSWORD")
    with pytest.raises(ConfigurationError, match="no password"):
        server_context(resolved)
    with pytest.raises(TypeError):
        server_context(resolved, password=lambda: PASSWORD, password_env="X")


def test_encrypted_key_handshake_right_and_wrong_password(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = env_of(root, server={"certificate": "server-enc.pem", "certificate-key": "server-trad-enc.key"})
    monkeypatch.setenv("GTLS_TEST_KEY_PASSWORD", PASSWORD)
    with Server(server_of(env), count=1, password_env="GTLS_TEST_KEY_PASSWORD") as server:
        assert connect(client_of(env), address=server.address).ok
    monkeypatch.setenv("GTLS_TEST_KEY_PASSWORD", PASSWORD + "x")
    with pytest.raises(ConfigurationError, match="wrong password"):
        Server(server_of(env), password_env="GTLS_TEST_KEY_PASSWORD")


def test_thumbprint_on_a_windows_host(root: Path) -> None:
    thumb = "a9 4f 8b 7e 2a 11 93 55 c1 0d 7e 22 ab cd ef 01 23 45 67 89"
    env = env_of(root, client_os="windows", client={"certificate": thumb, "certificate-key": None})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="thumbprint") as info:
        client_context(client_of(env))
    assert info.value.option == "certificate" and info.value.level == "application-options"
    with pytest.raises(ConfigurationError, match="thumbprint"):  # not even valid on a UNIX host
        env_of(root, client={"certificate": thumb}) and client_of(env_of(root, client={"certificate": thumb}))


def test_chain_in_certificate_is_one_private_file_sent_in_order(root: Path) -> None:
    env = env_of(root, server={"certificate": "int-leaf.pem, int.pem", "certificate-key": "int-leaf.key"})
    resolved = server_of(env)
    server_context(resolved)
    from genesys_tls import _keys as contexts  # the chain files live with the key and certificate reading

    files = [path for path, _ in contexts._chain_files.values()]
    chain_file = next(p for p in files if len(x509.load_pem_x509_certificates(p.read_bytes())) == 2)
    assert stat.S_IMODE(chain_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(chain_file.parent.stat().st_mode) == 0o700
    certs = x509.load_pem_x509_certificates(chain_file.read_bytes())
    assert [c.subject.rfc4514_string() for c in certs] == ["CN=tsrv-host", "CN=Test Intermediate"]
    before = len(contexts._chain_files)
    server_context(resolved)
    assert len(contexts._chain_files) == before  # written once per (paths, mtimes)
    with Server(resolved, count=1) as server:  # the client trusts only the root: the intermediate was sent
        assert connect(client_of(env), address=server.address).ok


def test_errors_and_reprs_hold_no_secret(root: Path) -> None:
    env = env_of(root, server={"certificate": "server-enc.pem", "certificate-key": "server-enc.key"})
    plan = client_plan(client_of(env))
    assert isinstance(plan, ConnectionPlan)
    with Server(server_of(env), password=lambda: PASSWORD) as server:
        text = repr(plan) + repr(server) + repr(server.results)
    assert PASSWORD not in text and "PRIVATE KEY" not in text
    key_text = (root / "server.key").read_text()
    with pytest.raises(ConfigurationError) as info:
        server_context(server_of(env_of(root, server={"certificate-key": "client.key"})))
    assert "PRIVATE KEY" not in str(info.value) and key_text not in str(info.value)


def test_relative_and_absolute_paths(root: Path) -> None:
    env = env_of(root, client={"trusted-ca": str(root / "ca.pem")})
    assert client_context(client_of(env)).cert_store_stats()["x509_ca"] == 1
    assert os.path.isabs(client_of(env_of(root)).paths("trusted-ca")[0])


def test_a_name_python_cannot_send_is_a_configuration_error(root: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be sent") as info:
        client_plan(client_of(env_of(root, connection="tls-target-name=.bad")))
    assert info.value.option == "tls-target-name" and info.value.level == "connection"


def test_upgrade_port_without_tls_gets_a_server_context(root: Path) -> None:
    """A Configuration Server auto-detect port (upgrade=1, no tls=1): its TLS side is built from the port's
    certificate settings; mutual when tls-mutual=1. A plain port without upgrade is still refused."""
    simple = server_context(server_of(env_of(root, port="upgrade=1")))
    assert simple.verify_mode is ssl.CERT_NONE
    mutual = server_context(server_of(env_of(root, port="upgrade=1;tls-mutual=1")))
    assert mutual.verify_mode is ssl.CERT_REQUIRED
    with pytest.raises(ConfigurationError, match="TLS is off"):
        server_context(server_of(env_of(root, port="upgrade=0")))


def test_cipher_list_with_a_nul_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_cipher_list("ECDHE\x00")
    assert info.value.option == "cipher-list"
