"""The answer of the resolver: the effective settings of one side of a link, and every decision derived
from them, made once.

:class:`ResolvedSecurity` holds every catalogue option with its provenance (:class:`ResolvedOption`) and
answers the questions the later stages ask (contexts, handshakes, the simulated components, lint, the CLI):
the TLS mode and its wording, the port mode (:class:`PortMode`), the checks a connection makes
(:class:`Check`), whether a client certificate is required, the expected peer name, the protocol range, the
files named. The stages read these properties; only the resolver (:mod:`genesys_tls.resolve`) and this module
look options up by name.

This module imports neither ``ssl`` nor ``socket``.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .catalogue import (
    BOOLEAN_CANONICAL,
    CATALOGUE,
    FILE_PROVIDER,
    TARGET_NAME_CHECK_ON,
    Kind,
    Option,
    ProtocolRange,
    Side,
    Source,
    is_thumbprint,
    protocol_range,
)
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .stores import StoreLocation

__all__ = [
    "ENCRYPTION_ONLY_NOTE",
    "NOT_AUTHENTICATED",
    "CRLScope",
    "Check",
    "Mode",
    "PortMode",
    "Reading",
    "ResolvedOption",
    "ResolvedSecurity",
    "Shadowed",
    "Target",
    "describe_mode",
]

#: The statement every encryption-only connection plan and result carries.
NOT_AUTHENTICATED = (
    "encryption only (client-auth=0): the server is NOT authenticated; the link is encrypted but anyone "
    "in the middle can read it"
)
#: The resolver's note on an encryption-only connection.
ENCRYPTION_ONLY_NOTE = (
    "encryption only (client-auth=0): the client does NOT authenticate the server; the link is "
    "encrypted but open to a man in the middle"
)


class Check(enum.StrEnum):
    """What a connection verifies of its peer (the ``checks`` of plans, results and records)."""

    CHAIN = "chain"  #: the peer's certificate chains to the trusted CAs
    TARGET_NAME = "target-name"  #: the server certificate carries the expected name
    CRL = "crl"  #: the peer's certificate (or chain) is checked against ``tls-crl``
    SUBJECT = "subject"  #: the peer's subject matches the user's directory properties (SIP Endpoint only)


class CRLScope(enum.StrEnum):
    """Which certificates ``tls-crl`` covers: the peer's leaf only (default), or its whole chain."""

    LEAF = "leaf"
    CHAIN = "chain"

    @classmethod
    def parse(cls, value: str) -> CRLScope:
        """The scope named ``value``.

        Raises:
            ConfigurationError: neither ``leaf`` nor ``chain``.
        """
        try:
            return cls(value)
        except ValueError:
            raise ConfigurationError(
                "unknown CRL check", option="crl-check", value=str(value), valid=tuple(s.value for s in cls)
            ) from None


class PortMode(enum.StrEnum):
    """How a listening port talks (Configuration Server port modes)."""

    PLAIN = "plain"  #: no TLS (``tls`` off)
    SECURE = "secure"  #: TLS at once (``tls=1``)
    UPGRADE = "upgrade"  #: TLS or plain, detected from the client's first bytes (``upgrade=1``)


class Reading(enum.StrEnum):
    """How to read the two points where the Genesys documentation and the Platform SDK disagree.

    * ``psdk`` (default): ``tls`` is read at every level (``tls=1`` in Application ``[security]`` or the
      Host Annex turns TLS on for every port/connection), and a Connection with no port id does not pick
      up ``tls=1`` from the server's ``default`` port (the PSDK compares port ids and finds none).
    * ``doc``: ``tls`` counts only in Port and Connection transport parameters, and a Connection with no
      port id means the server's ``default`` port for the TLS decision too.
    """

    PSDK = "psdk"
    DOC = "doc"


class Mode(enum.StrEnum):
    """The derived TLS mode of a connection or a port (contract: checked in this order)."""

    PLAIN = "plain"
    ENCRYPTION_ONLY = "encryption-only"
    MUTUAL = "mutual"
    SIMPLE = "simple"


