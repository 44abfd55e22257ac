"""``genesys-tls load``: a bounded TLS load run with a connection's effective settings."""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from typing import TYPE_CHECKING

from ._common import EXIT_FAILED, EXIT_OK, CLIError, check_timeout, emit_json, parse_address
from .connect import add_tls_options
from .resolve import add_reading, resolve_from_args

if TYPE_CHECKING:  # the CLI loads ssl only when a command that needs it runs
    from ..loadgen import LoadProgress, LoadResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "load",
        help="a bounded TLS load run with a connection's effective settings",
        description="Resolve the connection of --app to SERVER[/PORT_ID] and open TLS connections to its server "
        "with the connection's settings (the same context as connect), at --rate connections per second (default: "
        "as fast as --concurrency handshakes under way allow), holding up to --connections of them open (the "
        "oldest is closed to make room). Without --duration it opens --connections connections; with it, it "
        "opens connections for that many seconds. It reports the handshakes, the rate, the latency percentiles, "
        "the failures by category and the memory per held connection; a progress line on a terminal. Exit 0: "
        "every attempt succeeded; 1: at least one failed; 2: bad usage or configuration. See docs/load.md.",
    )
    p.add_argument("env", metavar="ENV", help="environment file (.yaml, .yml, .json, .cfg)")
    p.add_argument("--app", required=True, help="the client application")
    p.add_argument("--connection", required=True, metavar="SERVER[/PORT_ID]", help="a connection of --app")
    p.add_argument("--address", metavar="HOST:PORT", help="dial this address instead of the configured one")
    p.add_argument("--connections", required=True, type=int, metavar="N",
                   help="the most connections held open at once (without --duration: the connections opened)")
    p.add_argument("--rate", type=float, metavar="R", help="connections opened per second")
    p.add_argument("--duration", type=float, metavar="S", help="seconds to keep opening connections")
    p.add_argument("--concurrency", type=int, default=8, metavar="C",
                   help="handshakes under way at once when no --rate is given (default 8)")
    p.add_argument("--json", action="store_true", help="JSON output: handshakes, rate, latency_ms, failures, ...")
    add_reading(p)
    add_tls_options(p)
    p.set_defaults(run=run)


def render(result: LoadResult) -> str:
    """The readable summary of a run."""
    lines = [
        f"load {result.address} ({result.mode}): {result.handshakes} handshakes of {result.attempts} attempts "
        f"in {result.elapsed:.2f}s, {result.rate:.1f}/s"
    ]
    if result.latency_ms is not None:
        lat = result.latency_ms
        lines.append(f"  latency: p50 {lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms, p99 {lat['p99']:.2f} ms")
    lines.append(
        f"  held: {result.held} at the end (peak {result.peak_held}), {result.rss_per_connection_kib:.1f} KiB "
        "resident memory per held connection"
    )
    if result.closed_by_server:
        lines.append(f"  closed by the server during the run: {result.closed_by_server}")
    for category, count in result.failures.items():
        lines.append(f"  failed: {category}: {count} ({result.failure_details.get(category, '')})")
    lines.extend(f"  warning: {w}" for w in result.warnings)
    from .._text import escape_text

    return "\n".join(escape_text(line) for line in lines)


def _progress_line(progress: LoadProgress) -> None:
    sys.stderr.write(
        f"\r{progress.elapsed:6.1f}s  handshakes {progress.handshakes}  failures {progress.failures}  "
        f"held {progress.held}  in flight {progress.in_flight}   "
    )
    sys.stderr.flush()


def _positive(value: float | None, option: str) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise CLIError(f"{option} {value}: expected a positive number")


def run(args: argparse.Namespace) -> int:
    from ..loadgen import MAX_CONNECTIONS, run_load

    check_timeout(args.timeout)
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        raise CLIError(f"--connections {args.connections}: expected a whole number from 1 to {MAX_CONNECTIONS}")
    if not 1 <= args.concurrency <= 10_000:
        raise CLIError(f"--concurrency {args.concurrency}: expected a whole number from 1 to 10000")
    _positive(args.rate, "--rate")
    _positive(args.duration, "--duration")
    if args.duration is not None:
        check_timeout(args.duration)
    address = parse_address(args.address) if args.address else None
    resolved = resolve_from_args(args.env, args)
    tty = sys.stderr.isatty()
    with warnings.catch_warnings():
        # Every warning the context emits is also in the result's warnings, printed below.
        warnings.simplefilter("ignore", UserWarning)
        result = run_load(
            resolved, connections=args.connections, rate=args.rate, duration=args.duration, address=address,
            concurrency=args.concurrency, timeout=args.timeout, password_env=args.password_env,
            crl_check=args.crl_check, progress=_progress_line if tty else None,
        )
    if tty:
        sys.stderr.write("\n")
    if args.json:
        emit_json(result.to_dict())
    else:
        print(render(result), flush=True)
    return EXIT_OK if result.ok else EXIT_FAILED
