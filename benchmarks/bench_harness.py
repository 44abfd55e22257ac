"""Handshake rate of a SimulatedServer against a raw ``ssl`` server, measured in one run.

Both servers use the same certificates and the same server context (``server_context`` of the port's
effective settings) on 127.0.0.1; the same client loop (one ``ssl`` client context from ``client_plan``)
dials each of them N times in a row: TCP connect, TLS handshake, read the server's first line (which, with
TLS 1.3, is what tells the client that the server accepted it), close.

* raw ssl server: a plain thread that accepts, ``wrap_socket(server_side=True)``, handshakes in OpenSSL's C
  code on a blocking socket, sends one line and closes;
* SimulatedServer: the harness (the server core: an accept thread and a pool of workers, records every
  handshake, greeting line, line echo until the client closes);
* ``handshake.Server`` (what ``genesys-tls serve`` runs) with the same one-line greeting.

The three are measured in interleaved rounds, their order rotating from round to round, so that the
machine's load hits them alike; medians are printed with the spread, and each server's ratio is the median of
its per-round ratios to the raw server.

Usage::

    python benchmarks/bench_harness.py [-n 300] [--rounds 5] [--port secure|mutual|both] [--key-type ec|rsa] [--quick]

It prints the rates and their ratios to the raw server, and stops by itself (N is bounded to 5000).
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from genesys_tls.contexts import client_plan, server_context
from genesys_tls.harness import SimulatedServer
from genesys_tls.loaders import load
from genesys_tls.pki import build_pki
from genesys_tls.resolve import resolve_client, resolve_server

CLIENT = "Client_client-host"
MAX_N = 5000
GREETING = b"raw ssl server\n"


class RawServer:
    """A minimal blocking ``ssl`` server in one thread: handshake, one line, close (one connection at a time)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raw ssl server", daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the harness does
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    self.serve_one(tls)
            except OSError:
                conn.close()

    def serve_one(self, tls: ssl.SSLSocket) -> None:
        """What the server does after the handshake: send one line (the harness's greeting)."""
        tls.sendall(GREETING)


def client_loop(context: ssl.SSLContext, server_hostname: str | None, address: tuple[str, int], n: int) -> float:
    """Seconds for ``n`` sequential handshakes (each reads the server's first bytes)."""
    started = time.perf_counter()
    for _ in range(n):
        with socket.create_connection(address, timeout=5) as raw, context.wrap_socket(
            raw, server_hostname=server_hostname
        ) as tls:
            tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not tls.recv(64):
                raise RuntimeError("the server closed without its line")
    return time.perf_counter() - started


def measure(run: Callable[[int], float], n: int) -> float:
    """Handshakes per second of ``n`` sequential handshakes."""
    return n / run(n)


def compare(env: object, port: str, n: int, rounds: int) -> None:
    """Raw ssl server, SimulatedServer and handshake.Server, interleaved ``rounds`` times; medians."""
    from genesys_tls.handshake import Server
    from genesys_tls.server import echo_lines

    plan = client_plan(resolve_client(env, CLIENT, "TServer", port))  # type: ignore[arg-type]
    resolved = resolve_server(env, "TServer", port)  # type: ignore[arg-type]
    context = server_context(resolved)

    def loop(address: tuple[str, int]) -> Callable[[int], float]:
        return lambda k: client_loop(plan.context, plan.server_hostname, address, k)

    rates: dict[str, list[float]] = {"raw ssl server": [], "SimulatedServer": [], "handshake.Server": []}
    with RawServer(context) as raw, SimulatedServer(env, "TServer", port, port=0) as sim, Server(  # type: ignore[arg-type]
        resolved, after=echo_lines(GREETING)
    ) as server:
        for address in (raw.address, sim.address, server.address):
            loop(address)(min(20, n))  # warm-up: imports, caches, first contexts
        addresses = {"raw ssl server": raw.address, "SimulatedServer": sim.address, "handshake.Server": server.address}
        names = list(addresses)
        for turn in range(rounds):
            for name in names[turn % 3:] + names[: turn % 3]:  # the order rotates: no server always goes first
                rates[name].append(measure(loop(addresses[name]), n))
        assert all(r.accepted for r in sim.records)
    raw = rates["raw ssl server"]
    print(f"port {port} ({plan.mode.value}), {n} handshakes x {rounds} rounds, medians (ratio: the median of "
          "each round's ratio to the raw server's rate in the same round, and its range):")
    for name, values in rates.items():
        ratios = [value / base for value, base in zip(values, raw, strict=True)]
        print(f"  {name:<18} {statistics.median(values):8.1f} handshakes/s ({min(values):.0f}-{max(values):.0f})"
              f"  ratio to raw {statistics.median(ratios):5.2f} ({min(ratios):.2f}-{max(ratios):.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=300, help=f"handshakes per server and round (default 300, at most "
                        f"{MAX_N})")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--port", choices=("secure", "mutual", "both"), default="both", help="the TServer port")
    parser.add_argument("--key-type", choices=("ec", "rsa"), default="ec")
    parser.add_argument("--quick", action="store_true", help="50 handshakes, one round: a smoke test")
    args = parser.parse_args(argv)
    n, rounds = (50, 1) if args.quick else (max(1, min(args.n, MAX_N)), max(1, args.rounds))
    with tempfile.TemporaryDirectory(prefix="genesys-tls-bench-") as folder:
        pki = build_pki(Path(folder), key_type=args.key_type)
        env = load(pki.environment)
        print(f"python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, {args.key_type} keys, loopback, "
              f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f})")
        for port in (("secure", "mutual") if args.port == "both" else (args.port,)):
            compare(env, port, n, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
