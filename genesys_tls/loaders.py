"""Environment files in and out: YAML and JSON (format: ``docs/contract.md``), component ``.cfg`` files, JSON Schema.

Option values are kept exactly as typed: YAML scalars that YAML 1.1 would turn into numbers or booleans
(``1``, ``true``, ``yes``, ``off``, ``0x1F``) are read as their text, so ``tls-target-name-check: no`` stays
``"no"`` and ``tls: 1`` becomes ``"1"``. Duplicate keys are errors, not "last one wins". Every error is a
:class:`~genesys_tls.errors.ConfigurationError` that names the file and the object.

Size: over 600 lines because reading (bounded YAML with its alias limit, JSON, ``.cfg``), the per-object checks
that locate every error, and writing back (YAML/JSON out, the JSON Schema) share one table of object keys and
one location scheme; the writer is the natural next cut.
"""

from __future__ import annotations

import bisect
import configparser
import gc
import json
import re
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from . import _files
from ._text import looks_secret, may_look_secret, show
from .errors import ConfigurationError, closest
from .model import Application, Connection, Environment, Host, HostOS, Port, Sections
from .transport import parse_transport

if TYPE_CHECKING:
    from .stores import StoreLocation

__all__ = [
    "ENVIRONMENT_SCHEMA",
    "Positions",
    "dump",
    "dump_data",
    "load",
    "load_component_config",
    "loads",
    "positions",
    "text_positions",
]

ENV_SUFFIXES = (".yaml", ".yml", ".json")
CFG_SUFFIXES = (".cfg", ".ini", ".conf")

_SECTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "section -> option -> value; values are text (unquoted YAML numbers/booleans are turned "
    "into their text)",
    "additionalProperties": {
        "type": ["object", "null"],
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    },
}

_STORE_PATHS: dict[str, Any] = {
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
}
_STORE_SCHEMA: dict[str, Any] = {
    "description": "the host's certificate store export (docs/stores.md): PATH of its Personal store (a folder or "
    "file of .pfx/.p12/.pem files), or a mapping with the trusted roots and the password variable",
    "oneOf": [
        _STORE_PATHS,
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["personal"],
            "properties": {
                "personal": _STORE_PATHS,
                "trusted-roots": _STORE_PATHS,
                "password-env": {"type": "string", "description": "NAME of the environment variable holding "
                                 "the PFX/key passwords (never the password itself)"},
            },
        },
    ],
}

#: The JSON Schema (draft 2020-12) of the environment format; ``docs/environment.schema.json`` is this.
ENVIRONMENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://genesys-tls.invalid/environment.schema.json",
    "title": "genesys_tls environment",
    "description": "Genesys configuration objects (Hosts, Applications with Ports and Connections) and "
    "their [security] options, as Configuration Server holds them.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "hosts": {
            "type": ["object", "null"],
            "additionalProperties": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    "ip": {"type": "string", "description": "address actually dialled"},
                    "os": {"enum": ["unix", "windows"]},
                    "annex": _SECTIONS_SCHEMA,
                    "store": _STORE_SCHEMA,
                },
            },
        },
        "applications": {
            "type": ["object", "null"],
            "additionalProperties": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    "type": {"type": "string"},
                    "host": {"type": "string"},
                    "options": _SECTIONS_SCHEMA,
                    "annex": _SECTIONS_SCHEMA,
                    "ports": {
                        "type": ["object", "null"],
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "port": {"type": ["integer", "string"]},
                                "transport": {"type": ["string", "null"]},
                            },
                        },
                    },
                    "connections": {
                        "type": ["array", "null"],
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["server"],
                            "properties": {
                                "server": {"type": "string"},
                                "port-id": {"type": ["string", "null"]},
                                "transport": {"type": ["string", "null"]},
                            },
                        },
                    },
                },
            },
        },
    },
}


# ------------------------------------------------------------------------------------------- YAML in

#: The most nodes a YAML document may expand to through aliases, beyond its own nodes: a document of N nodes
#: may stand for at most ``max(YAML_MAX_EXPANDED_NODES, YAML_EXPANSION_FACTOR * N)`` nodes once every alias is
#: followed. A "billion laughs" (a few hundred bytes standing for 10**9 nodes) is refused before anything
#: walks it; ordinary reuse (``options: *defaults`` on 20,000 applications) is far below. Change them by
#: assigning the module constants.
YAML_MAX_EXPANDED_NODES = 1_000_000
YAML_EXPANSION_FACTOR = 10

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~3x faster

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
#: Explicit tags of scalars kept as their text (``!!int 1`` is ``"1"``, like an untagged ``1``).
_TEXT_TAGS = frozenset({_STR} | {f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "timestamp")})
#: Plain scalars read as "no value" (YAML's null); every other plain scalar is text, as typed.
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})

