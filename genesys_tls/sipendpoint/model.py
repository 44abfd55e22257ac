"""The two settings of a Workspace SIP Endpoint standalone link, typed (no ``ssl``, no sockets):

* :class:`EndpointConfig`, the ``<configuration><appSettings>`` of ``InteractionWorkspaceSIPEndpoint.exe.config``
  (:func:`load_endpoint_config` / :func:`parse_endpoint_config`): ``add`` / ``remove`` / ``clear`` applied in
  order as .NET does (a later ``add`` of the same key wins), every step kept in :attr:`EndpointConfig.events`
  for lint. The XML is parsed with ``defusedxml``: a DOCTYPE or an entity is refused, never expanded.
* :class:`WorkspaceSettings`, the ``[interaction-workspace] sipendpoint.standalone.*`` options of a Workspace
  application in an environment file (:func:`workspace_settings`).

Values are typed: ranges are :mod:`ipaddress` networks, criteria X.500 short names, properties directory
attribute names or ``distinguishedName.<RDN>``. Every bad value is a
:class:`~genesys_tls.errors.ConfigurationError` naming the file, the key (and line), the value and the valid
values.
"""

from __future__ import annotations

import ipaddress
import os
import re
import xml.sax
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import defusedxml  # type: ignore[import-untyped]
import defusedxml.sax  # type: ignore[import-untyped]

from .. import _files
from ..errors import ConfigurationError
from ..model import Environment
from .facts import facts

__all__ = [
    "MAX_CONFIG_SIZE",
    "EndpointConfig",
    "Property",
    "SettingEvent",
    "WorkspaceSettings",
    "load_endpoint_config",
    "parse_criteria",
    "parse_endpoint_config",
    "parse_properties",
    "workspace_settings",
]

#: The largest ``.exe.config`` read (bytes).
MAX_CONFIG_SIZE = 1 << 20
_DN_PREFIX = "distinguishedName."
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_TRUE, _FALSE = ("true",), ("false",)


@attrs.frozen
class Property:
    """A directory property a criterion is matched with.

    Attributes:
        attribute: the directory attribute (``mail``, ``cn``, ``distinguishedName``).
        rdn: for ``distinguishedName.<RDN>``, the RDN attribute taken from the user's distinguished name
            (``OU``, ``DC``...); ``None`` for a plain attribute.
    """

    attribute: str
    rdn: str | None = None

    def __str__(self) -> str:
        return f"{self.attribute}.{self.rdn}" if self.rdn else self.attribute


@attrs.frozen
class SettingEvent:
    """One ``add``, ``remove`` or ``clear`` of ``appSettings``, in file order (``key``/``value`` ``None`` when
    absent)."""

    action: str
    key: str | None
    value: str | None
    line: int


def _where(line: int | None) -> str:
    return f"appSettings line {line}" if line else "appSettings"


def _valid(name: str) -> tuple[str, ...]:
    return facts().endpoint_keys[name].values


def parse_criteria(text: str, *, file: str | None, object: str, option: str) -> tuple[str, ...]:
    """``E,CN,OU`` -> ``("E", "CN", "OU")`` (upper-cased); an unknown short name is refused."""
    names = tuple(part.strip().upper() for part in text.split(",")) if text.strip() else ()
    known = tuple(facts().criteria)
    for name in names:
        if name not in known:
            raise ConfigurationError("unknown subject criterion", file=file, object=object, option=option,
                                     value=name or text, valid=known)
    return names


def parse_properties(text: str, *, file: str | None, object: str, option: str) -> tuple[Property, ...]:
    """``mail,distinguishedName.OU`` -> properties; a malformed name or an unknown RDN is refused."""
    out: list[Property] = []
    valid = ("a directory attribute name (mail, cn...)", f"{_DN_PREFIX}<{'|'.join(facts().criteria)}>")
    for part in (p.strip() for p in text.split(",")) if text.strip() else ():
        if part.lower().startswith(_DN_PREFIX.lower()):
            rdn = part[len(_DN_PREFIX):].upper()
            if rdn not in facts().criteria:
                raise ConfigurationError("unknown RDN in a distinguishedName property", file=file, object=object,
                                         option=option, value=part, valid=valid)
            out.append(Property("distinguishedName", rdn))
        elif _ATTRIBUTE.match(part):
            out.append(Property(part))
        else:
            raise ConfigurationError("not a directory property", file=file, object=object, option=option,
                                     value=part or text, valid=valid)
    return tuple(out)


