"""Target-name matching (genesys_tls.names) against its rules and against real handshakes of Python's ssl.

Every rule case runs twice: once through ``match_target_name`` and once as a real TLS handshake on 127.0.0.1
with ``check_hostname=True``, so the expected values are OpenSSL's behaviour, not a guess. The x509-limbo
agreement test does the same for every limbo case that names an expected peer.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys_tls.names import NameMatch, explain_target_name, match_target_name

LIMBO = Path(__file__).resolve().parents[1] / ".." / "shared" / "vectors" / "x509-limbo.json"

#: Deliberate differences between match_target_name and Python's ssl, by limbo case id (none: same rules).
SSL_DIFFERENCES: dict[str, str] = {}

#: Where OpenSSL's name check (hence Genesys on Python) and x509-limbo's expected result differ, on the limbo
#: cases about names. Limbo follows the Web PKI profile; Genesys uses OpenSSL's rules with CN checks on.
_PROFILE_CN = ("a Web PKI profile rule (a CN must repeat a SAN), not a name rule: OpenSSL ignores the CN once "
               "the certificate has a SAN of the name's type, and the name matches that SAN")
_PROFILE_CRITICAL = "a profile rule on the SAN's criticality flag, not a name rule: the name matches the SAN"
_NO_PUBLIC_SUFFIX = "OpenSSL has no public-suffix list: a wildcard over three or more labels matches"
LIMBO_NAME_DIFFERENCES: dict[str, str] = {
    "webpki::san::no-san": "Genesys accepts CN-only certificates (hostname_checks_common_name=True)",
    "webpki::san::public-suffix-multi-label-wildcard-san": _NO_PUBLIC_SUFFIX,
    "webpki::san::public-suffix-private-namespace-wildcard-san": _NO_PUBLIC_SUFFIX,
    "webpki::san::san-critical-with-nonempty-subject": _PROFILE_CRITICAL,
    "rfc5280::san::noncritical-with-empty-subject": _PROFILE_CRITICAL,
    "rfc5280::san::underscore-dns": "OpenSSL compares a SAN without wildcard as plain text, '_' included",
    "webpki::cn::ipv4-hex-mismatch": _PROFILE_CN,
    "webpki::cn::ipv4-leading-zeros-mismatch": _PROFILE_CN,
    "webpki::cn::ipv6-uppercase-mismatch": _PROFILE_CN,
    "webpki::cn::ipv6-uncompressed-mismatch": _PROFILE_CN,
    "webpki::cn::ipv6-non-rfc5952-mismatch": _PROFILE_CN,
    "webpki::cn::punycode-not-in-san": _PROFILE_CN,
    "webpki::cn::utf8-vs-punycode-mismatch": _PROFILE_CN,
    "webpki::cn::not-in-san": _PROFILE_CN,
    "webpki::cn::case-mismatch": _PROFILE_CN,
}

NOW = datetime.datetime.now(datetime.UTC)

# X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH
NAME_CHECK_CODES = (62, 64)


# --- a throwaway PKI and a loopback server ----------------------------------------------------------------


@attrs.frozen
class Loopback:
    """One CA, one leaf key, and real handshakes on 127.0.0.1 with any leaf signed by the CA."""

    ca_key: ec.EllipticCurvePrivateKey
    ca: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    directory: Path
    client: ssl.SSLContext

    def leaf(self, subject: x509.Name, san: x509.SubjectAlternativeName | None = None, *,
             critical: bool = False) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(hours=1))
            .not_valid_after(NOW + datetime.timedelta(days=1))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                           critical=False)
        )
        if san is not None:
            builder = builder.add_extension(san, critical=critical)
        return builder.sign(self.ca_key, hashes.SHA256())

    def handshake(self, cert: x509.Certificate, name: str) -> str:
        """'ok', 'name-mismatch', or another failure as text, for a client checking ``name``."""
        cert_file = self.directory / "leaf.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert_file, self.directory / "leaf.key")
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(10)

            def serve() -> None:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(10)
                    try:
                        with server.wrap_socket(conn, server_side=True) as tls:
                            tls.recv(1)
                    except OSError:
                        pass  # the client refused the certificate, or closed

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            try:
                with socket.create_connection(listener.getsockname(), timeout=10) as raw:
                    try:
                        with self.client.wrap_socket(raw, server_hostname=name):
                            return "ok"
                    except ssl.SSLCertVerificationError as exc:
                        if exc.verify_code in NAME_CHECK_CODES:
                            return "name-mismatch"
                        return f"verify error {exc.verify_code}: {exc.verify_message}"
                    except (ssl.SSLError, ValueError, TypeError) as exc:
                        return f"{type(exc).__name__}: {exc}"
            finally:
                thread.join(10)


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Loopback:
    directory = tmp_path_factory.mktemp("names")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "names test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(hours=1))
        .not_valid_after(NOW + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    (directory / "leaf.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    assert client.check_hostname and client.hostname_checks_common_name
    return Loopback(ca_key=ca_key, ca=ca, key=key, directory=directory, client=client)


def subject(*common_names: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in common_names])


def san(*names: str) -> x509.SubjectAlternativeName:
    """``DNS:x`` / ``IP:x`` entries, as OpenSSL prints them."""
    general: list[x509.GeneralName] = []
    for entry in names:
        kind, _, value = entry.partition(":")
        if kind == "IP":
            general.append(x509.IPAddress(ipaddress.ip_address(value)))
        else:
            general.append(x509.DNSName(value))
    return x509.SubjectAlternativeName(general)


# --- the rules, each checked against a real handshake -----------------------------------------------------

#: (id, SAN entries or None for no SAN extension, CNs, name, expected)
RULES: list[tuple[str, tuple[str, ...] | None, tuple[str, ...], str, bool]] = [
    ("exact", ("DNS:tsrv-host",), (), "tsrv-host", True),
    ("exact-fqdn", ("DNS:cs.example.com",), (), "cs.example.com", True),
    ("other-name", ("DNS:cs.example.com",), (), "tserver.example.com", False),
    ("second-san", ("DNS:a.example.com", "DNS:b.example.com"), (), "b.example.com", True),
    ("case-name", ("DNS:example.com",), (), "EXAMPLE.Com", True),
    ("case-san", ("DNS:EXAMPLE.COM",), (), "example.com", True),
    ("trailing-dot-name", ("DNS:example.com",), (), "example.com.", False),
    ("trailing-dot-san", ("DNS:example.com.",), (), "example.com", False),
    ("trailing-dot-both", ("DNS:example.com.",), (), "example.com.", True),
    ("suffix-is-not-enough", ("DNS:example.com",), (), "www.example.com", False),
    ("wildcard", ("DNS:*.example.com",), (), "foo.example.com", True),
    ("wildcard-case", ("DNS:*.EXAMPLE.com",), (), "Foo.example.COM", True),
    ("wildcard-not-apex", ("DNS:*.example.com",), (), "example.com", False),
    ("wildcard-one-label", ("DNS:*.example.com",), (), "a.b.example.com", False),
    ("wildcard-trailing-dot-name", ("DNS:*.example.com",), (), "foo.example.com.", False),
    ("wildcard-trailing-dot-san", ("DNS:*.example.com.",), (), "foo.example.com.", False),
    ("wildcard-underscore-label", ("DNS:*.example.com",), (), "f_o.example.com", False),
    ("wildcard-hyphen-label", ("DNS:*.example.com",), (), "-.example.com", True),
    ("wildcard-a-label", ("DNS:*.example.com",), (), "xn--bcher-kva.example.com", True),
    ("wildcard-literal-star", ("DNS:*.example.com",), (), "*.example.com", True),
    ("partial-wildcard", ("DNS:f*.example.com",), (), "foo.example.com", False),
    ("partial-wildcard-literal", ("DNS:f*.example.com",), (), "f*.example.com", True),
    ("partial-wildcard-suffix", ("DNS:*o.example.com",), (), "foo.example.com", False),
    ("a-label-partial-wildcard", ("DNS:xn--*.example.com",), (), "xn--a.example.com", False),
    ("wildcard-in-a-label-parent", ("DNS:*.xn--bcher-kva.example",), (), "a.xn--bcher-kva.example", True),
    ("wildcard-two-labels", ("DNS:*.com",), (), "example.com", False),
    ("wildcard-two-labels-literal", ("DNS:*.com",), (), "*.com", True),
    ("wildcard-three-labels", ("DNS:*.co.uk",), (), "example.co.uk", True),
    ("wildcard-alone", ("DNS:*",), (), "example", False),
    ("wildcard-not-leftmost", ("DNS:foo.*.example.com",), (), "foo.bar.example.com", False),
    ("wildcard-double", ("DNS:*.*.example.com",), (), "a.b.example.com", False),
    ("wildcard-doubled-star", ("DNS:**.example.com",), (), "a.example.com", False),
    ("wildcard-parent-leading-hyphen", ("DNS:*.-ab.example.com",), (), "x.-ab.example.com", False),
    ("wildcard-parent-trailing-hyphen", ("DNS:*.ab-.example.com",), (), "x.ab-.example.com", False),
    ("wildcard-parent-double-hyphen", ("DNS:*.a--b.example.com",), (), "x.a--b.example.com", True),
    ("wildcard-parent-underscore", ("DNS:*.foo_bar.com",), (), "x.foo_bar.com", False),
    ("underscore-literal", ("DNS:foo_bar.example.com",), (), "foo_bar.example.com", True),
    ("empty-dns-san", ("DNS:",), ("example.com",), "example.com", False),
    ("idna-name", ("DNS:xn--bcher-kva.example",), (), "bücher.example", True),
    ("idna-name-case", ("DNS:xn--bcher-kva.example",), (), "BÜCHER.example", True),
    ("ipv4", ("IP:127.0.0.1",), (), "127.0.0.1", True),
    ("ipv4-other", ("IP:127.0.0.2",), (), "127.0.0.1", False),
    ("ipv4-in-dns-san", ("DNS:127.0.0.1",), (), "127.0.0.1", False),
    ("ipv4-in-cn", None, ("127.0.0.1",), "127.0.0.1", False),
    ("ipv4-mapped-ipv6-san", ("IP:::ffff:127.0.0.1",), (), "127.0.0.1", False),
    ("ipv4-leading-zeros", ("IP:10.0.0.1",), (), "010.0.0.01", True),
    ("ipv4-leading-zeros-dns-san", ("DNS:010.0.0.1",), (), "010.0.0.1", False),
    ("ipv4-surrounding-spaces", ("IP:1.2.3.4",), (), " 1.2.3.4 ", True),
    ("ipv4-sign", ("IP:1.2.3.4",), (), "+1.2.3.4", True),
    ("ipv4-out-of-range-is-dns", ("DNS:256.0.0.1",), (), "256.0.0.1", True),
    ("ipv4-short-is-dns", ("DNS:1.2.3",), (), "1.2.3", True),
    ("ipv4-short-not-ip", ("IP:1.2.0.3",), (), "1.2.3", False),
    ("ipv4-suffix-is-dns", ("IP:1.2.3.4",), (), "1.2.3.4x", False),
    ("ipv6", ("IP:::1",), (), "::1", True),
    ("ipv6-long-form", ("IP:::1",), (), "0:0:0:0:0:0:0:1", True),
    ("ipv6-leading-zeros", ("IP:2001:db8::1",), (), "2001:0DB8::0001", True),
    ("ipv6-embedded-ipv4", ("IP:::ffff:1.2.3.4",), (), "::ffff:1.2.3.4", True),
    ("ipv6-other", ("IP:::2",), (), "::1", False),
    ("ipv6-unspecified", ("IP:::",), (), "::", True),
    ("ipv6-trailing-zeros", ("IP:1::",), (), "1::", True),
    ("ipv6-scope-is-dns", ("IP:fe80::1",), (), "fe80::1%eth0", False),
    ("ipv6-scope-dns-san", ("DNS:fe80::1%eth0",), (), "fe80::1%eth0", True),
    ("ipv6-hex-prefix-is-dns", ("IP:::1",), (), "0x0::1", False),
    ("ip-san-vs-dns-name", ("IP:127.0.0.1",), (), "localhost", False),
    ("cn-only", None, ("tsrv-host",), "tsrv-host", True),
    ("cn-only-case", None, ("TSRV-Host",), "tsrv-host", True),
    ("cn-only-wildcard", None, ("*.example.com",), "foo.example.com", True),
    ("cn-only-partial-wildcard", None, ("f*.example.com",), "foo.example.com", False),
    ("cn-only-other", None, ("tsrv-host",), "other-host", False),
    ("cn-second", None, ("first-host", "tsrv-host"), "tsrv-host", True),
    ("cn-ignored-with-dns-san", ("DNS:other.example.com",), ("tsrv-host",), "tsrv-host", False),
    ("cn-used-with-ip-san-only", ("IP:127.0.0.1",), ("tsrv-host",), "tsrv-host", True),
    ("cn-non-ascii-fold", None, ("\u212a.example.com",), "k.example.com", False),
    ("no-names", None, (), "tsrv-host", False),
]


def _rule_cert(loopback: Loopback, sans: tuple[str, ...] | None, cns: tuple[str, ...]) -> x509.Certificate:
    return loopback.leaf(subject(*cns), None if sans is None else san(*sans))


@pytest.mark.parametrize(("sans", "cns", "name", "expected"), [rule[1:] for rule in RULES],
                         ids=[rule[0] for rule in RULES])
def test_rule(loopback: Loopback, sans: tuple[str, ...] | None, cns: tuple[str, ...], name: str,
              expected: bool) -> None:
    cert = _rule_cert(loopback, sans, cns)
    result = explain_target_name(cert, name)
    assert result.matched is expected, result.reason
    assert match_target_name(cert, name) is expected


@pytest.mark.parametrize(("sans", "cns", "name", "expected"), [rule[1:] for rule in RULES],
                         ids=[rule[0] for rule in RULES])
def test_rule_is_what_ssl_does(loopback: Loopback, sans: tuple[str, ...] | None, cns: tuple[str, ...],
                               name: str, expected: bool) -> None:
    outcome = loopback.handshake(_rule_cert(loopback, sans, cns), name)
    assert outcome == ("ok" if expected else "name-mismatch")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        (".example.com", "starts with a dot"),
        ("a..example.com", "empty label"),
        ("example\x00.com", "NUL"),
        ("x" * 64 + ".example.com", "longer than 63"),
        ("b\u00fccher." + "x" * 62 + "\u00fc.example", "IDNA"),
        ("\u3002example.com", "IDNA"),
        (".".join(["a" * 63] * 4) + ".b", "255"),
    ],
    ids=["empty", "leading-dot", "empty-label", "nul", "label-too-long", "a-label-too-long", "ideographic-dot",
         "too-long-for-sni"],
)
def test_names_ssl_refuses_never_match(loopback: Loopback, name: str, why: str) -> None:
    # The certificate presents the name (without the NUL), so only the name itself can be the problem.
    shown = name.replace("\x00", "") if name.isascii() else "example.com"
    cert = loopback.leaf(subject(), san(f"DNS:{shown}"))
    result = explain_target_name(cert, name)
    assert not result.matched
    assert why in result.reason
    # ssl refuses these names before any handshake.
    assert loopback.handshake(cert, name) not in ("ok", "name-mismatch")


def test_docstring_examples() -> None:
    import doctest

    import genesys_tls.names

    assert doctest.testmod(genesys_tls.names).failed == 0


def test_too_long_ip_like_name_is_still_an_address(loopback: Loopback) -> None:
    # OpenSSL reads an address up to the first space; the 255-character limit is for server_name only.
    name = "1.2.3.4 " + ".".join(["a" * 60] * 5)
    cert = loopback.leaf(subject(), san("IP:1.2.3.4"))
    assert match_target_name(cert, name)
    assert loopback.handshake(cert, name) == "ok"


# Random DNS SANs/CNs and names over the characters the rules care about, checked against real handshakes.
_LABEL = st.text(alphabet="aAb-_*", max_size=4)
_DNS = st.builds(lambda labels, dot: ".".join(labels) + dot,
                 st.lists(_LABEL, min_size=1, max_size=4), st.sampled_from(["", "", "."]))


@st.composite
def _pattern_and_name(draw: st.DrawFn) -> tuple[str, str, bool]:
    pattern = draw(st.one_of(_DNS, _DNS.map(lambda rest: "*." + rest)))
    how = draw(st.sampled_from(["free", "same", "fill"]))
    if how == "same":
        name = "".join(draw(st.sampled_from([char, char.upper()])) for char in pattern)
    elif how == "fill":
        name = pattern.replace("*", draw(st.text(alphabet="aB-_*", max_size=3)), 1)
    else:
        name = draw(_DNS)
    return pattern, name, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(case=_pattern_and_name())
def test_random_dns_names_agree_with_ssl(loopback: Loopback, case: tuple[str, str, bool]) -> None:
    pattern, name, as_cn = case
    if as_cn and not 1 <= len(pattern) <= 64:
        as_cn = False
    cert = loopback.leaf(subject(pattern), None) if as_cn else loopback.leaf(subject(), san(f"DNS:{pattern}"))
    outcome = loopback.handshake(cert, name)
    ours = explain_target_name(cert, name)
    if outcome in ("ok", "name-mismatch"):
        assert ours.matched is (outcome == "ok"), (outcome, ours.reason)
    else:  # ssl refused the name before the handshake
        assert not ours.matched, (outcome, ours.reason)


# --- explain_target_name ----------------------------------------------------------------------------------


def test_explain_lists_presented_names_in_order(loopback: Loopback) -> None:
    cert = loopback.leaf(subject("tsrv-host"), san("DNS:tsrv-host", "IP:127.0.0.1", "IP:::1"))
    result = explain_target_name(cert, "tsrv-host")
    assert result == NameMatch(
        matched=True,
        expected="tsrv-host",
        presented=("DNS:tsrv-host", "IP:127.0.0.1", "IP:::1", "CN:tsrv-host"),
        reason="'tsrv-host' matches the certificate's DNS SAN 'tsrv-host'.",
    )


def test_explain_reasons(loopback: Loopback) -> None:
    with_san = loopback.leaf(subject("tsrv-host"), san("DNS:*.example.com", "IP:10.0.0.5"))
    result = explain_target_name(with_san, "tsrv-host")
    assert not result.matched
    assert "'*.example.com'" in result.reason and "CN is not checked" in result.reason

    result = explain_target_name(with_san, "a.example.com")
    assert result.matched and "wildcard DNS SAN" in result.reason

    result = explain_target_name(with_san, "010.0.0.5")
    assert result.matched and "IP address 10.0.0.5" in result.reason

    result = explain_target_name(with_san, "10.0.0.6")
    assert not result.matched
    assert "10.0.0.5" in result.reason and "never used for IP addresses" in result.reason

    cn_only = loopback.leaf(subject("tsrv-host"))
    result = explain_target_name(cn_only, "tsrv-host")
    assert result.matched and "no DNS SAN" in result.reason and result.presented == ("CN:tsrv-host",)
    result = explain_target_name(cn_only, "127.0.0.1")
    assert not result.matched and "no IP SAN" in result.reason

    result = explain_target_name(loopback.leaf(subject()), "tsrv-host")
    assert not result.matched and "neither a DNS SAN nor a subject CN" in result.reason

    result = explain_target_name(loopback.leaf(subject(), san("DNS:xn--bcher-kva.example")), "bücher.example")
    assert result.matched and "checked as 'xn--bcher-kva.example'" in result.reason


def test_malformed_san_is_no_match(loopback: Loopback) -> None:
    # A dNSName whose length runs past the end of the SEQUENCE.
    broken = x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x05\x82\x09tsrv")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject("tsrv-host"))
        .issuer_name(loopback.ca.subject)
        .public_key(loopback.key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - datetime.timedelta(hours=1))
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .add_extension(broken, critical=False)
        .sign(loopback.ca_key, hashes.SHA256())
    )
    with pytest.raises(ValueError):  # what a naive cert.extensions access would do
        _ = cert.extensions
    result = explain_target_name(cert, "tsrv-host")
    assert not result.matched
    assert "cannot be parsed" in result.reason
    assert result.presented == ("SAN:<unparseable>", "CN:tsrv-host")
    assert match_target_name(cert, "tsrv") is False


# --- agreement with Python's ssl on x509-limbo -------------------------------------------------------------


@attrs.define
class Tally:
    compared: list[str] = attrs.Factory(list)
    skipped: dict[str, str] = attrs.Factory(dict)
    disagreements: list[str] = attrs.Factory(list)
    deliberate: list[str] = attrs.Factory(list)


def _limbo_cases() -> list[dict[str, Any]]:
    if not LIMBO.is_file():
        pytest.skip(f"x509-limbo vectors not found at {LIMBO} (they live beside the project, in ../shared)")
    cases: list[dict[str, Any]] = json.loads(LIMBO.read_text(encoding="utf-8"))["testcases"]
    return [case for case in cases if case.get("expected_peer_name")]


def _load_leaf(case: dict[str, Any]) -> x509.Certificate:
    with warnings.catch_warnings():  # some limbo leaves break RFC 5280 on purpose (serial numbers...)
        warnings.simplefilter("ignore")
        return x509.load_pem_x509_certificate(case["peer_certificate"].encode())


def _limbo_copy(loopback: Loopback, case: dict[str, Any]) -> tuple[x509.Certificate, x509.Certificate]:
    """The limbo leaf, and a fresh leaf from the test CA with the same subject and SAN extension.

    Raises:
        ValueError: cryptography cannot parse or re-encode the leaf's subject or SAN.
    """
    leaf = _load_leaf(case)
    try:
        extension: x509.Extension[x509.ExtensionType] | None = leaf.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        )
    except x509.ExtensionNotFound:
        extension = None
    copied_subject = x509.Name(list(leaf.subject.rdns))
    if extension is None:
        fresh = loopback.leaf(copied_subject)
    else:
        assert isinstance(extension.value, x509.SubjectAlternativeName)
        fresh = loopback.leaf(copied_subject, extension.value, critical=extension.critical)
    return leaf, fresh


def _each_case(cases: Sequence[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for case in cases:
        yield case["id"], case["expected_peer_name"]["value"], case


def test_limbo_agrees_with_ssl(loopback: Loopback, record_property: Any) -> None:
    cases = _limbo_cases()
    tally = Tally()
    for case_id, name, case in _each_case(cases):
        try:
            leaf, fresh = _limbo_copy(loopback, case)
        except Exception as exc:  # cryptography cannot parse this leaf: count it, as the brief asks
            tally.skipped[case_id] = f"{type(exc).__name__}: {exc}"
            continue
        outcome = loopback.handshake(fresh, name)
        if outcome not in ("ok", "name-mismatch"):
            tally.skipped[case_id] = f"handshake failed before the name check: {outcome}"
            continue
        tally.compared.append(case_id)
        ours = match_target_name(fresh, name)
        assert match_target_name(leaf, name) is ours, f"{case_id}: the copy does not match like the original"
        if ours is not (outcome == "ok"):
            if case_id in SSL_DIFFERENCES:
                tally.deliberate.append(case_id)
            else:
                tally.disagreements.append(
                    f"{case_id}: {name!r}: ssl {outcome}, match_target_name {ours} "
                    f"({explain_target_name(fresh, name).reason})"
                )
    summary = (f"x509-limbo: {len(cases)} cases with an expected peer name, {len(tally.compared)} compared, "
               f"{len(tally.skipped)} skipped, {len(tally.disagreements)} disagreements, "
               f"{len(tally.deliberate)} deliberate differences")
    print(summary)
    for case_id, why in tally.skipped.items():
        print(f"  skipped {case_id}: {why}")
    record_property("limbo_compared", len(tally.compared))
    record_property("limbo_skipped", len(tally.skipped))
    assert not tally.disagreements, "\n".join(tally.disagreements)
    # Guard against a silent collapse (a broken copy or server would skip everything).
    assert len(tally.compared) >= 0.9 * len(cases), summary


def test_limbo_name_cases_differences_are_listed() -> None:
    """On limbo's name cases, match_target_name agrees with limbo except the listed OpenSSL/Genesys rules."""
    differing: dict[str, str] = {}
    for case_id, name, case in _each_case(_limbo_cases()):
        if not case_id.startswith(("webpki::san::", "webpki::cn::", "rfc5280::san::")):
            continue
        leaf = _load_leaf(case)
        ours = match_target_name(leaf, name)
        if ours is not (case["expected_result"] == "SUCCESS"):
            differing[case_id] = explain_target_name(leaf, name).reason
    assert set(differing) == set(LIMBO_NAME_DIFFERENCES), differing
