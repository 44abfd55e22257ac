"""The demo's live reconfiguration scenarios: a running simulated server whose files or environment change, with
real handshakes on 127.0.0.1 before and after (see :mod:`genesys_tls.reload`).

Each scenario works in a folder of its own (``live/<name>/`` of the demo folder) with a small PKI made for it,
so that replacing its files never touches the other scenarios. The server watches its files
(:meth:`~genesys_tls.harness.SimulatedServer.watch`) and the scenario waits, bounded by the demo's timeout, for
the new generation:

* ``live-rotation``: the old certificate works, a new certificate and key are renamed into place, the next
  handshake presents the new certificate (checked by fingerprint), and a connection opened before the rotation
  still exchanges data;
* ``live-crl-update``: the port's CRL is replaced by one revoking the client: its next handshake is refused;
* ``live-mutual-on``: ``tls-mutual=1`` is written into the environment file: the next client without a
  certificate is refused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from .ca import CertificateAuthority
from .loaders import load

__all__ = ["LIVE_ENVIRONMENT", "LIVE_RUNNERS", "LiveOutcome"]

#: (outcome, detail, mode, authenticated, protocol, server outcome) of one live scenario.
LiveOutcome = tuple[str, str, str, bool, "str | None", "str | None"]

_INTERVAL, _DEBOUNCE = 0.02, 0.05  # seconds: the watcher of a live scenario


#: The environment of a live scenario (format: ``docs/contract.md``); ``{mutual}`` switches the secure port.
LIVE_ENVIRONMENT = """\
hosts:
  tsrv-host: {{ip: 127.0.0.1, os: unix}}
  client-host: {{ip: 127.0.0.1, os: unix}}
applications:
  TServer:
    type: T-Server
    host: tsrv-host
    options:
      security: {{certificate: server.pem, certificate-key: server.key, trusted-ca: ca.pem}}
    ports:
      secure: {{port: 7001, transport: "tls=1{mutual}"}}
      mutual-crl: {{port: 7003, transport: "tls=1;tls-mutual=1;tls-crl=crl.pem"}}
  Client:
    type: Third Party Application
    host: client-host
    options:
      security: {{certificate: client.pem, certificate-key: client.key, trusted-ca: ca.pem}}
    connections:
      - {{server: TServer, port-id: secure}}
      - {{server: TServer, port-id: mutual-crl}}
  Client_NoCert:
    type: Third Party Application
    host: client-host
    options:
      security: {{trusted-ca: ca.pem}}
    connections:
      - {{server: TServer, port-id: secure}}
"""


def _write_env(folder: Path, mutual: bool = False) -> Path:
    path = folder / "live.yaml"
    temporary = folder / "live.yaml.new"
    temporary.write_text(LIVE_ENVIRONMENT.format(mutual=";tls-mutual=1" if mutual else ""), encoding="utf-8")
    os.replace(temporary, path)  # the environment is replaced as a whole, never seen half-written
    return path


def _folder(root: Path, name: str) -> tuple[Path, CertificateAuthority]:
    folder = root / "live" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ca = CertificateAuthority.create("genesys-tls live demo CA")
    ca.issue_server(["tsrv-host", "127.0.0.1"]).write(folder, "server")
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    (folder / "crl.pem").write_bytes(ca.crl())
    return folder, ca


def _replace(folder: Path, name: str, data: bytes) -> None:
    temporary = folder / f".{name}.new"
    temporary.write_bytes(data)
    os.replace(temporary, folder / name)


def _rotation(root: Path, timeout: float) -> LiveOutcome:
    from .harness import HeldConnection, SimulatedServer

    folder, ca = _folder(root, "live-rotation")
    ca.issue_client("client-host").write(folder, "client")
    env_file = _write_env(folder)
    env = load(env_file)
    from .resolve import resolve_client

    client = resolve_client(env, "Client", "TServer", "secure")
    with SimulatedServer(env, "TServer", "secure", port=0, timeout=timeout) as server:
        server.watch(interval=_INTERVAL, debounce=_DEBOUNCE)
        with HeldConnection(client, server, timeout=timeout) as held:
            before = held.peer_fingerprint
            if not held.exchange(b"before the rotation"):
                return "connection", "the first connection did not echo", "simple", True, None, None
            issued = ca.issue_server(["tsrv-host", "127.0.0.1"])
            _replace(folder, "server.key", issued.key_pem())
            _replace(folder, "server.pem", issued.cert_pem())
            new = hashlib.sha256(issued.cert.public_bytes(serialization.Encoding.DER)).hexdigest()
            server.wait_for_generation(1, timeout)
            with HeldConnection(client, server, timeout=timeout) as after:
                presented = after.peer_fingerprint
                after.exchange(b"after")
            still_up = held.exchange(b"still up after the rotation")
        records = server.wait_for(2, timeout)
    if presented != new or before == new:
        return ("untrusted", f"the next handshake presented {presented}, expected the new certificate {new}",
                "simple", True, None, records[-1].outcome)
    if not still_up:
        return "connection", "the connection opened before the rotation was dropped", "simple", True, None, None
    detail = (f"new certificate SHA-256 {new[:16]}... on generation {records[-1].generation}; the connection "
              "opened before the rotation still echoes")
    return "ok", detail, "simple", True, records[-1].protocol, records[-1].outcome


def _crl_update(root: Path, timeout: float) -> LiveOutcome:
    from .harness import SimulatedClient, SimulatedServer

    folder, ca = _folder(root, "live-crl-update")
    issued = ca.issue_client("client-host")
    issued.write(folder, "client")
    env = load(_write_env(folder))
    with SimulatedServer(env, "TServer", "mutual-crl", port=0, timeout=timeout) as server:
        server.watch(interval=_INTERVAL, debounce=_DEBOUNCE)
        first = SimulatedClient(env, "Client", server, timeout=timeout).connect()
        if not first.ok:
            return (first.outcome, f"before the update: {first.detail}", first.mode, False, None, None)
        ca.revoke(issued)
        _replace(folder, "crl.pem", ca.crl())
        server.wait_for_generation(1, timeout)
        result = SimulatedClient(env, "Client", server, timeout=timeout).connect()
        records = server.wait_for(2, timeout)
    detail = result.detail or "accepted"
    return (result.outcome, f"after the CRL update: {detail}", result.mode, result.authenticated,
            result.protocol, records[-1].outcome)


def _mutual_on(root: Path, timeout: float) -> LiveOutcome:
    from .harness import SimulatedClient, SimulatedServer

    folder, _ = _folder(root, "live-mutual-on")
    env_file = _write_env(folder)
    env = load(env_file)
    with SimulatedServer(env, "TServer", "secure", port=0, timeout=timeout) as server:
        server.watch(interval=_INTERVAL, debounce=_DEBOUNCE)
        first = SimulatedClient(env, "Client_NoCert", server, timeout=timeout).connect()
        if not first.ok:
            return (first.outcome, f"before tls-mutual=1: {first.detail}", first.mode, False, None, None)
        _write_env(folder, mutual=True)
        server.wait_for_generation(1, timeout)
        result = SimulatedClient(load(env_file), "Client_NoCert", server, timeout=timeout).connect()
        records = server.wait_for(2, timeout)
    return (result.outcome, f"after tls-mutual=1: {result.detail or 'accepted'}", result.mode,
            result.authenticated, result.protocol, records[-1].outcome)


#: scenario name -> runner(demo folder, timeout).
LIVE_RUNNERS: dict[str, Any] = {
    "live-rotation": _rotation,
    "live-crl-update": _crl_update,
    "live-mutual-on": _mutual_on,
}
