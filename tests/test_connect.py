"""Real handshakes on 127.0.0.1 (genesys_tls.handshake): every mode and every failure category, both sides.

Each test builds an environment (YAML text) over a PKI made once per session with genesys_tls.pki, runs a
:class:`Server` on an ephemeral port and connects to it with the client side of the same environment. The
client's and the server's results are both checked: the server records refused handshakes too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from cryptography import x509

from genesys_tls.contexts import client_plan
from genesys_tls.crl import CRLCache
from genesys_tls.errors import (
    Category,
    ConfigurationError,
    InsecureConfigurationWarning,
    LegacyProtocolWarning,
    TLSError,
)
from genesys_tls.handshake import HandshakeResult, PeerIdentity, Server, classify, connect, connect_async, serve
from genesys_tls.loaders import loads
from genesys_tls.model import Environment
from genesys_tls.names import match_target_name
from genesys_tls.pki import CertificateAuthority, Issued
from genesys_tls.resolve import resolve_client, resolve_server

NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)


# --- one PKI per session ------------------------------------------------------------------------------------


@attrs.frozen
class PKI:
    """Files of the session PKI, relative to ``root`` (the environments' base_dir)."""

    root: Path
    certs: Mapping[str, x509.Certificate]

    def path(self, name: str) -> Path:
        return self.root / name


def _write(root: Path, issued: Issued, stem: str, **kw: Any) -> None:
    issued.write(root, stem, **kw)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    """What the session PKI of tests/conftest.py does not hold: intermediates and split chains, encrypted and
    traditional keys, a CA bundle, CRLs of several CAs (DER, expired, forged, per intermediate); one CA tree,
    made once per session."""
    root = tmp_path_factory.mktemp("connect-pki")
    ca = CertificateAuthority.create("Test CA")
    other = CertificateAuthority.create("Other CA")
    inter = ca.intermediate("Test Intermediate")
    bad_inter = ca.intermediate("Revoked Intermediate")
    issuing = ca.intermediate("Issuing CA")
    both = ["tsrv-host", "127.0.0.1"]
    issued: dict[str, Issued] = {
        "server": ca.issue(both),
        "client": ca.issue_client("client-host"),
        "other-client": other.issue_client("client-host"),
        "untrusted": other.issue_server(both),
        "expired": ca.issue_server(both, not_before=NOW - 30 * DAY, not_after=NOW - DAY),
        "not-yet-valid": ca.issue_server(both, not_before=NOW + 30 * DAY, not_after=NOW + 60 * DAY),
        "wrong-name": ca.issue_server(["wrong.invalid"]),
        "revoked": ca.issue_server(both),
        "revoked-client": ca.issue_client("client-host"),
        "cn-only": ca.issue_server("tsrv-host", cn_only=True),
        "wildcard": ca.issue_server(["*.example.test"]),
        "int-leaf": inter.issue_server(both),
        "bad-int-leaf": bad_inter.issue_server(both),
        "issuing-revoked": issuing.issue_server(both),
    }
    for stem, item in issued.items():
        if stem in ("int-leaf", "bad-int-leaf", "issuing-revoked"):
            # leaf alone; the intermediate goes in its own file (a comma-separated certificate chain)
            (root / f"{stem}.pem").write_bytes(item.cert_pem())
            (root / f"{stem}.key").write_bytes(item.key_pem())
        else:
            _write(root, item, stem)
    _write(root, ca.issue(both, key=issued["server"].private_key), "server-enc", password=b"s3cret")
    _write(root, ca.issue(both, key=issued["server"].private_key, key_type=None), "server-trad",
           password=b"s3cret", format="traditional")
    (root / "ca.pem").write_bytes(ca.cert_pem())
    (root / "other-ca.pem").write_bytes(other.cert_pem())
    (root / "cas.pem").write_bytes(other.cert_pem() + ca.cert_pem())
    (root / "int.pem").write_bytes(inter.cert_pem())
    (root / "bad-int.pem").write_bytes(bad_inter.cert_pem())
    (root / "issuing.pem").write_bytes(issuing.cert_pem())
    (root / "ca-and-ints.pem").write_bytes(ca.cert_pem() + inter.cert_pem() + bad_inter.cert_pem())
    ca.revoke(issued["revoked"])
    ca.revoke(issued["revoked-client"])
    ca.revoke(bad_inter.cert)
    root_crl = ca.crl()
    (root / "crl.pem").write_bytes(root_crl)
    (root / "crl.der").write_bytes(ca.crl(der=True))
    (root / "chain-crls.pem").write_bytes(root_crl + inter.crl() + bad_inter.crl())
    (root / "int-crl.pem").write_bytes(inter.crl())
    issuing.revoke(issued["issuing-revoked"])
    (root / "issuing-crl.pem").write_bytes(issuing.crl())
    (root / "issuing-crl-expired.pem").write_bytes(issuing.crl(last_update=NOW - 60 * DAY, next_update=NOW - DAY))
    (root / "crl-forged.pem").write_bytes(CertificateAuthority.create("Test CA").crl())
    (root / "crl-expired.pem").write_bytes(ca.crl(last_update=NOW - 60 * DAY, next_update=NOW - DAY))
    other.revoke(issued["revoked"].cert.serial_number)
    (root / "crl-other.pem").write_bytes(other.crl())
    return PKI(root, {k: v.cert for k, v in issued.items()})


# --- environments -----------------------------------------------------------------------------------------


def make_env(
    pki: PKI,
    *,
    port: str = "tls=1",
    server: Mapping[str, str] | None = None,
    client: Mapping[str, str] | None = None,
    connection: str = "",
    client_os: str = "unix",
) -> Environment:
    """Server ``TServer`` (host tsrv-host, port id ``p``) and client ``Client`` (host client-host) with a
    connection to it. ``server``/``client``: Application Options [security]; file names are relative to the
    PKI folder. Defaults: the server presents server.pem, trusts ca.pem; the client trusts ca.pem."""
    server_security = {"certificate": "server.pem", "certificate-key": "server.key", "trusted-ca": "ca.pem"}
    client_security = {"trusted-ca": "ca.pem"}
    data = {
        "hosts": {
            "tsrv-host": {"ip": "127.0.0.1", "os": "unix"},
            "client-host": {"ip": "127.0.0.1", "os": client_os},
        },
        "applications": {
            "TServer": {
                "type": "T-Server",
                "host": "tsrv-host",
                "options": {"security": {**server_security, **(server or {})}},
                "ports": {"p": {"port": 7001, "transport": port}},
            },
            "Client": {
                "type": "Third Party Application",
                "host": "client-host",
                "options": {"security": {**client_security, **(client or {})}},
                "connections": [{"server": "TServer", "port-id": "p", "transport": connection}],
            },
        },
    }
    for app in data["applications"].values():  # type: ignore[attr-defined]
        app["options"]["security"] = {k: v for k, v in app["options"]["security"].items() if v is not None}
    return loads(yaml.safe_dump(data), base_dir=pki.root)


MUTUAL_CLIENT = {"certificate": "client.pem", "certificate-key": "client.key"}


@attrs.frozen
class Outcome:
    client: HandshakeResult
    server: HandshakeResult


def handshake(env: Environment, *, client_kw: Mapping[str, Any] | None = None,
              server_kw: Mapping[str, Any] | None = None) -> Outcome:
    """One handshake: a Server for TServer/p, connect() from Client; both results."""
    srv = resolve_server(env, "TServer", "p")
    cli = resolve_client(env, "Client", "TServer", "p")
    with Server(srv, count=1, timeout=5, **(server_kw or {})) as server:
        result = connect(cli, address=server.address, timeout=5, check=False, **(client_kw or {}))
        assert server.wait(1, timeout=5)
    return Outcome(result, server.results[0])


def category(result: HandshakeResult) -> str:
    return "ok" if result.ok else result.error[0].value  # type: ignore[index]


# --- modes ------------------------------------------------------------------------------------------------


def test_simple_tls_and_its_untrusted_twin(pki: PKI) -> None:
    out = handshake(make_env(pki))
    assert out.client.ok and out.server.ok
    assert out.client.mode == "simple" and out.client.authenticated
    assert out.client.checks == ("chain",)
    assert out.client.protocol == "TLSv1.3" and out.client.cipher
    assert out.client.peer == PeerIdentity("CN=tsrv-host", "CN=Test CA", ("DNS:tsrv-host", "IP:127.0.0.1"))
    assert out.server.peer is None and not out.server.authenticated  # simple TLS: the client has no certificate
    assert out.server.address is not None and out.server.address.startswith("127.0.0.1:")

    twin = handshake(make_env(pki, client={"trusted-ca": "other-ca.pem"}))
    assert category(twin.client) == "untrusted"
    assert "OpenSSL verify error 20" in twin.client.error[1]  # type: ignore[index]
    assert category(twin.server) == "untrusted"  # the server saw the client's "unknown ca" alert


def test_mutual_tls(pki: PKI) -> None:
    out = handshake(make_env(pki, port="tls=1;tls-mutual=1", client=MUTUAL_CLIENT))
    assert out.client.ok and out.client.mode == "mutual"
    assert out.server.ok and out.server.authenticated and out.server.mode == "mutual"
    assert out.server.peer is not None and out.server.peer.subject == "CN=client-host"
    assert out.server.checks == ("chain",)


@pytest.mark.parametrize("protocol", ["TLSv13", "TLSv12"])
def test_mutual_without_client_certificate(pki: PKI, protocol: str) -> None:
    env = make_env(pki, port=f"tls=1;tls-mutual=1;sec-protocol={protocol}")
    out = handshake(env)
    # TLS 1.3: the refusal arrives after the client's handshake; TLS 1.2: as a handshake_failure alert.
    assert category(out.client) == "client-certificate-required"
    assert category(out.server) == "client-certificate-required"
    assert out.server.peer is None


@pytest.mark.parametrize("protocol", ["TLSv13", "TLSv12"])
def test_mutual_with_untrusted_client_certificate(pki: PKI, protocol: str) -> None:
    env = make_env(pki, port=f"tls=1;tls-mutual=1;sec-protocol={protocol}",
                   client={"certificate": "other-client.pem", "certificate-key": "other-client.key"})
    out = handshake(env)
    assert category(out.client) == "untrusted"
    assert "refused our certificate" in out.client.error[1]  # type: ignore[index]
    assert category(out.server) == "untrusted"
    assert out.client.protocol == ("TLSv1.3" if protocol == "TLSv13" else None)


def test_encryption_only_against_an_untrusted_server(pki: PKI) -> None:
    env = make_env(pki, server={"certificate": "untrusted.pem", "certificate-key": "untrusted.key"},
                   connection="client-auth=0;tls-target-name-check=host")
    with pytest.warns(InsecureConfigurationWarning, match="NOT authenticated"):
        out = handshake(env)
    assert out.client.ok and not out.client.authenticated
    assert out.client.mode == "encryption-only" and out.client.checks == ()
    data = out.client.to_dict()
    assert data["authenticated"] is False and "NOT authenticated" in data["warning"]
    assert out.client.peer is not None and out.client.peer.issuer == "CN=Other CA"
    # the twin: the same server with client-auth=1 is refused
    assert category(handshake(make_env(pki, server={"certificate": "untrusted.pem",
                                                    "certificate-key": "untrusted.key"})).client) == "untrusted"


def test_chain_through_an_intermediate(pki: PKI) -> None:
    env = make_env(pki, server={"certificate": "int-leaf.pem,int.pem", "certificate-key": "int-leaf.key"},
                   connection="tls-target-name-check=host")
    out = handshake(env)
    assert out.client.ok and out.client.peer is not None
    assert out.client.peer.issuer == "CN=Test Intermediate"
    # without the intermediate in `certificate`, the client cannot build the chain
    env = make_env(pki, server={"certificate": "int-leaf.pem", "certificate-key": "int-leaf.key"})
    assert category(handshake(env).client) == "untrusted"


def test_several_cas_in_trusted_ca(pki: PKI) -> None:
    env = make_env(pki, client={"trusted-ca": "cas.pem"})
    assert handshake(env).client.ok
    env = make_env(pki, client={"trusted-ca": "cas.pem"},
                   server={"certificate": "untrusted.pem", "certificate-key": "untrusted.key"})
    assert handshake(env).client.ok  # Other CA is the first of the two
    env = make_env(pki, port="tls=1;tls-mutual=1", server={"trusted-ca": "cas.pem"},
                   client={"certificate": "other-client.pem", "certificate-key": "other-client.key"})
    assert handshake(env).server.ok


# --- target names -----------------------------------------------------------------------------------------


def test_cn_only_certificate_with_the_name_check(pki: PKI) -> None:
    server = {"certificate": "cn-only.pem", "certificate-key": "cn-only.key"}
    out = handshake(make_env(pki, server=server, connection="tls-target-name-check=host"))
    assert out.client.ok and out.client.checks == ("chain", "target-name")
    assert out.client.peer is not None and out.client.peer.sans == ()
    bad = handshake(make_env(pki, server=server,
                             connection="tls-target-name-check=host;tls-target-name=other-host"))
    assert category(bad.client) == "name-mismatch"


def test_ip_san_with_tls_target_name(pki: PKI) -> None:
    out = handshake(make_env(pki, connection="tls-target-name-check=host;tls-target-name=127.0.0.1"))
    assert out.client.ok
    bad = handshake(make_env(pki, server={"certificate": "cn-only.pem", "certificate-key": "cn-only.key"},
                             connection="tls-target-name-check=host;tls-target-name=127.0.0.1"))
    assert category(bad.client) == "name-mismatch"
    assert "64" in bad.client.error[1]  # type: ignore[index]  # X509_V_ERR_IP_ADDRESS_MISMATCH


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.example.test", True),
        ("A-1.Example.Test", True),
        ("example.test", False),
        ("a.b.example.test", False),
        ("xn--bcher-kva.example.test", True),
    ],
)
def test_wildcard_edge_cases(pki: PKI, name: str, expected: bool) -> None:
    env = make_env(pki, server={"certificate": "wildcard.pem", "certificate-key": "wildcard.key"},
                   connection=f"tls-target-name-check=host;tls-target-name={name}")
    out = handshake(env)
    assert category(out.client) == ("ok" if expected else "name-mismatch")
    assert match_target_name(pki.certs["wildcard"], name) is expected  # names.py agrees with OpenSSL