def describe_mode(mode: Mode | str, side: Side | str = Side.CLIENT) -> str:
    """One readable phrase for a mode; says plainly when the server is NOT authenticated.

    Example:
        >>> describe_mode("mutual")
        "mutual: the server's and the client's certificates are verified"
    """
    mode = Mode(mode)
    if mode is Mode.ENCRYPTION_ONLY:
        return "encryption-only: the server is NOT authenticated (client-auth=0); the link is only encrypted"
    if mode is Mode.MUTUAL:
        return "mutual: the server's and the client's certificates are verified"
    if Side(side) is Side.SERVER:
        return f"{mode.value}: clients are not authenticated (tls-mutual=0)"
    return f"{mode.value}: the server's certificate is verified"


@attrs.frozen
class Shadowed:
    """A value that was set but lost: at a weaker level, or outside the certificate group's level."""

    value: str
    source: Source
    object: str | None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape."""
        out: dict[str, Any] = {"value": self.value, "source": self.source.value}
        if self.object is not None:
            out["object"] = self.object
        return out


@attrs.frozen
class ResolvedOption:
    """The effective value of one option, where it came from and what it shadowed.

    Attributes:
        name: the option name.
        value: the value as written (``None`` when unset and the option has no default).
        normalized: the canonical value (``"1"``/``"0"`` for booleans, ``TLSv12`` for ``TLSv1.2``...).
        source: the level it came from, ``target-port``, or ``default``.
        object: the configuration object it came from (``None`` for defaults).
        shadowed: values set at weaker levels that lost, strongest first.
        group_level: for certificate-group members, the level the whole group was taken from.
        via: for ``target-port`` values, where the server's port got it (its own level and object).
    """

    name: str
    value: str | None
    normalized: str | None
    source: Source
    object: str | None
    shadowed: tuple[Shadowed, ...] = ()
    group_level: Source | None = None
    via: Shadowed | None = None

    @property
    def option(self) -> Option:
        """The catalogue entry."""
        return CATALOGUE[self.name]

    @property
    def is_set(self) -> bool:
        """Whether a level set it (not the default)."""
        return self.source is not Source.DEFAULT

    def as_bool(self) -> bool:
        """The value of a boolean option (``False`` when unset)."""
        return self.normalized == BOOLEAN_CANONICAL[0]

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape (plus ``group-level`` and ``via`` where they apply)."""
        out: dict[str, Any] = {"value": self.value, "source": self.source.value}
        if self.object is not None:
            out["object"] = self.object
        if self.shadowed:
            out["shadowed"] = [s.to_dict() for s in self.shadowed]
        if self.group_level is not None:
            out["group-level"] = self.group_level.value
        if self.via is not None:
            out["via"] = self.via.to_dict()
        return out


@attrs.frozen
class Target:
    """The server end of a client connection.

    Attributes:
        server: the server Application's name.
        port_id: the port dialled (the Connection's, else ``default``).
        host: the server's Host name (the name checked with ``tls-target-name-check=host``).
        dial_host: what to dial: the Host's ``ip`` when given, else its name.
        port: the port number, when configured.
    """

    server: str
    port_id: str
    host: str | None
    dial_host: str | None
    port: int | None

    @property
    def address(self) -> str | None:
        """``dial_host:port`` when both are known."""
        if self.dial_host is None or self.port is None:
            return None
        host = f"[{self.dial_host}]" if ":" in self.dial_host else self.dial_host
        return f"{host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape."""
        return {"server": self.server, "port-id": self.port_id, "host": self.host, "address": self.address}


@functools.lru_cache(maxsize=4096)
def _paths(value: str, chain: bool, base_dir: Path | None) -> tuple[Path, ...]:
    """The paths of a file option's value (a ``certificate`` chain is comma-separated), relative ones under
    ``base_dir``; the same value names the same paths, so each distinct one is split once."""
    out = []
    for part in value.split(",") if chain else [value]:
        p = Path(part.strip())
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        out.append(p)
    return tuple(out)


