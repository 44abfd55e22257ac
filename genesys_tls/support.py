"""Which connections Genesys supports TLS on: the "Supporting Components" list, kept as data.

The facts live in ``genesys_tls/data/support.json``, a faithful encoding of the section "Supporting
Components" of the Genesys Security Deployment Guide (Introduction to Genesys TLS). This module loads that
file once, checks its shape, and answers one question: does the list say TLS is supported between an
application of type A (the client) and one of type B (the server)?

    >>> support_for("T-Server", "Configuration Server").status
    <SupportStatus.SUPPORTED: 'supported'>
    >>> support_for("Interaction Workspace", "Configuration Server").kinds
    ('config-server-auto-detect',)
    >>> component_for_type("  t-server ")
    'tserver'

Types are the Application types shown in Genesys Administrator (the environment file's free-text ``type``),
matched without regard to case or runs of whitespace. Only a few of them could be checked against the
Genesys pages; the others are marked ``confirmed: false`` in the data. ``docs/support-matrix.md`` describes
the data, the matching rules and every assumption.

Size: over 600 lines because it renders the support matrix data and its page in one place.
"""

from __future__ import annotations

import enum
import functools
import importlib.resources
import json
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .errors import ConfigurationError

__all__ = [
    "Component",
    "SupportData",
    "SupportEntry",
    "SupportStatus",
    "SupportVerdict",
    "TypeName",
    "component_for_type",
    "known_types",
    "load_support",
    "normalize_type",
    "parse_support",
    "render_components",
    "support_for",
]

#: Where the data file sits, relative to the package (named in error messages).
DATA_FILE = "genesys_tls/data/support.json"

#: The data format this module reads (the file's ``format`` field).
FORMAT = 1

#: Endpoint wildcards: ``*`` is every Genesys server, ``any`` every component.
ANY_SERVER = "*"
ANY = "any"
_WILDCARDS = frozenset({ANY_SERVER, ANY})

#: How a connection entry reads: ``either`` = "between A and B" (either end may be the client);
#: ``client-to-server`` = ``from`` is the client, ``to`` the server (the eServices table, "its clients").
DIRECTIONS = ("either", "client-to-server")

#: The kind that only qualifies a wildcard ("that support this feature"): it decides nothing when another
#: entry matches.
CONDITIONAL = "conditional"

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION = re.compile(r"^\d+(?:\.\d+)*$")


class SupportStatus(enum.StrEnum):
    """What the Supporting Components list says about a connection."""

    SUPPORTED = "supported"  #: listed, standard Genesys TLS
    UNSUPPORTED = "unsupported"  #: both types known, the connection is not listed
    UNKNOWN_TYPE = "unknown-type"  #: a type is not in the data: nothing can be said
    SPECIAL = "special"  #: listed, but TLS is set up another way (see ``kinds``)


def normalize_type(name: str) -> str:
    """The form type names are compared in: case folded, whitespace runs collapsed, ends stripped.

    >>> normalize_type("  Configuration   SERVER ")
    'configuration server'
    """
    return " ".join(name.split()).casefold()


@attrs.frozen
class TypeName:
    """A Genesys Administrator Application type that maps to a component.

    Attributes:
        name: the type as spelled in Genesys Administrator (or, when not confirmed, as believed).
        component: the id of the component it maps to.
        confirmed: whether a Genesys page confirmed the spelling (``evidence`` then cites it).
        evidence: the page that confirms it, when confirmed.
        note: why it is believed, when not confirmed.
    """

    name: str
    component: str
    confirmed: bool
    evidence: str = ""
    note: str = ""


@attrs.frozen
class Component:
    """A component of the Supporting Components list. Users do not build these; see :func:`load_support`.

    Attributes:
        id: the stable id used by connection entries.
        name: the component's name as the source gives it.
        sections: the source sections that name it.
        genesys_server: whether ``*`` ("all other Genesys Servers") covers it.
        groups: the groups (``@name`` endpoints) it belongs to.
        types: the Application types that map to it (may be empty: external systems, unknown types).
        note: what else the data says about it.
    """

    id: str
    name: str
    sections: tuple[str, ...]
    genesys_server: bool
    groups: frozenset[str]
    types: tuple[TypeName, ...]
    note: str = ""