def test_name_mismatch_versus_no_check(pki: PKI) -> None:
    server = {"certificate": "wrong-name.pem", "certificate-key": "wrong-name.key"}
    out = handshake(make_env(pki, server=server, connection="tls-target-name-check=host"))
    assert category(out.client) == "name-mismatch"
    assert "tsrv-host" in out.client.error[1]  # type: ignore[index]
    no_check = handshake(make_env(pki, server=server))
    assert no_check.client.ok and no_check.client.checks == ("chain",)


def test_tls_target_name_is_sent_as_sni(pki: PKI) -> None:
    env = make_env(pki, connection="tls-target-name=cs.example.test")
    seen: list[str | None] = []
    srv = resolve_server(env, "TServer", "p")
    with Server(srv, count=1) as server:
        server.context.sni_callback = lambda sock, name, ctx: seen.append(name)  # type: ignore[assignment,misc,return-value]
        result = connect(resolve_client(env, "Client", "TServer", "p"), address=server.address)
    # no name check: the certificate (tsrv-host) does not carry cs.example.test, yet the chain is verified
    assert result.ok and result.checks == ("chain",)
    assert seen == ["cs.example.test"]


# --- validity and revocation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("stem", "expected"), [("expired", "expired"), ("not-yet-valid", "not-yet-valid")])
def test_certificate_validity(pki: PKI, stem: str, expected: str) -> None:
    out = handshake(make_env(pki, server={"certificate": f"{stem}.pem", "certificate-key": f"{stem}.key"}))
    assert category(out.client) == expected


