"""The lint rule registry: every rule with its example, and :func:`rule` to look one up.

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

This module is also the public façade of the vocabulary (:class:`Finding`, :class:`Rule`, :class:`Severity`,
defined in :mod:`genesys_tls.lint.findings`). The checks that apply the rules are grouped by scope:
:mod:`~genesys_tls.lint.layers` (what is written at one level), :mod:`~genesys_tls.lint.files` (file
content), :mod:`~genesys_tls.lint.ports` (one side's effective settings) and :mod:`~genesys_tls.lint.links`
(both ends of a connection); they run over a :class:`~genesys_tls.lint.context.LintContext`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigurationError
from .examples import CLIENT, HOSTS, host_only, link, port_only, server
from .findings import Finding, Rule, Severity
from .names_rules import NAME_RULES

__all__ = ["RULES", "Finding", "Rule", "Severity", "rule"]

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N: "note", SARIF's name for info

_RULE_LIST: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- GT1xx: what is written at one level
    Rule(
        "GT101", "transport-space", E,
        "White space around ';' or '=' in transport parameters",
        "Genesys allows no spaces in transport parameters. The runtime does not trim them: in "
        "'tls=1; tls-mutual=1' the second name is ' tls-mutual', which nothing reads, so mutual TLS is off "
        "without any error.",
        "Remove the spaces: 'tls=1;tls-mutual=1'.",
        port_only("tls=1; tls-mutual=1"),
        port_only("tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT102", "transport-case", E,
        "Transport parameter name in the wrong case",
        "Transport parameter names are case-sensitive: 'TLS=1' is not 'tls=1' and is ignored, so the port is "
        "not secure.",
        "Write the name in lower case, as the option reference spells it.",
        port_only("TLS=1"),
        port_only("tls=1"),
    ),
    Rule(
        "GT103", "transport-duplicate", W,
        "Transport parameter given twice",
        "When a name is repeated the first value wins and the others are ignored ('tls=1;tls=0' is on). The "
        "string does not say what its author meant.",
        "Keep one occurrence, with the value you mean.",
        port_only("tls=1;tls=0"),
        port_only("tls=1"),
    ),
    Rule(
        "GT104", "transport-unknown-key", W,
        "Unknown transport parameter",
        "No Genesys component reads this name, so it has no effect; it is often a misspelt option "
        "('tls-mutal').",
        "Correct the name or remove the parameter.",
        port_only("tls=1;tls-mutal=1"),
        port_only("tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT105", "transport-no-equals", W,
        "Transport parameter without '='",
        "A piece without '=' ('mutual') is ignored by the runtime.",
        "Write it as name=value, or remove it.",
        port_only("tls=1;mutual"),
        port_only("tls=1"),
    ),
    Rule(
        "GT106", "transport-empty-piece", N,
        "Empty piece in transport parameters",
        "';;' or a leading ';' gives an empty piece, which is ignored. Harmless, but often the trace of a "
        "deleted parameter.",
        "Remove the extra ';'.",
        port_only("tls=1;;tls-mutual=1"),
        port_only("tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT107", "transport-empty-key", W,
        "Transport parameter without a name",
        "A piece such as '=1' has no name and is ignored.",
        "Write the name before '=', or remove the piece.",
        port_only("tls=1;=1"),
        port_only("tls=1"),
    ),
    Rule(
        "GT110", "invalid-value", E,
        "Invalid option value",
        "The value is not one the option accepts (checked at every level, also where a stronger level "
        "shadows it). The Platform SDK reads most invalid values as 'off' or 'no check' without a word; "
        "genesys_tls refuses them.",
        "Use one of the valid values the message lists (docs/options.md).",
        host_only("{tls-target-name-check: hostname}"),
        host_only("{tls-target-name-check: host}"),
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
        port_only("tls=yes"),
        port_only("tls=1"),
    ),
    Rule(
        "GT113", "misspelled-option", W,
        "[security] option name close to a known one",
        "A name in a [security] section that is not a TLS option but is close to one ('trusted_ca', "
        "'Certificate') is most likely a typo, and nothing reads it. Other names are left alone: [security] "
        "also holds options that have nothing to do with TLS.",
        "Spell the option as the reference does.",
        host_only("{certificate: srv.pem, certificate-key: srv.key, trusted_ca: ca.pem}"),
        host_only("{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT114", "tls-outside-transport", W,
        "'tls' set in Application or Host [security]",
        "The documentation says 'tls' is set only on the Port (server) or the Connection (client). The "
        "Platform SDK also reads it in Application Options/Annex and the Host Annex, where it turns TLS on "
        "for every port of the server, or every connection of the client; native components ignore it "
        "there. The two disagree (worked case 11 in docs/precedence.md; lint --reading chooses which one the "
        "other rules follow).",
        "Remove 'tls' from [security] and set tls=1 in the transport parameters of each secure port.",
        "hosts:\n  srv: {annex: {security: {certificate: srv.pem, certificate-key: srv.key}}}\n"
        "applications:\n" + server("", "    options: {security: {tls: 1}}\n").replace(
            ', transport: ""', ""
        ),
        port_only("tls=1"),
    ),
    # ---------------------------------------------------------------- GT2xx: effective settings
    Rule(
        "GT201", "secure-port-no-certificate", E,
        "Secure port without a certificate",
        "The port is secure (tls=1, or upgrade=1) but no level of its effective settings (port, application, "
        "host) gives a certificate: no client can complete a handshake.",
        "Set certificate and certificate-key on the port, the application or its host.",
        "hosts: {srv: {}}\napplications:\n" + server(),
        port_only("tls=1"),
    ),
    Rule(
        "GT202", "certificate-without-key", E,
        "Certificate without certificate-key",
        "On UNIX and with the PEM provider the private key is a separate file, named by certificate-key at "
        "the same level as the certificate (the certificate group is taken whole from one level). Windows "
        "thumbprints and the MSCAPI/PKCS11/JKS providers need no key file.",
        "Set certificate-key next to certificate, at the same level.",
        "hosts: {srv: {}}\napplications:\n" + server("tls=1;certificate=srv.pem"),
        "hosts: {srv: {}}\napplications:\n" + server("tls=1;certificate=srv.pem;certificate-key=srv.key"),
    ),
    Rule(
        "GT203", "certificate-group-split", E,
        "Certificate group split across levels",
        "certificate, certificate-key, trusted-ca, provider and fips140-enabled are taken whole from the "
        "first level that sets any of them (Platform SDK). A member set only at a weaker level is ignored: "
        "with the certificate on the port and the key at the application, the port has no key (worked "
        "case 4 in docs/precedence.md).",
        "Set the whole group at one level.",
        "hosts: {srv: {}}\napplications:\n"
        + server(
            "tls=1;certificate=srv.pem",
            "    options: {security: {certificate-key: srv.key, trusted-ca: ca.pem}}\n",
        ),
        "hosts: {srv: {}}\napplications:\n"
        + server(
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
        "applications:\n" + server("tls=1", "    options: {security: {sec-protocol: TLSv12}}\n"),
        port_only("tls=1", "{certificate: srv.pem, certificate-key: srv.key, sec-protocol: TLSv12}"),
    ),
    Rule(
        "GT205", "mutual-client-no-certificate", E,
        "Client of a mutual-TLS port without a certificate",
        "The server port has tls-mutual=1, so it requires a client certificate, but the client's effective "
        "settings have none: the handshake fails.",
        "Give the client a certificate and certificate-key (connection, application or its host).",
        link(port="tls=1;tls-mutual=1", cli="{trusted-ca: ca.pem}"),
        link(port="tls=1;tls-mutual=1"),
    ),
    Rule(
        "GT206", "no-trusted-ca", W,
        "Verifying client without trusted-ca",
        "The client authenticates the server but names no trusted-ca. It then depends on a platform store "
        "(Windows certificate store, Java cacerts; genesys_tls uses certifi), which does not hold a private "
        "CA: lint checks the chain against certifi on non-Windows hosts (GT309).",
        "Set trusted-ca to the CA file that issued the servers' certificates.",
        link(cli="{certificate: cli.pem, certificate-key: cli.key}"),
        link(),
    ),
    Rule(
        "GT207", "mutual-port-no-trusted-ca", E,
        "Mutual-TLS port without trusted-ca",
        "The port requires client certificates (tls-mutual=1) but has no trusted-ca to verify them: every "
        "client is refused (Windows hosts, which may use the system store, are not reported).",
        "Set trusted-ca to the CA file that issued the clients' certificates.",
        port_only("tls=1;tls-mutual=1", "{certificate: srv.pem, certificate-key: srv.key}"),
        port_only("tls=1;tls-mutual=1", "{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT208", "encryption-only", W,
        "client-auth=0: the server is not authenticated",
        "With client-auth=0 the client encrypts but accepts any server certificate (pre-8.1.3 behaviour): "
        "the link is open to a man in the middle.",
        "Remove client-auth=0 and give the client a trusted-ca.",
        link(conn="client-auth=0"),
        link(),
    ),
    Rule(
        "GT209", "no-target-name-check", W,
        "TLS connection without a server name check",
        "tls-target-name-check is not 'host', so the client accepts any certificate its CA issued, for any "
        "server.",
        "Set tls-target-name-check=host on the connection, the client application or its host.",
        link(conn=""),
        link(),
    ),
    Rule(
        "GT210", "legacy-protocol", W,
        "sec-protocol allows TLS 1.1",
        "SSLv23 and TLSv11 allow TLS 1.1, deprecated by RFC 8996 (TLSv1, SSLv3 and SSLv2 are refused outright: "
        "GT110).",
        "Leave sec-protocol empty (TLS 1.2 or newer), or use TLSv12 or TLSv13.",
        host_only("{sec-protocol: SSLv23}"),
        host_only("{sec-protocol: TLSv12}"),
    ),
    Rule(
        "GT211", "cipher-list-rejected", E,
        "cipher-list that OpenSSL rejects",
        "OpenSSL finds no cipher in the list, so the component cannot build its TLS context.",
        "Use OpenSSL cipher names ('openssl ciphers -v LIST' shows what a list selects).",
        host_only("{cipher-list: NOT-A-CIPHER}"),
        host_only("{cipher-list: 'ECDHE+AESGCM'}"),
    ),
    Rule(
        "GT212", "tls-off-ignored", W,
        "tls=0 on a client toward a secure port has no effect",
        "TLS on a client is on when its own settings say so OR the target port has tls=1 (worked case 9 in "
        "docs/precedence.md): tls=0 cannot turn it off, and suggests a plain connection that will not happen.",
        "Remove tls=0, or point the connection at a plain port.",
        link(conn="tls=0;tls-target-name-check=host"),
        link(),
    ),
    Rule(
        "GT213", "no-port-id-quirk", W,
        "Connection without port id to a secure default port",
        "The connection names no port id, so it dials the server's 'default' port, which has tls=1. The "
        "Platform SDK compares port ids to decide whether the target port is secure and finds none: a PSDK "
        "client connects in plain text unless tls=1 is set elsewhere, while native components use TLS (worked "
        "case 10 in docs/precedence.md).",
        "Set the connection's port id to 'default' (or tls=1 in its transport parameters).",
        HOSTS + "applications:\n"
        '  S: {type: T-Server, host: srv, ports: {default: {port: 7000, transport: "tls=1"}}}\n'
        "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections: [{server: S, transport: "tls-target-name-check=host"}]\n',
        HOSTS + "applications:\n"
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
        HOSTS + "applications:\n"
        '  S: {type: T-Server, host: srv, ports: {default: {port: 7000}}}\n'
        "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections: [{server: S, port-id: default, transport: "tls=1;tls-target-name-check=host"}]\n',
        link(conn="tls=1;tls-target-name-check=host"),
    ),
    Rule(
        "GT215", "no-common-protocol", E,
        "Client and server sec-protocol have no version in common",
        "Each side's sec-protocol gives a range of TLS versions (TLSv12: only 1.2; TLSv13: only 1.3; empty: "
        "1.2 or newer); when the ranges do not meet, the handshake fails.",
        "Use the same sec-protocol on both ends, or leave it empty (TLS 1.2 or newer).",
        link(
            srv="{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem, sec-protocol: TLSv13}",
            cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, sec-protocol: TLSv12}",
        ),
        link(
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
        HOSTS + "applications:\n" + server()
        + "  C:\n    type: Third Party Application\n    host: cli\n"
        '    connections:\n      - {server: S, port-id: secure, transport: "tls-target-name-check=host"}\n'
        "      - {server: S, port-id: secure}\n",
        HOSTS + "applications:\n" + server() + CLIENT,
    ),
    # ---------------------------------------------------------------- GT3xx: certificate and key files
    Rule(
        "GT301", "file-missing", E,
        "File not found",
        "A certificate, key, trusted-ca or tls-crl file does not exist (relative paths are relative to the "
        "environment file's folder).",
        "Correct the path, or install the file.",
        host_only("{certificate: missing.pem, certificate-key: srv.key}"),
        host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT302", "file-unreadable", E,
        "File cannot be read",
        "The path exists but cannot be read: a folder, or no permission.",
        "Point the option at a readable file.",
        host_only("{trusted-ca: folder}"),
        host_only("{trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT303", "file-invalid", E,
        "File is not what the option needs",
        "certificate and trusted-ca need PEM certificates, certificate-key a PEM private key, tls-crl a PEM "
        "or DER CRL; this file holds something else.",
        "Convert the file to PEM (openssl x509 -inform der -in F -out F.pem), or point at the right one.",
        host_only("{trusted-ca: not-pem.pem}"),
        host_only("{trusted-ca: ca.pem}"),
    ),
    Rule(
        "GT304", "key-mismatch", E,
        "certificate-key does not match the certificate",
        "The private key is not the key of the certificate's public key: the component cannot load them "
        "together.",
        "Point certificate-key at the key the certificate was issued for.",
        host_only("{certificate: srv.pem, certificate-key: cli.key}"),
        host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT305", "certificate-expired", E,
        "Certificate expired",
        "A certificate in a certificate or trusted-ca file is past its notAfter date: peers refuse it (a CA "
        "that expired fails every chain it anchors).",
        "Renew the certificate and replace the file.",
        host_only("{certificate: expired.pem, certificate-key: expired.key}"),
        host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT306", "certificate-expiring", W,
        "Certificate expires soon",
        "A certificate expires within the warning window (--expiry-days, default 30).",
        "Renew it before it expires.",
        host_only("{certificate: expiring.pem, certificate-key: expiring.key}"),
        host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT307", "certificate-not-yet-valid", E,
        "Certificate not valid yet",
        "The certificate's notBefore date is in the future: peers refuse it until then (or the host's clock "
        "is wrong).",
        "Use a certificate valid now, or check the clocks.",
        host_only("{certificate: future.pem, certificate-key: future.key}"),
        host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    Rule(
        "GT308", "name-mismatch", E,
        "Server certificate does not match the name the client checks",
        "The client has tls-target-name-check=host, and the server's certificate is not valid for the name "
        "it checks (tls-target-name, else the server's Host name), by the rules OpenSSL uses (SAN DNS/IP, "
        "CN only without DNS SAN, whole-label wildcards).",
        "Issue the server certificate for that name (SAN), or set tls-target-name to a name it carries.",
        link(srv="{certificate: wrong-name.pem, certificate-key: wrong-name.key, trusted-ca: ca.pem}"),
        link(),
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
        link(srv="{certificate: untrusted.pem, certificate-key: untrusted.key, trusted-ca: ca.pem}"),
        link(),
    ),
    Rule(
        "GT310", "certificate-revoked", E,
        "Certificate revoked by a CRL the peer uses",
        "The peer checks revocation (tls-crl) and the CRL lists this certificate's serial number: the "
        "handshake fails.",
        "Issue a new certificate and replace the file.",
        link(
            srv="{certificate: revoked.pem, certificate-key: revoked.key, trusted-ca: ca.pem}",
            cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl.pem}",
        ),
        link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl.pem}"),
    ),
    Rule(
        "GT311", "key-encrypted", N,
        "Private key is encrypted",
        "The key file is password-protected, so lint cannot check that it matches the certificate; the "
        "component needs the password at start-up.",
        "Nothing to do if the component is given the password; otherwise store the key unencrypted with "
        "tight file permissions.",
        host_only("{certificate: srv.pem, certificate-key: encrypted.key}"),
        host_only("{certificate: srv.pem, certificate-key: srv.key}"),
    ),
    # ---------------------------------------------------------------- GT4xx: CRL files
    Rule(
        "GT401", "crl-expired", E,
        "CRL expired",
        "The CRL's nextUpdate has passed: OpenSSL fails every handshake it is used for ('CRL has expired').",
        "Publish a fresh CRL from the CA and replace the file.",
        host_only("{tls-crl: crl-expired.pem}"),
        host_only("{tls-crl: crl.pem}"),
    ),
    Rule(
        "GT402", "crl-expiring", W,
        "CRL expires soon",
        "The CRL's nextUpdate falls within the warning window (--expiry-days, default 30).",
        "Make sure a fresh CRL replaces the file before then.",
        host_only("{tls-crl: crl-expiring.pem}"),
        host_only("{tls-crl: crl.pem}"),
    ),
    Rule(
        "GT403", "crl-not-current", E,
        "CRL not valid yet or without nextUpdate",
        "The CRL's thisUpdate is in the future, or it has no nextUpdate so it can never be known current: "
        "checks that use it fail (crl-unavailable).",
        "Use a CRL that is current now, with a nextUpdate.",
        host_only("{tls-crl: crl-future.pem}"),
        host_only("{tls-crl: crl.pem}"),
    ),
    Rule(
        "GT404", "crl-untrusted", E,
        "CRL not signed by a trusted CA",
        "A CRL is used with the trusted-ca of the same side; a CRL whose issuer is not there, or whose "
        "signature does not verify with that CA's key, cannot be used and the check fails closed.",
        "Use the CRL published by the CA in trusted-ca (or add its CA to trusted-ca).",
        link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl-other.pem}"),
        link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem, tls-crl: crl.pem}"),
    ),
    Rule(
        "GT405", "crl-missing-issuer", E,
        "No CRL for the issuer of the peer's certificate",
        "Revocation checking is on (tls-crl) but the file holds no CRL from the CA that issued the peer's "
        "certificate; OpenSSL then fails the handshake ('unable to get certificate CRL', worked case 20 in "
        "docs/precedence.md).",
        "Add the CRL of that CA to the tls-crl file.",
        link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: cas.pem, tls-crl: crl-other.pem}"),
        link(cli="{certificate: cli.pem, certificate-key: cli.key, trusted-ca: cas.pem, tls-crl: crl.pem}"),
    ),
    # ---------------------------------------------------------------- GT5xx: Genesys support
    Rule(
        "GT501", "tls-unsupported-connection", W,
        "TLS on a connection Genesys does not list as supporting TLS",
        "The Supporting Components list of the Security Deployment Guide does not name TLS between these "
        "application types (genesys_tls.support, docs/support-matrix.md).",
        "Check the components' documentation; use a plain connection or a supported path if TLS is not "
        "supported.",
        link(client_type="CCView"),
        link(),
    ),
    Rule(
        "GT502", "tls-special-connection", N,
        "TLS on a connection that Genesys secures another way",
        "The list names this connection with a special case: GVP's own TLS format, WFM's OpenSSL, "
        "Configuration Server's auto-detect (upgrade) port, HTTPS, database SSL, LDAPS, SIP TLS; the "
        "message gives the note.",
        "Follow the component's documentation for this connection.",
        link(client_type="Interaction Workspace", server_type="Configuration Server"),
        link(client_type="Interaction Workspace", server_type="Configuration Server", port="upgrade=1",
              conn="tls-target-name-check=host"),
    ),
    Rule(
        "GT503", "unknown-application-type", N,
        "Application type unknown to the support data",
        "The application takes part in TLS connections but its type is not in the Supporting Components "
        "data, so lint cannot say whether Genesys supports TLS there.",
        "Use the type Genesys Administrator shows (docs/support-matrix.md lists the known ones).",
        link(client_type="Acme Dialer"),
        link(),
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

