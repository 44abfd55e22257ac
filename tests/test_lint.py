"""genesys_tls.lint: every rule triggered and not triggered, the report shapes, the caches, robustness.

The registry's examples are environments over the example PKI (``genesys_tls.lint.docs.write_example_pki``,
built once per session with ``genesys_tls.pki``): each must trigger its rule, each fixed example must not.
The targeted tests below pin the semantics the examples do not show.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genesys_tls as gt
from genesys_tls.catalogue import CATALOGUE
from genesys_tls.errors import ConfigurationError
from genesys_tls.lint import RULES, Finding, Report, Severity, examples, lint
from genesys_tls.lint import context as context_module
from genesys_tls.lint import ports as ports_module
from genesys_tls.lint import rules as rules_module
from genesys_tls.lint.docs import render, write_example_pki
from genesys_tls.lint.files import verify_chain
from genesys_tls.lint.reporters import SARIF_SCHEMA, render_json, render_text, to_sarif
from genesys_tls.pki import CertificateAuthority

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [r for r in RULES.values() if r.example]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example_pki(tmp_path_factory.mktemp("lint-pki"))


def lint_text(text: str, base: Path, **kw: Any) -> Report:
    return lint(gt.loads(text, base_dir=base), **kw)


def codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}


def only(report: Report, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def link(**kw: Any) -> str:
    """The examples' server S (host srv) / client C (host cli) environment, see examples.link."""
    return examples.link(**kw)


# ============================================================================================ the registry


@pytest.mark.parametrize("rule", EXAMPLES, ids=lambda r: f"{r.code}-{r.name}")
def test_example_triggers_the_rule(rule: Any, pki: Path) -> None:
    report = lint_text(rule.example, pki)
    assert rule.code in codes(report), [(f.code, f.message) for f in report.findings]
    assert "GT900" not in codes(report)
    for finding in only(report, rule.code):
        assert finding.severity is rule.severity and finding.rule == rule.name
        assert finding.message and finding.hint


@pytest.mark.parametrize("rule", EXAMPLES, ids=lambda r: f"{r.code}-{r.name}")
def test_fixed_example_does_not_trigger_the_rule(rule: Any, pki: Path) -> None:
    assert rule.fixed, f"{rule.code} has no fixed example"
    report = lint_text(rule.fixed, pki)
    assert rule.code not in codes(report), [(f.code, f.message) for f in report.findings]
    assert "GT900" not in codes(report)


def test_registry_codes_and_names_are_stable_and_unique() -> None:
    names = [r.name for r in RULES.values()]
    assert len(set(names)) == len(names)
    for code, r in RULES.items():
        assert code == r.code and re.fullmatch(r"GT[1-9]\d\d", code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name)
        assert r.title and r.description and r.fix
        assert (r.example == "") == (code == "GT900")
    assert rules_module.rule("gt201") is RULES["GT201"]
    assert rules_module.rule("secure-port-no-certificate") is RULES["GT201"]
    with pytest.raises(ConfigurationError, match="unknown lint rule"):
        rules_module.rule("GT000")


def test_the_clean_link_has_no_finding(pki: Path) -> None:
    report = lint_text(link(), pki)
    assert report.findings == ()
    assert report.summary() == {"error": 0, "warning": 0, "info": 0}
    assert not report.fails("warning") and report.worst is None


def test_docs_page_is_current() -> None:
    page = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    assert page == render(), "run: python -m genesys_tls.lint.docs > docs/lint.md"
    for r in RULES.values():
        assert f"### {r.code} {r.name}" in page