def test_revoked_leaf(pki: PKI) -> None:
    server = {"certificate": "revoked.pem", "certificate-key": "revoked.key"}
    out = handshake(make_env(pki, server=server, client={"tls-crl": "crl.pem"}))
    assert category(out.client) == "revoked"
    ok = handshake(make_env(pki, client={"tls-crl": "crl.der"}))  # DER works too
    assert ok.client.ok and ok.client.checks == ("chain", "crl")
    assert handshake(make_env(pki, server=server)).client.ok  # no tls-crl, no revocation check


def test_revoked_client_certificate_on_the_server(pki: PKI) -> None:
    env = make_env(pki, port="tls=1;tls-mutual=1;tls-crl=crl.pem",
                   client={"certificate": "revoked-client.pem", "certificate-key": "revoked-client.key"})
    out = handshake(env)
    assert category(out.server) == "revoked"
    assert out.server.checks == ("chain", "crl")
    assert category(out.client) == "revoked"  # the certificate_revoked alert, after a TLS 1.3 handshake


def test_revoked_intermediate_only_in_chain_mode(pki: PKI) -> None:
    env = make_env(pki, server={"certificate": "bad-int-leaf.pem,bad-int.pem", "certificate-key": "bad-int-leaf.key"},
                   client={"tls-crl": "chain-crls.pem", "trusted-ca": "ca-and-ints.pem"})
    chain = handshake(env, client_kw={"crl_check": "chain"})
    assert category(chain.client) == "revoked"
    leaf = handshake(env)  # leaf mode checks only the server's own certificate
    assert leaf.client.ok
    good = make_env(pki, server={"certificate": "int-leaf.pem,int.pem", "certificate-key": "int-leaf.key"},
                    client={"tls-crl": "chain-crls.pem", "trusted-ca": "ca-and-ints.pem"})
    assert handshake(good, client_kw={"crl_check": "chain"}).client.ok


