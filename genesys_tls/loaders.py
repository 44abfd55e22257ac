"""Environment files in and out: YAML and JSON (format: ``docs/contract.md``), component ``.cfg`` files, JSON Schema.

Option values are kept exactly as typed: YAML scalars that YAML 1.1 would turn into numbers or booleans
(``1``, ``true``, ``yes``, ``off``, ``0x1F``) are read as their text, so ``tls-target-name-check: no`` stays
``"no"`` and ``tls: 1`` becomes ``"1"``. Duplicate keys are errors, not "last one wins". Every error is a
:class:`~genesys_tls.errors.ConfigurationError` that names the file and the object.
"""

from __future__ import annotations

import configparser
import json
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigurationError, closest
from .model import Application, Connection, Environment, Host, HostOS, Port, Sections
from .transport import parse_transport

__all__ = [
    "ENVIRONMENT_SCHEMA",
    "dump",
    "dump_data",
    "load",
    "load_component_config",
    "loads",
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


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~3x faster


class _TextLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that keeps scalars as typed and refuses duplicate keys."""


def _as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # construct_scalar refuses a non-scalar node (``!!int [a]``) with a ConstructorError.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _mapping(loader: _TextLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    if not isinstance(node, yaml.MappingNode):  # ``!!map [a, b]``
        raise yaml.constructor.ConstructorError(
            None, None, f"expected a mapping, but found {node.id}", node.start_mark
        )
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be text, not {type(key).__name__}", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


for _tag in ("bool", "int", "float", "timestamp"):
    _TextLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _as_text)
_TextLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


# ------------------------------------------------------------------------------------------- checks


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, file: str | None) -> None:
        self.file = file

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
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, default=str)
        except (ValueError, TypeError, RecursionError):  # circular, deep, or keys JSON cannot write
            text = reprlib.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
    if not isinstance(value, Mapping):
        raise ctx.error(
            f"{what} must be a mapping, not {_kind(value)}", object=obj, level=level, value=value,
            valid="a mapping (name: value)",
        )
    for key in value:
        if not isinstance(key, str):
            raise ctx.error(f"{what} has a key that is not text", object=obj, level=level, value=key)
    return value


#: What every PEM private key block (clear or encrypted) holds; a value with it is key text, never shown.
_KEY_MARKER = "PRIVATE KEY-----"


def _refuse_key_text(ctx: _Ctx, value: str, *, obj: str, level: str, option: str) -> None:
    """A private key pasted where a path belongs: refused, and the value is not echoed anywhere."""
    if _KEY_MARKER in value.upper():
        raise ctx.error(
            "the value holds PEM private key text, not a file path (the value is not shown; put the key in a "
            "file and give its path)",
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
    for key in data:
        if key not in allowed:
            raise ctx.error(
                f"unknown key {key!r} in {what}", object=obj, value=key, valid=allowed,
                suggestions=closest(str(key), allowed),
            )


def _text(ctx: _Ctx, value: Any, what: str, obj: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ctx.error(f"{what} must be text, not {_kind(value)}", object=obj, value=value, valid="text")
    return str(value)


def _transport_text(ctx: _Ctx, value: Any, obj: str, level: str) -> str:
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


def environment_from_data(
    data: Any, *, source: Path | None = None, base_dir: Path | None = None
) -> Environment:
    """Build an :class:`Environment` from parsed YAML/JSON data in the contract's schema.

    Raises:
        ConfigurationError: wrong shapes, unknown keys, bad port numbers, broken cross-references.
    """
    ctx = _Ctx(str(source) if source else None)
    top = _mapping_of(ctx, data, "the environment", None)
    _check_keys(ctx, top, ("hosts", "applications"), "the environment (top level)", None)
    hosts: dict[str, Host] = {}
    for name, raw in _mapping_of(ctx, top.get("hosts"), "hosts", None).items():
        h = _mapping_of(ctx, raw, f"host {name}", name)
        _check_keys(ctx, h, ("ip", "os", "annex"), f"host {name}", name)
        os_text = _text(ctx, h.get("os"), "os", name)
        if os_text is not None and os_text not in tuple(HostOS):
            raise ctx.error("unknown host os", object=name, option="os", value=os_text,
                            valid=tuple(o.value for o in HostOS))
        hosts[name] = Host(
            name,
            ip=_text(ctx, h.get("ip"), "ip", name),
            os=HostOS(os_text) if os_text else None,
            annex=_sections(ctx, h.get("annex"), name, "host-annex"),
        )
    apps: dict[str, Application] = {}
    for name, raw in _mapping_of(ctx, top.get("applications"), "applications", None).items():
        a = _mapping_of(ctx, raw, f"application {name}", name)
        _check_keys(ctx, a, ("type", "host", "options", "annex", "ports", "connections"), f"application {name}", name)
        ports: dict[str, Port] = {}
        for pid, praw in _mapping_of(ctx, a.get("ports"), "ports", name).items():
            p = _mapping_of(ctx, praw, f"port {pid}", f"{name}/{pid}")
            _check_keys(ctx, p, ("port", "transport"), f"port {pid}", f"{name}/{pid}")
            ports[pid] = Port(
                pid,
                _port_number(ctx, p.get("port"), f"{name}/{pid}"),
                parse_transport(_transport_text(ctx, p.get("transport"), f"{name}/{pid}", "port")),
            )
        conns: list[Connection] = []
        raw_conns = a.get("connections")
        if raw_conns is not None and not isinstance(raw_conns, list):
            raise ctx.error(f"connections must be a list, not {_kind(raw_conns)}", object=name,
                            level="connection", value=raw_conns, valid="a list of {server, port-id, transport}")
        for index, craw in enumerate(raw_conns or []):
            where = f"{name} connection #{index + 1}"
            c = _mapping_of(ctx, craw, where, where, "connection")
            _check_keys(ctx, c, ("server", "port-id", "transport"), where, where)
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


def loads(
    text: str, *, format: str = "yaml", source: Path | None = None, base_dir: Path | None = None
) -> Environment:
    """Parse an environment from text (``format``: ``yaml`` or ``json``).

    Raises:
        ConfigurationError: invalid YAML/JSON, or any error of :func:`environment_from_data`.
    """
    file = str(source) if source else None
    if format == "json":
        try:
            data = json.loads(text, object_pairs_hook=_json_pairs)
        except ValueError as exc:
            raise ConfigurationError(f"invalid JSON: {exc}", file=file) from None
        except RecursionError:
            raise ConfigurationError("invalid JSON: nested too deeply", file=file) from None
    elif format == "yaml":
        try:
            data = yaml.load(text, Loader=_TextLoader)  # noqa: S506 - _TextLoader is a SafeLoader
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"invalid YAML: {' '.join(str(exc).split())}", file=file) from None
        except RecursionError:
            raise ConfigurationError("invalid YAML: nested too deeply", file=file) from None
    else:
        raise ConfigurationError("unknown environment format", file=file, value=format, valid=("yaml", "json"))
    return environment_from_data(data, source=source, base_dir=base_dir)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigurationError("is a directory, not a file", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the file: {exc.strerror}", file=str(path)) from None


def load(path: str | Path) -> Environment:
    """Load an environment file: YAML/JSON (contract schema) or a component ``.cfg``/``.ini`` file.

    Relative file paths in option values are relative to the file's folder.

    Raises:
        ConfigurationError: unreadable file, invalid content, unknown suffix; it names the file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in CFG_SUFFIXES:
        return load_component_config(p)
    if suffix not in ENV_SUFFIXES:
        raise ConfigurationError(
            "unknown environment file type", file=str(p), value=suffix or "(no suffix)",
            valid=ENV_SUFFIXES + CFG_SUFFIXES,
        )
    text = _read(p)
    return loads(
        text,
        format="json" if suffix == ".json" else "yaml",
        source=p,
        base_dir=p.resolve().parent,
    )


#: Component configuration files by stem -> Genesys application type.
_CFG_TYPES = {"lca": "Local Control Agent", "gda": "Genesys Deployment Agent"}


def load_component_config(
    path: str | Path, *, name: str | None = None, type: str | None = None
) -> Environment:
    """Load a component configuration file (``lca.cfg``...) as a single application.

    The application is named after the file (``lca``) unless ``name`` is given; every INI section
    becomes an Options section, so ``[security]`` holds its TLS options. It has no Host.

    Raises:
        ConfigurationError: unreadable file, INI syntax errors, duplicate sections or options.
    """
    p = Path(path)
    text = _read(p)
    parser = configparser.ConfigParser(interpolation=None, strict=True, default_section="\x00")
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read_string(text, source=str(p))
    except configparser.Error as exc:
        raise ConfigurationError(
            f"invalid configuration file: {' '.join(str(exc).split())}", file=str(p)
        ) from None
    app_name = name or p.stem
    sections = {s: dict(parser.items(s, raw=True)) for s in parser.sections()}
    for section, options in sections.items():
        for option, value in options.items():
            _refuse_key_text(_Ctx(str(p)), value, obj=app_name, level=f"application-options [{section}]",
                             option=option)
    app = Application(app_name, type=type or _CFG_TYPES.get(p.stem.lower(), ""), options=sections)
    return Environment({}, {app_name: app}, source=p, base_dir=p.resolve().parent)


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
