"""``doctor``: why a connection fails, and which option to change, at which level, on which object.

:func:`diagnose` makes the client's real handshake (against the configured address, ``address``, or a
simulated server built from the server's own settings in the same environment with ``simulate=True``), and
on failure :func:`explain` turns the failure category into :class:`Cause` objects in Genesys terms: the option,
the level (``source``) and the object that set it, what it holds, and the fix. It adds the static checks of
this one connection (the lint findings of the client, its Host, the connection, the target port, the server
and its Host).

:func:`explain` is the deciding part: it reads the resolved settings, the peer's certificate and the
certificate and CRL files (with :mod:`cryptography`, bounded reads) and imports neither :mod:`ssl` nor
sockets. The handshake itself, the simulated server and the unverified read of the peer's certificate live
in :mod:`genesys_tls.doctor_probe`, imported only when :func:`diagnose` runs.

Example::

    import genesys_tls as gt
    from genesys_tls.doctor import diagnose

    env = gt.load("environment.yaml")
    d = diagnose(env, "MyTLibClient", "TServer_SIP", "secure", simulate=True)
    print(d.ok, d.category)
    for cause in d.causes:
        print(cause.option, cause.source, cause.object, cause.message, cause.fix, sep="\\n  ")

Size: over 600 lines because it is one table of causes, a function per failure category (untrusted, name
mismatch, revoked, CRL, protocol, client certificate, connection), all reading the same resolved settings and
certificate helpers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509

from ._readers import read_certificates, read_crls
from ._suggest import did_you_mean
from .catalogue import CERTIFICATE_GROUP, Source
from .errors import Category, ConfigurationError
from .model import DEFAULT_PORT_ID, Application, Connection, Environment
from .resolve import Reading, ResolvedOption, ResolvedSecurity, resolve_client, resolve_server

if TYPE_CHECKING:
    from .lint import Finding

__all__ = [
    "AddressOrigin",
    "Cause",
    "Diagnosis",
    "PeerCertificate",
    "check_names",
    "connection_environment",
    "diagnose",
    "explain",
    "static_findings",
]

#: Categories whose explanation needs the certificate the server presents.
NEEDS_PEER = frozenset({
    Category.UNTRUSTED, Category.NAME_MISMATCH, Category.REVOKED, Category.EXPIRED, Category.NOT_YET_VALID,
    Category.CRL_UNAVAILABLE, Category.CRL_EXPIRED,
})
#: Words in a handshake detail that say the *peer* refused *our* certificate (an alert received).
_REFUSED = "refused our certificate"

_LEVEL_WORDS = {
    Source.PORT: "the transport parameters of the port",
    Source.CONNECTION: "the connection's transport parameters",
    Source.APPLICATION_OPTIONS: "the Application Options [security]",
    Source.APPLICATION_ANNEX: "the Application Annex [security]",
    Source.HOST_ANNEX: "the Host Annex [security]",
    Source.TARGET_PORT: "the target server's port",
}


# --------------------------------------------------------------------------------------------- results


@attrs.frozen
class Cause:
    """One reason a handshake failed, where it is configured, and what to change.

    Attributes:
        option: the option to look at (``trusted-ca``, ``tls-mutual``...; ``address`` for where it dialled).
        source: the level that set it (``port``, ``connection``, ``application-options``,
            ``application-annex``, ``host-annex``, ``target-port``, ``default``), or for ``address``:
            ``command-line``, ``simulated`` or ``environment``.
        object: the configuration object that set it (``None`` for a default or the command line).
        message: what is wrong, with the facts (certificate names, dates, files).
        fix: what to change, and where.
    """

    option: str
    source: str
    object: str | None
    message: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        """The ``doctor --json`` cause object."""
        return {
            "option": self.option, "source": self.source, "object": self.object, "message": self.message,
            "fix": self.fix,
        }


@attrs.frozen
class AddressOrigin:
    """Where the client dialled and why that address.

    Attributes:
        address: ``HOST:PORT`` dialled (``None`` when nothing was dialled).
        source: ``command-line`` (``--address``), ``simulated`` (``--simulate``) or ``environment``.
        text: one readable sentence (``Host tsrv-host ip 127.0.0.1 and port secure (7001) of TServer``).
    """

    address: str | None
    source: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The ``address`` member of ``doctor --json``: ``{address, source, from}``."""
        return {"address": self.address, "source": self.source, "from": self.text}


