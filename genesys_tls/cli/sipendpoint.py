"""``genesys-tls sipendpoint check|serve|connect``: Workspace SIP Endpoint standalone security
(see :mod:`genesys_tls.sipendpoint` and ``docs/sipendpoint.md``).

Exit codes: 0 success; 1 a finding reaches ``--fail-on`` / a connection was refused / the session failed;
2 bad usage or configuration (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .._text import escape_lines
from ._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CLIError, check_timeout, emit_json, fail, load_env, parse_address

_LOOPBACK = "127.0.0.1"


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), newlines kept: certificate subjects, XML keys
    and peer answers are shown, never interpreted by the terminal (:func:`genesys_tls._text.escape_lines`)."""
    return escape_lines(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sipendpoint`` command and its three subcommands."""
    p = sub.add_parser(
        "sipendpoint",
        help="Workspace SIP Endpoint standalone security: check a .exe.config, serve the endpoint, connect as "
        "Workspace",
        description="Workspace SIP Endpoint standalone (VDI) security; see docs/sipendpoint.md.",
    )
    actions = p.add_subparsers(dest="sip_command", metavar="SUBCOMMAND", parser_class=type(p))
    actions.required = True

    c = actions.add_parser(
        "check", help="findings (GT6xx) on an .exe.config, alone or against a Workspace application",
        description="Lint InteractionWorkspaceSIPEndpoint.exe.config, alone or against the "
        "sipendpoint.standalone.* options of a Workspace application. Exit 1 when a finding reaches --fail-on.",
    )
    c.add_argument("config", metavar="CONFIG", help="the endpoint's .exe.config")
    c.add_argument("--workspace", metavar="ENV", help="environment file holding the Workspace application")
    c.add_argument("--app", help="the Workspace application (with --workspace)")
    c.add_argument("--format", choices=("text", "json", "sarif"), default=None, help="output format (default text)")
    c.add_argument("--json", action="store_true", help="same as --format json")
    c.add_argument("--fail-on", choices=("error", "warning"), default="error",
                   help="exit 1 when a finding has this severity or a higher one (default: error)")
    c.set_defaults(run=run_check)

    s = actions.add_parser(
        "serve", help="the endpoint's HTTPS/HTTP REST listener",
        description="Listen as the SIP Endpoint with the .exe.config's settings: address policy before any TLS "
        "byte, TLS per security_level, the subject check at level 2, the session API over HTTP/1.1. One line per "
        "connection (JSON lines with --json); 'listening on HOST:PORT' on stderr.",
    )
    s.add_argument("config", metavar="CONFIG", help="the endpoint's .exe.config")
    _store_options(s)
    s.add_argument("--user", metavar="FILE", help="the workstation user's directory entry (YAML/JSON)")
    s.add_argument("--ldap", metavar="URL",
                   help="read the user from this LDAP directory (ldap://HOST:PORT or ldaps://HOST:PORT)")
    s.add_argument("--ldap-base", metavar="DN", help="search base of --ldap")
    s.add_argument("--ldap-account", metavar="NAME", help="the account name searched (default: $USER)")
    s.add_argument("--ldap-account-attribute", metavar="ATTR", default="sAMAccountName",
                   help="the attribute holding the account name (default sAMAccountName; OpenLDAP: uid)")
    s.add_argument("--ldap-bind-dn", metavar="DN", help="bind as this DN (default anonymous)")
    s.add_argument("--ldap-password-env", metavar="NAME", help="environment variable holding the bind password")
    s.add_argument("--ldap-ca", metavar="FILE",
                   help="ldaps://: CA certificates (PEM) the directory's certificate must chain to (default: the "
                        "system's trusted CAs)")
    s.add_argument("--address", metavar="HOST:PORT", help="listen there (default 127.0.0.1 and the config's port)")
    s.add_argument("--count", type=int, metavar="N", help="stop after N connections")
    s.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per handshake and read")
    s.add_argument("--json", action="store_true", help="JSON lines output")
    s.set_defaults(run=run_serve)

    k = actions.add_parser(
        "connect", help="the Workspace side: open a session against a listener",
        description="Connect as Workspace with the sipendpoint.standalone.* options of --app and open a session "
        "(POST /sessions). Exit 0 when the session is opened, 1 otherwise.",
    )
    k.add_argument("env", metavar="ENV", help="environment file holding the Workspace application")
    k.add_argument("--app", required=True, help="the Workspace application")
    _store_options(k)
    k.add_argument("--user", metavar="FILE", help="the agent's directory entry (level 3)")
    k.add_argument("--address", required=True, metavar="HOST:PORT", help="the endpoint's address")
    k.add_argument("--source", metavar="ADDR", help="bind this local address (such as 127.0.0.2)")
    k.add_argument("--finalize", action="store_true", help="finalize the session after opening it (Workspace exits)")
    k.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per connection and read")
    k.add_argument("--json", action="store_true", help="JSON output")
    k.set_defaults(run=run_connect)


def _store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="DIR", help="certificate store: a folder of PEM certificates, keys and PFX files")
    p.add_argument("--store-password-env", metavar="NAME",
                   help="environment variable holding the PFX / encrypted key password (NAME_<STEM> per file)")
    p.add_argument("--ca", metavar="FILE", help="trusted CA certificates (PEM)")


def _store(args: argparse.Namespace) -> Any:
    from ..stores import CertificateStore, env_passwords

    if args.store is None:
        return None
    passwords = env_passwords(args.store_password_env) if args.store_password_env else None
    return CertificateStore.load(args.store, passwords=passwords)


def run_check(args: argparse.Namespace) -> int:
    from ..sipendpoint.model import load_endpoint_config, workspace_settings
    from ..sipendpoint.rules import check, render_report

    if args.json and args.format not in (None, "json"):
        raise CLIError(f"genesys-tls sipendpoint check: --json and --format {args.format} disagree")
    if (args.workspace is None) != (args.app is None):
        raise CLIError("genesys-tls sipendpoint check: --workspace ENV and --app APP go together")
    config = load_endpoint_config(args.config)
    workspace = workspace_settings(load_env(args.workspace), args.app) if args.workspace else None
    report = check(config, workspace)
    fmt = "json" if args.json else args.format or "text"
    text = render_report(report, fmt)
    sys.stdout.write(printable(text) if fmt == "text" else text)
    return EXIT_FAILED if report.fails(args.fail_on) else EXIT_OK


def _user(args: argparse.Namespace) -> Any:
    from ..sipendpoint.directory import load_user_file

    if args.user and getattr(args, "ldap", None):
        raise CLIError("genesys-tls sipendpoint serve: give --user FILE or --ldap URL, not both")
    if args.user:
        return load_user_file(args.user)
    if getattr(args, "ldap", None):
        from ..sipendpoint.ldap import ldap_user

        if not args.ldap_base:
            raise CLIError("genesys-tls sipendpoint serve: --ldap needs --ldap-base DN")
        account = args.ldap_account or os.environ.get("USER") or os.environ.get("USERNAME")
        if not account:
            raise CLIError("genesys-tls sipendpoint serve: --ldap needs --ldap-account NAME")
        variable = args.ldap_password_env

        def password() -> str | None:
            if variable is None:
                return None
            if variable not in os.environ:
                raise CLIError(f"genesys-tls sipendpoint serve: the environment variable {variable} is not set")
            return os.environ[variable]

        return ldap_user(args.ldap, account=account, base=args.ldap_base, bind_dn=args.ldap_bind_dn,
                         password=password, account_attribute=args.ldap_account_attribute, timeout=args.timeout,
                         ca_file=args.ldap_ca)
    return None


def _record_line(record: Any) -> str:
    result = record.handshake
    requests = " ".join(f"{e.method} {e.target} {e.status}" for e in record.exchanges) or "no request"
    if result.ok:
        who = f"client {result.peer.subject}" if result.peer else "no client certificate"
        return f"accepted {result.address} {result.protocol or 'http'} {who}: {requests}"
    return f"refused {result.address} {result.error[0].value}: {result.error[1]}" + (
        f" ({requests})" if record.exchanges else "")


def run_serve(args: argparse.Namespace) -> int:
    from ..sipendpoint.listener import EndpointListener
    from ..sipendpoint.model import load_endpoint_config

    if args.count is not None and args.count < 1:
        raise CLIError(f"--count {args.count}: expected a positive number")
    check_timeout(args.timeout)
    config = load_endpoint_config(args.config)
    store = _store(args)
    user = _user(args)
    host, port = parse_address(args.address) if args.address else (_LOOPBACK, config.port)
    records: list[Any] = []

    def on_record(record: Any) -> None:
        records.append(record)
        if args.json:
            emit_json(record.to_dict())
        else:
            print(printable(_record_line(record)))
        sys.stdout.flush()

    try:
        listener = EndpointListener(config, store=store, ca_file=args.ca, user=user, host=host, port=port,
                                    timeout=args.timeout, on_record=on_record)
    except OSError as exc:
        return fail(f"genesys-tls sipendpoint serve: cannot listen on {host}:{port}: {exc.strerror or exc}",
                    code=EXIT_USAGE)
    shown = f"[{listener.address[0]}]" if ":" in listener.address[0] else listener.address[0]
    print(f"listening on {shown}:{listener.address[1]}", file=sys.stderr)
    if listener.selection is not None:
        print(printable(f"certificate: {listener.selection.entry.describe()} (matched by "
                        f"{listener.selection.rule})"), file=sys.stderr)
    if not config.tls or config.security_level == 0:
        print("warning: lab only (http or security_level 0)", file=sys.stderr)
    sys.stderr.flush()
    with listener:
        try:
            if args.count is None:
                while True:
                    listener.wait(10**9, timeout=3600)
            else:
                while not listener.wait(args.count, timeout=3600):
                    pass
        except KeyboardInterrupt:
            pass
    return EXIT_FAILED if any(not r.handshake.ok for r in records) else EXIT_OK


def run_connect(args: argparse.Namespace) -> int:
    from ..sipendpoint.client import WorkspaceClient
    from ..sipendpoint.directory import load_user_file
    from ..sipendpoint.model import workspace_settings

    check_timeout(args.timeout)
    settings = workspace_settings(load_env(args.env), args.app)
    address = parse_address(args.address)
    user = load_user_file(args.user) if args.user else None
    client = WorkspaceClient(settings, store=_store(args), ca_file=args.ca, user=user, source=args.source,
                             timeout=args.timeout)
    for note in client.warnings:
        print(f"warning: {note}", file=sys.stderr)
    result = client.open_session(address)
    finalized = None
    if result.ok and args.finalize and result.session:
        finalized = client.finalize(address, result.session)
    if args.json:
        out = result.to_dict()
        if client.selection is not None:
            out["certificate"] = client.selection.to_dict()
        if finalized is not None:
            out["finalize"] = finalized.to_dict()
        emit_json(out)
    elif result.ok:
        print(printable(f"session {result.session} opened on {args.address} ({result.handshake.protocol or 'http'}, "
              f"mode {result.handshake.mode})" + (f"; finalized: {finalized.outcome}" if finalized else "")))
    else:
        detail = result.handshake.error[1] if result.handshake.error else f"HTTP {result.status}"
        print(printable(f"failed {result.outcome}: {detail}"))
    ok = result.ok and (finalized is None or finalized.ok)
    return EXIT_OK if ok else EXIT_FAILED
