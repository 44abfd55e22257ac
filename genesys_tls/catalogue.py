"""The option catalogue: the one table of Genesys ``[security]`` options.

Every stage reads it: validation (:meth:`Option.check`), the resolver (which options exist, their defaults,
the certificate group), transport-parameter diagnostics (which keys are known), lint, the CLI help and the
docs' option reference (``docs/options.md`` is :func:`render_reference`, checked current by a test).

Names, values and levels follow the Genesys Security Deployment Guide and the Platform SDK; see
``docs/options.md`` and ``docs/precedence.md`` for the sources and for the choices made where they are silent.

Size: over 600 lines because most of it is the option table itself (data, one entry per option).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TypeAlias

import attrs

from .errors import ConfigurationError, closest

__all__ = [
    "BOOLEAN_CANONICAL",
    "CATALOGUE",
    "CERTIFICATE_GROUP",
    "FILE_PROVIDER",
    "KEYSTORE_PROVIDER",
    "OTHER_TRANSPORT_PARAMETERS",
    "SECURITY_SECTION",
    "STORE_PROVIDER",
    "TARGET_NAME_CHECK_ON",
    "Kind",
    "Level",
    "Option",
    "Side",
    "Source",
    "is_thumbprint",
    "normalize_thumbprint",
    "option",
    "parse_boolean",
    "render_reference",
]

#: The section of Application Options, Application Annex and Host Annex that holds TLS options.
SECURITY_SECTION = "security"


class Level(enum.StrEnum):
    """Where an option can be written in Configuration Server."""

    PORT = "port"  #: a server Port's transport parameters
    CONNECTION = "connection"  #: a client Connection's transport parameters
    APPLICATION_OPTIONS = "application-options"  #: Application Options, section [security]
    APPLICATION_ANNEX = "application-annex"  #: Application Annex, section [security]
    HOST_ANNEX = "host-annex"  #: the application's own Host Annex, section [security]


class Source(enum.StrEnum):
    """Where a resolved value came from: a :class:`Level`, the target server's port, or the default."""

    PORT = "port"
    CONNECTION = "connection"
    APPLICATION_OPTIONS = "application-options"
    APPLICATION_ANNEX = "application-annex"
    HOST_ANNEX = "host-annex"
    TARGET_PORT = "target-port"
    DEFAULT = "default"


class Side(enum.StrEnum):
    """Which end of a connection an option governs."""

    CLIENT = "client"
    SERVER = "server"
    BOTH = "both"


class Kind(enum.StrEnum):
    """The shape of an option's value."""

    BOOLEAN = "boolean"
    CHOICE = "choice"
    CERTIFICATE = "certificate"  #: PEM path, comma-separated chain, or (Windows) thumbprint
    KEY = "key"  #: PEM path
    TRUST = "trust"  #: PEM path with one or more CAs, or (Windows / MSCAPI) thumbprint
    CRL = "crl"  #: PEM or DER CRL file path
    NAME = "name"  #: a DNS name or an IP address
    CIPHERS = "ciphers"  #: an OpenSSL cipher string


ALL_LEVELS = frozenset(Level)
APP_HOST = frozenset({Level.APPLICATION_OPTIONS, Level.APPLICATION_ANNEX, Level.HOST_ANNEX})

#: The canonical boolean values (native components document only these; the PSDK reads more spellings).
BOOLEAN_CANONICAL = ("1", "0")
#: The ``tls-target-name-check`` value that turns the check on.
TARGET_NAME_CHECK_ON = "host"
#: The ``provider`` whose certificate values are PEM files.
FILE_PROVIDER = "PEM"
#: The ``provider`` whose ``certificate`` / ``trusted-ca`` values are Java keystore files (PKCS12-type are read).
KEYSTORE_PROVIDER = "JKS"
#: The ``provider`` of Windows Certificate Services: ``certificate`` / ``trusted-ca`` are store thumbprints.
STORE_PROVIDER = "MSCAPI"

#: PSDK ``ConfigurationUtil.isTrue`` / ``isFalse`` spellings (compared case-insensitively).
_TRUE = ("1", "on", "yes", "true")
_FALSE = ("0", "off", "no", "false")

