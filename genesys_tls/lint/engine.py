"""The lint engine: runs the rules of :mod:`genesys_tls.lint.rules` over an environment, once.

Cost is linear in the size of the environment: every level is scanned once, every server port resolved once
(and reused for all its clients), every client connection resolved once, and every certificate, key or CRL
file read and parsed once per run however many objects name it (:class:`~genesys_tls.lint.context.FileCache`,
keyed by absolute path).
Answers derived from files (chain verification, name matching, CRL trust) are memoized per distinct input.
Levels, ports and connections with the same inputs (equal options, the same transport parameters, Hosts and
application types, differing only by their names) are checked once when the check finds nothing: the later
ones cannot find anything either, so they are skipped; a check that finds something runs for every object, so
each finding names its own object (:meth:`~genesys_tls.lint.context.LintContext.shared`).

The engine never lets an exception out of a check: a check that fails unexpectedly becomes a ``GT900``
finding on the object it was looking at, and the other checks run.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..catalogue import SECURITY_SECTION
from ..errors import ConfigurationError
from ..loaders import _no_cyclic_gc, positions
from ..model import DEFAULT_PORT_ID, Environment
from ..resolve import Reading
from .context import CacheStats, LintContext
from .layers import scan_layers
from .links import scan_connections
from .names_rules import SUPERSEDED, scan_names, with_suggestions
from .ports import scan_ports
from .rules import Finding, Severity, rule
from .stores import scan_stores
from .suppressions import Suppression, select_codes

__all__ = ["CacheStats", "LintStats", "Report", "Suppressed", "finding_path", "lint"]

# =========================================================================================== report


@attrs.frozen
class LintStats:
    """Counters of one run, for benchmarks and tests.

    Attributes:
        files: the file cache's counters.
        ports_resolved: server ports resolved (each once, or answered by a port with the same inputs).
        connections_resolved: client connections resolved (each once, or answered by a connection with the
            same inputs).
        checks_shared: checks of a level, port or connection skipped because one with the same inputs found
            nothing already (the findings are the same as when every object is checked on its own).
    """

    files: CacheStats
    ports_resolved: int
    connections_resolved: int
    checks_shared: int = 0


@attrs.frozen
class Suppressed:
    """A finding a suppression matched: kept out of :attr:`Report.findings` and of the exit code, but listed.

    Attributes:
        finding: the finding.
        suppression: the suppression that matched it (its reason, where it is written).
    """

    finding: Finding
    suppression: Suppression

    def to_dict(self) -> dict[str, Any]:
        """The finding's JSON shape with a ``suppression`` member."""
        return {**self.finding.to_dict(), "suppression": self.suppression.to_dict()}