def test_gt900_a_failing_check_is_a_finding_and_the_others_still_run(
    pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(ports_module, "_check_port", broken)
    report = lint_text(RULES["GT102"].example, pki)
    failed = only(report, "GT900")
    assert [(f.object, f.severity) for f in failed] == [("S/secure", Severity.ERROR)]
    assert "RuntimeError: boom" in failed[0].message
    assert "GT102" in codes(report)


# ============================================================================================ GT1xx


def test_transport_diagnostics_on_connections_too(pki: Path) -> None:
    report = lint_text(link(conn="tls-target-name-check=host; client-auth=1;TLS=1"), pki)
    by_code = {f.code: f for f in report.findings}
    assert by_code["GT101"].object == "C -> S/secure" and by_code["GT101"].level == "connection"
    assert by_code["GT101"].option == "client-auth"
    assert by_code["GT102"].option == "TLS"


def test_gt110_invalid_value_reported_where_written_even_when_shadowed(pki: Path) -> None:
    text = link(srv="{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem, tls-mutual: maybe}",
                port="tls=1;tls-mutual=0")
    report = lint_text(text, pki)
    [bad] = only(report, "GT110")
    assert (bad.object, bad.level, bad.option) == ("srv", "host-annex", "tls-mutual")
    assert "'maybe'" in bad.message and "1 or 0" in bad.hint
    assert "GT900" not in codes(report)


def test_gt110_a_winning_invalid_value_stops_only_the_checks_that_need_it(pki: Path) -> None:
    report = lint_text(link(port="tls=1;sec-protocol=SSLv3"), pki)
    assert codes(report) == {"GT110"}


def test_gt111_not_for_documented_levels_and_gt114_for_tls_in_security(pki: Path) -> None:
    text = "hosts: {h: {annex: {security: {tls: 1, tls-mutual: 1, client-auth: 1}}}}\napplications: {}\n"
    report = lint_text(text, pki)
    assert [(f.code, f.option) for f in report.findings] == [("GT114", "tls")]


def test_gt111_client_option_on_a_port(pki: Path) -> None:
    report = lint_text(link(port="tls=1;tls-target-name-check=host"), pki)
    [f] = only(report, "GT111")
    assert f.object == "S/secure" and "no effect" in f.message


def test_gt112_every_non_canonical_spelling(pki: Path) -> None:
    for spelling in ("TRUE", "on", "Yes", "false", "off"):
        report = lint_text(link(conn=f"tls-target-name-check=host;tls={spelling}"), pki)
        assert [f.option for f in only(report, "GT112")] == ["tls"], spelling
    assert "GT112" not in codes(lint_text(link(conn="tls-target-name-check=host;tls=1"), pki))


def test_gt113_leaves_other_security_options_alone(pki: Path) -> None:
    text = "hosts: {h: {annex: {security: {inactivity-timeout: 30, disable-rbac: 'false', Certificate: x}}}}\n"
    report = lint_text(text + "applications: {}\n", pki)
    assert [(f.code, f.option) for f in report.findings] == [("GT113", "Certificate")]


def test_gt114_message_follows_the_reading(pki: Path) -> None:
    example = RULES["GT114"].example
    psdk = only(lint_text(example, pki), "GT114")[0].message
    doc = only(lint_text(example, pki, reading="doc"), "GT114")[0].message
    assert "Platform SDK (this run's reading) applies it" in psdk
    assert "documentation (this run's reading)" in doc


# ============================================================================================ GT2xx


def test_gt202_not_for_thumbprints_other_providers_or_a_combined_pem(pki: Path, tmp_path: Path) -> None:
    thumb = "AB" * 20
    windows = (
        "hosts: {srv: {os: windows}}\napplications:\n"
        "  S: {type: T-Server, host: srv, ports: {secure: {port: 7001, transport: "
        f'"tls=1;certificate={thumb}"}}}}}}\n'
    )
    assert "GT202" not in codes(lint_text(windows, pki))
    jks = "hosts: {srv: {}}\napplications:\n" + examples.server("tls=1;certificate=store.jks;provider=JKS")
    assert "GT202" not in codes(lint_text(jks, pki))
    shutil.copy(pki / "srv.pem", tmp_path / "combined.pem")
    with open(tmp_path / "combined.pem", "ab") as handle:
        handle.write((pki / "srv.key").read_bytes())
    combined = "hosts: {srv: {}}\napplications:\n" + examples.server("tls=1;certificate=combined.pem")
    assert "GT202" not in codes(lint_text(combined, tmp_path))


def test_gt203_full_group_at_one_level_shadowing_another_is_no_split(pki: Path) -> None:
    # worked case 3: the whole group at the application, a certificate at the host: normal shadowing
    text = (
        "hosts:\n  srv: {annex: {security: {certificate: expired.pem}}}\n  cli: {}\napplications:\n"
        + examples.server(
            "tls=1", "    options: {security: {certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}}\n"
        )
    )
    assert "GT203" not in codes(lint_text(text, pki))


def test_gt203_on_the_client_side(pki: Path) -> None:
    # worked case 6: client AO certificate, AA trusted-ca -> trusted-ca ignored
    text = (
        _hosts_plain()
        + "applications:\n"
        + examples.server("tls=1", "    options: {security: {certificate: srv.pem, certificate-key: srv.key}}\n")
        + "  C:\n    type: Third Party Application\n    host: cli\n"
        "    options: {security: {certificate: cli.pem, certificate-key: cli.key}}\n"
        "    annex: {security: {trusted-ca: ca.pem}}\n"
        '    connections: [{server: S, port-id: secure, transport: "tls-target-name-check=host"}]\n'
    )
    [split] = only(lint_text(text, pki), "GT203")
    assert (split.object, split.level, split.option) == ("C", "application-options", "trusted-ca")
    assert "application-annex" in split.message


def _hosts_plain() -> str:
    return "hosts: {srv: {}, cli: {}}\n"


def test_gt204_client_side_and_not_when_at_the_certificate_level(pki: Path) -> None:
    text = link(conn="tls-target-name-check=host;sec-protocol=TLSv12")
    [f] = only(lint_text(text, pki), "GT204")
    assert (f.object, f.level) == ("C -> S/secure", "connection")
    assert "host-annex of cli" in f.message
    same = link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, sec-protocol: TLSv12}")
    assert "GT204" not in codes(lint_text(same, pki))