_HEX40 = re.compile(r"[0-9A-Fa-f]{40}")
# Separators people write between the digits, and the invisible left-to-right mark (and its kin) that the
# Windows certificate dialog copies before the thumbprint.
_THUMBPRINT_NOISE = re.compile(r"[\s:\u200e\u200f\ufeff]")
_NAME = re.compile(r"^[A-Za-z0-9*_.:\[\]-]+$")


def parse_boolean(value: str) -> bool | None:
    """The PSDK reading of a boolean: True, False, or None when the text is neither.

    >>> parse_boolean("Yes"), parse_boolean("0"), parse_boolean(" 1")
    (True, False, None)
    """
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return None


def normalize_thumbprint(value: str) -> str | None:
    """``value`` as a thumbprint (upper case, spaces, colons and invisible marks removed), ``None`` when it is
    not 40 ASCII hex digits (a look-alike such as the ligature U+FB00, which upper-cases to ``FF``, is
    not one)."""
    text = _THUMBPRINT_NOISE.sub("", value)
    return text.upper() if _HEX40.fullmatch(text) else None


def is_thumbprint(value: str) -> bool:
    """Whether a value is a Windows certificate thumbprint (SHA-1: 40 hex digits, any case, spaces, colons and
    invisible marks allowed): the one rule, :func:`normalize_thumbprint`, the store look-ups use too."""
    return normalize_thumbprint(value) is not None


@attrs.frozen
class Option:
    """One ``[security]`` option: where it may be set, what it accepts, what it defaults to.

    Users do not build these; read them from :data:`CATALOGUE`.

    Attributes:
        name: the option name exactly as Genesys spells it.
        kind: the shape of the value.
        side: which end of the connection it governs.
        levels: the levels where the Genesys documentation says it may be set. The Platform SDK reads
            every option at every level; a value at another level is honoured but reported by lint.
        default: the value when nothing sets it (``None``: unset, nothing is used).
        description: one line for docs and CLI help.
        values: for booleans and choices, the accepted spellings.
        canonical: spelling -> canonical value, for choices with several spellings.
        rejected: known values that are refused, with the reason.
        legacy: values accepted only when the caller opts into legacy protocols, with the reason.
        group: member of the certificate group (taken whole from one level).
        empty_ok: whether ``option=`` (present but empty) is a valid value.
        psdk_only: only Platform SDK (Java/.NET) components read it.
        source: where the facts come from.
    """

    name: str
    kind: Kind
    side: Side
    levels: frozenset[Level]
    default: str | None
    description: str
    values: tuple[str, ...] = ()
    canonical: Mapping[str, str] = attrs.field(factory=dict)
    rejected: Mapping[str, str] = attrs.field(factory=dict)
    legacy: Mapping[str, str] = attrs.field(factory=dict)
    group: bool = False
    empty_ok: bool = False
    psdk_only: bool = False
    source: str = ""

    @property
    def is_path(self) -> bool:
        """Whether the value names files (relative paths resolve against the environment file's folder)."""
        return self.kind in (Kind.CERTIFICATE, Kind.KEY, Kind.TRUST, Kind.CRL)

    def valid_values(self) -> tuple[str, ...]:
        """The spellings that are valid, for messages and docs (empty for free-form kinds)."""
        if self.kind is Kind.BOOLEAN:
            return (*BOOLEAN_CANONICAL, *(v for v in (*_TRUE, *_FALSE) if v not in BOOLEAN_CANONICAL))
        return self.values

    def valid_text(self) -> str:
        """The valid values as one short phrase for messages."""
        if self.kind is Kind.BOOLEAN:
            return "1 or 0 (the Platform SDK also reads on/off, yes/no, true/false, any case)"
        if self.values:
            return ", ".join(repr(v) for v in self.values)
        return _FREE_FORM[self.kind]

    def check(
        self, value: str, *, windows: bool = False, legacy_protocols: bool = False
    ) -> str:
        """Validate ``value`` and return its canonical form.

        Args:
            value: the text as written in Configuration Server.
            windows: the application's Host is a Windows host (thumbprints are then valid certificates).
            legacy_protocols: the caller opted into legacy protocols (``sec-protocol=TLSv1``).

        Returns:
            the canonical value: ``"1"``/``"0"`` for booleans, the canonical spelling for choices, the
            value unchanged otherwise.

        Raises:
            ConfigurationError: the value is not valid; it names the option, the value and the valid ones
                (the caller adds the file, object and level with :meth:`ConfigurationError.located`).
        """
        if value == "" and not self.empty_ok:
            raise ConfigurationError(
                f"{self.name} is present but empty (write a value, or remove the option to use "
                f"{'the default' if self.default is not None else 'nothing'})",
                option=self.name,
                value=value,
                valid=self.valid_text(),
            )
        if self.kind is Kind.BOOLEAN:
            parsed = parse_boolean(value)
            if parsed is None:
                raise ConfigurationError(
                    f"{self.name} is not a boolean (the Platform SDK would read it as off, "
                    "silently)",
                    option=self.name,
                    value=value,
                    valid=self.valid_text(),
                )
            return "1" if parsed else "0"
        if value in self.rejected:
            raise ConfigurationError(
                f"{self.name}={value} is refused: {self.rejected[value]}",
                option=self.name,
                value=value,
                valid=self.valid_text(),
            )
        if value in self.legacy:
            if legacy_protocols:
                return self.canonical.get(value, value)
            raise ConfigurationError(
                f"{self.name}={value} is refused: {self.legacy[value]} "
                "(opt into legacy protocols explicitly to allow it)",
                option=self.name,
                value=value,
                valid=self.valid_text(),
            )
        if self.kind is Kind.CHOICE:
            if self.name == "provider":
                upper = value.upper()
                if upper in self.values:
                    return upper
            elif value in self.canonical:
                return self.canonical[value]
            elif value in self.values:
                return value
            raise ConfigurationError(
                f"{self.name} has an unknown value",
                option=self.name,
                value=value,
                valid=self.valid_text(),
            )
        _FREE_FORM_CHECKS[self.kind](self, value, windows)
        return value


