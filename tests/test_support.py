"""The Supporting Components data (genesys_tls/data/support.json) and its query module."""

from __future__ import annotations

import copy
import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest

from genesys_tls.errors import ConfigurationError
from genesys_tls.support import (
    SupportStatus,
    component_for_type,
    known_types,
    load_support,
    normalize_type,
    parse_support,
    render_components,
    support_for,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "support-matrix.md"

#: One id per component the source's Supporting Components section names.
EXPECTED_IDS = (
    # CCPulse+
    "ccpulse",
    # Configuration Layer
    "config_server", "config_manager", "db_server", "ldap",
    # eServices
    "interaction_server", "chat_server", "email_server", "ucs", "ucs_proxy", "sms_server",
    "social_messaging_server", "classification_server", "web_api_server_java", "web_api_server_net",
    # Composer, Info Mart, Knowledge Center
    "composer", "gim", "gkc",
    # GVP
    "gvp_mcp", "gvp_ccp", "gvp_rm", "gvp_mrcp_proxy", "gvp_reporting_server", "gvp_cti_connector", "gvp_ssg",
    # Gplus Adapter for Siebel CRM
    "gplus_siebel", "siebel",
    # iWD, ICON
    "iwd", "bcms", "icon",
    # Interaction Layer
    "web_browser", "genesys_administrator", "gax", "genesys_administrator_api", "database",
    # Workspace
    "workspace",
    # IVR
    "ivr_driver", "ivr_server", "ivr_sdk",
    # LRM, Load Distribution Server
    "lrm", "lds",
    # Management Layer
    "message_server", "scs", "sci", "lca", "gda",
    # Media Layer (T-Server, Network T-Server, SIP Server) and custom T-Library / Platform SDK clients
    "tserver", "custom_application",
    # Orchestration
    "ors", "federation_server",
    # Outbound
    "ocs", "cpd_server", "cpd_proxy",
    # Pulse, Services Layer
    "pulse", "stat_server", "stat_server_ii",
    # Universal Routing
    "urs", "ird",
    # WFM
    "wfm_data_aggregator", "wfm_daemon", "wfm_server", "wfm_builder", "wfm_web", "wfm_config_utility",
)  # fmt: skip

#: The headings of the source's Supporting Components section.
SOURCE_SECTIONS = (
    "CCPulse+",
    "Configuration Layer Components",
    "eServices Components",
    "Genesys Composer",
    "Genesys Info Mart",
    "Genesys Knowledge Center",
    "Genesys Voice Platform",
    "Gplus Adapter for Siebel CRM",
    "intelligent Workload Distribution",
    "Interaction Concentrator (ICON)",
    "Interaction Layer Components",
    "Interaction Workspace Components",
    "IVR Server and IVR Drivers Components",
    "License Resource Manager (LRM)",
    "Load Distribution Server",
    "Management Layer",
    "Media Layer Components",
    "Orchestration Server",
    "Outbound Contact Components",
    "Platform SDK",
    "Pulse",
    "Services Layer Components",
    "Universal Contact Components",
    "Universal Routing Components",
    "Workforce Management Components",
    "Workspace Desktop Edition (formerly known as Interaction Workspace) Components",
)

#: The types a Genesys page confirmed (the rest are marked confirmed: false).
CONFIRMED = {"T-Server", "Configuration Server", "Third Party Server", "Interaction Server"}


def _raw() -> Any:
    text = importlib.resources.files("genesys_tls").joinpath("data", "support.json").read_text("utf-8")
    return json.loads(text)


# --- the data ---------------------------------------------------------------------------------------------


def test_data_loads_and_validates() -> None:
    data = load_support()
    assert data.components and data.entries
    assert parse_support(_raw()) == data  # the packaged file passes the checks on its own
    for entry in data.entries:
        assert entry.source.strip() and entry.section.strip()
        assert entry.kind is None or entry.kind in data.kinds


def test_every_component_of_the_source_is_present() -> None:
    ids = set(load_support().components)
    missing = [cid for cid in EXPECTED_IDS if cid not in ids]
    assert not missing
    assert ids == set(EXPECTED_IDS), "a component was added: list it in EXPECTED_IDS"


def test_every_section_of_the_source_is_encoded() -> None:
    data = load_support()
    sections = {s for c in data.components.values() for s in c.sections} | {e.section for e in data.entries}
    assert [s for s in SOURCE_SECTIONS if s not in sections] == []
    assert sections <= set(SOURCE_SECTIONS)


def test_special_kinds_are_declared_and_used() -> None:
    data = load_support()
    used = {e.kind for e in data.entries if e.kind}
    assert {"gvp-own-format", "wfm-openssl", "config-server-auto-detect", "https-only", "database-ssl"} <= used
    assert used == set(data.kinds)


def test_type_names_map_to_one_component_and_confirmed_ones_cite_evidence() -> None:
    data = load_support()
    confirmed = {t.name for t in data.types.values() if t.confirmed}
    assert confirmed == CONFIRMED
    for t in data.types.values():
        assert t.evidence if t.confirmed else t.note
    assert len(known_types()) == len(set(map(normalize_type, known_types())))
    assert list(known_types()) == sorted(known_types(), key=str.casefold)
    assert {"T-Server", "Configuration Server", "Third Party Application", "Stat Server"} <= set(known_types())


# --- the sample pairs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "server", "status", "kinds"),
    [
        ("T-Server", "Configuration Server", "supported", ()),
        ("Configuration Server", "T-Server", "supported", ()),  # "between": either end may be the client
        ("Third Party Application", "T-Server", "supported", ()),  # custom T-Library client
        ("Stat Server", "DB Server", "supported", ()),
        ("CCView", "T-Server", "unsupported", ()),  # CCPulse+ -> T-Server is not listed
        ("CCPulse+", "T-Server", "unsupported", ()),
        ("Chat Server", "Interaction Server", "supported", ()),
        ("Voice Platform Reporting Server", "Voice Platform Media Control Platform", "special", ("gvp-own-format",)),
        ("WFM Server", "WFM Builder", "special", ("wfm-openssl",)),
        ("WFM Data Aggregator", "WFM Server", "special", ("wfm-openssl",)),
        ("Interaction Workspace", "Configuration Server", "special", ("config-server-auto-detect",)),
        ("No Such Server", "T-Server", "unknown-type", ()),
        ("T-Server", "No Such Server", "unknown-type", ()),
    ],
)
def test_sample_pairs(client: str, server: str, status: str, kinds: tuple[str, ...]) -> None:
    verdict = support_for(client, server)
    assert verdict.status == status
    assert verdict.kinds == kinds
    assert verdict.client_type == client and verdict.server_type == server
    if status in ("supported", "special"):
        assert verdict.source and verdict.entries and verdict.listed
    else:
        assert not verdict.listed and verdict.source == "" and verdict.notes


