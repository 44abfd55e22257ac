"""``genesys-tls connect``: one real TLS client handshake with a connection's effective settings."""

from __future__ import annotations

import argparse
import warnings
from typing import TYPE_CHECKING

from ..resolved import ResolvedSecurity, describe_mode
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    check_timeout,
    emit_json,
    near_miss_warnings,
    parse_address,
    safe,
    write_text,
)
from .resolve import add_reading, load_and_resolve

if TYPE_CHECKING:  # the CLI loads ssl only when a command that needs it runs
    from ..handshake import HandshakeResult


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    """The options ``connect`` and ``serve`` share besides ``--reading`` / ``--legacy-protocols``."""
    parser.add_argument(
        "--password-env",
        metavar="NAME",
        help="the environment variable holding the password of an encrypted certificate-key "
        "(passwords are never read from the environment file)",
    )
    parser.add_argument(
        "--crl-check",
        choices=("leaf", "chain"),
        default="leaf",
        help="what tls-crl covers: the peer's certificate (leaf, default) or its whole chain",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds for the connection and the handshake"
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "connect",
        help="a real TLS client handshake with a connection's effective settings",
        description="Resolve the connection of --app to SERVER[/PORT_ID], build its TLS context and make one "
        "handshake. --address changes only where it dials, never the name it checks. Exit 0: handshake and "
        "checks passed; 1: they failed; 2: bad usage or configuration.",
    )
    p.add_argument("env", metavar="ENV", help="environment file (.yaml, .yml, .json, .cfg)")
    p.add_argument("--app", required=True, help="the client application")
    p.add_argument("--connection", required=True, metavar="SERVER[/PORT_ID]", help="a connection of --app")
    p.add_argument("--address", metavar="HOST:PORT", help="dial this address instead of the configured one")
    p.add_argument("--json", action="store_true", help="JSON output (contract shape)")
    add_reading(p)
    add_tls_options(p)
    p.set_defaults(run=run)


def mode_text(mode: str, side: str = "client") -> str:
    """One readable phrase for a mode (:func:`genesys_tls.resolved.describe_mode`)."""
    return describe_mode(mode, side)


def render(result: HandshakeResult, resolved: ResolvedSecurity) -> str:
    """The readable report of one client handshake; every value from the file or the peer is escaped
    (:func:`~genesys_tls.cli._common.safe`: a hostile server controls its certificate's subject)."""
    status = f"FAILED ({result.error[0].value})" if result.error else "OK"
    lines = [f"connect {safe(resolved.object)} at {safe(result.address or '?')}: {status}"]
    lines.append(f"  mode: {mode_text(result.mode)}")
    if result.protocol:
        lines.append(f"  protocol: {result.protocol}  cipher: {result.cipher}")
    if result.peer is not None:
        sans = ", ".join(map(safe, result.peer.sans)) or "no subjectAltName"
        lines.append(f"  peer: {safe(result.peer.subject)} (issuer {safe(result.peer.issuer)}; {sans})")
    lines.append(f"  checks: {', '.join(result.checks) or 'none'}")
    if result.error is not None:
        lines.append(f"  error: {result.error[0].value}: {safe(result.error[1])}")
    lines.extend(f"  warning: {safe(w)}" for w in result.warnings)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..handshake import connect

    check_timeout(args.timeout)
    address = parse_address(args.address) if args.address else None
    env, resolved = load_and_resolve(args.env, args)
    ignored = near_miss_warnings(env, resolved, "connect")
    with warnings.catch_warnings():
        # Every warning the context emits is also in the result's warnings, printed below.
        warnings.simplefilter("ignore", UserWarning)
        result = connect(
            resolved,
            address=address,
            timeout=args.timeout,
            check=False,
            password_env=args.password_env,
            crl_check=args.crl_check,
        )
    if args.json:
        out = result.to_dict()
        if ignored:
            out["warnings"] = [*out.get("warnings", ()), *ignored]
        emit_json(out)
    else:
        write_text(render(result, resolved), flush=True)
    return EXIT_OK if result.ok else EXIT_FAILED
