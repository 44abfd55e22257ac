"""genesys_tls: model, resolve, build and test Genesys TLS configuration.

The public names (``docs/contract.md``, "Python names")::

    import genesys_tls as gt

    env = gt.load("environment.yaml")
    client = gt.resolve_client(env, "MyTLibClient", "TServer_SIP", port_id="secure")
    client["tls-mutual"].value, client["tls-mutual"].source      # "1", "target-port"
    ctx = gt.client_context(client)                              # ssl.SSLContext
    gt.parse_transport("tls=1;tls-mutual=1")
    gt.match_target_name(cert, "tsrv-host")

The core (catalogue, transport, model, loaders, resolve) imports neither ``ssl`` nor sockets; the names
that need them (``client_context``, ``server_context``, ``match_target_name``...) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .catalogue import CATALOGUE, Level, Side, Source
from .errors import Category, ConfigurationError, GenesysTLSError, TLSError
from .loaders import dump, load, loads
from .model import Application, Connection, Environment, Host, Port
from .resolve import Mode, Reading, ResolvedOption, ResolvedSecurity, resolve_client, resolve_server
from .transport import TransportParameters, format_transport, parse_transport

if TYPE_CHECKING:
    from ._classify import classify
    from .contexts import ConnectionPlan, client_context, client_plan, server_context
    from .doctor import diagnose
    from .handshake import HandshakeResult, Server, connect, connect_async, serve
    from .names import match_target_name
    from .server import Generation, GenerationHolder, ServerCore

__version__ = "0.1.0"

_LAZY = {
    "client_context": "contexts",
    "server_context": "contexts",
    "client_plan": "contexts",
    "ConnectionPlan": "contexts",
    "connect": "handshake",
    "connect_async": "handshake",
    "Server": "handshake",
    "classify": "_classify",
    "ServerCore": "server",
    "Generation": "server",
    "GenerationHolder": "server",
    "serve": "handshake",
    "HandshakeResult": "handshake",
    "match_target_name": "names",
    "diagnose": "doctor",
}

__all__ = [
    "CATALOGUE",
    "Application",
    "Category",
    "ConfigurationError",
    "Connection",
    "ConnectionPlan",
    "Environment",
    "Generation",
    "GenerationHolder",
    "GenesysTLSError",
    "HandshakeResult",
    "Host",
    "Level",
    "Mode",
    "Port",
    "Reading",
    "ResolvedOption",
    "ResolvedSecurity",
    "Server",
    "ServerCore",
    "Side",
    "Source",
    "TLSError",
    "TransportParameters",
    "__version__",
    "classify",
    "client_context",
    "client_plan",
    "connect",
    "connect_async",
    "diagnose",
    "dump",
    "format_transport",
    "load",
    "loads",
    "match_target_name",
    "parse_transport",
    "resolve_client",
    "resolve_server",
    "serve",
    "server_context",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genesys_tls' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
