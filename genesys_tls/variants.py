"""Derive a changed environment in code: set or remove an option at a level of an object, swap a Host's
certificate group, add a connection. No YAML text is edited and nothing is written to disk.

Every function takes an :class:`~genesys_tls.model.Environment` and returns a **new** one (the model is
frozen; the original is unchanged), with the same ``source`` and ``base_dir`` so relative paths still
resolve against the original file's folder. Cross-references are checked again, as when loading::

    from genesys_tls import variants as v

    mutual = v.set_option(env, "tls-mutual", "1", app="TServer", port="secure")          # port transport
    no_check = v.set_option(env, "tls-target-name-check", "no", app="Client_client-host",
                            connection="TServer/secure")                                # connection transport
    tls13 = v.set_option(env, "sec-protocol", "TLSv13", host="tsrv-host")               # Host Annex
    bare = v.remove_option(env, "trusted-ca", host="client-host")
    wrong = v.with_certificate(env, "tsrv-host", pki.wrong_name.cert, pki.wrong_name.key)

Where an option goes is said by the keywords: ``host=`` the Host Annex; ``app=`` the Application Options
(``level="application-annex"`` for its Annex); ``app=`` with ``port=`` that port's transport parameters;
``app=`` with ``connection="SERVER[/PORT_ID]"`` that connection's transport parameters. Unknown objects raise
:class:`~genesys_tls.errors.ConfigurationError` naming the closest valid names. Option names are not
checked against the catalogue, so that tests can write unknown or misspelt options on purpose.

This module imports neither ``ssl`` nor ``socket``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypedDict, Unpack

import attrs

from ._keywords import check_keywords
from .catalogue import SECURITY_SECTION, Level, option
from .errors import ConfigurationError, closest
from .model import DEFAULT_PORT_ID, Application, Connection, Environment, Host, Port, Sections
from .transport import TransportParameters, format_transport, parse_transport

__all__ = ["add_connection", "remove_option", "set_option", "with_certificate"]

_LEVELS = (Level.APPLICATION_OPTIONS.value, Level.APPLICATION_ANNEX.value)


def _section_set(sections: Sections, section: str, option: str, value: str | None) -> dict[str, dict[str, str]]:
    out = {name: dict(values) for name, values in sections.items()}
    if value is None:
        out.get(section, {}).pop(option)
    else:
        out.setdefault(section, {})[option] = value
    return out


def _transport_set(params: TransportParameters, option: str, value: str | None, where: str) -> str:
    values = dict(params.items())
    if value is None:
        values.pop(option)
    else:
        values[option] = value
    try:
        return format_transport(values)
    except ValueError as error:
        raise ConfigurationError(str(error), object=where, option=option, value=value) from None


def _missing(option: str, present: Mapping[str, str], where: str, level: str) -> ConfigurationError:
    return ConfigurationError(
        f"option {option!r} is not set there, so it cannot be removed",
        object=where,
        level=level,
        valid=tuple(present) or "nothing is set there",
        suggestions=closest(option, present),
    )


def _check_value(option: str, value: str | None) -> None:
    if not isinstance(option, str) or not option or option != option.strip():
        raise ConfigurationError("an option name must be a non-empty string without surrounding spaces",
                                 option=str(option))
    if value is not None and not isinstance(value, str):
        raise ConfigurationError("option values are strings, exactly as typed in Genesys Administrator",
                                 option=option, value=repr(value), valid="a str, such as '1' or 'TLSv12'")


class Place(TypedDict, total=False):
    """Where :func:`set_option` and :func:`remove_option` write: the keywords of :func:`set_option`."""

    host: str | None
    app: str | None
    port: str | None
    connection: str | None
    level: str | None
    section: str


def _edit(env: Environment, option: str, value: str | None, place: Place) -> Environment:
    host, app, port = place.get("host"), place.get("app"), place.get("port")
    connection, level = place.get("connection"), place.get("level")
    section = place.get("section", SECURITY_SECTION)
    _check_value(option, value)
    targets = sum(x is not None for x in (host, app))
    if targets != 1 or (host is not None and (port or connection)) or (port and connection):
        raise ConfigurationError(
            "say where the option goes: host=, or app= (with port= or connection= for transport parameters)",
            option=option,
            valid="host=HOST | app=APP [level='application-annex'] | app=APP, port=PORT_ID | "
            "app=APP, connection='SERVER[/PORT_ID]'",
        )
    if host is not None:
        current = env.host(host)
        present = current.annex.get(section, {})
        if value is None and option not in present:
            raise _missing(option, present, host, Level.HOST_ANNEX.value)
        hosts = {**env.hosts, host: attrs.evolve(current, annex=_section_set(current.annex, section, option, value))}
        return _rebuilt(env, hosts=hosts)
    assert app is not None  # noqa: S101 - checked above
    application = env.application(app)
    if port is not None:
        where = f"{app}/{port}"
        current_port = application.port(port)
        if value is None and option not in current_port.transport:
            raise _missing(option, current_port.transport, where, Level.PORT.value)
        new_port: Port = attrs.evolve(current_port, transport=_transport_set(current_port.transport, option, value,
                                                                             where))
        return _with_app(env, attrs.evolve(application, ports={**application.ports, port: new_port}))
    if connection is not None:
        server, _, port_id = connection.partition("/")
        chosen = env.connection(app, server, port_id or None)
        index = application.connections.index(chosen)
        where = f"{app} -> {server}/{chosen.port_id or DEFAULT_PORT_ID}"
        if value is None and option not in chosen.transport:
            raise _missing(option, chosen.transport, where, Level.CONNECTION.value)
        changed = attrs.evolve(chosen, transport=_transport_set(chosen.transport, option, value, where))
        conns = (*application.connections[:index], changed, *application.connections[index + 1:])
        return _with_app(env, attrs.evolve(application, connections=conns))
    chosen_level = level or Level.APPLICATION_OPTIONS.value
    if chosen_level not in _LEVELS:
        raise ConfigurationError("an application's options sit in its Options or its Annex", object=app,
                                 option=option, value=chosen_level, valid=_LEVELS)
    field = "options" if chosen_level == Level.APPLICATION_OPTIONS.value else "annex"
    sections: Sections = getattr(application, field)
    present = sections.get(section, {})
    if value is None and option not in present:
        raise _missing(option, present, app, chosen_level)
    changed_sections = _section_set(sections, section, option, value)
    if field == "options":
        return _with_app(env, attrs.evolve(application, options=changed_sections))
    return _with_app(env, attrs.evolve(application, annex=changed_sections))


def _rebuilt(
    env: Environment,
    *,
    hosts: Mapping[str, Host] | None = None,
    applications: Mapping[str, Application] | None = None,
) -> Environment:
    return Environment(
        hosts if hosts is not None else env.hosts,
        applications if applications is not None else env.applications,
        source=env.source,
        base_dir=env.base_dir,
    )


def _with_app(env: Environment, application: Application) -> Environment:
    return _rebuilt(env, applications={**env.applications, application.name: application})


def set_option(env: Environment, option: str, value: str, **place: Unpack[Place]) -> Environment:
    """A copy of ``env`` with ``option=value`` written at one level of one object (replacing any value there).

    Args:
        env: the environment.
        option: the option (or transport parameter) name.
        value: its text, exactly as typed in Genesys Administrator (``"1"``, ``"TLSv12"``).
        host: write it in this Host's Annex.
        app: write it in this Application's Options (or Annex with ``level="application-annex"``), or in the
            transport parameters of its ``port`` or ``connection``.
        port: a listening port id of ``app``.
        connection: a connection of ``app``, ``SERVER[/PORT_ID]`` (the first one to SERVER without a port id).
        level: ``application-options`` (default) or ``application-annex``, with ``app`` alone.
        section: the Options/Annex section (default ``security``).

    Raises:
        ConfigurationError: an unknown object, an ambiguous place, a value that is not a string or that
            transport parameters cannot hold (``;``).
    """
    check_keywords("set_option", place, Place)
    return _edit(env, option, value, place)


def remove_option(env: Environment, option: str, **place: Unpack[Place]) -> Environment:
    """A copy of ``env`` without ``option`` at that level (the keywords are those of :func:`set_option`).

    Raises:
        ConfigurationError: an unknown object, or the option is not set there (a typo would otherwise change
            nothing silently); the error lists what is set there.
    """
    check_keywords("remove_option", place, Place)
    return _edit(env, option, None, place)


def with_certificate(
    env: Environment,
    host: str,
    certificate: str | os.PathLike[str],
    certificate_key: str | os.PathLike[str],
    trusted_ca: str | os.PathLike[str] | None = None,
) -> Environment:
    """A copy of ``env`` whose Host ``host`` presents another certificate group in its Host Annex.

    ``certificate`` and ``certificate-key`` are replaced; ``trusted-ca`` too when given (else kept). Paths
    are written as given: absolute ones (such as :class:`~genesys_tls.pki.PKIFiles` paths) work wherever the
    environment came from; relative ones are relative to ``env.base_dir``.

    Raises:
        ConfigurationError: unknown host.
    """
    cert_name, key_name, ca_name = (option(n).name for n in ("certificate", "certificate-key", "trusted-ca"))
    updated = set_option(env, cert_name, os.fspath(certificate), host=host)
    updated = set_option(updated, key_name, os.fspath(certificate_key), host=host)
    if trusted_ca is not None:
        updated = set_option(updated, ca_name, os.fspath(trusted_ca), host=host)
    return updated


def add_connection(
    env: Environment,
    app: str,
    server: str,
    port_id: str | None = None,
    transport: str | Mapping[str, str] | None = None,
) -> Environment:
    """A copy of ``env`` where ``app`` has one more connection, to ``server`` (port ``port_id``), last.

    Args:
        env: the environment.
        app: the client application.
        server: the server application.
        port_id: the server's port id (``None``: its ``default`` port).
        transport: the connection's transport parameters, a string (``"tls-target-name-check=host"``) or a
            mapping.

    Raises:
        ConfigurationError: unknown application, server or port (the closest valid names are suggested).
    """
    application = env.application(app)
    text = transport if transport is None or isinstance(transport, str) else _format(transport, app)
    new = Connection(server, port_id, parse_transport(text))
    return _with_app(env, attrs.evolve(application, connections=(*application.connections, new)))


def _format(params: Mapping[str, str], where: str) -> str:
    try:
        return format_transport(params)
    except ValueError as error:
        raise ConfigurationError(str(error), object=where, level=Level.CONNECTION.value) from None
