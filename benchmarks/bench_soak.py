"""Soak test of ``genesys-tls serve``: many handshakes mixed with hostile connections, descriptor limit lowered.

``genesys-tls serve --json`` runs as a subprocess on 127.0.0.1 with ``RLIMIT_NOFILE`` lowered (``--nofile``,
48 by default, fewer than its 64 workers need) and ``--timeout 1``. The load, in rounds, from this process:

* good clients (4 threads): TCP connect, TLS handshake with the client's effective settings, close;
* idle clients: connect and say nothing (the server drops them after its timeout);
* garbage: a few bytes that are not TLS (the server refuses them: ``protocol``);
* aborted: connect and reset at once (``SO_LINGER`` 0), or half a ClientHello then close;
* over the limit: a burst of simultaneous connections larger than the descriptor limit (``accept`` fails with
  ``EMFILE``: the server backs off and goes on; the connections wait in the backlog).

Measured: the good clients' success count and rate, the server's RSS and open descriptors (``/proc``) sampled
through the run (first tenth against the end: flat means no growth with the handshake count), the records the
server printed (one JSON line per connection: every connection refused is recorded), and the accept errors
it reported. Baseline in the same run: the same good-client loop against a raw ``ssl`` server thread on the
same certificates; the figure is serve's handshake rate / the raw rate.

Usage::

    python benchmarks/bench_soak.py [-n 100000] [--nofile 256] [--quick] [--json]

``--quick`` (the smoke test) makes 600 handshakes. The run is bounded (N at most 200,000; every socket has a
timeout). Exit 0 when every good client succeeded, every connection was recorded and descriptors stayed flat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from genesys_tls.contexts import client_plan, server_context
from genesys_tls.loaders import load
from genesys_tls.pki import build_pki
from genesys_tls.resolve import resolve_client, resolve_server

CLIENT = "Client_client-host"
MAX_N = 200_000
TIMEOUT = 10.0
GOOD_THREADS = 4


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _handshake(context: ssl.SSLContext, name: str | None, address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=TIMEOUT) as sock, context.wrap_socket(
            sock, server_hostname=name
        ):
            return True
    except OSError:
        return False


def _good(context: ssl.SSLContext, name: str | None, address: tuple[str, int], n: int) -> int:
    """``n`` handshakes on ``GOOD_THREADS`` threads; how many succeeded."""
    with ThreadPoolExecutor(GOOD_THREADS) as pool:
        return sum(pool.map(lambda _: _handshake(context, name, address), range(n)))


def _hostile(address: tuple[str, int], kind: str) -> None:
    try:
        sock = socket.create_connection(address, timeout=TIMEOUT)
    except OSError:
        return
    with sock:
        if kind == "garbage":
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        elif kind == "aborted":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
        elif kind == "half":
            sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a ClientHello, then close


class RawServer:
    """The baseline: a raw ``ssl`` server thread (accept, handshake, close) on the same context."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.listener.settimeout(0.05)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(GOOD_THREADS)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _one(self, sock: socket.socket) -> None:
        with sock:
            sock.settimeout(TIMEOUT)
            try:
                with self.context.wrap_socket(sock, server_side=True):
                    pass
            except OSError:
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            self._pool.submit(self._one, sock)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._pool.shutdown()
        self.listener.close()


