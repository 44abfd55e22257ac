"""Precedence and provenance: the effective ``[security]`` options of a connection or a port.

Lookup order (Platform SDK ``GConfigPropertyReader``/``GConfigTlsPropertyReader``, see docs/precedence.md):

* server port: Port transport parameters > Application Options ``[security]`` > Application Annex
  ``[security]`` > the application's Host Annex ``[security]`` > default;
* client connection: Connection transport parameters > Application Options > Application Annex > the
  client's own Host Annex > default.

The first level where an option is *present* wins (``name=`` with nothing after it is present). The
certificate group (``provider``, ``certificate``, ``certificate-key``, ``trusted-ca``, ``fips140-enabled``)
comes whole from the first level that sets any member. On the client, ``tls`` is on when the lookup says so
or the target server's port has ``tls=1``; the server-side options (``tls-mutual``, ``upgrade``) come from
the target port's effective settings (source ``target-port``).

Where the documentation and the Platform SDK disagree, :class:`Reading` chooses: ``psdk`` (default) or
``doc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .catalogue import CATALOGUE, CERTIFICATE_GROUP, Side, Source, parse_boolean
from .errors import ConfigurationError
from .model import DEFAULT_PORT_ID, Application, Connection, Environment, HostOS, Port
from .resolved import ENCRYPTION_ONLY_NOTE, Mode, Reading, ResolvedOption, ResolvedSecurity, Shadowed, Target

# The result types live in genesys_tls.resolved; the ones a caller of the resolver names are exported here too.
__all__ = ["Mode", "Reading", "ResolvedOption", "ResolvedSecurity", "resolve_client", "resolve_server"]


# --------------------------------------------------------------------------------------------- lookup

_Layer = tuple[Source, str | None, Mapping[str, str]]

# Memos shared by every resolution, each bounded (emptied when full). The model is immutable, so a value
# validated once, or the options resolved over the same layers, stay right: the layer memos are keyed by the
# identity of the layers' mappings (and hold them, so that an identity is never reused while its entry
# lives), by their sources and objects, and by the flags that change validation.
_MEMO_SIZE = 1 << 16
#: the bound of :data:`_RESOLVED`, whose entries are larger (a mapping of options each)
_RESOLVED_SIZE = 1 << 13
#: (option, raw value, windows, legacy_protocols) -> canonical value, or the error (unlocated)
_CHECKED: dict[tuple[str, str, bool, bool], str | ConfigurationError] = {}
#: option -> its default ResolvedOption (nothing shadowed, no group)
_DEFAULTS: dict[str, ResolvedOption] = {}
#: layers key + what is asked -> (the layers' mappings, the options resolved over them)
_RESOLVED: dict[tuple[Any, ...], tuple[tuple[Mapping[str, str], ...], dict[str, ResolvedOption]]] = {}


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= (_RESOLVED_SIZE if memo is _RESOLVED else _MEMO_SIZE):
        memo.clear()
    memo[key] = value


def _layers(env: Environment, app: Application, first: _Layer) -> list[_Layer]:
    host = env.host_of(app)
    layers: list[_Layer] = [
        first,
        (Source.APPLICATION_OPTIONS, app.name, app.security_options),
        (Source.APPLICATION_ANNEX, app.name, app.security_annex),
    ]
    if host is not None:
        layers.append((Source.HOST_ANNEX, host.name, host.security))
    return layers


class _Resolver:
    """One resolution: the layers of one side, validation with locations, the group rule."""

    def __init__(
        self,
        env: Environment,
        app: Application,
        layers: list[_Layer],
        *,
        legacy_protocols: bool,
    ) -> None:
        self.env = env
        self.app = app
        self.layers = layers
        host = env.host_of(app)
        self.windows = bool(host is not None and host.os is HostOS.WINDOWS)
        self.legacy_protocols = legacy_protocols
        # What the options resolved over these layers depend on (empty levels contribute nothing).
        self.key: tuple[Any, ...] = (
            self.windows, legacy_protocols, *((source, obj, id(values)) for source, obj, values in layers if values)
        )

    def check(self, name: str, value: str, source: Source, obj: str | None) -> str:
        key = (name, value, self.windows, self.legacy_protocols)
        hit = _CHECKED.get(key)
        if hit is None:
            try:
                hit = CATALOGUE[name].check(value, windows=self.windows, legacy_protocols=self.legacy_protocols)
            except ConfigurationError as exc:
                hit = exc
            _remember(_CHECKED, key, hit)
        if isinstance(hit, ConfigurationError):
            raise hit.located(file=self.env.file, object=obj, level=source.value, option=name) from None
        return hit

    def resolved(self, names: tuple[str, ...], tag: str, *, group: bool = True) -> dict[str, ResolvedOption]:
        """The certificate group (``group``) and :meth:`generic` for the other ``names``, once per distinct
        layers (a copy: the caller adds to it). ``tag`` names what is asked (``names`` and ``group``)."""
        key = (tag, self.key)
        hit = _RESOLVED.get(key)
        if hit is None:
            options = self.group() if group else {}
            for name in names:
                if name not in options:
                    options[name] = self.generic(name)
            hit = (tuple(values for _, _, values in self.layers), options)
            _remember(_RESOLVED, key, hit)
        return dict(hit[1])

    def found(self, name: str, layers: list[_Layer] | None = None) -> list[Shadowed]:
        return [
            Shadowed(values[name], source, obj)
            for source, obj, values in (layers if layers is not None else self.layers)
            if name in values
        ]

    def default(self, name: str, shadowed: tuple[Shadowed, ...] = (), **kw: Any) -> ResolvedOption:
        plain = _DEFAULTS.get(name)
        if plain is None:
            opt = CATALOGUE[name]
            norm = opt.check(opt.default) if opt.default is not None else None
            plain = _DEFAULTS[name] = ResolvedOption(name, opt.default, norm, Source.DEFAULT, None, ())
        if not shadowed and not kw:
            return plain
        return ResolvedOption(name, plain.value, plain.normalized, Source.DEFAULT, None, shadowed, **kw)

    def generic(self, name: str, layers: list[_Layer] | None = None) -> ResolvedOption:
        hits = self.found(name, layers)
        if not hits:
            return self.default(name)
        win = hits[0]
        norm = self.check(name, win.value, win.source, win.object)
        return ResolvedOption(name, win.value, norm, win.source, win.object, tuple(hits[1:]))

    def group(self) -> dict[str, ResolvedOption]:
        chosen: _Layer | None = None
        for layer in self.layers:
            if any(member in layer[2] for member in CERTIFICATE_GROUP):
                chosen = layer
                break
        out: dict[str, ResolvedOption] = {}
        for member in CERTIFICATE_GROUP:
            hits = self.found(member)
            if chosen is None:
                out[member] = self.default(member)
                continue
            source, obj, values = chosen
            others = tuple(h for h in hits if h.source is not source)
            if member in values:
                value = values[member]
                norm = self.check(member, value, source, obj)
                out[member] = ResolvedOption(
                    member, value, norm, source, obj, others, group_level=source
                )
            else:
                out[member] = self.default(member, others, group_level=source)
        return out

    def result(
        self,
        options: dict[str, ResolvedOption],
        notes: list[str],
        *,
        side: Side,
        reading: Reading,
        target: Target | None = None,
        port: Port | None = None,
    ) -> ResolvedSecurity:
        """The answer for this side: options in catalogue order, the mode derived from them, the notes (an
        encryption-only client gets :data:`ENCRYPTION_ONLY_NOTE` last)."""
        opts = _finish(options)
        mode = _mode(opts, side)
        if side is Side.CLIENT and mode is Mode.ENCRYPTION_ONLY:
            notes = [*notes, ENCRYPTION_ONLY_NOTE]
        host = self.env.host_of(self.app)
        return ResolvedSecurity(
            side=side,
            application=self.app.name,
            options=opts,
            mode=mode,
            target=target,
            port_id=port.id if port is not None else None,
            port_number=port.number if port is not None else None,
            host=host.name if host else None,
            store=host.store if host else None,
            windows=self.windows,
            base_dir=self.env.base_dir,
            file=self.env.file,
            reading=reading,
            legacy_protocols=self.legacy_protocols,
            notes=tuple(notes),
        )


#: what the memoised resolutions ask for (catalogue order)
_ALL = tuple(CATALOGUE)
_ALL_BUT_TLS = tuple(name for name in CATALOGUE if name != "tls")
_CLIENT_SIDE = tuple(name for name, opt in CATALOGUE.items() if name != "tls" and opt.side is not Side.SERVER)
_SERVER_SIDE = tuple(
    name
    for name, opt in CATALOGUE.items()
    if name != "tls" and opt.side is Side.SERVER and name not in CERTIFICATE_GROUP
)


def _mode(opts: Mapping[str, ResolvedOption], side: Side) -> Mode:
    """The contract's mode, checked in order: plain, encryption-only (client side), mutual, simple."""
    if not opts["tls"].as_bool():
        return Mode.PLAIN
    if side is Side.CLIENT and not opts["client-auth"].as_bool():
        return Mode.ENCRYPTION_ONLY
    if opts["tls-mutual"].as_bool():
        return Mode.MUTUAL
    return Mode.SIMPLE


