"""pytest fixtures for tests of Genesys TLS configuration, registered through the ``pytest11`` entry point
(installing genesys-tls is enough; ``-p no:genesys_tls`` turns them off).

* ``genesys_pki`` (session): a test PKI and environment written by :func:`genesys_tls.pki.build_pki` in a
  temporary folder (:class:`~genesys_tls.pki.PKIFiles`).
* ``genesys_env`` (session): that environment, loaded (:class:`~genesys_tls.model.Environment`): Hosts
  ``tsrv-host`` and ``client-host``, application ``TServer`` with ports ``default`` (plain), ``secure``
  (``tls=1``) and ``mutual`` (``tls=1;tls-mutual=1``), and ``Client_client-host`` with connections to
  ``secure`` and ``mutual`` checking the host name.
* ``genesys_server`` (factory): ``genesys_server("TServer", "secure")`` starts a
  :class:`~genesys_tls.harness.SimulatedServer` on an ephemeral loopback port and stops it at teardown;
  ``genesys_server("TServer", "secure", echo=True)`` echoes every byte after the handshake, as
  ``genesys-tls serve --echo`` does.
* ``genesys_client`` (factory): ``genesys_client("Client_client-host", server)`` dials once with the
  connection's settings and returns the :class:`~genesys_tls.handshake.HandshakeResult`.

* ``genesys_live_pki`` (per test): a PKI of its own, like ``genesys_pki``, that a test may change (rotate a
  certificate, replace the CRL, rewrite ``environment.yaml``) without touching other tests.
* ``genesys_reload`` (factory): ``genesys_reload(server, env=None, *, timeout=5.0)`` applies a changed
  environment (an object, a file, or the current file read again) to a running server in the middle of a
  test, waits for the new generation and returns it; a refused reload fails with its reason.

Both client and server factories take ``env=`` to use another environment, and pass other keywords to the
harness. See
``docs/testing.md`` for a complete example. This module imports only pytest; the harness, the PKI and the
ssl machinery load when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import os

    from .handshake import HandshakeResult
    from .harness import SimulatedServer
    from .model import Environment
    from .pki import PKIFiles
    from .server import Generation

__all__ = ["genesys_client", "genesys_env", "genesys_live_pki", "genesys_pki", "genesys_reload", "genesys_server"]


@pytest.fixture(scope="session")
def genesys_pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    """A test PKI and its ``environment.yaml`` (EC keys), made once per test session."""
    from .pki import build_pki

    return build_pki(tmp_path_factory.mktemp("genesys-pki"))


@pytest.fixture(scope="session")
def genesys_env(genesys_pki: PKIFiles) -> Environment:
    """The environment of :func:`genesys_pki`, loaded."""
    from .loaders import load

    return load(genesys_pki.environment)


@pytest.fixture
def genesys_server(genesys_env: Environment) -> Iterator[Callable[..., SimulatedServer]]:
    """Factory: ``genesys_server(app, port_id="default", *, env=None, **kwargs)`` -> a started
    :class:`~genesys_tls.harness.SimulatedServer` on an ephemeral port (``port=0`` unless given); every
    server it started is stopped at teardown."""
    from .harness import SimulatedServer

    started: list[SimulatedServer] = []

    def factory(app: str, port_id: str = "default", *, env: Environment | None = None,
                **kwargs: Any) -> SimulatedServer:
        kwargs.setdefault("port", 0)
        server = SimulatedServer(env if env is not None else genesys_env, app, port_id, **kwargs)
        server.start()
        started.append(server)
        return server

    try:
        yield factory
    finally:
        for server in reversed(started):
            server.stop()


@pytest.fixture
def genesys_client(genesys_env: Environment) -> Callable[..., HandshakeResult]:
    """Factory: ``genesys_client(app, server, port_id=None, *, env=None, address=None, **kwargs)`` -> the
    :class:`~genesys_tls.handshake.HandshakeResult` of one dial (:func:`~genesys_tls.harness.run_client`).
    ``server`` is a server application name or a running :class:`~genesys_tls.harness.SimulatedServer`
    (then its port and address are used)."""
    from .harness import run_client

    def factory(app: str, server: str | SimulatedServer, port_id: str | None = None, *,
                env: Environment | None = None, **kwargs: Any) -> HandshakeResult:
        return run_client(env if env is not None else genesys_env, app, server, port_id, **kwargs)

    return factory


@pytest.fixture
def genesys_live_pki(tmp_path: Path) -> PKIFiles:
    """A test PKI and ``environment.yaml`` of this test's own (EC keys), free to change during the test."""
    from .pki import build_pki

    return build_pki(tmp_path / "genesys-live-pki")


@pytest.fixture
def genesys_reload() -> Callable[..., Generation]:
    """Factory: ``genesys_reload(server, env=None, *, timeout=5.0)`` -> the new
    :class:`~genesys_tls.server.Generation` of a running :class:`~genesys_tls.harness.SimulatedServer` once
    ``env`` (an environment, its file, or by default the current file read again, with the current
    certificate, key, CA and CRL files) serves the next connections. Fails the test with the reason when
    the reload is refused or changes nothing."""

    def factory(server: SimulatedServer, env: Environment | str | os.PathLike[str] | None = None, *,
                timeout: float = 5.0) -> Generation:
        event = server.reload(env)
        if event.error is not None:
            pytest.fail(f"reload refused: {event.error['category']}: {event.error['message']}")
        if not event.applied:
            pytest.fail(f"reload changed nothing: generation {event.generation} still serves")
        return server.wait_for_generation(event.generation, timeout)

    return factory
