"""Configuration objects as Configuration Server holds them: Host, Application, Port, Connection, Environment.

Frozen attrs classes, no I/O: :mod:`genesys_tls.loaders` builds them from files. An :class:`Environment`
checks its cross-references when it is built (a connection to an unknown server or port, an application on
an unknown host) and raises a :class:`~genesys_tls.errors.ConfigurationError` naming both ends.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from .catalogue import SECURITY_SECTION
from .errors import ConfigurationError, closest
from .transport import TransportParameters, parse_transport

if TYPE_CHECKING:
    from .stores import StoreLocation

__all__ = [
    "DEFAULT_PORT_ID",
    "Application",
    "Connection",
    "Environment",
    "Host",
    "HostOS",
    "Port",
    "Sections",
]

#: The port id a Connection without one points to (Configuration Server's "default" port).
DEFAULT_PORT_ID = "default"

#: ``section -> option -> value``, as Options and Annex tabs hold them.
Sections = Mapping[str, Mapping[str, str]]

_EMPTY: Sections = MappingProxyType({})


def _freeze_sections(value: Mapping[str, Mapping[str, str]] | None) -> Sections:
    if not value:
        return _EMPTY
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in value.items()})


def _freeze_map(value: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(value or {}))


def _security(sections: Sections) -> Mapping[str, str]:
    return sections.get(SECURITY_SECTION, MappingProxyType({}))


class HostOS(enum.StrEnum):
    """The operating system of a Host: on Windows, certificate values may be store thumbprints."""

    UNIX = "unix"
    WINDOWS = "windows"


def _transport(value: TransportParameters | str | None) -> TransportParameters:
    return value if isinstance(value, TransportParameters) else parse_transport(value)


@attrs.frozen(eq=True)
class Host:
    """A Host object.

    Attributes:
        name: the Host object name; the name a client connects to and checks with
            ``tls-target-name-check=host``.
        ip: the address actually dialled, when given.
        os: ``unix`` or ``windows``.
        annex: the Host Annex, ``section -> option -> value``.
        store: the host's certificate store export (Personal store and trusted roots), where Windows
            thumbprints are looked up; ``None`` when not given.
    """

    name: str
    ip: str | None = None
    os: HostOS | None = None
    annex: Sections = attrs.field(default=_EMPTY, converter=_freeze_sections)
    store: StoreLocation | None = None

    @property
    def security(self) -> Mapping[str, str]:
        """The Host Annex ``[security]`` section (empty when absent)."""
        return _security(self.annex)

    @property
    def address(self) -> str:
        """What to dial: ``ip`` when given, else the Host name."""
        return self.ip or self.name


@attrs.frozen
class Port:
    """A listening port of a server Application.

    Attributes:
        id: the port id (``default``, ``secure``...).
        number: the TCP port number (``None`` when not configured).
        transport: the port's transport parameters.
    """

    id: str
    number: int | None = None
    transport: TransportParameters = attrs.field(
        factory=lambda: parse_transport(None), converter=_transport
    )


@attrs.frozen
class Connection:
    """A client Application's connection to a server Application.

    Attributes:
        server: the server Application's name.
        port_id: the server port id; ``None`` when the Connection names none.
        transport: the Connection's transport parameters.
    """

    server: str
    port_id: str | None = None
    transport: TransportParameters = attrs.field(
        factory=lambda: parse_transport(None), converter=_transport
    )


def _freeze_connections(value: Iterable[Connection]) -> tuple[Connection, ...]:
    return tuple(value)


def _freeze_ports(value: Mapping[str, Port] | None) -> Mapping[str, Port]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class Application:
    """An Application object.

    Attributes:
        name: the Application object name.
        type: the Genesys application type, free text (``T-Server``, ``Third Party Application``...).
        host: the name of the application's Host (its server info); ``None`` when it has none.
        options: Application Options, ``section -> option -> value``.
        annex: Application Annex, same shape.
        ports: listening ports by id.
        connections: client connections, in order.
    """

    name: str
    type: str = ""
    host: str | None = None
    options: Sections = attrs.field(default=_EMPTY, converter=_freeze_sections)
    annex: Sections = attrs.field(default=_EMPTY, converter=_freeze_sections)
    ports: Mapping[str, Port] = attrs.field(factory=dict, converter=_freeze_ports)
    connections: tuple[Connection, ...] = attrs.field(default=(), converter=_freeze_connections)

    @property
    def security_options(self) -> Mapping[str, str]:
        """Application Options ``[security]``."""
        return _security(self.options)

    @property
    def security_annex(self) -> Mapping[str, str]:
        """Application Annex ``[security]``."""
        return _security(self.annex)

    def port(self, port_id: str) -> Port:
        """The port ``port_id``.

        Raises:
            ConfigurationError: no such port (the message lists the ports there are).
        """
        try:
            return self.ports[port_id]
        except KeyError:
            raise ConfigurationError(
                f"application {self.name} has no port {port_id!r}",
                object=self.name,
                value=port_id,
                valid=tuple(self.ports) or "no ports are defined",
                suggestions=closest(port_id, self.ports),
            ) from None

    def connections_to(self, server: str) -> Iterator[Connection]:
        """The application's connections to ``server``, in order."""
        return (c for c in self.connections if c.server == server)


