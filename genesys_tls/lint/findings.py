"""The finding vocabulary of lint: :class:`Severity`, :class:`Finding` and :class:`Rule`.

Users import these names from :mod:`genesys_tls.lint` (or :mod:`genesys_tls.lint.rules`, the registry); the
GT6xx (SIP Endpoint) and GT7xx (cloud) registries build their rules from the same :class:`Rule`.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ..catalogue import Level, Source

__all__ = ["Finding", "Rule", "Severity"]


class Severity(enum.StrEnum):
    """How bad a finding is. ``error``: the link fails or is not secure; ``warning``: it works but is fragile,
    weaker than it looks, or read differently by some components; ``info``: worth knowing."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANK[self]

    @property
    def sarif_level(self) -> str:
        """The SARIF 2.1.0 ``level`` (``error``, ``warning``, ``note``)."""
        return "note" if self is Severity.INFO else self.value


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@attrs.frozen
class Finding:
    """One problem lint found.

    Attributes:
        severity: ``error``, ``warning`` or ``info``.
        code: the rule's stable code (``GT201``).
        rule: the rule's stable name (``secure-port-no-certificate``).
        object: the configuration object concerned: a Host, an Application, ``App/port`` (a listening port)
            or ``App -> Server/port`` (a connection).
        level: where the value sits (``port``, ``connection``, ``application-options``,
            ``application-annex``, ``host-annex``), or ``None`` when the finding is about no single level.
        option: the option concerned, or ``None``.
        message: what is wrong, in one or two sentences.
        hint: how to fix it.
        file: the environment file the object is defined in (SARIF locations), when known.
    """

    severity: Severity
    code: str
    rule: str
    object: str
    message: str
    hint: str = ""
    level: str | None = None
    option: str | None = None
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape, plus ``rule``, ``level`` and ``file`` (empty strings when absent)."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "rule": self.rule,
            "object": self.object,
            "level": self.level or "",
            "option": self.option or "",
            "message": self.message,
            "hint": self.hint,
            "file": self.file or "",
        }


@attrs.frozen
class Rule:
    """A lint rule: what it reports and how to fix it. Users read these from :data:`RULES`.

    Attributes:
        code: stable code, ``GT`` + three digits.
        name: stable name, lower-case words joined by ``-``.
        severity: the severity of its findings.
        title: one line.
        description: what it checks and why it matters.
        fix: what to change.
        example: an environment (YAML) that triggers it; file names refer to the test PKI described in
            ``docs/lint.md`` (empty for rules no environment can trigger).
        fixed: the example with the fix applied: it does not trigger the rule.
    """

    code: str
    name: str
    severity: Severity
    title: str
    description: str
    fix: str
    example: str = ""
    fixed: str = ""

    def finding(
        self,
        object: str,
        message: str,
        *,
        hint: str | None = None,
        level: str | Level | Source | None = None,
        option: str | None = None,
        file: str | None = None,
    ) -> Finding:
        """A finding of this rule (``hint`` defaults to :attr:`fix`)."""
        return Finding(
            severity=self.severity,
            code=self.code,
            rule=self.name,
            object=object,
            message=message,
            hint=self.fix if hint is None else hint,
            level=None if level is None else str(level.value if isinstance(level, enum.Enum) else level),
            option=option,
            file=file,
        )
