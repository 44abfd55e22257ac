"""Lint rules on names: security settings written under a name the runtime does not read.

The runtime matches section, option and transport-parameter names exactly. A ``[Security]`` or
``[securty]`` section, or an option spelled with a look-alike character (a Unicode hyphen, a Cyrillic
letter, an invisible character), is ignored without a word, and the setting it was meant to make is lost:
security is weaker than the file says. :func:`scan_names` reports each such name as an error that names the
option that was intended (look-alikes found by :func:`genesys_tls.near_misses.near_misses`, misspelt section
names by :func:`genesys_tls.ignored.misspelt_security_section`).

The rules are data here (:data:`NAME_RULES`, turned into :class:`~genesys_tls.lint.rules.Rule` objects by the
registry) so that the registry can import this module without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import attrs

from .._suggest import suggest
from ..catalogue import SECURITY_SECTION, Level
from ..ignored import intended_option, misspelt_security_section
from ..model import DEFAULT_PORT_ID, Environment, Sections
from ..near_misses import NearMiss, near_misses

if TYPE_CHECKING:
    from .context import LintContext
    from .rules import Finding, Rule

__all__ = ["NAME_RULES", "SUPERSEDED", "scan_names", "with_suggestions"]

_EXAMPLE = """\
hosts:
  srv: {annex: {Security: {certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}}}
applications: {}
"""
_FIXED = """\
hosts:
  srv: {annex: {security: {certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}}}
