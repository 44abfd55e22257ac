"""``genesys-tls resolve``: effective options of one connection or one listening port."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from .._text import escape_text
from ..catalogue import iter_options
from ..ignored import Ignored, ignored
from ..model import Environment
from ..resolve import Reading, ResolvedSecurity, resolve_client, resolve_server
from ._common import EXIT_OK, CLIError, emit_json, load_env, safe, split_target, write_text


def _options_help() -> str:
    return "options resolved: " + ", ".join(o.name for o in iter_options())


def add_reading(parser: argparse.ArgumentParser) -> None:
    """The options every command that resolves shares."""
    parser.add_argument(
        "--reading",
        choices=[r.value for r in Reading],
        default=Reading.PSDK.value,
        help="where the docs and the Platform SDK disagree: psdk (default) or doc, see docs/precedence.md",
    )
    parser.add_argument(
        "--legacy-protocols",
        action="store_true",
        help="accept sec-protocol=TLSv1 (TLS 1.0) with a warning; SSLv2/SSLv3 stay errors",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "resolve",
        help="effective options of one connection (--connection) or one listening port (--port)",
        description="Effective [security] options with the Genesys precedence "
        "(connection/port > application options > application annex > host annex > default), "
        "where each came from and what it shadowed; then what is written at the levels read but not used there "
        "(transport-parameter mistakes, options of the other end or at undocumented levels, misspelt names).",
        epilog=_options_help(),
    )
    p.add_argument("env", metavar="ENV", help="environment file (.yaml, .yml, .json, .cfg)")
    p.add_argument("--app", required=True, help="the application")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--connection", metavar="SERVER[/PORT_ID]", help="client side: a connection of --app")
    group.add_argument("--port", metavar="PORT_ID", help="server side: a listening port of --app")
    p.add_argument("--json", action="store_true", help="JSON output (contract shape)")
    add_reading(p)
    p.set_defaults(run=run)


def resolve_from_args(env_path: str, args: argparse.Namespace) -> ResolvedSecurity:
    """Resolve what --app with --connection or --port names (shared by resolve, connect, serve)."""
    return load_and_resolve(env_path, args)[1]


def load_and_resolve(env_path: str, args: argparse.Namespace) -> tuple[Environment, ResolvedSecurity]:
    """:func:`resolve_from_args`, with the environment loaded (for the near-miss warnings)."""
    env = load_env(env_path)
    return env, _resolve(env, args)


def _resolve(env: Environment, args: argparse.Namespace) -> ResolvedSecurity:
    if getattr(args, "connection", None):
        server, port_id = split_target(args.connection)
        return resolve_client(
            env, args.app, server, port_id, reading=args.reading, legacy_protocols=args.legacy_protocols
        )
    if getattr(args, "port", None):
        return resolve_server(
            env, args.app, args.port, reading=args.reading, legacy_protocols=args.legacy_protocols
        )
    raise CLIError("give --connection SERVER[/PORT_ID] or --port PORT_ID")


def render_ignored(items: Sequence[Ignored]) -> list[str]:
    """The lines after the table: what the runtime does not use at the levels read, with the lint rule."""
    if not items:
        return []
    lines = ["", f"not used ({len(items)}): written at the levels read, but not used by the runtime there"]
    for item in items:
        name = "(no name)" if not item.option else repr(item.option) if item.option != item.option.strip() \
            else item.option
        tags = [t for t in (item.rule, "Platform SDK only" if item.effect == "psdk-only" else "") if t]
        mean = f"; did you mean {' or '.join(repr(s) for s in item.suggestions)}?" if item.suggestions and \
            "did you mean" not in item.message else ""
        lines.append(
            escape_text(f"  {item.level} {item.object}: {name}: {item.message}{mean}")
            + (f" [{', '.join(tags)}]" if tags else "")
        )
    return lines


def render_table(res: ResolvedSecurity, unused: Sequence[Ignored] = ()) -> str:
    """The readable table: option, value, source, object, shadowed (values escaped, see ``_common.safe``);
    then ``unused`` (:func:`ignored`)."""
    lines = []
    if res.target is not None:
        t = res.target
        lines.append(
            f"{safe(res.application)} -> {safe(t.server)} port {safe(t.port_id)} (host {safe(t.host)}, "
            f"address {safe(t.address or '?')})"
        )
    else:
        lines.append(f"{safe(res.application)} port {safe(res.port_id)} (server side)")
    lines.append(f"mode: {res.mode.value}    reading: {res.reading.value}")
    rows: list[tuple[str, ...]] = [("option", "value", "source", "object", "shadowed")]
    for opt in res:
        value = "(unset)" if opt.value is None else repr(opt.value) if opt.value == "" else opt.value
        source = opt.source.value
        if opt.group_level is not None and opt.source.value == "default":
            source += f" (group at {opt.group_level.value})"
        if opt.via is not None:
            source += f" (via {opt.via.source.value})"
        shadowed = "; ".join(f"{s.value!r} at {s.source.value} {s.object or ''}".rstrip() for s in opt.shadowed)
        # cells escaped before the columns are measured (an escape is wider than the character)
        rows.append((opt.name, safe(value), source, safe(opt.object or "-"), safe(shadowed or "-")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    for note in res.notes:
        lines.append(f"note: {safe(note)}")
    lines += render_ignored(unused)
    return "\n".join(lines)


def render_store(stored: dict[str, dict[str, Any]]) -> list[str]:
    """One line per store thumbprint or keystore: the certificate it names."""
    return [
        escape_text(
            f"store: {name} {info['thumbprint']} names {info['subject']} (issuer {info['issuer']}, expires "
            f"{info['not-after']}, private key {'in the store' if info['has-key'] else 'not in the store'}; "
            f"{info['file']}, {info['store']})"
        )
        for name, info in stored.items()
    ]


def run(args: argparse.Namespace) -> int:
    from ..material import store_values

    env = load_env(args.env)
    res = _resolve(env, args)
    unused = ignored(env, res)
    stored = store_values(res)
    if args.json:
        out = {**res.to_dict(), "ignored": [item.to_dict() for item in unused]}
        if stored:
            out["store"] = stored
        emit_json(out)
    else:
        write_text("\n".join([render_table(res, unused), *render_store(stored)]))
    return EXIT_OK