def run(n: int, nofile: int, quick: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    build_pki(root)
    env = load(root / "environment.yaml")
    plan = client_plan(resolve_client(env, CLIENT, "TServer", "secure"))
    context, name = plan.context, plan.server_hostname

    # the baseline: the same client loop against a raw ssl server
    raw = RawServer(server_context(resolve_server(env, "TServer", "secure")))
    base_n = max(200, min(n // 20, 5000))
    start = time.perf_counter()
    raw_ok = _good(context, name, raw.address, base_n)
    raw_rate = raw_ok / (time.perf_counter() - start)
    raw.close()

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    server = subprocess.Popen(
        [sys.executable, "-m", "genesys_tls", "serve", str(root / "environment.yaml"), "--app", "TServer",
         "--port", "secure", "--address", "127.0.0.1:0", "--timeout", "1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lower,  # noqa: PLW1509
    )
    assert server.stderr is not None and server.stdout is not None
    line = server.stderr.readline()
    if not line.startswith("listening on "):
        server.kill()
        raise SystemExit(f"serve did not start: {line}{server.stderr.read()}")
    host, _, port = line.split()[-1].rpartition(":")
    address = (host, int(port))
    records = {"ok": 0, "refused": 0}
    stderr_lines: list[str] = []

    def read_records() -> None:
        assert server.stdout is not None
        for text in server.stdout:
            records["ok" if json.loads(text)["ok"] else "refused"] += 1

    def read_stderr() -> None:
        assert server.stderr is not None
        stderr_lines.extend(server.stderr)

    readers = [threading.Thread(target=f, daemon=True) for f in (read_records, read_stderr)]
    for reader in readers:
        reader.start()

    rounds = 20 if quick else 100
    per_round = max(1, n // rounds)
    made = {"good": 0, "idle": 0, "garbage": 0, "aborted": 0, "half": 0, "over-limit": 0}
    good_ok = 0
    samples: list[tuple[int, int, int]] = []  # (handshakes so far, RSS KiB, descriptors)
    idle: list[socket.socket] = []
    start = time.perf_counter()
    good_seconds = 0.0
    for index in range(rounds):
        began = time.perf_counter()
        good_ok += _good(context, name, address, per_round)
        good_seconds += time.perf_counter() - began
        made["good"] += per_round
        for kind in ("garbage", "aborted", "half"):
            for _ in range(3):
                _hostile(address, kind)
                made[kind] += 1
        for _ in range(10):  # idle: dropped by the server after its timeout
            try:
                idle.append(socket.create_connection(address, timeout=TIMEOUT))
                made["idle"] += 1
            except OSError:
                pass
        if index % 10 == 5:  # over the limit: more simultaneous connections than descriptors
            burst = []
            for _ in range(nofile + 64):
                try:
                    burst.append(socket.create_connection(address, timeout=TIMEOUT))
                    made["over-limit"] += 1
                except OSError:
                    break
            time.sleep(0.2)
            for sock in burst:
                sock.close()
        if len(idle) > 30:
            for sock in idle[:-10]:
                sock.close()
            del idle[:-10]
        samples.append((made["good"], _rss_kib(server.pid), _fds(server.pid)))
    for sock in idle:
        sock.close()
    elapsed = time.perf_counter() - start
    total = sum(made.values())
    deadline = time.monotonic() + 60
    while sum(records.values()) < total and time.monotonic() < deadline:  # idle ones end after the timeout
        time.sleep(0.2)
    time.sleep(1.5)  # the last closes and the server's idle descriptors
    final = (made["good"], _rss_kib(server.pid), _fds(server.pid))
    server.send_signal(2)  # SIGINT: serve stops and reports its accept errors
    server.wait(30)
    for reader in readers:
        reader.join(5)
    tenth = samples[max(0, len(samples) // 10 - 1)]
    accept = [line for line in stderr_lines if "accept failed" in line]
    return {
        "handshakes": made["good"],
        "connections": made,
        "connections_total": total,
        "good_succeeded": good_ok,
        "records": records,
        "records_total": sum(records.values()),
        "accept_error_lines": len(accept),
        "accept_errors_total": accept[-1].strip() if accept else None,
        "serve_rate_per_s": round(good_ok / good_seconds, 1),
        "raw_ssl_rate_per_s": round(raw_rate, 1),
        "rate_ratio": round(good_ok / good_seconds / raw_rate, 2),
        "rss_kib_at_tenth": tenth[1],
        "rss_kib_end": final[1],
        "fds_at_tenth": tenth[2],
        "fds_end": final[2],
        "nofile": nofile,
        "seconds": round(elapsed, 1),
        "serve_exit": server.returncode,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help=f"good handshakes (at most {MAX_N:,})")
    parser.add_argument("--nofile", type=int, default=48, help="serve's descriptor limit (below its 64 workers)")
    parser.add_argument("--quick", action="store_true", help="600 handshakes (the smoke test)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    n = 600 if args.quick else max(100, min(args.n, MAX_N))
    figures = run(n, args.nofile, args.quick)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:22} {value}")
    ok = (
        figures["good_succeeded"] == figures["handshakes"]
        and figures["records_total"] == figures["connections_total"]
        and figures["fds_end"] <= figures["fds_at_tenth"] + 8
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