def _networks(
    text: str, version: int, *, file: str | None, object: str, option: str
) -> tuple[ipaddress.IPv4Network, ...] | tuple[ipaddress.IPv6Network, ...]:
    family = "IPv4" if version == 4 else "IPv6"
    valid = f"{family} networks in CIDR form, comma separated, host bits zero (such as " + (
        "'10.20.35.0/24,10.20.39.0/24')" if version == 4 else "'fd00:1::/64')")
    nets: list[Any] = []
    for part in (p.strip() for p in text.split(",")) if text.strip() else ():
        try:
            net = ipaddress.ip_network(part, strict=True)
        except ValueError as exc:
            raise ConfigurationError(f"not a CIDR range ({exc})", file=file, object=object, option=option,
                                     value=part, valid=valid) from None
        if net.version != version:
            raise ConfigurationError(f"an IPv{net.version} range in the {family} key", file=file, object=object,
                                     option=option, value=part, valid=valid)
        nets.append(net)
    return tuple(nets)


def _port(text: str, *, file: str | None, object: str, option: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ConfigurationError("not a TCP port", file=file, object=object, option=option, value=text,
                                 valid="a whole number from 1 to 65535")
    return int(value)


def _choice(text: str, valid: Sequence[str], *, file: str | None, object: str, option: str, what: str) -> str:
    value = text.strip().lower()
    if value not in valid:
        raise ConfigurationError(f"unknown {what}", file=file, object=object, option=option, value=text,
                                 valid=tuple(valid))
    return value


def _boolean(text: str, *, file: str | None, object: str, option: str) -> bool:
    value = text.strip().lower()
    if value not in (*_TRUE, *_FALSE):
        raise ConfigurationError("not a boolean", file=file, object=object, option=option, value=text,
                                 valid=("true", "false"))
    return value in _TRUE


def _cors(text: str, *, file: str | None, object: str) -> tuple[str, ...] | None:
    value = text.strip()
    if not value:
        return None
    origins = tuple(o.strip() for o in value.split(","))
    if origins == ("*",):
        return origins
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ConfigurationError("not a CORS origin", file=file, object=object, option="cors", value=origin,
                                     valid="'*' or origins such as 'https://workspace.example.com:8443', comma "
                                           "separated")
    return tuple(o.lower() for o in origins)


def _check_pairing(
    level: int | None, used_at: int, criteria: tuple[str, ...], properties: tuple[Property, ...],
    *, file: str | None, object: str, criteria_key: str, properties_key: str,
) -> None:
    if criteria and properties and len(criteria) != len(properties):
        raise ConfigurationError(
            f"{criteria_key} has {len(criteria)} criteria but {properties_key} has {len(properties)} properties "
            "(the i-th criterion is matched with the i-th property)",
            file=file, object=object, option=properties_key, value=",".join(map(str, properties)),
            valid=f"{len(criteria)} properties, one per criterion",
        )
    if level is not None and level >= used_at and not (criteria and properties):
        missing = criteria_key if not criteria else properties_key
        raise ConfigurationError(
            f"level {level} checks the certificate subject but {missing} is empty",
            file=file, object=object, option=missing, value="",
            valid="comma-separated criteria and as many properties",
        )


# ============================================================================================ endpoint


@attrs.frozen
class _EndpointSecurity:
    """The settings the endpoint's ``.exe.config`` and Workspace's options both give, and must agree on:
    protocol, port, security level, the certificate search and the subject check (attributes below)."""

    protocol: str
    port: int
    security_level: int | None
    certificate_search_value: str | None
    subject_criteria: tuple[str, ...]
    subject_matching_properties: tuple[Property, ...]


@attrs.frozen
class EndpointConfig(_EndpointSecurity):
    """The endpoint's ``appSettings``, after ``add``/``remove``/``clear``.

    Attributes:
        file: the file read, when known.
        values: key -> effective value (the last ``add`` of each key still standing).
        lines: key -> the line of that ``add``.
        events: every ``add``/``remove``/``clear`` in file order.
        protocol: ``http`` or ``https`` (default ``http``).
        port: the REST port (default 8000).
        security_level: 0, 1 or 2 (``None`` with ``http`` and no level).
        certificate_search_value: the search for the endpoint's own certificate, when set.
        subject_criteria: X.500 short names (level 2).
        subject_matching_properties: the properties matched with them.
        cors: ``None`` (CORS off), ``("*",)`` or the allowed origins (lower case).
        localhost: only local applications may connect.
        ipv4_ranges, ipv6_ranges: the allowed ranges (empty: that key sets none).
        title, exit: the dictionary entries.
        appsettings_count: how many ``appSettings`` elements the file has (lint reports more than one).
    """

    file: str | None
    values: Mapping[str, str]
    lines: Mapping[str, int]
    events: tuple[SettingEvent, ...]
    cors: tuple[str, ...] | None
    localhost: bool
    ipv4_ranges: tuple[ipaddress.IPv4Network, ...]
    ipv6_ranges: tuple[ipaddress.IPv6Network, ...]
    title: str | None = None
    exit: str | None = None
    appsettings_count: int = 1

    @property
    def tls(self) -> bool:
        """Whether the endpoint speaks HTTPS."""
        return self.protocol == "https"

    def line_of(self, key: str) -> int | None:
        """The line of the effective ``add`` of ``key``."""
        return self.lines.get(key)


class _Handler(xml.sax.handler.ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.events: list[SettingEvent] = []
        self.root: str | None = None
        self.appsettings = 0
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:
        self.locator = locator

    def startElement(self, name: str, attrs: Any) -> None:
        line = int(self.locator.getLineNumber()) if self.locator is not None else 0
        if not self.stack:
            self.root = name
        parent = self.stack[-1] if self.stack else None
        if name == "appSettings" and parent == "configuration" and len(self.stack) == 1:
            self.appsettings += 1
        elif parent == "appSettings" and len(self.stack) == 2 and name in ("add", "remove", "clear"):
            self.events.append(SettingEvent(name, attrs.get("key"), attrs.get("value"), line))
        self.stack.append(name)

    def endElement(self, name: str) -> None:
        self.stack.pop()


def parse_endpoint_config(data: bytes | str, *, file: str | None = None) -> EndpointConfig:
    """Parse the text of an ``.exe.config``.

    Raises:
        ConfigurationError: malformed XML, a DOCTYPE or entity, no ``<configuration>`` root, an element of
            ``appSettings`` without its ``key``, or any bad value (see the module documentation).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    handler = _Handler()
    try:
        defusedxml.sax.parseString(raw, handler, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise ConfigurationError(
            f"the XML declares a DOCTYPE or an entity, which is refused ({type(exc).__name__})",
            file=file, object="configuration", valid="plain XML without DOCTYPE or entities",
        ) from None
    except xml.sax.SAXParseException as exc:
        raise ConfigurationError(
            f"malformed XML at line {exc.getLineNumber()}, column {exc.getColumnNumber()}: {exc.getMessage()}",
            file=file, object="configuration", valid="well-formed XML",
        ) from None
    if handler.root != "configuration":
        raise ConfigurationError("the root element is not <configuration>", file=file, object=handler.root,
                                 value=handler.root, valid=("configuration",))
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for event in handler.events:
        if event.action == "clear":
            values.clear()
            lines.clear()
            continue
        if not event.key:
            raise ConfigurationError(f"<{event.action}> without a key attribute", file=file,
                                     object=_where(event.line), valid="key=\"NAME\"")
        if event.action == "remove":
            values.pop(event.key, None)
            lines.pop(event.key, None)
        else:
            values[event.key] = event.value if event.value is not None else ""
            lines[event.key] = event.line
    return _typed(values, lines, tuple(handler.events), file, handler.appsettings)


def _typed(
    values: dict[str, str], lines: dict[str, int], events: tuple[SettingEvent, ...], file: str | None,
    appsettings: int,
) -> EndpointConfig:
    keys = facts().endpoint_keys

    def at(key: str) -> str:
        return _where(lines.get(key))

    def get(key: str) -> str | None:
        return values.get(key)

    protocol = _choice(get("protocol") or keys["protocol"].default or "http", _valid("protocol"), file=file,
                       object=at("protocol"), option="protocol", what="protocol")
    port = _port(get("port") or keys["port"].default or "", file=file, object=at("port"), option="port")
    level: int | None = None
    level_text = get("security_level")
    if level_text is not None and level_text.strip():
        level = int(_choice(level_text, _valid("security_level"), file=file, object=at("security_level"),
                            option="security_level", what="security level"))
    elif protocol == "https":
        raise ConfigurationError(
            "protocol is https but security_level is not set (no default is documented; it is refused rather "
            "than guessed)", file=file, object=at("protocol"), option="security_level",
            value=level_text, valid=_valid("security_level"),
        )
    criteria = parse_criteria(get("subject_criteria") or "", file=file, object=at("subject_criteria"),
                              option="subject_criteria")
    properties = parse_properties(get("subject_matching_properties") or "", file=file,
                                  object=at("subject_matching_properties"), option="subject_matching_properties")
    _check_pairing(level if protocol == "https" else None, 2, criteria, properties, file=file,
                   object=at("subject_criteria"), criteria_key="subject_criteria",
                   properties_key="subject_matching_properties")
    ipv4 = _networks(get("ipv4_address_range") or "", 4, file=file, object=at("ipv4_address_range"),
                     option="ipv4_address_range")
    ipv6 = _networks(get("ipv6_address_range") or "", 6, file=file, object=at("ipv6_address_range"),
                     option="ipv6_address_range")
    localhost = _boolean(get("localhost") or "false", file=file, object=at("localhost"), option="localhost")
    search = (get("certificate_search_value") or "").strip() or None
    return EndpointConfig(
        file=file, values=MappingProxyType(dict(values)), lines=MappingProxyType(dict(lines)), events=events,
        protocol=protocol, port=port, security_level=level, certificate_search_value=search,
        subject_criteria=criteria, subject_matching_properties=properties,
        cors=_cors(get("cors") or "", file=file, object=at("cors")), localhost=localhost,
        ipv4_ranges=ipv4,  # type: ignore[arg-type]
        ipv6_ranges=ipv6,  # type: ignore[arg-type]
        title=get("title"), exit=get("exit"), appsettings_count=appsettings,
    )


def load_endpoint_config(path: str | os.PathLike[str]) -> EndpointConfig:
    """Read and parse an ``.exe.config`` (a regular file of at most :data:`MAX_CONFIG_SIZE` bytes).

    Raises:
        ConfigurationError: the file cannot be read, is special or too large, or holds bad settings.
    """
    name = os.fspath(path)
    try:
        data = _files.read_regular_file(name, limit=MAX_CONFIG_SIZE, what="SIP Endpoint configuration")
    except ConfigurationError as exc:
        raise ConfigurationError(exc.reason, file=name, valid="an .exe.config file", problem=exc.problem) from None
    return parse_endpoint_config(data, file=str(Path(name)))


# ============================================================================================ Workspace


@attrs.frozen
class WorkspaceSettings(_EndpointSecurity):
    """The ``sipendpoint.standalone.*`` options of a Workspace application (``interaction-workspace``).

    Attributes:
        application: the Workspace application's name.
        file: the environment file.
        values: option (full name) -> value, every ``sipendpoint.standalone.*`` option written.
        protocol: ``http`` or ``https``.
        port: the endpoint's port.
        security_level: 0..3 (``None`` with ``http`` and no level).
        certificate_search_value: the search for Workspace's client certificate.
        subject_criteria, subject_matching_properties: the level 3 check of the endpoint's certificate.
        vdi_detection_model: as written.
        vdi_detection_use_dns: ``None`` when not set.
    """

    application: str
    file: str | None
    values: Mapping[str, str]
    vdi_detection_model: str | None = None
    vdi_detection_use_dns: bool | None = None

    @property
    def tls(self) -> bool:
        """Whether Workspace reaches the endpoint over HTTPS."""
        return self.protocol == "https"


def workspace_settings(env: Environment, application: str) -> WorkspaceSettings:
    """The SIP Endpoint options of a Workspace application's ``interaction-workspace`` section.

    Raises:
        ConfigurationError: no such application, no ``sipendpoint.standalone.protocol``/``port`` (no default
            is documented for Workspace), https without ``security-level``, or any bad value.
    """
    data = facts()
    try:
        app = env.applications[application]
    except KeyError:
        raise ConfigurationError("no such application", file=env.file, object=application,
                                 valid=tuple(sorted(env.applications))) from None
    section_name = data.workspace_section
    section = app.options.get(section_name, MappingProxyType({}))
    prefix = data.workspace_prefix
    values = {k: v for k, v in section.items() if k.startswith(prefix)}
    file, level_name = env.file, "application-options"

    def opt(name: str) -> str:
        return prefix + name

    def err(reason: str, name: str, value: str | None = None, valid: Any = None) -> ConfigurationError:
        return ConfigurationError(reason, file=file, object=application, level=f"{level_name} [{section_name}]",
                                  option=opt(name), value=value, valid=valid)

    def typed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigurationError as exc:
            raise err(exc.reason, name, exc.value, exc.valid) from None

    where: dict[str, Any] = {"file": file, "object": application}
    options = data.workspace_options
    protocol_text = values.get(opt("protocol"))
    if protocol_text is None:
        raise err("not set (no default is documented for Workspace)", "protocol", None, options["protocol"].values)
    protocol = typed("protocol", _choice, protocol_text, options["protocol"].values, option=opt("protocol"),
                     what="protocol", **where)
    port_text = values.get(opt("port"))
    if port_text is None:
        raise err("not set (no default is documented for Workspace)", "port", None, "a whole number from 1 to 65535")
    port = typed("port", _port, port_text, option=opt("port"), **where)
    level: int | None = None
    level_text = values.get(opt("security-level"))
    if level_text is not None and level_text.strip():
        level = int(typed("security-level", _choice, level_text, options["security-level"].values,
                          option=opt("security-level"), what="security level", **where))
    elif protocol == "https":
        hint = ""
        if opt("security_level") in values:
            hint = f" ({opt('security_level')} is set, but the option's name is {opt('security-level')})"
        raise err("protocol is https but security-level is not set (no default is documented; refused rather "
                  f"than guessed){hint}", "security-level", level_text, options["security-level"].values)
    criteria = typed("subject-criteria", parse_criteria, values.get(opt("subject-criteria"), ""),
                     option=opt("subject-criteria"), **where)
    properties = typed("subject-matching-properties", parse_properties,
                       values.get(opt("subject-matching-properties"), ""),
                       option=opt("subject-matching-properties"), **where)
    try:
        _check_pairing(level if protocol == "https" else None, 3, criteria, properties, file=file,
                       object=application, criteria_key=opt("subject-criteria"),
                       properties_key=opt("subject-matching-properties"))
    except ConfigurationError as exc:
        raise exc.located(level=f"{level_name} [{section_name}]") from None
    dns_text = values.get(opt("vdi-detection-use-dns"))
    use_dns = None if dns_text is None else typed("vdi-detection-use-dns", _boolean, dns_text,
                                                  option=opt("vdi-detection-use-dns"), **where)
    search = (values.get(opt("certificate-search-value")) or "").strip() or None
    return WorkspaceSettings(
        application=application, file=file, values=MappingProxyType(values), protocol=protocol, port=port,
        security_level=level, certificate_search_value=search, subject_criteria=criteria,
        subject_matching_properties=properties, vdi_detection_model=values.get(opt("vdi-detection-model")),
        vdi_detection_use_dns=use_dns,
    )