@attrs.frozen
class PeerCertificate:
    """The facts of one certificate that an explanation quotes.

    Attributes:
        subject, issuer: RFC 4514 names.
        names: the names a target-name check reads (``DNS:...``, ``IP:...``, ``CN:...``).
        serial: the serial number, hexadecimal.
        not_before, not_after: the validity window (UTC).
        where: where the facts came from (``presented by the server at ...``, a file name).
    """

    subject: str
    issuer: str
    names: tuple[str, ...]
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    where: str = ""

    @classmethod
    def from_certificate(cls, cert: x509.Certificate, where: str = "") -> PeerCertificate:
        """The facts of a :mod:`cryptography` certificate; ``where`` says where it came from."""
        from .names import explain_target_name

        # ``presented`` lists the names a target-name check reads, whatever the name asked for
        names = explain_target_name(cert, "invalid.invalid").presented
        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            names=names,
            serial=f"{cert.serial_number:X}",
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            where=where,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``peer`` member of ``doctor --json`` (dates as ``YYYY-MM-DD HH:MM UTC``)."""
        return {
            "subject": self.subject, "issuer": self.issuer, "names": list(self.names), "serial": self.serial,
            "not-before": _when(self.not_before), "not-after": _when(self.not_after), "from": self.where,
        }


@attrs.frozen
class Diagnosis:
    """What :func:`diagnose` found.

    Attributes:
        ok: the handshake succeeded and every check passed.
        category: the failure category (``None`` when ``ok``).
        causes: the causes, most direct first (empty when ``ok``).
        handshake: the handshake result, the ``connect --json`` object.
        connection: ``App -> Server/port``.
        address: where it dialled and why.
        findings: the static checks of this connection (lint findings), whatever the handshake did.
        peer: the certificate the server presented, when it was read.
    """

    ok: bool
    category: Category | None
    causes: tuple[Cause, ...]
    handshake: Mapping[str, Any]
    connection: str
    address: AddressOrigin
    findings: tuple[Finding, ...] = ()
    peer: PeerCertificate | None = None

    @property
    def exit_code(self) -> int:
        """0 when the handshake succeeded, 1 when it failed (with a diagnosis)."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """``{"ok", "category", "causes", "handshake"}`` plus ``connection``, ``address``, ``peer``,
        ``findings`` (the ``lint --json`` finding shape)."""
        return {
            "ok": self.ok,
            "category": self.category.value if self.category else None,
            "causes": [c.to_dict() for c in self.causes],
            "handshake": dict(self.handshake),
            "connection": self.connection,
            "address": self.address.to_dict(),
            "peer": self.peer.to_dict() if self.peer else None,
            "findings": [f.to_dict() for f in self.findings],
        }


# --------------------------------------------------------------------------------------------- names


def check_names(env: Environment, app: str, server: str, port_id: str | None) -> None:
    """Refuse an unknown application, server or connection with a "did you mean" (before resolving).

    Raises:
        ConfigurationError: naming what is unknown, the close names and the valid ones.
    """
    for name, what in ((app, "application"), (server, "server application")):
        if name not in env.applications:
            hint = did_you_mean(name, env.applications)
            raise ConfigurationError(
                f"unknown {what} {name!r}" + (f"; {hint}" if hint else ""),
                file=env.file, object=name, value=name, valid=_few(env.applications),
            )
    client = env.applications[app]
    conns = list(client.connections_to(server))
    if not conns:
        hint = did_you_mean(server, [c.server for c in client.connections])
        raise ConfigurationError(
            f"application {app} has no connection to {server}" + (f"; {hint}" if hint else ""),
            file=env.file, object=app, level="connection", value=server,
            valid=tuple(_conn_name(c) for c in client.connections) or "the application has no connections",
        )
    if port_id is not None and all((c.port_id or DEFAULT_PORT_ID) != port_id for c in conns):
        ids = [c.port_id or DEFAULT_PORT_ID for c in conns]
        hint = did_you_mean(port_id, ids)
        raise ConfigurationError(
            f"application {app} has no connection to {server} port {port_id!r}" + (f"; {hint}" if hint else ""),
            file=env.file, object=app, level="connection", value=f"{server}/{port_id}",
            valid=tuple(f"{server}/{i}" for i in ids),
        )


def _conn_name(conn: Connection) -> str:
    return f"{conn.server}/{conn.port_id or DEFAULT_PORT_ID}"


def _few(names: Iterable[str], limit: int = 20) -> tuple[str, ...] | str:
    listed = list(names)
    if not listed:
        return "none are defined"
    if len(listed) <= limit:
        return tuple(listed)
    return ", ".join(listed[:limit]) + f" ... ({len(listed)} in all)"


# --------------------------------------------------------------------------------------------- files


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _names(certs: Sequence[x509.Certificate]) -> str:
    return "; ".join(dict.fromkeys(c.subject.rfc4514_string() for c in certs)) or "no certificate"


# --------------------------------------------------------------------------------------------- wording


def _group_object(res: ResolvedSecurity, level: Source) -> str | None:
    for member in CERTIFICATE_GROUP:
        opt = res[member]
        if opt.source is level and opt.object is not None:
            return opt.object
    return None


def _origin(res: ResolvedSecurity, name: str) -> tuple[str, str | None]:
    """``(source, object)`` of an option: for an unset certificate-group member, the group's level."""
    opt = res[name]
    if opt.source is Source.DEFAULT and opt.group_level is not None:
        return opt.group_level.value, _group_object(res, opt.group_level)
    return opt.source.value, opt.object