def _check_certificate(opt: Option, value: str, windows: bool) -> None:
    if is_thumbprint(value):
        if not windows:
            raise ConfigurationError(
                f"{opt.name} looks like a Windows certificate thumbprint, but the host is not a "
                "Windows host (os: windows); UNIX components need a PEM file path",
                option=opt.name,
                value=value,
                valid=_FREE_FORM[opt.kind],
            )
        return
    parts = value.split(",") if opt.kind is Kind.CERTIFICATE else [value]
    for part in parts:
        if not part.strip():
            raise ConfigurationError(
                f"{opt.name} has an empty file name in its list",
                option=opt.name,
                value=value,
                valid=_FREE_FORM[opt.kind],
            )


def _check_path(opt: Option, value: str, windows: bool) -> None:
    if not value.strip():
        raise ConfigurationError(
            f"{opt.name} is blank", option=opt.name, value=value, valid=_FREE_FORM[opt.kind]
        )


def _check_name(opt: Option, value: str, windows: bool) -> None:
    if value and not _NAME.match(value):
        raise ConfigurationError(
            f"{opt.name} is not a host name or an IP address",
            option=opt.name,
            value=value,
            valid=_FREE_FORM[opt.kind],
        )


def _check_ciphers(opt: Option, value: str, windows: bool) -> None:
    # The cipher string itself is checked by OpenSSL when a context is built (contexts.py): only
    # OpenSSL knows which names it accepts. Here only the shape.
    if not value.strip():
        raise ConfigurationError(
            f"{opt.name} is blank", option=opt.name, value=value, valid=_FREE_FORM[opt.kind]
        )


_FREE_FORM: dict[Kind, str] = {
    Kind.CERTIFICATE: "a PEM file path, or a comma-separated chain leaf first (Windows hosts: a thumbprint of "
    "the host's store)",
    Kind.KEY: "a PEM private key file path (PKCS#1, PKCS#8 or SEC1)",
    Kind.TRUST: "a PEM file path holding one or more CA certificates (Windows hosts: a thumbprint of the host's "
    "trusted roots)",
    Kind.CRL: "a CRL file path (PEM or DER, one or several CRLs)",
    Kind.NAME: "a DNS name or an IP address",
    Kind.CIPHERS: "an OpenSSL cipher string, such as 'ECDHE+AESGCM:!aNULL'",
}
_FREE_FORM_CHECKS: dict[Kind, Callable[[Option, str, bool], None]] = {
    Kind.CERTIFICATE: _check_certificate,
    Kind.TRUST: _check_certificate,
    Kind.KEY: _check_path,
    Kind.CRL: _check_path,
    Kind.NAME: _check_name,
    Kind.CIPHERS: _check_ciphers,
}

