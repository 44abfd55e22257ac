"""Shared CLI helpers: exit codes, one-line errors, JSON output, environment loading."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from .. import addresses
from ..errors import ConfigurationError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """Bad usage: printed as one line, exit 2."""


def fail(message: str, code: int = EXIT_USAGE) -> int:
    """Print one line on stderr and return ``code``."""
    print(" ".join(message.split()), file=sys.stderr)
    return code


def emit_json(data: Any) -> None:
    """Print one JSON document (or one JSON line when used per event)."""
    print(json.dumps(data, sort_keys=False))


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


#: the longest ``--timeout`` accepted (socket timeouts overflow far above it)
MAX_TIMEOUT = 86400.0


def check_timeout(seconds: float) -> float:
    """A ``--timeout`` value: finite, more than 0 and at most :data:`MAX_TIMEOUT` (``nan``/``inf`` refused)."""
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise CLIError(
            f"--timeout {seconds}: expected a positive number of seconds, at most {MAX_TIMEOUT:g}"
        )
    return seconds


def reject_missing(obj: object, what: str) -> None:
    if obj is None:
        raise ConfigurationError(f"{what} is required")
