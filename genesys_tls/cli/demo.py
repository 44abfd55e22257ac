"""``genesys-tls demo``: the scenario matrix with real handshakes on 127.0.0.1 (see :mod:`genesys_tls.demo`)."""

from __future__ import annotations

import argparse
import sys

from ._common import EXIT_FAILED, EXIT_OK, CLIError, emit_json, use_colour


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="build a test PKI and environment in a temporary folder and run the scenario matrix",
        description="Builds a test PKI and an embedded Genesys environment in a temporary folder, then runs "
        "the scenario matrix (simple, mutual, revoked, expired, name mismatch, encryption-only, protocol "
        "floor, upgrade port...) with real TLS handshakes between simulated components on 127.0.0.1. "
        "Exit 0 when every scenario behaves as expected, 1 otherwise.",
    )
    p.add_argument("--json", action="store_true", help="JSON output (contract shape)")
    p.add_argument(
        "--keep",
        metavar="DIR",
        help="build in DIR (new or empty) and keep the PKI and demo.yaml there instead of a temporary folder",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds per handshake (default 5)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    if not 0 < args.timeout <= 600:
        raise CLIError(f"genesys-tls demo: --timeout {args.timeout}: expected seconds, more than 0 and at most 600")
    report = run_demo(args.keep, timeout=args.timeout)
    if args.json:
        emit_json(report.to_dict())
    else:
        print(report.render(colour=use_colour(sys.stdout)))
    return EXIT_OK if report.failed == 0 else EXIT_FAILED
