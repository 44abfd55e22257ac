"""SIP Endpoint facts, model, checks and docs: no sockets, no TLS."""

from __future__ import annotations

import ast
import ipaddress
from pathlib import Path

import pytest
from _sip import IDENTITY_KEYS, endpoint, workspace

from genesys_tls.errors import ConfigurationError
from genesys_tls.pki import CertificateAuthority
from genesys_tls.sipendpoint.checks import AddressPolicy, match_subject
from genesys_tls.sipendpoint.directory import load_user_file, user_from_mapping
from genesys_tls.sipendpoint.docs import render
from genesys_tls.sipendpoint.facts import facts
from genesys_tls.sipendpoint.model import parse_endpoint_config, parse_properties
from genesys_tls.sipendpoint.scenarios import AGENT_SUBJECT, AGENT_USER, CRITERIA, PROPERTIES

ROOT = Path(__file__).resolve().parents[1]
HTTPS1 = {"protocol": "https", "security_level": "1", "certificate_search_value": "x"}


def test_docs_page_is_current() -> None:
    page = (ROOT / "docs" / "sipendpoint.md").read_text(encoding="utf-8")
    assert page == render(), "run: python -m genesys_tls.sipendpoint.docs > docs/sipendpoint.md"


def test_deciding_modules_import_neither_ssl_nor_socket() -> None:
    for name in ("facts", "model", "directory", "checks", "rules", "app", "http", "scenarios", "docs"):
        tree = ast.parse((ROOT / "genesys_tls" / "sipendpoint" / f"{name}.py").read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not imported & {"ssl", "socket", "ldap3"}, name
    tree = ast.parse((ROOT / "genesys_tls" / "stores.py").read_text(encoding="utf-8"))
    assert not {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} & {"ssl", "socket"}


def test_pair_table_covers_every_pair() -> None:
    data = facts()
    assert len(data.pairs) == 12
    working = {k for k, p in data.pairs.items() if p.verdict == "works"}
    assert working == {(0, 0), (0, 1), (1, 2), (2, 3)}
    assert {(r.endpoint_level, r.workspace_level) for r in data.matrix} == working
    for endpoint_level in (1, 2):
        for workspace_level in (0, 1):
            assert data.pair(endpoint_level, workspace_level).verdict == "error"
    assert set(data.workspace_options) >= {"vdi-detection-use-dns", "security-level", "subject-criteria"}
    assert data.workspace_options["vdi-detection-use-dns"].added == "8.5.140.08"
    assert data.endpoint_keys["protocol"].default == "http" and data.endpoint_keys["port"].default == "8000"


def test_defaults_add_remove_clear_and_later_add_wins() -> None:
    config = endpoint({})
    assert (config.protocol, config.port, config.security_level) == ("http", 8000, None)
    text = """<?xml version="1.0"?>
<configuration>
  <startup><supportedRuntime version="v4.0"/></startup>
  <appSettings>
    <add key="port" value="9000"/>
    <add key="cors" value="*"/>
    <clear/>
    <add key="protocol" value="https"/>
    <add key="security_level" value="0"/>
    <add key="certificate_search_value" value="AB CD"/>
    <add key="port" value="8001"/>
    <add key="port" value="8002"/>
    <add key="title" value="T"/>
    <remove key="title"/>
    <add key="ipv4_address_range" value="10.20.35.0/24, 10.20.39.0/24"/>
  </appSettings>
</configuration>"""
    config = parse_endpoint_config(text, file="f.config")
    assert config.port == 8002 and config.line_of("port") == 12
    assert config.cors is None and config.title is None and config.security_level == 0
    assert config.ipv4_ranges == (ipaddress.ip_network("10.20.35.0/24"), ipaddress.ip_network("10.20.39.0/24"))
    assert [e.action for e in config.events][:3] == ["add", "add", "clear"]


BAD_INPUTS = {
    "malformed": ("<configuration><appSettings>", "malformed XML"),
    "doctype": ('<!DOCTYPE configuration [<!ENTITY x "y">]><configuration/>', "DOCTYPE"),
    "external-entity": ('<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><c>&x;</c>', "DOCTYPE"),
    "root": ("<settings/>", "root element"),
    "protocol": ({"protocol": "ftp"}, "unknown protocol"),
    "port-zero": ({"port": "0"}, "not a TCP port"),
    "port-high": ({"port": "65536"}, "not a TCP port"),
    "port-text": ({"port": "80a"}, "not a TCP port"),
    "level": ({"protocol": "https", "security_level": "3"}, "unknown security level"),
    "https-without-level": ({"protocol": "https"}, "security_level is not set"),
    "cidr": ({"ipv4_address_range": "10.20.35.0/33"}, "not a CIDR range"),
    "cidr-host-bits": ({"ipv4_address_range": "10.20.35.1/24"}, "not a CIDR range"),
    "ipv6-in-ipv4": ({"ipv4_address_range": "fd00::/64"}, "IPv6 range in the IPv4 key"),
    "ipv4-in-ipv6": ({"ipv6_address_range": "10.0.0.0/8"}, "IPv4 range in the IPv6 key"),
    "criterion": ({"subject_criteria": "E,XX", "subject_matching_properties": "mail,cn"}, "unknown subject criterion"),
    "criteria-count": ({**HTTPS1, "security_level": "2", "subject_criteria": "E,CN,OU,OU,OU,DC,DC,DC,DC",
                        "subject_matching_properties": "mail,cn,distinguishedName.OU,distinguishedName.OU,"
                        "distinguishedName.OU,distinguishedName.DC,distinguishedName.DC"}, "9 criteria but"),
    "level-2-without-criteria": ({**HTTPS1, "security_level": "2"}, "checks the certificate subject"),
    "property": ({"subject_criteria": "E", "subject_matching_properties": "ma il"}, "not a directory property"),
    "dn-rdn": ({"subject_criteria": "OU", "subject_matching_properties": "distinguishedName.XX"}, "unknown RDN"),
    "localhost": ({"localhost": "yes"}, "not a boolean"),
    "cors": ({"cors": "javascript:alert(1)"}, "not a CORS origin"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs(case: str) -> None:
    given, reason = BAD_INPUTS[case]
    with pytest.raises(ConfigurationError) as info:
        if isinstance(given, str):
            parse_endpoint_config(given, file="bad.config")
        else:
            endpoint(given, file="bad.config")
    text = str(info.value)
    assert reason in text and "bad.config" in text
    assert "\n" not in text
    if not isinstance(given, str):
        assert info.value.option is not None and info.value.valid


def test_workspace_settings_typed_and_bad_values() -> None:
    ws = workspace({"protocol": "https", "port": "8000", "security-level": "3", "certificate-search-value": "CA",
                    "subject-criteria": "E", "subject-matching-properties": "mail", "vdi-detection-use-dns": "true"})
    assert (ws.security_level, ws.subject_criteria, str(ws.subject_matching_properties[0])) == (3, ("E",), "mail")
    assert ws.vdi_detection_use_dns is True
    for options, reason in (
        ({"protocol": "https", "port": "8000", "security-level": "4"}, "unknown security level"),
        ({"protocol": "https", "port": "8000", "security_level": "2"}, "the option's name is"),
        ({"protocol": "https", "port": "8000", "security-level": "3", "certificate-search-value": "x"},
         "subject-criteria is empty"),
        ({"protocol": "http", "port": "99999"}, "not a TCP port"),
    ):
        with pytest.raises(ConfigurationError) as info:
            workspace(options)
        assert reason in str(info.value) and info.value.object == "WDE"
        assert "interaction-workspace" in str(info.value)


def test_workspace_needs_protocol_and_port() -> None:
    with pytest.raises(ConfigurationError, match="protocol"):
        workspace({"port": "8000"})
    with pytest.raises(ConfigurationError, match="port"):
        workspace({"protocol": "http"})


def test_address_policy() -> None:
    unrestricted = AddressPolicy()
    assert unrestricted.unrestricted and unrestricted.check("192.0.2.1").allowed
    v4 = AddressPolicy(ipv4=(ipaddress.IPv4Network("127.0.0.2/32"),))
    assert v4.check("127.0.0.2").allowed and not v4.check("127.0.0.1").allowed
    assert v4.check("::ffff:127.0.0.2").allowed, "IPv4-mapped peers are checked as IPv4"
    assert not v4.check("::1").allowed, "ranges of one family refuse the other family"
    v6 = AddressPolicy(ipv6=(ipaddress.IPv6Network("::1/128"),))
    assert v6.check("::1").allowed and not v6.check("127.0.0.1").allowed
    assert "only ipv6_address_range" in v6.check("127.0.0.1").reason
    local = AddressPolicy(localhost=True)
    assert local.check("127.0.0.5").allowed and local.check("::1").allowed and not local.check("10.0.0.1").allowed
    both = AddressPolicy(ipv4=(ipaddress.IPv4Network("10.0.0.0/8"),), localhost=True)
    assert not both.check("10.0.0.1").allowed and not both.check("127.0.0.1").allowed, "both must pass"
    assert not v4.check("not-an-address").allowed


def test_subject_match_order() -> None:
    ca = CertificateAuthority.create("Agent CA")
    user = user_from_mapping(dict(AGENT_USER))
    criteria = CRITERIA.split(",")
    properties = parse_properties(PROPERTIES, file=None, object="t", option="p")
    good = ca.issue(["h"], subject=AGENT_SUBJECT).cert
    assert match_subject(good.subject, user, criteria, properties) == ()
    swapped = ca.issue(["h"], subject=AGENT_SUBJECT.replace("OU=Agents,OU=Sales", "OU=Sales,OU=Agents")).cert
    found = match_subject(swapped.subject, user, criteria, properties)
    assert [(m.criterion, m.index) for m in found] == [("OU", 2), ("OU", 3)]
    upper = ca.issue(["h"], subject=AGENT_SUBJECT.upper().replace("E=", "E=", 1)).cert
    assert match_subject(upper.subject, user, criteria, properties) == (), "compared ignoring case"
    missing = ca.issue(["h"], subject="CN=John Smith").cert
    found = match_subject(missing.subject, user, ["E", "CN"], parse_properties("mail,cn", file=None, object="t",
                                                                                 option="p"))
    assert len(found) == 1 and found[0].certificate_value is None and "has no E" in found[0].reason
    nobody = user_from_mapping({"uid": "x", "cn": "John Smith"})
    found = match_subject(good.subject, nobody, ["E"], parse_properties("mail", file=None, object="t", option="p"))
    assert found[0].directory_value is None
    with pytest.raises(ConfigurationError):
        match_subject(good.subject, user, ["E", "CN"], properties[:1])


def test_user_file(tmp_path: Path) -> None:
    path = tmp_path / "user.yaml"
    path.write_text("sAMAccountName: jsmith\nmail: [a@example.com, b@example.com]\n"
                    "distinguishedName: 'CN=J,OU=A,DC=example'\n", encoding="utf-8")
    user = load_user_file(path)
    assert user.name == "jsmith" and user.values("MAIL") == ("a@example.com", "b@example.com")
    assert user.dn_values("ou") == ("A",) and user.values("distinguishedName") == ("CN=J,OU=A,DC=example",)
    path.write_text("distinguishedName: 'not a dn'\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a distinguished name"):
        load_user_file(path)
    path.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="mapping"):
        load_user_file(path)
    with pytest.raises(ConfigurationError):
        load_user_file(tmp_path)


def test_identity_keys_helper_parses() -> None:
    config = endpoint({**HTTPS1, "security_level": "2", **IDENTITY_KEYS})
    assert len(config.subject_criteria) == len(config.subject_matching_properties) == 9


def test_choices_table_names_existing_tests() -> None:
    import re

    page = (ROOT / "docs" / "sipendpoint.md").read_text(encoding="utf-8")
    references = re.findall(r"`(test_[a-z_]+\.py)::(test_[a-z0-9_]+)`", page)
    assert len(references) >= 10
    for file, name in references:
        assert f"def {name}(" in (ROOT / "tests" / file).read_text(encoding="utf-8"), f"{file}::{name}"
