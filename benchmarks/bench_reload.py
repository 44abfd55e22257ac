"""Certificate rotation under load: clients handshake continuously with a watching SimulatedServer while its
certificate is rotated (rename-into-place of a new key and certificate) ROTATIONS times, on 127.0.0.1.

Reported, all measured in this run:

* failed handshakes (none of them is caused by the new settings here, every rotated certificate is valid: the
  goal is 0) and dropped established connections (HELD connections opened before the first rotation exchange
  a line after every rotation: the goal is 0);
* the time from the file change (the second rename) to the first handshake that presents the new certificate
  (median and max), and that time as a multiple of the watcher's floor (poll interval + debounce);
* the handshake rate while rotating against the rate of the same clients on the same server without rotations
  (the anchor, measured just before).

Usage::

    python benchmarks/bench_reload.py [--rotations 100] [--clients 4] [--held 8] [--quick]

``--quick`` (the smoke test) rotates 5 times with 2 clients; the run is bounded either way (every wait has a
timeout, rotations are at most 1000).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization

from genesys_tls.ca import CertificateAuthority, Issued
from genesys_tls.harness import SimulatedServer
from genesys_tls.loaders import load

INTERVAL = 0.02
DEBOUNCE = 0.05
TIMEOUT = 30.0


def setup(folder: Path) -> tuple[CertificateAuthority, Path]:
    ca = CertificateAuthority.create("Rotation CA")
    ca.issue_server(["tsrv-host", "127.0.0.1"]).write(folder, "server")
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    env = {
        "hosts": {"tsrv-host": {"ip": "127.0.0.1", "os": "unix"}},
        "applications": {"TServer": {
            "type": "T-Server", "host": "tsrv-host",
            "options": {"security": {"certificate": "server.pem", "certificate-key": "server.key"}},
            "ports": {"secure": {"port": 7001, "transport": "tls=1"}},
        }},
    }
    (folder / "environment.yaml").write_text(yaml.safe_dump(env))
    return ca, folder / "environment.yaml"


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


class Clients:
    """CLIENTS threads, each handshaking in a loop: connect, handshake, read the greeting, close."""

    def __init__(self, address: tuple[str, int], ca_pem: str, count: int) -> None:
        self.context = ssl.create_default_context(cadata=ca_pem)
        self.address = address
        self.lock = threading.Lock()
        self.handshakes = 0
        self.failures: list[str] = []
        self.seen: dict[str, float] = {}  # fingerprint -> first time a handshake presented it
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with socket.create_connection(self.address, timeout=TIMEOUT) as raw, \
                        self.context.wrap_socket(raw, server_hostname="tsrv-host") as tls:
                    der = tls.getpeercert(binary_form=True)
                    if not tls.recv(100):
                        raise ConnectionError("no greeting")
                now = time.monotonic()
                assert der is not None
                with self.lock:
                    self.handshakes += 1
                    self.seen.setdefault(fingerprint(der), now)
            except (OSError, ssl.SSLError, AssertionError) as exc:
                with self.lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")

    def count(self) -> int:
        with self.lock:
            return self.handshakes

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(TIMEOUT)


def held_connections(address: tuple[str, int], ca_pem: str, count: int) -> list[ssl.SSLSocket]:
    context = ssl.create_default_context(cadata=ca_pem)
    held = []
    for _ in range(count):
        raw = socket.create_connection(address, timeout=TIMEOUT)
        tls = context.wrap_socket(raw, server_hostname="tsrv-host")
        tls.recv(100)  # the greeting
        held.append(tls)
    return held


def still_up(tls: ssl.SSLSocket, n: int) -> bool:
    line = f"still up {n}\n".encode()
    try:
        tls.sendall(line)
        return tls.recv(100) == line
    except OSError:
        return False


def rotate(folder: Path, issued: Issued) -> str:
    for name, data in (("server.key", issued.key_pem()), ("server.pem", issued.cert_pem())):
        (folder / f".{name}.new").write_bytes(data)
        os.replace(folder / f".{name}.new", folder / name)
    return fingerprint(issued.cert.public_bytes(serialization.Encoding.DER))


def run(rotations: int, clients: int, held_count: int, anchor_seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as name:
        folder = Path(name)
        ca, env_file = setup(folder)
        ca_pem = ca.cert_pem().decode()
        renewed = [ca.issue_server(["tsrv-host", "127.0.0.1"]) for _ in range(rotations)]  # made beforehand
        with SimulatedServer(load(env_file), "TServer", "secure", port=0, timeout=TIMEOUT,
                             idle_timeout=600, workers=clients + held_count + 4) as server:
            watcher = server.watch(interval=INTERVAL, debounce=DEBOUNCE)
            held = held_connections(server.address, ca_pem, held_count)
            load_ = Clients(server.address, ca_pem, clients)
            load_.start()
            time.sleep(anchor_seconds)  # the anchor: the same clients, no rotation
            anchor_rate = load_.count() / anchor_seconds
            latencies, dropped = [], 0
            start, base = time.monotonic(), load_.count()
            for n, issued in enumerate(renewed, start=1):
                new = rotate(folder, issued)
                changed_at = time.monotonic()
                deadline = changed_at + TIMEOUT
                while time.monotonic() < deadline:
                    with load_.lock:
                        first = load_.seen.get(new)
                    if first is not None:
                        latencies.append(first - changed_at)
                        break
                    time.sleep(0.002)
                else:
                    load_.failures.append(f"rotation {n}: the new certificate was never presented")
                dropped += sum(1 for tls in held if not still_up(tls, n))
            rotating_rate = (load_.count() - base) / (time.monotonic() - start)
            load_.stop()
            for tls in held:
                tls.close()
            events = server.events
        assert not watcher.running
    return {
        "rotations": rotations,
        "handshakes": load_.handshakes,
        "failed": len(load_.failures),
        "dropped": dropped,
        "applied": sum(1 for e in events if e.applied),
        "refused": sum(1 for e in events if e.refused),
        "median_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "floor_ms": (INTERVAL + DEBOUNCE) * 1000,
        "anchor_rate": anchor_rate,
        "rotating_rate": rotating_rate,
        "first_failure": load_.failures[0] if load_.failures else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rotations", type=int, default=100, help="certificate rotations (<= 1000)")
    parser.add_argument("--clients", type=int, default=4, help="client threads handshaking continuously")
    parser.add_argument("--held", type=int, default=8, help="connections held open through every rotation")
    parser.add_argument("--quick", action="store_true", help="5 rotations, 2 clients, 2 held connections")
    args = parser.parse_args(argv)
    rotations, clients, held, anchor = min(args.rotations, 1000), max(args.clients, 1), max(args.held, 0), 2.0
    if args.quick:
        rotations, clients, held, anchor = 5, 2, 2, 0.5
    r = run(rotations, clients, held, anchor)
    print(f"certificate rotated {r['rotations']} times under load ({clients} clients handshaking, {held} held "
          f"connections), watcher interval {INTERVAL * 1000:.0f} ms + debounce {DEBOUNCE * 1000:.0f} ms")
    print(f"  handshakes                    : {r['handshakes']}")
    first = f"  first: {r['first_failure']}" if r["failed"] else ""
    print(f"  failed handshakes             : {r['failed']} (goal 0){first}")
    print(f"  dropped held connections      : {r['dropped']} (goal 0)")
    print(f"  reloads applied / refused     : {r['applied']} / {r['refused']}")
    print(f"  file change -> first new-generation handshake: median {r['median_ms']:.1f} ms, max "
          f"{r['max_ms']:.1f} ms ({r['median_ms'] / r['floor_ms']:.2f}x / {r['max_ms'] / r['floor_ms']:.2f}x "
          f"the watcher floor {r['floor_ms']:.0f} ms)")
    print(f"  handshake rate while rotating : {r['rotating_rate']:.0f}/s, {r['rotating_rate'] / r['anchor_rate']:.2f}x "
          f"the same clients without rotation ({r['anchor_rate']:.0f}/s)")
    return 0 if r["failed"] == 0 and r["dropped"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
