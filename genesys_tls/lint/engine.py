"""The lint engine: runs the rules of :mod:`genesys_tls.lint.rules` over an environment, once.

Cost is linear in the size of the environment: every level is scanned once, every server port resolved once
(and reused for all its clients), every client connection resolved once, and every certificate, key or CRL
file read and parsed once per run however many objects name it (:class:`~genesys_tls.lint.context.FileCache`,
keyed by absolute path).
Answers derived from files (chain verification, name matching, CRL trust) are memoized per distinct input.

The engine never lets an exception out of a check: a check that fails unexpectedly becomes a ``GT900``
finding on the object it was looking at, and the other checks run.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import attrs

from ..errors import ConfigurationError
from ..model import Environment
from ..resolve import Reading
from .context import CacheStats, LintContext
from .layers import scan_layers
from .links import scan_connections
from .ports import scan_ports
from .rules import Finding, Severity, rule
from .stores import scan_stores

__all__ = ["CacheStats", "LintStats", "Report", "lint"]

# =========================================================================================== report


@attrs.frozen
class LintStats:
    """Counters of one run, for benchmarks and tests.

    Attributes:
        files: the file cache's counters.
        ports_resolved: server ports resolved (each once).
        connections_resolved: client connections resolved (each once).
    """

    files: CacheStats
    ports_resolved: int
    connections_resolved: int


@attrs.frozen
class Report:
    """The result of :func:`lint`.

    Attributes:
        findings: every finding, in the order found (scan of levels, then ports, then connections).
        source: the environment file, when known.
        reading: the reading used (``psdk`` or ``doc``).
        expiry_days: the warning window used.
        now: the moment dates were checked against.
        stats: counters of the run.
    """

    findings: tuple[Finding, ...]
    source: str | None
    reading: str
    expiry_days: int
    now: datetime.datetime
    stats: LintStats

    def count(self, severity: Severity | str) -> int:
        """How many findings have this severity."""
        wanted = Severity(severity)
        return sum(1 for f in self.findings if f.severity is wanted)

    def summary(self) -> dict[str, int]:
        """``{"error": N, "warning": N, "info": N}``."""
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

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``lint --json`` shape: ``{"findings": [...], "summary": {...}}``."""
        return {"findings": [f.to_dict() for f in self.findings], "summary": self.summary()}


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

    Returns:
        The :class:`Report`.

    Raises:
        ConfigurationError: ``expiry_days`` is negative, ``reading`` or a rule is unknown. Problems of the
            environment are findings, never exceptions.
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
    ctx = LintContext(env, reading=chosen, now=moment, expiry_days=expiry_days, selected=_selection(rules))
    scan_layers(ctx)
    scan_ports(ctx)
    scan_connections(ctx)
    scan_stores(ctx)
    return Report(
        findings=tuple(ctx.findings),
        source=env.file,
        reading=chosen.value,
        expiry_days=expiry_days,
        now=moment,
        stats=LintStats(ctx.files.stats(), ctx.ports_resolved, ctx.connections_resolved),
    )