@attrs.frozen
class Report:
    """The result of :func:`lint`.

    Attributes:
        findings: every finding, in the order found (scan of levels, then ports, then connections), less
            the suppressed ones.
        source: the environment file, when known.
        reading: the reading used (``psdk`` or ``doc``).
        expiry_days: the warning window used.
        now: the moment dates were checked against.
        stats: counters of the run.
        suppressed: the findings suppressions matched, with the suppression of each.
        suppressions: the suppressions the run was given (``None``: none was given).
        env: the environment linted (to locate findings in its file, :meth:`line`).
        paths: findings whose place in the file a check named itself.
    """

    findings: tuple[Finding, ...]
    source: str | None
    reading: str
    expiry_days: int
    now: datetime.datetime
    stats: LintStats
    suppressed: tuple[Suppressed, ...] = ()
    suppressions: tuple[Suppression, ...] | None = None
    env: Environment | None = attrs.field(default=None, eq=False, repr=False)
    paths: Mapping[Finding, tuple[str | int, ...]] = attrs.field(factory=dict, eq=False, repr=False)

    def count(self, severity: Severity | str) -> int:
        """How many findings have this severity."""
        wanted = Severity(severity)
        return sum(1 for f in self.findings if f.severity is wanted)

    def summary(self) -> dict[str, int]:
        """``{"error": N, "warning": N, "info": N}`` (suppressed findings are not counted here)."""
        return {s.value: self.count(s) for s in Severity}

    @property
    def worst(self) -> Severity | None:
        """The highest severity found, ``None`` when there is no finding."""
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def fails(self, threshold: Severity | str = Severity.ERROR) -> bool:
        """Whether a finding reaches ``threshold`` (``error``: errors only; ``warning``: warnings or errors)."""
        level = Severity(threshold)
        return any(f.severity.rank >= level.rank for f in self.findings)

    def codes(self) -> set[str]:
        """The codes of the findings."""
        return {f.code for f in self.findings}

    def by_object(self) -> dict[str, list[Finding]]:
        """Findings grouped by object, objects in the order they were first reported."""
        out: dict[str, list[Finding]] = {}
        for finding in self.findings:
            out.setdefault(finding.object, []).append(finding)
        return out

    @property
    def unused_suppressions(self) -> tuple[Suppression, ...]:
        """The suppressions that matched no finding (stale: the problem is gone, or the entry is wrong)."""
        used = {id(s.suppression) for s in self.suppressed}
        return tuple(s for s in self.suppressions or () if id(s) not in used)

    def line(self, finding: Finding) -> int | None:
        """The 1-based line of the environment file where the finding's option is written (else its level's
        section, else its object), ``None`` when unknown (no file, another file, or the file changed)."""
        if self.env is None or (finding.file is not None and finding.file != self.source):
            return None
        found = positions(self.env)
        if found is None:
            return None
        path = self.paths.get(finding) or finding_path(self.env, finding)
        return found.nearest(*path) if path else None

    def to_dict(self, *, lines: bool = False) -> dict[str, Any]:
        """The contract's ``lint --json`` shape: ``{"findings": [...], "summary": {...}}``; with ``lines``,
        each finding located in the environment file has a ``line``; when suppressions were given,
        ``suppressed`` lists the findings they matched and ``unused-suppressions`` those that matched none."""

        def one(finding: Finding, data: dict[str, Any]) -> dict[str, Any]:
            line = self.line(finding) if lines else None
            if line is not None:
                data["line"] = line
            return data

        out: dict[str, Any] = {
            "findings": [one(f, f.to_dict()) for f in self.findings],
            "summary": self.summary(),
        }
        if self.suppressions is not None:
            out["suppressed"] = [one(s.finding, s.to_dict()) for s in self.suppressed]
            out["unused-suppressions"] = [s.to_dict() for s in self.unused_suppressions]
        return out


def finding_path(env: Environment, finding: Finding) -> tuple[str | int, ...]:
    """Where in the environment document a finding's object, level and option are written (the keys from
    the top, see :class:`genesys_tls.loaders.Positions`); as much of it as can be told, ``()`` for nothing."""
    obj, level, option = finding.object, finding.level, finding.option
    if " -> " in obj:
        app, _, rest = obj.partition(" -> ")
        server, _, port = rest.rpartition("/")
        client = env.applications.get(app)
        if client is None:
            return ()
        for index, conn in enumerate(client.connections):
            if conn.server == server and (conn.port_id or DEFAULT_PORT_ID) == port:
                base: tuple[str | int, ...] = ("applications", app, "connections", index)
                return (*base, "transport") if option or level == "connection" else base
        return ("applications", app, "connections")
    if "/" in obj:
        app, _, port = obj.rpartition("/")
        server_app = env.applications.get(app)
        if server_app is not None and port in server_app.ports:
            base = ("applications", app, "ports", port)
            return (*base, "transport") if option or level == "port" else base
    if level == "host-annex" and obj in env.hosts:
        return ("hosts", obj, "annex", *_section_option(env.hosts[obj].annex, option))
    if obj in env.applications:
        app_obj = env.applications[obj]
        if level == "application-options":
            return ("applications", obj, "options", *_section_option(app_obj.options, option))
        if level == "application-annex":
            return ("applications", obj, "annex", *_section_option(app_obj.annex, option))
        return ("applications", obj)
    if obj in env.hosts:
        return ("hosts", obj)
    return ()


def _section_option(sections: Mapping[str, Mapping[str, str]], option: str | None) -> tuple[str, ...]:
    if option is None:
        return (SECURITY_SECTION,)
    if option in sections.get(SECURITY_SECTION, {}):
        return (SECURITY_SECTION, option)
    for section, options in sections.items():
        if option in options:
            return (section, option)
    return (SECURITY_SECTION, option)


# =========================================================================================== entry point


def _selection(rules: Iterable[str] | None) -> frozenset[str] | None:
    if rules is None:
        return None
    if isinstance(rules, str):
        rules = [rules]
    return frozenset(rule(r).code for r in rules)


