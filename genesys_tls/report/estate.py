"""What the HTML report shows, gathered without I/O beyond reading the environment, certificate and CRL files.

:func:`gather` loads an environment file (or, when it cannot be loaded, reads what it can of it so that the
report still shows the estate next to the load error), resolves every listening port and every connection
(its mode), lints the environment and reads the dates of every certificate, CA and CRL file the options
name. No :mod:`ssl`, no sockets.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from .._suggest import did_you_mean
from ..errors import ConfigurationError
from ..model import DEFAULT_PORT_ID, Application, Connection, Environment
from ..resolve import Reading, resolve_client, resolve_server

if TYPE_CHECKING:
    from ..lint import Finding

__all__ = ["Estate", "Link", "Node", "PortInfo", "TimelineItem", "gather"]

#: Options whose values are files with dates (the timeline).
FILE_OPTIONS = ("certificate", "trusted-ca", "tls-crl")
#: Largest environment file read for the best-effort view of a broken environment.
_MAX_RAW = 64 * 1024 * 1024
#: Severities that mark a link as having a problem.
PROBLEM_SEVERITIES = frozenset({"error", "warning"})


@attrs.frozen
class PortInfo:
    """A listening port: id, number, its mode (``plain``, ``simple``, ``mutual``, ``upgrade``; ``error``
    when its settings cannot be resolved; ``unknown`` in a broken environment)."""

    id: str
    number: int | None
    mode: str


@attrs.frozen
class Node:
    """An application: name, type, Host, ports."""

    name: str
    type: str
    host: str | None
    ports: tuple[PortInfo, ...] = ()


@attrs.frozen
class Link:
    """A connection: client -> server/port, its mode and the lint findings on it.

    Attributes:
        client, server, port_id: the ends.
        mode: ``plain``, ``encryption-only``, ``simple``, ``mutual``; ``error`` when it cannot be resolved
            (the reason is in ``error``); ``unknown`` in a broken environment.
        findings: how many lint findings (errors and warnings) are on the connection object.
        worst: the worst severity among them (``None`` when none).
    """

    client: str
    server: str
    port_id: str
    mode: str
    findings: int = 0
    worst: str | None = None
    error: str | None = None

    @property
    def object(self) -> str:
        """The lint object name of the connection (``App -> Server/port``)."""
        return f"{self.client} -> {self.server}/{self.port_id}"


@attrs.frozen
class TimelineItem:
    """A certificate or a CRL on the expiry timeline.

    Attributes:
        kind: ``certificate`` (own certificate), ``ca`` (a ``trusted-ca`` certificate) or ``crl``.
        subject: the subject (CRL: the issuer).
        path: the file.
        start, end: notBefore/notAfter (CRL: thisUpdate/nextUpdate; ``end`` ``None`` when absent).
        used_by: where the file is named (``object level option``).
        problem: why the file could not be read (then there are no dates).
    """

    kind: str
    subject: str
    path: str
    start: dt.datetime | None
    end: dt.datetime | None
    used_by: tuple[str, ...] = ()
    problem: str | None = None


@attrs.frozen
class Estate:
    """Everything the report draws and lists.

    Attributes:
        source: the environment file.
        loaded: whether the environment loaded (``False``: a broken environment, see ``load_errors``).
        load_errors: one line per error.
        hosts: Host names, in file order (with those applications name that are not defined).
        nodes: the applications.
        links: the connections.
        findings: the lint findings (empty when the environment did not load).
        items: the timeline.
        now: the moment of the report.
        expiry_days: the warning window of the timeline and the lint.
    """

    source: str
    loaded: bool
    load_errors: tuple[str, ...]
    hosts: tuple[str, ...]
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    findings: tuple[Finding, ...]
    items: tuple[TimelineItem, ...]
    now: dt.datetime
    expiry_days: int = 30

    def by_object(self) -> dict[str, list[Finding]]:
        """Findings grouped by object, objects in the order first reported."""
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            out.setdefault(f.object, []).append(f)
        return out

    def summary(self) -> dict[str, int]:
        """The number of findings per severity: ``{error, warning, info}``."""
        counts = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
        return counts


# --------------------------------------------------------------------------------------------- gather


def gather(
    path: str | Path,
    *,
    reading: Reading | str = Reading.PSDK,
    expiry_days: int = 30,
    now: dt.datetime | None = None,
) -> Estate:
    """The :class:`Estate` of an environment file; a file that does not load gives a partial estate with
    its load error (never an exception for a bad environment)."""
    from ..loaders import load

    moment = now or dt.datetime.now(dt.UTC)
    p = Path(path)
    try:
        env = load(p)
    except ConfigurationError as exc:
        return _broken(p, exc, moment, expiry_days)
    return _from_environment(env, str(p), reading, expiry_days, moment)


def _from_environment(env: Environment, source: str, reading: Reading | str, expiry_days: int,
                      moment: dt.datetime) -> Estate:
    from ..lint import lint

    report = lint(env, reading=reading, expiry_days=expiry_days, now=moment)
    problems: dict[str, list[Finding]] = {}
    for f in report.findings:
        if f.severity.value in PROBLEM_SEVERITIES:
            problems.setdefault(f.object, []).append(f)
    nodes = []
    memo: dict[Hashable, str] = {}
    for app in env.applications.values():
        ports = []
        for port in app.ports.values():
            port_key = ("port", str(reading), _items(port.transport), *_layers_key(env, app))
            mode = memo.get(port_key)
            if mode is None:
                try:
                    res = resolve_server(env, app.name, port.id, reading=reading)
                    mode = memo[port_key] = "upgrade" if res["upgrade"].as_bool() else res.mode.value
                except ConfigurationError:
                    mode = "error"
            ports.append(PortInfo(port.id, port.number, mode))
        nodes.append(Node(app.name, app.type, app.host, tuple(ports)))
    links = []
    for app in env.applications.values():
        targets = [(c.server, c.port_id or DEFAULT_PORT_ID) for c in app.connections]
        for conn in app.connections:
            port_id = conn.port_id or DEFAULT_PORT_ID
            error = None
            key = _link_key(env, app, conn, str(reading))
            cached = memo.get(key)
            if cached is not None:
                mode = cached
            else:
                try:
                    # Two connections to the same port: the first is what the name selects, so resolve this
                    # one on its own (in an environment of its two ends).
                    scope = env if targets.count((conn.server, port_id)) == 1 else _alone(env, app.name, conn)
                    resolved = resolve_client(scope, app.name, conn.server, conn.port_id, reading=reading)
                    mode = memo[key] = resolved.mode.value
                except ConfigurationError as exc:
                    mode, error = "error", str(exc)
            link = Link(app.name, conn.server, port_id, mode, error=error)
            found = problems.get(link.object, [])
            if found:
                worst = "error" if any(f.severity.value == "error" for f in found) else "warning"
                link = attrs.evolve(link, findings=len(found), worst=worst)
            links.append(link)
    return Estate(
        source=source, loaded=True, load_errors=(), hosts=tuple(env.hosts), nodes=tuple(nodes),
        links=tuple(links), findings=report.findings, items=_timeline(env), now=moment,
        expiry_days=expiry_days,
    )


def _items(values: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


def _layers_key(env: Environment, app: Application) -> tuple[Hashable, ...]:
    host = env.host_of(app)
    return (_items(app.security_options), _items(app.security_annex),
            None if host is None else (str(host.os), _items(host.security)))


def _link_key(env: Environment, app: Application, conn: Connection, reading: str) -> Hashable:
    """Everything a connection's mode is resolved from (its modes are memoised on it: estates repeat the same
    settings on many applications). Files, names and numbers do not change a mode and are not in it."""
    server = env.applications.get(conn.server)
    port = server.ports.get(conn.port_id or DEFAULT_PORT_ID) if server is not None else None
    return (
        "link", reading, conn.port_id, _items(conn.transport), *_layers_key(env, app),
        None if server is None else _layers_key(env, server),
        None if port is None else (port.id, _items(port.transport)),
    )


def _alone(env: Environment, app: str, conn: Connection) -> Environment:
    """The client with only ``conn``, its server without connections, and their Hosts."""
    client = env.application(app)
    apps = {app: attrs.evolve(client, connections=(conn,))}
    if conn.server != app:
        apps[conn.server] = attrs.evolve(env.application(conn.server), connections=())
    hosts = {a.host: env.hosts[a.host] for a in apps.values() if a.host is not None}
    return Environment(hosts, apps, source=env.source, base_dir=env.base_dir)


# --------------------------------------------------------------------------------------------- timeline


def _file_values(env: Environment) -> Iterable[tuple[str, str, str, str]]:
    """``(option, value, object, level)`` of every file option written anywhere."""
    for host in env.hosts.values():
        for name in FILE_OPTIONS:
            if host.security.get(name):
                yield name, host.security[name], host.name, "host-annex"
    for app in env.applications.values():
        for level, values in (("application-options", app.security_options),
                              ("application-annex", app.security_annex)):
            for name in FILE_OPTIONS:
                if values.get(name):
                    yield name, values[name], app.name, level
        for port in app.ports.values():
            for name in FILE_OPTIONS:
                if port.transport.get(name):
                    yield name, port.transport[name], f"{app.name}/{port.id}", "port"
        for conn in app.connections:
            for name in FILE_OPTIONS:
                if conn.transport.get(name):
                    yield (name, conn.transport[name], f"{app.name} -> {conn.server}/{conn.port_id or 'default'}",
                           "connection")


def _timeline(env: Environment) -> tuple[TimelineItem, ...]:
    from .._readers import read_certificates, read_crls
    from ..catalogue import is_thumbprint

    uses: dict[tuple[str, Path], list[str]] = {}
    for option, value, obj, level in _file_values(env):
        parts = value.split(",") if option == "certificate" else [value]
        for part in parts:
            text = part.strip()
            if not text or is_thumbprint(text):
                continue
            path = Path(text)
            if not path.is_absolute() and env.base_dir is not None:
                path = env.base_dir / path
            kind = "crl" if option == "tls-crl" else "ca" if option == "trusted-ca" else "certificate"
            uses.setdefault((kind, path), []).append(f"{obj} {level} {option}")
    items: list[TimelineItem] = []
    for (kind, path), used in uses.items():
        users = tuple(dict.fromkeys(used))
        if kind == "crl":
            crls = read_crls(path)
            if isinstance(crls, str):
                items.append(TimelineItem(kind, "", str(path), None, None, users, crls))
                continue
            items.extend(
                TimelineItem(kind, c.issuer.rfc4514_string(), str(path), c.last_update_utc, c.next_update_utc,
                             users)
                for c in crls
            )
            continue
        certs = read_certificates(path)
        if isinstance(certs, str):
            items.append(TimelineItem(kind, "", str(path), None, None, users, certs))
            continue
        chosen = certs if kind == "ca" else certs[:1]
        items.extend(
            TimelineItem(kind, c.subject.rfc4514_string(), str(path), c.not_valid_before_utc, c.not_valid_after_utc,
                         users)
            for c in chosen
        )
    return tuple(items)


# --------------------------------------------------------------------------------------------- broken


def _broken(path: Path, exc: ConfigurationError, moment: dt.datetime, expiry_days: int) -> Estate:
    """What can be read of an environment that does not load: names and links from the raw data."""
    raw = _raw(path)
    hosts = tuple(str(h) for h in _mapping(raw.get("hosts")))
    apps = _mapping(raw.get("applications"))
    message = str(exc)
    if exc.value is not None:
        hint = did_you_mean(str(exc.value), [*map(str, apps), *hosts])
        if hint and hint != f"did you mean {exc.value!r}?":
            message += f"; {hint}"
    nodes = []
    links = []
    for name, data in apps.items():
        app = _mapping(data)
        host = app.get("host")
        ports = tuple(
            PortInfo(str(pid), _number(_mapping(p).get("port")), "unknown")
            for pid, p in _mapping(app.get("ports")).items()
        )
        nodes.append(Node(str(name), str(app.get("type") or ""), str(host) if host is not None else None, ports))
        for conn in app.get("connections") or ():
            c = _mapping(conn)
            if c.get("server") is not None:
                links.append(Link(str(name), str(c["server"]), str(c.get("port-id") or DEFAULT_PORT_ID), "unknown"))
    return Estate(
        source=str(path), loaded=False, load_errors=(message,), hosts=hosts, nodes=tuple(nodes),
        links=tuple(links), findings=(), items=(), now=moment, expiry_days=expiry_days,
    )


def _raw(path: Path) -> Mapping[str, Any]:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_RAW:
            return {}
        text = path.read_text(encoding="utf-8", errors="replace")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except Exception:  # best effort only: the load error is what the report shows
        return {}
    return data if isinstance(data, Mapping) else {}


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

