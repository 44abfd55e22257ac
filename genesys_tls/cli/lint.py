"""``genesys-tls lint``: findings over a whole environment (``docs/contract.md``).

Exit codes: 0 when no finding reaches ``--fail-on`` (default ``error``), 1 when one does, 2 when the
environment cannot be loaded at all or the usage is wrong (one line on stderr, through ``cli.main``).
"""

from __future__ import annotations

import argparse
import sys

from .._text import escape_lines
from ..resolve import Reading
from ._common import EXIT_FAILED, EXIT_OK, CLIError, load_env


def _days(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of days, 0 or more; got {text!r}")
    return int(text)


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
        "cannot be loaded, or bad usage",
    )
    p.add_argument("env", metavar="ENV", help="environment file (.yaml, .yml, .json, .cfg)")
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
        type=_days,
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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Lint ``args.env`` and print the report; the exit code follows ``--fail-on``."""
    from ..lint import lint
    from ..lint.reporters import render

    if args.json and args.format not in (None, "json"):
        raise CLIError(f"genesys-tls lint: --json and --format {args.format} disagree (--json is --format json)")
    fmt = "json" if args.json else args.format or "text"
    env = load_env(args.env)
    report = lint(env, expiry_days=args.expiry_days, reading=args.reading)
    text = render(report, fmt)
    # text output escaped line by line; JSON and SARIF escape control characters themselves
    sys.stdout.write(escape_lines(text) if fmt == "text" else text)
    return EXIT_FAILED if report.fails(args.fail_on) else EXIT_OK