def _finish(
    options: dict[str, ResolvedOption],
) -> Mapping[str, ResolvedOption]:
    return MappingProxyType({name: options[name] for name in CATALOGUE})


def resolve_server(
    env: Environment,
    app: str,
    port_id: str,
    *,
    reading: Reading | str = Reading.PSDK,
    legacy_protocols: bool = False,
) -> ResolvedSecurity:
    """The effective server-side options of one listening port.

    Args:
        env: the environment.
        app: the server Application's name.
        port_id: the port id (``default``, ``secure``...).
        reading: ``psdk`` (default) or ``doc``, see :class:`Reading`.
        legacy_protocols: accept ``sec-protocol=TLSv1`` (SSL 2/3 stay errors).

    Returns:
        A :class:`ResolvedSecurity` with ``side == "server"``.

    Raises:
        ConfigurationError: unknown application or port, or an invalid value where it is read.

    Example:
        >>> from genesys_tls import loads
        >>> env = loads("applications: {S: {ports: {secure: {port: 7001, transport: 'tls=1;tls-mutual=1'}}}}")
        >>> resolve_server(env, "S", "secure").mode.value
        'mutual'
    """
    reading = Reading(reading)
    application = env.application(app)
    try:
        port = application.port(port_id)
    except ConfigurationError as exc:
        raise exc.located(file=env.file) from None
    layers = _layers(env, application, (Source.PORT, application.name, port.transport))
    r = _Resolver(env, application, layers, legacy_protocols=legacy_protocols)
    if reading is Reading.DOC:
        options = r.resolved(_ALL_BUT_TLS, "server-doc")
        tls = r.generic("tls", layers[:1])
        ignored = tuple(h for h in r.found("tls") if h.source is not Source.PORT)
        options["tls"] = attrs.evolve(tls, shadowed=tls.shadowed + ignored)
    else:
        options = r.resolved(_ALL, "server")
    notes = []
    if reading is Reading.PSDK and options["tls"].source not in (Source.PORT, Source.DEFAULT):
        notes.append(
            f"tls comes from {options['tls'].source.value} ({options['tls'].object}): the Platform SDK turns "
            "TLS on for every port of the application; native components read tls only on the port"
        )
    return r.result(options, notes, side=Side.SERVER, reading=reading, port=port)


