"""Lint checks of certificates named by Windows store thumbprint (hosts with ``os: windows`` and a ``store``).

The file checks of :mod:`genesys_tls.lint.rules` read PEM paths; here the same rules apply to the certificate a
thumbprint names in the host's store (:mod:`genesys_tls.material`), with the same codes:

* ``GT303`` (file-invalid): the store cannot be read, or the thumbprint names nothing in it (duplicate
  thumbprints, a PFX with a wrong or missing password, a store path that is not a folder or file);
* ``GT305`` / ``GT306`` / ``GT307``: the certificate has expired, expires within the window, is not yet valid;
* ``GT304`` (key-mismatch): the store holds no private key matching the own certificate;
* ``GT309`` (chain-untrusted) and ``GT308`` (name-mismatch): both ends of a link, where one end is named by
  thumbprint.

:func:`scan_stores` runs after the other scans (:func:`genesys_tls.lint.engine.lint`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cryptography import x509

from ..catalogue import Level
from ..errors import ConfigurationError
from ..material import store_entry, uses_store
from ..model import DEFAULT_PORT_ID
from ..names import match_target_name
from ..resolve import Mode, ResolvedSecurity, resolve_client
from .files import verify_chain
from .rules import RULES

if TYPE_CHECKING:
    from .context import LintContext

__all__ = ["scan_stores"]

_OPTIONS = ("certificate", "trusted-ca")


def _stored(res: ResolvedSecurity, option: str) -> bool:
    """A thumbprint on a host that has a store (without one, lint cannot see the certificate)."""
    return res.store is not None and uses_store(res, option)


def _when(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _where(res: ResolvedSecurity, option: str) -> tuple[str, str]:
    opt = res[option]
    return opt.object or res.object, res.level_of(option)


def _entry_chain(ctx: LintContext, res: ResolvedSecurity, option: str) -> tuple[x509.Certificate, ...] | None:
    """The certificate ``option`` names in the store (with the rest of its file for ``certificate``);
    ``None`` (and a GT303 finding) when the store cannot give it."""
    obj, level = _where(res, option)
    key = ("store-entry", res.host, option, res[option].value)
    try:
        entry = ctx.memo(key, lambda: store_entry(res, option))
    except ConfigurationError as exc:
        ctx.emit(RULES["GT303"].finding(obj, exc.reason, hint=f"valid: {exc.valid}" if exc.valid else None,
                                        level=level, option=option))
        return None
    if option == "trusted-ca":
        return (entry.certificate,)
    if not entry.has_key:
        ctx.emit(RULES["GT304"].finding(
            obj, f"the store of host {res.host} holds no private key for {entry.describe()} ({entry.source.name})",
            hint="export the certificate with its private key (Export-PfxCertificate), or name another "
            "thumbprint", level=level, option=option))
    return (entry.certificate, *entry.chain)


def _check_dates(ctx: LintContext, res: ResolvedSecurity, option: str, cert: x509.Certificate) -> None:
    obj, level = _where(res, option)
    who = f"the certificate with thumbprint {res[option].value} in the store of host {res.host}"
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if end < ctx.now:
        ctx.emit(RULES["GT305"].finding(obj, f"{who} expired on {_when(end)}", level=level, option=option))
    elif start > ctx.now:
        ctx.emit(RULES["GT307"].finding(obj, f"{who} is not valid before {_when(start)}", level=level,
                                        option=option))
    elif end - ctx.now <= datetime.timedelta(days=ctx.expiry_days):
        days = (end - ctx.now).days
        ctx.emit(RULES["GT306"].finding(
            obj, f"{who} expires on {_when(end)}, in {days} day{'s' if days != 1 else ''} (window: "
            f"{ctx.expiry_days} days)", level=level, option=option))


def _check_side(ctx: LintContext, res: ResolvedSecurity) -> None:
    for option in _OPTIONS:
        if _stored(res, option):
            chain = _entry_chain(ctx, res, option)
            if chain:
                _check_dates(ctx, res, option, chain[0])


def _material(ctx: LintContext, res: ResolvedSecurity, option: str) -> tuple[x509.Certificate, ...] | None:
    """What ``option`` names, from the store or from its PEM file (``None``: unset or unusable)."""
    if _stored(res, option):
        try:
            entry = ctx.memo(("store-entry", res.host, option, res[option].value), lambda: store_entry(res, option))
        except ConfigurationError:
            return None  # reported by _check_side
        return (entry.certificate,) if option == "trusted-ca" else (entry.certificate, *entry.chain)
    if not res[option].value or not res.uses_pem_files:
        return None
    try:
        paths = res.paths(option)
    except ConfigurationError:
        return None
    loaded = [ctx.files.certificates(p).value for p in paths]
    if not all(loaded):
        return None
    return tuple(c for certs in loaded for c in certs or ())


def _check_link(ctx: LintContext, client: ResolvedSecurity, server: ResolvedSecurity) -> None:
    stored = any(_stored(r, o) for r in (client, server) for o in _OPTIONS)
    if not stored or client.mode in (Mode.PLAIN, Mode.ENCRYPTION_ONLY):
        return
    server_chain = _material(ctx, server, "certificate")
    anchors = _material(ctx, client, "trusted-ca")
    name = client.expected_name if client.checks_target_name else None
    if server_chain and _stored(server, "certificate") and name and not match_target_name(server_chain[0], name):
        ctx.emit(RULES["GT308"].finding(
            client.object, f"the server certificate with thumbprint {server.certificate} (store of "
            f"host {server.host}) does not carry the name {name!r} that {client.application} checks",
            level=Level.CONNECTION.value, option="certificate"))
    links = [(server_chain, anchors, client, f"{server.object}'s certificate")]
    if client.requires_client_certificate:
        links.append((_material(ctx, client, "certificate"), _material(ctx, server, "trusted-ca"), server,
                      f"{client.application}'s client certificate"))
    for chain, trusted, checker, what in links:
        if not chain or not trusted:
            continue
        problem = verify_chain(chain, trusted)
        if problem is not None:
            ctx.emit(RULES["GT309"].finding(
                client.object, f"{what} does not chain to the trusted-ca of {checker.object}: {problem}",
                level=Level.CONNECTION.value, option="trusted-ca"))


def _links(ctx: LintContext) -> Iterator[tuple[ResolvedSecurity, ResolvedSecurity]]:
    for app in ctx.env.applications.values():
        for conn in app.connections:
            port_id = conn.port_id or DEFAULT_PORT_ID
            server_app = ctx.env.applications.get(conn.server)
            if server_app is None or port_id not in server_app.ports:
                continue
            server = ctx.server(conn.server, port_id)
            try:
                client = resolve_client(ctx.env, app.name, conn.server, port_id, reading=ctx.reading)
            except ConfigurationError:
                continue
            if server is not None:
                yield client, server


def scan_stores(ctx: LintContext) -> None:
    """The store checks of every port, connection and link whose certificates are named by thumbprint."""
    if not any(h.store is not None for h in ctx.env.hosts.values()):
        return
    for app in ctx.env.applications.values():
        for port_id in app.ports:
            res = ctx.server(app.name, port_id)
            if res is not None:
                ctx.guard(res.object, Level.PORT.value, _check_side, ctx, res)
    for client, server in _links(ctx):
        ctx.guard(client.object, Level.CONNECTION.value, _check_side, ctx, client)
        ctx.guard(client.object, Level.CONNECTION.value, _check_link, ctx, client, server)
