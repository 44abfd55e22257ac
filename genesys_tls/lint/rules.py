"""The lint rules: the finding vocabulary, the rule registry and the checks that apply the rules.

Every rule is a :class:`Rule` in :data:`RULES`, with a stable code (``GT`` + three digits; the hundreds say
what the rule looks at), a name, a severity, a title, a description, an example environment that triggers it,
the same environment fixed, and the fix. The registry drives ``docs/lint.md`` (:mod:`genesys_tls.lint.docs`)
and the tests, which lint every example (it must trigger the rule) and every fixed example (it must not).

Code ranges:

* ``GT1xx``: what is written at one level: transport parameters, option names, values and levels;
* ``GT2xx``: effective settings of a port or a connection (precedence, modes, both ends of a link);
* ``GT3xx``: certificate and key files, and what the peers of a link make of them;
* ``GT4xx``: CRL files;
* ``GT5xx``: whether Genesys lists TLS support for the connection (``genesys_tls.support``);
* ``GT9xx``: lint itself.

The checks run in three scans (:func:`scan_layers`, :func:`scan_ports`, :func:`scan_connections`) over a
:class:`~genesys_tls.lint.engine.LintContext`, which holds the per-run caches: each file is read once, each
server port resolved once, and derived answers (chain verification, name matching, CRL trust) computed once
per distinct input.

Size: over 600 lines: the rule registry, its examples and every check are still in this one module; splitting
it by scope (layers, ports, links, files) is planned and open.
"""

from __future__ import annotations

import datetime
import difflib
import enum
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from .._pem import is_ca, spki
from ..catalogue import (
    BOOLEAN_CANONICAL,
    CATALOGUE,
    CERTIFICATE_GROUP,
    FILE_PROVIDER,
    OTHER_TRANSPORT_PARAMETERS,
    Kind,
    Level,
    Option,
    Source,
    is_thumbprint,
    parse_boolean,
    protocol_range,
)
from ..errors import ConfigurationError, TLSError
from ..model import DEFAULT_PORT_ID, Application, Connection, HostOS
from ..resolve import Mode, ResolvedSecurity, resolve_client
from ..transport import DiagnosticCode, TransportParameters
from .names_rules import NAME_RULES

if TYPE_CHECKING:
    from .engine import LintContext

__all__ = [
    "RULES",
    "Finding",
    "Rule",
    "Severity",
    "rule",
    "scan_connections",
    "scan_layers",
    "scan_ports",
    "verify_chain",
]


class Severity(enum.StrEnum):
    """How bad a finding is. ``error``: the link fails or is not secure; ``warning``: it works but is fragile,
    weaker than it looks, or read differently by some components; ``info``: worth knowing."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANK[self]

    @property
    def sarif_level(self) -> str:
        """The SARIF 2.1.0 ``level`` (``error``, ``warning``, ``note``)."""
        return "note" if self is Severity.INFO else self.value


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@attrs.frozen
class Finding:
    """One problem lint found.

    Attributes:
        severity: ``error``, ``warning`` or ``info``.
        code: the rule's stable code (``GT201``).
        rule: the rule's stable name (``secure-port-no-certificate``).
        object: the configuration object concerned: a Host, an Application, ``App/port`` (a listening port)
            or ``App -> Server/port`` (a connection).
        level: where the value sits (``port``, ``connection``, ``application-options``,
            ``application-annex``, ``host-annex``), or ``None`` when the finding is about no single level.
        option: the option concerned, or ``None``.
        message: what is wrong, in one or two sentences.
        hint: how to fix it.
        file: the environment file the object is defined in (SARIF locations), when known.
    """

    severity: Severity
    code: str
    rule: str
    object: str
    message: str
    hint: str = ""
    level: str | None = None
    option: str | None = None
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON shape, plus ``rule``, ``level`` and ``file`` (empty strings when absent)."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "rule": self.rule,
            "object": self.object,
            "level": self.level or "",
            "option": self.option or "",
            "message": self.message,
            "hint": self.hint,
            "file": self.file or "",
        }


@attrs.frozen
class Rule:
    """A lint rule: what it reports and how to fix it. Users read these from :data:`RULES`.

    Attributes:
        code: stable code, ``GT`` + three digits.
        name: stable name, lower-case words joined by ``-``.
        severity: the severity of its findings.
        title: one line.
        description: what it checks and why it matters.
        fix: what to change.
        example: an environment (YAML) that triggers it; file names refer to the test PKI described in
            ``docs/lint.md`` (empty for rules no environment can trigger).
        fixed: the example with the fix applied: it does not trigger the rule.
    """

    code: str
    name: str
    severity: Severity
    title: str
    description: str
    fix: str
    example: str = ""
    fixed: str = ""

    def finding(
        self,
        object: str,
        message: str,
        *,
        hint: str | None = None,
        level: str | Level | Source | None = None,
        option: str | None = None,
        file: str | None = None,
    ) -> Finding:
        """A finding of this rule (``hint`` defaults to :attr:`fix`)."""
        return Finding(
            severity=self.severity,
            code=self.code,
            rule=self.name,
            object=object,
            message=message,
            hint=self.fix if hint is None else hint,
            level=None if level is None else str(level.value if isinstance(level, enum.Enum) else level),
            option=option,
            file=file,
        )


E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N: "note", SARIF's name for info

# Blocks the examples share (YAML): the good hosts of the test PKI and a client checking the server name.
_HOSTS = """\
hosts:
  srv: {annex: {security: {certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}}}
  cli: {annex: {security: {certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem}}}
"""
_CLIENT = """\
  C:
    type: Third Party Application
    host: cli
    connections: [{server: S, port-id: secure, transport: "tls-target-name-check=host"}]