def test_verdict_names_components_and_quotes_the_source() -> None:
    verdict = support_for("Third Party Application", "T-Server")
    assert (verdict.client_component, verdict.server_component) == ("custom_application", "tserver")
    assert "custom client applications" in verdict.source
    special = support_for("Interaction Workspace", "Configuration Server")
    assert special.source == "Between Workspace Desktop Edition and Configuration Server"
    assert any("auto-detect" in note for note in special.notes)


def test_unknown_type_names_the_unknown_side_only() -> None:
    verdict = support_for("T-Server", "Frobnicator")
    assert verdict.status is SupportStatus.UNKNOWN_TYPE
    assert verdict.client_component == "tserver" and verdict.server_component is None
    assert verdict.notes == ("application type 'Frobnicator' is not in the Supporting Components data",)
    assert support_for("", "").status == "unknown-type"  # an application without a type


def test_direction_of_the_eservices_table() -> None:
    # From (client) -> To (server, secure listening port): only the listed direction is supported.
    assert support_for("Chat Server", "Configuration Server").status == "supported"
    assert support_for("Configuration Server", "Chat Server").status == "unsupported"
    esp = support_for("Interaction Server", "Chat Server")
    assert esp.status == "supported"
    assert esp.entries[0].port == "ESP"
    assert any("ESP" in note for note in esp.notes)
    assert any("8.1.0 or later" in note for note in esp.notes)


def test_wildcards_cover_genesys_servers_only() -> None:
    # "between the ICON Server and all other Genesys Servers"
    assert support_for("Interaction Concentrator", "T-Server").status == "supported"
    assert support_for("Stat Server", "ICON").status == "supported"
    # CCPulse+ is a desktop application, not a Genesys server
    assert support_for("Interaction Concentrator", "CCView").status == "unsupported"


def test_conditional_entries_decide_only_when_nothing_else_does() -> None:
    # Platform SDK: "for Genesys components that support this feature"
    verdict = support_for("Third Party Application", "Configuration Server")
    assert (verdict.status, verdict.kinds) == ("special", ("conditional",))
    # Message Server "and its clients" is unconditional, whatever Universal Routing's line says
    assert support_for("Universal Routing Server", "Message Server").status == "supported"
    assert support_for("Universal Routing Server", "Stat Server").kinds == ("conditional",)


def test_a_plain_entry_wins_over_a_special_one_for_the_same_pair() -> None:
    # WDE <-> T-Server is plain; the WDE SIP Endpoint <-> SIP Server line (sip-tls) does not make it special
    verdict = support_for("Interaction Workspace", "T-Server")
    assert (verdict.status, verdict.kinds) == ("supported", ())


