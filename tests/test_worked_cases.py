"""The 20 worked cases of spec section 6, one test each (the choice made for each open point is in the
docstring and in docs/precedence.md).

Unless stated otherwise: server = app ``S`` on host ``H``; client = app ``A`` on host ``CH`` with a connection
to ``S`` port ``secure``.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import genesys_tls as gt
from genesys_tls.catalogue import Source
from genesys_tls.loaders import environment_from_data
from genesys_tls.transport import DiagnosticCode


def env_of(
    *,
    port: str = "tls=1",
    conn: str | None = "",
    port_id: str | None = "secure",
    s_ao: dict[str, str] | None = None,
    s_aa: dict[str, str] | None = None,
    s_ha: dict[str, str] | None = None,
    a_ao: dict[str, str] | None = None,
    a_aa: dict[str, str] | None = None,
    a_ha: dict[str, str] | None = None,
    default_port: str = "",
    base_dir: Path | None = None,
    server_ip: str | None = None,
) -> gt.Environment:
    def sec(d: dict[str, str] | None) -> dict[str, Any]:
        return {"security": d} if d is not None else {}

    connection: dict[str, Any] = {"server": "S", "transport": conn}
    if port_id is not None:
        connection["port-id"] = port_id
    data = {
        "hosts": {
            "H": {"annex": sec(s_ha), **({"ip": server_ip} if server_ip else {})},
            "CH": {"annex": sec(a_ha)},
        },
        "applications": {
            "S": {
                "type": "T-Server",
                "host": "H",
                "options": sec(s_ao),
                "annex": sec(s_aa),
                "ports": {
                    "default": {"port": 7000, "transport": default_port},
                    "secure": {"port": 7001, "transport": port},
                },
            },
            "A": {
                "type": "Third Party Application",
                "host": "CH",
                "options": sec(a_ao),
                "annex": sec(a_aa),
                "connections": [connection],
            },
        },
    }
    return environment_from_data(data, base_dir=base_dir)


def test_case_01_application_options_beat_host_annex() -> None:
    env = env_of(s_ha={"tls-mutual": "0"}, s_ao={"tls-mutual": "1"}, port="tls=1")
    res = gt.resolve_server(env, "S", "secure")
    assert res["tls-mutual"].value == "1"
    assert res["tls-mutual"].source is Source.APPLICATION_OPTIONS
    assert [(s.value, s.source) for s in res["tls-mutual"].shadowed] == [("0", Source.HOST_ANNEX)]
    assert res.mode is gt.Mode.MUTUAL
    # The client sees it through the target port.
    client = gt.resolve_client(env, "A", "S", "secure")
    assert (client["tls-mutual"].value, client["tls-mutual"].source) == ("1", Source.TARGET_PORT)
    assert client["tls-mutual"].via is not None
    assert client["tls-mutual"].via.source is Source.APPLICATION_OPTIONS


def test_case_02_port_beats_application() -> None:
    env = env_of(port="tls=1;tls-mutual=0", s_ao={"tls-mutual": "1"})
    res = gt.resolve_server(env, "S", "secure")
    assert (res["tls-mutual"].value, res["tls-mutual"].source) == ("0", Source.PORT)
    assert res["tls-mutual"].shadowed[0].source is Source.APPLICATION_OPTIONS
    assert res.mode is gt.Mode.SIMPLE
    assert (res.port_id, res.port_number) == ("secure", 7001)


def test_case_03_certificate_group_from_application_host_ignored() -> None:
    env = env_of(
        s_ao={"certificate": "/a.pem", "certificate-key": "/a.key", "trusted-ca": "/ca.pem"},
        s_ha={"certificate": "/h.pem"},
    )
    res = gt.resolve_server(env, "S", "secure")
    assert res["certificate"].value == "/a.pem"
    assert res["certificate-key"].value == "/a.key"
    assert res["trusted-ca"].value == "/ca.pem"
    assert res["certificate"].shadowed[0].value == "/h.pem"
    assert res["certificate"].shadowed[0].source is Source.HOST_ANNEX


def test_case_04_group_split_across_levels_psdk_same_layer() -> None:
    """PSDK: the group comes whole from the port; key and CA at the application are NOT used.

    lint flags this split (the per-option documentation reading would have mixed levels)."""
    env = env_of(
        port="tls=1;certificate=/p.pem",
        s_ao={"certificate-key": "/a.key", "trusted-ca": "/ca.pem"},
    )
    res = gt.resolve_server(env, "S", "secure")
    assert (res["certificate"].value, res["certificate"].source) == ("/p.pem", Source.PORT)
    assert res["certificate-key"].value is None
    assert res["trusted-ca"].value is None
    assert res["certificate-key"].group_level is Source.PORT
    assert res["certificate-key"].shadowed[0].value == "/a.key"
    assert res["trusted-ca"].shadowed[0].value == "/ca.pem"


def test_case_05_crl_is_not_in_the_group() -> None:
    env = env_of(port="tls=1;certificate=/p.pem", s_ao={"tls-crl": "/crl.pem"})
    res = gt.resolve_server(env, "S", "secure")
    assert res["certificate"].value == "/p.pem"
    assert (res["tls-crl"].value, res["tls-crl"].source) == ("/crl.pem", Source.APPLICATION_OPTIONS)


def test_case_06_client_group_from_options_annex_not_read() -> None:
    env = env_of(a_ao={"certificate": "/c.pem"}, a_aa={"trusted-ca": "/ca.pem"})
    res = gt.resolve_client(env, "A", "S", "secure")
    assert res["certificate"].value == "/c.pem"
    assert res["trusted-ca"].value is None
    assert res["trusted-ca"].group_level is Source.APPLICATION_OPTIONS


def test_case_07_client_group_from_annex_host_ignored() -> None:
    env = env_of(a_aa={"trusted-ca": "/ca.pem"}, a_ha={"certificate": "/h.pem"})
    res = gt.resolve_client(env, "A", "S", "secure")
    assert (res["trusted-ca"].value, res["trusted-ca"].source) == ("/ca.pem", Source.APPLICATION_ANNEX)
    assert res["certificate"].value is None


def test_case_08_target_port_turns_tls_on() -> None:
    env = env_of(conn="", port="tls=1")
    res = gt.resolve_client(env, "A", "S", "secure")
    assert (res["tls"].value, res["tls"].source, res["tls"].object) == ("1", Source.TARGET_PORT, "S")
    assert res.mode is gt.Mode.SIMPLE


def test_case_09_connection_cannot_turn_tls_off() -> None:
    env = env_of(conn="tls=0", port="tls=1")
    res = gt.resolve_client(env, "A", "S", "secure")
    assert res.tls
    assert res["tls"].source is Source.TARGET_PORT
    assert [(s.value, s.source) for s in res["tls"].shadowed] == [("0", Source.CONNECTION)]


def test_case_10_no_port_id_quirk_psdk_off_doc_on() -> None:
    env = env_of(conn="", port_id=None, port="", default_port="tls=1")
    psdk = gt.resolve_client(env, "A", "S")
    assert psdk.target is not None and psdk.target.port_id == "default"
    assert not psdk.tls
    assert psdk.mode is gt.Mode.PLAIN
    assert any("names no port id" in n for n in psdk.notes)
    doc = gt.resolve_client(env, "A", "S", reading="doc")
    assert doc.tls
    assert doc["tls"].source is Source.TARGET_PORT


def test_case_11_tls_at_application_level_psdk_on_doc_off() -> None:
    env = env_of(port="", s_ao={"tls": "1"})
    psdk = gt.resolve_server(env, "S", "secure")
    assert psdk.tls and psdk["tls"].source is Source.APPLICATION_OPTIONS
    assert psdk.notes
    doc = gt.resolve_server(env, "S", "secure", reading="doc")
    assert not doc.tls
    assert doc["tls"].source is Source.DEFAULT
    assert doc["tls"].shadowed[0].source is Source.APPLICATION_OPTIONS


def test_case_12_first_duplicate_wins() -> None:
    env = env_of(port="tls=1;tls=0")
    res = gt.resolve_server(env, "S", "secure")
    assert res.tls
    assert [d.code for d in gt.parse_transport("tls=1;tls=0").diagnostics] == [DiagnosticCode.DUPLICATE]


def test_case_13_space_hides_the_key() -> None:
    env = env_of(port="tls=1; tls-mutual=1", s_ao={"tls-mutual": "0"})
    res = gt.resolve_server(env, "S", "secure")
    # " tls-mutual" is not "tls-mutual": the port does not set it; the application does.
    assert (res["tls-mutual"].value, res["tls-mutual"].source) == ("0", Source.APPLICATION_OPTIONS)
    diags = gt.parse_transport("tls=1; tls-mutual=1").diagnostics
    assert [(d.code, d.position) for d in diags] == [(DiagnosticCode.SPACE, 6)]


def test_case_14_wrong_case_key_is_not_found() -> None:
    env = env_of(port="TLS=1")
    res = gt.resolve_server(env, "S", "secure")
    assert not res.tls
    assert [d.code for d in gt.parse_transport("TLS=1").diagnostics] == [DiagnosticCode.CASE]
    # The client still turns TLS on only when the target port really says tls=1: here it does not.
    assert not gt.resolve_client(env, "A", "S", "secure").tls


@pytest.mark.parametrize("value", ["yes", "TRUE", "on", "1", "True"])
def test_case_15_boolean_spellings_on(value: str) -> None:
    res = gt.resolve_server(env_of(port=f"tls={value}"), "S", "secure")
    assert res.tls
    assert res["tls"].value == value and res["tls"].normalized == "1"


@pytest.mark.parametrize("value", ["2", "enabled", "", " 1"])
def test_case_15_invalid_booleans_fail_closed(value: str) -> None:
    """The PSDK reads these as off, silently. Choice: a ConfigurationError naming the value and the valid
    spellings, because "I wrote tls=enabled and got plain text" is exactly the failure to prevent."""
    with pytest.raises(gt.ConfigurationError) as err:
        gt.resolve_server(env_of(port=f"tls={value}"), "S", "secure")
    e = err.value
    assert (e.option, e.level, e.object, e.value) == ("tls", "port", "S", value)
    assert "1 or 0" in str(e.valid)


def test_case_16_present_but_empty_certificate_is_an_error() -> None:
    env = env_of(port="tls=1;certificate=", s_ao={"certificate": "/a.pem"})
    with pytest.raises(gt.ConfigurationError) as err:
        gt.resolve_server(env, "S", "secure")
    assert err.value.option == "certificate" and err.value.level == "port"
    assert "empty" in str(err.value)


# ----------------------------------------------------------------------------- cases with real TLS


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genesys_tls import pki
    d = tmp_path_factory.mktemp("worked")
    ca = pki.CertificateAuthority.create("Worked CA")
    inter = ca.intermediate("Worked Intermediate")
    leaf = inter.issue_server(["tsrv-host", "127.0.0.1"])
    (d / "ca.pem").write_bytes(ca.cert_pem())
    (d / "int.pem").write_bytes(inter.cert_pem())
    (d / "leaf.pem").write_bytes(leaf.cert.public_bytes(Encoding.PEM))
    (d / "leaf.key").write_bytes(leaf.key_pem())
    named = ca.issue_server(["cs.example.com"])
    named.write(d, "cs")
    (d / "crl-root.pem").write_bytes(ca.crl())
    return d


def _serve_once(ctx: ssl.SSLContext) -> tuple[int, threading.Thread, list[BaseException]]:
    import socket

    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    errors: list[BaseException] = []

    def run() -> None:
        with srv:
            srv.settimeout(10)
            conn, _ = srv.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello\n")
            except (ssl.SSLError, OSError) as exc:
                errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return port, t, errors


def test_case_17_certificate_chain_sent_leaf_first(pki_dir: Path) -> None:
    env = env_of(
        port="tls=1;certificate=leaf.pem,int.pem;certificate-key=leaf.key",
        a_ao={"trusted-ca": "ca.pem"},
        conn="tls-target-name-check=host;tls-target-name=tsrv-host",
        base_dir=pki_dir,
        server_ip="127.0.0.1",
    )
    server = gt.resolve_server(env, "S", "secure")
    assert server.paths("certificate") == (pki_dir / "leaf.pem", pki_dir / "int.pem")
    port, t, _errors = _serve_once(gt.server_context(server))
    client = gt.resolve_client(env, "A", "S", "secure")
    result = gt.connect(client, address=("127.0.0.1", port), timeout=10)
    t.join(10)
    assert result.ok, result
    assert "target-name" in result.checks and "chain" in result.checks
    # Only the root is trusted: the handshake passes only because the intermediate was sent after the leaf.
    assert result.peer is not None and "tsrv-host" in " ".join(result.peer.sans)


def test_case_18_target_name_is_sni_and_checked_when_dialling_by_ip(pki_dir: Path) -> None:
    env = env_of(
        port="tls=1;certificate=cs.pem;certificate-key=cs.key",
        a_ao={"trusted-ca": "ca.pem"},
        conn="tls-target-name-check=host;tls-target-name=cs.example.com",
        base_dir=pki_dir,
        server_ip="10.0.0.5",
    )
    client = gt.resolve_client(env, "A", "S", "secure")
    assert client.expected_name == "cs.example.com"
    assert client.target is not None and client.target.dial_host == "10.0.0.5"
    plan = gt.client_plan(client, address="127.0.0.1:1")
    assert plan.server_hostname == "cs.example.com"
    assert plan.expected_name == "cs.example.com"
    assert (plan.dial_host, plan.dial_port) == ("127.0.0.1", 1)
    # Real handshake: the server sees the SNI and the client checks the name, though it dials an IP.
    seen: list[str | None] = []
    sctx = gt.server_context(gt.resolve_server(env, "S", "secure"))
    sctx.sni_callback = lambda sock, name, ctx: seen.append(name)  # type: ignore[assignment,misc,return-value]
    port, t, _ = _serve_once(sctx)
    result = gt.connect(client, address=("127.0.0.1", port), timeout=10)
    t.join(10)
    assert result.ok, result
    assert seen == ["cs.example.com"]


@pytest.mark.parametrize(
    ("value", "bounds"),
    [
        ("", ("TLSv1_2", None)),
        ("TLSv13", ("TLSv1_3", "TLSv1_3")),
        ("TLSv1.3", ("TLSv1_3", "TLSv1_3")),
        ("SSLv23", ("TLSv1_1", None)),
        ("TLSv12", ("TLSv1_2", "TLSv1_2")),
    ],
)
def test_case_19_sec_protocol_bounds(value: str, bounds: tuple[str, str | None]) -> None:
    from genesys_tls import contexts

    res = gt.resolve_server(env_of(port=f"tls=1;sec-protocol={value}"), "S", "secure")
    low, high = contexts.protocol_bounds(res["sec-protocol"].normalized)
    assert low.name == bounds[0]
    assert (high.name if high is not None else None) == bounds[1]


@pytest.mark.parametrize("value", ["TLSv1", "SSLv3", "SSLv2"])
def test_case_19_legacy_protocols_are_configuration_errors(value: str) -> None:
    with pytest.raises(gt.ConfigurationError) as err:
        gt.resolve_server(env_of(port=f"tls=1;sec-protocol={value}"), "S", "secure")
    assert err.value.option == "sec-protocol" and err.value.level == "port"
    if value == "TLSv1":
        res = gt.resolve_server(
            env_of(port=f"tls=1;sec-protocol={value}"), "S", "secure", legacy_protocols=True
        )
        assert res["sec-protocol"].normalized == "TLSv1"
    else:
        with pytest.raises(gt.ConfigurationError):
            gt.resolve_server(
                env_of(port=f"tls=1;sec-protocol={value}"), "S", "secure", legacy_protocols=True
            )


def test_case_20_crl_missing_for_the_issuer_fails_closed(pki_dir: Path) -> None:
    """Choice (the Genesys behaviour is unconfirmed): fail closed, category crl-unavailable.

    The server's leaf is issued by the intermediate; the client's tls-crl holds only the root's CRL (valid,
    signed by a trusted CA), so there is no CRL for the leaf's issuer."""
    env = env_of(
        port="tls=1;certificate=leaf.pem,int.pem;certificate-key=leaf.key",
        a_ao={"trusted-ca": "ca.pem", "tls-crl": "crl-root.pem"},
        base_dir=pki_dir,
    )
    sctx = gt.server_context(gt.resolve_server(env, "S", "secure"))
    port, t, _ = _serve_once(sctx)
    client = gt.resolve_client(env, "A", "S", "secure")
    result = gt.connect(client, address=("127.0.0.1", port), timeout=10, check=False)
    t.join(10)
    assert not result.ok
    assert result.error is not None and result.error[0] is gt.Category.CRL_UNAVAILABLE
    # The twin: the same without tls-crl passes.
    env_ok = env_of(
        port="tls=1;certificate=leaf.pem,int.pem;certificate-key=leaf.key",
        a_ao={"trusted-ca": "ca.pem"},
        base_dir=pki_dir,
    )
    port, t, _ = _serve_once(gt.server_context(gt.resolve_server(env_ok, "S", "secure")))
    ok = gt.connect(gt.resolve_client(env_ok, "A", "S", "secure"), address=("127.0.0.1", port), timeout=10)
    t.join(10)
    assert ok.ok, ok