def test_gt206_gt309_no_trusted_ca_checks_against_certifi_except_on_windows(pki: Path) -> None:
    report = lint_text(RULES["GT206"].example, pki)
    [chain] = only(report, "GT309")
    assert "certifi" in chain.message
    windows = RULES["GT206"].example.replace("  cli: {annex:", "  cli: {os: windows, annex:")
    report = lint_text(windows, pki)
    assert "GT206" in codes(report) and "GT309" not in codes(report)


def test_gt208_encryption_only_skips_the_server_checks(pki: Path) -> None:
    text = link(conn="client-auth=0", srv="{certificate: untrusted.pem, certificate-key: untrusted.key}")
    report = lint_text(text, pki)
    assert "GT208" in codes(report)
    assert not codes(report) & {"GT209", "GT309", "GT308", "GT206"}


def test_gt209_reported_once_per_client_application(pki: Path) -> None:
    text = (
        _hosts_good()
        + "applications:\n"
        + examples.server()
        + examples.server().replace("  S:", "  S2:")
        + "  C:\n    type: Third Party Application\n    host: cli\n"
        "    connections: [{server: S, port-id: secure}, {server: S2, port-id: secure}]\n"
    )
    assert [f.object for f in only(lint_text(text, pki), "GT209")] == ["C"]


def _hosts_good() -> str:
    return examples.HOSTS


def test_gt210_for_every_protocol_below_tls12(pki: Path) -> None:
    for value, expected in (("SSLv23", True), ("TLSv11", True), ("TLSv1.1", True), ("", False), ("TLSv13", False)):
        report = lint_text(examples.host_only(f"{{sec-protocol: '{value}'}}"), pki)
        assert ("GT210" in codes(report)) is expected, value


def test_gt212_tls0_in_application_options(pki: Path) -> None:
    text = link().replace("    host: cli\n", "    host: cli\n    options: {security: {tls: 0}}\n")
    report = lint_text(text, pki)
    [f] = only(report, "GT212")
    assert (f.object, f.level) == ("C", "application-options")


def test_gt213_gt214_no_port_id_in_both_readings(pki: Path) -> None:
    example = RULES["GT213"].example
    psdk = lint_text(example, pki)
    assert {"GT213", "GT214"} <= codes(psdk)
    assert "plain client" not in only(psdk, "GT214")[0].message
    doc = lint_text(example, pki, reading="doc")
    assert "GT213" in codes(doc) and "GT214" not in codes(doc)
    assert "reading (doc)" in only(doc, "GT213")[0].message