def _where(res: ResolvedSecurity, name: str) -> str:
    """``the Host Annex [security] of client-host`` / ``not set at any level (default ...)``."""
    opt = res[name]
    if opt.source is Source.DEFAULT:
        if opt.group_level is not None:
            obj = _group_object(res, opt.group_level)
            return (
                f"not set in the certificate group, which comes whole from {_LEVEL_WORDS[opt.group_level]} of "
                f"{obj}"
            )
        default = opt.option.default
        return "not set at any level" + (f" (default {default!r})" if default not in (None, "") else "")
    port_id = res.port_id or (res.target.port_id if res.target is not None else None)
    text = f"{_level_words(opt.source, port_id)} of {opt.object}"
    if opt.source is Source.TARGET_PORT and opt.via is not None:
        text += f" (set at {_level_words(opt.via.source, port_id)} of {opt.via.object})"
    return text


def _level_words(source: Source, port_id: str | None) -> str:
    if source is Source.PORT and port_id:
        return f"the transport parameters of port {port_id}"
    return _LEVEL_WORDS.get(source, source.value)


def _shadowed(opt: ResolvedOption) -> str:
    if not opt.shadowed:
        return ""
    lost = "; ".join(f"{s.value!r} at {s.source.value} of {s.object}" for s in opt.shadowed)
    return f" (also set, but not used: {lost})"


def _cause(res: ResolvedSecurity, name: str, message: str, fix: str) -> Cause:
    source, obj = _origin(res, name)
    return Cause(name, source, obj, message, fix)


def _side_word(res: ResolvedSecurity) -> str:
    return "client" if res.target is not None else "server"


def _value(res: ResolvedSecurity, name: str) -> str:
    value = res[name].value
    return "(unset)" if value is None else repr(value)


def _certs_of(res: ResolvedSecurity, name: str) -> tuple[tuple[x509.Certificate, ...], str]:
    """The certificates of a file option and a note when they cannot be read."""
    try:
        path = res.path(name)
    except ConfigurationError as exc:
        return (), exc.reason
    if path is None:
        return (), ""
    got = read_certificates(path)
    if isinstance(got, str):
        return (), got
    return got, ""


def _own_leaf(res: ResolvedSecurity) -> PeerCertificate | None:
    certs, _ = _certs_of(res, "certificate")
    if not certs:
        return None
    return PeerCertificate.from_certificate(certs[0], where=str(res.path("certificate")))


# --------------------------------------------------------------------------------------------- explain