def lint(
    env: Environment,
    *,
    expiry_days: int = 30,
    now: datetime.datetime | None = None,
    rules: Iterable[str] | None = None,
    reading: Reading | str = Reading.PSDK,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    suppressions: Iterable[Suppression] | None = None,
) -> Report:
    """Check a whole environment and return every finding.

    Args:
        env: the environment (see :func:`genesys_tls.load`).
        expiry_days: warn about certificates and CRLs that expire within this many days.
        now: the moment dates are checked against (default: now; a naive datetime is UTC).
        rules: only these rules (codes such as ``GT201`` or names such as ``secure-port-no-certificate``);
            default all.
        reading: ``psdk`` (default) or ``doc``: where the documentation and the Platform SDK disagree, which
            one the effective settings follow (see ``docs/precedence.md``).
        select: only the rules these codes, code prefixes (``GT1``, ``GT10``), names or ``ALL`` match.
        ignore: not the rules these match (the longer match wins between ``select`` and ``ignore``; on a
            tie ``ignore`` does), see :func:`genesys_tls.lint.suppressions.select_codes`.
        suppressions: findings to keep out of the result, one object and code each, with a reason (see
            :func:`genesys_tls.lint.suppressions.load_suppressions`); the findings they match are in
            :attr:`Report.suppressed`.

    Returns:
        The :class:`Report`.

    Raises:
        ConfigurationError: ``expiry_days`` is negative, ``reading``, a rule or a selector is unknown.
            Problems of the environment are findings, never exceptions.
    """
    if isinstance(expiry_days, bool) or not isinstance(expiry_days, int) or expiry_days < 0:
        raise ConfigurationError(
            "expiry_days must be a whole number of days, 0 or more", option="expiry_days", value=str(expiry_days)
        )
    try:
        chosen = Reading(reading)
    except ValueError:
        raise ConfigurationError(
            "unknown reading", option="reading", value=str(reading), valid=tuple(r.value for r in Reading)
        ) from None
    if now is None:
        moment = datetime.datetime.now(datetime.UTC)
    else:
        moment = now if now.tzinfo is not None else now.replace(tzinfo=datetime.UTC)
    selected = _selection(rules)
    if select is not None or ignore is not None:
        chosen_codes = select_codes(select, ignore)
        selected = chosen_codes if selected is None else selected & chosen_codes
    given = None if suppressions is None else tuple(suppressions)
    ctx = LintContext(env, reading=chosen, now=moment, expiry_days=expiry_days, selected=selected)
    with _no_cyclic_gc():  # the run's objects hold no cycles: the collector's passes would find nothing
        scan_layers(ctx)
        scan_names(ctx)
        scan_ports(ctx)
        scan_connections(ctx)
        scan_stores(ctx)
    findings = with_suggestions(env, _without_superseded(ctx.findings))
    kept, suppressed = _suppress(findings, given or ())
    return Report(
        findings=kept,
        source=env.file,
        reading=chosen.value,
        expiry_days=expiry_days,
        now=moment,
        stats=LintStats(ctx.files.stats(), ctx.ports_resolved, ctx.connections_resolved, ctx.shared_checks),
        suppressed=suppressed,
        suppressions=given,
        env=env,
        paths=ctx.paths,
    )


def _without_superseded(findings: list[Finding]) -> list[Finding]:
    """Drop a finding when a stronger rule reports the same object, level and option (``SUPERSEDED``)."""
    covered: set[tuple[str, str, str | None, str | None]] = set()
    for f in findings:
        for milder in SUPERSEDED.get(f.code, ()):
            covered.add((milder, f.object, f.level, f.option))
    if not covered:
        return findings
    return [f for f in findings if (f.code, f.object, f.level, f.option) not in covered]


def _suppress(
    findings: list[Finding], suppressions: tuple[Suppression, ...]
) -> tuple[tuple[Finding, ...], tuple[Suppressed, ...]]:
    if not suppressions:
        return tuple(findings), ()
    index: dict[tuple[str, str], list[Suppression]] = {}
    for suppression in suppressions:
        index.setdefault((suppression.code, suppression.object), []).append(suppression)
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for finding in findings:
        candidates = index.get((finding.code, finding.object), ())
        match = next((s for s in candidates if s.matches(finding)), None)
        if match is None:
            kept.append(finding)
        else:
            suppressed.append(Suppressed(finding, match))
    return tuple(kept), tuple(suppressed)