@attrs.frozen
class ResolvedSecurity:
    """The effective TLS settings of one side of a link: every catalogue option, with provenance.

    Built by :func:`resolve_client` and :func:`resolve_server`; read it with ``resolved["option"]``.

    Attributes:
        side: ``client`` (a connection) or ``server`` (a port).
        application: the application whose settings these are.
        options: option name -> :class:`ResolvedOption`, in catalogue order.
        mode: ``plain``, ``encryption-only``, ``mutual`` or ``simple``.
        target: the server end (client side only).
        port_id: the listening port (server side only).
        port_number: its TCP port number when configured (server side only).
        host: the application's own Host name.
        windows: the application's Host is a Windows host.
        base_dir: the folder relative file paths are relative to.
        file: the environment file, for error messages.
        reading: the :class:`Reading` used.
        legacy_protocols: whether the caller opted into legacy protocols.
        notes: plain statements about this result (encryption-only, the PSDK port-id quirk...).
        store: the certificate store of the application's Host (``hosts: NAME: store:``), where Windows
            thumbprints are looked up (:mod:`genesys_tls.material`).
    """

    side: Side
    application: str
    options: Mapping[str, ResolvedOption]
    mode: Mode
    target: Target | None = None
    port_id: str | None = None
    port_number: int | None = None
    host: str | None = None
    windows: bool = False
    base_dir: Path | None = None
    file: str | None = None
    reading: Reading = Reading.PSDK
    legacy_protocols: bool = False
    notes: tuple[str, ...] = ()
    store: StoreLocation | None = None
    # paths(name), computed once per object (the object never changes): contexts ask for them on every build
    _paths: dict[str, tuple[Path, ...]] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def __getitem__(self, name: str) -> ResolvedOption:
        try:
            return self.options[name]
        except KeyError:
            raise KeyError(f"unknown option {name!r}; known: {', '.join(self.options)}") from None

    def __iter__(self) -> Iterator[ResolvedOption]:
        return iter(self.options.values())

    @property
    def tls(self) -> bool:
        """Whether TLS is on."""
        return self["tls"].as_bool()

    @property
    def authenticates_peer(self) -> bool:
        """Client: whether the server is authenticated; server: whether clients must present a certificate."""
        if self.side is Side.CLIENT:
            return self.mode in (Mode.SIMPLE, Mode.MUTUAL)
        return self.mode is Mode.MUTUAL

    @property
    def checks_target_name(self) -> bool:
        """Client: ``tls-target-name-check=host`` (the server certificate must match :attr:`expected_name`)."""
        return self["tls-target-name-check"].normalized == TARGET_NAME_CHECK_ON

    @property
    def uses_pem_files(self) -> bool:
        """Whether the certificate group names PEM files (``provider`` unset or ``PEM``), not a keystore."""
        return self["provider"].normalized in (None, FILE_PROVIDER)

    @property
    def expected_name(self) -> str | None:
        """Client: the name checked and sent as SNI: ``tls-target-name`` when set, else the server's Host."""
        name = self["tls-target-name"].value
        if name:
            return name
        return self.target.host if self.target else None

    @property
    def object(self) -> str:
        """A readable name of what was resolved (``App -> Server/port`` or ``App/port``)."""
        if self.target is not None:
            return f"{self.application} -> {self.target.server}/{self.target.port_id}"
        return f"{self.application}/{self.port_id}"

    # ------------------------------------------------------------------------------------- decisions

    @property
    def tls_mode(self) -> Mode:
        """The mode of the TLS side: :attr:`mode`, except on a server ``upgrade`` port without ``tls=1``,
        whose TLS side is ``mutual`` when ``tls-mutual=1`` and ``simple`` otherwise."""
        if self.side is Side.SERVER and self.mode is Mode.PLAIN and self.port_mode is PortMode.UPGRADE:
            return Mode.MUTUAL if self["tls-mutual"].as_bool() else Mode.SIMPLE
        return self.mode

    @property
    def port_mode(self) -> PortMode:
        """Server: the :class:`PortMode` of the port (``upgrade=1`` wins over ``tls``)."""
        if self["upgrade"].as_bool():
            return PortMode.UPGRADE
        return PortMode.SECURE if self.tls else PortMode.PLAIN

    @property
    def requires_client_certificate(self) -> bool:
        """Server: clients must present a certificate; client: the target port requires one
        (``tls-mutual=1``)."""
        if self.side is Side.SERVER:
            return self.tls_mode is Mode.MUTUAL
        return self["tls-mutual"].as_bool()

    @property
    def certificate(self) -> str | None:
        """The ``certificate`` value as written: file path(s), or a Windows thumbprint."""
        return self["certificate"].value

    @property
    def trusted_ca(self) -> str | None:
        """The ``trusted-ca`` value as written: a file path, or a Windows thumbprint."""
        return self["trusted-ca"].value

    @property
    def has_certificate(self) -> bool:
        """Whether ``certificate`` is set (the side presents a certificate)."""
        return bool(self.certificate)

    @property
    def has_key(self) -> bool:
        """Whether ``certificate-key`` is set."""
        return bool(self["certificate-key"].value)

    @property
    def has_trusted_ca(self) -> bool:
        """Whether ``trusted-ca`` is set (else the side relies on a platform store)."""
        return bool(self.trusted_ca)

    @property
    def certificate_in_store(self) -> bool:
        """Whether ``certificate`` is a Windows certificate-store thumbprint (it names no file)."""
        return bool(self.certificate) and is_thumbprint(self.certificate or "")

    @property
    def trusted_ca_in_store(self) -> bool:
        """Whether ``trusted-ca`` is a Windows certificate-store thumbprint (it names no file)."""
        return bool(self.trusted_ca) and is_thumbprint(self.trusted_ca or "")

    @property
    def has_crl(self) -> bool:
        """Whether ``tls-crl`` is set."""
        return bool(self["tls-crl"].value)

    @property
    def crl_path(self) -> Path | None:
        """The ``tls-crl`` file."""
        return self.path("tls-crl")

    @property
    def certificate_paths(self) -> tuple[Path, ...]:
        """The ``certificate`` files (a chain, leaf first)."""
        return self.paths("certificate")

    @property
    def key_path(self) -> Path | None:
        """The ``certificate-key`` file."""
        return self.path("certificate-key")

    @property
    def trusted_ca_path(self) -> Path | None:
        """The ``trusted-ca`` file."""
        return self.path("trusted-ca")

    @property
    def provider(self) -> str | None:
        """The canonical ``provider`` (``None``: unset, PEM files)."""
        return self["provider"].normalized

    @property
    def fips140(self) -> bool:
        """Whether ``fips140-enabled=1``."""
        return self["fips140-enabled"].as_bool()

    @property
    def cipher_list(self) -> str | None:
        """The ``cipher-list`` value as written."""
        return self["cipher-list"].value

    @property
    def sec_protocol(self) -> str:
        """The canonical ``sec-protocol`` (``''`` by default)."""
        return self["sec-protocol"].normalized or ""

    @property
    def protocol_range(self) -> ProtocolRange:
        """The ``(minimum, maximum)`` protocol versions of ``sec-protocol`` as ``(major, minor)`` tuples
        (maximum ``None``: the newest available).

        Raises:
            ConfigurationError: ``TLSv1`` without :attr:`legacy_protocols`, located at the option.
        """
        try:
            return protocol_range(self.sec_protocol, legacy=self.legacy_protocols)
        except ConfigurationError as exc:
            raise exc.located(file=self.file, level=self.level_of("sec-protocol")) from None

    @property
    def target_name(self) -> str | None:
        """Client: ``tls-target-name`` when set (the name checked and sent instead of the server's Host)."""
        return self["tls-target-name"].value or None

    @property
    def expected_name_option(self) -> str:
        """Client: the option that gives :attr:`expected_name` (for error locations)."""
        return "tls-target-name" if self["tls-target-name"].value else "tls-target-name-check"

    @property
    def authenticated(self) -> bool:
        """Client: whether the server's certificate is verified (everything but encryption-only)."""
        return self.mode is not Mode.ENCRYPTION_ONLY

    @property
    def checks(self) -> tuple[Check, ...]:
        """What this side verifies of its peer, computed once for every stage.

        Client: nothing for encryption-only (or plain); else ``chain``, ``target-name`` with
        ``tls-target-name-check=host``, ``crl`` with ``tls-crl``. Server: ``chain`` (and ``crl`` with
        ``tls-crl``) when clients must present a certificate, else nothing.
        """
        if self.side is Side.SERVER:
            if not self.requires_client_certificate:
                return ()
            return (Check.CHAIN, Check.CRL) if self.has_crl else (Check.CHAIN,)
        if self.mode in (Mode.PLAIN, Mode.ENCRYPTION_ONLY):
            return ()
        checks = [Check.CHAIN]
        if self.checks_target_name:
            checks.append(Check.TARGET_NAME)
        if self.has_crl:
            checks.append(Check.CRL)
        return tuple(checks)

    def level_of(self, name: str) -> str:
        """The level text of an option's value, for error messages (``port``, ``group from ...``)."""
        opt = self[name]
        if opt.source is Source.DEFAULT and opt.group_level is not None:
            return opt.group_level.value
        return opt.source.value

    def path(self, name: str) -> Path | None:
        """The file an option names, as the component would open it: its effective value as a
        :class:`~pathlib.Path`, a relative path joined to :attr:`base_dir` (the folder of the file
        :func:`~genesys_tls.loaders.load` read).

        For ``certificate`` holding a comma-separated chain this is the first file (the leaf); :meth:`paths`
        gives them all. The file is neither read nor checked for existence (``lint`` and the context
        builders do that).

        Args:
            name: a file option of the catalogue: ``certificate``, ``certificate-key``, ``trusted-ca``,
                ``tls-crl``...

        Returns:
            the path, or ``None`` when the option is not set (or is not a file option).

        Raises:
            KeyError: ``name`` is not an option of this resolution (the message lists the known ones).
            ConfigurationError: the value is a Windows certificate-store thumbprint, which names no file.

        Example::

            client = gt.resolve_client(gt.load("examples/environment.yaml"), "MyTLibClient", "TServer_SIP",
                                       "secure")
            client.path("trusted-ca")   # PosixPath('/.../examples/certs/ca.pem')
            client.path("tls-crl")      # None: not set
        """
        paths = self.paths(name)
        return paths[0] if paths else None

    def paths(self, name: str) -> tuple[Path, ...]:
        """A file option's value as paths (``certificate`` may be a comma-separated chain, leaf first).

        Raises:
            ConfigurationError: the value is a Windows thumbprint, which names no file.
        """
        known = self._paths.get(name)
        if known is not None:
            return known
        opt = self[name]
        if not opt.value or not opt.option.is_path:
            return ()
        if opt.option.kind in (Kind.CERTIFICATE, Kind.TRUST) and is_thumbprint(opt.value):
            raise ConfigurationError(
                f"{name} is a Windows certificate-store thumbprint: it names a certificate of the host's store, "
                "not a file (genesys_tls.material reads it)",
                file=self.file,
                object=opt.object,
                level=self.level_of(name),
                option=name,
                value=opt.value,
                valid="a PEM file path",
            )
        self._paths[name] = found = _paths(opt.value, opt.option.kind is Kind.CERTIFICATE, self.base_dir)
        return found

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``resolve --json`` shape."""
        out: dict[str, Any] = {"side": self.side.value, "application": self.application}
        if self.target is not None:
            out["target"] = self.target.to_dict()
        else:
            out["port-id"] = self.port_id
        out["mode"] = self.mode.value
        out["reading"] = self.reading.value
        out["options"] = {name: opt.to_dict() for name, opt in self.options.items()}
        if self.notes:
            out["notes"] = list(self.notes)
        return out