def explain(
    client: ResolvedSecurity,
    category: Category,
    detail: str,
    *,
    server: ResolvedSecurity | None = None,
    peer: x509.Certificate | None = None,
    address: AddressOrigin | None = None,
    now: dt.datetime | None = None,
) -> tuple[Cause, ...]:
    """The causes of a failed handshake in Genesys terms.

    Args:
        client: ``resolve_client(...)`` of the connection.
        category: the failure category of the handshake.
        detail: the handshake's detail (it tells whether the peer refused *our* certificate).
        server: the target port's settings in the same environment (``resolve_server``), when known.
        peer: the certificate the server presented, when it could be read.
        address: where the client dialled and why (for ``connection``).
        now: the moment dates are compared with (default: now).

    Returns:
        The causes, most direct first; never empty (an unexpected case gets one generic cause).
    """
    moment = now or dt.datetime.now(dt.UTC)
    facts = PeerCertificate.from_certificate(peer) if peer is not None else None
    refused = _REFUSED in detail
    handler = _EXPLAIN.get(category)
    causes: list[Cause] = []
    if handler is not None:
        causes = handler(_Case(client, server, facts, peer, detail, refused, address, moment))
    if not causes:
        causes = [Cause(
            "tls", *_origin(client, "tls"), f"the handshake failed ({category.value}): {detail}",
            "compare both sides with 'genesys-tls resolve' (--connection and --port) and 'genesys-tls lint'",
        )]
    return tuple(causes)


@attrs.frozen
class _Case:
    client: ResolvedSecurity
    server: ResolvedSecurity | None
    facts: PeerCertificate | None
    peer: x509.Certificate | None
    detail: str
    refused: bool
    address: AddressOrigin | None
    now: dt.datetime

    @property
    def server_name(self) -> str:
        t = self.client.target
        return f"{t.server}/{t.port_id}" if t is not None else "the server"

    def presented(self) -> str:
        if self.facts is None:
            return "the server's certificate (it could not be read)"
        return f"a certificate for {self.facts.subject} issued by {self.facts.issuer}"

    def server_certificate_cause(self, message: str, fix: str) -> Cause | None:
        if self.server is None:
            return None
        return _cause(
            self.server, "certificate",
            f"{message}; the server's certificate comes from {_where(self.server, 'certificate')} "
            f"({_value(self.server, 'certificate')})",
            fix,
        )


def _untrusted(case: _Case) -> list[Cause]:
    if case.refused:
        return _refused_by_server(case, "does not trust")
    c = case.client
    causes: list[Cause] = []
    cas, problem = _certs_of(c, "trusted-ca")
    issuer = case.facts.issuer if case.facts else "its CA"
    if c["trusted-ca"].value is None:
        message = (
            f"the server presents {case.presented()}; this client's trusted-ca is "
            f"{_where(c, 'trusted-ca')}, so the server is checked against the public CAs of the certifi bundle"
        )
        fix = f"set trusted-ca (a PEM file holding {issuer}) with the client's certificate group, or at the connection"
    else:
        holds = problem or f"which holds {_names(cas)}"
        message = (
            f"the server presents {case.presented()}; this client's trusted-ca comes from "
            f"{_where(c, 'trusted-ca')} ({c['trusted-ca'].value}), {holds}{_shadowed(c['trusted-ca'])}"
        )
        if case.facts is not None and any(ca.subject.rfc4514_string() == case.facts.issuer for ca in cas):
            message += (
                f"; a CA named {case.facts.issuer} is there but does not verify the server's chain (another key "
                "with the same name, or an intermediate missing from the server's certificate file)"
            )
        fix = (
            f"put the issuing CA ({issuer}) in {c['trusted-ca'].value}, or set trusted-ca at the connection "
            "to a file that holds it"
        )
    causes.append(_cause(c, "trusted-ca", message, fix))
    other = case.server_certificate_cause(
        f"the server presents {case.presented()}",
        "alternatively, give the server a certificate issued by a CA this client trusts",
    )
    if other is not None:
        causes.append(other)
    return causes


def _refused_by_server(case: _Case, verb: str, crl: bool = False) -> list[Cause]:
    """The server refused the client's certificate (an alert received by the client)."""
    c, s = case.client, case.server
    own = _own_leaf(c)
    own_text = (
        f"this client's certificate {own.subject} (issued by {own.issuer}, serial {own.serial}, valid "
        f"{_when(own.not_before)} to {_when(own.not_after)})" if own else "this client's certificate"
    )
    causes: list[Cause] = []
    if s is not None:
        option = "tls-crl" if crl else "trusted-ca"
        causes.append(_cause(
            s, option,
            f"the server {case.server_name} {verb} {own_text}: its {option} comes from {_where(s, option)} "
            f"({_value(s, option)}){_read_note(s, option)}",
            f"give the client a certificate the server accepts, or fix the server's {option} at "
            f"{_origin(s, option)[0]} of {_origin(s, option)[1] or case.server_name}",
        ))
    causes.append(_cause(
        c, "certificate",
        f"the server refused {own_text}; this client's certificate comes from {_where(c, 'certificate')} "
        f"({_value(c, 'certificate')}): {case.detail}",
        "issue the client a current certificate from a CA in the server's trusted-ca",
    ))
    return causes


