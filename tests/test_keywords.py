"""Functions whose keyword options are one ``TypedDict`` (``**options: Unpack[...]``) refuse an unknown keyword
as a named parameter would: a misspelt ``crl_check`` or ``section`` must never leave the default in place."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import genesys_tls as gt
from genesys_tls import variants
from genesys_tls.ca import CertificateAuthority
from genesys_tls.contexts import client_context, client_plan, server_context
from genesys_tls.handshake import Server, connect, connect_async, serve
from genesys_tls.pki import PKIFiles

CLIENT = "Client_client-host"


def _calls(pki: PKIFiles) -> dict[str, Callable[..., Any]]:
    env = gt.load(pki.environment)
    client = gt.resolve_client(env, CLIENT, "TServer", "secure")
    server = gt.resolve_server(env, "TServer", "secure")
    ca = CertificateAuthority.create()
    return {
        "client_context": lambda **kw: client_context(client, **kw),
        "server_context": lambda **kw: server_context(server, **kw),
        "client_plan": lambda **kw: client_plan(client, **kw),
        "connect": lambda **kw: connect(client, timeout=2.0, **kw),
        "connect_async": lambda **kw: asyncio.run(connect_async(client, timeout=2.0, **kw)),
        "Server": lambda **kw: Server(server, **kw),
        "serve": lambda **kw: serve(server, count=1, **kw),
        "issue_server": lambda **kw: ca.issue_server("h", **kw),
        "issue_client": lambda **kw: ca.issue_client("h", **kw),
        "set_option": lambda **kw: variants.set_option(env, "tls", "1", app="TServer", port="secure", **kw),
        "remove_option": lambda **kw: variants.remove_option(env, "tls", app="TServer", port="secure", **kw),
    }


@pytest.mark.parametrize(
    ("function", "typo"),
    [
        ("client_context", "crl_chek"),
        ("server_context", "crl_chek"),
        ("client_plan", "pasword_env"),
        ("connect", "crl_chek"),
        ("connect_async", "crl_cach"),
        ("Server", "crl_chek"),
        ("serve", "pasword"),
        ("issue_server", "not_afer"),
        ("issue_client", "crl_urls"),  # issue() takes it, issue_client() does not
        ("set_option", "sectoin"),
        ("remove_option", "levl"),
    ],
)
def test_an_unknown_keyword_is_a_type_error(pki: PKIFiles, function: str, typo: str) -> None:
    call = _calls(pki)[function]
    with pytest.raises(TypeError, match=rf"^{function}\(\) got an unexpected keyword argument '{typo}'$"):
        call(**{typo: "chain"})