_SEC_PROTOCOL_CANONICAL = {
    "": "",
    "SSLv23": "SSLv23",
    "TLSv11": "TLSv11",
    "TLSv1.1": "TLSv11",
    "TLSv12": "TLSv12",
    "TLSv1.2": "TLSv12",
    "TLSv13": "TLSv13",
    "TLSv1.3": "TLSv13",
    "TLSv1": "TLSv1",
    "TLSv1.0": "TLSv1",
    "TLSv10": "TLSv1",
}

_OPTIONS: tuple[Option, ...] = (
    Option(
        "tls",
        Kind.BOOLEAN,
        Side.BOTH,
        frozenset({Level.PORT, Level.CONNECTION}),
        "0",
        "Turns TLS on: on a server Port the port is secure; on a client Connection TLS starts at once.",
        source="SDG TLS configuration; PSDK ConfigurationUtil/GConfigTlsPropertyReader",
    ),
    Option(
        "tls-mutual",
        Kind.BOOLEAN,
        Side.SERVER,
        frozenset({Level.PORT, *APP_HOST}),
        "0",
        "The server asks for and requires a client certificate (mutual TLS).",
        source="SDG Introduction to Genesys TLS (tls-mutual: default 0, valid 0, 1)",
    ),
    Option(
        "client-auth",
        Kind.BOOLEAN,
        Side.CLIENT,
        frozenset({Level.CONNECTION, *APP_HOST}),
        "1",
        "0 = encryption only: the client does not authenticate the server (pre-8.1.3 behaviour).",
        source="SDG Introduction to Genesys TLS, Evolution of Genesys TLS",
    ),
    Option(
        "certificate",
        Kind.CERTIFICATE,
        Side.BOTH,
        ALL_LEVELS,
        None,
        "Own certificate: PEM path or a comma-separated chain leaf first (Windows: SHA-1 thumbprint in the "
        "host's store; provider=JKS: a keystore file).",
        group=True,
        source="SDG Configuration of Secure Connections",
    ),
    Option(
        "certificate-key",
        Kind.KEY,
        Side.BOTH,
        ALL_LEVELS,
        None,
        "Private key of the own certificate (PEM; not used with the Windows store).",
        group=True,
        source="SDG Configuration of Secure Connections",
    ),
    Option(
        "trusted-ca",
        Kind.TRUST,
        Side.BOTH,
        ALL_LEVELS,
        None,
        "Trust anchors for checking the peer: a PEM file with one or more CAs (Windows: thumbprint of a "
        "trusted root in the host's store; provider=JKS: a truststore file).",
        group=True,
        source="SDG Configuration of Secure Connections",
    ),
    Option(
        "provider",
        Kind.CHOICE,
        Side.BOTH,
        ALL_LEVELS,
        FILE_PROVIDER,
        "Platform SDK security provider / keystore type (not case-sensitive); genesys_tls reads PEM, JKS "
        "(PKCS12-type keystores) and MSCAPI (Windows hosts with a store), not PKCS11.",
        values=(FILE_PROVIDER, STORE_PROVIDER, "PKCS11", KEYSTORE_PROVIDER),
        group=True,
        psdk_only=True,
        source="PSDK Using and Configuring Security Providers",
    ),
    Option(
        "fips140-enabled",
        Kind.BOOLEAN,
        Side.BOTH,
        ALL_LEVELS,
        "0",
        "Platform SDK: FIPS 140 mode for the Java security provider.",
        group=True,
        psdk_only=True,
        source="PSDK GConfigTlsPropertyReader (name); its values are not in the sources: a choice (docs/design.md)",
    ),
    Option(
        "tls-crl",
        Kind.CRL,
        Side.BOTH,
        ALL_LEVELS,
        None,
        "Certificate revocation list(s) used to check the peer's certificate.",
        source="SDG Certificate Revocation Lists",
    ),
    Option(
        "tls-target-name-check",
        Kind.CHOICE,
        Side.CLIENT,
        frozenset({Level.CONNECTION, *APP_HOST}),
        "no",
        "host = the client checks the server certificate's SAN/CN against the expected name.",
        values=("no", TARGET_NAME_CHECK_ON),
        source="SDG TLS SNI Extension Support; Check for Certificate-Host Matching",
    ),
    Option(
        "tls-target-name",
        Kind.NAME,
        Side.CLIENT,
        frozenset({Level.CONNECTION, *APP_HOST}),
        "",
        "Name sent as SNI and checked instead of the server's Host name with tls-target-name-check=host.",
        empty_ok=True,
        source="SDG TLS SNI Extension Support",
    ),
    Option(
        "cipher-list",
        Kind.CIPHERS,
        Side.BOTH,
        ALL_LEVELS,
        None,
        "Cipher suites offered/accepted for TLS 1.2 and below (OpenSSL names).",
        source="SDG Cipher Lists",
    ),
    Option(
        "sec-protocol",
        Kind.CHOICE,
        Side.BOTH,
        ALL_LEVELS,
        "",
        "Protocol policy: '' = TLS 1.2 or newer; SSLv23 = TLS 1.1 or newer; TLSv11/12/13 = exactly that.",
        values=("", "SSLv23", "TLSv11", "TLSv1.1", "TLSv12", "TLSv1.2", "TLSv13", "TLSv1.3"),
        canonical=_SEC_PROTOCOL_CANONICAL,
        rejected={
            "SSLv2": "SSL 2.0 is broken (RFC 6176 prohibits it) and no current OpenSSL offers it",
            "SSLv3": "SSL 3.0 is broken (POODLE, RFC 7568) and Security Pack 8.5.100.16+ rejects it",
        },
        legacy={
            "TLSv1": "TLS 1.0 is deprecated (RFC 8996) and Security Pack 8.5.100.16+ rejects it",
            "TLSv1.0": "TLS 1.0 is deprecated (RFC 8996) and Security Pack 8.5.100.16+ rejects it",
            "TLSv10": "TLS 1.0 is deprecated (RFC 8996) and Security Pack 8.5.100.16+ rejects it",
        },
        empty_ok=True,
        source="SDG Advanced TLS (sec-protocol)",
    ),
    Option(
        "upgrade",
        Kind.BOOLEAN,
        Side.SERVER,
        frozenset({Level.PORT}),
        "0",
        "Configuration Server port in upgrade/auto-detect mode: TLS and plain clients on one port.",
        source="PSDK Quick Start (port modes); the transport spelling is not in the sources: a choice (docs/design.md)",
    ),
)