"""


def _server(transport: str = "tls=1", extra: str = "") -> str:
    return (
        "  S:\n    type: T-Server\n    host: srv\n"
        + extra
        + f'    ports: {{secure: {{port: 7001, transport: "{transport}"}}}}\n'
    )


def _link(
    *,
    srv: str = "{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}",
    cli: str = "{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem}",
    port: str = "tls=1",
    conn: str = "tls-target-name-check=host",
    client_type: str = "Third Party Application",
    server_type: str = "T-Server",
) -> str:
    """A server S (host srv) with a secure port and a client C (host cli) connecting to it."""
    return (
        "hosts:\n"
        f"  srv: {{annex: {{security: {srv}}}}}\n"
        f"  cli: {{annex: {{security: {cli}}}}}\n"
        "applications:\n"
        f"  S:\n    type: {server_type}\n    host: srv\n"
        f'    ports: {{secure: {{port: 7001, transport: "{port}"}}}}\n'
        f"  C:\n    type: {client_type}\n    host: cli\n"
        f'    connections: [{{server: S, port-id: secure, transport: "{conn}"}}]\n'
    )


def _host_only(security: str) -> str:
    """One host with an Annex [security] section and no application."""
    return f"hosts:\n  srv: {{annex: {{security: {security}}}}}\napplications: {{}}\n"


def _port_only(
    transport: str, security: str = "{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}"
) -> str:
    return f"hosts:\n  srv: {{annex: {{security: {security}}}}}\napplications:\n" + _server(transport)


_TRANSPORT_HINT = (
    "write name=value pairs joined by ';' with no spaces, names in lower case, each name once "
    "(see docs/options.md)"
)

_RULE_LIST: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- GT1xx: what is written at one level
    Rule(
        "GT101", "transport-space", E,
        "White space around ';' or '=' in transport parameters",
        "Genesys allows no spaces in transport parameters. The runtime does not trim them: in "
        "'tls=1; tls-mutual=1' the second name is ' tls-mutual', which nothing reads, so mutual TLS is off "
        "without any error.",
        "Remove the spaces: 'tls=1;tls-mutual=1'.",
        _port_only("tls=1; tls-mutual=1"),
        _port_only("tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT102", "transport-case", E,
        "Transport parameter name in the wrong case",
        "Transport parameter names are case-sensitive: 'TLS=1' is not 'tls=1' and is ignored, so the port is "
        "not secure.",
        "Write the name in lower case, as the option reference spells it.",
        _port_only("TLS=1"),
        _port_only("tls=1"),
    ),
    Rule(
        "GT103", "transport-duplicate", W,
        "Transport parameter given twice",
        "When a name is repeated the first value wins and the others are ignored ('tls=1;tls=0' is on). The "
        "string does not say what its author meant.",
        "Keep one occurrence, with the value you mean.",
        _port_only("tls=1;tls=0"),
        _port_only("tls=1"),
    ),
    Rule(
        "GT104", "transport-unknown-key", W,
        "Unknown transport parameter",
        "No Genesys component reads this name, so it has no effect; it is often a misspelt option "
        "('tls-mutal').",
        "Correct the name or remove the parameter.",
        _port_only("tls=1;tls-mutal=1"),
        _port_only("tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT105", "transport-no-equals", W,
        "Transport parameter without '='",
        "A piece without '=' ('mutual') is ignored by the runtime.",
        "Write it as name=value, or remove it.",
        _port_only("tls=1;mutual"),
        _port_only("tls=1"),
    ),
    Rule(
        "GT106", "transport-empty-piece", N,
        "Empty piece in transport parameters",
        "';;' or a leading ';' gives an empty piece, which is ignored. Harmless, but often the trace of a "
        "deleted parameter.",
        "Remove the extra ';'.",
        _port_only("tls=1;;tls-mutual=1"),
        _port_only("tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT107", "transport-empty-key", W,
        "Transport parameter without a name",
        "A piece such as '=1' has no name and is ignored.",
        "Write the name before '=', or remove the piece.",
        _port_only("tls=1;=1"),
        _port_only("tls=1"),
    ),
    Rule(
        "GT110", "invalid-value", E,
        "Invalid option value",
        "The value is not one the option accepts (checked at every level, also where a stronger level "
        "shadows it). The Platform SDK reads most invalid values as 'off' or 'no check' without a word; "
        "genesys_tls refuses them.",
        "Use one of the valid values the message lists (docs/options.md).",
        _host_only("{tls-target-name-check: hostname}"),
        _host_only("{tls-target-name-check: host}"),
    ),
    Rule(
        "GT111", "undocumented-level", W,
        "Option set at a level the documentation does not name",
        "The Genesys documentation names the levels where each option may be set. The Platform SDK reads "
        "every option at every level, but native components may not, and some values have no effect where "
        "they are: 'tls-mutual' on a client's Connection is ignored (the client takes it from the server's "
        "port).",
        "Move the option to a documented level (docs/options.md lists them).",
        "hosts: {srv: {}, cli: {}}\napplications:\n"
        "  S: {type: T-Server, host: srv, ports: {default: {port: 7000}}}\n"
        "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections: [{server: S, port-id: default, transport: "tls-mutual=1"}]\n',
        "hosts: {srv: {}, cli: {}}\napplications:\n"
        "  S: {type: T-Server, host: srv, ports: {default: {port: 7000}}}\n"
        "  C:\n    type: Third Party Application\n    host: cli\n"
        "    connections: [{server: S, port-id: default}]\n",
    ),
    Rule(
        "GT112", "non-canonical-boolean", W,
        "Boolean written other than 0 or 1",
        "The Platform SDK reads on/off, yes/no and true/false in any case, but native components document "
        "only 1 and 0: 'tls=yes' may be read as off by a C++ server.",
        "Write 1 or 0.",
        _port_only("tls=yes"),
        _port_only("tls=1"),
    ),
    Rule(
        "GT113", "misspelled-option", W,
        "[security] option name close to a known one",
        "A name in a [security] section that is not a TLS option but is close to one ('trusted_ca', "
        "'Certificate') is most likely a typo, and nothing reads it. Other names are left alone: [security] "
        "also holds options that have nothing to do with TLS.",
        "Spell the option as the reference does.",
        _host_only("{certificate: srv.pem, certificate-key: srv.key, trusted_ca: ca.pem}"),
        _host_only("{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT114", "tls-outside-transport", W,
        "'tls' set in Application or Host [security]",
        "The documentation says 'tls' is set only on the Port (server) or the Connection (client). The "
        "Platform SDK also reads it in Application Options/Annex and the Host Annex, where it turns TLS on "
        "for every port of the server, or every connection of the client; native components ignore it "
        "there. The two disagree (spec case 11; lint --reading chooses which one the other rules follow).",
        "Remove 'tls' from [security] and set tls=1 in the transport parameters of each secure port.",
        "hosts:\n  srv: {annex: {security: {certificate: srv.pem, certificate-key: srv.key}}}\n"
        "applications:\n" + _server("", "    options: {security: {tls: 1}}\n").replace(
            ', transport: ""', ""
        ),
        _port_only("tls=1"),
    ),
    # ---------------------------------------------------------------- GT2xx: effective settings
    Rule(
        "GT201", "secure-port-no-certificate", E,
        "Secure port without a certificate",
        "The port is secure (tls=1, or upgrade=1) but no level of its effective settings (port, application, "
        "host) gives a certificate: no client can complete a handshake.",
        "Set certificate and certificate-key on the port, the application or its host.",
        "hosts: {srv: {}}\napplications:\n" + _server(),
        _port_only("tls=1"),
    ),
    Rule(
        "GT202", "certificate-without-key", E,
        "Certificate without certificate-key",
        "On UNIX and with the PEM provider the private key is a separate file, named by certificate-key at "
        "the same level as the certificate (the certificate group is taken whole from one level). Windows "
        "thumbprints and the MSCAPI/PKCS11/JKS providers need no key file.",
        "Set certificate-key next to certificate, at the same level.",
        "hosts: {srv: {}}\napplications:\n" + _server("tls=1;certificate=srv.pem"),
        "hosts: {srv: {}}\napplications:\n" + _server("tls=1;certificate=srv.pem;certificate-key=srv.key"),
    ),
    Rule(
        "GT203", "certificate-group-split", E,
        "Certificate group split across levels",
        "certificate, certificate-key, trusted-ca, provider and fips140-enabled are taken whole from the "
        "first level that sets any of them (Platform SDK). A member set only at a weaker level is ignored: "
        "with the certificate on the port and the key at the application, the port has no key (spec "
        "case 4).",
        "Set the whole group at one level.",
        "hosts: {srv: {}}\napplications:\n"
        + _server(
            "tls=1;certificate=srv.pem",
            "    options: {security: {certificate-key: srv.key, trusted-ca: ca.pem}}\n",
        ),
        "hosts: {srv: {}}\napplications:\n"
        + _server(
            "tls=1",
            "    options: {security: {certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}}\n",
        ),
    ),
    Rule(
        "GT204", "sec-protocol-level", W,
        "sec-protocol not at the certificate's level",
        "The Genesys documentation: 'On a single component, this option [sec-protocol] must be configured at "
        "the same level where the certificate is configured.' Set elsewhere, some components do not apply "
        "it.",
        "Move sec-protocol to the level that holds the certificate.",
        "hosts:\n  srv: {annex: {security: {certificate: srv.pem, certificate-key: srv.key}}}\n"
        "applications:\n" + _server("tls=1", "    options: {security: {sec-protocol: TLSv12}}\n"),
        _port_only("tls=1", "{certificate: srv.pem, certificate-key: srv.key, sec-protocol: TLSv12}"),
    ),
    Rule(
        "GT205", "mutual-client-no-certificate", E,
        "Client of a mutual-TLS port without a certificate",
        "The server port has tls-mutual=1, so it requires a client certificate, but the client's effective "
        "settings have none: the handshake fails.",
        "Give the client a certificate and certificate-key (connection, application or its host).",
        _link(port="tls=1;tls-mutual=1", cli="{trusted-ca: ca.pem}"),
        _link(port="tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT206", "no-trusted-ca", W,
        "Verifying client without trusted-ca",
        "The client authenticates the server but names no trusted-ca. It then depends on a platform store "
        "(Windows certificate store, Java cacerts; genesys_tls uses certifi), which does not hold a private "
        "CA: lint checks the chain against certifi on non-Windows hosts (GT309).",
        "Set trusted-ca to the CA file that issued the servers' certificates.",
        _link(cli="{certificate: cli.pem, certificate-key: cli.key}"),
        _link(),
    ),
    Rule(
        "GT207", "mutual-port-no-trusted-ca", E,
        "Mutual-TLS port without trusted-ca",
        "The port requires client certificates (tls-mutual=1) but has no trusted-ca to verify them: every "
        "client is refused (Windows hosts, which may use the system store, are not reported).",
        "Set trusted-ca to the CA file that issued the clients' certificates.",
        _port_only("tls=1;tls-mutual=1", "{certificate: srv.pem, certificate-key: srv.key}"),
        _port_only("tls=1;tls-mutual=1", "{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT208", "encryption-only", W,
        "client-auth=0: the server is not authenticated",
        "With client-auth=0 the client encrypts but accepts any server certificate (pre-8.1.3 behaviour): "
        "the link is open to a man in the middle.",
        "Remove client-auth=0 and give the client a trusted-ca.",
        _link(conn="client-auth=0"),
        _link(),
    ),
    Rule(
        "GT209", "no-target-name-check", W,
        "TLS connection without a server name check",
        "tls-target-name-check is not 'host', so the client accepts any certificate its CA issued, for any "
        "server.",
        "Set tls-target-name-check=host on the connection, the client application or its host.",
        _link(conn=""),
        _link(),
    ),
    Rule(
        "GT210", "legacy-protocol", W,
        "sec-protocol allows TLS 1.1",
        "SSLv23 and TLSv11 allow TLS 1.1, deprecated by RFC 8996 (TLSv1, SSLv3 and SSLv2 are refused outright: "
        "GT110).",
        "Leave sec-protocol empty (TLS 1.2 or newer), or use TLSv12 or TLSv13.",
        _host_only("{sec-protocol: SSLv23}"),
        _host_only("{sec-protocol: TLSv12}"),
    ),
    Rule(
        "GT211", "cipher-list-rejected", E,
        "cipher-list that OpenSSL rejects",
        "OpenSSL finds no cipher in the list, so the component cannot build its TLS context.",
        "Use OpenSSL cipher names ('openssl ciphers -v LIST' shows what a list selects).",
        _host_only("{cipher-list: NOT-A-CIPHER}"),
        _host_only("{cipher-list: 'ECDHE+AESGCM'}"),
    ),
    Rule(
        "GT212", "tls-off-ignored", W,
        "tls=0 on a client toward a secure port has no effect",
        "TLS on a client is on when its own settings say so OR the target port has tls=1 (spec case 9): "
        "tls=0 cannot turn it off, and suggests a plain connection that will not happen.",
        "Remove tls=0, or point the connection at a plain port.",
        _link(conn="tls=0;tls-target-name-check=host"),
        _link(),
    ),
    Rule(
        "GT213", "no-port-id-quirk", W,
        "Connection without port id to a secure default port",
        "The connection names no port id, so it dials the server's 'default' port, which has tls=1. The "
        "Platform SDK compares port ids to decide whether the target port is secure and finds none: a PSDK "
        "client connects in plain text unless tls=1 is set elsewhere, while native components use TLS (spec "
        "case 10).",
        "Set the connection's port id to 'default' (or tls=1 in its transport parameters).",
        _HOSTS + "applications:\n"
        '  S: {type: T-Server, host: srv, ports: {default: {port: 7000, transport: "tls=1"}}}\n'
        "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections: [{server: S, transport: "tls-target-name-check=host"}]\n',
        _HOSTS + "applications:\n"
        '  S: {type: T-Server, host: srv, ports: {default: {port: 7000, transport: "tls=1"}}}\n'
        "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections: [{server: S, port-id: default, transport: "tls-target-name-check=host"}]\n',
    ),
    Rule(
        "GT214", "tls-mismatch", E,
        "Client and port disagree on TLS",
        "The client's effective tls and the port's differ: a TLS client on a plain port, or a plain client "
        "on a port that requires TLS (for instance tls=1 set in the server's Application [security], which "
        "the PSDK applies to the port but a client reads only from the port's own parameters). The "
        "connection fails. An upgrade=1 port accepts both.",
        "Make both ends agree: tls=1 on the port's transport parameters, and point TLS clients at it.",
        _HOSTS + "applications:\n"
        '  S: {type: T-Server, host: srv, ports: {default: {port: 7000}}}\n'
        "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections: [{server: S, port-id: default, transport: "tls=1;tls-target-name-check=host"}]\n',
        _link(conn="tls=1;tls-target-name-check=host"),
    ),
    Rule(
        "GT215", "no-common-protocol", E,
        "Client and server sec-protocol have no version in common",
        "Each side's sec-protocol gives a range of TLS versions (TLSv12: only 1.2; TLSv13: only 1.3; empty: "
        "1.2 or newer); when the ranges do not meet, the handshake fails.",
        "Use the same sec-protocol on both ends, or leave it empty (TLS 1.2 or newer).",
        _link(
            srv="{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem, sec-protocol: TLSv13}",
            cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, sec-protocol: TLSv12}",
        ),
        _link(
            srv="{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem, sec-protocol: TLSv13}",
            cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem}",
        ),
    ),
    Rule(
        "GT216", "duplicate-connection", W,
        "Two connections to the same server port",
        "An application has two connections to the same server and port id. Connections are looked up by "
        "server and port id, so only the first one is used and checked.",
        "Remove the duplicate (or merge their transport parameters).",
        _HOSTS + "applications:\n" + _server()
        + "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections:\n      - {server: S, port-id: secure, transport: "tls-target-name-check=host"}\n'
        "      - {server: S, port-id: secure}\n",
        _HOSTS + "applications:\n" + _server() + _CLIENT,
    ),
    # ---------------------------------------------------------------- GT3xx: certificate and key files
    Rule(
        "GT301", "file-missing", E,
        "File not found",
        "A certificate, key, trusted-ca or tls-crl file does not exist (relative paths are relative to the "
        "environment file's folder).",
        "Correct the path, or install the file.",
        _host_only("{certificate: missing.pem, certificate-key: srv.key}"),
        _host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT302", "file-unreadable", E,
        "File cannot be read",
        "The path exists but cannot be read: a folder, or no permission.",
        "Point the option at a readable file.",
        _host_only("{trusted-ca: folder}"),
        _host_only("{trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT303", "file-invalid", E,
        "File is not what the option needs",
        "certificate and trusted-ca need PEM certificates, certificate-key a PEM private key, tls-crl a PEM "
        "or DER CRL; this file holds something else.",
        "Convert the file to PEM (openssl x509 -inform der -in F -out F.pem), or point at the right one.",
        _host_only("{trusted-ca: not-pem.pem}"),
        _host_only("{trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT304", "key-mismatch", E,
        "certificate-key does not match the certificate",
        "The private key is not the key of the certificate's public key: the component cannot load them "
        "together.",
        "Point certificate-key at the key the certificate was issued for.",
        _host_only("{certificate: srv.pem, certificate-key: cli.key}"),
        _host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT305", "certificate-expired", E,
        "Certificate expired",
        "A certificate in a certificate or trusted-ca file is past its notAfter date: peers refuse it (a CA "
        "that expired fails every chain it anchors).",
        "Renew the certificate and replace the file.",
        _host_only("{certificate: expired.pem, certificate-key: expired.key}"),
        _host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT306", "certificate-expiring", W,
        "Certificate expires soon",
        "A certificate expires within the warning window (--expiry-days, default 30).",
        "Renew it before it expires.",
        _host_only("{certificate: expiring.pem, certificate-key: expiring.key}"),
        _host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT307", "certificate-not-yet-valid", E,
        "Certificate not valid yet",
        "The certificate's notBefore date is in the future: peers refuse it until then (or the host's clock "
        "is wrong).",
        "Use a certificate valid now, or check the clocks.",
        _host_only("{certificate: future.pem, certificate-key: future.key}"),
        _host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT308", "name-mismatch", E,
        "Server certificate does not match the name the client checks",
        "The client has tls-target-name-check=host, and the server's certificate is not valid for the name "
        "it checks (tls-target-name, else the server's Host name), by the rules OpenSSL uses (SAN DNS/IP, "
        "CN only without DNS SAN, whole-label wildcards).",
        "Issue the server certificate for that name (SAN), or set tls-target-name to a name it carries.",
        _link(srv="{certificate: wrong-name.pem, certificate-key: wrong-name.key, trusted-ca: ca.pem}"),
        _link(),
    ),
    Rule(
        "GT309", "chain-untrusted", E,
        "Certificate chain does not verify against the peer's trusted CAs",
        "Following issuers from the certificate (and the intermediates in its file) with signature checks "
        "does not reach a certificate of the peer's trusted-ca (or, for a client with no trusted-ca on a "
        "non-Windows host, of certifi). Checked for the server certificate against each client that "
        "verifies it, and for the client certificate against mutual-TLS ports.",
        "Issue the certificate from a CA the peer trusts, add its issuer to the peer's trusted-ca, or add "
        "the missing intermediates to the certificate file.",
        _link(srv="{certificate: untrusted.pem, certificate-key: untrusted.key, trusted-ca: ca.pem}"),
        _link(),
    ),
    Rule(
        "GT310", "certificate-revoked", E,
        "Certificate revoked by a CRL the peer uses",
        "The peer checks revocation (tls-crl) and the CRL lists this certificate's serial number: the "
        "handshake fails.",
        "Issue a new certificate and replace the file.",
        _link(
            srv="{certificate: revoked.pem, certificate-key: revoked.key, trusted-ca: ca.pem}",
            cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl.pem}",
        ),
        _link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl.pem}"),
    ),
    Rule(
        "GT311", "key-encrypted", N,
        "Private key is encrypted",
        "The key file is password-protected, so lint cannot check that it matches the certificate; the "
        "component needs the password at start-up.",
        "Nothing to do if the component is given the password; otherwise store the key unencrypted with "
        "tight file permissions.",
        _host_only("{certificate: srv.pem, certificate-key: encrypted.key}"),
        _host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    # ---------------------------------------------------------------- GT4xx: CRL files
    Rule(
        "GT401", "crl-expired", E,
        "CRL expired",
        "The CRL's nextUpdate has passed: OpenSSL fails every handshake it is used for ('CRL has expired').",
        "Publish a fresh CRL from the CA and replace the file.",
        _host_only("{tls-crl: crl-expired.pem}"),
        _host_only("{tls-crl: crl.pem}"),
    ),
    Rule(
        "GT402", "crl-expiring", W,
        "CRL expires soon",
        "The CRL's nextUpdate falls within the warning window (--expiry-days, default 30).",
        "Make sure a fresh CRL replaces the file before then.",
        _host_only("{tls-crl: crl-expiring.pem}"),
        _host_only("{tls-crl: crl.pem}"),
    ),
    Rule(
        "GT403", "crl-not-current", E,
        "CRL not valid yet or without nextUpdate",
        "The CRL's thisUpdate is in the future, or it has no nextUpdate so it can never be known current: "
        "checks that use it fail (crl-unavailable).",
        "Use a CRL that is current now, with a nextUpdate.",
        _host_only("{tls-crl: crl-future.pem}"),
        _host_only("{tls-crl: crl.pem}"),
    ),
    Rule(
        "GT404", "crl-untrusted", E,
        "CRL not signed by a trusted CA",
        "A CRL is used with the trusted-ca of the same side; a CRL whose issuer is not there, or whose "
        "signature does not verify with that CA's key, cannot be used and the check fails closed.",
        "Use the CRL published by the CA in trusted-ca (or add its CA to trusted-ca).",
        _link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl-other.pem}"),
        _link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl.pem}"),
    ),
    Rule(
        "GT405", "crl-missing-issuer", E,
        "No CRL for the issuer of the peer's certificate",
        "Revocation checking is on (tls-crl) but the file holds no CRL from the CA that issued the peer's "
        "certificate; OpenSSL then fails the handshake ('unable to get certificate CRL', spec case 20).",
        "Add the CRL of that CA to the tls-crl file.",
        _link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: cas.pem, tls-crl: crl-other.pem}"),
        _link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: cas.pem, tls-crl: crl.pem}"),
    ),
    # ---------------------------------------------------------------- GT5xx: Genesys support
    Rule(
        "GT501", "tls-unsupported-connection", W,
        "TLS on a connection Genesys does not list as supporting TLS",
        "The Supporting Components list of the Security Deployment Guide does not name TLS between these "
        "application types (genesys_tls.support, docs/support-matrix.md).",
        "Check the components' documentation; use a plain connection or a supported path if TLS is not "
        "supported.",
        _link(client_type="CCView"),
        _link(),
    ),
    Rule(
        "GT502", "tls-special-connection", N,
        "TLS on a connection that Genesys secures another way",
        "The list names this connection with a special case: GVP's own TLS format, WFM's OpenSSL, "
        "Configuration Server's auto-detect (upgrade) port, HTTPS, database SSL, LDAPS, SIP TLS; the "
        "message gives the note.",
        "Follow the component's documentation for this connection.",
        _link(client_type="Interaction Workspace", server_type="Configuration Server"),
        _link(client_type="Interaction Workspace", server_type="Configuration Server", port="upgrade=1",
              conn="tls-target-name-check=host"),
    ),
    Rule(
        "GT503", "unknown-application-type", N,
        "Application type unknown to the support data",
        "The application takes part in TLS connections but its type is not in the Supporting Components "
        "data, so lint cannot say whether Genesys supports TLS there.",
        "Use the type Genesys Administrator shows (docs/support-matrix.md lists the known ones).",
        _link(client_type="Acme Dialer"),
        _link(),
    ),
    # ---------------------------------------------------------------- GT9xx: lint itself
    Rule(
        "GT900", "rule-failed", E,
        "A lint check failed unexpectedly",
        "A check raised an unexpected exception on this object; the other checks ran. This is a defect of "
        "genesys_tls, not of the environment: the message names the exception.",
        "Report it with the environment (certificates are not needed).",
    ),
)

# The rules of other modules, registered here (data there, so that they can import this module).
_RULE_LIST += tuple(Rule(c, n, Severity(s), *rest) for c, n, s, *rest in NAME_RULES)

#: code -> :class:`Rule`, in code order.
RULES: Mapping[str, Rule] = {r.code: r for r in sorted(_RULE_LIST, key=lambda r: r.code)}
_BY_NAME: Mapping[str, Rule] = {r.name: r for r in _RULE_LIST}


def rule(code_or_name: str) -> Rule:
    """The rule with this code (``GT201``) or name (``secure-port-no-certificate``).

    Raises:
        ConfigurationError: no such rule (the message lists the codes).
    """
    found = RULES.get(code_or_name.upper()) or _BY_NAME.get(code_or_name.lower())
    if found is None:
        raise ConfigurationError("unknown lint rule", option="rules", value=code_or_name, valid=tuple(RULES))
    return found


R = RULES  # short alias for the checks below

_DIAGNOSTIC_RULES: Mapping[DiagnosticCode, Rule] = {
    DiagnosticCode.SPACE: R["GT101"],
    DiagnosticCode.CASE: R["GT102"],
    DiagnosticCode.DUPLICATE: R["GT103"],
    DiagnosticCode.UNKNOWN: R["GT104"],
    DiagnosticCode.NO_EQUALS: R["GT105"],
    DiagnosticCode.EMPTY_PIECE: R["GT106"],
    DiagnosticCode.EMPTY_KEY: R["GT107"],
}

_APP_HOST_LEVELS = frozenset({Level.APPLICATION_OPTIONS, Level.APPLICATION_ANNEX, Level.HOST_ANNEX})
_SOURCE_LEVEL = {
    Source.PORT: Level.PORT,
    Source.CONNECTION: Level.CONNECTION,
    Source.APPLICATION_OPTIONS: Level.APPLICATION_OPTIONS,
    Source.APPLICATION_ANNEX: Level.APPLICATION_ANNEX,
    Source.HOST_ANNEX: Level.HOST_ANNEX,
}


# =========================================================================================== helpers


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _days(delta: datetime.timedelta) -> str:
    days = delta.days
    if days < 1:
        hours = int(delta.total_seconds() // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{days} day{'s' if days != 1 else ''}"


def _subject(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string() or "(empty subject)"
    except Exception:  # a malformed name: never let a message crash the run
        return "(unreadable subject)"


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether ``parent`` signed ``child`` (name chaining and signature, via cryptography)."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def verify_chain(chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]) -> str | None:
    """Check that ``chain`` (leaf first, then intermediates in any order) leads to one of ``anchors``.

    Walks from the leaf to its issuer, taken from the anchors first and then from the intermediates, checking
    each signature with :meth:`cryptography.x509.Certificate.verify_directly_issued_by`. A certificate that
    is itself an anchor ends the walk. Dates and extensions are not checked here (other rules report them).

    Args:
        chain: the certificates a peer sends, leaf first.
        anchors: the trusted CA certificates.

    Returns:
        ``None`` when the chain verifies, else the reason in one sentence.
    """
    if not chain:
        return "there is no certificate"
    anchor_prints = {_fingerprint(a) for a in anchors}
    current = chain[0]
    pool = list(chain[1:])
    for _ in range(len(chain) + 1):
        if _fingerprint(current) in anchor_prints:
            return None
        if any(_issued_by(current, anchor) for anchor in anchors):
            return None
        step = next((c for c in pool if _issued_by(current, c)), None)
        if step is None:
            break
        pool.remove(step)
        current = step
    issuer = current.issuer.rfc4514_string()
    if any(anchor.subject == current.issuer for anchor in anchors) or any(
        c.subject == current.issuer for c in pool
    ):
        return (
            f"a CA named {issuer!r} is there, but its key did not sign {_subject(current)!r} (another CA with "
            "the same name, or a corrupted certificate)"
        )
    trusted = "; ".join(sorted({_subject(a) for a in anchors})[:5]) or "none"
    return (
        f"nothing trusted issued {_subject(current)!r}: its issuer {issuer!r} is neither in the trusted CAs "
        f"({trusted}) nor among the intermediates in the certificate file"
    )


def _path_values(ctx: LintContext, opt: Option, value: str) -> list[Path]:
    """The files an option value names (``certificate`` may be a comma-separated chain), made absolute."""
    parts = value.split(",") if opt.kind is Kind.CERTIFICATE else [value]
    out = []
    for part in parts:
        path = Path(part.strip())
        if not path.is_absolute() and ctx.env.base_dir is not None:
            path = ctx.env.base_dir / path
        out.append(path)
    return out


@attrs.frozen
class _Layer:
    """One place options are written: a Host Annex, Application Options/Annex, a Port, a Connection."""

    object: str
    level: Level
    values: Mapping[str, str]
    windows: bool
    transport: TransportParameters | None = None


def _connection_object(app: Application, conn: Connection) -> str:
    return f"{app.name} -> {conn.server}/{conn.port_id or DEFAULT_PORT_ID}"


def _layers(ctx: LintContext) -> Iterator[_Layer]:
    env = ctx.env
    for host in env.hosts.values():
        yield _Layer(host.name, Level.HOST_ANNEX, host.security, host.os is HostOS.WINDOWS)
    for app in env.applications.values():
        own = env.host_of(app)
        windows = bool(own is not None and own.os is HostOS.WINDOWS)
        yield _Layer(app.name, Level.APPLICATION_OPTIONS, app.security_options, windows)
        yield _Layer(app.name, Level.APPLICATION_ANNEX, app.security_annex, windows)
        for port in app.ports.values():
            yield _Layer(f"{app.name}/{port.id}", Level.PORT, port.transport, windows, port.transport)
        for conn in app.connections:
            yield _Layer(_connection_object(app, conn), Level.CONNECTION, conn.transport, windows, conn.transport)


# =========================================================================================== scan 1: layers


def scan_layers(ctx: LintContext) -> None:
    """Everything that can be judged where it is written, level by level (GT1xx, GT3xx/GT4xx file content)."""
    for layer in _layers(ctx):
        ctx.guard(layer.object, layer.level.value, _check_layer, ctx, layer)


def _check_layer(ctx: LintContext, layer: _Layer) -> None:
    if layer.transport is not None:
        for diag in layer.transport.diagnostics:
            key = diag.key.strip() if diag.key else None
            ctx.emit(
                _DIAGNOSTIC_RULES[diag.code].finding(
                    layer.object,
                    f"{diag.message} (character {diag.position} of {layer.transport.text!r})",
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
    _check_files(ctx, layer, valid)


def _check_spelling(ctx: LintContext, layer: _Layer, name: str) -> None:
    close = difflib.get_close_matches(name.lower(), list(CATALOGUE), n=1, cutoff=0.8)
    if close:
        ctx.emit(
            R["GT113"].finding(
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
        if opt.name == "tls" and layer.level in _APP_HOST_LEVELS:
            _tls_outside_transport(ctx, layer, value)
        else:
            documented = ", ".join(lv.value for lv in Level if lv in opt.levels)
            effect = ""
            if opt.side.value == "server" and layer.level is Level.CONNECTION:
                effect = "; on a client it has no effect (the client takes it from the server's port)"
            elif opt.side.value == "client" and layer.level is Level.PORT:
                effect = "; on a server port it has no effect (it governs clients)"
            ctx.emit(
                R["GT111"].finding(
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
            R["GT110"].finding(
                layer.object,
                f"{exc.reason}; got {value!r}",
                hint=f"valid: {valid}" if valid else R["GT110"].fix,
                level=layer.level,
                option=opt.name,
            )
        )
        return None
    if opt.kind is Kind.BOOLEAN and value not in BOOLEAN_CANONICAL:
        ctx.emit(
            R["GT112"].finding(
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
        R["GT114"].finding(
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
            R["GT210"].finding(
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
            R["GT211"].finding(
                layer.object, f"cipher-list {value!r}: {problem}", level=layer.level, option="cipher-list"
            )
        )


# --- file content at the level where the file is named ------------------------------------------------


def _check_files(ctx: LintContext, layer: _Layer, valid: Mapping[str, str]) -> None:
    pem = valid.get("provider", FILE_PROVIDER) == FILE_PROVIDER
    certs: list[x509.Certificate] | None = None
    for name in ("certificate", "trusted-ca"):
        value = valid.get(name)
        if value is None or not pem or is_thumbprint(value):
            continue
        loaded = _load_certificates(ctx, layer, name, value)
        if name == "certificate":
            certs = loaded
    key_value = valid.get("certificate-key")
    if key_value is not None and pem:
        key_path = _path_values(ctx, CATALOGUE["certificate-key"], key_value)[0]
        entry = ctx.files.private_key(key_path)
        if entry.problem is not None:
            _file_problem(ctx, layer, "certificate-key", entry.problem)
        elif certs and entry.value is not None and spki(entry.value) != spki(certs[0]):
            ctx.emit(
                R["GT304"].finding(
                    layer.object,
                    f"certificate-key {key_path} is not the private key of certificate "
                    f"{_subject(certs[0])!r} (the public keys differ)",
                    level=layer.level,
                    option="certificate-key",
                )
            )
    crl_value = valid.get("tls-crl")
    if crl_value is not None:
        crl_path = _path_values(ctx, CATALOGUE["tls-crl"], crl_value)[0]
        entry_crl = ctx.files.crls(crl_path)
        if entry_crl.problem is not None:
            _file_problem(ctx, layer, "tls-crl", entry_crl.problem)
        elif entry_crl.value is not None:
            for code, message in ctx.memo(("crl-dates", str(crl_path)), lambda: _crl_dates(ctx, crl_path)):
                ctx.emit(R[code].finding(layer.object, message, level=layer.level, option="tls-crl"))
            _check_crl_trust_here(ctx, layer, valid, crl_path, entry_crl.value)


def _check_crl_trust_here(
    ctx: LintContext,
    layer: _Layer,
    valid: Mapping[str, str],
    crl_path: Path,
    crls: Sequence[x509.CertificateRevocationList],
) -> None:
    """A CRL named next to a trusted-ca (and maybe a certificate) at the same level: are they of one PKI?

    The signers are those genesys_tls.contexts uses: the trusted CAs and the CA certificates among the
    intermediates of the certificate file. The message is the one the link checks give, so a link that uses
    the same pair adds no second finding.
    """
    ca_value = valid.get("trusted-ca")
    if ca_value is None or is_thumbprint(ca_value) or valid.get("provider", FILE_PROVIDER) != FILE_PROVIDER:
        return
    ca_path = _path_values(ctx, CATALOGUE["trusted-ca"], ca_value)[0]
    trusted = ctx.files.certificates(ca_path).value
    if not trusted:
        return
    own: tuple[x509.Certificate, ...] = ()
    cert_key = ""
    cert_value = valid.get("certificate")
    if cert_value is not None and not is_thumbprint(cert_value):
        paths = _path_values(ctx, CATALOGUE["certificate"], cert_value)
        loaded = [ctx.files.certificates(p).value for p in paths]
        if all(loaded):
            own = tuple(c for certs in loaded for c in (certs or ())[1:] if is_ca(c))
            cert_key = str(paths[0]) if own else ""
    signers = (*trusted, *own)
    verdict = ctx.memo(
        ("crl-trust", str(crl_path), f"{ca_path}+{cert_key}"), lambda: _trust_crls(crls, signers, crl_path)
    )
    if isinstance(verdict, str):
        ctx.emit(
            R["GT404"].finding(
                layer.object,
                f"tls-crl {crl_path} cannot be used with trusted-ca {ca_path}: {verdict}",
                level=layer.level,
                option="tls-crl",
            )
        )


def _load_certificates(
    ctx: LintContext, layer: _Layer, name: str, value: str
) -> list[x509.Certificate] | None:
    out: list[x509.Certificate] = []
    ok = True
    for path in _path_values(ctx, CATALOGUE[name], value):
        entry = ctx.files.certificates(path)
        if entry.problem is not None:
            _file_problem(ctx, layer, name, entry.problem)
            ok = False
            continue
        assert entry.value is not None  # noqa: S101 - a loaded entry without a problem has a value
        out.extend(entry.value)
        for code, message in _cert_dates_of(ctx, path, entry.value):
            ctx.emit(R[code].finding(layer.object, message, level=layer.level, option=name))
    return out if ok else None


def _file_problem(ctx: LintContext, layer: _Layer, option: str, problem: Any) -> None:
    ctx.emit(R[problem.code].finding(layer.object, f"{option}: {problem.message}", level=layer.level, option=option))


def _cert_dates_of(
    ctx: LintContext, path: Path, certs: Sequence[x509.Certificate]
) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = ctx.memo(("cert-dates", str(path)), lambda: _cert_dates(ctx, path, certs))
    return result


def _cert_dates(ctx: LintContext, path: Path, certs: Sequence[x509.Certificate]) -> list[tuple[str, str]]:
    out = []
    soon = ctx.now + datetime.timedelta(days=ctx.expiry_days)
    for cert in certs:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        who = f"{path}: certificate {_subject(cert)!r}"
        if end <= ctx.now:
            out.append(("GT305", f"{who} expired on {_utc(end)} ({_days(ctx.now - end)} ago)"))
        elif start > ctx.now:
            out.append(("GT307", f"{who} is not valid before {_utc(start)}"))
        elif end <= soon:
            out.append(
                ("GT306", f"{who} expires on {_utc(end)}, in {_days(end - ctx.now)} (window: {ctx.expiry_days} days)")
            )
    return out


def _crl_dates(ctx: LintContext, path: Path) -> list[tuple[str, str]]:
    entry = ctx.files.crls(path)
    crls = entry.value or ()
    out = []
    soon = ctx.now + datetime.timedelta(days=ctx.expiry_days)
    for index, crl in enumerate(crls):
        number = f" {index + 1} of {len(crls)}" if len(crls) > 1 else ""
        which = f"{path}: CRL{number} of {crl.issuer.rfc4514_string()!r}"
        this_update, next_update = crl.last_update_utc, crl.next_update_utc
        if this_update > ctx.now:
            out.append(("GT403", f"{which} is not valid before its thisUpdate {_utc(this_update)}"))
        elif next_update is None:
            out.append(("GT403", f"{which} has no nextUpdate, so it can never be known current"))
        elif next_update <= ctx.now:
            out.append(("GT401", f"{which} expired: nextUpdate {_utc(next_update)} has passed"))
        elif next_update <= soon:
            out.append(
                (
                    "GT402",
                    f"{which} expires on {_utc(next_update)}, in {_days(next_update - ctx.now)} "
                    f"(window: {ctx.expiry_days} days)",
                )
            )
    return out


# =========================================================================================== resolved sides


def _level_object(res: ResolvedSecurity, source: Source, obj: str | None) -> tuple[str, str | None]:
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


def _where(res: ResolvedSecurity, name: str) -> tuple[str, str | None]:
    """Where the value of ``name`` is written (the group's level for an unset group member)."""
    opt = res[name]
    if opt.source is Source.DEFAULT:
        if opt.group_level is not None:
            return _level_object(res, opt.group_level, None)
        return res.object, None
    return _level_object(res, opt.source, opt.object)


def _describe_where(res: ResolvedSecurity, name: str) -> str:
    obj, level = _where(res, name)
    return f"{level} of {obj}" if level else obj


@attrs.frozen
class _Side:
    """What one end of a link presents and trusts, loaded from the files (``None``: unset or unusable)."""

    chain: tuple[x509.Certificate, ...] | None
    chain_key: tuple[str, ...]
    trusted: tuple[x509.Certificate, ...] | None
    trusted_key: str | None
    thumbprint: bool

    @property
    def crl_signers(self) -> tuple[tuple[x509.Certificate, ...], str] | None:
        """The CAs that may sign this side's CRLs, as genesys_tls.contexts uses them: the trusted CAs and the
        CA certificates among its own intermediates; with a key for memoization."""
        if self.trusted is None or self.trusted_key is None:
            return None
        own = tuple(c for c in (self.chain or ())[1:] if is_ca(c))
        return (*self.trusted, *own), f"{self.trusted_key}+{','.join(self.chain_key[:1]) if own else ''}"


def _side(ctx: LintContext, res: ResolvedSecurity) -> _Side:
    def build() -> _Side:
        chain: tuple[x509.Certificate, ...] | None = None
        chain_key: tuple[str, ...] = ()
        trusted: tuple[x509.Certificate, ...] | None = None
        trusted_key: str | None = None
        thumbprint = False
        pem = res.uses_pem_files
        cert_value = res["certificate"].value
        if cert_value and is_thumbprint(cert_value):
            thumbprint = True
        elif cert_value and pem:
            paths = res.paths("certificate")
            loaded = [ctx.files.certificates(p) for p in paths]
            if all(e.value for e in loaded):
                chain = tuple(c for e in loaded for c in e.value or ())
                chain_key = tuple(str(p) for p in paths)
        ca_value = res["trusted-ca"].value
        if ca_value and not is_thumbprint(ca_value) and pem:
            path = res.paths("trusted-ca")[0]
            entry = ctx.files.certificates(path)
            if entry.value:
                trusted, trusted_key = tuple(entry.value), str(path)
        return _Side(chain, chain_key, trusted, trusted_key, thumbprint)

    # Relative paths resolve against the environment's folder, the same for every object of a run.
    key = ("side", res["certificate"].value, res["trusted-ca"].value, res["provider"].normalized)
    result: _Side = ctx.memo(key, build)
    return result


def _check_group(ctx: LintContext, res: ResolvedSecurity) -> None:
    for member in CERTIFICATE_GROUP:
        opt = res[member]
        if opt.source is not Source.DEFAULT or opt.group_level is None or not opt.shadowed:
            continue
        group_obj, group_level = _level_object(res, opt.group_level, None)
        lost = opt.shadowed[0]
        lost_obj, lost_level = _level_object(res, lost.source, lost.object)
        ctx.emit(
            R["GT203"].finding(
                group_obj,
                f"the certificate group is taken from {group_level} of {group_obj}, which does not set {member}; "
                f"{member}={lost.value} at {lost_level} of {lost_obj} is ignored",
                hint=f"set {member} at {group_level} of {group_obj} too, or move the whole group to one level",
                level=group_level,
                option=member,
            )
        )


def _check_protocol_level(ctx: LintContext, res: ResolvedSecurity) -> None:
    proto, cert = res["sec-protocol"], res["certificate"]
    if not proto.is_set or not cert.is_set or (proto.source is cert.source and proto.object == cert.object):
        return
    obj, level = _where(res, "sec-protocol")
    ctx.emit(
        R["GT204"].finding(
            obj,
            f"sec-protocol={proto.value} is set at {level} of {obj}, but the certificate at "
            f"{_describe_where(res, 'certificate')}; Genesys requires them at the same level on one component",
            hint=f"move sec-protocol to {_describe_where(res, 'certificate')}",
            level=level,
            option="sec-protocol",
        )
    )


def _check_key(ctx: LintContext, res: ResolvedSecurity) -> None:
    cert = res["certificate"]
    if not cert.value or res["certificate-key"].value or is_thumbprint(cert.value):
        return
    if not res.uses_pem_files:
        return
    first = res.paths("certificate")[0]
    if ctx.files.certificates(first).value and ctx.files.holds_private_key(first):
        return  # the key is in the certificate file, where components look when certificate-key is unset
    obj, level = _where(res, "certificate")
    ctx.emit(
        R["GT202"].finding(
            obj,
            f"certificate={cert.value} at {level} of {obj} has no certificate-key at that level "
            "(UNIX and the PEM provider need the key file)",
            level=level,
            option="certificate-key",
        )
    )


def _offers_tls(res: ResolvedSecurity) -> tuple[bool, bool]:
    """(offers TLS, requires TLS) for a server port: ``upgrade=1`` accepts TLS and plain clients."""
    upgrade = res["upgrade"].as_bool()
    return res.tls or upgrade, res.tls and not upgrade


# =========================================================================================== scan 2: ports


def scan_ports(ctx: LintContext) -> None:
    """Effective settings of every listening port (resolved once each, reused by the connection scan)."""
    for app in ctx.env.applications.values():
        for port_id in app.ports:
            ctx.guard(f"{app.name}/{port_id}", Level.PORT.value, _check_port, ctx, app.name, port_id)


def _check_port(ctx: LintContext, app: str, port_id: str) -> None:
    res = ctx.server(app, port_id)
    if res is None:
        return
    offers, _ = _offers_tls(res)
    if not offers:
        return
    if res["certificate"].value is None:
        ctx.emit(
            R["GT201"].finding(
                res.object,
                f"the port is secure ({_why_secure(res)}) but none of its levels sets a certificate (the port, "
                f"{app}'s options and annex{f', host {res.host} annex' if res.host else ''})",
                level=Level.PORT.value,
                option="certificate",
            )
        )
    _check_key(ctx, res)
    _check_group(ctx, res)
    _check_protocol_level(ctx, res)
    if res.mode is Mode.MUTUAL and res["trusted-ca"].value is None and not res.windows:
        obj, level = _where(res, "trusted-ca")  # the certificate group's level, where trusted-ca belongs
        group = f" (its certificate group is at {level} of {obj})" if level else ""
        ctx.emit(
            R["GT207"].finding(
                obj,
                f"{res.object} requires client certificates (tls-mutual=1 at {_describe_where(res, 'tls-mutual')}) "
                f"but has no trusted-ca to verify them{group}",
                level=level,
                option="trusted-ca",
            )
        )


def _why_secure(res: ResolvedSecurity) -> str:
    if res.tls:
        return f"tls={res['tls'].value} set at {_describe_where(res, 'tls')}"
    return f"upgrade={res['upgrade'].value} set at {_describe_where(res, 'upgrade')}"


# =========================================================================================== scan 3: connections


def scan_connections(ctx: LintContext) -> None:
    """Every client connection: its effective settings, and both ends of the link together."""
    for app in ctx.env.applications.values():
        seen: set[tuple[str, str]] = set()
        for conn in app.connections:
            obj = _connection_object(app, conn)
            target = (conn.server, conn.port_id or DEFAULT_PORT_ID)
            if target in seen:
                ctx.emit(
                    R["GT216"].finding(
                        obj,
                        f"{app.name} has another connection to {conn.server} port {target[1]} before this one; "
                        "only the first is used and checked",
                        level=Level.CONNECTION.value,
                    )
                )
                continue
            seen.add(target)
            ctx.guard(obj, Level.CONNECTION.value, _check_connection, ctx, app, conn)


def _check_connection(ctx: LintContext, app: Application, conn: Connection) -> None:
    server_app = ctx.env.applications[conn.server]
    port_id = conn.port_id or DEFAULT_PORT_ID
    _check_port_id_quirk(ctx, app, conn, server_app)
    try:
        res = ctx.count_client(lambda: resolve_client(ctx.env, app.name, conn.server, port_id, reading=ctx.reading))
    except ConfigurationError:
        return  # an invalid value where it is read: GT110 reports it where it is written
    srv = ctx.server(server_app.name, port_id) if port_id in server_app.ports else None
    offers, requires = _offers_tls(srv) if srv is not None else (False, False)
    if srv is not None:
        _check_mismatch(ctx, res, srv, offers, requires)
    _check_tls_off(ctx, res)
    if not (res.tls or requires):
        return
    _check_support(ctx, app, server_app, res)
    if not res.tls:
        return
    _check_key(ctx, res)
    _check_group(ctx, res)
    _check_protocol_level(ctx, res)
    if res.mode is Mode.ENCRYPTION_ONLY:
        obj, level = _where(res, "client-auth")
        ctx.emit(
            R["GT208"].finding(
                obj,
                f"client-auth=0 at {level} of {obj}: the client does not authenticate the server (encryption "
                "only, open to a man in the middle)",
                level=level,
                option="client-auth",
            )
        )
    if res.mode is Mode.MUTUAL and res["certificate"].value is None:
        ctx.emit(
            R["GT205"].finding(
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
        R["GT213"].finding(
            _connection_object(app, conn),
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
            f"the client starts TLS (tls from {_describe_where(res, 'tls')}) but port {srv.port_id} of "
            f"{srv.application} is plain"
        )
    elif not res.tls and requires:
        message = (
            f"the client connects in plain text but port {srv.port_id} of {srv.application} requires TLS "
            f"({_why_secure(srv)})"
        )
        if srv["tls"].source is not Source.PORT:
            message += "; a client reads tls only from the port's own transport parameters"
    else:
        return
    ctx.emit(R["GT214"].finding(res.object, message, level=Level.CONNECTION.value, option="tls"))


def _check_tls_off(ctx: LintContext, res: ResolvedSecurity) -> None:
    tls = res["tls"]
    if tls.source is not Source.TARGET_PORT:
        return
    for lost in tls.shadowed:
        if lost.source is Source.TARGET_PORT or parse_boolean(lost.value) is not False:
            continue
        obj, level = _level_object(res, lost.source, lost.object)
        ctx.emit(
            R["GT212"].finding(
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
                    R["GT503"].finding(
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
            R["GT501"].finding(
                res.object,
                f"TLS on {pair}: {notes}",
                level=Level.CONNECTION.value,
            )
        )
    else:
        ctx.emit(
            R["GT502"].finding(
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
            R["GT215"].finding(
                res.object,
                f"the client's sec-protocol={client or '(empty)'} ({_describe_where(res, 'sec-protocol')}) and "
                f"the port's sec-protocol={server or '(empty)'} ({_describe_where(srv, 'sec-protocol')}) share no "
                "TLS version",
                level=Level.CONNECTION.value,
                option="sec-protocol",
            )
        )


# --- both ends of a link: chains, names, revocation --------------------------------------------------------


def _check_link_files(ctx: LintContext, res: ResolvedSecurity, srv: ResolvedSecurity) -> None:
    server_side = _side(ctx, srv)
    client_side = _side(ctx, res)
    if res.authenticates_peer:
        _check_name_check(ctx, res)
        if res["trusted-ca"].value is None:
            ctx.emit(
                R["GT206"].finding(
                    res.application,
                    f"{res.application} authenticates the servers it connects to but has no trusted-ca "
                    f"(client-auth is {res['client-auth'].normalized}); it relies on a platform store",
                    option="trusted-ca",
                )
            )
        if server_side.chain is not None:
            anchors, anchors_key, what = client_side.trusted, client_side.trusted_key, "the client's trusted-ca"
            if res["trusted-ca"].value is None and not res.windows:
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
    obj, level = _where(res, "tls-target-name-check")
    if level is None:
        obj = res.application
    value = res["tls-target-name-check"].value
    ctx.emit(
        R["GT209"].finding(
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
    presented: _Side,
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
        R["GT309"].finding(
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
    source = "tls-target-name" if res["tls-target-name"].value else "the server's Host name"
    ctx.emit(
        R["GT308"].finding(
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
    presented: _Side,
    verifier_side: _Side,
    what: str,
    *,
    report_on: str | None = None,
) -> None:
    """Revocation of ``presented``'s leaf by the CRLs of ``verifier`` (the side that checks it)."""
    crl_value = verifier["tls-crl"].value
    if not crl_value or presented.chain is None:
        return
    crl_path = verifier.paths("tls-crl")[0]
    entry = ctx.files.crls(crl_path)
    signers = verifier_side.crl_signers
    if not entry.value or signers is None or verifier_side.trusted is None:
        return
    crl_obj, crl_level = _where(verifier, "tls-crl")
    chain = presented.chain
    crls = entry.value
    verdict = ctx.memo(
        ("revocation", presented.chain_key, str(crl_path), signers[1]),
        lambda: _revocation(crls, signers[0], crl_path, chain, verifier_side.trusted or ()),
    )
    if verdict is None:
        return
    kind, detail = verdict
    if kind == "untrusted":
        ctx.emit(
            R["GT404"].finding(
                crl_obj,
                f"tls-crl {crl_path} cannot be used with trusted-ca {verifier_side.trusted_key}: {detail}",
                level=crl_level,
                option="tls-crl",
            )
        )
    elif kind == "revoked":
        ctx.emit(
            R["GT310"].finding(
                report_on or verifier.object,
                f"{what} ({','.join(presented.chain_key)}, serial {detail}) is revoked by {crl_path}",
                level=Level.CONNECTION.value,
                option="certificate",
            )
        )
    else:
        ctx.emit(
            R["GT405"].finding(
                crl_obj,
                f"tls-crl {crl_path} has no CRL from {detail}, which issued {what}: revocation checks of it fail "
                "(unable to get certificate CRL)",
                level=crl_level,
                option="tls-crl",
            )
        )


def _revocation(
    crls: Sequence[x509.CertificateRevocationList],
    signers: Sequence[x509.Certificate],
    path: Path,
    chain: Sequence[x509.Certificate],
    trusted: Sequence[x509.Certificate],
) -> tuple[str, str] | None:
    """What the CRLs of ``path`` say about ``chain``'s leaf: ``("untrusted", why)``, ``("revoked", serial)``,
    ``("no-issuer", issuer subject)`` or ``None`` (fine, or dates make the question moot)."""
    checked = _trust_crls(crls, signers, path)
    if isinstance(checked, str):
        return "untrusted", checked
    if checked is None:
        return None  # no moment where every CRL is current: GT401/GT403 report the dates
    leaf = chain[0]
    if checked.is_revoked(leaf):
        return "revoked", f"{leaf.serial_number:#x}"
    issuer = next((c for c in (*trusted, *chain[1:]) if _issued_by(leaf, c)), None)
    if issuer is not None and not checked.covers(issuer):
        return "no-issuer", repr(_subject(issuer))
    return None


def _trust_crls(
    crls: Sequence[x509.CertificateRevocationList], trusted: Sequence[x509.Certificate], path: Path
) -> Any:
    """The CRLs checked against the trusted CAs: ``CheckedCRLs``, a reason (str), or None (no common window).

    ``crl.check_crls`` checks signatures and dates together; the dates are reported by GT401-GT403 where the
    file is named, so the signatures are checked at a moment when every CRL is current (the latest
    thisUpdate), and only the signature verdict is taken from it.
    """
    from ..crl import check_crls

    if any(c.next_update_utc is None for c in crls):
        return None
    probe = max(c.last_update_utc for c in crls)
    if probe >= min(c.next_update_utc for c in crls if c.next_update_utc is not None):
        return None
    try:
        return check_crls(crls, trusted, now=probe, path=path)
    except TLSError as exc:
        return exc.detail
