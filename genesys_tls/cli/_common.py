"""Shared CLI helpers: exit codes, one-line errors, JSON output, environment loading."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import addresses
from .._text import escape_lines, escape_text, one_line
from ..errors import ConfigurationError, TLSError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """Bad usage: printed as one line, exit 2."""


#: the folder of the JSON Schemas, in the project's source tree
SCHEMA_DIR = "docs/schemas"
#: command (``pki init`` for a sub-action) -> the JSON Schema of its ``--json`` output
SCHEMAS = {
    "resolve": "resolve.schema.json",
    "lint": "lint.schema.json",
    "connect": "connect.schema.json",
    "serve": "serve.schema.json",
    "demo": "demo.schema.json",
    "pki init": "pki-init.schema.json",
    "doctor": "doctor.schema.json",
    "cloud ips": "cloud-ips.schema.json",
    "cloud probe": "cloud-probe.schema.json",
    "cloud pac": "cloud-pac.schema.json",
    "cloud plan": "lint.schema.json",
    "sipendpoint check": "sipendpoint-check.schema.json",
    "sipendpoint serve": "sipendpoint-serve.schema.json",
    "sipendpoint connect": "sipendpoint-connect.schema.json",
    "load": "load.schema.json",
}
#: the JSON Schema of the error object printed with ``--json``
ERROR_SCHEMA = "error.schema.json"
#: command (``cloud ips`` for a sub-action) -> the documentation pages its ``--help`` names
DOC_PAGES = {
    "resolve": ("docs/resolve.md",),
    "connect": ("docs/contexts.md", "docs/quickstart.md"),
    "serve": ("docs/contexts.md", "docs/quickstart.md"),
    "lint": ("docs/lint.md", "docs/lint-ci.md"),
    "pki": ("docs/pki.md",),
    "pki init": ("docs/pki.md",),
    "demo": ("docs/testing.md",),
    "doctor": ("docs/doctor.md",),
    "report": ("docs/report.md",),
    "cloud": ("docs/cloud.md",),
    "cloud ips": ("docs/cloud.md",),
    "cloud probe": ("docs/cloud.md",),
    "cloud pac": ("docs/cloud.md",),
    "cloud plan": ("docs/cloud.md",),
    "sipendpoint": ("docs/sipendpoint.md",),
    "sipendpoint check": ("docs/sipendpoint.md",),
    "sipendpoint serve": ("docs/sipendpoint.md",),
    "sipendpoint connect": ("docs/sipendpoint.md",),
}


def schema_epilog(command: str) -> str:
    """The ``--help`` sentence pointing at a command's JSON Schemas."""
    return (
        f"JSON output (--json): {SCHEMA_DIR}/{SCHEMAS[command]}; errors with --json: {SCHEMA_DIR}/{ERROR_SCHEMA} "
        "(see docs/contract.md)"
    )


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter that never breaks a word at a hyphen or in the middle: paths, option names and
    schema file names in ``--help`` stay whole, so they can be copied."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent,
                             break_on_hyphens=False, break_long_words=False)


def _append_epilog(parser: argparse.ArgumentParser, sentence: str) -> None:
    parser.epilog = f"{parser.epilog}; {sentence}" if parser.epilog else sentence


def point_at_schemas(sub: argparse._SubParsersAction[Any], prefix: str = "") -> None:
    """Give every registered command :class:`HelpFormatter` and append to its ``--help`` its JSON Schema
    (:func:`schema_epilog`) when it has one, and its documentation pages (:data:`DOC_PAGES`) that its text does
    not name yet."""
    for name, parser in sub.choices.items():
        command = f"{prefix}{name}"
        parser.formatter_class = HelpFormatter
        written = f"{parser.description or ''} {parser.epilog or ''}"
        pages = [page for page in DOC_PAGES.get(command, ()) if page not in written]
        if command in SCHEMAS:
            _append_epilog(parser, schema_epilog(command))
        if pages:
            _append_epilog(parser, "documentation: " + ", ".join(pages))
        nested = parser._subparsers
        for action in nested._group_actions if nested is not None else ():
            if isinstance(action, argparse._SubParsersAction):
                point_at_schemas(action, f"{command} ")

#: what ``cli.main`` set for this run: ``json`` -> errors also printed as JSON on stdout
_ERRORS = {"json": False}


def wants_json(argv: Sequence[str]) -> bool:
    """Whether a command line asks for JSON output (``--json``, ``--format json``, ``--format=json``)."""
    args = list(argv)
    if "--" in args:
        args = args[: args.index("--")]
    for index, arg in enumerate(args):
        if arg in {"--json", "--format=json"}:
            return True
        if arg == "--format" and args[index + 1 : index + 2] == ["json"]:
            return True
    return False