def test_expired_crl(pki: PKI) -> None:
    env = make_env(pki, client={"tls-crl": "crl-expired.pem"})
    with Server(resolve_server(env, "TServer", "p")) as server:
        cli = resolve_client(env, "Client", "TServer", "p")
        result = connect(cli, address=server.address, check=False)
        assert category(result) == "crl-expired" and result.checks == ("chain", "crl")
        with pytest.raises(TLSError) as info:
            connect(cli, address=server.address)
    assert info.value.category is Category.CRL_EXPIRED
    assert isinstance(info.value.result, HandshakeResult)
    assert server.results == []  # fail closed: it never dialled


def test_crl_badly_signed(pki: PKI) -> None:
    # issuer name "Test CA", signed by another key: refused before dialling
    env = make_env(pki, client={"tls-crl": "crl-forged.pem"})
    result = connect(resolve_client(env, "Client", "TServer", "p"), address=("127.0.0.1", 9), check=False)
    assert category(result) == "crl-unavailable"
    assert "signature" in result.error[1]  # type: ignore[index]


def test_crl_from_the_wrong_ca(pki: PKI) -> None:
    # a CRL of a CA that trusted-ca does not hold: OpenSSL finds no CRL for the server's issuer
    env = make_env(pki, client={"tls-crl": "crl-other.pem"})
    plan = client_plan(resolve_client(env, "Client", "TServer", "p"))
    assert any("CN=Other CA" in w and "not signed by a trusted-ca" in w for w in plan.warnings)
    out = handshake(env)
    assert category(out.client) == "crl-unavailable"
    assert "OpenSSL verify error 3" in out.client.error[1]  # type: ignore[index]


