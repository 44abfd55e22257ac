"""``genesys-tls lint``: findings over a whole environment (``docs/contract.md``).

Exit codes: 0 when no finding reaches ``--fail-on`` (default ``error``), 1 when one does, 2 when the
environment cannot be loaded at all or the usage is wrong (one line on stderr, through ``cli.main``).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .._text import escape_lines, escape_text
from ..errors import ConfigurationError
from ..resolve import Reading
from ._common import EXIT_FAILED, EXIT_OK, CLIError, days, emit_json, load_env

if TYPE_CHECKING:
    from ..lint.rules import Rule


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``lint`` command."""
    from ..lint.reporters import FORMATS

    p = sub.add_parser(
        "lint",
        help="findings over a whole environment (text, JSON or SARIF); exit 1 when one reaches --fail-on",
        description="Check every Host, Application, Port and Connection of an environment: transport "
        "parameters, option values and levels, effective settings of every port and connection, certificate, "
        "key and CRL files, and both ends of every link. Rules: docs/lint.md.",
        epilog="exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 the environment "
        "cannot be loaded, or bad usage; --list-rules / --explain with --json: docs/schemas/lint-rules.schema.json",
    )
    p.add_argument("env", metavar="ENV", nargs="?", help="environment file (.yaml, .yml, .json, .cfg)")
    p.add_argument("--format", choices=FORMATS, default=None, help="output format (default: text)")
    p.add_argument("--json", action="store_true", help="same as --format json (the contract's shape)")
    p.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="exit 1 when a finding has this severity or a higher one (default: error)",
    )
    p.add_argument(
        "--expiry-days",
        type=days,
        default=30,
        metavar="N",
        help="warn about certificates and CRLs that expire within N days (default: 30)",
    )
    p.add_argument(
        "--reading",
        choices=[r.value for r in Reading],
        default=Reading.PSDK.value,
        help="where the docs and the Platform SDK disagree: psdk (default) or doc, see docs/precedence.md",
    )
    p.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="only these rules: codes (GT104), prefixes (GT1, GT10), rule names or ALL, comma-separated or "
        "repeated; the longer match wins against --ignore",
    )
    p.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        help="not these rules (same forms as --select); on a tie with --select, --ignore wins",
    )
    p.add_argument(
        "--suppressions",
        metavar="FILE",
        help="YAML/JSON list of {code, object, option, level, reason}: accepted findings, one object each, "
        "each with a reason; they are listed as suppressed and do not count toward --fail-on",
    )
    p.add_argument("--list-rules", action="store_true", help="list the rules (code, severity, name, title) and exit")
    p.add_argument("--explain", metavar="CODE", help="show one rule: what it checks, an example and the fix")
    p.set_defaults(run=run)


def _rule_dict(r: Rule) -> dict[str, Any]:
    return {
        "code": r.code,
        "name": r.name,
        "severity": r.severity.value,
        "title": r.title,
        "description": r.description,
        "fix": r.fix,
        "example": r.example,
        "fixed": r.fixed,
    }


def _explain(text: str, as_json: bool) -> int:
    from ..lint.rules import RULES
    from ..lint.suppressions import suggest_rules

    by_name = {r.name: r for r in RULES.values()}
    found = RULES.get(text.strip().upper()) or by_name.get(text.strip().lower())
    if found is None:
        raise ConfigurationError(
            "unknown lint rule", option="--explain", value=text, valid=tuple(RULES),
            suggestions=suggest_rules(text),
        )
    if as_json:
        emit_json({"rules": [_rule_dict(found)]})
        return EXIT_OK
    lines = [f"{found.code} {found.name} ({found.severity.value})", "", found.title, "", found.description, "",
             f"Fix: {found.fix}"]
    if found.example:
        lines += ["", f"Example (triggers {found.code}):", "", *found.example.rstrip("\n").splitlines()]
    if found.fixed:
        lines += ["", "Fixed:", "", *found.fixed.rstrip("\n").splitlines()]
    print("\n".join(escape_text(line) for line in lines))
    return EXIT_OK


def _list_rules(as_json: bool) -> int:
    from ..lint.rules import RULES

    if as_json:
        emit_json({"rules": [_rule_dict(r) for r in RULES.values()]})
        return EXIT_OK
    rows = [(r.code, r.severity.value, r.name, r.title) for r in RULES.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Lint ``args.env`` and print the report; the exit code follows ``--fail-on``."""
    from ..lint import lint
    from ..lint.reporters import render
    from ..lint.suppressions import load_suppressions, select_codes

    if args.json and args.format not in (None, "json"):
        raise CLIError(f"genesys-tls lint: --json and --format {args.format} disagree (--json is --format json)")
    fmt = "json" if args.json else args.format or "text"
    if args.list_rules or args.explain is not None:
        if args.list_rules and args.explain is not None:
            raise CLIError("genesys-tls lint: give --list-rules or --explain CODE, not both")
        if fmt == "sarif":
            raise CLIError("genesys-tls lint: --list-rules and --explain print text or JSON, not SARIF")
        return _list_rules(fmt == "json") if args.list_rules else _explain(args.explain, fmt == "json")
    if args.env is None:
        raise CLIError("genesys-tls lint: the following argument is required: ENV (or --list-rules, --explain CODE)")
    if args.select is not None or args.ignore is not None:
        select_codes(args.select, args.ignore)  # a bad selector is bad usage, before anything is loaded
    env = load_env(args.env)
    suppressions = None
    if args.suppressions is not None:
        suppressions = load_suppressions(args.suppressions, env=env)
    report = lint(
        env, expiry_days=args.expiry_days, reading=args.reading, select=args.select, ignore=args.ignore,
        suppressions=suppressions,
    )
    text = render(report, fmt, lines=True)
    # text output escaped line by line; JSON and SARIF escape control characters themselves
    sys.stdout.write(escape_lines(text) if fmt == "text" else text)
    return EXIT_FAILED if report.fails(args.fail_on) else EXIT_OK