def test_gt214_tls_in_server_application_options_psdk_vs_doc(pki: Path) -> None:
    # worked case 11: the PSDK makes the port secure but a client reads tls only from the port's parameters
    text = RULES["GT114"].example + (
        "  C:\n    type: Third Party Application\n    host: srv\n"
        '    connections: [{server: S, port-id: secure, transport: "tls-target-name-check=host"}]\n'
    )
    psdk = lint_text(text, pki)
    [f] = only(psdk, "GT214")
    assert "requires TLS" in f.message and "reads tls only from the port" in f.message
    assert "GT214" not in codes(lint_text(text, pki, reading="doc"))


def test_gt214_upgrade_port_accepts_plain_and_tls_clients(pki: Path) -> None:
    for conn in ("", "tls=1;tls-target-name-check=host"):
        report = lint_text(link(port="upgrade=1", conn=conn), pki)
        assert "GT214" not in codes(report), conn


def test_gt215_only_when_the_ranges_do_not_meet(pki: Path) -> None:
    def run(server: str, client: str) -> bool:
        text = link(
            srv=f"{{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem, sec-protocol: '{server}'}}",
            cli=f"{{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, sec-protocol: '{client}'}}",
        )
        return "GT215" in codes(lint_text(text, pki))

    assert run("TLSv12", "TLSv13") and run("TLSv11", "") and run("TLSv13", "TLSv11")
    assert not run("TLSv13", "SSLv23") and not run("", "TLSv12") and not run("TLSv12", "TLSv1.2")


# ============================================================================================ GT3xx / GT4xx


def test_gt306_window_follows_expiry_days(pki: Path) -> None:
    example = RULES["GT306"].example
    assert "GT306" in codes(lint_text(example, pki, expiry_days=30))
    assert "GT306" not in codes(lint_text(example, pki, expiry_days=5))
    assert "GT402" not in codes(lint_text(RULES["GT402"].example, pki, expiry_days=5))


def test_now_moves_the_dates(pki: Path) -> None:
    text = link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl.pem}")
    assert codes(lint_text(text, pki)) == set()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    report = lint_text(text, pki, now=later)
    assert {"GT305", "GT401"} <= codes(report)
    naive = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=400)  # naive: taken as UTC
    assert codes(lint_text(text, pki, now=naive)) == codes(report)


def test_gt308_tls_target_name_is_the_name_checked(pki: Path) -> None:
    srv = "{certificate: wrong-name.pem, certificate-key: wrong-name.key, trusted-ca: ca.pem}"
    assert "GT308" in codes(lint_text(link(srv=srv), pki))
    ok = link(srv=srv, conn="tls-target-name-check=host;tls-target-name=elsewhere")
    assert "GT308" not in codes(lint_text(ok, pki))
    no_check = link(srv=srv, conn="")
    assert "GT308" not in codes(lint_text(no_check, pki))


def test_gt309_client_certificate_against_a_mutual_port(pki: Path) -> None:
    text = link(port="tls=1;tls-mutual=1", cli="{certificate: untrusted.pem, certificate-key: untrusted.key, "
                "trusted-ca: ca.pem}")
    [f] = only(lint_text(text, pki), "GT309")
    assert "client certificate of C" in f.message and "S/secure's trusted-ca" in f.message


def test_gt309_intermediates_in_the_certificate_file(tmp_path: Path) -> None:
    root = CertificateAuthority.create("Root")
    inter = root.intermediate("Intermediate")
    leaf = inter.issue_server("srv")
    leaf.write(tmp_path, "full")  # leaf then the intermediate
    (tmp_path / "leaf-only.pem").write_bytes(leaf.cert_pem())
    (tmp_path / "root.pem").write_bytes(root.cert_pem())
    (tmp_path / "inter.pem").write_bytes(inter.cert_pem())

    def run(cert: str, ca: str) -> set[str]:
        return codes(lint_text(link(srv=f"{{certificate: '{cert}', certificate-key: full.key}}",
                                    cli=f"{{trusted-ca: {ca}}}"), tmp_path))

    assert "GT309" not in run("full.pem", "root.pem")
    assert "GT309" not in run("leaf-only.pem,inter.pem", "root.pem")  # a comma-separated chain
    assert "GT309" in run("leaf-only.pem", "root.pem")
    assert "GT309" not in run("leaf-only.pem", "inter.pem")  # an intermediate as trust anchor


