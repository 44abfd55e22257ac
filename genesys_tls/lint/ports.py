"""Checks of one side's effective settings (GT2xx): a listening port, and the same checks for the client side
of a connection (:mod:`genesys_tls.lint.links` calls :func:`check_key`, :func:`check_group` and
:func:`check_protocol_level` too), with the helpers that say where a resolved value is written.

:func:`scan_ports` is the second scan of a lint run: every server port is resolved once
(:meth:`~genesys_tls.lint.context.LintContext.server`) and reused by the connection scan. Internal to lint:
users call :func:`genesys_tls.lint.lint`.
"""

from __future__ import annotations

from ..catalogue import CERTIFICATE_GROUP, Level, Source
from ..resolved import Mode, PortMode, ResolvedSecurity
from .context import LintContext
from .rules import RULES

__all__ = [
    "check_group",
    "check_key",
    "check_protocol_level",
    "describe_where",
    "level_object",
    "offers_tls",
    "scan_ports",
    "where",
    "why_secure",
]


def level_object(res: ResolvedSecurity, source: Source, obj: str | None) -> tuple[str, str | None]:
    """(object, level) of where a resolved value is written, in the objects lint reports."""
    if source in (Source.PORT, Source.CONNECTION):
        return res.object, source.value
    if source is Source.TARGET_PORT and res.target is not None:
        return f"{res.target.server}/{res.target.port_id}", Level.PORT.value
    if source is Source.HOST_ANNEX:
        return obj or res.host or res.object, source.value
    if source in (Source.APPLICATION_OPTIONS, Source.APPLICATION_ANNEX):
        return obj or res.application, source.value
    return res.object, None


def where(res: ResolvedSecurity, name: str) -> tuple[str, str | None]:
    """Where the value of ``name`` is written (the group's level for an unset group member)."""
    opt = res[name]
    if opt.source is Source.DEFAULT:
        if opt.group_level is not None:
            return level_object(res, opt.group_level, None)
        return res.object, None
    return level_object(res, opt.source, opt.object)


def describe_where(res: ResolvedSecurity, name: str) -> str:
    """Where option ``name`` of ``res`` was written, in words (``"port of App/secure"``)."""
    obj, level = where(res, name)
    return f"{level} of {obj}" if level else obj



def check_group(ctx: LintContext, res: ResolvedSecurity) -> None:
    """GT203: a member of the certificate group ignored because the group is taken whole from another level."""
    for member in CERTIFICATE_GROUP:
        opt = res[member]
        if opt.source is not Source.DEFAULT or opt.group_level is None or not opt.shadowed:
            continue
        group_obj, group_level = level_object(res, opt.group_level, None)
        lost = opt.shadowed[0]
        lost_obj, lost_level = level_object(res, lost.source, lost.object)
        ctx.emit(
            RULES["GT203"].finding(
                group_obj,
                f"the certificate group is taken from {group_level} of {group_obj}, which does not set {member}; "
                f"{member}={lost.value} at {lost_level} of {lost_obj} is ignored",
                hint=f"set {member} at {group_level} of {group_obj} too, or move the whole group to one level",
                level=group_level,
                option=member,
            )
        )


def check_protocol_level(ctx: LintContext, res: ResolvedSecurity) -> None:
    """GT204: sec-protocol set at another level than the certificate it protects."""
    proto, cert = res["sec-protocol"], res["certificate"]
    if not proto.is_set or not cert.is_set or (proto.source is cert.source and proto.object == cert.object):
        return
    obj, level = where(res, "sec-protocol")
    ctx.emit(
        RULES["GT204"].finding(
            obj,
            f"sec-protocol={proto.value} is set at {level} of {obj}, but the certificate at "
            f"{describe_where(res, 'certificate')}; Genesys requires them at the same level on one component",
            hint=f"move sec-protocol to {describe_where(res, 'certificate')}",
            level=level,
            option="sec-protocol",
        )
    )


def check_key(ctx: LintContext, res: ResolvedSecurity) -> None:
    """GT202: a certificate without a private key, neither in certificate-key nor in the certificate file."""
    if not res.has_certificate or res.has_key or res.certificate_in_store or not res.uses_pem_files:
        return
    first = res.certificate_paths[0]
    if ctx.files.certificates(first).value and ctx.files.holds_private_key(first):
        return  # the key is in the certificate file, where components look when certificate-key is unset
    obj, level = where(res, "certificate")
    ctx.emit(
        RULES["GT202"].finding(
            obj,
            f"certificate={res.certificate} at {level} of {obj} has no certificate-key at that level "
            "(UNIX and the PEM provider need the key file)",
            level=level,
            option="certificate-key",
        )
    )


def offers_tls(res: ResolvedSecurity) -> tuple[bool, bool]:
    """(offers TLS, requires TLS) for a server port: ``upgrade=1`` accepts TLS and plain clients."""
    mode = res.port_mode
    return mode is not PortMode.PLAIN, mode is PortMode.SECURE


# =========================================================================================== scan 2: ports


def scan_ports(ctx: LintContext) -> None:
    """Effective settings of every listening port (resolved once each, reused by the connection scan).

    Ports with the same inputs (their transport parameters, their application's levels and Host) are
    checked once when the check finds nothing (:meth:`~genesys_tls.lint.context.LintContext.shared`)."""
    env = ctx.env
    for app in env.applications.values():
        try:
            host = env.host_of(app)
        except KeyError:  # an unknown Host: names_rules reports it; each port is checked on its own
            own: tuple[object, ...] | None = None
        else:
            own = (ctx.inputs(app.security_options), ctx.inputs(app.security_annex), id(host))
        for port_id, port in app.ports.items():
            key = None if own is None else ("port", port_id, id(port.transport), own)
            if ctx.shared(key, f"{app.name}/{port_id}", Level.PORT.value, _check_port, ctx, app.name, port_id):
                ctx.port_known(app.name, port_id)


def _check_port(ctx: LintContext, app: str, port_id: str) -> None:
    res = ctx.server(app, port_id)
    if res is None:
        return
    offers, _ = offers_tls(res)
    if not offers:
        return
    if not res.has_certificate:
        ctx.emit(
            RULES["GT201"].finding(
                res.object,
                f"the port is secure ({why_secure(res)}) but none of its levels sets a certificate (the port, "
                f"{app}'s options and annex{f', host {res.host} annex' if res.host else ''})",
                level=Level.PORT.value,
                option="certificate",
            )
        )
    check_key(ctx, res)
    check_group(ctx, res)
    check_protocol_level(ctx, res)
    if res.mode is Mode.MUTUAL and not res.has_trusted_ca and not res.windows:
        obj, level = where(res, "trusted-ca")  # the certificate group's level, where trusted-ca belongs
        group = f" (its certificate group is at {level} of {obj})" if level else ""
        ctx.emit(
            RULES["GT207"].finding(
                obj,
                f"{res.object} requires client certificates (tls-mutual=1 at {describe_where(res, 'tls-mutual')}) "
                f"but has no trusted-ca to verify them{group}",
                level=level,
                option="trusted-ca",
            )
        )


def why_secure(res: ResolvedSecurity) -> str:
    """Why the port speaks TLS: the ``tls`` or ``upgrade`` value and where it was set."""
    if res.tls:
        return f"tls={res['tls'].value} set at {describe_where(res, 'tls')}"
    return f"upgrade={res['upgrade'].value} set at {describe_where(res, 'upgrade')}"


# =========================================================================================== scan 3: connections