def resolve_client(
    env: Environment,
    app: str,
    server: str,
    port_id: str | None = None,
    *,
    reading: Reading | str = Reading.PSDK,
    legacy_protocols: bool = False,
) -> ResolvedSecurity:
    """The effective client-side options of one connection.

    Args:
        env: the environment.
        app: the client Application's name.
        server: the server Application the connection points to.
        port_id: which of the client's connections to that server (matched against the Connection's port
            id, ``default`` when it names none); ``None`` takes the first connection to ``server``.
        reading: ``psdk`` (default) or ``doc``, see :class:`Reading`.
        legacy_protocols: accept ``sec-protocol=TLSv1`` (SSL 2/3 stay errors).

    Returns:
        A :class:`ResolvedSecurity` with ``side == "client"`` and a :class:`Target`.

    Raises:
        ConfigurationError: unknown application, server, connection or port, or an invalid value.
    """
    reading = Reading(reading)
    client = env.application(app)
    server_app = env.application(server)
    conn: Connection = env.connection(app, server, port_id)
    target_port_id = conn.port_id or DEFAULT_PORT_ID
    target_port = server_app.ports.get(target_port_id)
    server_host = env.host_of(server_app)
    target = Target(
        server=server_app.name,
        port_id=target_port_id,
        host=server_host.name if server_host else None,
        dial_host=server_host.address if server_host else None,
        port=target_port.number if target_port else None,
    )
    layers = _layers(env, client, (Source.CONNECTION, client.name, conn.transport))
    r = _Resolver(env, client, layers, legacy_protocols=legacy_protocols)
    notes: list[str] = []

    # The target port's effective server-side options (tls-mutual, upgrade), looked up over the server's
    # layers. Only those: the client reads nothing else of the server's, so the server's other values
    # (its certificate...) are neither read nor validated here.
    server_r: _Resolver | None = None
    if target_port is not None:
        server_r = _Resolver(
            env,
            server_app,
            _layers(env, server_app, (Source.PORT, server_app.name, target_port.transport)),
            legacy_protocols=legacy_protocols,
        )

    # The client's own options, once per distinct client layers; the target port's server-side options
    # (tls-mutual, upgrade) once per distinct server layers and shadowed client values.
    options = r.resolved(_CLIENT_SIDE, "client")
    for name in _SERVER_SIDE:
        options[name] = _target_option(r, server_r, server_app.name, name)
    options["tls"] = _client_tls(r, conn, server_app, target_port_id, reading, layers, notes)
    return r.result(options, notes, side=Side.CLIENT, reading=reading, target=target)