def test_gt309_same_name_other_key() -> None:
    real, fake = CertificateAuthority.create("Test CA"), CertificateAuthority.create("Test CA")
    leaf = fake.issue_server("srv")
    reason = verify_chain([leaf.cert], [real.cert])
    assert reason is not None and "its key did not sign" in reason
    assert verify_chain([leaf.cert], [fake.cert]) is None
    assert verify_chain([real.cert], [real.cert]) is None
    assert verify_chain([], [real.cert]) == "there is no certificate"


def test_gt310_gt405_on_a_mutual_port_checking_clients(pki: Path) -> None:
    srv = "{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem, tls-crl: crl.pem}"
    revoked = link(port="tls=1;tls-mutual=1", srv=srv,
                   cli="{certificate: revoked.pem, certificate-key: revoked.key, trusted-ca: ca.pem}")
    [f] = only(lint_text(revoked, pki), "GT310")
    assert f.object == "C -> S/secure" and "client certificate" in f.message
    fine = link(port="tls=1;tls-mutual=1", srv=srv)
    assert not codes(lint_text(fine, pki)) & {"GT310", "GT404", "GT405"}


def test_crl_on_a_simple_port_is_not_used_for_clients(pki: Path) -> None:
    # a simple-TLS port checks no client certificate: its CRL is only checked against its own trusted-ca
    srv = "{certificate: srv.pem, certificate-key: srv.key, trusted-ca: cas.pem, tls-crl: crl-other.pem}"
    cli = "{certificate: revoked.pem, certificate-key: revoked.key, trusted-ca: ca.pem}"
    assert not codes(lint_text(link(srv=srv, cli=cli), pki)) & {"GT404", "GT405", "GT310"}
    mutual = lint_text(link(srv=srv, cli=cli, port="tls=1;tls-mutual=1"), pki)
    assert "GT405" in codes(mutual)  # now it checks the client's certificate, and has no CRL of Test CA


def test_file_findings_are_reported_once_where_the_file_is_named(pki: Path) -> None:
    apps = "".join(
        f"  S{i}: {{type: T-Server, host: srv, ports: {{secure: {{port: 7001, transport: 'tls=1'}}}}}}\n"
        for i in range(50)
    )
    text = "hosts: {srv: {annex: {security: {certificate: expired.pem, certificate-key: expired.key}}}}\n"
    report = lint_text(text + "applications:\n" + apps, pki)
    assert [(f.object, f.level) for f in only(report, "GT305")] == [("srv", "host-annex")]


@pytest.mark.parametrize("share", [False, True], ids=["each-on-its-own", "shared"])
def test_files_are_read_once_and_ports_resolved_once(pki: Path, share: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context_module, "SHARE_CLEAN_CHECKS", share)
    n = 60
    apps = "".join(
        f"  A{i}:\n    type: T-Server\n    host: {'srv' if i % 2 else 'cli'}\n"
        f"    ports: {{secure: {{port: 7001, transport: 'tls=1;tls-mutual=1'}}}}\n"
        f"    connections: [{{server: A{(i + 1) % n}, port-id: secure, transport: tls-target-name-check=host}},"
        f" {{server: A{(i + 2) % n}, port-id: secure, transport: tls-target-name-check=host}}]\n"
        for i in range(n)
    )
    hosts = (
        "hosts:\n"
        "  srv: {annex: {security: {certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem, "
        "tls-crl: crl.pem}}}\n"
        "  cli: {annex: {security: {certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, "
        "tls-crl: crl.pem}}}\n"
    )
    report = lint_text(hosts + "applications:\n" + apps, pki)
    files = report.stats.files
    assert set(Path(p).name for p in files.reads) == {"srv.pem", "srv.key", "cli.pem", "cli.key", "ca.pem", "crl.pem"}
    assert files.max_reads == 1
    if share:  # 4 distinct links (host to host) checked, the other connections share their answer
        assert not report.findings
        assert report.stats.checks_shared > 2 * n - 8
    else:
        assert files.hits > 4 * n  # every connection used the cache
        assert report.stats.checks_shared == 0
    assert report.stats.ports_resolved == n and report.stats.connections_resolved == 2 * n


