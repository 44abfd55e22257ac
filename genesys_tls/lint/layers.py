"""Checks of what is written at one level (GT1xx), level by level: transport parameters, option names,
values and levels; the file content of each level goes to :func:`genesys_tls.lint.files.check_files`.

:func:`scan_layers` is the first scan of a lint run. Internal to lint: users call
:func:`genesys_tls.lint.lint`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import attrs

from ..catalogue import (
    APP_HOST,
    BOOLEAN_CANONICAL,
    CATALOGUE,
    OTHER_TRANSPORT_PARAMETERS,
    Kind,
    Level,
    Option,
    parse_boolean,
    protocol_range,
)
from ..errors import ConfigurationError
from ..model import DEFAULT_PORT_ID, Application, Connection, HostOS
from ..transport import DiagnosticCode, TransportParameters
from .context import LintContext
from .files import check_files
from .findings import Rule
from .rules import RULES

__all__ = ["connection_object", "scan_layers"]

_TRANSPORT_HINT = (
    "write name=value pairs joined by ';' with no spaces, names in lower case, each name once "
    "(see docs/options.md)"
)

_DIAGNOSTIC_RULES: Mapping[DiagnosticCode, Rule] = {
    DiagnosticCode.SPACE: RULES["GT101"],
    DiagnosticCode.CASE: RULES["GT102"],
    DiagnosticCode.DUPLICATE: RULES["GT103"],
    DiagnosticCode.UNKNOWN: RULES["GT104"],
    DiagnosticCode.NO_EQUALS: RULES["GT105"],
    DiagnosticCode.EMPTY_PIECE: RULES["GT106"],
    DiagnosticCode.EMPTY_KEY: RULES["GT107"],
}


@attrs.frozen
class _Layer:
    """One place options are written: a Host Annex, Application Options/Annex, a Port, a Connection."""

    object: str
    level: Level
    values: Mapping[str, str]
    windows: bool
    transport: TransportParameters | None = None


def connection_object(app: Application, conn: Connection) -> str:
    """The object lint reports a connection as: ``App -> Server/port``."""
    return f"{app.name} -> {conn.server}/{conn.port_id or DEFAULT_PORT_ID}"


# =========================================================================================== scan 1: layers


def scan_layers(ctx: LintContext) -> None:
    """Everything that can be judged where it is written, level by level (GT1xx, GT3xx/GT4xx file content).

    Levels with the same content (equal options, or the same transport parameters, at the same kind of
    level on the same kind of host) are checked once when the check finds nothing
    (:meth:`~genesys_tls.lint.context.LintContext.shared`)."""
    env = ctx.env
    for host in env.hosts.values():
        windows = host.os is HostOS.WINDOWS
        _scan_layer(ctx, host.name, Level.HOST_ANNEX, host.security, windows)
    clean = ctx.clean
    for app in env.applications.values():
        own = env.host_of(app)
        windows = bool(own is not None and own.os is HostOS.WINDOWS)
        _scan_layer(ctx, app.name, Level.APPLICATION_OPTIONS, app.security_options, windows)
        _scan_layer(ctx, app.name, Level.APPLICATION_ANNEX, app.security_annex, windows)
        for port in app.ports.values():
            key = ("layer", Level.PORT, windows, id(port.transport))
            if key in clean:
                ctx.shared_checks += 1
                continue
            layer = _Layer(f"{app.name}/{port.id}", Level.PORT, port.transport, windows, port.transport)
            ctx.shared(key, layer.object, layer.level.value, _check_layer, ctx, layer)
        for conn in app.connections:
            key = ("layer", Level.CONNECTION, windows, id(conn.transport))
            if key in clean:
                ctx.shared_checks += 1
                continue
            layer = _Layer(connection_object(app, conn), Level.CONNECTION, conn.transport, windows, conn.transport)
            ctx.shared(key, layer.object, layer.level.value, _check_layer, ctx, layer)


def _scan_layer(ctx: LintContext, obj: str, level: Level, values: Mapping[str, str], windows: bool) -> None:
    """One level of a Host or an Application (options or annex)."""
    key = ("layer", level, windows, ctx.inputs(values))
    if key in ctx.clean:
        ctx.shared_checks += 1
        return
    ctx.shared(key, obj, level.value, _check_layer, ctx, _Layer(obj, level, values, windows))


def _check_layer(ctx: LintContext, layer: _Layer) -> None:
    if layer.transport is not None:
        for diag in layer.transport.diagnostics:
            key = diag.key.strip() if diag.key else None
            ctx.emit(
                _DIAGNOSTIC_RULES[diag.code].finding(
                    layer.object,
                    layer.transport.locate(diag),
                    hint=_TRANSPORT_HINT,
                    level=layer.level,
                    option=key or None,
                )
            )
    valid: dict[str, str] = {}
    for name, value in layer.values.items():
        opt = CATALOGUE.get(name)
        if opt is None:
            if layer.transport is None and name not in OTHER_TRANSPORT_PARAMETERS:
                _check_spelling(ctx, layer, name)
            continue
        canonical = _check_value(ctx, layer, opt, value)
        if canonical is not None:
            valid[name] = canonical
    check_files(ctx, layer.object, layer.level, valid)


def _check_spelling(ctx: LintContext, layer: _Layer, name: str) -> None:
    close = difflib.get_close_matches(name.lower(), list(CATALOGUE), n=1, cutoff=0.8)
    if close:
        ctx.emit(
            RULES["GT113"].finding(
                layer.object,
                f"[security] option {name!r} is not a TLS option; it looks like {close[0]!r}, and nothing "
                "reads it as written",
                hint=f"rename it {close[0]!r}",
                level=layer.level,
                option=name,
            )
        )


def _check_value(ctx: LintContext, layer: _Layer, opt: Option, value: str) -> str | None:
    """Level, value and spelling checks of one option; the canonical value when it is valid."""
    if layer.level not in opt.levels:
        if opt.name == "tls" and layer.level in APP_HOST:
            _tls_outside_transport(ctx, layer, value)
        else:
            documented = ", ".join(lv.value for lv in Level if lv in opt.levels)
            effect = ""
            if opt.side.value == "server" and layer.level is Level.CONNECTION:
                effect = "; on a client it has no effect (the client takes it from the server's port)"
            elif opt.side.value == "client" and layer.level is Level.PORT:
                effect = "; on a server port it has no effect (it governs clients)"
            ctx.emit(
                RULES["GT111"].finding(
                    layer.object,
                    f"{opt.name} is set at level {layer.level.value}, which the documentation does not name "
                    f"for it (documented: {documented}){effect}",
                    level=layer.level,
                    option=opt.name,
                )
            )
    try:
        canonical = opt.check(value, windows=layer.windows)
    except ConfigurationError as exc:
        valid = exc.valid if isinstance(exc.valid, str) else ", ".join(repr(v) for v in exc.valid or ())
        ctx.emit(
            RULES["GT110"].finding(
                layer.object,
                f"{exc.reason}; got {value!r}",
                hint=f"valid: {valid}" if valid else RULES["GT110"].fix,
                level=layer.level,
                option=opt.name,
            )
        )
        return None
    if opt.kind is Kind.BOOLEAN and value not in BOOLEAN_CANONICAL:
        ctx.emit(
            RULES["GT112"].finding(
                layer.object,
                f"{opt.name}={value} is read as {canonical} by the Platform SDK, but native components document "
                "only 1 and 0",
                hint=f"write {opt.name}={canonical}",
                level=layer.level,
                option=opt.name,
            )
        )
    if opt.name == "sec-protocol":
        _check_protocol(ctx, layer, canonical)
    elif opt.name == "cipher-list":
        _check_ciphers(ctx, layer, value)
    return canonical


def _tls_outside_transport(ctx: LintContext, layer: _Layer, value: str) -> None:
    on = parse_boolean(value)
    if ctx.reading.value == "psdk":
        effect = (
            "the Platform SDK (this run's reading) applies it to every port of the server and every connection "
            "of the client that does not set tls itself; native components ignore it there"
        )
    else:
        effect = (
            "the documentation (this run's reading) and native components ignore it there; the Platform SDK "
            "would apply it to every port and connection of the application"
        )
    what = "" if on is None else (" (on)" if on else " (off)")
    ctx.emit(
        RULES["GT114"].finding(
            layer.object,
            f"tls={value}{what} is set in {layer.level.value}: {effect}",
            level=layer.level,
            option="tls",
        )
    )


def _check_protocol(ctx: LintContext, layer: _Layer, canonical: str) -> None:
    minimum, _ = protocol_range(canonical)
    if minimum < (1, 2):
        ctx.emit(
            RULES["GT210"].finding(
                layer.object,
                f"sec-protocol={canonical} allows TLS 1.1, deprecated by RFC 8996",
                level=layer.level,
                option="sec-protocol",
            )
        )


def _check_ciphers(ctx: LintContext, layer: _Layer, value: str) -> None:
    def check() -> str | None:
        # OpenSSL is the only judge of a cipher string: the one place lint reaches the TLS side (lazily).
        from .. import _policy

        try:
            _policy.check_cipher_list(value)
        except ConfigurationError as exc:
            return exc.reason
        except ValueError:  # ssl refuses a NUL character before OpenSSL sees the list
            return "cipher-list holds a NUL character, which OpenSSL cannot read"
        return None

    problem = ctx.memo(("cipher-list", value), check)
    if problem is not None:
        ctx.emit(
            RULES["GT211"].finding(
                layer.object, f"cipher-list {value!r}: {problem}", level=layer.level, option="cipher-list"
            )
        )


# --- file content at the level where the file is named ------------------------------------------------