_ScalarNode = yaml.ScalarNode
_SequenceNode = yaml.SequenceNode
_MappingNode = yaml.MappingNode


class _YAMLShapeError(Exception):
    def __init__(self, message: str, node: yaml.Node) -> None:
        mark = node.start_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        super().__init__(message + where)


class _TextLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """libyaml's parser and composer, and a construction of our own: plain dicts, lists and text.

    Every scalar is text as typed (``no``, ``1``, ``0x1F``, ``2024-01-01`` stay strings); the plain scalars of
    :data:`_NULLS` are ``None``. Duplicate keys, non-text keys, recursive aliases, tags other than the core
    ones (``!!python/...``, ``!!binary``, ``!!set``, local tags) and alias expansion past the limit are
    errors. The implicit resolvers of YAML 1.1 (a regex per scalar) and the generic constructor are skipped:
    the document is composed by libyaml and turned into containers in one pass.
    """

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is _ScalarNode:
            return _NULL if implicit[0] and value in _NULLS else _STR
        return _SEQ if kind is _SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        return _Builder().document(node)


class _Builder:
    """Turns a composed YAML node graph into plain data, counting the nodes it stands for."""

    def __init__(self) -> None:
        self.done: dict[int, tuple[Any, int]] = {}  # id(node) -> (value, expanded node count)
        self.open: set[int] = set()
        self.nodes = 0  # distinct nodes

    def document(self, node: yaml.Node) -> Any:
        value, size = self.build(node)
        allowed = max(YAML_MAX_EXPANDED_NODES, YAML_EXPANSION_FACTOR * self.nodes)
        if size > allowed:
            raise _AliasLimitError(size, allowed)
        return value

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag is _STR or tag in _TEXT_TAGS:
            return node.value
        if tag == _NULL:
            return None
        raise _YAMLShapeError(f"the tag {tag!r} is not allowed (values are text)", node)

    def build(self, node: yaml.Node) -> tuple[Any, int]:
        cls = node.__class__
        if cls is _ScalarNode:
            self.nodes += 1
            return self.scalar(node), 1  # type: ignore[arg-type]  # a ScalarNode
        ident = id(node)
        hit = self.done.get(ident)
        if hit is not None:  # an alias: the same object again, its expanded size counted again
            return hit
        if ident in self.open:
            raise _YAMLShapeError("an alias refers to a node that holds it (a recursive alias)", node)
        self.open.add(ident)
        self.nodes += 1
        size = 1
        scalar = self.scalar
        value: Any
        if cls is _MappingNode:
            if node.tag != _MAP:
                raise _YAMLShapeError(f"the tag {node.tag!r} is not allowed on a mapping", node)
            pairs = []
            for key_node, value_node in node.value:
                if key_node.__class__ is not _ScalarNode:
                    raise _YAMLShapeError("a key must be text, not a list or a mapping", key_node)
                if value_node.__class__ is _ScalarNode:
                    value = scalar(value_node)
                    size += 2
                    self.nodes += 2
                else:
                    self.nodes += 1
                    value, sub = self.build(value_node)
                    size += 1 + sub
                pairs.append((scalar(key_node), value))
            result: Any = dict(pairs)
            if len(result) != len(pairs):  # the duplicate check costs one len() unless there is one
                seen: set[Any] = set()
                for (k, _), (key_node, _) in zip(pairs, node.value, strict=True):
                    if k in seen:
                        raise _YAMLShapeError(f"duplicate key {_display(k)}", key_node)
                    seen.add(k)
        elif cls is _SequenceNode:
            if node.tag != _SEQ:
                raise _YAMLShapeError(
                    "expected a mapping, but found a sequence" if node.tag == _MAP
                    else f"the tag {node.tag!r} is not allowed on a sequence", node,
                )
            result = []
            for item in node.value:
                if item.__class__ is _ScalarNode:
                    self.nodes += 1
                    result.append(scalar(item))
                    size += 1
                else:
                    value, sub = self.build(item)
                    result.append(value)
                    size += sub
        else:  # pragma: no cover - the composer makes no other node
            raise _YAMLShapeError("unexpected YAML node", node)
        self.open.discard(ident)
        self.done[ident] = (result, size)
        return result, size


class _AliasLimitError(Exception):
    def __init__(self, size: int, allowed: int) -> None:
        self.size = size
        self.allowed = allowed
        super().__init__(size, allowed)


def _display(value: Any) -> str:
    return repr(value) if value is None else repr(show(value))


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {_display(key)}")
            seen.add(key)
    return out