@attrs.frozen
class SupportEntry:
    """One supported connection of the list. Users do not build these; see :func:`load_support`.

    Attributes:
        from_: one end (the client when ``direction`` is ``client-to-server``): a component id, ``@group``,
            ``*`` or ``any``. Written ``from`` in the data.
        to: the other end (the server when directed), same forms.
        direction: ``either`` or ``client-to-server``.
        section: the source section.
        source: the line of the source it encodes (short quote).
        kind: the special case, when TLS is not set up the standard way (a key of the data's ``kinds``).
        min_version: the minimum versions the source gives, keys ``from`` and/or ``to``.
        port: the id the server's secure port must have, when the source requires one.
        interface: the protocol interface concerned (``SIP``, ``HTTP``...), when the source names one.
        note: what the entry adds to the source line.
    """

    from_: str
    to: str
    direction: str
    section: str
    source: str
    kind: str | None = None
    min_version: Mapping[str, str] = attrs.field(factory=dict)
    port: str | None = None
    interface: str | None = None
    note: str = ""

    @property
    def rank(self) -> tuple[int, int]:
        """How specific the entry is (lower is more specific): named ids, then groups, then wildcards."""
        a, b = _specificity(self.from_), _specificity(self.to)
        return max(a, b), a + b

    def matches(self, client: Component, server: Component) -> bool:
        """Whether the entry covers ``client`` connecting to ``server``."""
        if _endpoint_matches(self.from_, client) and _endpoint_matches(self.to, server):
            return True
        return (
            self.direction == "either" and _endpoint_matches(self.from_, server) and _endpoint_matches(self.to, client)
        )

    def describe(self) -> tuple[str, ...]:
        """The entry's notes as sentences: its note, the versions and the port the source requires."""
        out: list[str] = []
        if self.note:
            out.append(self.note)
        versions = [
            f"{end} {self.min_version[key]} or later"
            for key, end in (("from", "client"), ("to", "server"))
            if key in self.min_version
        ]
        if versions:
            out.append("the source requires " + " and ".join(versions))
        if self.port:
            out.append(f"the server's secure listening port must have the id {self.port} (a required name)")
        return tuple(out)


@attrs.frozen
class SupportData:
    """The whole data file, checked. Users do not build these; see :func:`load_support`.

    Attributes:
        components: component id -> :class:`Component`, in file order.
        entries: the connection entries, in file order.
        kinds: special-case kind -> what it means.
        groups: group name -> what it covers.
        types: normalized type name -> :class:`TypeName`.
        document: the source document's description (title, date, caveat).
    """

    components: Mapping[str, Component]
    entries: tuple[SupportEntry, ...]
    kinds: Mapping[str, str]
    groups: Mapping[str, str]
    types: Mapping[str, TypeName]
    document: Mapping[str, str]


@attrs.frozen
class SupportVerdict:
    """The answer of :func:`support_for`.

    Attributes:
        status: what the list says (:class:`SupportStatus`; compares equal to its string value).
        client_type: the client's type as asked.
        server_type: the server's type as asked.
        client_component: the client's component id, None when its type is unknown.
        server_component: the server's component id, None when its type is unknown.
        notes: readable remarks: what the matching entries add, the special cases explained, or why
            nothing could be said.
        kinds: the special cases (``gvp-own-format``, ``wfm-openssl``...) when ``status`` is ``special``.
        source: the line of the list that decided the answer (empty when none did).
        entries: the entries that decided the answer.
    """

    status: SupportStatus
    client_type: str
    server_type: str
    client_component: str | None
    server_component: str | None
    notes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    source: str = ""
    entries: tuple[SupportEntry, ...] = ()

    @property
    def listed(self) -> bool:
        """Whether the list names TLS support for the connection (supported or special)."""
        return self.status in (SupportStatus.SUPPORTED, SupportStatus.SPECIAL)


def _specificity(endpoint: str) -> int:
    if endpoint == ANY:
        return 3
    if endpoint == ANY_SERVER:
        return 2
    if endpoint.startswith("@"):
        return 1
    return 0


def _endpoint_matches(endpoint: str, component: Component) -> bool:
    if endpoint == ANY:
        return True
    if endpoint == ANY_SERVER:
        return component.genesys_server
    if endpoint.startswith("@"):
        return endpoint[1:] in component.groups
    return endpoint == component.id


# --- validation -------------------------------------------------------------------------------------------