def test_crl_of_the_issuing_ca_trusting_only_the_root(pki: PKI) -> None:
    # two-tier PKI: trusted-ca is the root, the server sends the issuing CA, tls-crl is the issuing CA's CRL
    server = {"certificate": "issuing-revoked.pem,issuing.pem", "certificate-key": "issuing-revoked.key"}
    env = make_env(pki, server=server, client={"tls-crl": "issuing-crl.pem"})
    assert category(handshake(env).client) == "revoked"
    good = make_env(pki, server={"certificate": "int-leaf.pem,int.pem", "certificate-key": "int-leaf.key"},
                    client={"tls-crl": "int-crl.pem"})
    assert handshake(good).client.ok
    expired = make_env(pki, server=server, client={"tls-crl": "issuing-crl-expired.pem"})
    result = connect(resolve_client(expired, "Client", "TServer", "p"), address=("127.0.0.1", 9), check=False)
    assert category(result) == "crl-expired"  # dates are checked before dialling, for these CRLs too


def test_crl_missing_for_the_issuer(pki: PKI) -> None:
    # the server's leaf is issued by the intermediate; the CRL file only holds the root's CRL
    env = make_env(pki, server={"certificate": "int-leaf.pem,int.pem", "certificate-key": "int-leaf.key"},
                   client={"tls-crl": "crl.pem"})
    out = handshake(env)
    assert category(out.client) == "crl-unavailable"
    assert "OpenSSL verify error 3" in out.client.error[1]  # type: ignore[index]


