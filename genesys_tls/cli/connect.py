"""``genesys-tls connect``: one real TLS client handshake with a connection's effective settings."""

from __future__ import annotations

import argparse
import datetime as dt
import warnings
from typing import TYPE_CHECKING

from .._text import escape_text
from ..resolved import ResolvedSecurity, describe_mode
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CLIError,
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
    from ..results import CertificateDetails


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
    p.add_argument(
        "--show-certs",
        action="store_true",
        help="also show the certificate chain the server sent (subject, issuer, SANs, validity, SHA-256 and "
        "SHA-1 fingerprints; with --json a 'chain' member, PEM included), also when the handshake failed",
    )
    p.add_argument("--brief", action="store_true", help="one line: outcome, address, protocol, cipher, peer")
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
        # each value escaped; the whole line shortened (a server may send thousands of SANs)
        lines.append(escape_text(f"  peer: {safe(result.peer.subject)} (issuer {safe(result.peer.issuer)}; {sans})"))
    lines.append(f"  checks: {', '.join(result.checks) or 'none'}")
    if result.error is not None:
        lines.append(f"  error: {result.error[0].value}: {safe(result.error[1])}")
    lines.extend(f"  warning: {safe(w)}" for w in result.warnings)
    return "\n".join(lines)


def _line(text: str) -> str:
    """One printed line: what a server controls (names, SANs) is escaped (control characters, bidi)."""
    return escape_text(text, limit=None)


def render_chain(chain: tuple[CertificateDetails, ...], now: dt.datetime | None = None) -> str:
    """The readable account of the certificates a server sent (``connect --show-certs``)."""
    now = now or dt.datetime.now(dt.UTC)
    if not chain:
        return "  certificates sent by the server: none (the connection ended before they arrived)"
    lines = [f"  certificates sent by the server: {len(chain)}"]
    for index, cert in enumerate(chain):
        role = "the server's own" if index == 0 else ("CA" if cert.ca else "not a CA")
        lines.append(f"  [{index}] {cert.subject} ({role})")
        lines.append(f"      issuer:  {cert.issuer}")
        lines.append(f"      SANs:    {', '.join(cert.sans) or 'none'}")
        lines.append(f"      valid:   {cert.not_before} to {cert.not_after}{_validity_note(cert, now)}")
        lines.append(f"      serial:  {cert.serial}")
        lines.append(f"      SHA-256: {cert.sha256}")
        lines.append(f"      SHA-1:   {cert.sha1}")
    return "\n".join(_line(line) for line in lines)


def _validity_note(cert: CertificateDetails, now: dt.datetime) -> str:
    start = dt.datetime.strptime(cert.not_before, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    end = dt.datetime.strptime(cert.not_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    if now < start:
        return " (NOT YET VALID)"
    if now > end:
        return " (EXPIRED)"
    return f" ({(end - now).days} days left)"


def render_brief(result: HandshakeResult, resolved: ResolvedSecurity) -> str:
    """``connect --brief``: the outcome on one line."""
    where = f"{resolved.object} at {result.address or '?'}"
    if result.error is not None:
        text = f"FAILED {result.error[0].value} {where}: {result.error[1]}"
    else:
        peer = f"peer {result.peer.subject}" if result.peer else "no peer certificate"
        text = f"OK {where} {result.protocol} {result.cipher} {result.mode} {peer}"
    return _line(" ".join(text.split()))


def run(args: argparse.Namespace) -> int:
    from ..handshake import connect

    if args.brief and (args.json or args.show_certs):
        raise CLIError("genesys-tls connect: --brief is one line of text; it cannot be combined with "
                       f"{'--json' if args.json else '--show-certs'}")
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
            chain=args.show_certs,
        )
    if args.json:
        out = result.to_dict()
        if ignored:
            out["warnings"] = [*out.get("warnings", ()), *ignored]
        emit_json(out)
    elif args.brief:
        write_text(render_brief(result, resolved), flush=True)
    else:
        write_text(render(result, resolved), flush=True)
        if result.chain is not None:
            write_text(render_chain(result.chain), flush=True)
    return EXIT_OK if result.ok else EXIT_FAILED