def _read_note(res: ResolvedSecurity, name: str) -> str:
    if name == "trusted-ca":
        cas, problem = _certs_of(res, name)
        return f", which holds {_names(cas)}" if cas else (f": {problem}" if problem else "")
    return ""


def _name_mismatch(case: _Case) -> list[Cause]:
    c = case.client
    names = ", ".join(case.facts.names) if case.facts else "names that could not be read"
    expected = c.expected_name or "(no name)"
    causes: list[Cause] = []
    check = f"tls-target-name-check=host comes from {_where(c, 'tls-target-name-check')}"
    if c["tls-target-name"].value:
        causes.append(_cause(
            c, "tls-target-name",
            f"the client checks the name {expected!r} (tls-target-name from {_where(c, 'tls-target-name')}; "
            f"{check}), but the server's certificate holds {names}",
            f"set tls-target-name to a name the certificate holds ({names}), or give the server a certificate "
            f"with DNS:{expected}",
        ))
    else:
        host = c.target.host if c.target else None
        causes.append(_cause(
            c, "tls-target-name-check",
            f"{check}: the client checks the server's Host name {host!r} (tls-target-name is not set), but the "
            f"server's certificate holds {names}",
            f"give the server a certificate whose subjectAltName holds DNS:{host}, or set tls-target-name at "
            f"the connection to a name the certificate holds",
        ))
    other = case.server_certificate_cause(
        f"the server's certificate holds {names}",
        f"alternatively, reissue the server's certificate with DNS:{expected}",
    )
    if other is not None:
        causes.append(other)
    return causes


def _crl_facts(res: ResolvedSecurity) -> tuple[tuple[x509.CertificateRevocationList, ...], str]:
    try:
        path = res.path("tls-crl")
    except ConfigurationError as exc:
        return (), exc.reason
    if path is None:
        return (), "tls-crl is not set"
    got = read_crls(path)
    if isinstance(got, str):
        return (), got
    text = "; ".join(
        f"CRL of {crl.issuer.rfc4514_string()} (thisUpdate {_when(crl.last_update_utc)}, nextUpdate "
        f"{_when(crl.next_update_utc) if crl.next_update_utc else 'none'})"
        for crl in got
    )
    return got, f"{path} holds {text}"


def _revoked(case: _Case) -> list[Cause]:
    if case.refused:
        return _refused_by_server(case, "finds revoked", crl=True)
    c = case.client
    crls, text = _crl_facts(c)
    entry = ""
    if case.peer is not None:
        for crl in crls:
            if crl.issuer == case.peer.issuer:
                revoked = crl.get_revoked_certificate_by_serial_number(case.peer.serial_number)
                if revoked is not None:
                    entry = f" (revoked on {_when(revoked.revocation_date_utc)})"
    who = (
        f"the server's certificate {case.facts.subject} (serial {case.facts.serial})"
        if case.facts else "the server's certificate"
    )
    causes = [_cause(
        c, "tls-crl",
        f"{who} is revoked{entry} by the CRL that this client's tls-crl names ({_where(c, 'tls-crl')}): {text}",
        "give the server a new certificate (the revocation is meant to stay); remove the entry from the CRL "
        "only if the revocation was a mistake",
    )]
    other = case.server_certificate_cause(f"{who} is revoked", "issue the server a new certificate")
    if other is not None:
        causes.append(other)
    return causes


def _crl_expired(case: _Case) -> list[Cause]:
    c = case.client
    _, text = _crl_facts(c)
    return [_cause(
        c, "tls-crl",
        f"the CRL of this client's tls-crl ({_where(c, 'tls-crl')}) has expired: {text}",
        f"publish a current CRL at {c['tls-crl'].value} (the issuing CA signs a new one with a later "
        "nextUpdate), or point tls-crl at the current one",
    )]


