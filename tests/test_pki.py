"""Tests of genesys_tls.pki: certificates parsed back, verified, and used in real loopback handshakes."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import genesys_tls as gt
from genesys_tls.errors import ConfigurationError
from genesys_tls.pki import (
    CertificateAuthority,
    CertificateFiles,
    Issued,
    KeyType,
    PKIFiles,
    build_pki,
    pki_init,
)

LOOPBACK = "127.0.0.1"
POSIX = os.name == "posix"

# OpenSSL X509_V_ERR_* codes, as SSLCertVerificationError.verify_code carries them.
UNABLE_TO_GET_CRL = 3
CERT_NOT_YET_VALID = 9
CERT_HAS_EXPIRED = 10
CRL_HAS_EXPIRED = 12
UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
CERT_REVOKED = 23
HOSTNAME_MISMATCH = 62


# --- helpers ------------------------------------------------------------------------------------------


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def load_crl(path: Path) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(path.read_bytes())


def public_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    return key


def public_der(key: object) -> bytes:
    assert isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(files: CertificateFiles) -> bool:
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    return public_der(key.public_key()) == public_der(load_cert(files.cert).public_key())


def sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)] + [
        f"IP:{a}" for a in ext.get_values_for_type(x509.IPAddress)
    ]


def common_name(cert: x509.Certificate) -> str:
    value = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(value, str)
    return value


def eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@attrs.frozen
class Outcome:
    """What each end of a loopback handshake saw."""

    client: BaseException | None
    server: BaseException | None
    peer: Any

    @property
    def ok(self) -> bool:
        return self.client is None and self.server is None


def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str = "tsrv-host") -> Outcome:
    """A real TLS handshake on 127.0.0.1: the server in a thread, the client here; then one message."""
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(10)
    server_errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError as error:
            server_errors.append(error)
            return
        with conn:
            conn.settimeout(10)
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello")
                    tls.recv(1)  # wait for the client to close
            except (ssl.SSLError, OSError) as error:
                server_errors.append(error)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_error: BaseException | None = None
    peer = None
    try:
        with (
            socket.create_connection(listener.getsockname()[:2], timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
        ):
            # In TLS 1.3 the server checks the client certificate after the client finished: its verdict
            # arrives with the first read.
            data = tls.recv(5)
            if data != b"hello":
                raise ConnectionError(f"unexpected data {data!r}")
            peer = tls.getpeercert()
    except (ssl.SSLError, OSError) as error:
        client_error = error
    finally:
        thread.join(10)
        listener.close()
    assert not thread.is_alive()
    return Outcome(client_error, server_errors[0] if server_errors else None, peer)


def server_context(files: CertificateFiles, *, trust: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(files.cert, files.key)
    if trust is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(trust)
    return ctx


def client_context(trust: Path, *, files: CertificateFiles | None = None, crl: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(trust))
    if files is not None:
        ctx.load_cert_chain(files.cert, files.key)
    if crl is not None:
        ctx.load_verify_locations(crl)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


def verify_code(error: BaseException | None) -> int | None:
    assert isinstance(error, ssl.SSLCertVerificationError), repr(error)
    return error.verify_code


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    """A fresh build_pki folder: build_pki is what these tests check (its exact file list, for one), so not
    the session PKI of tests/conftest.py, next to which other modules write their variants."""
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def rsa_pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return build_pki(tmp_path_factory.mktemp("pki-rsa"), ("tsrv-host", "client-host", "agent-host"), key_type="rsa")


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# --- build_pki: files, certificates, CRLs, environment ------------------------------------------------




def test_layout(pki: PKIFiles) -> None:
    root = pki.directory
    expected = {
        "environment.yaml",
        "certs/ca.pem",
        "certs/other-ca.pem",
        "crl/current.pem",
        "crl/expired.pem",
        "crl/wrong-ca.pem",
    }
    for stem in (
        "tsrv-host",
        "client-host",
        "expired",
        "not-yet-valid",
        "wrong-name",
        "wrong-issuer",
        "revoked",
        "cn-only",
    ):
        expected |= {f"certs/{stem}.pem", f"certs/{stem}.key"}
    written = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert written == expected  # no temporary files left behind
    assert pki.names == ("tsrv-host", "client-host")
    assert pki.key_type is KeyType.EC
    assert pki.hosts["tsrv-host"] == CertificateFiles(root / "certs/tsrv-host.pem", root / "certs/tsrv-host.key")
    assert pki.crl_expired == root / "crl/expired.pem"
    for path in root.rglob("*.key"):
        if POSIX:
            assert mode(path) == 0o600, path


def test_host_certificates(pki: PKIFiles) -> None:
    ca = load_cert(pki.ca)
    assert ca.subject == ca.issuer
    ca.verify_directly_issued_by(ca)
    for name, files in pki.hosts.items():
        chain = load_chain(files.cert)
        assert len(chain) == 1  # issued by the root: no intermediates
        cert = chain[0]
        cert.verify_directly_issued_by(ca)
        assert common_name(cert) == name
        assert sans(cert) == [f"DNS:{name}", f"IP:{LOOPBACK}"]
        assert eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert cert.not_valid_before_utc < now() < cert.not_valid_after_utc
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        assert key_matches(files)
        assert isinstance(load_cert(files.cert).public_key(), ec.EllipticCurvePublicKey)


def test_broken_certificates(pki: PKIFiles) -> None:
    ca, other = load_cert(pki.ca), load_cert(pki.other_ca)
    host = load_cert(pki.hosts["tsrv-host"].cert)

    expired = load_cert(pki.expired.cert)
    assert expired.not_valid_after_utc < now()
    assert sans(expired) == ["DNS:tsrv-host", f"IP:{LOOPBACK}"]
    expired.verify_directly_issued_by(ca)

    not_yet_valid = load_cert(pki.not_yet_valid.cert)
    assert not_yet_valid.not_valid_before_utc > now()
    not_yet_valid.verify_directly_issued_by(ca)

    wrong_name = load_cert(pki.wrong_name.cert)
    assert sans(wrong_name) == ["DNS:wrong.invalid"]
    wrong_name.verify_directly_issued_by(ca)

    wrong_issuer = load_cert(pki.wrong_issuer.cert)
    wrong_issuer.verify_directly_issued_by(other)
    with pytest.raises(ValueError, match="does not match"):
        wrong_issuer.verify_directly_issued_by(ca)
    assert other.subject != ca.subject

    revoked = load_cert(pki.revoked.cert)
    revoked.verify_directly_issued_by(ca)
    assert revoked.serial_number != host.serial_number

    cn_only = load_cert(pki.cn_only.cert)
    assert common_name(cn_only) == "tsrv-host"
    with pytest.raises(x509.ExtensionNotFound):
        cn_only.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    cn_only.verify_directly_issued_by(ca)

    # Every variant of the first host certifies the host's key again; each key file matches its cert.
    for files in (pki.expired, pki.not_yet_valid, pki.wrong_name, pki.wrong_issuer, pki.revoked, pki.cn_only):
        assert key_matches(files)
        assert public_der(load_cert(files.cert).public_key()) == public_der(host.public_key())


def test_crls(pki: PKIFiles) -> None:
    ca, other = load_cert(pki.ca), load_cert(pki.other_ca)
    revoked = load_cert(pki.revoked.cert)
    host = load_cert(pki.hosts["tsrv-host"].cert)

    current = load_crl(pki.crl_current)
    assert current.issuer == ca.subject
    assert current.is_signature_valid(public_key(ca))
    assert not current.is_signature_valid(public_key(other))
    assert current.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    assert current.get_revoked_certificate_by_serial_number(host.serial_number) is None
    assert len(current) == 1
    assert current.last_update_utc < now()
    assert current.next_update_utc is not None and current.next_update_utc > now() + dt.timedelta(days=7)

    expired = load_crl(pki.crl_expired)
    assert expired.is_signature_valid(public_key(ca))
    assert expired.next_update_utc is not None and expired.next_update_utc < now()
    entry = expired.get_revoked_certificate_by_serial_number(revoked.serial_number)
    # Consistent dates: issued, then revoked, then listed.
    assert entry is not None
    assert revoked.not_valid_before_utc < entry.revocation_date_utc < expired.last_update_utc

    wrong = load_crl(pki.crl_wrong_ca)
    assert wrong.issuer == other.subject
    assert wrong.is_signature_valid(public_key(other))
    assert not wrong.is_signature_valid(public_key(ca))
    assert wrong.next_update_utc is not None and wrong.next_update_utc > now()


def test_environment_file(pki: PKIFiles) -> None:
    data = yaml.safe_load(pki.environment.read_text())
    assert list(data) == ["hosts", "applications"]
    for name, files in pki.hosts.items():
        assert data["hosts"][name] == {
            "ip": LOOPBACK,
            "os": "unix",
            "annex": {
                "security": {
                    "certificate": f"certs/{name}.pem",
                    "certificate-key": f"certs/{name}.key",
                    "trusted-ca": "certs/ca.pem",
                }
            },
        }
        security = data["hosts"][name]["annex"]["security"]
        assert (pki.environment.parent / security["certificate"]).resolve() == files.cert.resolve()
        assert (pki.environment.parent / security["certificate-key"]).resolve() == files.key.resolve()
        assert (pki.environment.parent / security["trusted-ca"]).resolve() == pki.ca.resolve()
    assert data["applications"] == {
        "TServer": {
            "type": "T-Server",
            "host": "tsrv-host",
            "ports": {
                "default": {"port": 7000},
                "secure": {"port": 7001, "transport": "tls=1"},
                "mutual": {"port": 7002, "transport": "tls=1;tls-mutual=1"},
            },
        },
        "Client_client-host": {
            "type": "Third Party Application",
            "host": "client-host",
            "connections": [
                {"server": "TServer", "port-id": "secure", "transport": "tls-target-name-check=host"},
                {"server": "TServer", "port-id": "mutual", "transport": "tls-target-name-check=host"},
            ],
        },
    }


def test_environment_loads_and_resolves(pki: PKIFiles) -> None:
    env = gt.load(pki.environment)
    client = gt.resolve_client(env, "Client_client-host", "TServer", port_id="mutual")
    assert client["tls-mutual"].value == "1"
    assert client["certificate"].value == "certs/client-host.pem"
    assert client["tls-target-name-check"].value == "host"
    server = gt.resolve_server(env, "TServer", "secure")
    assert server["certificate"].value == "certs/tsrv-host.pem"


def test_rsa_pki_shares_keys_sensibly(rsa_pki: PKIFiles) -> None:
    assert rsa_pki.key_type is KeyType.RSA
    leaves = [*rsa_pki.hosts.values(), rsa_pki.expired, rsa_pki.not_yet_valid, rsa_pki.wrong_name,
              rsa_pki.wrong_issuer, rsa_pki.revoked, rsa_pki.cn_only]  # fmt: skip
    keys = {public_der(load_cert(f.cert).public_key()) for f in leaves}
    cas = {public_der(load_cert(p).public_key()) for p in (rsa_pki.ca, rsa_pki.other_ca)}
    assert len(keys) == len(rsa_pki.names)  # one key per host; the variants reuse the first host's
    assert len(cas) == 2 and not keys & cas
    for files in leaves:
        key = load_cert(files.cert).public_key()
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
        usage = load_cert(files.cert).extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.key_encipherment
    assert list(yaml.safe_load(rsa_pki.environment.read_text())["applications"]) == [
        "TServer",
        "Client_client-host",
        "Client_agent-host",
    ]


# --- the CertificateAuthority / Issued API -----------------------------------------------------------


def test_ca_and_intermediates() -> None:
    root = CertificateAuthority.create()
    assert common_name(root.cert) == "Test CA"
    assert root.chain == (root.cert,)
    assert root.issuer is None
    constraints = root.cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    usage = root.cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign

    inter = root.intermediate("Issuing CA 1", path_length=1)
    inter.cert.verify_directly_issued_by(root.cert)
    assert inter.chain == (inter.cert, root.cert)
    assert inter.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    usage = inter.cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.value.key_cert_sign and usage.value.crl_sign
    aki = inter.cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

    inner = inter.intermediate("Issuing CA 2")
    assert inner.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert inner.chain == (inner.cert, inter.cert, root.cert)

    leaf = inner.issue_server("tsrv-host")
    assert leaf.chain == (inner.cert, inter.cert)  # neither the leaf nor the root
    pem = x509.load_pem_x509_certificates(leaf.chain_pem())
    assert pem == [leaf.cert, inner.cert, inter.cert]
    assert x509.load_pem_x509_certificates(leaf.cert_pem()) == [leaf.cert]
    for child, parent in zip(pem, [*pem[1:], root.cert], strict=True):
        child.verify_directly_issued_by(parent)
    assert root.issue_client("agent").chain == ()


def test_issue_server_names() -> None:
    ca = CertificateAuthority.create()
    leaf = ca.issue_server(["tsrv-host", "127.0.0.1", "::1", "*.example.test", "tsrv-host"])
    assert sans(leaf.cert) == ["DNS:tsrv-host", "DNS:*.example.test", "IP:127.0.0.1", "IP:::1"]
    ext = leaf.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("::1") in ext.get_values_for_type(x509.IPAddress)
    assert common_name(leaf.cert) == "tsrv-host"
    assert eku(leaf.cert) == {ExtendedKeyUsageOID.SERVER_AUTH}
    leaf.cert.verify_directly_issued_by(ca.cert)

    named = ca.issue_server(["a.test"], common_name="Some Server")
    assert common_name(named.cert) == "Some Server" and sans(named.cert) == ["DNS:a.test"]

    cn_only = ca.issue_server("tsrv-host", cn_only=True)
    assert common_name(cn_only.cert) == "tsrv-host"
    assert not any(isinstance(e.value, x509.SubjectAlternativeName) for e in cn_only.cert.extensions)
    with pytest.raises(ConfigurationError, match="single name"):
        ca.issue_server(["a", "b"], cn_only=True)

    long_name = "h" * 60 + ".example.test"
    long = ca.issue_server(long_name)
    assert long.cert.subject == x509.Name([])
    san = long.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical and sans(long.cert) == [f"DNS:{long_name}"]

    client = ca.issue_client("agent-host")
    assert common_name(client.cert) == "agent-host" and sans(client.cert) == ["DNS:agent-host"]
    assert eku(client.cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not any(
        isinstance(e.value, x509.SubjectAlternativeName) for e in ca.issue_client("x", cn_only=True).cert.extensions
    )
    anything = ca.issue("any.test", server_auth=False, client_auth=False)
    with pytest.raises(x509.ExtensionNotFound):
        anything.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


@pytest.mark.parametrize("names", [[], [""], ["has space"], ["ünïcode.test"], ["a,b"], [123]])
def test_issue_refuses_bad_names(names: list[object]) -> None:
    ca = CertificateAuthority.create()
    with pytest.raises(ConfigurationError) as info:
        ca.issue_server(names)  # type: ignore[arg-type]
    assert "DNS name" in str(info.value)


def test_validity_windows() -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    ca = CertificateAuthority.create(not_before=start, not_after=start + dt.timedelta(days=10))
    assert ca.cert.not_valid_before_utc == start
    assert ca.cert.not_valid_after_utc == start + dt.timedelta(days=10)
    leaf = ca.issue_server("x", not_before=dt.datetime(2020, 1, 2))  # naive: UTC
    assert leaf.cert.not_valid_before_utc == dt.datetime(2020, 1, 2, tzinfo=dt.UTC)
    assert leaf.cert.not_valid_after_utc == dt.datetime(2021, 1, 1, tzinfo=dt.UTC)  # a year later
    fresh = ca.issue_server("x")
    assert now() - dt.timedelta(hours=2) < fresh.cert.not_valid_before_utc < now()
    with pytest.raises(ConfigurationError, match="not_after must be later"):
        ca.issue_server("x", not_before=start, not_after=start)


def test_key_types() -> None:
    ca = CertificateAuthority.create(key_type="rsa")
    assert ca.key_type is KeyType.RSA
    assert isinstance(ca.private_key, rsa.RSAPrivateKey) and ca.private_key.key_size == 2048
    ec_leaf = ca.issue_server("x", key_type="ec")
    assert ec_leaf.key_type is KeyType.EC
    assert isinstance(ec_leaf.cert.public_key(), ec.EllipticCurvePublicKey)
    ec_leaf.cert.verify_directly_issued_by(ca.cert)
    big = CertificateAuthority.create(key_type=KeyType.EC).issue_server("x", key_type="rsa3072")
    assert isinstance(big.private_key, rsa.RSAPrivateKey) and big.private_key.key_size == 3072
    reused = ca.issue_server("y", key=ec_leaf.private_key)
    assert reused.private_key is ec_leaf.private_key
    with pytest.raises(ConfigurationError, match="does not match"):
        ca.issue_server("y", key=ec_leaf.private_key, key_type="rsa")
    with pytest.raises(ConfigurationError) as info:
        CertificateAuthority.create(key_type="dsa")
    assert info.value.valid == ("ec", "rsa", "rsa3072")


def test_key_pem_formats_and_passwords(tmp_path: Path) -> None:
    ca = CertificateAuthority.create()
    ec_leaf = ca.issue_server("tsrv-host")
    rsa_leaf = ca.issue_server("tsrv-host", key_type="rsa")
    assert ec_leaf.key_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert ec_leaf.key_pem(format="traditional").startswith(b"-----BEGIN EC PRIVATE KEY-----")
    assert rsa_leaf.key_pem(format="traditional").startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    for leaf in (ec_leaf, rsa_leaf):
        for form in ("pkcs8", "traditional"):
            pem = leaf.key_pem(b"s3cret", form)
            key = serialization.load_pem_private_key(pem, password=b"s3cret")
            assert public_der(key.public_key()) == public_der(leaf.cert.public_key())
            with pytest.raises(TypeError):
                serialization.load_pem_private_key(pem, password=None)
            with pytest.raises(ValueError):
                serialization.load_pem_private_key(pem, password=b"wrong")
    assert ec_leaf.key_pem(b"s3cret").startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    # An encrypted key file works in ssl with its password.
    cert_path, key_path = ec_leaf.write(tmp_path, "enc", password=b"s3cret")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path, password=b"s3cret")
    with pytest.raises(ssl.SSLError):
        ctx.load_cert_chain(cert_path, key_path, password=b"wrong")

    with pytest.raises(ConfigurationError, match="password is empty"):
        ec_leaf.key_pem(b"")
    with pytest.raises(TypeError) as info:
        ec_leaf.key_pem("s3cret")  # type: ignore[arg-type]
    assert "s3cret" not in str(info.value)
    with pytest.raises(ConfigurationError, match="format"):
        ec_leaf.key_pem(format="der")  # type: ignore[arg-type]
    assert ca.key_pem().startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX")
@pytest.mark.usefixtures("umask_022")
def test_write_modes_and_replace(tmp_path: Path) -> None:
    ca = CertificateAuthority.create()
    inter = ca.intermediate("Issuing CA")
    leaf = inter.issue_server("tsrv-host")
    folder = tmp_path / "deep" / "er"
    stale = folder / "tsrv-host.key"
    folder.mkdir(parents=True)
    stale.write_bytes(b"old")
    stale.chmod(0o644)
    cert_path, key_path = leaf.write(folder, "tsrv-host")
    assert (cert_path, key_path) == (folder / "tsrv-host.pem", stale)
    assert mode(key_path) == 0o600  # the looser old file was replaced, not reused
    assert mode(cert_path) == 0o644
    assert load_chain(cert_path) == [leaf.cert, inter.cert]
    assert key_matches(CertificateFiles(cert_path, key_path))
    assert sorted(p.name for p in folder.iterdir()) == ["tsrv-host.key", "tsrv-host.pem"]
    new = tmp_path / "new" / "dir"
    _, key2 = ca.issue_client("agent").write(new, "agent")
    assert mode(key2) == 0o600
    with pytest.raises(ConfigurationError, match="stem"):
        leaf.write(tmp_path, "../escape")


def test_repr_hides_private_keys() -> None:
    ca = CertificateAuthority.create(key_type="rsa")
    leaf = ca.issue_server("tsrv-host")
    private = ca.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    secrets = [str(private.private_numbers().d), str(private.private_numbers().p)]
    leaf_key = leaf.private_key
    assert isinstance(leaf_key, rsa.RSAPrivateKey)
    secrets.append(str(leaf_key.private_numbers().d))
    for text in (repr(ca), repr(leaf), repr(ca.intermediate("I")), str(leaf)):
        assert "PRIVATE" not in text and "private_key" not in text and "RSAPrivateKey" not in text
        assert not any(s in text for s in secrets)
    assert "tsrv-host" in repr(leaf)


def test_revoke_and_crl_api() -> None:
    ca = CertificateAuthority.create()
    other = CertificateAuthority.create("Other CA")
    a, b, c = ca.issue_server("a"), ca.issue_server("b"), ca.issue_server("c")
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert ca.revoke(a, when=when) == a.cert.serial_number
    ca.revoke(b.cert)
    ca.revoke(12345)
    with pytest.raises(ConfigurationError, match="not issued by this CA"):
        ca.revoke(other.issue_server("x"))
    assert set(ca.revoked) == {a.cert.serial_number, b.cert.serial_number, 12345}

    crl = x509.load_pem_x509_crl(ca.crl())
    assert crl.is_signature_valid(public_key(ca.cert))
    entry = crl.get_revoked_certificate_by_serial_number(a.cert.serial_number)
    assert entry is not None and entry.revocation_date_utc == when
    assert crl.get_revoked_certificate_by_serial_number(c.cert.serial_number) is None
    assert len(crl) == 3
    first_number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    past = now() - dt.timedelta(days=10)
    der = ca.crl(last_update=past, next_update=past + dt.timedelta(days=1), der=True)
    old = x509.load_der_x509_crl(der)
    assert old.next_update_utc is not None and old.next_update_utc < now()
    assert old.last_update_utc == past.replace(microsecond=0)
    assert old.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > first_number
    with pytest.raises(ConfigurationError, match="next_update must be later"):
        ca.crl(last_update=past, next_update=past)
    assert len(x509.load_pem_x509_crl(other.crl())) == 0


# --- pki_init ------------------------------------------------------------------------------------------


def test_pki_init(tmp_path: Path) -> None:
    target = tmp_path / "env"
    files = pki_init(target, "tsrv-host,cfg-host,agent-host", "ec")
    assert files.names == ("tsrv-host", "cfg-host", "agent-host")
    assert files.environment == target / "environment.yaml"
    with pytest.raises(ConfigurationError) as info:
        pki_init(target, None, "ec")
    assert str(target) in str(info.value) and "environment.yaml" in str(info.value)
    assert pki_init(tmp_path / "default").names == ("tsrv-host", "client-host")


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("", "empty"),
        ("a,,b", "empty"),
        ([], "no host names"),
        ("tsrv host", "not a valid host name"),
        ("tsrv-host, client-host", "not a valid host name"),
        ("-bad", "not a valid host name"),
        ("a/b", "not a valid host name"),
        ("h" * 65, "not a valid host name"),
        ("tsrv-host,tsrv-host", "twice"),
        ("Host,host", "twice"),
        ("expired", "another file"),
        ("tsrv-host,CA", "another file"),
    ],
)
def test_pki_init_refuses_bad_names(tmp_path: Path, names: str | list[str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        pki_init(tmp_path / "x", names, "ec")
    assert "tsrv-host,client-host" in str(info.value)  # the valid form, with an example
    assert not (tmp_path / "x").exists()


def test_pki_init_other_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="key type") as info:
        pki_init(tmp_path / "x", None, "dsa")
    assert "'rsa'" in str(info.value) and "KeyType" not in str(info.value)
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ConfigurationError, match="not a directory"):
        pki_init(a_file, None, "ec")
    with pytest.raises(ConfigurationError, match="cannot write") as info:
        pki_init(a_file / "sub", None, "ec")
    assert info.value.file is not None


# --- real handshakes on 127.0.0.1 ----------------------------------------------------------------------


def test_handshake_simple_and_mutual_with_failing_twins(pki: PKIFiles) -> None:
    host, client = pki.hosts["tsrv-host"], pki.hosts["client-host"]

    simple = handshake(server_context(host), client_context(pki.ca))
    assert simple.ok, simple
    assert simple.peer is not None and ("commonName", "tsrv-host") in simple.peer["subject"][0]

    mutual = handshake(server_context(host, trust=pki.ca), client_context(pki.ca, files=client))
    assert mutual.ok, mutual

    # The IP SAN matches when the client checks the address.
    assert handshake(server_context(host), client_context(pki.ca), LOOPBACK).ok

    # Must-fail twins: the client trusts the other CA, or the server presents a certificate it does not trust.
    wrong_ca = handshake(server_context(host), client_context(pki.other_ca))
    assert verify_code(wrong_ca.client) == UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    wrong_issuer = handshake(server_context(pki.wrong_issuer), client_context(pki.ca))
    assert verify_code(wrong_issuer.client) == UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    expired = handshake(server_context(pki.expired), client_context(pki.ca))
    assert verify_code(expired.client) == CERT_HAS_EXPIRED
    assert isinstance(expired.server, ssl.SSLError)

    # Mutual: the server refuses a client certificate from the other CA, an expired one, or none.
    for files, code in (
        (pki.wrong_issuer, UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
        (pki.expired, CERT_HAS_EXPIRED),
    ):
        refused = handshake(server_context(host, trust=pki.ca), client_context(pki.ca, files=files))
        assert verify_code(refused.server) == code
        assert isinstance(refused.client, ssl.SSLError | ConnectionError)
    none = handshake(server_context(host, trust=pki.ca), client_context(pki.ca))
    assert isinstance(none.server, ssl.SSLError) and "certificate" in str(none.server).lower()
    assert none.client is not None


@pytest.mark.parametrize(
    ("variant", "hostname", "crl", "code"),
    [
        ("not_yet_valid", "tsrv-host", None, CERT_NOT_YET_VALID),
        ("wrong_name", "tsrv-host", None, HOSTNAME_MISMATCH),
        ("revoked", "tsrv-host", "crl_current", CERT_REVOKED),
        ("host", "tsrv-host", "crl_expired", CRL_HAS_EXPIRED),
        ("host", "tsrv-host", "crl_wrong_ca", UNABLE_TO_GET_CRL),
        ("host", "client-host", None, HOSTNAME_MISMATCH),
        ("host", "tsrv-host", "crl_current", None),
        ("cn_only", "tsrv-host", None, None),  # no SAN: OpenSSL checks the subject CN
        ("cn_only", "other-host", None, HOSTNAME_MISMATCH),
    ],
)
def test_handshake_cases(pki: PKIFiles, variant: str, hostname: str, crl: str | None, code: int | None) -> None:
    files = pki.hosts["tsrv-host"] if variant == "host" else getattr(pki, variant)
    crl_path = getattr(pki, crl) if crl else None
    outcome = handshake(server_context(files), client_context(pki.ca, crl=crl_path), hostname)
    if code is None:
        assert outcome.ok, outcome
    else:
        assert verify_code(outcome.client) == code


def test_handshake_rsa_tls12_and_strict(rsa_pki: PKIFiles) -> None:
    """RSA keys over TLS 1.2, mutual, with X.509 strict checks (Python 3.13 turns them on by default)."""
    server = server_context(rsa_pki.hosts["tsrv-host"], trust=rsa_pki.ca)
    server.maximum_version = ssl.TLSVersion.TLSv1_2
    server.verify_flags |= ssl.VERIFY_X509_STRICT
    client = client_context(rsa_pki.ca, files=rsa_pki.hosts["agent-host"], crl=rsa_pki.crl_current)
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    outcome = handshake(server, client)
    assert outcome.ok, outcome
    refused = handshake(server_context(rsa_pki.revoked), client)
    assert verify_code(refused.client) == CERT_REVOKED


def test_handshake_through_intermediate(tmp_path: Path) -> None:
    root = CertificateAuthority.create()
    inter = root.intermediate("Issuing CA")
    server = CertificateFiles(*inter.issue_server(["tsrv-host", LOOPBACK]).write(tmp_path, "srv"))
    client = CertificateFiles(*inter.issue_client("agent-host").write(tmp_path, "cli"))
    (tmp_path / "root.pem").write_bytes(root.cert_pem())
    (tmp_path / "inter.pem").write_bytes(inter.cert_pem())
    strict_client = client_context(tmp_path / "root.pem", files=client)
    strict_client.verify_flags |= ssl.VERIFY_X509_STRICT
    outcome = handshake(server_context(server, trust=tmp_path / "root.pem"), strict_client)
    assert outcome.ok, outcome
    # Trusting only the intermediate is not enough without partial-chain acceptance.
    partial = handshake(server_context(server), client_context(tmp_path / "inter.pem"))
    assert verify_code(partial.client) == 2  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT


# --- interoperability with the openssl command line ----------------------------------------------------


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command line is not installed")
def test_openssl_verify(pki: PKIFiles) -> None:
    for files in (*pki.hosts.values(), pki.cn_only, pki.revoked):
        result = openssl("verify", "-x509_strict", "-CAfile", pki.ca, files.cert)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith(": OK")

    checked = openssl(
        "verify", "-crl_check", "-CRLfile", pki.crl_current, "-CAfile", pki.ca, pki.hosts["tsrv-host"].cert
    )
    assert checked.returncode == 0, checked.stderr
    revoked = openssl("verify", "-crl_check", "-CRLfile", pki.crl_current, "-CAfile", pki.ca, pki.revoked.cert)
    assert revoked.returncode != 0
    assert "certificate revoked" in revoked.stdout + revoked.stderr
    stale = openssl("verify", "-crl_check", "-CRLfile", pki.crl_expired, "-CAfile", pki.ca, pki.hosts["tsrv-host"].cert)
    assert stale.returncode != 0 and "CRL has expired" in stale.stdout + stale.stderr
    for files, error in (
        (pki.expired, "certificate has expired"),
        (pki.wrong_issuer, "unable to get local issuer"),
    ):
        failed = openssl("verify", "-CAfile", pki.ca, files.cert)
        assert failed.returncode != 0 and error in failed.stdout + failed.stderr
    crl = openssl("crl", "-in", pki.crl_current, "-CAfile", pki.ca, "-noout")
    assert crl.returncode == 0 and "verify OK" in crl.stdout + crl.stderr


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command line is not installed")
def test_openssl_reads_keys(tmp_path: Path) -> None:
    leaf = CertificateAuthority.create().issue_server("tsrv-host", key_type="rsa")
    for form in ("pkcs8", "traditional"):
        key = tmp_path / f"{form}.key"
        key.write_bytes(leaf.key_pem(b"s3cret", form))
        result = openssl("pkey", "-in", key, "-passin", "pass:s3cret", "-pubout")
        assert result.returncode == 0, result.stderr
        assert result.stdout.encode() == leaf.cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def test_issued_is_public_type() -> None:
    leaf = CertificateAuthority.create().issue_server("x")
    assert isinstance(leaf, Issued)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        leaf.cert = leaf.cert  # type: ignore[misc]