def _target_option(r: _Resolver, server_r: _Resolver | None, server: str, name: str) -> ResolvedOption:
    """A server-side option on the client: the target port's effective value (source ``target-port``), the
    client's own values shadowed."""
    own = tuple(r.found(name))
    if server_r is None:
        return r.default(name, own)
    key = ("target", name, server, own, server_r.key)
    hit = _RESOLVED.get(key)
    if hit is None:
        theirs = server_r.generic(name)
        option = ResolvedOption(
            name,
            theirs.value,
            theirs.normalized,
            Source.TARGET_PORT,
            server,
            own,
            via=Shadowed(theirs.value, theirs.source, theirs.object)
            if theirs.is_set and theirs.value is not None
            else None,
        )
        hit = (tuple(values for _, _, values in server_r.layers), {name: option})
        _remember(_RESOLVED, key, hit)
    return hit[1][name]


def _client_tls(
    r: _Resolver,
    conn: Connection,
    server_app: Application,
    target_port_id: str,
    reading: Reading,
    layers: list[_Layer],
    notes: list[str],
) -> ResolvedOption:
    # PSDK: isTrue(lookup of "tls" over the client's layers) OR targetPortSecure.
    if reading is Reading.DOC:
        own = r.generic("tls", layers[:1])
        ignored = tuple(h for h in r.found("tls") if h.source is not Source.CONNECTION)
        own = attrs.evolve(own, shadowed=own.shadowed + ignored)
        port_for_check: str | None = target_port_id
    else:
        own = r.generic("tls")
        port_for_check = conn.port_id or None  # the PSDK quirk: no port id, no target-port check
    target_secure = False
    target_value: str | None = None
    if port_for_check is not None and port_for_check in server_app.ports:
        target_value = server_app.ports[port_for_check].transport.get("tls")
        if target_value is not None:  # read by the client: validated like its own values
            r.check("tls", target_value, Source.PORT, server_app.name)
        target_secure = target_value is not None and parse_boolean(target_value) is True
    elif (
        port_for_check is None
        and target_port_id in server_app.ports
        and parse_boolean(server_app.ports[target_port_id].transport.get("tls", "")) is True
    ):
        notes.append(
            f"the connection names no port id: the Platform SDK does not read tls=1 from "
            f"{server_app.name}'s '{DEFAULT_PORT_ID}' port (it compares port ids), so TLS is off unless "
            "set elsewhere; reading='doc' treats it as on"
        )
    if own.as_bool():
        extra = (Shadowed(target_value, Source.TARGET_PORT, server_app.name),) if target_value else ()
        return attrs.evolve(own, shadowed=own.shadowed + extra)
    if target_secure:
        assert target_value is not None  # noqa: S101 - narrowed above
        lost = (Shadowed(own.value, own.source, own.object),) if own.is_set and own.value else ()
        return ResolvedOption(
            "tls",
            target_value,
            "1",
            Source.TARGET_PORT,
            server_app.name,
            lost + own.shadowed,
            via=Shadowed(target_value, Source.PORT, server_app.name),
        )
    return own