def _crl_unavailable(case: _Case) -> list[Cause]:
    c = case.client
    _, text = _crl_facts(c)
    issuer = case.facts.issuer if case.facts else "the CA that issued the server's certificate"
    return [_cause(
        c, "tls-crl",
        f"no usable CRL for {issuer}: this client's tls-crl comes from {_where(c, 'tls-crl')}; {text}; "
        f"{case.detail}",
        f"add the CRL of {issuer}, signed by a CA in trusted-ca and current, to {c['tls-crl'].value} (the file "
        "may hold several CRLs)",
    )]


def _dates(case: _Case, expired: bool) -> list[Cause]:
    if case.refused:
        return _refused_by_server(case, "refuses the dates of")
    f = case.facts
    if f is None:
        when = "its validity window could not be read"
    elif expired:
        when = f"it expired on {_when(f.not_after)} (valid from {_when(f.not_before)})"
    else:
        when = f"it is valid only from {_when(f.not_before)} (until {_when(f.not_after)})"
    who = f"the server's certificate {f.subject} (serial {f.serial})" if f else "the server's certificate"
    fix = (
        "renew the server's certificate (same key or a new one) and point certificate at the new file"
        if expired else "use a certificate that is valid now, or correct the clock of the machine that issued it"
    )
    cause = case.server_certificate_cause(f"{who}: {when}", fix)
    if cause is None:
        # the server's own settings do not resolve (lint says where): name the target port
        cause = Cause("certificate", "target-port", case.server_name, f"{who}: {when}", fix)
    return [cause]


def _range(res: ResolvedSecurity) -> str:
    from .contexts import protocol_bounds  # ssl: only to name the range the runtime applies

    def name(version: Any) -> str:
        return str(version.name).replace("TLSv1_", "TLS 1.").replace("TLSv1", "TLS 1.0")

    try:
        low, high = protocol_bounds(res["sec-protocol"].normalized, legacy=res.legacy_protocols)
    except ConfigurationError as exc:
        return f"refused: {exc.reason}"
    if high is None:
        return f"{name(low)} or newer"
    return name(low) if low == high else f"{name(low)} to {name(high)}"


def _plain_port(case: _Case) -> Cause | None:
    """The target port is not a TLS port in the environment, but the client starts TLS."""
    c, s = case.client, case.server
    if s is None or s.tls:
        return None
    return _cause(
        s, "tls",
        f"the server's port {case.server_name} is not a TLS port (tls is {_where(s, 'tls')}) but this client "
        f"starts TLS (tls from {_where(c, 'tls')}): a plain port refuses a TLS ClientHello",
        "set tls=1 in the port's transport parameters, or turn TLS off for this connection",
    )


def _protocol(case: _Case) -> list[Cause]:
    c, s = case.client, case.server
    causes: list[Cause] = []
    plain = _plain_port(case)
    if plain is not None:
        return [plain]
    client_range = _range(c)
    causes.append(_cause(
        c, "sec-protocol",
        f"the client's sec-protocol is {_value(c, 'sec-protocol')} ({client_range}), from "
        f"{_where(c, 'sec-protocol')}{_shadowed(c['sec-protocol'])}",
        "set sec-protocol so that both sides share a protocol version ('' means TLS 1.2 or newer)",
    ))
    if s is not None:
        causes.append(_cause(
            s, "sec-protocol",
            f"the server's sec-protocol is {_value(s, 'sec-protocol')} ({_range(s)}), from "
            f"{_where(s, 'sec-protocol')}{_shadowed(s['sec-protocol'])}",
            "set the same sec-protocol on both sides, at the level that wins on each",
        ))
    for side in (c, s):
        if side is not None and side["cipher-list"].value:
            causes.append(_cause(
                side, "cipher-list",
                f"the {_side_word(side)}'s cipher-list is {_value(side, 'cipher-list')}, from "
                f"{_where(side, 'cipher-list')}: no cipher may be shared",
                "make both cipher-lists share a suite (openssl ciphers -v 'STRING' lists what one selects)",
            ))
    return causes


