"""What a resolution did not use: everything written at the levels it read that the runtime ignores there.

:func:`ignored` lists, for one resolved connection or port (:class:`~genesys_tls.resolve.ResolvedSecurity`):

* transport-parameter diagnostics of the levels read (spaces, wrong case, duplicates, unknown names, pieces
  without ``=``, empty pieces and names; see :mod:`genesys_tls.transport`), the target server's port included
  on the client side, since the client reads ``tls`` there;
* options written where this side does not read them: a server-side option in the client's own
  configuration (the client takes it from the server's port), a client-side option on a server;
* options at a level the documentation does not name for them (the Platform SDK reads them there, native
  components may not), and ``tls`` outside transport parameters with the ``doc`` reading;
* names the runtime does not read as written: a ``[security]`` section spelled ``Security`` or ``securty``,
  an option with a look-alike character or close to a known one.

Each entry says whether nothing reads it (``effect: ignored``) or only the Platform SDK does
(``effect: psdk-only``), and which lint rule reports it. No I/O, no ``ssl``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from ._suggest import suggest
from ._text import redact
from .catalogue import CATALOGUE, OTHER_TRANSPORT_PARAMETERS, SECURITY_SECTION, Level, Side, Source
from .errors import closest
from .model import Environment, Sections
from .near_misses import normalized_name
from .resolved import Reading, ResolvedSecurity
from .transport import DiagnosticCode, TransportParameters, shown_piece

__all__ = ["Ignored", "ignored", "misspelt_security_section"]

#: The lint rule reporting each transport diagnostic.
TRANSPORT_RULES: Mapping[DiagnosticCode, str] = {
    DiagnosticCode.SPACE: "GT101",
    DiagnosticCode.CASE: "GT102",
    DiagnosticCode.DUPLICATE: "GT103",
    DiagnosticCode.UNKNOWN: "GT104",
    DiagnosticCode.NO_EQUALS: "GT105",
    DiagnosticCode.EMPTY_PIECE: "GT106",
    DiagnosticCode.EMPTY_KEY: "GT107",
}
#: How close a section name must be to ``security`` to be taken for a misspelling of it.
SECTION_CUTOFF = 0.75
#: How close an unknown ``[security]`` option must be to a TLS option to be listed (lint's GT113 too).
OPTION_CUTOFF = 0.8

_NORMALIZED = {normalized_name(name): name for name in CATALOGUE}
_TRANSPORT_NAMES = [*CATALOGUE, *OTHER_TRANSPORT_PARAMETERS]


@attrs.frozen
class Ignored:
    """One thing written at a level a resolution read, that the runtime does not use there.

    Attributes:
        kind: ``transport`` (a transport-parameter diagnostic), ``side`` (an option of the other end),
            ``level`` (a level the documentation does not name for the option, or not read in this reading)
            or ``name`` (a section or option name the runtime does not read as written).
        code: the diagnostic code (``space``, ``case``, ``duplicate``, ``unknown-key``, ``no-equals``,
            ``empty-piece``, ``empty-key``) or ``server-side-option``, ``client-side-option``,
            ``undocumented-level``, ``not-read-in-this-reading``, ``section-name``, ``option-name``.
        level: where it is written (``port``, ``connection``, ``application-options``,
            ``application-annex``, ``host-annex``, or ``target-port`` for the server's port on the client).
        object: the configuration object.
        option: the name as written (``None`` for a transport piece without a name).
        value: the value, or the transport piece as written.
        message: one sentence: what the runtime does with it.
        effect: ``ignored`` (nothing reads it here) or ``psdk-only`` (only the Platform SDK does).
        rule: the lint rule that reports it.
        suggestions: the names it probably meant.
        position: for transport diagnostics, the 0-based character offset of the piece.
    """

    kind: str
    code: str
    level: str
    object: str
    option: str | None
    value: str | None
    message: str
    effect: str = "ignored"
    rule: str = ""
    suggestions: tuple[str, ...] = ()
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``resolve --json``'s ``ignored`` items)."""
        out: dict[str, Any] = {
            "kind": self.kind, "code": self.code, "level": self.level, "object": self.object,
            "option": self.option, "value": self.value, "message": self.message, "effect": self.effect,
            "rule": self.rule,
        }
        if self.suggestions:
            out["suggestions"] = list(self.suggestions)
        if self.position is not None:
            out["position"] = self.position
        return out


def misspelt_security_section(section: str, options: Mapping[str, str]) -> bool:
    """A section that is not ``security`` but reads as a misspelling of it (``securty``, ``secuirty``) and
    holds TLS option names. Look-alikes (``Security``, ``security `` ) are not misspellings:
    :func:`genesys_tls.near_misses.near_misses` reports those."""
    if section == SECURITY_SECTION or normalized_name(section) == SECURITY_SECTION:
        return False
    if not suggest(normalized_name(section), [SECURITY_SECTION], cutoff=SECTION_CUTOFF):
        return False
    return any(option in CATALOGUE or normalized_name(option) in _NORMALIZED for option in options)


def intended_option(name: str) -> str | None:
    """The TLS option a name stands for: itself, or the option it only looks like (case, look-alikes)."""
    return name if name in CATALOGUE else _NORMALIZED.get(normalized_name(name))


# ------------------------------------------------------------------------------------------- levels


@attrs.frozen
class _Level:
    source: Source
    object: str
    sections: Sections | None = None  # Options / Annex levels
    transport: TransportParameters | None = None  # Port / Connection levels


def _levels(env: Environment, res: ResolvedSecurity) -> Iterator[_Level]:
    app = env.application(res.application)
    if res.target is not None:
        conn = env.connection(app.name, res.target.server, res.target.port_id)
        yield _Level(Source.CONNECTION, app.name, transport=conn.transport)
    else:
        yield _Level(Source.PORT, app.name, transport=app.port(res.port_id or "").transport)
    yield _Level(Source.APPLICATION_OPTIONS, app.name, sections=app.options)
    yield _Level(Source.APPLICATION_ANNEX, app.name, sections=app.annex)
    host = env.host_of(app)
    if host is not None:
        yield _Level(Source.HOST_ANNEX, host.name, sections=host.annex)
    if res.target is not None:
        server = env.applications.get(res.target.server)
        port = server.ports.get(res.target.port_id) if server is not None else None
        if server is not None and port is not None:
            yield _Level(Source.TARGET_PORT, server.name, transport=port.transport)


def ignored(env: Environment, res: ResolvedSecurity) -> tuple[Ignored, ...]:
    """Everything written at the levels ``res`` was resolved from that the runtime does not use there.

    Args:
        env: the environment ``res`` was resolved from.
        res: a resolved connection or port (:func:`genesys_tls.resolve_client` / ``resolve_server``).

    Example:
        >>> from genesys_tls import loads, resolve_server
        >>> env = loads("applications: {S: {ports: {p: {port: 7001, transport: 'tls=1; TLS=1'}}}}")
        >>> [(i.code, i.option) for i in ignored(env, resolve_server(env, "S", "p"))]
        [('space', ' TLS')]
    """
    out: list[Ignored] = []
    for level in _levels(env, res):
        if level.transport is not None:
            out += _transport(level, level.transport)
            if level.source is not Source.TARGET_PORT:
                out += _options(res, level, level.transport)
        if level.sections is not None:
            security = level.sections.get(SECURITY_SECTION, {})
            out += _options(res, level, security)
            out += _names(level, level.sections)
    return tuple(out)


def _transport(level: _Level, params: TransportParameters) -> Iterator[Ignored]:
    for diag in params.diagnostics:
        suggestions: tuple[str, ...] = ()
        if diag.code is DiagnosticCode.CASE and diag.key:
            suggestions = (diag.key.lower(),)
        elif diag.code is DiagnosticCode.UNKNOWN and diag.key:
            suggestions = closest(diag.key.strip(), _TRANSPORT_NAMES, n=1)
        yield Ignored(
            "transport", diag.code.value, level.source.value, level.object, diag.key, shown_piece(diag.piece),
            params.locate(diag),
            rule=TRANSPORT_RULES[diag.code], suggestions=suggestions, position=diag.position,
        )


def _options(res: ResolvedSecurity, level: _Level, values: Mapping[str, str]) -> Iterator[Ignored]:
    client = res.side is Side.CLIENT
    at = Level(level.source.value)
    for name, value in values.items():
        opt = CATALOGUE.get(name)
        if opt is None:
            continue
        where = level.source.value
        if client and opt.side is Side.SERVER:
            yield Ignored(
                "side", "server-side-option", where, level.object, name, value,
                f"{name} governs the server end: a client takes it from the target server's port, never from its "
                f"own {where}", rule="GT111" if at not in opt.levels else "",
            )
            continue
        if not client and opt.side is Side.CLIENT:
            yield Ignored(
                "side", "client-side-option", where, level.object, name, value,
                f"{name} governs clients: this listening port does not use it (the application's own client "
                "connections may)", rule="GT111" if at not in opt.levels else "",
            )
            continue
        if at in opt.levels:
            continue
        if opt.name == "tls" and level.sections is not None:
            if res.reading is Reading.DOC:
                yield Ignored(
                    "level", "not-read-in-this-reading", where, level.object, name, value,
                    f"tls in {where} is not read with the doc reading (native components read tls only in "
                    "transport parameters)", rule="GT114",
                )
            else:
                yield Ignored(
                    "level", "undocumented-level", where, level.object, name, value,
                    f"tls in {where}: the Platform SDK applies it; native components read tls only in transport "
                    "parameters", effect="psdk-only", rule="GT114",
                )
            continue
        documented = ", ".join(lv.value for lv in Level if lv in opt.levels)
        yield Ignored(
            "level", "undocumented-level", where, level.object, name, value,
            f"{name} at {where}, which the documentation does not name for it (documented: {documented}): the "
            "Platform SDK reads it, native components may not", effect="psdk-only", rule="GT111",
        )


def _names(level: _Level, sections: Sections) -> Iterator[Ignored]:
    where = level.source.value
    for section, options in sections.items():
        if section == SECURITY_SECTION:
            for name, value in options.items():
                if name in CATALOGUE or name in OTHER_TRANSPORT_PARAMETERS:
                    continue
                meant = intended_option(name)
                close = (meant,) if meant else suggest(name, CATALOGUE, limit=1, cutoff=OPTION_CUTOFF)
                if close:
                    yield Ignored(
                        "name", "option-name", where, level.object, name, redact(value, name=name),
                        f"[{SECURITY_SECTION}] {name!r} is not a TLS option the runtime reads; did you mean "
                        f"{close[0]!r}?", rule="GT115" if meant and name.strip().lower() != meant else "GT113",
                        suggestions=close,
                    )
            continue
        look_alike = normalized_name(section) == SECURITY_SECTION
        if not look_alike and not misspelt_security_section(section, options):
            continue
        for name, value in options.items():
            meant = intended_option(name)
            if meant is None:
                continue
            yield Ignored(
                "name", "section-name", where, level.object, name, redact(value, name=name),
                f"{meant} is in section [{section}], which the runtime does not read as [{SECURITY_SECTION}]"
                f"{' (names are matched exactly)' if look_alike else f' (did you mean {SECURITY_SECTION!r}?)'}",
                rule="GT115", suggestions=(SECURITY_SECTION,),
            )