def _many_alike(seed: int) -> str:
    """An environment where many connections, ports and levels share their inputs (the same hosts, types and
    transport parameters under other names), some of them clean and some with findings of every scope."""
    import random

    rng = random.Random(seed)
    hosts = {
        "srv": {"certificate": "srv.pem", "certificate-key": "srv.key", "trusted-ca": "ca.pem", "tls-crl": "crl.pem"},
        "cli": {"certificate": "cli.pem", "certificate-key": "cli.key", "trusted-ca": "ca.pem"},
        "wrong": {"certificate": "wrong-name.pem", "certificate-key": "wrong-name.key", "trusted-ca": "ca.pem"},
        "revoked": {"certificate": "revoked.pem", "certificate-key": "revoked.key", "trusted-ca": "ca.pem",
                    "tls-crl": "crl.pem"},
        "untrusted": {"certificate": "untrusted.pem", "certificate-key": "untrusted.key", "trusted-ca": "other-ca.pem"},
        "noca": {"certificate": "cli.pem", "certificate-key": "cli.key"},
        "bare": {},
    }
    types = ["T-Server", "SIP Server", "Third Party Application", "Interaction Concentrator", "CCView",
             "Not A Type"]
    ports = ["tls=1", "tls=1;tls-mutual=1", "upgrade=1", "", "tls=1;sec-protocol=TLSv1.3", "tls=1;tls-mutual=1"]
    conns = ["tls-target-name-check=host", "", "tls=1", "client-auth=0", "tls=0", "tls-target-name-chek=host",
             "tls-target-name-check=host;sec-protocol=TLSv1.2",
             "tls-target-name=other.example;tls-target-name-check=host"]
    levels = [("tls-target-name-check", "host"), ("tls", "1"), ("sec-protocol", "TLSv1.1"), ("certificat", "cli.pem"),
              ("client-auth", "0"), ("tls-mutual", "1")]
    n = 80
    apps: dict[str, Any] = {}
    for i in range(n):
        app: dict[str, Any] = {"type": rng.choice(types), "host": rng.choice([*hosts, *["srv", "cli"] * 3])}
        app["ports"] = {"secure": {"port": 7001, "transport": rng.choice(ports)}}
        if rng.random() < 0.3:
            app["ports"]["default"] = {"port": 7000, "transport": rng.choice(["tls=1", ""])}
        for level in ("options", "annex"):  # equal contents in objects of their own
            if rng.random() < 0.25:
                app[level] = {"security": dict([rng.choice(levels)])}
        connections = []
        for _ in range(rng.randrange(1, 6)):
            conn: dict[str, Any] = {"server": f"A{rng.randrange(n)}", "transport": rng.choice(conns)}
            if rng.random() < 0.8:
                conn["port-id"] = "secure"
            connections.append(conn)
        app["connections"] = connections
        apps[f"A{i}"] = app
    for app in apps.values():  # each connection to a port its server has, or to none
        for conn in app["connections"]:
            theirs = sorted(apps[conn["server"]]["ports"])
            if "port-id" in conn or "default" not in theirs:
                conn["port-id"] = rng.choice(theirs)
    return json.dumps({
        "hosts": {name: {"annex": {"security": security}} if security else {} for name, security in hosts.items()},
        "applications": apps,
    })