#: option name -> :class:`Option`, in the order of the reference.
CATALOGUE: Mapping[str, Option] = {o.name: o for o in _OPTIONS}

#: The certificate group: taken whole from the first level that sets any member (PSDK C1).
CERTIFICATE_GROUP: tuple[str, ...] = tuple(o.name for o in _OPTIONS if o.group)

#: A protocol version as ``(major, minor)``: ``(1, 2)`` is TLS 1.2.
ProtocolVersion: TypeAlias = tuple[int, int]
#: ``(minimum, maximum)``; a maximum of ``None`` is the newest version available.
ProtocolRange: TypeAlias = tuple[ProtocolVersion, ProtocolVersion | None]

#: canonical ``sec-protocol`` value -> the protocol range it allows (``TLSv1`` only with the legacy opt-in).
PROTOCOL_RANGES: Mapping[str, ProtocolRange] = {
    "": ((1, 2), None),
    "SSLv23": ((1, 1), None),
    "TLSv11": ((1, 1), (1, 1)),
    "TLSv12": ((1, 2), (1, 2)),
    "TLSv13": ((1, 3), (1, 3)),
    "TLSv1": ((1, 0), None),
}


def protocol_range(value: str | None, *, legacy: bool = False) -> ProtocolRange:
    """The protocol range of a ``sec-protocol`` value (any spelling the catalogue accepts).

    Raises:
        ConfigurationError: ``SSLv2``, ``SSLv3``, ``TLSv1`` without ``legacy``, or an unknown value.

    Example:
        >>> protocol_range("TLSv1.2")
        ((1, 2), (1, 2))
        >>> protocol_range(None)
        ((1, 2), None)
    """
    text = value or ""
    canonical = text if text in PROTOCOL_RANGES else CATALOGUE["sec-protocol"].check(text, legacy_protocols=legacy)
    if canonical == "TLSv1" and not legacy:
        raise ConfigurationError(
            f"sec-protocol=TLSv1 is refused: {CATALOGUE['sec-protocol'].legacy['TLSv1']} (opt into legacy "
            "protocols explicitly to allow it)",
            option="sec-protocol",
            value=value,
            valid=CATALOGUE["sec-protocol"].valid_text(),
        )
    return PROTOCOL_RANGES[canonical]