def test_crl_file_is_read_once_for_many_connections(pki: PKI) -> None:
    cache = CRLCache()
    env = make_env(pki, client={"tls-crl": "crl.pem"})
    cli = resolve_client(env, "Client", "TServer", "p")
    with Server(resolve_server(env, "TServer", "p"), count=5) as server:
        for _ in range(5):
            assert connect(cli, address=server.address, crl_cache=cache).ok
    assert (cache.misses, cache.hits) == (1, 4)


# --- protocols and ciphers --------------------------------------------------------------------------------


def test_protocol_floor_mismatch(pki: PKI) -> None:
    env = make_env(pki, port="tls=1;sec-protocol=TLSv12", connection="sec-protocol=TLSv13")
    out = handshake(env)
    assert category(out.client) == "protocol"
    assert category(out.server) == "protocol"
    same = handshake(make_env(pki, port="tls=1;sec-protocol=TLSv12", connection="sec-protocol=TLSv1.2"))
    assert same.client.protocol == "TLSv1.2" and same.server.protocol == "TLSv1.2"


def test_default_protocol_is_at_least_tls12(pki: PKI) -> None:
    env = make_env(pki, port="tls=1;sec-protocol=TLSv11")
    with pytest.warns(LegacyProtocolWarning):
        out = handshake(env)
    assert category(out.client) == "protocol"  # '' = TLS 1.2 or newer


def test_tls11_strict_works_at_security_level_0(pki: PKI) -> None:
    env = make_env(pki, port="tls=1;sec-protocol=TLSv11", connection="sec-protocol=TLSv11")
    with pytest.warns(LegacyProtocolWarning, match="security level 0"):
        out = handshake(env)
    assert out.client.ok and out.client.protocol == "TLSv1.1"
    # SSLv23 allows TLS 1.1 on paper, but keeps security level 2: a TLS 1.1-only server is refused
    env = make_env(pki, port="tls=1;sec-protocol=TLSv11", connection="sec-protocol=SSLv23")
    with pytest.warns(LegacyProtocolWarning):
        out = handshake(env)
    assert category(out.client) == "protocol"


def test_legacy_tls10_floor(pki: PKI) -> None:
    env = make_env(pki, port="tls=1;sec-protocol=TLSv1", connection="sec-protocol=TLSv11")
    with pytest.raises(ConfigurationError, match="legacy"):
        resolve_server(env, "TServer", "p")
    srv = resolve_server(env, "TServer", "p", legacy_protocols=True)
    cli = resolve_client(env, "Client", "TServer", "p", legacy_protocols=True)
    with pytest.warns(LegacyProtocolWarning, match="TLS 1.0"), Server(srv, count=1) as server:
        result = connect(cli, address=server.address)
    assert result.protocol == "TLSv1.1"  # TLSv1 is a floor: the best both sides accept


def test_cipher_list(pki: PKI) -> None:
    env = make_env(pki, port="tls=1;sec-protocol=TLSv12;cipher-list=ECDHE+AES128:ECDHE+AESGCM",
                   connection="cipher-list=ECDHE-ECDSA-AES128-GCM-SHA256")
    out = handshake(env)
    assert out.client.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256"
    env = make_env(pki, port="tls=1;sec-protocol=TLSv12;cipher-list=ECDHE+AES128",
                   connection="cipher-list=ECDHE+AES256")
    out = handshake(env)
    assert category(out.client) == "protocol" and category(out.server) == "protocol"