@pytest.mark.parametrize("seed", range(6))
def test_shared_checks_find_exactly_what_checking_each_object_alone_finds(
    pki: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _many_alike(seed)
    shared = lint_text(text, pki)
    monkeypatch.setattr(context_module, "SHARE_CLEAN_CHECKS", False)
    alone = lint_text(text, pki)
    assert shared.stats.checks_shared > 50 and alone.stats.checks_shared == 0  # the sharing did happen
    assert len(alone.findings) > 50 and len(codes(alone)) > 10  # on links with findings of many rules
    assert shared.findings == alone.findings  # the same findings, in the same order, each on its own object
    assert shared.to_dict(lines=True) == alone.to_dict(lines=True)
    assert shared.paths == alone.paths
    assert dict(shared.stats.files.reads) == dict(alone.stats.files.reads)
    assert (shared.stats.ports_resolved, shared.stats.connections_resolved) == (
        alone.stats.ports_resolved,
        alone.stats.connections_resolved,
    )


# ============================================================================================ GT5xx


def test_support_rules_only_when_tls_is_on(pki: Path) -> None:
    text = link(client_type="CCView", port="", conn="")
    assert not codes(lint_text(text, pki)) & {"GT501", "GT502", "GT503"}


def test_gt503_once_per_application_and_for_missing_types(pki: Path) -> None:
    text = link(client_type="Acme Dialer").replace("    type: T-Server\n", "")
    objects = sorted(f.object for f in only(lint_text(text, pki), "GT503"))
    assert objects == ["C", "S"]
    assert "no type" in only(lint_text(text, pki), "GT503")[1].message


# ============================================================================================ API and shapes


def test_rule_selection_and_argument_checks(pki: Path) -> None:
    example = RULES["GT203"].example
    assert codes(lint_text(example, pki)) == {"GT202", "GT203"}
    assert codes(lint_text(example, pki, rules=["GT203"])) == {"GT203"}
    assert codes(lint_text(example, pki, rules=["certificate-without-key"])) == {"GT202"}
    env = gt.loads(example, base_dir=pki)
    for bad in ({"rules": ["GT999"]}, {"expiry_days": -1}, {"reading": "native"}):
        with pytest.raises(ConfigurationError):
            lint(env, **bad)


def test_json_shape_follows_the_contract(pki: Path, tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(RULES["GT203"].example, encoding="utf-8")
    for name in ("srv.pem", "srv.key", "ca.pem"):
        shutil.copy(pki / name, tmp_path / name)
    report = lint(gt.load(path))
    data = json.loads(render_json(report))
    assert set(data) == {"findings", "summary"}
    assert data["summary"] == {"error": 3, "warning": 0, "info": 0}
    for finding in data["findings"]:
        assert {"severity", "code", "object", "option", "message", "hint", "level"} <= set(finding)
        assert all(isinstance(v, str) for v in finding.values())
        assert finding["severity"] in ("error", "warning", "info")
        assert finding["file"] == str(path)
    assert data == report.to_dict()


def test_text_report_groups_by_object(pki: Path) -> None:
    text = render_text(lint_text(RULES["GT203"].example, pki))
    lines = text.splitlines()
    assert lines[0] == "S/secure"
    assert sum(1 for line in lines if line == "S/secure") == 1
    assert lines[-1] == "3 findings: 3 errors, 0 warnings, 0 info"
    assert render_text(lint_text(link(), pki)).strip() == "no findings"


SARIF_ESSENTIALS: dict[str, Any] = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "pattern": "sarif-schema-2\\.1\\.0\\.json$"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "defaultConfiguration"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object", "required": ["text"],
                                                },
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {"enum": ["none", "note", "warning", "error"]}
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "required": ["text"],
                                            "properties": {"text": {"type": "string", "minLength": 1}}},
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object", "required": ["uri"],
                                                        "properties": {"uri": {"type": "string"}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {"startLine": {"type": "integer", "minimum": 1}},
                                                    },
                                                },
                                            },
                                            "logicalLocations": {"type": "array"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_has_the_essential_2_1_0_structure(pki: Path, tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(RULES["GT310"].example + "# end\n", encoding="utf-8")
    for name in ("revoked.pem", "revoked.key", "ca.pem", "cli.pem", "cli.key", "crl.pem"):
        shutil.copy(pki / name, tmp_path / name)
    report = lint(gt.load(path), rules=None)
    log = json.loads(json.dumps(to_sarif(report)))
    jsonschema.validate(log, SARIF_ESSENTIALS)
    assert log["$schema"] == SARIF_SCHEMA
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    results = run["results"]
    assert [r["ruleId"] for r in results] == [f.code for f in report.findings] and "GT310" in codes(report)
    lines = path.read_text(encoding="utf-8").splitlines()
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == RULES[result["ruleId"]].severity.sarif_level
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"].endswith("env.yaml")
        if result["ruleId"] == "GT310":  # a connection: located on the client's connections line
            assert "server: S" in lines[physical["region"]["startLine"] - 1]


def test_sarif_info_is_note_and_no_file_means_logical_locations_only(pki: Path) -> None:
    report = lint_text(RULES["GT106"].example, pki)
    result = next(r for r in to_sarif(report)["runs"][0]["results"] if r["ruleId"] == "GT106")
    assert result["level"] == "note"
    assert "physicalLocation" not in result["locations"][0]
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "S/secure/port"


# ============================================================================================ robustness

_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "yes", "2", "host", "no", "TLSv12", "SSLv3", "srv.pem", "missing.pem", "folder",
                     "not-pem.pem", "ca.pem", "crl.pem", "crl-other.pem", "AB" * 20, "PEM", "JKS", "!!", "a,b", ","]),
    st.text(max_size=12),
)
_OPTIONS = st.sampled_from([*CATALOGUE, "TLS", " tls", "trusted_ca", "x"])
_SECTION = st.dictionaries(_OPTIONS, _VALUES, max_size=5)
_TRANSPORT = st.one_of(
    st.lists(st.tuples(_OPTIONS, _VALUES), max_size=4).map(lambda kv: ";".join(f"{k}={v}" for k, v in kv)),
    st.text(alphabet="tls=1;- mutual", max_size=20),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    host=_SECTION, server=_SECTION, client=_SECTION, port=_TRANSPORT, conn=_TRANSPORT,
    windows=st.booleans(), port_id=st.sampled_from([None, "default", "secure"]),
)
def test_lint_never_crashes(
    pki: Path, host: dict[str, str], server: dict[str, str], client: dict[str, str], port: str, conn: str,
    windows: bool, port_id: str | None,
) -> None:
    data: dict[str, Any] = {
        "hosts": {"srv": {"annex": {"security": host}, **({"os": "windows"} if windows else {})}, "cli": {}},
        "applications": {
            "S": {"type": "T-Server", "host": "srv", "options": {"security": server},
                  "ports": {"default": {"transport": port}, "secure": {"transport": "tls=1"}}},
            "C": {"host": "cli", "annex": {"security": client},
                  "connections": [{"server": "S", "port-id": port_id, "transport": conn}]},
        },
    }
    report = lint(gt.loads(json.dumps(data), format="json", base_dir=pki))
    assert "GT900" not in codes(report), [f.message for f in only(report, "GT900")]
    json.dumps(report.to_dict())
    json.dumps(to_sarif(report))


