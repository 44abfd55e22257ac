"""The Workspace SIP Endpoint facts, read from ``genesys_tls/data/sipendpoint.yaml`` (no ``ssl``, no sockets).

:func:`facts` returns the one :class:`Facts` every stage reads: the endpoint's ``appSettings`` keys, the
Workspace ``sipendpoint.standalone.*`` options, the X.500 criteria, the security matrix and the verdict of every
pair of levels. ``docs/sipendpoint.md`` is rendered from it (:mod:`genesys_tls.sipendpoint.docs`).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import yaml

from ..errors import ConfigurationError

__all__ = ["DATA_FILE", "CriterionFact", "Facts", "KeyFact", "MatrixRow", "PairFact", "facts"]

DATA_FILE = "genesys_tls/data/sipendpoint.yaml"


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@attrs.frozen
class KeyFact:
    """One endpoint key or Workspace option.

    Attributes:
        name: the key (``security_level``) or the option without its prefix (``security-level``).
        type: ``choice``, ``port``, ``level``, ``search``, ``criteria``, ``properties``, ``text``, ``boolean``,
            ``cidr4`` or ``cidr6``.
        description: what it does.
        values: the valid values (``choice`` and ``level``).
        default: the documented default, when there is one.
        levels: what each level means (``level``).
        added: the release that added it, when noted.
    """

    name: str
    type: str
    description: str
    values: tuple[str, ...] = ()
    default: str | None = None
    levels: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)
    added: str | None = None


@attrs.frozen
class CriterionFact:
    """An X.500 attribute a subject criterion may name: short name, OID (dotted) and long name."""

    short: str
    oid: str
    name: str


@attrs.frozen
class MatrixRow:
    """One row of the security matrix."""

    id: str
    label: str
    endpoint: Mapping[str, str]
    workspace: Mapping[str, str]
    endpoint_checks: tuple[str, ...]
    workspace_checks: tuple[str, ...]
    protects: str
    effort: str

    @property
    def endpoint_level(self) -> int:
        """The row's endpoint ``security_level``."""
        return int(self.endpoint["security_level"])

    @property
    def workspace_level(self) -> int:
        """The row's Workspace ``security-level``."""
        return int(self.workspace["security-level"])


@attrs.frozen
class PairFact:
    """The verdict of one (endpoint level, Workspace level) pair: ``works``, ``warning`` or ``error``."""

    endpoint: int
    workspace: int
    verdict: str
    reason: str
    row: str | None = None


@attrs.frozen
class Facts:
    """Everything the data file says; see the module documentation."""

    source: str
    endpoint_file: str
    endpoint_section: str
    endpoint_keys: Mapping[str, KeyFact]
    workspace_section: str
    workspace_prefix: str
    workspace_options: Mapping[str, KeyFact]
    criteria: Mapping[str, CriterionFact]
    matrix: tuple[MatrixRow, ...]
    pairs: Mapping[tuple[int, int], PairFact]

    def pair(self, endpoint: int, workspace: int) -> PairFact:
        """The verdict of a pair of levels."""
        return self.pairs[(endpoint, workspace)]

    def row(self, row_id: str) -> MatrixRow:
        """The matrix row ``row_id``."""
        return next(r for r in self.matrix if r.id == row_id)

    def workspace_option(self, name: str) -> str:
        """The full Workspace option name (``sipendpoint.standalone.security-level``)."""
        return self.workspace_prefix + name


def _bad(where: str, reason: str) -> ConfigurationError:
    return ConfigurationError(f"invalid SIP Endpoint data: {reason}", file=DATA_FILE, object=where)


def _key(name: str, raw: Any, where: str) -> KeyFact:
    if not isinstance(raw, dict) or "type" not in raw or "description" not in raw:
        raise _bad(f"{where}.{name}", "a key needs a type and a description")
    return KeyFact(
        name=name, type=str(raw["type"]), description=str(raw["description"]),
        values=tuple(str(v) for v in raw.get("values", ())),
        default=None if raw.get("default") is None else str(raw["default"]),
        levels={str(k): str(v) for k, v in (raw.get("levels") or {}).items()},
        added=None if raw.get("added") is None else str(raw["added"]),
    )


def parse_facts(raw: Any) -> Facts:
    """Facts from the parsed data file (checked: every pair of levels is listed once)."""
    try:
        endpoint, workspace = raw["endpoint"], raw["workspace"]
        keys = {n: _key(n, v, "endpoint") for n, v in endpoint["keys"].items()}
        options = {n: _key(n, v, "workspace") for n, v in workspace["options"].items()}
        criteria = {s: CriterionFact(s, str(v["oid"]), str(v["name"])) for s, v in raw["criteria"].items()}
        matrix = tuple(
            MatrixRow(
                id=r["id"], label=r["label"],
                endpoint=MappingProxyType({k: str(v) for k, v in r["endpoint"].items()}),
                workspace=MappingProxyType({k: str(v) for k, v in r["workspace"].items()}),
                endpoint_checks=tuple(r["endpoint_checks"]), workspace_checks=tuple(r["workspace_checks"]),
                protects=r["protects"], effort=r["effort"],
            )
            for r in raw["matrix"]
        )
        pairs: dict[tuple[int, int], PairFact] = {}
        for p in raw["pairs"]:
            fact = PairFact(int(p["endpoint"]), int(p["workspace"]), p["verdict"], p["reason"], p.get("row"))
            pairs[(fact.endpoint, fact.workspace)] = fact
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad("", f"{type(exc).__name__}: {exc}") from None
    endpoint_levels = keys["security_level"].values
    workspace_levels = options["security-level"].values
    wanted = {(int(e), int(w)) for e in endpoint_levels for w in workspace_levels}
    if set(pairs) != wanted or len(raw["pairs"]) != len(wanted):
        raise _bad("pairs", "every (endpoint, Workspace) pair of levels must be listed exactly once")
    for row in matrix:
        if pairs[(row.endpoint_level, row.workspace_level)].row != row.id:
            raise _bad(f"matrix.{row.id}", "the row's pair must name the row")
    return Facts(
        source=str(raw["source"]), endpoint_file=str(endpoint["file"]), endpoint_section=str(endpoint["section"]),
        endpoint_keys=MappingProxyType(keys), workspace_section=str(workspace["section"]),
        workspace_prefix=str(workspace["prefix"]), workspace_options=MappingProxyType(options),
        criteria=MappingProxyType(criteria), matrix=matrix, pairs=MappingProxyType(pairs),
    )


@functools.cache
def facts() -> Facts:
    """The facts of ``genesys_tls/data/sipendpoint.yaml`` (read once)."""
    text = importlib.resources.files("genesys_tls").joinpath("data", "sipendpoint.yaml").read_text("utf-8")
    return parse_facts(yaml.safe_load(text))