# ------------------------------------------------------------------------------------------- checks


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, file: str | None, *, scan: bool = True) -> None:
        self.file = file
        #: whether each string must be checked for key material (False when the whole source text was
        #: checked at once and holds none)
        self.scan = scan

    def error(
        self, reason: str, *, object: str | None = None, level: str | None = None,
        option: str | None = None, value: Any = None, valid: Any = None, suggestions: tuple[str, ...] = (),
    ) -> ConfigurationError:
        return ConfigurationError(
            reason,
            file=self.file,
            object=object,
            level=level,
            option=option,
            value=None if value is None else _show(value),
            valid=valid,
            suggestions=suggestions,
        )


def _show(value: Any) -> str:
    # bounded: visits only what fits in the message, redacts key material, escapes control characters
    return show(value)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"


def _mapping_of(ctx: _Ctx, value: Any, what: str, obj: str | None, level: str | None = None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if value.__class__ is dict and not ctx.scan:
        for key in value:
            if key.__class__ is not str:
                break
        else:
            return value
    if not isinstance(value, Mapping):
        raise ctx.error(
            f"{what} must be a mapping, not {_kind(value)}", object=obj, level=level, value=value,
            valid="a mapping (name: value)",
        )
    for key in value:
        if not isinstance(key, str):
            raise ctx.error(f"{what} has a key that is not text", object=obj, level=level, value=key)
        _refuse_key_text(ctx, key, obj=obj, level=level, option=None)
    return value


def _refuse_key_text(
    ctx: _Ctx, value: str, *, obj: str | None, level: str | None, option: str | None
) -> None:
    """Private key material anywhere in the file (a value, a name, a port id, a type, a transport string):
    refused, and the text is not echoed anywhere. One rule, :func:`genesys_tls._text.looks_secret`: PEM
    private key text or a bare base64 key body. The object and option names are redacted by
    ConfigurationError itself when they are the key."""
    if ctx.scan and len(value) >= 10 and looks_secret(value):
        raise ctx.error(
            "the file holds private key material (PEM private key text or a base64 key body) where text or a "
            "file path belongs; the value is not shown: put the key in a file and give its path",
            object=obj, level=level, option=option, valid="a file path",
        )


def _scalar_text(ctx: _Ctx, value: Any, *, obj: str, level: str, option: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        _refuse_key_text(ctx, value, obj=obj, level=level, option=option)
    if isinstance(value, int | float | str):
        return str(value)
    raise ctx.error(
        f"an option value must be text, not {_kind(value)}", object=obj, level=level, option=option,
        value=value, valid="text (numbers and booleans are turned into text)",
    )


def _sections(ctx: _Ctx, value: Any, obj: str, level: str) -> Sections:
    if value is None:
        return {}
    if value.__class__ is dict and not ctx.scan:  # the common case: text all the way down, one pass
        fast: dict[str, dict[str, str]] = {}
        for section, options in value.items():
            if section.__class__ is not str or options.__class__ is not dict:
                break
            for name, v in options.items():
                if name.__class__ is not str or v.__class__ is not str:
                    break
            else:
                fast[section] = options
                continue
            break
        else:
            return fast
    raw = _mapping_of(ctx, value, level, obj, level)
    out: dict[str, dict[str, str]] = {}
    for section, options in raw.items():
        opts = _mapping_of(ctx, options, f"section [{section}]", obj, level)
        out[section] = {
            name: _scalar_text(ctx, v, obj=obj, level=f"{level} [{section}]", option=name)
            for name, v in opts.items()
        }
    return out


def _check_keys(ctx: _Ctx, data: Mapping[str, Any], allowed: tuple[str, ...], what: str, obj: str | None) -> None:
    known = _ALLOWED.get(allowed)
    if known is None:
        known = _ALLOWED[allowed] = frozenset(allowed)
    if known.issuperset(data):
        return
    for key in data:
        if key not in allowed:
            raise ctx.error(
                f"unknown key {key!r} in {what}", object=obj, value=key, valid=allowed,
                suggestions=closest(str(key), allowed),
            )


_ALLOWED: dict[tuple[str, ...], frozenset[str]] = {}


def _text(ctx: _Ctx, value: Any, what: str, obj: str, *, optional: bool = True) -> str | None:
    if value.__class__ is str and not ctx.scan:
        return value
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ctx.error(f"{what} must be text, not {_kind(value)}", object=obj, value=value, valid="text")
    text = str(value)
    _refuse_key_text(ctx, text, obj=obj, level=None, option=what)
    return text


def _transport_text(ctx: _Ctx, value: Any, obj: str, level: str) -> str:
    if value.__class__ is str and not ctx.scan:
        return value
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ctx.error(
            f"transport must be a string like 'tls=1;tls-mutual=1', not {_kind(value)}",
            object=obj, level=level, option="transport", value=value, valid="name=value;name=value",
        )
    _refuse_key_text(ctx, value, obj=obj, level=level, option="transport")
    return value


def _port_number(ctx: _Ctx, value: Any, obj: str) -> int | None:
    if value.__class__ is int and 0 < value < 65536:
        return value
    if value is None:
        return None
    text = str(value) if isinstance(value, int | str) else ""
    if (
        isinstance(value, bool)
        or not (text.isascii() and text.isdigit() and len(text) <= 5)  # not "²", "٣", or 5,000 digits
        or not 0 < int(text) < 65536
    ):
        raise ctx.error("port must be a TCP port number", object=obj, option="port", value=value,
                        valid="an integer from 1 to 65535")
    return int(text)


_HOST_KEYS = ("ip", "os", "annex", "store")
_APP_KEYS = ("type", "host", "options", "annex", "ports", "connections")
_PORT_KEYS = ("port", "transport")
_CONN_KEYS = ("server", "port-id", "transport")
_HOST_KEY_SET = frozenset(_HOST_KEYS)
_APP_KEY_SET = frozenset(_APP_KEYS)
_PORT_KEY_SET = frozenset(_PORT_KEYS)
_CONN_KEY_SET = frozenset(_CONN_KEYS)
_OS = {o.value: o for o in HostOS}


_STORE_KEYS = ("personal", "trusted-roots", "password-env")


def _store_paths(ctx: _Ctx, value: Any, what: str, obj: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, str):
            raise ctx.error(f"{what} must be text (a path), not {_kind(item)}", object=obj, option=what,
                            value=item, valid="a folder or file path, or a list of them")
    out = tuple(_text(ctx, item, what, obj, optional=False) or "" for item in items)
    if not out or not all(p.strip() for p in out):
        raise ctx.error(f"{what} is empty", object=obj, option=what, value=value,
                        valid="a folder or file path, or a list of them")
    return out


def _store(ctx: _Ctx, value: Any, host: str) -> StoreLocation:
    """A Host's ``store``: PATH (its Personal store), a list of paths, or a mapping."""
    from .stores import StoreLocation, env_passwords  # only environments with a store pay for cryptography

    if not isinstance(value, Mapping):
        return StoreLocation(_store_paths(ctx, value, "store", host))
    _check_keys(ctx, value, _STORE_KEYS, f"store of host {host}", host)
    if "personal" not in value:
        raise ctx.error("the store has no personal part", object=host, option="store",
                        valid="store: {personal: PATH, trusted-roots: PATH, password-env: NAME}")
    roots = value.get("trusted-roots")
    variable = _text(ctx, value.get("password-env"), "password-env", host)
    if variable is not None:
        env_passwords(variable)  # refuses what is not a variable NAME (a password written in clear)
    return StoreLocation(
        _store_paths(ctx, value["personal"], "personal", host),
        _store_paths(ctx, roots, "trusted-roots", host) if roots is not None else (),
        variable,
    )


def environment_from_data(
    data: Any, *, source: Path | None = None, base_dir: Path | None = None
) -> Environment:
    """Build an :class:`Environment` from parsed YAML/JSON data in the contract's schema.

    Raises:
        ConfigurationError: wrong shapes, unknown keys, bad port numbers, broken cross-references,
            private key material anywhere.
    """
    return _environment(_Ctx(str(source) if source else None), data, source, base_dir)


def _environment(ctx: _Ctx, data: Any, source: Path | None, base_dir: Path | None) -> Environment:
    # Each check has a fast path for the common shape (a dict of text) that costs a type test; anything
    # else goes through the general helpers, which raise the errors.
    fast = not ctx.scan
    top = _mapping_of(ctx, data, "the environment", None)
    _check_keys(ctx, top, ("hosts", "applications"), "the environment (top level)", None)
    hosts: dict[str, Host] = {}
    for name, raw in _mapping_of(ctx, top.get("hosts"), "hosts", None).items():
        _refuse_key_text(ctx, name, obj=None, level="host", option=None)
        h = raw if fast and raw.__class__ is dict else _mapping_of(ctx, raw, f"host {name}", name)
        if not _HOST_KEY_SET.issuperset(h):
            _check_keys(ctx, h, _HOST_KEYS, f"host {name}", name)
        os_text = _text(ctx, h.get("os"), "os", name)
        if os_text is not None and os_text not in _OS:
            raise ctx.error("unknown host os", object=name, option="os", value=os_text,
                            valid=tuple(_OS))
        hosts[name] = Host(
            name,
            ip=_text(ctx, h.get("ip"), "ip", name),
            os=_OS[os_text] if os_text else None,
            annex=_sections(ctx, h.get("annex"), name, "host-annex"),
            store=_store(ctx, h["store"], name) if "store" in h else None,
        )
    apps: dict[str, Application] = {}
    for name, raw in _mapping_of(ctx, top.get("applications"), "applications", None).items():
        _refuse_key_text(ctx, name, obj=None, level="application", option=None)
        a = raw if fast and raw.__class__ is dict else _mapping_of(ctx, raw, f"application {name}", name)
        if not _APP_KEY_SET.issuperset(a):
            _check_keys(ctx, a, _APP_KEYS, f"application {name}", name)
        ports: dict[str, Port] = {}
        for pid, praw in _mapping_of(ctx, a.get("ports"), "ports", name).items():
            p: Mapping[str, Any]
            if fast and praw.__class__ is dict and _PORT_KEY_SET.issuperset(praw):
                p = praw
            else:
                p = _mapping_of(ctx, praw, f"port {pid}", f"{name}/{pid}")
                _check_keys(ctx, p, _PORT_KEYS, f"port {pid}", f"{name}/{pid}")
            number = p.get("port")
            transport = p.get("transport")
            ports[pid] = Port(
                pid,
                number if number.__class__ is int and 0 < number < 65536
                else _port_number(ctx, number, f"{name}/{pid}"),
                parse_transport(
                    transport if fast and transport.__class__ is str
                    else _transport_text(ctx, transport, f"{name}/{pid}", "port")
                ),
            )
        conns: list[Connection] = []
        raw_conns = a.get("connections")
        if raw_conns is not None and not isinstance(raw_conns, list):
            raise ctx.error(f"connections must be a list, not {_kind(raw_conns)}", object=name,
                            level="connection", value=raw_conns, valid="a list of {server, port-id, transport}")
        for index, craw in enumerate(raw_conns or ()):
            if fast and craw.__class__ is dict and _CONN_KEY_SET.issuperset(craw):
                server = craw.get("server")
                port_id = craw.get("port-id")
                transport = craw.get("transport")
                if server.__class__ is str and (port_id is None or port_id.__class__ is str) and (
                    transport is None or transport.__class__ is str
                ):
                    conns.append(Connection(server, port_id, parse_transport(transport)))
                    continue
            where = f"{name} connection #{index + 1}"
            c = _mapping_of(ctx, craw, where, where, "connection")
            _check_keys(ctx, c, _CONN_KEYS, where, where)
            server = _text(ctx, c.get("server"), "server", where, optional=False)
            assert server is not None  # noqa: S101 - optional=False
            conns.append(
                Connection(
                    server,
                    _text(ctx, c.get("port-id"), "port-id", where),
                    parse_transport(_transport_text(ctx, c.get("transport"), where, "connection")),
                )
            )
        apps[name] = Application(
            name,
            type=_text(ctx, a.get("type"), "type", name) or "",
            host=_text(ctx, a.get("host"), "host", name),
            options=_sections(ctx, a.get("options"), name, "application-options"),
            annex=_sections(ctx, a.get("annex"), name, "application-annex"),
            ports=ports,
            connections=tuple(conns),
        )
    return Environment(hosts, apps, source=source, base_dir=base_dir)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a load builds its (acyclic) objects.

    A load allocates millions of containers and none of them forms a cycle, so the collector's passes
    (two thirds of a large YAML load, and the superlinear part of the growth) find nothing to collect.
    Reference counting still frees everything; the collector runs again as soon as the load ends.
    """
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _strip_bom(text: str) -> str:
    # A UTF-8 byte order mark (U+FEFF at the very start) is accepted in every format and dropped.
    return text[1:] if text[:1] == "\ufeff" else text


def loads(
    text: str, *, format: str = "yaml", source: Path | None = None, base_dir: Path | None = None
) -> Environment:
    """Parse an environment from text (``format``: ``yaml`` or ``json``).

    A byte order mark (U+FEFF) at the start is accepted and dropped, in both formats.

    Raises:
        ConfigurationError: invalid YAML/JSON, aliases that expand past the limit
            (:data:`YAML_MAX_EXPANDED_NODES`), or any error of :func:`environment_from_data`.
    """
    text = _strip_bom(text)
    file = str(source) if source else None
    with _no_cyclic_gc():
        data = _parse(text, format, file)
        # One look at the whole text replaces a look at each string: a string can hold key material only
        # if the text does (escapes aside: a text with backslashes has each string checked).
        ctx = _Ctx(file, scan="\\" in text or (may_look_secret(text) and looks_secret(text)))
        env = _environment(ctx, data, source, base_dir)
        del data  # freed by reference counting before the collector runs again
        _remember(env, text, format)
        return env


def _parse(text: str, format: str, file: str | None) -> Any:
    if format == "json":
        try:
            return json.loads(text, object_pairs_hook=_json_pairs)
        except ValueError as exc:
            raise ConfigurationError(f"invalid JSON: {exc}", file=file) from None
        except RecursionError:
            raise ConfigurationError("invalid JSON: nested too deeply", file=file) from None
    if format == "yaml":
        try:
            return yaml.load(text, Loader=_TextLoader)  # noqa: S506 - _TextLoader builds only text, lists, dicts
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"invalid YAML: {' '.join(str(exc).split())}", file=file) from None
        except _YAMLShapeError as exc:
            raise ConfigurationError(f"invalid YAML: {exc}", file=file) from None
        except _AliasLimitError as exc:
            raise ConfigurationError(
                f"YAML aliases expand the document to more than {exc.allowed:,} nodes (a 'billion laughs'); "
                "refused before it is read (the limit is genesys_tls.loaders.YAML_MAX_EXPANDED_NODES, "
                "see docs/limits.md)",
                file=file,
            ) from None
        except RecursionError:
            raise ConfigurationError("invalid YAML: nested too deeply", file=file) from None
    raise ConfigurationError("unknown environment format", file=file, value=format, valid=("yaml", "json"))


def _read(path: Path, max_bytes: int | None) -> str:
    limit = _files.MAX_ENVIRONMENT_BYTES if max_bytes is None else max_bytes
    return _files.read_text_file(path, limit=limit, what="environment file")


def load(path: str | Path, *, max_bytes: int | None = None) -> Environment:
    """Load an environment file: YAML/JSON (contract schema) or a component ``.cfg``/``.ini`` file.

    Relative file paths in option values are relative to the file's folder. Only a regular file is read
    (a FIFO, a device or a directory is refused without blocking), at most ``max_bytes`` bytes (default
    :data:`genesys_tls._files.MAX_ENVIRONMENT_BYTES`, 128 MiB). A UTF-8 byte order mark is accepted.

    Raises:
        ConfigurationError: unreadable, special or oversized file, invalid content, unknown suffix; it names
            the file.
    """
    p = Path(_files.check_path(path, what="environment file"))
    suffix = p.suffix.lower()
    if suffix in CFG_SUFFIXES:
        return load_component_config(p, max_bytes=max_bytes)
    if suffix not in ENV_SUFFIXES:
        raise ConfigurationError(
            "unknown environment file type", file=str(p), value=suffix or "(no suffix)",
            valid=ENV_SUFFIXES + CFG_SUFFIXES,
        )
    text = _read(p, max_bytes)
    return loads(
        text,
        format="json" if suffix == ".json" else "yaml",
        source=p,
        base_dir=p.resolve().parent,
    )


#: Component configuration files by stem -> Genesys application type.
_CFG_TYPES = {"lca": "Local Control Agent", "gda": "Genesys Deployment Agent"}


def _ini_error(exc: configparser.Error) -> str:
    """The INI parser's complaint without the lines it quotes (a pasted key would be among them)."""
    line = getattr(exc, "lineno", None)
    at = f" at line {line}" if line else ""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"text before the first [section] header{at}"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"section [{show(exc.section)}] is given twice{at}"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"option {show(exc.option)!r} is given twice in section [{show(exc.section)}]{at}"
    if isinstance(exc, configparser.ParsingError):
        lines = [str(n) for n, _ in exc.errors[:5]]
        more = f" and {len(exc.errors) - 5} more" if len(exc.errors) > 5 else ""
        return f"lines that are neither [section] nor name = value: line {', '.join(lines)}{more}"
    return type(exc).__name__


def load_component_config(
    path: str | Path, *, name: str | None = None, type: str | None = None, max_bytes: int | None = None
) -> Environment:
    """Load a component configuration file (``lca.cfg``...) as a single application.

    The application is named after the file (``lca``) unless ``name`` is given; every INI section
    becomes an Options section, so ``[security]`` holds its TLS options. It has no Host. The file is read
    like :func:`load` reads one (regular files only, at most ``max_bytes``, a UTF-8 BOM accepted).

    Raises:
        ConfigurationError: unreadable file, INI syntax errors, duplicate sections or options.
    """
    p = Path(_files.check_path(path, what="component configuration file"))
    text = _strip_bom(_read(p, max_bytes))
    parser = configparser.ConfigParser(interpolation=None, strict=True, default_section="\x00")
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read_string(text, source=str(p))
    except configparser.Error as exc:
        raise ConfigurationError(f"invalid configuration file: {_ini_error(exc)}", file=str(p)) from None
    app_name = name or p.stem
    sections = {s: dict(parser.items(s, raw=True)) for s in parser.sections()}
    ctx = _Ctx(str(p))
    for section, options in sections.items():
        _refuse_key_text(ctx, section, obj=app_name, level="application-options", option=None)
        for option, value in options.items():
            level = f"application-options [{section}]"
            _refuse_key_text(ctx, option, obj=app_name, level=level, option=None)
            _refuse_key_text(ctx, value, obj=app_name, level=level, option=option)
    app = Application(app_name, type=type or _CFG_TYPES.get(p.stem.lower(), ""), options=sections)
    env = Environment({}, {app_name: app}, source=p, base_dir=p.resolve().parent)
    _remember(env, text, "cfg")
    return env


# ------------------------------------------------------------------------------------------- positions

#: A place in an environment document: the keys (and list indexes) from the top, as in the file:
#: ``("applications", "S", "ports", "secure", "transport")``, ``("hosts", "h", "annex", "security", "certificate")``.
Path_ = tuple[str | int, ...]


@attrs.frozen
class Positions:
    """Where the names of an environment file are written: path -> 1-based line of the key.

    Kept for the text that was loaded, found on demand (:func:`positions`), so loading costs nothing more.
    A ``.cfg`` file is described with the paths of the application it loads as
    (``("applications", APP, "options", SECTION, OPTION)``).

    Attributes:
        file: the file.
        lines: path -> line of the key (or of the list item).
    """

    file: str
    lines: Mapping[Path_, int]

    def line(self, *path: str | int) -> int | None:
        """The line of exactly this path, ``None`` when it is not written."""
        return self.lines.get(path)

    def nearest(self, *path: str | int) -> int | None:
        """The line of this path, else of the closest enclosing one that is written."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None


#: environment id -> (the loaded text's hash, its format, positions once computed); cleared with the object
_LOADED: dict[int, list[Any]] = {}


def _remember(env: Environment, text: str, format: str) -> None:
    key = id(env)
    _LOADED[key] = [hash(text), format, None]
    weakref.finalize(env, _LOADED.pop, key, None)


def positions(env: Environment) -> Positions | None:
    """Where each name of ``env`` is written in its file, or ``None`` (built in code, loaded from text with
    no file, or the file changed since it was loaded: a line would then point at the wrong place).

    The file is read again and its structure walked once (YAML nodes, JSON tokens, INI lines); the answer is
    kept with the environment.
    """
    entry = _LOADED.get(id(env))
    if entry is None or env.source is None:
        return None
    if entry[2] is not None:
        cached: Positions = entry[2]
        return cached
    try:
        text = _strip_bom(_read(Path(env.source), None))
    except ConfigurationError:
        return None
    if hash(text) != entry[0]:
        return None
    app = next(iter(env.applications), "") if entry[1] == "cfg" else ""
    found = text_positions(text, entry[1], file=str(env.source), application=app)
    entry[2] = found
    return found


def text_positions(text: str, format: str, *, file: str = "", application: str = "") -> Positions | None:
    """:class:`Positions` of an environment text (``format``: ``yaml``, ``json`` or ``cfg``; ``application``
    names the application a ``.cfg`` file loads as); ``None`` when the text cannot be walked."""
    try:
        with _no_cyclic_gc():  # acyclic data, as for a load: the collector's passes would find nothing
            if format == "json":
                lines = _json_positions(text)
            elif format == "cfg":
                lines = _cfg_positions(text, application)
            else:
                lines = _yaml_positions(text)
    except (yaml.YAMLError, ValueError, IndexError, RecursionError, _YAMLShapeError):
        return None
    return Positions(file, lines)


def _yaml_positions(text: str) -> dict[Path_, int]:
    root = yaml.compose(text, Loader=_TextLoader)  # composes nodes only, constructs nothing
    out: dict[Path_, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Path_]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if id(node) in seen:  # an alias: its content is located where the anchor is
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    sub = (*path, key_node.value)
                    out.setdefault(sub, key_node.start_mark.line + 1)
                    stack.append((value_node, sub))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                sub = (*path, index)
                out.setdefault(sub, item.start_mark.line + 1)
                stack.append((item, sub))
    return out


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_positions(text: str) -> dict[Path_, int]:
    decoder = json.JSONDecoder()
    breaks = [m.start() for m in re.finditer("\n", text)]
    out: dict[Path_, int] = {}

    def line(index: int) -> int:
        return bisect.bisect_left(breaks, index) + 1

    def skip(index: int) -> int:
        match = _JSON_SPACE.match(text, index)
        return match.end() if match else index

    def value(index: int, path: Path_) -> int:
        index = skip(index)
        char = text[index]
        if char in "{[":
            close = "}" if char == "{" else "]"
            index = skip(index + 1)
            if text[index] == close:
                return index + 1
            item = 0
            while True:
                index = skip(index)
                sub: Path_
                if char == "{":
                    key, index = decoder.raw_decode(text, index)
                    if not isinstance(key, str):
                        raise ValueError("expected a key")
                    sub = (*path, key)
                    out.setdefault(sub, line(index))
                    index = skip(index)
                    if text[index] != ":":
                        raise ValueError("expected ':'")
                    index += 1
                else:
                    sub = (*path, item)
                    out.setdefault(sub, line(skip(index)))
                    item += 1
                index = skip(value(index, sub))
                if text[index] == ",":
                    index += 1
                    continue
                if text[index] != close:
                    raise ValueError(f"expected {close!r}")
                return index + 1
        _, end = decoder.raw_decode(text, index)
        return end

    value(0, ())
    return out


def _cfg_positions(text: str, application: str) -> dict[Path_, int]:
    sections = configparser.ConfigParser.SECTCRE
    options = configparser.ConfigParser.OPTCRE
    out: dict[Path_, int] = {}
    base: Path_ = ("applications", application, "options")
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;" or (raw[:1].isspace() and section is not None):
            continue  # blank, a comment, or the continuation of a value
        head = sections.match(stripped)
        if head:
            section = head.group("header")
            out.setdefault((*base, section), number)
            continue
        opt = options.match(stripped)
        if opt and section is not None:
            out.setdefault((*base, section, opt.group("option").rstrip()), number)
    return out


# ------------------------------------------------------------------------------------------- out


def _sections_out(sections: Sections) -> dict[str, dict[str, str]]:
    return {s: dict(opts) for s, opts in sections.items()}


def dump_data(env: Environment) -> dict[str, Any]:
    """The environment as plain data in the contract's schema (the inverse of loading)."""
    hosts: dict[str, Any] = {}
    for host in env.hosts.values():
        h: dict[str, Any] = {}
        if host.ip is not None:
            h["ip"] = host.ip
        if host.os is not None:
            h["os"] = host.os.value
        if host.annex:
            h["annex"] = _sections_out(host.annex)
        if host.store is not None:
            h["store"] = host.store.to_data()
        hosts[host.name] = h
    apps: dict[str, Any] = {}
    for app in env.applications.values():
        a: dict[str, Any] = {}
        if app.type:
            a["type"] = app.type
        if app.host is not None:
            a["host"] = app.host
        if app.options:
            a["options"] = _sections_out(app.options)
        if app.annex:
            a["annex"] = _sections_out(app.annex)
        if app.ports:
            ports: dict[str, Any] = {}
            for port in app.ports.values():
                pd: dict[str, Any] = {}
                if port.number is not None:
                    pd["port"] = port.number
                if port.transport.text:
                    pd["transport"] = port.transport.text
                ports[port.id] = pd
            a["ports"] = ports
        if app.connections:
            conns = []
            for conn in app.connections:
                cd: dict[str, Any] = {"server": conn.server}
                if conn.port_id is not None:
                    cd["port-id"] = conn.port_id
                if conn.transport.text:
                    cd["transport"] = conn.transport.text
                conns.append(cd)
            a["connections"] = conns
        apps[app.name] = a
    return {"hosts": hosts, "applications": apps}


class _QuotingDumper(yaml.SafeDumper):
    """Writes every string quoted when YAML would read it back as something else."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Non-printable text (line breaks, NEL, ...) goes double-quoted, where every character is escaped:
    # PyYAML writes NEL raw inside single quotes, and reads it back as a space.
    style = '"' if not value.isprintable() else "'" if _ambiguous(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _ambiguous(value: str) -> bool:
    try:
        resolved = yaml.safe_load(value)
    except yaml.YAMLError:
        return True
    return not isinstance(resolved, str) or resolved != value


_QuotingDumper.add_representer(str, _str_representer)


def dump(env: Environment, format: str = "yaml") -> str:
    """Write the environment as YAML or JSON text that loads back to an equal environment."""
    data = dump_data(env)
    if format == "json":
        return json.dumps(data, indent=2) + "\n"
    if format == "yaml":
        return yaml.dump(data, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)
    raise ConfigurationError("unknown environment format", value=format, valid=("yaml", "json"))