def test_a_file_name_with_a_nul_character_is_a_finding(pki: Path) -> None:
    data = {
        "hosts": {"h": {"annex": {"security": {"certificate": "a\x00.pem", "certificate-key": "k\x00",
                                               "tls-crl": "c\x00"}}}},
        "applications": {"S": {"host": "h", "ports": {"p": {"transport": "tls=1;trusted-ca=\x00"}}}},
    }
    report = lint(gt.loads(json.dumps(data), format="json", base_dir=pki))
    assert [f.option for f in only(report, "GT302")] == ["certificate", "certificate-key", "tls-crl", "trusted-ca"]
    assert "GT900" not in codes(report)


def test_a_cipher_list_with_a_nul_character_is_a_finding(pki: Path) -> None:
    report = lint(gt.loads(json.dumps({"hosts": {"h": {"annex": {"security": {"cipher-list": "A\x00"}}}}}),
                           format="json", base_dir=pki))
    assert [f.code for f in report.findings] == ["GT211"]


def test_gt404_where_the_crl_and_trusted_ca_are_written_once(pki: Path) -> None:
    alone = examples.host_only("{trusted-ca: ca.pem, tls-crl: crl-other.pem}")
    [f] = only(lint_text(alone, pki), "GT404")
    assert (f.object, f.level) == ("srv", "host-annex")
    assert "GT404" not in codes(lint_text(examples.host_only("{trusted-ca: ca.pem, tls-crl: crl.pem}"), pki))
    # used by a link too: still one finding
    linked = lint_text(RULES["GT404"].example, pki)
    assert [(f.object, f.level) for f in only(linked, "GT404")] == [("cli", "host-annex")]