#: Transport parameters that are not TLS options but are known (not reported as unknown keys).
OTHER_TRANSPORT_PARAMETERS: Mapping[str, str] = {
    "port": "client-side port definition: the client's own port",
    "address": "client-side port definition: the client's own address",
    "backup-port": "client-side port definition: the client's port toward the backup server",
    "ip-version": "IPv4/IPv6 preference of the connection",
    "listening-nicname": "server: the network interface a port listens on (PSDK)",
}


def option(name: str) -> Option:
    """The catalogue entry for ``name``.

    Raises:
        ConfigurationError: ``name`` is not a known option (the message lists the known ones).
    """
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ConfigurationError(
            "unknown option", option=name, valid=tuple(CATALOGUE), suggestions=closest(name, CATALOGUE)
        ) from None


def iter_options(side: Side | None = None) -> Iterator[Option]:
    """The options in reference order, optionally only those that govern ``side`` (BOTH included)."""
    for opt in _OPTIONS:
        if side is None or opt.side in (side, Side.BOTH):
            yield opt


_LEVEL_ABBREV = {
    Level.PORT: "port",
    Level.CONNECTION: "connection",
    Level.APPLICATION_OPTIONS: "app options",
    Level.APPLICATION_ANNEX: "app annex",
    Level.HOST_ANNEX: "host annex",
}


def render_reference() -> str:
    """The option reference in Markdown: ``docs/options.md`` is exactly this text (a test checks it)."""
    lines = [
        "# Option reference",
        "",
        "Generated from `genesys_tls/catalogue.py` by `python -m genesys_tls.catalogue > docs/options.md`;",
        "a test fails when this page and the catalogue differ. Levels are those the Genesys documentation",
        "names; the Platform SDK reads every option at every level, and `genesys-tls lint` reports a value",
        "set where the documentation does not name it. The certificate group (marked *group*) is taken",
        "whole from the first level that sets any of its members (see [precedence.md](precedence.md)).",
        "",
        "| option | side | levels | values | default | notes |",
        "|---|---|---|---|---|---|",
    ]
    for opt in _OPTIONS:
        levels = ", ".join(_LEVEL_ABBREV[lv] for lv in Level if lv in opt.levels)
        if opt.kind is Kind.BOOLEAN:
            values = "`1`, `0` (PSDK also: on/off, yes/no, true/false)"
        elif opt.values:
            values = ", ".join(f"`{v}`" if v else "`` (empty)" for v in opt.values)
        else:
            values = _FREE_FORM[opt.kind]
        if opt.default is None:
            default = "unset"
        elif opt.default == "":
            default = "empty"
        else:
            default = f"`{opt.default}`"
        notes = [opt.description]
        if opt.group:
            notes.append("*group*.")
        if opt.psdk_only:
            notes.append("Platform SDK only.")
        for value, why in {**opt.rejected, **opt.legacy}.items():
            extra = " (allowed with legacy protocols)" if value in opt.legacy else ""
            notes.append(f"`{value}` refused{extra}: {why}.")
        if opt.empty_ok:
            notes.append("Empty is valid.")
        lines.append(
            f"| `{opt.name}` | {opt.side.value} | {levels} | {values} | {default} | {' '.join(notes)} |"
        )
    lines += [
        "",
        "## Other known transport parameters",
        "",
        "Not TLS options; listed so that transport-parameter diagnostics do not report them as unknown.",
        "",
        "| parameter | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {v} |" for k, v in OTHER_TRANSPORT_PARAMETERS.items()]
    lines += [
        "",
        "## Sources",
        "",
        "SDG: the Genesys Security Deployment Guide; PSDK: the Genesys Platform SDK (its documentation and code).",
        "",
    ]
    lines += [f"- `{o.name}`: {o.source}" for o in _OPTIONS if o.source]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation generator
    print(render_reference(), end="")
