"""A minimal T-Library-style client: dial one configured connection with its effective TLS settings.

A Genesys client application (here, any application with a Connection to a T-Server) takes its TLS settings
from Configuration Server: its Connection's transport parameters, its Application and Host ``[security]``
sections, and the target port (``tls``, ``tls-mutual``). This script does the same from an environment file,
makes the TLS handshake and prints what happened.

Usage::

    genesys-tls pki init /tmp/demo                      # a test PKI and /tmp/demo/environment.yaml
    genesys-tls serve /tmp/demo/environment.yaml --app TServer --port mutual --address 127.0.0.1:0 &
    python examples/tlib_client.py /tmp/demo/environment.yaml --app Client_client-host \\
        --connection TServer/mutual --address 127.0.0.1:PORT

Exit status: 0 connected, 1 the handshake or a check failed, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import genesys_tls as gt
from genesys_tls.contexts import client_plan
from genesys_tls.handshake import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", help="environment file (.yaml / .json)")
    parser.add_argument("--app", required=True, help="the client application")
    parser.add_argument("--connection", required=True, metavar="SERVER[/PORT_ID]", help="one of its connections")
    parser.add_argument("--address", metavar="HOST:PORT", help="dial here instead (the name checked stays the same)")
    parser.add_argument("--password-env", metavar="NAME", help="environment variable with the key password")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)

    server, _, port_id = args.connection.partition("/")
    try:
        env = gt.load(args.env)
        resolved = gt.resolve_client(env, args.app, server, port_id or None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the plan's warnings say the same, printed below
            plan = client_plan(resolved, address=args.address, password_env=args.password_env)
    except gt.ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except gt.TLSError as error:  # a tls-crl file that cannot be used (expired, untrusted)
        print(f"{resolved.object}: FAILED {error}", file=sys.stderr)
        return 1

    print(f"{resolved.object}: dialling {plan.address} as {plan.server_hostname or '(no name)'}")
    print(f"  mode {plan.mode.value}; checks: {', '.join(plan.checks) or 'none'}")
    for text in plan.warnings:
        print(f"  warning: {text}")

    result = connect(plan, timeout=args.timeout, check=False)
    if not result.ok:
        assert result.error is not None
        print(f"  FAILED {result.error[0].value}: {result.error[1]}")
        return 1
    print(f"  connected: {result.protocol} {result.cipher}")
    if result.peer is not None:
        print(f"  server certificate: {result.peer.subject}, issued by {result.peer.issuer}")
    print("  the server is authenticated" if result.authenticated else "  the server is NOT authenticated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