# --- connection failures, the server loop, asyncio --------------------------------------------------------


def test_connection_refused_and_timeout(pki: PKI) -> None:
    cli = resolve_client(make_env(pki), "Client", "TServer", "p")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    result = connect(cli, address=("127.0.0.1", free), check=False, timeout=2)
    assert category(result) == "connection" and f"127.0.0.1:{free}" in result.error[1]  # type: ignore[index]
    # a listener that accepts TCP (backlog) and never answers the ClientHello
    with socket.create_server(("127.0.0.1", 0)) as silent, pytest.raises(TLSError) as info:
        connect(cli, address=silent.getsockname(), timeout=0.3)
    assert info.value.category is Category.CONNECTION


def test_server_records_every_handshake(pki: PKI) -> None:
    env = make_env(pki, port="tls=1;tls-mutual=1")
    seen: list[HandshakeResult] = []
    good = resolve_client(make_env(pki, port="tls=1;tls-mutual=1", client=MUTUAL_CLIENT), "Client", "TServer", "p")
    bare = resolve_client(env, "Client", "TServer", "p")
    with Server(resolve_server(env, "TServer", "p"), count=3, on_result=seen.append) as server:
        assert connect(good, address=server.address).ok
        assert not connect(bare, address=server.address, check=False).ok
        with socket.create_connection(server.address) as plain:
            plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
            with contextlib.suppress(OSError):
                plain.recv(100)
        assert server.wait(timeout=5)
    assert [category(r) for r in seen] == ["ok", "client-certificate-required", "protocol"]
    assert seen == server.results
    assert all(r.side == "server" and r.address for r in seen)
    assert seen[0].peer is not None and seen[0].peer.subject == "CN=client-host"


def test_serve_blocking_loop(pki: PKI) -> None:
    env = make_env(pki)
    where: list[tuple[str, int]] = []
    ready = threading.Event()

    def listening(server: Server) -> None:
        where.append(server.address)
        ready.set()

    results: list[list[HandshakeResult]] = []
    thread = threading.Thread(target=lambda: results.append(
        serve(resolve_server(env, "TServer", "p"), address="127.0.0.1:0", count=2, on_listening=listening)))
    thread.start()
    assert ready.wait(5)
    cli = resolve_client(env, "Client", "TServer", "p")
    for _ in range(2):
        connect(cli, address=where[0])
    thread.join(5)
    assert len(results[0]) == 2 and all(r.ok for r in results[0])


def test_connect_async(pki: PKI) -> None:
    async def scenario(server: Server) -> list[HandshakeResult]:
        good = resolve_client(make_env(pki, port="tls=1;tls-mutual=1", client=MUTUAL_CLIENT), "Client", "TServer", "p")
        bare = resolve_client(make_env(pki, port="tls=1;tls-mutual=1",
                                       connection="tls-target-name-check=host;tls-target-name=nope"),
                              "Client", "TServer", "p")
        nocert = resolve_client(make_env(pki, port="tls=1;tls-mutual=1"), "Client", "TServer", "p")
        return [
            await connect_async(good, address=server.address),
            await connect_async(bare, address=server.address, check=False),
            await connect_async(nocert, address=server.address, check=False),
        ]

    env = make_env(pki, port="tls=1;tls-mutual=1")
    with Server(resolve_server(env, "TServer", "p"), count=3) as server:
        results = asyncio.run(scenario(server))
        server.wait(timeout=5)
    assert [category(r) for r in results] == ["ok", "name-mismatch", "client-certificate-required"]
    assert results[0].peer is not None and results[0].protocol == "TLSv1.3"


