"""``genesys-tls doctor``: a connection's handshake and, on failure, the option to change, where."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ._common import CLIError, check_timeout, emit_json, load_env, parse_address, safe, split_target, write_text
from .connect import add_tls_options
from .resolve import add_reading

if TYPE_CHECKING:
    from ..doctor import Diagnosis


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor",
        help="a connection's handshake and, on failure, the cause and the fix in Genesys terms",
        description="Make the handshake of the connection of --app to SERVER[/PORT_ID] (at its configured "
        "address, at --address, or against a simulated server built from the server port's own settings with "
        "--simulate) and, when it fails, name the option, the level and the object to change. The static "
        "checks of this connection (lint findings) are listed too. Exit 0: the handshake succeeded; 1: it "
        "failed (with a diagnosis); 2: bad usage or configuration. See docs/doctor.md.",
    )
    p.add_argument("env", metavar="ENV", help="environment file (.yaml, .yml, .json, .cfg)")
    p.add_argument("--app", required=True, help="the client application")
    p.add_argument("--connection", required=True, metavar="SERVER[/PORT_ID]", help="a connection of --app")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--address", metavar="HOST:PORT", help="dial this address instead of the configured one")
    where.add_argument(
        "--simulate", action="store_true",
        help="dial a simulated server on 127.0.0.1 built from the target port's own settings in ENV",
    )
    p.add_argument("--json", action="store_true", help="JSON output: ok, category, causes, handshake, ...")
    p.add_argument("--no-lint", action="store_true", help="skip the static checks of the connection")
    add_reading(p)
    add_tls_options(p)
    p.set_defaults(run=run)


def _clean(text: object) -> str:
    """Text safe for a terminal: control characters escaped."""
    return safe(text)


def render(d: Diagnosis) -> str:
    """The readable diagnosis."""
    status = "OK" if d.ok else f"FAILED ({d.category.value if d.category else '?'})"
    lines = [f"doctor {d.connection}: {status}"]
    lines.append(f"  address: {d.address.address or '(none)'} from {d.address.text}")
    hs = d.handshake
    if hs.get("protocol"):
        lines.append(f"  handshake: {hs.get('protocol')} {hs.get('cipher')} mode={hs.get('mode', '?')}")
    error = hs.get("error")
    if isinstance(error, dict):
        lines.append(f"  handshake: {error.get('category')}: {error.get('detail')}")
    if d.peer is not None:
        lines.append(
            f"  server certificate: {d.peer.subject} issued by {d.peer.issuer}; names "
            f"{', '.join(d.peer.names) or 'none'}; serial {d.peer.serial}; valid {d.peer.to_dict()['not-before']} "
            f"to {d.peer.to_dict()['not-after']}"
        )
    for number, cause in enumerate(d.causes, start=1):
        level = cause.source + (f" of {cause.object}" if cause.object else "")
        lines.append(f"  cause {number}: {cause.option} ({level})")
        lines.append(f"    {cause.message}")
        lines.append(f"    fix: {cause.fix}")
    for warning in hs.get("warnings", ()) or ():
        lines.append(f"  warning: {warning}")
    if d.findings:
        lines.append(f"  static checks ({len(d.findings)} lint findings of this connection):")
        for f in d.findings:
            where = f.object + (f" {f.level}" if f.level else "") + (f" {f.option}" if f.option else "")
            lines.append(f"    {f.severity.value} {f.code} {where}: {f.message}")
    else:
        lines.append("  static checks: no lint finding on this connection")
    return "\n".join(_clean(line) for line in lines)


def run(args: argparse.Namespace) -> int:
    from ..doctor import diagnose

    check_timeout(args.timeout)
    if args.address and args.simulate:  # pragma: no cover - argparse refuses it first
        raise CLIError("genesys-tls doctor: give --address or --simulate, not both")
    address = parse_address(args.address) if args.address else None
    server, port_id = split_target(args.connection)
    env = load_env(args.env)
    d = diagnose(
        env, args.app, server, port_id, address=address, simulate=args.simulate, timeout=args.timeout,
        reading=args.reading, legacy_protocols=args.legacy_protocols, password_env=args.password_env,
        crl_check=args.crl_check, lint=not args.no_lint,
    )
    if args.json:
        emit_json(d.to_dict())
    else:
        write_text(render(d), flush=True)
    return d.exit_code
