"""``genesys-tls``: a thin argparse shell over the library (``docs/contract.md``).

Each command lives in its own module with ``register(subparsers)`` and ``run(args) -> int``. Exit codes:
0 success, 1 the thing checked failed, 2 bad usage or bad configuration (one line on stderr, never a
traceback).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from ..errors import ConfigurationError, GenesysTLSError
from ._common import EXIT_USAGE, CLIError, HelpFormatter, fail, json_errors, point_at_schemas, wants_json

__all__ = ["main"]

#: command name -> module in this package
COMMANDS = ("resolve", "connect", "serve", "lint", "pki", "demo", "doctor", "report", "cloud", "sipendpoint",
            "load")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints usage and exits 2 already; keep it to one line + usage.
        self.print_usage(sys.stderr)
        raise CLIError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The full parser (used by ``main`` and by the docs)."""
    parser = _Parser(
        prog="genesys-tls",
        formatter_class=HelpFormatter,
        description="Model, resolve, check and exercise Genesys TLS configuration.",
        epilog="Every command, its JSON output and the exit codes: docs/contract.md; 'genesys-tls COMMAND --help' "
        "names the command's documentation page and JSON Schema. Exit codes: 0 success, 1 the thing checked "
        "failed, 2 bad usage or configuration.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"genesys-tls {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name and exc.name.startswith(__name__):
                continue
            raise
        module.register(sub)
    point_at_schemas(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    json_errors(wants_json(sys.argv[1:] if argv is None else argv))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = args.run(args)
        return code
    except CLIError as exc:
        return fail(str(exc), error=exc)
    except ConfigurationError as exc:
        return fail(f"genesys-tls: configuration error: {exc}", error=exc)
    except GenesysTLSError as exc:
        return fail(f"genesys-tls: {exc}", code=1, error=exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Make SIGTERM stop a command as Ctrl-C does (``serve`` closes its listener, and the private temporary
    directory of key files is removed at exit); the default action would kill the process before that."""
    signal.signal(signal.SIGTERM, _interrupt)


def console() -> None:  # pragma: no cover - console-script wrapper
    stop_on_sigterm()
    sys.exit(main())
