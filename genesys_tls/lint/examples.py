"""Builders of the small environments (YAML text) the rule examples are written with.

The examples of :data:`genesys_tls.lint.rules.RULES` and the tests use them; file names (``srv.pem``,
``cli.key``, ``ca.pem``...) refer to the test PKI described in ``docs/lint.md``. Every builder returns YAML
text for :func:`genesys_tls.loads`:

    >>> import genesys_tls as gt
    >>> sorted(gt.loads(link()).applications)
    ['C', 'S']
"""

from __future__ import annotations

__all__ = ["CLIENT", "HOSTS", "host_only", "link", "port_only", "server"]

#: The good hosts of the test PKI: ``srv`` and ``cli``, each with its certificate, key and the CA.
HOSTS = """\
hosts:
  srv: {annex: {security: {certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}}}
  cli: {annex: {security: {certificate: cli.pem, certificate-key: cli.key, trusted-ca: ca.pem}}}
"""
#: A client ``C`` (host ``cli``) connecting to ``S``'s ``secure`` port and checking the server name.
CLIENT = """\
  C:
    type: Third Party Application
    host: cli
    connections: [{server: S, port-id: secure, transport: "tls-target-name-check=host"}]
"""


def server(transport: str = "tls=1", extra: str = "") -> str:
    """An application S (host srv) with one port ``secure`` (7001) and these transport parameters; ``extra``
    is YAML inserted before its ports (``options:`` for instance)."""
    return (
        "  S:\n    type: T-Server\n    host: srv\n"
        + extra
        + f'    ports: {{secure: {{port: 7001, transport: "{transport}"}}}}\n'
    )


def link(
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


def host_only(security: str) -> str:
    """One host with an Annex [security] section and no application."""
    return f"hosts:\n  srv: {{annex: {{security: {security}}}}}\napplications: {{}}\n"


def port_only(
    transport: str, security: str = "{certificate: srv.pem, certificate-key: srv.key, trusted-ca: ca.pem}"
) -> str:
    """Host srv with this Annex [security] section and the server S of :func:`server` on it."""
    return f"hosts:\n  srv: {{annex: {{security: {security}}}}}\napplications:\n" + server(transport)