def _client_certificate_required(case: _Case) -> list[Cause]:
    c = case.client
    mutual = c["tls-mutual"]
    via = mutual.via
    source = via.source.value if via is not None else mutual.source.value
    obj = via.object if via is not None else mutual.object
    port_where = (
        f"{_level_words(via.source, c.target.port_id if c.target else None)} of {via.object}" if via is not None
        else _where(c, "tls-mutual")
    )
    causes = [Cause(
        "tls-mutual", source, obj,
        f"the target port {case.server_name} requires a client certificate: tls-mutual={mutual.value} comes "
        f"from {port_where}",
        "give this client a certificate (certificate and certificate-key in its certificate group), or set "
        "tls-mutual=0 on the port if clients need not be authenticated",
    )]
    cert = c["certificate"]
    if cert.value is None:
        lost = ""
        if cert.shadowed:
            lost = (
                "; a certificate is set at " + ", ".join(f"{s.source.value} of {s.object}" for s in cert.shadowed)
                + " but not used: the certificate group (certificate, certificate-key, trusted-ca) comes whole "
                "from the first level that sets any of its members"
            )
        causes.append(_cause(
            c, "certificate",
            f"this client has no certificate: certificate is {_where(c, 'certificate')}{lost}",
            "set certificate and certificate-key at the level the client's certificate group comes from "
            f"({_origin(c, 'certificate')[0]} of {_origin(c, 'certificate')[1] or c.application})",
        ))
    else:
        causes.append(_cause(
            c, "certificate",
            f"this client's certificate {cert.value!r} (from {_where(c, 'certificate')}) was not accepted as a "
            f"client certificate: {case.detail}",
            "check that the certificate and its key load (genesys-tls lint) and carry clientAuth",
        ))
    return causes


def _connection(case: _Case) -> list[Cause]:
    a = case.address
    where = a.address if a is not None else "the address"
    origin = a.text if a is not None else "the environment"
    c = case.client
    if a is not None and a.source == "command-line":
        fix = "check the address given with --address, or drop it to dial the configured one"
        obj = None
    else:
        t = c.target
        fix = (
            f"start {t.server if t else 'the server'} on that port, or correct the Host's ip and the port's "
            "number in the configuration; --address HOST:PORT tries another address (the name checked stays "
            f"{c.expected_name!r})"
        )
        obj = f"{t.server}/{t.port_id}" if t else None
    causes = [Cause(
        "address", a.source if a is not None else "environment", obj,
        f"nothing answered as a TLS server at {where} ({case.detail}); the address comes from {origin}", fix,
    )]
    plain = _plain_port(case) if "nothing listens" not in case.detail else None
    return [plain, *causes] if plain is not None else causes


def _not_a_genesys_link(case: _Case) -> list[Cause]:
    """Categories of the cloud probe and the SIP Endpoint listener, which a Genesys connection never gives."""
    return [Cause(
        "address", case.address.source if case.address is not None else "environment", None,
        f"the handshake failed ({case.detail}) in a way only the cloud probe "
        "(proxies) and the SIP Endpoint listener (address ranges, subject checks) report",
        "check what answers at this address: it is not a Genesys component's TLS port",
    )]


_EXPLAIN = {
    Category.UNTRUSTED: _untrusted,
    Category.NAME_MISMATCH: _name_mismatch,
    Category.REVOKED: _revoked,
    Category.CRL_EXPIRED: _crl_expired,
    Category.CRL_UNAVAILABLE: _crl_unavailable,
    Category.EXPIRED: lambda case: _dates(case, True),
    Category.NOT_YET_VALID: lambda case: _dates(case, False),
    Category.PROTOCOL: _protocol,
    Category.CLIENT_CERTIFICATE_REQUIRED: _client_certificate_required,
    Category.CONNECTION: _connection,
    **{c: _not_a_genesys_link for c in Category if c.value in (
        "proxy-authentication-required", "address-refused", "subject-mismatch")},
}


def explain_server_start(server: ResolvedSecurity, category: Category, detail: str) -> tuple[Cause, ...]:
    """Why a simulated server could not start with the port's own settings (``--simulate``)."""
    if category in (Category.CRL_EXPIRED, Category.CRL_UNAVAILABLE):
        _, text = _crl_facts(server)
        return (_cause(
            server, "tls-crl",
            f"the server {server.object} cannot start: its tls-crl (from {_where(server, 'tls-crl')}) is "
            f"refused: {detail}; {text}",
            f"publish a current CRL signed by a CA in the server's trusted-ca at {server['tls-crl'].value}",
        ),)
    return (Cause("tls", *_origin(server, "tls"), f"the server {server.object} cannot start: {detail}",
                  "fix the port's settings (genesys-tls resolve --port, genesys-tls lint)"),)


# --------------------------------------------------------------------------------------------- static checks


