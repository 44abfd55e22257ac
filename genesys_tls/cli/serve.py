"""``genesys-tls serve``: a real TLS server on one listening port's effective settings."""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
import threading
import warnings
from typing import TYPE_CHECKING, TextIO

from ..addresses import LOOPBACK
from ..errors import GenesysTLSError
from ..resolve import resolve_server
from ..resolved import PortMode
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    check_timeout,
    emit_json,
    fail,
    load_env,
    near_miss_warnings,
    parse_address,
    safe,
    write_text,
)
from .connect import add_tls_options, mode_text
from .resolve import add_reading

if TYPE_CHECKING:  # the CLI loads ssl only when a command that needs it runs
    from ..handshake import HandshakeResult, Server
    from ..reload import ReloadEvent
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
    p.add_argument(
        "--watch", action="store_true",
        help="apply changed files and options to the next handshakes: watch ENV and every certificate, key, "
        "CA and CRL file of the port (by content); one line per applied or refused reload (a JSON event line "
        "with --json); a refused reload keeps the previous settings serving",
    )
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
    """One readable line per handshake; every value from the peer is escaped
    (:func:`~genesys_tls.cli._common.safe`: the client controls its certificate's subject)."""
    client = safe(result.address)
    if result.ok and result.protocol is None:  # a plain client on an upgrade port
        return f"accepted {client} plain (no TLS) mode={result.mode}"
    if result.ok:
        who = f"client {safe(result.peer.subject)}" if result.peer else "no client certificate"
        auth = " (authenticated)" if result.authenticated else ""
        return f"accepted {client} {result.protocol} {result.cipher} mode={result.mode} {who}{auth}"
    assert result.error is not None  # noqa: S101 - a refused result has an error
    return f"refused {client} mode={result.mode} {result.error[0].value}: {safe(result.error[1])}"


#: Seconds a result line may wait in the output buffer (lines are written as they come, flushed in bursts).
FLUSH_EVERY = 0.05


class _Flusher:
    """Flushes a stream at most every :data:`FLUSH_EVERY` seconds while lines are written to it (one write
    for a burst of handshakes instead of one per handshake, outside the server's record lock), and at the
    end."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="genesys-tls serve output", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            self._pending.wait()
            self._done.wait(FLUSH_EVERY)
            self._pending.clear()
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()

    def written(self) -> None:
        """A line was written: flush it soon."""
        self._pending.set()

    def close(self) -> None:
        """Flush what is left and stop."""
        self._done.set()
        self._pending.set()
        self._thread.join(1.0)
        self._stream.flush()


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
    ignored = near_miss_warnings(env, resolved, "serve")
    refused = False  # what the exit code needs; results are streamed, not kept (memory stays flat)
    output = threading.Lock()  # handshake lines and reload event lines come from different threads

    def on_result(result: HandshakeResult) -> None:
        nonlocal refused
        refused = refused or not result.ok
        with output:
            if args.json:
                out = result.to_dict()
                if ignored:
                    out["warnings"] = [*out.get("warnings", ()), *ignored]
                emit_json(out)
            else:
                write_text(render(result))
        flusher.written()

    def on_event(event: ReloadEvent) -> None:
        with output:
            if args.json:
                emit_json(event.to_dict())
            else:
                write_text(event.render())
        flusher.written()

    listening: list[Server] = []
    stopped = threading.Event()
    watchers: list[threading.Thread] = []

    def on_listening(server: Server) -> None:
        listening.append(server)
        host, port = server.address
        host = f"[{host}]" if ":" in host else host
        print(f"listening on {host}:{port}", file=sys.stderr, flush=True)
        if not args.json:
            if resolved.port_mode is PortMode.UPGRADE:  # TLS or plain, told apart by the client's first bytes
                what = f"upgrade port: TLS clients {mode_text(resolved.tls_mode.value, 'server')}; plain clients too"
            else:
                what = f"mode {mode_text(resolved.mode.value, 'server')}"
            write_text(f"serving {safe(resolved.object)}, {what}", file=sys.stderr)
        for note in server.warnings:
            write_text(f"warning: {safe(note)}", file=sys.stderr)
        sys.stderr.flush()
        watchers.append(_report_accept_errors(server, stopped))

    flusher = _Flusher(sys.stdout)
    with warnings.catch_warnings(), contextlib.closing(flusher):
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
                watch=args.watch,
                on_event=on_event,
                source=args.env,
                loader=load_env,
            )
        except KeyboardInterrupt:
            pass
        except GenesysTLSError:
            raise
        except OSError as exc:
            if listening:  # accept failed in a way that cannot be backed off from: the server stopped
                return fail(f"genesys-tls serve: stopped: accept failed: {_errno_text(exc)}", code=EXIT_FAILED)
            return fail(
                f"genesys-tls serve: cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}",
                code=EXIT_USAGE,
            )
        finally:
            stopped.set()
            for watcher in watchers:
                watcher.join(2 * ACCEPT_REPORT_EVERY)
    return EXIT_FAILED if refused else EXIT_OK


#: Seconds between two reports of accept errors on stderr.
ACCEPT_REPORT_EVERY = 1.0


def _errno_text(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")


def _report_accept_errors(server: Server, stopped: threading.Event) -> threading.Thread:
    """Report on stderr, at most once per :data:`ACCEPT_REPORT_EVERY` seconds, the accept errors the server
    backed off from (``EMFILE``: the descriptor limit is reached...), and their total when serving ends:
    a server that refuses connections at the door says so."""
    core = server.core

    def line(count: int) -> str:
        last = core.accept_errors[-1] if core.accept_errors else None
        name = errno.errorcode.get(last.errno, str(last.errno)) if last is not None else "?"
        detail = f"{last.detail} ({name})" if last is not None else name
        return f"genesys-tls serve: accept failed {count} time(s): {detail}; backing off and going on"

    def watch() -> None:
        seen = 0
        while True:
            done = stopped.wait(ACCEPT_REPORT_EVERY)
            count = core.accept_error_count
            if count > seen:
                write_text(line(count - seen), file=sys.stderr, flush=True)
                seen = count
            if done:
                if count:
                    write_text(f"genesys-tls serve: accept failed {count} time(s) in all", file=sys.stderr,
                               flush=True)
                return

    thread = threading.Thread(target=watch, name="genesys-tls serve accept errors", daemon=True)
    thread.start()
    return thread
