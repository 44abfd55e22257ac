"""Output formats of a lint :class:`~genesys_tls.lint.engine.Report`: text, JSON and SARIF 2.1.0.

* :func:`render_text`: findings grouped by object, then a summary line; for people.
* :func:`render_json` / :meth:`Report.to_dict`: the contract's shape, ``{"findings": [...], "summary": {...}}``.
* :func:`render_sarif` / :func:`to_sarif`: SARIF 2.1.0 for code-scanning tools (GitHub, GitLab, Azure DevOps):
  one run, the rule registry as ``tool.driver.rules``, one result per finding located in the environment file
  (the line of the option, else of its section or object) and by a logical location ``object/level/option``;
  suppressed findings are results too, each with a SARIF ``suppressions`` entry (external, accepted, the reason).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from .._text import escape_text
from .engine import Report
from .rules import RULES, Finding, Rule
from .suppressions import Suppression

__all__ = ["FORMATS", "SARIF_SCHEMA", "SARIF_VERSION", "render", "render_json", "render_sarif", "render_text",
           "to_sarif"]

#: Output formats :func:`render` knows.
FORMATS = ("text", "json", "sarif")
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def render(
    report: Report, format: str = "text", *, rules: Mapping[str, Rule] | None = None, lines: bool = False
) -> str:
    """The report in ``format`` (``text``, ``json`` or ``sarif``), ending with a newline.

    ``rules`` is the registry the findings come from (default :data:`RULES`; the cloud plan lint passes its own);
    ``lines``: JSON findings carry the ``line`` of their option in the environment file (``lint --json`` does).

    Raises:
        ValueError: unknown format.
    """
    if format == "text":
        return render_text(report)
    if format == "json":
        return render_json(report, lines=lines)
    if format == "sarif":
        return render_sarif(report, rules=rules)
    raise ValueError(f"unknown lint output format {format!r}; valid: {', '.join(FORMATS)}")


# =========================================================================================== text


def _where(finding: Finding) -> str:
    parts = [p for p in (finding.level, finding.option) if p]
    return f" [{' '.join(parts)}]" if parts else ""


def render_text(report: Report) -> str:
    """Findings grouped by object (objects in the order first reported), each with ``at FILE:LINE`` when the
    line of its option is known, then the suppressed findings and one summary line."""
    lines: list[str] = []
    if report.source:
        lines.append(escape_text(f"{report.source} (reading: {report.reading})", limit=None))
        lines.append("")
    for obj, findings in report.by_object().items():
        lines.append(escape_text(obj))
        for f in findings:
            lines.append(escape_text(f"  {f.severity.value:<7} {f.code} {f.rule}{_where(f)}"))
            lines.append(escape_text(f"          {f.message}", limit=None))
            if f.hint:
                lines.append(escape_text(f"          fix: {f.hint}", limit=None))
            line = report.line(f) if report.source else None
            if line is not None:
                lines.append(escape_text(f"          at {f.file or report.source}:{line}"))
        lines.append("")
    if report.suppressed:
        lines.append("suppressed:")
        for item in report.suppressed:
            f = item.finding
            reason = item.suppression.reason
            lines.append(escape_text(f"  {f.severity.value:<7} {f.code} {f.object}{_where(f)}: {reason}"))
        lines.append("")
    for unused in report.unused_suppressions:
        lines.append(escape_text(
            f"note: suppression #{unused.entry} ({unused.code} on {unused.object}) matched no finding: "
            "remove it, or correct it"
        ))
    s = report.summary()
    total = len(report.findings)
    hidden = len(report.suppressed)
    suffix = f" ({hidden} suppressed)" if hidden else ""
    if total == 0:
        lines.append(f"no findings{suffix}")
    else:
        lines.append(
            f"{total} finding{'s' if total != 1 else ''}: {s['error']} error{'s' if s['error'] != 1 else ''}, "
            f"{s['warning']} warning{'s' if s['warning'] != 1 else ''}, {s['info']} info{suffix}"
        )
    return "\n".join(lines) + "\n"


# =========================================================================================== JSON


def render_json(report: Report, *, lines: bool = False) -> str:
    """The contract's ``lint --json`` document; with ``lines``, each finding located in the environment file
    has the ``line`` of its option (else of its section or object)."""
    return json.dumps(report.to_dict(lines=lines), indent=2) + "\n"


# =========================================================================================== SARIF


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def _sarif_rule(rule: Rule, docs: str = "docs/lint.md") -> dict[str, Any]:
    help_text = f"{rule.description}\n\nFix: {rule.fix}"
    markdown = f"{rule.description}\n\n**Fix:** {rule.fix}"
    if rule.example:
        markdown += f"\n\n**Example** (triggers {rule.code}):\n\n```yaml\n{rule.example}```"
    return {
        "id": rule.code,
        "name": _pascal(rule.name),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {"text": help_text, "markdown": markdown},
        "defaultConfiguration": {"level": rule.severity.sarif_level},
        "properties": {"tags": ["security", "tls", "genesys"], "slug": rule.name,
                       "docs": f"{docs}#{rule.code.lower()}-{rule.name}"},
    }


class _Lines:
    """Where objects are defined in the environment file (best effort: the first line naming them)."""

    def __init__(self, source: str | None) -> None:
        self.lines: list[str] = []
        if source:
            try:
                self.lines = Path(source).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self.lines = []
        self._cache: dict[tuple[str, int], int | None] = {}

    def find(self, name: str, start: int = 0) -> int | None:
        """The 0-based index of the first line at or after ``start`` with ``name`` as a mapping key."""
        key = (name, start)
        if key not in self._cache:
            pattern = re.compile(r"""(^|[\s{,])["']?""" + re.escape(name) + r"""["']?\s*:""")
            self._cache[key] = next(
                (i for i in range(start, len(self.lines)) if pattern.search(self.lines[i])), None
            )
        return self._cache[key]

    def line_of(self, obj: str) -> int | None:
        """The 1-based line of an object (``Host``, ``App``, ``App/port``, ``App -> Server/port``)."""
        if not self.lines:
            return None
        if " -> " in obj:
            app, _, rest = obj.partition(" -> ")
            at = self.find(app)
            server = rest.rsplit("/", 1)[0]
            if at is not None:
                inner = next(
                    (i for i in range(at, len(self.lines)) if re.search(r"\bserver\b.*" + re.escape(server),
                                                                       self.lines[i])),
                    None,
                )
                at = inner if inner is not None else at
        elif "/" in obj:
            app, _, port = obj.rpartition("/")
            at = self.find(app)
            if at is not None:
                at = self.find(port, at) or at
        else:
            at = self.find(obj)
        return None if at is None else at + 1


def _uri(path: str) -> str:
    """A SARIF ``uri``: a URI reference (RFC 3986), relative to the working directory when the file is under it
    (spaces, ``#``, ``%``, ``:`` and non-ASCII characters percent-encoded, as :meth:`Path.as_uri` does)."""
    p = Path(path)
    try:
        relative = p.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return p.resolve().as_uri()
    return urllib.parse.quote(os.fsencode(relative.as_posix()))


def _fingerprint(finding: Finding) -> str:
    text = "\x1f".join((finding.code, finding.object, finding.level or "", finding.option or "", finding.message))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _result(report: Report, f: Finding, index: Mapping[str, int], lines: _Lines) -> dict[str, Any]:
    fqn = "/".join(p for p in (f.object, f.level or "", f.option or "") if p)
    location: dict[str, Any] = {
        "logicalLocations": [{"name": f.option or f.object, "fullyQualifiedName": fqn, "kind": "object"}]
    }
    file = f.file or report.source
    if file:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
        line = report.line(f) or lines.line_of(f.object)
        physical["region"] = {"startLine": line or 1}
        location["physicalLocation"] = physical
    text = f.message if not f.hint else f"{f.message}. Fix: {f.hint}"
    return {
        "ruleId": f.code,
        "ruleIndex": index[f.code],
        "level": f.severity.sarif_level,
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"genesysTlsFinding/v1": _fingerprint(f)},
        "properties": {"object": f.object, "level": f.level or "", "option": f.option or "",
                       "severity": f.severity.value},
    }