def test_plan_can_be_reused_and_redirected(pki: PKI) -> None:
    env = make_env(pki, connection="tls-target-name-check=host")
    plan = client_plan(resolve_client(env, "Client", "TServer", "p"))
    assert (plan.dial_host, plan.dial_port) == ("127.0.0.1", 7001)
    with Server(resolve_server(env, "TServer", "p"), count=1) as server:
        result = connect(plan, address=server.address)
    assert result.ok and result.address == f"127.0.0.1:{server.address[1]}"
    assert result.checks == ("chain", "target-name")


# --- classify ---------------------------------------------------------------------------------------------


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    exc.verify_code = code
    exc.verify_message = message
    return exc


@pytest.mark.parametrize(
    ("code", "expected"),
    [(2, "untrusted"), (20, "untrusted"), (21, "untrusted"), (19, "untrusted"), (18, "untrusted"),
     (62, "name-mismatch"), (64, "name-mismatch"), (23, "revoked"), (10, "expired"), (9, "not-yet-valid"),
     (3, "crl-unavailable"), (12, "crl-expired"), (11, "crl-unavailable"), (8, "crl-unavailable"),
     (999, "untrusted")],
)
def test_classify_verify_codes(code: int, expected: str) -> None:
    category_, detail = classify(_verify_error(code, "some reason"), side="client")
    assert category_.value == expected
    assert f"OpenSSL verify error {code}" in detail and "server's certificate" in detail


def test_classify_other_errors() -> None:
    assert classify(TLSError("crl-expired", "x"), side="client") == (Category.CRL_EXPIRED, "x")
    assert classify(ConnectionRefusedError(111, "refused"), side="client")[0] is Category.CONNECTION
    assert classify(TimeoutError("timed out"), side="server")[0] is Category.CONNECTION
    assert classify(ConnectionResetError(104, "reset"), side="client")[0] is Category.CONNECTION
    assert classify(_verify_error(20, "x"), side="server")[1].startswith("the client's certificate")


def test_result_json_shape(pki: PKI) -> None:
    out = handshake(make_env(pki, client={"tls-crl": "crl.pem"}, connection="tls-target-name-check=host"))
    data = out.client.to_dict()
    assert list(data)[:5] == ["ok", "protocol", "cipher", "peer", "checks"]
    assert data["checks"] == ["chain", "target-name", "crl"]
    assert data["peer"] == {
        "subject": "CN=tsrv-host", "issuer": "CN=Test CA", "sans": ["DNS:tsrv-host", "IP:127.0.0.1"]}
    assert "error" not in data and "warning" not in data
    bad = handshake(make_env(pki, server={"certificate": "expired.pem", "certificate-key": "expired.key"})).client
    assert bad.to_dict()["error"]["category"] == "expired" and bad.to_dict()["ok"] is False


@pytest.fixture(autouse=True)
def _no_thread_leaks() -> Iterator[None]:
    before = {t for t in threading.enumerate()}
    yield
    for t in set(threading.enumerate()) - before:
        t.join(5)


def test_server_on_an_upgrade_port_tells_tls_from_plain_clients(genesys_pki: Any) -> None:
    """``serve`` on an ``upgrade=1`` port auto-detects as the simulated server does: a verified TLS client is
    accepted over TLS (mode of the TLS side), a plain client as plain text (echoed with the echo hook)."""
    from genesys_tls.demo import DEMO_ENVIRONMENT
    from genesys_tls.harness import run_client
    from genesys_tls.server import echo

    env = loads(DEMO_ENVIRONMENT, source=genesys_pki.directory / "demo.yaml", base_dir=genesys_pki.directory)
    with Server(resolve_server(env, "ConfServer", "auto"), count=2, after=echo, idle_timeout=2) as server:
        tls_client = run_client(env, "Client", "ConfServer", "auto", address=server.address)
        plain_client = run_client(env, "Client_Plain", "ConfServer", "auto", address=server.address)
        assert server.wait(2)
    assert tls_client.ok and plain_client.ok, (tls_client.error, plain_client.error)
    by_tls = {r.protocol is not None: r for r in server.results}
    assert by_tls[True].ok and by_tls[True].mode == "simple" and by_tls[True].protocol == "TLSv1.3"
    assert by_tls[False].ok and by_tls[False].mode == "plain" and by_tls[False].cipher is None