def connection_environment(env: Environment, app: str, server: str, port_id: str | None) -> Environment:
    """The part of ``env`` one connection involves: the client with only this connection, the server without
    its own connections, and their Hosts (what :func:`static_findings` lints)."""
    client = env.application(app)
    conn = env.connection(app, server, port_id)
    apps: dict[str, Application] = {app: attrs.evolve(client, connections=(conn,))}
    if server != app:
        apps[server] = attrs.evolve(env.application(server), connections=())
    else:
        apps[app] = attrs.evolve(client, connections=(conn,))
    hosts = {a.host: env.hosts[a.host] for a in apps.values() if a.host is not None}
    return Environment(hosts, apps, source=env.source, base_dir=env.base_dir)


def static_findings(
    env: Environment, app: str, server: str, port_id: str | None, *, reading: Reading | str = Reading.PSDK
) -> tuple[Finding, ...]:
    """The lint findings of one connection: its client, the server, their Hosts, the link, the port."""
    from .lint import lint

    return lint(connection_environment(env, app, server, port_id), reading=reading).findings


# --------------------------------------------------------------------------------------------- diagnose


def diagnose(
    env: Environment,
    app: str,
    server: str,
    port_id: str | None = None,
    *,
    address: str | tuple[str, int] | None = None,
    simulate: bool = False,
    timeout: float = 10.0,
    reading: Reading | str = Reading.PSDK,
    legacy_protocols: bool = False,
    password_env: str | None = None,
    crl_check: str = "leaf",
    lint: bool = True,
) -> Diagnosis:
    """Make the connection's handshake and explain its failure.

    Args:
        env: the environment.
        app: the client application.
        server: the server application the connection points to.
        port_id: which connection to that server (``None``: the first).
        address: dial this ``HOST:PORT`` instead of the configured address (never changes the name checked).
        simulate: start a simulated server on 127.0.0.1 (an ephemeral port) with the target port's own
            settings from ``env``, and dial it: works before anything is deployed.
        timeout: seconds for the connection and the handshake.
        reading, legacy_protocols, password_env, crl_check: as ``genesys-tls connect``.
        lint: add the static checks of this connection.

    Returns:
        The :class:`Diagnosis`; ``ok`` is the handshake's verdict.

    Raises:
        ConfigurationError: unknown names (with a "did you mean"), or settings that cannot make a client
            context at all (TLS off, a file that cannot be read...).
    """
    from . import doctor_probe

    if simulate and address is not None:
        raise ConfigurationError("give either an address or simulate, not both", option="address")
    check_names(env, app, server, port_id)
    client = resolve_client(env, app, server, port_id, reading=reading, legacy_protocols=legacy_protocols)
    target = client.target
    assert target is not None  # noqa: S101 - a client ResolvedSecurity has a target
    try:
        server_side: ResolvedSecurity | None = resolve_server(
            env, server, target.port_id, reading=reading, legacy_protocols=legacy_protocols
        )
    except ConfigurationError:
        server_side = None  # the server's own values are invalid: lint says where
    findings = static_findings(env, app, server, port_id, reading=reading) if lint else ()
    run = doctor_probe.run(
        env, client, address=address, simulate=simulate, timeout=timeout, reading=reading,
        password_env=password_env, crl_check=crl_check,
    )
    origin = run.origin
    if run.server_error is not None:
        category, detail = run.server_error
        assert server_side is not None  # noqa: S101 - the simulated server resolved it
        return Diagnosis(
            ok=False, category=category, causes=explain_server_start(server_side, category, detail),
            handshake={"ok": False, "protocol": None, "cipher": None, "peer": None, "checks": [],
                       "error": {"category": category.value, "detail": detail}},
            connection=client.object, address=origin, findings=findings,
        )
    result = run.result
    assert result is not None  # noqa: S101 - either a result or a server error
    if result.ok or result.error is None:
        return Diagnosis(True, None, (), result.to_dict(), client.object, origin, findings)
    category, detail = result.error
    peer = run.peer
    if peer is None and category in NEEDS_PEER and server_side is not None and simulate:
        certs, _ = _certs_of(server_side, "certificate")
        peer = certs[0] if certs else None
    causes = explain(client, category, detail, server=server_side, peer=peer, address=origin)
    facts = PeerCertificate.from_certificate(peer, where=run.peer_from) if peer is not None else None
    return Diagnosis(False, category, causes, result.to_dict(), client.object, origin, findings, facts)