def _suppression(s: Suppression) -> dict[str, Any]:
    """A SARIF 2.1.0 ``suppression``: accepted, from an external file, with the reason as justification."""
    out: dict[str, Any] = {"kind": "external", "status": "accepted", "justification": s.reason}
    if s.file:
        out["location"] = {"physicalLocation": {"artifactLocation": {"uri": _uri(s.file)}}}
    out["properties"] = {"entry": s.entry or 0}
    return out


def to_sarif(
    report: Report, *, rules: Mapping[str, Rule] | Iterable[Rule] | None = None, docs: str = "docs/lint.md"
) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a JSON-ready dict); ``rules``: the registry its findings come from (a
    mapping or the rules themselves; default :data:`RULES`; ``cloud plan`` and ``sipendpoint check`` pass their
    own), ``docs``: the page documenting it."""
    chosen = RULES if rules is None else rules
    registry = list(chosen.values()) if isinstance(chosen, Mapping) else list(chosen)
    index = {r.code: i for i, r in enumerate(registry)}
    lines = _Lines(report.source)
    results = [_result(report, f, index, lines) for f in report.findings]
    for item in report.suppressed:
        result = _result(report, item.finding, index, lines)
        result["suppressions"] = [_suppression(item.suppression)]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "genesys-tls",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_sarif_rule(r, docs) for r in registry],
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"reading": report.reading, "expiryDays": report.expiry_days, "summary": report.summary(),
                       "suppressed": len(report.suppressed)},
    }
    if report.source:
        run["artifacts"] = [{"location": {"uri": _uri(report.source)}}]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(
    report: Report, *, rules: Mapping[str, Rule] | Iterable[Rule] | None = None, docs: str = "docs/lint.md"
) -> str:
    """:func:`to_sarif` as JSON text."""
    return json.dumps(to_sarif(report, rules=rules, docs=docs), indent=2) + "\n"