def _freeze_hosts(value: Mapping[str, Host] | None) -> Mapping[str, Host]:
    return MappingProxyType(dict(value or {}))


def _freeze_apps(value: Mapping[str, Application] | None) -> Mapping[str, Application]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class Environment:
    """A set of Hosts and Applications, looked up by name, with checked cross-references.

    Attributes:
        hosts: Host objects by name.
        applications: Application objects by name.
        source: the file it was loaded from (``None`` when built in code); errors name it.
        base_dir: the folder relative file paths in option values are relative to (the file's folder).

    Raises:
        ConfigurationError: when built with an application on an unknown host, or a connection to an
            unknown server or to a port the server does not have; the error names both ends.
    """

    hosts: Mapping[str, Host] = attrs.field(factory=dict, converter=_freeze_hosts)
    applications: Mapping[str, Application] = attrs.field(factory=dict, converter=_freeze_apps)
    source: Path | None = None
    base_dir: Path | None = None

    def __attrs_post_init__(self) -> None:
        self._check_references()

    @property
    def file(self) -> str | None:
        """The source file as text, for error messages."""
        return str(self.source) if self.source else None

    def _check_references(self) -> None:
        for app in self.applications.values():
            if app.host is not None and app.host not in self.hosts:
                raise ConfigurationError(
                    f"application {app.name} runs on host {app.host!r}, which is not defined",
                    file=self.file,
                    object=app.name,
                    value=app.host,
                    valid=tuple(self.hosts) or "no hosts are defined",
                    suggestions=closest(app.host, self.hosts),
                )
            for index, conn in enumerate(app.connections):
                server = self.applications.get(conn.server)
                where = f"{app.name} connection #{index + 1}"
                if server is None:
                    raise ConfigurationError(
                        f"{where} points to server {conn.server!r}, which is not defined",
                        file=self.file,
                        object=app.name,
                        level="connection",
                        value=conn.server,
                        valid="an application defined in the environment",
                        suggestions=closest(conn.server, self.applications),
                    )
                port_id = conn.port_id or DEFAULT_PORT_ID
                if port_id not in server.ports and (conn.port_id or server.ports):
                    raise ConfigurationError(
                        f"{where} points to port {port_id!r} of {server.name}, which has no such port",
                        file=self.file,
                        object=f"{app.name} -> {server.name}",
                        level="connection",
                        value=port_id,
                        valid=tuple(server.ports) or "no ports are defined",
                        suggestions=closest(port_id, server.ports),
                    )

    def application(self, name: str) -> Application:
        """The Application ``name``.

        Raises:
            ConfigurationError: no such application.
        """
        try:
            return self.applications[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown application {name!r}",
                file=self.file,
                object=name,
                value=name,
                valid=_few(self.applications),
                suggestions=closest(name, self.applications),
            ) from None

    def host(self, name: str) -> Host:
        """The Host ``name``.

        Raises:
            ConfigurationError: no such host.
        """
        try:
            return self.hosts[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown host {name!r}", file=self.file, object=name, value=name, valid=_few(self.hosts),
                suggestions=closest(name, self.hosts),
            ) from None

    def host_of(self, app: Application) -> Host | None:
        """The application's own Host (``None`` when it has no server info)."""
        return self.hosts[app.host] if app.host is not None else None

    def connection(self, app: str, server: str, port_id: str | None = None) -> Connection:
        """The connection of ``app`` to ``server`` (on ``port_id`` when given; else the first one).

        Raises:
            ConfigurationError: the application has no such connection.
        """
        client = self.application(app)
        conns = list(client.connections_to(server))
        if port_id is not None:
            conns = [c for c in conns if (c.port_id or DEFAULT_PORT_ID) == port_id]
        if not conns:
            have = tuple(f"{c.server}/{c.port_id or DEFAULT_PORT_ID}" for c in client.connections)
            raise ConfigurationError(
                f"application {app} has no connection to {server}"
                + (f" port {port_id!r}" if port_id else ""),
                file=self.file,
                object=app,
                level="connection",
                value=f"{server}/{port_id}" if port_id else server,
                valid=have or "the application has no connections",
                suggestions=closest(f"{server}/{port_id}" if port_id else server, have),
            )
        return conns[0]


def _few(names: Mapping[str, object], limit: int = 20) -> tuple[str, ...] | str:
    if not names:
        return "none are defined"
    keys = list(names)
    if len(keys) <= limit:
        return tuple(keys)
    return ", ".join(keys[:limit]) + f" ... ({len(keys)} in all)"
