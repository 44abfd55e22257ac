"""Bounded, fail-closed reading of the cloud input files (known-IP lists, network plans, PAC files).

Regular files only (no FIFOs or devices), at most :data:`MAX_BYTES`, UTF-8. YAML is read with the safe loader
after a pass over the event stream that refuses anchors, aliases and explicit tags: a known-IP list or a plan
never needs them, and refusing them stops alias bombs before anything is built.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from .. import _files
from ..errors import ConfigurationError

#: The largest input file read (bytes).
MAX_BYTES = 4 * 1024 * 1024


def read_text(path: str | os.PathLike[str], *, what: str, limit: int | None = None) -> str:
    """The text of a regular file of at most ``limit`` bytes.

    Raises:
        ConfigurationError: missing, not a regular file, too large, unreadable or not UTF-8; names the file.
    """
    file = os.fspath(path)
    limit = MAX_BYTES if limit is None else limit  # read at each call: assignable
    try:
        data = _files.read_regular_file(file, limit=limit, what=what)
    except ConfigurationError as exc:
        raise ConfigurationError(exc.reason, file=file, valid=f"a regular file of at most {limit} bytes",
                                 problem=exc.problem) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", file=file) from None


def safe_yaml(text: str, *, file: str | None) -> Any:
    """Parse YAML, refusing anchors, aliases and explicit tags.

    Raises:
        ConfigurationError: invalid YAML, an alias or anchor, or a tag; names the file and the line.
    """
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ConfigurationError(
                    f"YAML anchors and aliases are not accepted (line {line})", file=file,
                    valid="plain YAML without & anchors or * aliases",
                )
            tag = getattr(event, "tag", None)
            if tag and not isinstance(event, yaml.DocumentStartEvent) and tag != "!":
                raise ConfigurationError(
                    f"YAML tags are not accepted (line {line})", file=file, value=str(tag),
                    valid="plain YAML without ! tags",
                )
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigurationError(f"not valid YAML: {problem}{where}", file=file) from None