applications: {}
"""

#: (code, name, severity, title, description, fix, example, fixed) of each rule of this module.
NAME_RULES: tuple[tuple[str, str, str, str, str, str, str, str], ...] = (
    (
        "GT115", "security-name-near-miss", "error",
        "Security setting under a name the runtime does not read",
        "Section, option and transport-parameter names are matched exactly. A [security] section written "
        "'Security', 'security ' or 'securty', or an option spelled with a look-alike character (a Unicode "
        "hyphen in 'tls-mutual', a Cyrillic letter in 'tls-crl', a zero-width space), is ignored without a "
        "word: the certificate, the trusted CAs or mutual TLS it was meant to set are not used, and security "
        "is weaker than the file says. The message names the option that was intended.",
        "Rename the section [security] and write the option names in plain ASCII exactly as the option "
        "reference spells them.",
        _EXAMPLE,
        _FIXED,
    ),
)

#: Findings of these rules replace a milder finding on the same object, level and option: a look-alike
#: option is also "close to a known one" (GT113) or an unknown transport parameter (GT104).
SUPERSEDED: Mapping[str, frozenset[str]] = {"GT115": frozenset({"GT113", "GT104"})}

_LEVEL_KEYS = {
    Level.HOST_ANNEX.value: ("hosts", "annex"),
    Level.APPLICATION_OPTIONS.value: ("applications", "options"),
    Level.APPLICATION_ANNEX.value: ("applications", "annex"),
}


def _rule() -> Rule:
    from .rules import RULES  # the registry imports this module

    return RULES["GT115"]


def _section_findings(
    ctx: LintContext, obj: str, level: str, section: str, options: Mapping[str, str], why: str
) -> None:
    rule = _rule()
    kind, top = _LEVEL_KEYS[level]
    for option in options:
        intended = intended_option(option)
        if intended is None:
            continue  # not a TLS option: nothing of the TLS settings is lost with it
        spelled = "" if option == intended else f" (itself written {option!r}, not {intended!r})"
        ctx.emit(
            rule.finding(
                obj,
                f"{intended}{spelled} is set in section {section!r}, which the runtime does not read as "
                f"[{SECURITY_SECTION}] ({why}): {intended} is not used here and the security setting it was "
                "meant to make is lost",
                hint=f"move it to section [{SECURITY_SECTION}] as {intended!r}",
                level=level,
                option=option,
            ),
            path=(kind, obj, top, section, option),
        )


def _option_finding(ctx: LintContext, miss: NearMiss, sections: Sections) -> None:
    section, option = _split(miss.written, sections)
    if section is None or option is None or option.strip().lower() == miss.intended:
        return  # a name in the wrong case or with spaces: GT113 (a warning) reports it
    kind, top = _LEVEL_KEYS[miss.level]
    ctx.emit(
        _rule().finding(
            miss.object,
            miss.message,
            hint=f"write it {miss.intended!r}, in plain ASCII",
            level=miss.level,
            option=option,
        ),
        path=(kind, miss.object, top, section, option),
    )


def _split(written: str, sections: Sections) -> tuple[str | None, str | None]:
    """``"[section] option"`` (as :class:`NearMiss` writes it) back into the names as written."""
    for section, options in sections.items():
        prefix = f"[{section}] "
        if written.startswith(prefix) and written[len(prefix):] in options:
            return section, written[len(prefix):]
    return None, None


def _levels(ctx: LintContext) -> Iterator[tuple[str, str, Sections]]:
    env = ctx.env
    for host in env.hosts.values():
        yield host.name, Level.HOST_ANNEX.value, host.annex
    for app in env.applications.values():
        yield app.name, Level.APPLICATION_OPTIONS.value, app.options
        yield app.name, Level.APPLICATION_ANNEX.value, app.annex


def scan_names(ctx: LintContext) -> None:
    """Report every security setting written under a name the runtime does not read (``GT115``)."""
    misses = near_misses(ctx.env)
    by_level: dict[tuple[str, str], list[NearMiss]] = {}
    for miss in misses:
        by_level.setdefault((miss.object, miss.level), []).append(miss)
    for obj, level, sections in _levels(ctx):
        here = by_level.get((obj, level), [])
        look_alike_sections = {m.written for m in here if m.kind == "section"}
        for section, options in sections.items():
            if section in look_alike_sections:
                why = "it only looks like it; names are matched exactly"
            elif misspelt_security_section(section, options):
                why = f"did you mean {SECURITY_SECTION!r}?"
            else:
                continue
            ctx.guard(obj, level, _section_findings, ctx, obj, level, section, options, why)
        for miss in here:
            if miss.kind == "option" and _split(miss.written, sections)[0] == SECURITY_SECTION:
                ctx.guard(obj, level, _option_finding, ctx, miss, sections)
    _transport(ctx, misses)


def _transport(ctx: LintContext, misses: list[NearMiss]) -> None:
    """Look-alike transport-parameter names (case and spaces have their own rules, GT102 and GT101)."""
    env = ctx.env
    for miss in misses:
        if miss.kind != "transport" or miss.written.strip().lower() == miss.intended:
            continue
        if miss.level == Level.PORT.value:
            app, _, port = miss.object.partition("/")
            obj = miss.object
            path: tuple[str | int, ...] = ("applications", app, "ports", port, "transport")
        else:
            app, _, number = miss.object.partition(" connection #")
            index = int(number) - 1
            conn = env.applications[app].connections[index]
            obj = f"{app} -> {conn.server}/{conn.port_id or DEFAULT_PORT_ID}"
            path = ("applications", app, "connections", index, "transport")
        ctx.emit(
            _rule().finding(
                obj, miss.message, hint=f"write it {miss.intended!r}, in plain ASCII", level=miss.level,
                option=miss.written.strip(),
            ),
            path=path,
        )


def with_suggestions(env: Environment, findings: list[Finding]) -> list[Finding]:
    """Findings about a name that is not known, with "did you mean" added: an application type the support
    data does not know (``GT503``) gets the closest known types in its hint."""
    from ..support import known_types

    out = []
    types: tuple[str, ...] | None = None
    for finding in findings:
        app = env.applications.get(finding.object) if finding.code == "GT503" else None
        close: tuple[str, ...] = ()
        if app is not None and app.type:
            types = known_types() if types is None else types
            close = suggest(app.type, types)
        quoted = " or ".join(repr(t) for t in close)
        out.append(attrs.evolve(finding, hint=f"did you mean {quoted}? {finding.hint}") if close else finding)
    return out
