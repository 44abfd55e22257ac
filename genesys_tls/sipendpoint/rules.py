"""``GT6xx``: lint rules for a Workspace SIP Endpoint ``.exe.config``, alone or against a Workspace application's
``sipendpoint.standalone.*`` options (no ``ssl``, no sockets).

The findings are the project's :class:`~genesys_tls.lint.Finding`; :func:`check` returns a :class:`SipReport`,
rendered as text, JSON (the ``lint --json`` shape plus ``line``) or SARIF by the project's lint reporters.
Each rule has an example (it triggers the rule) and the example fixed (it does not); the tests run both, and
``docs/sipendpoint.md`` lists them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import quoteattr

import attrs

from ..lint.engine import CacheStats, LintStats, Report
from ..lint.rules import Finding, Rule, Severity
from .facts import facts
from .model import EndpointConfig, WorkspaceSettings

__all__ = ["SIP_RULES", "RuleExample", "SipReport", "check", "example_config", "render_report"]

E, W = Severity.ERROR, Severity.WARNING
_WS_LEVEL = "application-options [interaction-workspace]"


@attrs.frozen
class RuleExample:
    """An example of a rule: endpoint keys (and Workspace options, without the prefix), and the fixed ones."""

    endpoint: Mapping[str, str]
    workspace: Mapping[str, str] | None
    fixed_endpoint: Mapping[str, str]
    fixed_workspace: Mapping[str, str] | None


_SAFE = {"protocol": "https", "port": "8000", "security_level": "1", "certificate_search_value": "Agent CA",
         "ipv4_address_range": "10.20.35.0/24"}
_SAFE_WS = {"protocol": "https", "port": "8000", "security-level": "2", "certificate-search-value": "Agent CA"}


def _with(base: Mapping[str, str], **changes: str | None) -> dict[str, str]:
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _ws(**changes: str | None) -> dict[str, str]:
    out = dict(_SAFE_WS)
    for key, value in changes.items():
        name = key.replace("_", "-")
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


_RULES: tuple[tuple[Rule, RuleExample], ...] = (
    (Rule("GT601", "sip-level-pair-fails", E, "The endpoint and Workspace security levels cannot work together",
          "The endpoint's security_level 1 or 2 requires a client certificate; Workspace presents one only at "
          "security-level 2 or 3. Any other pair fails every connection with client-certificate-required.",
          "Use a pair of the security matrix: (0,0), (0,1), (1,2) or (2,3)."),
     RuleExample(_SAFE, _ws(security_level="1"), _SAFE, _SAFE_WS)),
    (Rule("GT602", "sip-level-pair-weaker", W, "One side checks less than the other expects",
          "The pair works, but one side expects a check the other does not make: Workspace presents a client "
          "certificate that the endpoint never asks for, or one side checks the peer's identity and the other "
          "does not.",
          "Use a pair of the security matrix: (0,0), (0,1), (1,2) or (2,3)."),
     RuleExample(_with(_SAFE, security_level="0"), _SAFE_WS, _SAFE, _SAFE_WS)),
    (Rule("GT603", "sip-protocol-mismatch", E, "The endpoint and Workspace use different protocols",
          "One side speaks HTTP and the other HTTPS: no request gets through.",
          "Set the same protocol on both sides (https)."),
     RuleExample(_SAFE, _ws(protocol="http"), _SAFE, _SAFE_WS)),
    (Rule("GT604", "sip-port-mismatch", E, "The endpoint and Workspace use different ports",
          "Workspace dials sipendpoint.standalone.port; the endpoint listens on its port key (default 8000).",
          "Set the same port on both sides."),
     RuleExample(_SAFE, _ws(port="8001"), _SAFE, _SAFE_WS)),
    (Rule("GT605", "sip-lab-only", W, "HTTP or security level 0: lab only",
          "With http nothing is encrypted; with level 0 on Workspace no certificate is validated; with level 0 on "
          "the endpoint any client in the allowed ranges can drive it.",
          "Use https with a mutual pair: endpoint 1 with Workspace 2, or endpoint 2 with Workspace 3."),
     RuleExample({"protocol": "http", "ipv4_address_range": "10.20.35.0/24"}, None, _SAFE, None)),
    (Rule("GT606", "sip-no-address-restriction", W, "No address range and no localhost",
          "Without ipv4_address_range, ipv6_address_range or localhost, every address that reaches the "
          "workstation's listening port may connect.",
          "Set ipv4_address_range (and ipv6_address_range) to the VDI servers' ranges."),
     RuleExample(_with(_SAFE, ipv4_address_range=None), None, _SAFE, None)),
    (Rule("GT607", "sip-cors-any", W, "CORS allows every origin",
          "cors=* lets a script of any web page the agent opens call the endpoint's REST port from the browser.",
          "Remove cors, or list the origins that need it."),
     RuleExample(_with(_SAFE, cors="*"), None, _SAFE, None)),
    (Rule("GT608", "sip-criteria-unused", W, "Subject criteria set at a level that does not use them",
          "subject_criteria and subject_matching_properties are read at endpoint security_level 2 (Workspace "
          "security-level 3) only: at this level the identity check it suggests is not made.",
          "Raise the level to 2 (Workspace 3), or remove the criteria."),
     RuleExample(_with(_SAFE, subject_criteria="E", subject_matching_properties="mail"), None, _SAFE, None)),
    (Rule("GT609", "sip-underscore-level-option", W, "Workspace option written security_level",
          "The security matrix writes sipendpoint.standalone.security_level, but the Workspace option is "
          "sipendpoint.standalone.security-level: the underscore spelling is not read.",
          "Write sipendpoint.standalone.security-level."),
     RuleExample(_SAFE, {**_SAFE_WS, "security_level": "2"}, _SAFE, _SAFE_WS)),
    (Rule("GT610", "sip-unknown-key", W, "Unknown key or option",
          "The endpoint ignores appSettings keys it does not know, and Workspace options it does not know: a "
          "misspelt range or level silently leaves the default.",
          "Spell the key as the documentation does (see docs/sipendpoint.md)."),
     RuleExample(_with(_SAFE, ipv4_adress_range="10.20.36.0/24"), None, _SAFE, None)),
    (Rule("GT611", "sip-duplicate-key", W, "A key is added twice",
          "As in .NET, the later add of a key wins; the earlier one is dead and misleading (or a second "
          "appSettings element is present).",
          "Keep one add per key."),
     RuleExample({**_SAFE, "port#2": "8001"}, None, _SAFE, None)),
    (Rule("GT612", "sip-no-certificate-search-value", E, "HTTPS without a certificate search value",
          "The endpoint selects its certificate (Workspace at security-level 2 and 3 its client certificate) "
          "with the search value; without one no certificate is found.",
          "Set certificate_search_value (Workspace: certificate-search-value) to the thumbprint, issuer or "
          "subject of the certificate."),
     RuleExample(_with(_SAFE, certificate_search_value=None), None, _SAFE, None)),
)

#: The rules, by code.
SIP_RULES: dict[str, Rule] = {r.code: r for r, _ in _RULES}
#: The example of each rule, by code.
SIP_EXAMPLES: dict[str, RuleExample] = {r.code: ex for r, ex in _RULES}


def example_config(keys: Mapping[str, str]) -> str:
    """An ``.exe.config`` with these ``appSettings`` (a key written ``name#2`` is added a second time)."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<configuration>", "  <appSettings>"]
    for key, value in keys.items():
        lines.append(f"    <add key={quoteattr(key.split('#')[0])} value={quoteattr(value)}/>")
    lines += ["  </appSettings>", "</configuration>", ""]
    return "\n".join(lines)


@attrs.frozen
class SipReport:
    """The findings of :func:`check`, with the line of each (``None`` when not in the ``.exe.config``)."""

    findings: tuple[Finding, ...]
    lines: tuple[int | None, ...]
    source: str | None

    def summary(self) -> dict[str, int]:
        """The number of findings per severity: ``{error, warning, info}``."""
        return {s.value: sum(1 for f in self.findings if f.severity is s) for s in Severity}

    def codes(self) -> set[str]:
        """The codes of the findings."""
        return {f.code for f in self.findings}

    def fails(self, threshold: Severity | str = Severity.ERROR) -> bool:
        """Whether a finding reaches ``threshold`` (``error`` or ``warning``)."""
        level = Severity(threshold)
        return any(f.severity.rank >= level.rank for f in self.findings)

    def as_lint_report(self) -> Report:
        """The project's lint :class:`~genesys_tls.lint.engine.Report` of the same findings."""
        return Report(self.findings, self.source, "psdk", 0, dt.datetime.now(dt.UTC),
                      LintStats(CacheStats({}, 0, 0), 0, 0))

    def to_dict(self) -> dict[str, Any]:
        """The ``lint --json`` shape, each finding with ``line`` (0 when unknown)."""
        findings = []
        for finding, line in zip(self.findings, self.lines, strict=True):
            item = finding.to_dict()
            item["line"] = line or 0
            findings.append(item)
        return {"findings": findings, "summary": self.summary()}


def render_report(report: SipReport, format: str = "text") -> str:
    """``text``, ``json`` or ``sarif`` through the project's lint reporters (SARIF regions carry the lines)."""
    from ..lint.reporters import render_text, to_sarif

    if format == "text":
        return render_text(report.as_lint_report())
    if format == "json":
        return json.dumps(report.to_dict(), indent=2) + "\n"
    if format == "sarif":
        log = to_sarif(report.as_lint_report(), rules=SIP_RULES.values(), docs="docs/sipendpoint.md")
        run = log["runs"][0]
        for rule in run["tool"]["driver"]["rules"]:
            rule["properties"]["docs"] = f"docs/sipendpoint.md#{rule['id'].lower()}-{rule['properties']['slug']}"
        for result, finding, line in zip(run["results"], report.findings, report.lines, strict=True):
            physical = result["locations"][0].get("physicalLocation")
            if physical is not None:
                physical["region"] = {"startLine": line or 1}
                if finding.file:
                    from ..lint.reporters import _uri

                    physical["artifactLocation"] = {"uri": _uri(finding.file)}
        return json.dumps(log, indent=2) + "\n"
    raise ValueError(f"unknown output format {format!r}; valid: text, json, sarif")


class _Collector:
    def __init__(self, config: EndpointConfig, workspace: WorkspaceSettings | None) -> None:
        self.config = config
        self.workspace = workspace
        self.findings: list[Finding] = []
        self.lines: list[int | None] = []

    def endpoint(self, code: str, message: str, key: str | None = None, line: int | None = None) -> None:
        rule = SIP_RULES[code]
        self.findings.append(rule.finding("appSettings", message, level="appSettings", option=key,
                                          file=self.config.file))
        self.lines.append(line if line is not None else (self.config.line_of(key) if key else None))

    def workspace_finding(self, code: str, message: str, option: str | None = None) -> None:
        assert self.workspace is not None  # noqa: S101 - only called with Workspace settings
        rule = SIP_RULES[code]
        full = facts().workspace_option(option) if option else None
        self.findings.append(rule.finding(self.workspace.application, message, level=_WS_LEVEL, option=full,
                                          file=self.workspace.file))
        self.lines.append(None)


def check(config: EndpointConfig, workspace: WorkspaceSettings | None = None) -> SipReport:
    """Every ``GT6xx`` finding of an endpoint configuration, alone or against Workspace's options."""
    data = facts()
    out = _Collector(config, workspace)
    known = set(data.endpoint_keys)
    seen: dict[str, int] = {}
    for event in config.events:
        if event.action == "clear":
            seen.clear()
        if event.action != "add" or not event.key:
            continue
        if event.key not in known:
            out.endpoint("GT610", f"unknown key {event.key!r}; the endpoint ignores it", event.key, event.line)
        if event.key in seen:
            out.endpoint("GT611", f"{event.key!r} is added at lines {seen[event.key]} and {event.line}; the later "
                                  f"value {event.value!r} wins", event.key, event.line)
        seen[event.key] = event.line
    if config.appsettings_count > 1:
        out.endpoint("GT611", f"the file has {config.appsettings_count} appSettings elements; keep one")
    if not config.tls:
        out.endpoint("GT605", "protocol is http: the REST traffic is not encrypted (lab only)", "protocol")
    elif config.security_level == 0:
        out.endpoint("GT605", "security_level 0: no client certificate is asked; any client in the allowed ranges "
                              "can drive the endpoint", "security_level")
    if not config.ipv4_ranges and not config.ipv6_ranges and not config.localhost:
        out.endpoint("GT606", "no ipv4_address_range, ipv6_address_range or localhost: every address may connect",
                     "ipv4_address_range")
    if config.cors == ("*",):
        out.endpoint("GT607", "cors=* allows every origin", "cors")
    if (config.subject_criteria or config.subject_matching_properties) and (
            not config.tls or config.security_level != 2):
        key = "subject_criteria" if config.subject_criteria else "subject_matching_properties"
        level = config.security_level if config.tls else "http"
        out.endpoint("GT608", f"{key} is set but security_level is {level}: the subject is not checked", key)
    if config.tls and not config.certificate_search_value:
        out.endpoint("GT612", "protocol is https but certificate_search_value is empty: the endpoint cannot select "
                              "its certificate", "certificate_search_value")
    if workspace is not None:
        _check_workspace(out, config, workspace)
    return SipReport(tuple(out.findings), tuple(out.lines), config.file)


def _check_workspace(out: _Collector, config: EndpointConfig, ws: WorkspaceSettings) -> None:
    data = facts()
    prefix = data.workspace_prefix
    for option in ws.values:
        name = option[len(prefix):]
        if name == "security_level":
            out.workspace_finding("GT609", f"{option} is not read; the option is {prefix}security-level", name)
        elif name not in data.workspace_options:
            out.workspace_finding("GT610", f"unknown option {option!r}; Workspace ignores it", name)
    if ws.protocol != config.protocol:
        out.workspace_finding("GT603", f"Workspace uses {ws.protocol}, the endpoint {config.protocol}", "protocol")
        return
    if ws.port != config.port:
        out.workspace_finding("GT604", f"Workspace dials port {ws.port}, the endpoint listens on {config.port}",
                              "port")
    if not ws.tls:
        out.workspace_finding("GT605", "protocol is http: the REST traffic is not encrypted (lab only)", "protocol")
        return
    level = ws.security_level if ws.security_level is not None else 0
    if level == 0:
        out.workspace_finding("GT605", "security-level 0: Workspace validates no certificate (lab only)",
                              "security-level")
    if (ws.subject_criteria or ws.subject_matching_properties) and level != 3:
        out.workspace_finding("GT608", f"subject criteria are set but security-level is {level}: the endpoint's "
                                       "subject is not checked", "subject-criteria")
    if level >= 2 and not ws.certificate_search_value:
        out.workspace_finding("GT612", f"security-level {level} presents a client certificate but "
                                       "certificate-search-value is empty", "certificate-search-value")
    endpoint_level = config.security_level if config.security_level is not None else 0
    verdict = data.pair(endpoint_level, level)
    text = f"endpoint security_level {endpoint_level} with Workspace security-level {level}: {verdict.reason}"
    if verdict.verdict == "error":
        out.workspace_finding("GT601", text, "security-level")
    elif verdict.verdict == "warning":
        out.workspace_finding("GT602", text, "security-level")
