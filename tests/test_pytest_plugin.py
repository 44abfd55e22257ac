"""The pytest plugin: its fixtures, used here as a project's tests would use them, and a run of a small test
file through pytester with nothing but the installed entry point."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from genesys_tls.errors import Category
from genesys_tls.handshake import HandshakeResult
from genesys_tls.harness import PortMode, SimulatedServer
from genesys_tls.loaders import loads
from genesys_tls.model import Environment
from genesys_tls.pki import PKIFiles

pytest_plugins = ["pytester"]

# The inner runs need only this plugin; hypothesis's own plugin would re-import hypothesis in each (seconds).
INNER = ("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")

ServerFactory = Callable[..., SimulatedServer]
ClientFactory = Callable[..., HandshakeResult]


def test_pki_and_env_fixtures(genesys_pki: PKIFiles, genesys_env: Environment) -> None:
    assert genesys_pki.environment.is_file() and genesys_pki.ca.is_file()
    assert genesys_pki.names == ("tsrv-host", "client-host")
    assert set(genesys_env.applications) == {"TServer", "Client_client-host"}
    assert set(genesys_env.application("TServer").ports) == {"default", "secure", "mutual"}


@pytest.mark.parametrize("port_id", ["secure", "mutual"])
def test_server_and_client_factories(
    genesys_server: ServerFactory, genesys_client: ClientFactory, port_id: str
) -> None:
    server = genesys_server("TServer", port_id)
    assert server.running and server.address[1] != 7001  # an ephemeral port, not the configured one
    result = genesys_client("Client_client-host", server)
    assert result.ok, result.error
    (record,) = server.wait_for(1)
    assert record.accepted and record.authenticated == (port_id == "mutual")


def test_plain_default_port(genesys_server: ServerFactory, genesys_client: ClientFactory,
                            genesys_env: Environment) -> None:
    server = genesys_server("TServer")  # port id "default"
    assert server.mode is PortMode.PLAIN
    # Client_client-host has no connection to "default": dial its "secure" connection at the plain port.
    result = genesys_client("Client_client-host", "TServer", "secure", address=server)
    assert result.category is Category.CONNECTION
    assert server.wait_for(1)[0].category is Category.PROTOCOL


def test_factories_take_another_environment(
    genesys_pki: PKIFiles, genesys_server: ServerFactory, genesys_client: ClientFactory
) -> None:
    text = genesys_pki.environment.read_text()
    env = loads(text.replace("tls=1;tls-mutual=1", "upgrade=1"), source=genesys_pki.environment,
                base_dir=genesys_pki.directory)
    server = genesys_server("TServer", "mutual", env=env)
    assert server.mode is PortMode.UPGRADE
    # tls=1 is gone from the port, so the client's connection is plain now; the upgrade port serves it.
    result = genesys_client("Client_client-host", server, env=env)
    assert result.ok and result.mode == "plain"
    assert server.wait_for(1)[0].tls is False


def test_servers_stop_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sample="""
        import threading

        from genesys_tls.errors import Category

        STATE = {}


        def test_mutual(genesys_server, genesys_client):
            server = genesys_server("TServer", "mutual")
            result = genesys_client("Client_client-host", server)
            assert result.ok and result.mode == "mutual"
            assert server.wait_for(1)[0].peer.subject == "CN=client-host"
            STATE["threads"] = threading.active_count()


        def test_second_server(genesys_server, genesys_client):
            server = genesys_server("TServer", "secure")
            assert genesys_client("Client_client-host", server, crl_check="leaf").ok
            assert threading.active_count() == STATE["threads"]  # the first test's server was stopped


        def test_env(genesys_env):
            assert "TServer" in genesys_env.applications
        """
    )
    result = pytester.runpytest_inprocess(*INNER)
    result.assert_outcomes(passed=3)


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text(encoding="utf-8")
    match = re.search(r"```python[^\n]*\n(# tests/test_tserver_tls\.py\n.*?)```", doc, re.DOTALL)
    assert match is not None, "docs/testing.md lost its complete example test"
    pytester.makepyfile(test_tserver_tls=match.group(1))
    pytester.runpytest_inprocess(*INNER).assert_outcomes(passed=2)
