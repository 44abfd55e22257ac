"""Checks of client connections (GT2xx, GT3xx, GT4xx, GT5xx): each connection's effective settings, and
both ends of the link together: TLS on both sides, protocol ranges, Genesys support, the server's chain and
name as the client checks them, the client's chain as a mutual-TLS port checks it, and revocation both ways.

:func:`scan_connections` is the third scan of a lint run. Internal to lint: users call
:func:`genesys_tls.lint.lint`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from ..catalogue import Level, Source, parse_boolean, protocol_range
from ..errors import ConfigurationError
from ..model import DEFAULT_PORT_ID, Application, Connection
from ..resolve import Mode, ResolvedSecurity, resolve_client
from .context import LintContext
from .files import SideFiles, crl_untrusted, revocation, side_files, verify_chain
from .layers import connection_object
from .ports import (
    check_group,
    check_key,
    check_protocol_level,
    describe_where,
    level_object,
    offers_tls,
    where,
    why_secure,
)
from .rules import RULES

__all__ = ["scan_connections"]


def scan_connections(ctx: LintContext) -> None:
    """Every client connection: its effective settings, and both ends of the link together.

    Connections with the same inputs (the client's levels and Host, the connection's transport parameters,
    the target port's levels and Host, what the support data says of the two application types) are checked
    once when the check finds nothing (:meth:`~genesys_tls.lint.context.LintContext.shared`); the others are
    checked one by one."""
    env = ctx.env
    clean = ctx.clean
    targets: dict[tuple[str, str | None], tuple[int, str] | None] = {}
    numbers: dict[tuple[object, ...], int] = {}  # distinct inputs (of clients and of targets) -> a number
    pairs: dict[tuple[str, str], object] = {}  # (client type, server type) -> what the support check reads
    for app in env.applications.values():
        seen: set[tuple[str, str]] = set()
        client = _client_inputs(ctx, app, numbers)
        for conn in app.connections:
            target = (conn.server, conn.port_id or DEFAULT_PORT_ID)
            if target in seen:
                ctx.emit(
                    RULES["GT216"].finding(
                        connection_object(app, conn),
                        f"{app.name} has another connection to {conn.server} port {target[1]} before this one; "
                        "only the first is used and checked",
                        level=Level.CONNECTION.value,
                    )
                )
                continue
            seen.add(target)
            to = (conn.server, conn.port_id)
            server = targets[to] if to in targets else targets.setdefault(to, _target_inputs(ctx, to, numbers))
            key: tuple[object, ...] | None = None
            if client is not None and server is not None:
                pair = (app.type, server[1])
                support = pairs[pair] if pair in pairs else pairs.setdefault(pair, _support_inputs(ctx, *pair))
                key = (client, server[0], id(conn.transport), support)
                if key in clean:
                    ctx.shared_checks += 1
                    ctx.connections_resolved += 1
                    continue
            ctx.shared(key, connection_object(app, conn), Level.CONNECTION.value, _check_connection, ctx, app, conn)


def _client_inputs(ctx: LintContext, app: Application, known: dict[tuple[object, ...], int]) -> int | None:
    """A number for what a connection check reads of its client application (its levels and Host), the
    same for applications that differ only by name; ``None`` when that cannot be told (an unknown Host)."""
    try:
        host = ctx.env.host_of(app)
    except KeyError:
        return None
    inputs = ("client", ctx.inputs(app.security_options), ctx.inputs(app.security_annex), id(host))
    return known.setdefault(inputs, len(known))


def _target_inputs(
    ctx: LintContext, to: tuple[str, str | None], known: dict[tuple[object, ...], int]
) -> tuple[int, str] | None:
    """A number for what a connection check reads of its target (the server application's levels and Host,
    the connection's port id and the ports it reads), the same for targets that differ only by name, and the
    server's type; ``None`` when that cannot be told (an unknown server or Host)."""
    server, port_id = to
    server_app = ctx.env.applications.get(server)
    if server_app is None:
        return None
    try:
        host = ctx.env.host_of(server_app)
    except KeyError:
        return None
    ports = server_app.ports
    target = ports.get(port_id or DEFAULT_PORT_ID)
    default = ports.get(DEFAULT_PORT_ID)
    inputs = (
        "target",
        ctx.inputs(server_app.security_options),
        ctx.inputs(server_app.security_annex),
        id(host),
        port_id,
        None if target is None else (target.number, id(target.transport)),
        None if default is None else id(default.transport),
    )
    return known.setdefault(inputs, len(known)), server_app.type


def _support_inputs(ctx: LintContext, client_type: str, server_type: str) -> object:
    """What :func:`_check_support` reads of two application types: nothing more when the pair is supported
    (it reports nothing), else the types themselves."""
    from ..support import SupportStatus, support_for

    verdict = ctx.memo(("support", client_type, server_type), lambda: support_for(client_type, server_type))
    return SupportStatus.SUPPORTED if verdict.status is SupportStatus.SUPPORTED else (client_type, server_type)


def _check_connection(ctx: LintContext, app: Application, conn: Connection) -> None:
    server_app = ctx.env.applications[conn.server]
    port_id = conn.port_id or DEFAULT_PORT_ID
    _check_port_id_quirk(ctx, app, conn, server_app)
    try:
        res = ctx.count_client(lambda: resolve_client(ctx.env, app.name, conn.server, port_id, reading=ctx.reading))
    except ConfigurationError:
        return  # an invalid value where it is read: GT110 reports it where it is written
    srv = ctx.server(server_app.name, port_id) if port_id in server_app.ports else None
    offers, requires = offers_tls(srv) if srv is not None else (False, False)
    if srv is not None:
        _check_mismatch(ctx, res, srv, offers, requires)
    _check_tls_off(ctx, res)
    if not (res.tls or requires):
        return
    _check_support(ctx, app, server_app, res)
    if not res.tls:
        return
    check_key(ctx, res)
    check_group(ctx, res)
    check_protocol_level(ctx, res)
    if res.mode is Mode.ENCRYPTION_ONLY:
        obj, level = where(res, "client-auth")
        ctx.emit(
            RULES["GT208"].finding(
                obj,
                f"client-auth=0 at {level} of {obj}: the client does not authenticate the server (encryption "
                "only, open to a man in the middle)",
                level=level,
                option="client-auth",
            )
        )
    if res.mode is Mode.MUTUAL and not res.has_certificate:
        ctx.emit(
            RULES["GT205"].finding(
                res.object,
                f"{res.target.server if res.target else conn.server} port {port_id} requires a client certificate "
                f"(tls-mutual=1) but {app.name} has none (connection, application or host {res.host or '-'})",
                level=Level.CONNECTION.value,
                option="certificate",
            )
        )
    if srv is not None and offers:
        _check_protocols(ctx, res, srv)
        _check_link_files(ctx, res, srv)


def _check_port_id_quirk(ctx: LintContext, app: Application, conn: Connection, server_app: Application) -> None:
    if conn.port_id or DEFAULT_PORT_ID not in server_app.ports:
        return
    value = server_app.ports[DEFAULT_PORT_ID].transport.get("tls")
    if value is None or parse_boolean(value) is not True:
        return
    if ctx.reading.value == "psdk":
        effect = "this run's reading (psdk) resolves the connection as plain unless tls is set elsewhere"
    else:
        effect = "this run's reading (doc) resolves it as TLS, but a Platform SDK client connects in plain text"
    ctx.emit(
        RULES["GT213"].finding(
            connection_object(app, conn),
            f"the connection names no port id and {server_app.name}'s default port has tls={value}: the "
            f"Platform SDK does not see that the port is secure (it compares port ids); {effect}",
            level=Level.CONNECTION.value,
            option="tls",
        )
    )


def _check_mismatch(
    ctx: LintContext, res: ResolvedSecurity, srv: ResolvedSecurity, offers: bool, requires: bool
) -> None:
    if res.tls and not offers:
        message = (
            f"the client starts TLS (tls from {describe_where(res, 'tls')}) but port {srv.port_id} of "
            f"{srv.application} is plain"
        )
    elif not res.tls and requires:
        message = (
            f"the client connects in plain text but port {srv.port_id} of {srv.application} requires TLS "
            f"({why_secure(srv)})"
        )
        if srv["tls"].source is not Source.PORT:
            message += "; a client reads tls only from the port's own transport parameters"
    else:
        return
    ctx.emit(RULES["GT214"].finding(res.object, message, level=Level.CONNECTION.value, option="tls"))


def _check_tls_off(ctx: LintContext, res: ResolvedSecurity) -> None:
    tls = res["tls"]
    if tls.source is not Source.TARGET_PORT:
        return
    for lost in tls.shadowed:
        if lost.source is Source.TARGET_PORT or parse_boolean(lost.value) is not False:
            continue
        obj, level = level_object(res, lost.source, lost.object)
        ctx.emit(
            RULES["GT212"].finding(
                obj,
                f"tls={lost.value} at {level} of {obj} cannot turn TLS off: the target port "
                f"{res.target.server + '/' + res.target.port_id if res.target else ''} has tls=1",
                level=level,
                option="tls",
            )
        )
        return


def _check_support(ctx: LintContext, app: Application, server_app: Application, res: ResolvedSecurity) -> None:
    from ..support import SupportStatus, support_for

    verdict = ctx.memo(("support", app.type, server_app.type), lambda: support_for(app.type, server_app.type))
    if verdict.status is SupportStatus.SUPPORTED:
        return
    if verdict.status is SupportStatus.UNKNOWN_TYPE:
        for who, type_name, component in (
            (app, app.type, verdict.client_component),
            (server_app, server_app.type, verdict.server_component),
        ):
            if component is None:
                shown = f"type {type_name!r}" if type_name else "no type"
                ctx.emit(
                    RULES["GT503"].finding(
                        who.name,
                        f"{who.name} has {shown}, which the Supporting Components data does not know, so its "
                        "TLS connections cannot be checked against the list",
                    )
                )
        return
    pair = f"{app.name} ({app.type}) -> {server_app.name} ({server_app.type})"
    notes = "; ".join(verdict.notes)
    if verdict.status is SupportStatus.UNSUPPORTED:
        ctx.emit(
            RULES["GT501"].finding(
                res.object,
                f"TLS on {pair}: {notes}",
                level=Level.CONNECTION.value,
            )
        )
    else:
        ctx.emit(
            RULES["GT502"].finding(
                res.object,
                f"TLS on {pair} is a special case ({', '.join(verdict.kinds)}): {notes}",
                level=Level.CONNECTION.value,
            )
        )


def _check_protocols(ctx: LintContext, res: ResolvedSecurity, srv: ResolvedSecurity) -> None:
    client, server = res.sec_protocol, srv.sec_protocol
    if client == server:
        return
    c_min, c_max = protocol_range(client)
    s_min, s_max = protocol_range(server)
    low = max(c_min, s_min)
    highs = [m for m in (c_max, s_max) if m is not None]
    if highs and low > min(highs):
        ctx.emit(
            RULES["GT215"].finding(
                res.object,
                f"the client's sec-protocol={client or '(empty)'} ({describe_where(res, 'sec-protocol')}) and "
                f"the port's sec-protocol={server or '(empty)'} ({describe_where(srv, 'sec-protocol')}) share no "
                "TLS version",
                level=Level.CONNECTION.value,
                option="sec-protocol",
            )
        )


# --- both ends of a link: chains, names, revocation --------------------------------------------------------


def _check_link_files(ctx: LintContext, res: ResolvedSecurity, srv: ResolvedSecurity) -> None:
    server_side = side_files(ctx, srv)
    client_side = side_files(ctx, res)
    if res.authenticates_peer:
        _check_name_check(ctx, res)
        if not res.has_trusted_ca:
            ctx.emit(
                RULES["GT206"].finding(
                    res.application,
                    f"{res.application} authenticates the servers it connects to but has no trusted-ca "
                    f"(client-auth is {res['client-auth'].normalized}); it relies on a platform store",
                    option="trusted-ca",
                )
            )
        if server_side.chain is not None:
            anchors, anchors_key, what = client_side.trusted, client_side.trusted_key, "the client's trusted-ca"
            if not res.has_trusted_ca and not res.windows:
                anchors, anchors_key, what = _certifi(ctx), "certifi", "certifi (the client has no trusted-ca)"
            if anchors is not None and anchors_key is not None:
                _check_chain(ctx, res, server_side, anchors, anchors_key, f"the server certificate of {srv.object}",
                             what)
            _check_name(ctx, res, server_side.chain, server_side.chain_key)
            _check_revocation(ctx, res, server_side, client_side, f"{srv.object}'s certificate")
    if res.mode is Mode.MUTUAL and client_side.chain is not None:
        if server_side.trusted is not None and server_side.trusted_key is not None:
            _check_chain(ctx, res, client_side, server_side.trusted, server_side.trusted_key,
                         f"the client certificate of {res.application}", f"{srv.object}'s trusted-ca")
        _check_revocation(ctx, srv, client_side, server_side, f"{res.application}'s client certificate",
                          report_on=res.object)


def _certifi(ctx: LintContext) -> tuple[x509.Certificate, ...] | None:
    import certifi

    entry = ctx.files.certificates(Path(certifi.where()))
    return tuple(entry.value) if entry.value else None


def _check_name_check(ctx: LintContext, res: ResolvedSecurity) -> None:
    if res.checks_target_name:
        return
    obj, level = where(res, "tls-target-name-check")
    if level is None:
        obj = res.application
    value = res["tls-target-name-check"].value
    ctx.emit(
        RULES["GT209"].finding(
            obj,
            f"{res.application} does not check server names (tls-target-name-check={value}"
            f"{' by default' if level is None else ''}): any certificate its CAs issued is accepted for any server",
            level=level,
            option="tls-target-name-check",
        )
    )


def _check_chain(
    ctx: LintContext,
    res: ResolvedSecurity,
    presented: SideFiles,
    anchors: Sequence[x509.Certificate],
    anchors_key: str,
    what: str,
    against: str,
) -> None:
    assert presented.chain is not None  # noqa: S101 - callers check it
    chain = presented.chain
    reason = ctx.memo(("chain", presented.chain_key, anchors_key), lambda: verify_chain(chain, anchors))
    if reason is None:
        return
    files = ",".join(presented.chain_key)
    ctx.emit(
        RULES["GT309"].finding(
            res.object,
            f"{what} ({files}) does not verify against {against} ({anchors_key}): {reason}",
            level=Level.CONNECTION.value,
            option="trusted-ca",
        )
    )


def _check_name(
    ctx: LintContext, res: ResolvedSecurity, chain: Sequence[x509.Certificate], chain_key: tuple[str, ...]
) -> None:
    if not res.checks_target_name:
        return
    expected = res.expected_name
    if not expected:
        return
    from ..names import explain_target_name

    leaf = chain[0]
    match = ctx.memo(("name", chain_key, expected), lambda: explain_target_name(leaf, expected))
    if match.matched:
        return
    source = "tls-target-name" if res.target_name else "the server's Host name"
    ctx.emit(
        RULES["GT308"].finding(
            res.object,
            f"the client checks the name {expected!r} ({source}) and the server certificate {chain_key[0]} does "
            f"not match it: {match.reason} Presented: {', '.join(match.presented) or 'nothing'}",
            level=Level.CONNECTION.value,
            option="tls-target-name-check",
        )
    )


def _check_revocation(
    ctx: LintContext,
    verifier: ResolvedSecurity,
    presented: SideFiles,
    verifier_side: SideFiles,
    what: str,
    *,
    report_on: str | None = None,
) -> None:
    """Revocation of ``presented``'s leaf by the CRLs of ``verifier`` (the side that checks it)."""
    crl_path = verifier.crl_path
    if crl_path is None or presented.chain is None:
        return
    entry = ctx.files.crls(crl_path)
    signers = verifier_side.crl_signers
    if not entry.value or signers is None or verifier_side.trusted is None:
        return
    crl_obj, crl_level = where(verifier, "tls-crl")
    chain = presented.chain
    crls = entry.value
    verdict = ctx.memo(
        ("revocation", presented.chain_key, str(crl_path), signers[1]),
        lambda: revocation(crls, signers[0], crl_path, chain, verifier_side.trusted or ()),
    )
    if verdict is None:
        return
    kind, detail = verdict
    if kind == "untrusted":
        crl_untrusted(ctx, crl_obj, crl_level, crl_path, str(verifier_side.trusted_key), detail)
    elif kind == "revoked":
        ctx.emit(
            RULES["GT310"].finding(
                report_on or verifier.object,
                f"{what} ({','.join(presented.chain_key)}, serial {detail}) is revoked by {crl_path}",
                level=Level.CONNECTION.value,
                option="certificate",
            )
        )
    else:
        ctx.emit(
            RULES["GT405"].finding(
                crl_obj,
                f"tls-crl {crl_path} has no CRL from {detail}, which issued {what}: revocation checks of it fail "
                "(unable to get certificate CRL)",
                level=crl_level,
                option="tls-crl",
            )
        )