def _fail(
    reason: str,
    where: str | None = None,
    option: str | None = None,
    value: Any = None,
    valid: Iterable[str] | str | None = None,
    *,
    file: str = DATA_FILE,
) -> ConfigurationError:
    return ConfigurationError(
        f"the support data file is broken: {reason}",
        file=file,
        object=where,
        option=option,
        value=None if value is None else _shown(value),
        valid=valid if isinstance(valid, str) or valid is None else tuple(valid),
    )


def _shown(value: Any) -> str:
    """A bad value as text for the message: strings as they are, the rest as JSON, cut at 80 characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


class _Reader:
    """Field access on one object of the data file, with errors that say where."""

    def __init__(self, raw: Any, where: str, file: str, allowed: Iterable[str]) -> None:
        if not isinstance(raw, dict):
            raise _fail("expected an object", where, value=raw, file=file)
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise _fail("unknown field", where, unknown[0], raw[unknown[0]], sorted(allowed), file=file)
        self.raw: dict[str, Any] = raw
        self.where = where
        self.file = file

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.raw.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise _fail("expected a non-empty string", self.where, key, value, file=self.file)
        return value

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if not isinstance(value, bool):
            raise _fail("expected true or false", self.where, key, value, file=self.file)
        return value

    def texts(self, key: str, *, nonempty: bool = False) -> tuple[str, ...]:
        value = self.raw.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _fail("expected a list of non-empty strings", self.where, key, value, file=self.file)
        if nonempty and not value:
            raise _fail("expected at least one entry", self.where, key, value, file=self.file)
        return tuple(value)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        if not isinstance(value, dict):
            raise _fail("expected an object", self.where, key, value, file=self.file)
        return value


def _text_map(raw: dict[str, Any], where: str, file: str) -> dict[str, str]:
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise _fail("expected a non-empty description", where, key, value, file=file)
    return dict(raw)


def _parse_type(raw: Any, where: str, component: str, file: str) -> TypeName:
    r = _Reader(raw, where, file, ("name", "confirmed", "evidence", "note"))
    name = r.text("name")
    confirmed = r.flag("confirmed")
    evidence = r.text("evidence", required=confirmed)
    note = r.text("note", required=not confirmed)
    return TypeName(name=name, component=component, confirmed=confirmed, evidence=evidence, note=note)


def _parse_component(cid: str, raw: Any, groups: Mapping[str, str], file: str) -> Component:
    where = f"components.{cid}"
    if not _ID.match(cid) or cid in _WILDCARDS:
        raise _fail("a component id must be lower-case letters, digits and _", where, value=cid, file=file)
    r = _Reader(raw, where, file, ("name", "sections", "genesys_server", "groups", "types", "note"))
    member_of = r.texts("groups")
    for group in member_of:
        if group not in groups:
            raise _fail("unknown group", where, "groups", group, sorted(groups), file=file)
    types_raw = r.raw.get("types")
    if not isinstance(types_raw, list):
        raise _fail("expected a list of type objects", where, "types", types_raw, file=file)
    return Component(
        id=cid,
        name=r.text("name"),
        sections=r.texts("sections", nonempty=True),
        genesys_server=r.flag("genesys_server"),
        groups=frozenset(member_of),
        types=tuple(_parse_type(t, f"{where}.types[{i}]", cid, file) for i, t in enumerate(types_raw)),
        note=r.text("note", required=False),
    )


def _check_endpoint(
    value: str,
    where: str,
    key: str,
    *,
    components: Mapping[str, Component],
    groups: Mapping[str, str],
    file: str,
) -> None:
    if value in _WILDCARDS or value in components:
        return
    if value.startswith("@") and value[1:] in groups:
        return
    valid = f"a component id, @group ({', '.join(sorted(groups))}), '*' (every Genesys server) or 'any'"
    raise _fail("unknown endpoint", where, key, value, valid, file=file)


def _parse_entry(
    index: int,
    raw: Any,
    *,
    components: Mapping[str, Component],
    groups: Mapping[str, str],
    kinds: Mapping[str, str],
    file: str,
) -> SupportEntry:
    where = f"connections[{index}]"
    r = _Reader(
        raw,
        where,
        file,
        (
            "from",
            "to",
            "direction",
            "kind",
            "min_version",
            "port",
            "interface",
            "note",
            "section",
            "source",
        ),
    )
    frm, to = r.text("from"), r.text("to")
    _check_endpoint(frm, where, "from", components=components, groups=groups, file=file)
    _check_endpoint(to, where, "to", components=components, groups=groups, file=file)
    direction = r.text("direction")
    if direction not in DIRECTIONS:
        raise _fail("unknown direction", where, "direction", direction, DIRECTIONS, file=file)
    kind = r.text("kind", required=False) or None
    if kind is not None and kind not in kinds:
        raise _fail("unknown kind (declare it under 'kinds')", where, "kind", kind, sorted(kinds), file=file)
    versions: dict[str, str] = {}
    if "min_version" in r.raw:
        raw_versions = r.mapping("min_version")
        for key, value in raw_versions.items():
            if key not in ("from", "to"):
                raise _fail("unknown min_version end", where, "min_version", key, ("from", "to"), file=file)
            if not isinstance(value, str) or not _VERSION.match(value):
                raise _fail(
                    "a version is dotted digits",
                    where,
                    f"min_version.{key}",
                    value,
                    "such as 8.1.0",
                    file=file,
                )
            versions[key] = value
        if not versions:
            raise _fail("min_version is empty (remove it)", where, "min_version", raw_versions, file=file)
    return SupportEntry(
        from_=frm,
        to=to,
        direction=direction,
        section=r.text("section"),
        source=r.text("source"),
        kind=kind,
        min_version=MappingProxyType(versions),
        port=r.text("port", required=False) or None,
        interface=r.text("interface", required=False) or None,
        note=r.text("note", required=False),
    )


def parse_support(raw: Any, *, file: str = DATA_FILE) -> SupportData:
    """Check the decoded data file and build :class:`SupportData`.

    Args:
        raw: the decoded JSON document.
        file: the name to give in error messages.

    Returns:
        the checked data.

    Raises:
        ConfigurationError: the document does not have the expected shape; the message names the field
            (``components.tserver``, ``connections[12]``, option ``kind``...), the bad value and the valid
            ones.
    """
    top = _Reader(
        raw,
        "document",
        file,
        (
            "format",
            "document",
            "wildcards",
            "groups",
            "kinds",
            "components",
            "connections",
        ),
    )
    if top.raw.get("format") != FORMAT:
        raise _fail("unsupported format", "document", "format", top.raw.get("format"), (str(FORMAT),), file=file)
    document = _text_map(top.mapping("document"), "document", file)
    wildcards = top.mapping("wildcards")
    if set(wildcards) != set(_WILDCARDS):
        raise _fail(
            "the wildcards are fixed",
            "wildcards",
            value=sorted(wildcards),
            valid=sorted(_WILDCARDS),
            file=file,
        )
    _text_map(wildcards, "wildcards", file)
    groups = _text_map(top.mapping("groups"), "groups", file)
    kinds = _text_map(top.mapping("kinds"), "kinds", file)
    components_raw = top.mapping("components")
    if not components_raw:
        raise _fail("no components", "components", file=file)
    components = {cid: _parse_component(cid, c, groups, file) for cid, c in components_raw.items()}
    types: dict[str, TypeName] = {}
    for component in components.values():
        for type_name in component.types:
            key = normalize_type(type_name.name)
            if key in types:
                raise _fail(
                    f"type {type_name.name!r} maps to two components ({types[key].component} and "
                    f"{component.id}); a type must map to one",
                    f"components.{component.id}",
                    "types",
                    type_name.name,
                    file=file,
                )
            types[key] = type_name
    entries_raw = top.raw.get("connections")
    if not isinstance(entries_raw, list) or not entries_raw:
        raise _fail("expected a non-empty list", "connections", value=entries_raw, file=file)
    entries = tuple(
        _parse_entry(i, e, components=components, groups=groups, kinds=kinds, file=file)
        for i, e in enumerate(entries_raw)
    )
    return SupportData(
        components=MappingProxyType(components),
        entries=entries,
        kinds=MappingProxyType(kinds),
        groups=MappingProxyType(groups),
        types=MappingProxyType(types),
        document=MappingProxyType(document),
    )


@functools.lru_cache(maxsize=1)
def load_support() -> SupportData:
    """The packaged support data, read and checked on the first call and cached afterwards.

    Raises:
        ConfigurationError: the packaged file is missing, is not JSON, or has the wrong shape.
    """
    resource = importlib.resources.files("genesys_tls").joinpath("data", "support.json")
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read it ({exc.strerror or exc})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return parse_support(raw)


# --- queries ----------------------------------------------------------------------------------------------


def component_for_type(type_name: str) -> str | None:
    """The component id a Genesys Administrator Application type maps to, or None when it is not known.

    Matching ignores case and collapses whitespace: ``"t-server"`` and ``" T-Server "`` are ``T-Server``.
    """
    found = load_support().types.get(normalize_type(type_name))
    return found.component if found else None


def known_types() -> tuple[str, ...]:
    """Every type name the data maps, confirmed or not, as spelled in the data, sorted case-insensitively."""
    return tuple(sorted((t.name for t in load_support().types.values()), key=str.casefold))


def support_for(client_type: str, server_type: str) -> SupportVerdict:
    """What the Supporting Components list says about TLS from an application of ``client_type`` to one of
    ``server_type``.

    Rules (``docs/support-matrix.md`` explains them):

    * either type unknown -> ``unknown-type`` (nothing can be said; lint reports it as information);
    * no entry covers the pair -> ``unsupported``;
    * otherwise the entries that cover it decide. ``conditional`` entries ("that support this feature")
      count only when nothing else covers the pair. Among the rest, the most specific ones decide (named
      components before ``@groups`` before ``*`` and ``any``); a plain entry among them gives ``supported``,
      else the answer is ``special`` with the entries' ``kinds``.

    Args:
        client_type: the type of the application that opens the connection.
        server_type: the type of the application that listens.

    Returns:
        the verdict, with the deciding source line and notes.

    Raises:
        ConfigurationError: the packaged data file is broken.
    """
    data = load_support()
    client_name = data.types.get(normalize_type(client_type))
    server_name = data.types.get(normalize_type(server_type))
    client_id = client_name.component if client_name else None
    server_id = server_name.component if server_name else None
    if client_id is None or server_id is None:
        unknown = [t for t, c in ((client_type, client_id), (server_type, server_id)) if c is None]
        return SupportVerdict(
            status=SupportStatus.UNKNOWN_TYPE,
            client_type=client_type,
            server_type=server_type,
            client_component=client_id,
            server_component=server_id,
            notes=tuple(f"application type {t!r} is not in the Supporting Components data" for t in unknown),
        )
    client, server = data.components[client_id], data.components[server_id]
    matches = [entry for entry in data.entries if entry.matches(client, server)]
    if not matches:
        return SupportVerdict(
            status=SupportStatus.UNSUPPORTED,
            client_type=client_type,
            server_type=server_type,
            client_component=client_id,
            server_component=server_id,
            notes=(f"the Supporting Components list names no TLS support from {client.name} to {server.name}",),
        )
    pool = [m for m in matches if m.kind != CONDITIONAL] or matches
    best = min(m.rank for m in pool)
    tier = [m for m in pool if m.rank == best]
    plain = [m for m in tier if m.kind is None]
    deciding = plain or tier
    kinds = () if plain else tuple(dict.fromkeys(m.kind for m in deciding if m.kind))
    notes = [note for m in deciding for note in m.describe()]
    notes += [f"{kind}: {data.kinds[kind]}" for kind in kinds]
    for name in (client_name, server_name):
        if name is not None and not name.confirmed:
            notes.append(f"type {name.name!r} is not a confirmed Genesys Administrator type name")
    return SupportVerdict(
        status=SupportStatus.SUPPORTED if plain else SupportStatus.SPECIAL,
        client_type=client_type,
        server_type=server_type,
        client_component=client_id,
        server_component=server_id,
        notes=tuple(dict.fromkeys(notes)),
        kinds=kinds,
        source=deciding[0].source,
        entries=tuple(deciding),
    )


# --- documentation ----------------------------------------------------------------------------------------


def render_components() -> str:
    """The component table of ``docs/support-matrix.md`` (a test checks the page holds exactly this).

    One row per component: its id, name, whether ``*`` covers it, its groups and its type names, confirmed
    ones in bold.
    """
    data = load_support()
    lines = [
        "| id | component | `*` covers it | groups | Genesys Administrator types (**confirmed**) |",
        "|---|---|---|---|---|",
    ]
    for c in data.components.values():
        types = ", ".join(f"**{t.name}**" if t.confirmed else t.name for t in c.types) or "(none)"
        groups = ", ".join(f"`@{g}`" for g in sorted(c.groups)) or ""
        server = "yes" if c.genesys_server else "no"
        lines.append(f"| `{c.id}` | {c.name} | {server} | {groups} | {types} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation helper
    print(render_components(), end="")
