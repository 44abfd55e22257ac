"""Handshake rate of a SimulatedServer against a raw ``ssl`` server, measured in one run.

Both servers use the same certificates and the same server context (``server_context`` of the port's
effective settings) on 127.0.0.1; the same client loop (one ``ssl`` client context from ``client_plan``)
dials each of them N times in a row: TCP connect, TLS handshake, read the server's first line (which, with
TLS 1.3, is what tells the client that the server accepted it), close.

* raw ssl server: a plain thread that accepts, ``wrap_socket(server_side=True)``, handshakes in OpenSSL's C
  code on a blocking socket, sends one line and closes;
* SimulatedServer: the harness (asyncio loop in a thread, TLS through memory BIOs, records every handshake).

Usage::

    python benchmarks/bench_harness.py [-n 300] [--port secure|mutual] [--key-type ec|rsa]

It prints both rates and their ratio, and stops by itself (N is bounded to 5000).
"""

from __future__ import annotations

import argparse
import socket
import ssl
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
                    tls.sendall(GREETING)
            except OSError:
                conn.close()


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


def measure(name: str, run: Callable[[int], float], n: int) -> float:
    run(min(20, n))  # warm-up: imports, caches, first contexts
    seconds = run(n)
    rate = n / seconds
    print(f"{name:<18} {n} handshakes in {seconds:6.3f}s  {rate:8.1f} handshakes/s")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=300, help=f"handshakes per server (default 300, at most {MAX_N})")
    parser.add_argument("--port", choices=("secure", "mutual"), default="secure", help="the TServer port")
    parser.add_argument("--key-type", choices=("ec", "rsa"), default="ec")
    args = parser.parse_args(argv)
    n = max(1, min(args.n, MAX_N))
    with tempfile.TemporaryDirectory(prefix="genesys-tls-bench-") as folder:
        pki = build_pki(Path(folder), key_type=args.key_type)
        env = load(pki.environment)
        plan = client_plan(resolve_client(env, CLIENT, "TServer", args.port))
        context = server_context(resolve_server(env, "TServer", args.port))
        print(f"python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, {args.key_type} keys, port {args.port} "
              f"({plan.mode.value}), loopback")
        with RawServer(context) as raw:
            raw_rate = measure("raw ssl server", lambda k: client_loop(plan.context, plan.server_hostname,
                                                                       raw.address, k), n)
        with SimulatedServer(env, "TServer", args.port, port=0) as sim:
            sim_rate = measure("SimulatedServer", lambda k: client_loop(plan.context, plan.server_hostname,
                                                                        sim.address, k), n)
            recorded = len(sim.wait_for(n + min(20, n)))
            assert all(r.accepted for r in sim.records)
        print(f"ratio SimulatedServer / raw = {sim_rate / raw_rate:.2f} ({recorded} handshakes recorded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