def json_errors(enabled: bool) -> None:
    """Make :func:`fail` also print its error as one JSON object on stdout (set by ``cli.main``)."""
    _ERRORS["json"] = enabled


def error_object(message: str, code: int, error: BaseException | None = None) -> dict[str, Any]:
    """The ``{"error": {...}}`` document of ``docs/schemas/error.schema.json`` for one failure."""
    kind = "usage"
    if isinstance(error, ConfigurationError):
        kind = "configuration"
    elif isinstance(error, TLSError):
        kind = "tls"
    out: dict[str, Any] = {"kind": kind, "exit-code": code, "message": message}
    if isinstance(error, ConfigurationError):
        out["reason"] = error.reason
        for name in ("file", "object", "level", "option", "value"):
            value = getattr(error, name)
            if value is not None:
                out[name] = value
        if error.valid:
            out["valid"] = error.valid if isinstance(error.valid, str) else list(error.valid)
        suggestions = getattr(error, "suggestions", ())
        if suggestions:
            out["suggestions"] = list(suggestions)
    elif isinstance(error, TLSError):
        out["category"] = error.category.value
        out["detail"] = error.detail
    return {"error": out}


def fail(message: str, code: int = EXIT_USAGE, error: BaseException | None = None) -> int:
    """Print one line on stderr (and, with ``--json``, the error object on stdout); return ``code``.

    The exit code is the same with or without ``--json``.
    """
    line = one_line(message)
    print(line, file=sys.stderr)
    if _ERRORS["json"]:
        emit_json(error_object(line, code, error))
        sys.stdout.flush()
    return code


def safe(value: object) -> str:
    """One value of a text output line, escaped (:func:`genesys_tls._text.escape_text`, never shortened): a
    certificate subject, an address, a name or a detail read from a file or a peer. Escape each value
    where it is put in a line, so that a line break inside it cannot start a forged line of its own."""
    return escape_text(str(value), limit=None)


def write_text(text: str, *, file: TextIO | None = None, flush: bool = False) -> None:
    """Print the text output of a command (one or more lines), every line escaped
    (:func:`genesys_tls._text.escape_lines`): no raw control character from a file, a name or a peer
    reaches the terminal. Every text output of the CLI goes through here (JSON output is escaped by JSON)."""
    print(escape_lines(text), file=file if file is not None else sys.stdout, flush=flush)


def near_miss_warnings(env: Any, resolved: Any, command: str) -> list[str]:
    """Warn on stderr, one line each, about the near-miss names that the runtime ignores where ``resolved``
    reads its settings (a section ``Security``, an option with a look-alike character...:
    :func:`genesys_tls.near_misses.affecting`); the warnings, for a JSON ``warnings`` member."""
    from ..near_misses import affecting

    found = [f"{miss.object} ({miss.level}): {miss.message}" for miss in affecting(env, resolved)]
    for text in found:
        write_text(f"genesys-tls {command}: warning: {safe(text)}", file=sys.stderr)
    return found


def emit_json(data: Any) -> None:
    """Print one JSON document (or one JSON line when used per event)."""
    print(json.dumps(data, sort_keys=False))


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set to anything non-empty (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def load_env(path: str) -> Any:
    """Load an environment file for a command (errors become exit 2 through ``main``)."""
    from ..loaders import load

    return load(Path(path))


def split_target(text: str) -> tuple[str, str | None]:
    """``SERVER[/PORT_ID]`` -> (server, port id or None)."""
    server, _, port_id = text.partition("/")
    if not server:
        raise CLIError(f"--connection {text!r}: expected SERVER[/PORT_ID]")
    return server, port_id or None


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``) -> (host, port), with :func:`genesys_tls.addresses.parse_address`."""
    try:
        return addresses.parse_address(text)
    except ConfigurationError:
        raise CLIError(f"--address {text!r}: expected HOST:PORT") from None


def days(text: str) -> int:
    """An argparse ``type``: a whole number of days, 0 or more (``--expiry-days``)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of days, 0 or more; got {text!r}")
    return int(text)


#: the longest ``--timeout`` accepted (socket timeouts overflow far above it)
MAX_TIMEOUT = 86400.0


def check_timeout(seconds: float, option: str = "--timeout") -> float:
    """A ``--timeout`` value: finite, more than 0 and at most :data:`MAX_TIMEOUT` (``nan``/``inf`` refused)."""
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise CLIError(
            f"{option} {seconds}: expected a positive number of seconds, at most {MAX_TIMEOUT:g}"
        )
    return seconds


def reject_missing(obj: object, what: str) -> None:
    if obj is None:
        raise ConfigurationError(f"{what} is required")
