"""``genesys-tls serve``: a real TLS server on one listening port's effective settings."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING

from .._text import escape_text
from ..addresses import LOOPBACK
from ..errors import GenesysTLSError
from ..resolve import resolve_server
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    check_timeout,
    emit_json,
    fail,
    load_env,
    parse_address,
)
from .connect import add_tls_options, mode_text
from .resolve import add_reading

if TYPE_CHECKING:  # the CLI loads ssl only when a command that needs it runs
    from ..handshake import HandshakeResult, Server
    from ..server import After



def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="a real TLS server on a listening port's effective settings",
        description="Resolve the listening port PORT_ID of --app, build its TLS context and accept handshakes, "
        "one line per handshake (JSON lines with --json). It listens on 127.0.0.1 and the port's configured "
        "number unless --address is given (port 0: any free port) and prints 'listening on HOST:PORT' on "
        "stderr. Exit 0: every handshake accepted; 1: at least one refused; 2: bad usage or configuration.",
    )
    p.add_argument("env", metavar="ENV", help="environment file (.yaml, .yml, .json, .cfg)")
    p.add_argument("--app", required=True, help="the server application")
    p.add_argument("--port", required=True, metavar="PORT_ID", help="a listening port of --app")
    p.add_argument("--address", metavar="HOST:PORT", help="listen there instead (default 127.0.0.1:<port number>)")
    p.add_argument("--count", type=int, metavar="N", help="stop after N handshakes")
    p.add_argument("--json", action="store_true", help="JSON lines output (contract shape)")
    add_echo(p)
    add_reading(p)
    add_tls_options(p)
    p.set_defaults(run=run)


def add_echo(parser: argparse.ArgumentParser) -> None:
    """``--echo`` and ``--idle-timeout``."""
    parser.add_argument(
        "--echo",
        action="store_true",
        help="after an accepted handshake, send back every byte the client sends (64 KiB at a time) until it "
        "closes or stays idle for --idle-timeout; without it the server closes right after the handshake",
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=60.0, metavar="S",
        help="--echo: seconds the server waits for the client's next bytes before closing (default 60)",
    )


def echo_hook(args: argparse.Namespace) -> After:
    """The ``after`` hook ``--echo`` asks for (close right after the handshake without it)."""
    from ..server import close, echo

    check_timeout(args.idle_timeout, "--idle-timeout")
    return echo if args.echo else close


def render(result: HandshakeResult) -> str:
    """One readable line per handshake."""
    if result.ok and result.protocol is None:  # a plain client on an upgrade port
        return f"accepted {result.address} plain (no TLS) mode={result.mode}"
    if result.ok:
        who = f"client {result.peer.subject}" if result.peer else "no client certificate"
        auth = " (authenticated)" if result.authenticated else ""
        return (
            f"accepted {result.address} {result.protocol} {result.cipher} mode={result.mode} {who}{auth}"
        )
    assert result.error is not None  # noqa: S101 - a refused result has an error
    return f"refused {result.address} mode={result.mode} {result.error[0].value}: {result.error[1]}"


def run(args: argparse.Namespace) -> int:
    from ..handshake import serve

    if args.count is not None and args.count < 1:
        raise CLIError(f"--count {args.count}: expected a positive number")
    check_timeout(args.timeout)
    after = echo_hook(args)
    env = load_env(args.env)
    resolved = resolve_server(
        env, args.app, args.port, reading=args.reading, legacy_protocols=args.legacy_protocols
    )
    # Where to listen: --address, else loopback on the port's configured number (0: any free port).
    address = parse_address(args.address) if args.address else (LOOPBACK, resolved.port_number or 0)
    refused = False  # what the exit code needs; results are streamed, not kept (memory stays flat)

    def on_result(result: HandshakeResult) -> None:
        nonlocal refused
        refused = refused or not result.ok
        if args.json:
            emit_json(result.to_dict())
        else:
            print(escape_text(render(result), limit=None))  # the client's certificate names are escaped
        sys.stdout.flush()

    listening: list[Server] = []

    def on_listening(server: Server) -> None:
        listening.append(server)
        host, port = server.address
        host = f"[{host}]" if ":" in host else host
        print(f"listening on {host}:{port}", file=sys.stderr, flush=True)
        if not args.json:
            print(f"serving {resolved.object}, mode {mode_text(resolved.mode.value, 'server')}", file=sys.stderr)
        for note in server.warnings:
            print(f"warning: {note}", file=sys.stderr)
        sys.stderr.flush()

    with warnings.catch_warnings():
        # Every warning the context emits is also in server.warnings, printed above.
        warnings.simplefilter("ignore", UserWarning)
        try:
            serve(
                resolved,
                address=address,
                count=args.count,
                on_result=on_result,
                on_listening=on_listening,
                password_env=args.password_env,
                crl_check=args.crl_check,
                timeout=args.timeout,
                idle_timeout=args.idle_timeout,
                after=after,
                keep=0,
            )
        except KeyboardInterrupt:
            pass
        except GenesysTLSError:
            raise
        except OSError as exc:
            if listening:
                raise
            return fail(
                f"genesys-tls serve: cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}",
                code=EXIT_USAGE,
            )
    return EXIT_FAILED if refused else EXIT_OK