# --- type matching ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["T-Server", "t-server", "  T-SERVER  ", "t-Server\n", "\tT-Server"]
)
def test_type_matching_ignores_case_and_surrounding_whitespace(spelling: str) -> None:
    assert component_for_type(spelling) == "tserver"


def test_type_matching_collapses_inner_whitespace() -> None:
    assert component_for_type("configuration    server") == "config_server"
    assert component_for_type("Configuration\tServer") == "config_server"
    assert support_for(" stat  server ", "DB\u00a0Server").status == "supported"
    assert component_for_type("TServer") is None  # only case and whitespace are normalized
    assert component_for_type("") is None


def test_configuration_server_proxy_and_sip_server() -> None:
    # A proxy is an Application of type Configuration Server; SIP Server has type T-Server.
    assert component_for_type("Configuration Server Proxy") == component_for_type("Configuration Server")
    assert component_for_type("SIP Server") == component_for_type("T-Server") == "tserver"


# --- loading ----------------------------------------------------------------------------------------------


def test_data_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = []
    real_files = importlib.resources.files

    def counting_files(package: Any) -> Any:
        reads.append(package)
        return real_files(package)

    load_support.cache_clear()
    monkeypatch.setattr(importlib.resources, "files", counting_files)
    try:
        support_for("T-Server", "Configuration Server")
        support_for("Stat Server", "DB Server")
        component_for_type("T-Server")
        known_types()
        assert reads == ["genesys_tls"]
        info = load_support.cache_info()
        assert (info.misses, info.hits) == (1, 3)
        assert load_support() is load_support()
    finally:
        load_support.cache_clear()


class _FakeResource:
    def __init__(self, text: str | None) -> None:
        self.text = text

    def joinpath(self, *parts: str) -> _FakeResource:
        return self

    def read_text(self, encoding: str = "utf-8") -> str:
        if self.text is None:
            raise FileNotFoundError(2, "No such file or directory")
        return self.text


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not valid JSON"), (None, "cannot read it"), ("[]", "expected an object")],
)
def test_a_broken_packaged_file_raises_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, text: str | None, message: str
) -> None:
    load_support.cache_clear()
    monkeypatch.setattr(importlib.resources, "files", lambda package: _FakeResource(text))
    try:
        with pytest.raises(ConfigurationError, match=message) as caught:
            support_for("T-Server", "Configuration Server")
        assert caught.value.file == "genesys_tls/data/support.json"
        assert "support data file is broken" in str(caught.value)
    finally:
        load_support.cache_clear()


def _broken(mutate: Any) -> Any:
    raw = copy.deepcopy(_raw())
    mutate(raw)
    return raw


@pytest.mark.parametrize(
    ("mutate", "where", "option"),
    [
        (lambda r: r.__setitem__("format", 2), "document", "format"),
        (lambda r: r["connections"][0].__setitem__("to", "nowhere"), "connections[0]", "to"),
        (lambda r: r["connections"][0].__setitem__("from", "@nogroup"), "connections[0]", "from"),
        (lambda r: r["connections"][3].__setitem__("kind", "magic"), "connections[3]", "kind"),
        (lambda r: r["connections"][1].__setitem__("direction", "backwards"), "connections[1]", "direction"),
        (lambda r: r["connections"][1].__setitem__("min_version", {"from": "8.x"}), "connections[1]",
         "min_version.from"),
        (lambda r: r["connections"][2].__setitem__("sorce", "typo"), "connections[2]", "sorce"),
        (lambda r: r["connections"][2].pop("source"), "connections[2]", "source"),
        (lambda r: r["components"]["tserver"].__setitem__("genesys_server", "yes"), "components.tserver",
         "genesys_server"),
        (lambda r: r["components"]["tserver"]["types"][0].pop("evidence"), "components.tserver.types[0]",
         "evidence"),
        (lambda r: r["components"]["wfm_web"]["types"].append({"name": " t-server", "confirmed": False,
                                                               "note": "dup"}), "components.wfm_web", "types"),
        (lambda r: r["components"]["ccpulse"].__setitem__("groups", ["nogroup"]), "components.ccpulse",
         "groups"),
        (lambda r: r["wildcards"].pop("any"), "wildcards", None),
        (lambda r: r.__setitem__("connections", []), "connections", None),
    ],
)  # fmt: skip
def test_a_broken_data_shape_names_where(mutate: Any, where: str, option: str | None) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_support(_broken(mutate), file="support.json")
    error = caught.value
    assert error.object == where
    assert error.option == option
    assert error.file == "support.json"
    assert str(error).startswith("the support data file is broken: ")


# --- documentation ----------------------------------------------------------------------------------------


def test_docs_hold_the_current_component_table() -> None:
    assert render_components() in DOCS.read_text(encoding="utf-8"), (
        "docs/support-matrix.md is out of date: paste `python -m genesys_tls.support` into it"
    )
