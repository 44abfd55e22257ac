"""Benchmark of ``genesys-tls load`` (:func:`genesys_tls.loadgen.run_load`) against ``openssl s_time -new``
on the same server in the same run, and the client's memory per held connection.

Run it from the project root (about 1 minute on 2 cores; ``--quick`` about 10 s)::

    python benchmarks/bench_loadgen.py [--seconds 5] [--held 1000 10000] [--quick]

The server is a :class:`genesys_tls.server.ServerCore` in a child process (so that its threads and
descriptors do not count against the client), on the ``secure`` (simple TLS) and ``mutual`` ports of a
``build_pki`` environment (EC P-256 certificates, TLS 1.3); it holds every connection until the client
closes it.

1. Sequential full handshakes for ``--seconds`` each, interleaved: ``openssl s_time -new`` (one connection at
   a time, each closed before the next) and ``run_load(connections=1, duration=...)``, which does the same;
   the ratio is handshakes/s of ``load`` over those of ``s_time`` (wall time of each run). A third line shows
   ``load`` with 8 handshakes under way at once.
2. Held connections: ``run_load(connections=N)`` for each ``--held`` N, with the open-file soft limit raised
   within the hard limit (``ulimit -n``); the line gives the client's resident memory per held connection.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import genesys_tls as gt
from genesys_tls.loadgen import run_load
from genesys_tls.pki import build_pki

CLIENT = "Client_client-host"


def serve(env_path: str, port_id: str, workers: int) -> int:
    """The child: serve ``TServer/port_id`` until stdin closes; print the port first."""
    from genesys_tls.server import Generation, ServerCore, echo

    env = gt.load(env_path)
    generation = Generation.build(gt.resolve_server(env, "TServer", port_id))
    core = ServerCore(generation, workers=workers, idle_timeout=600.0, keep=10, after=echo,
                      parse_peer=False)
    core.start()
    print(core.address[1], flush=True)
    sys.stdin.read()
    core.stop(timeout=5)
    return 0


class Child:
    """A server process (see :func:`serve`)."""

    def __init__(self, env_path: Path, port_id: str, workers: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(env_path), port_id, str(workers)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def s_time(openssl: str, port: int, seconds: int, pki: Path, mutual: bool) -> tuple[int, float]:
    """``openssl s_time -new``: (connections, wall seconds)."""
    command = [openssl, "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(seconds),
               "-CAfile", str(pki / "certs/ca.pem")]
    if mutual:
        command += ["-cert", str(pki / "certs/client-host.pem"), "-key", str(pki / "certs/client-host.key")]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    wall = time.perf_counter() - start
    match = re.search(r"(\d+) connections in [\d.]+s", done.stdout)
    assert match, done.stdout
    return int(match.group(1)), wall


def load_rate(env: gt.Environment, port_id: str, port: int, seconds: float, parallel: int) -> tuple[float, str]:
    resolved = gt.resolve_client(env, CLIENT, "TServer", port_id)
    start = time.perf_counter()
    result = run_load(resolved, connections=parallel, concurrency=parallel, duration=seconds,
                      address=("127.0.0.1", port), timeout=10.0)
    wall = time.perf_counter() - start
    assert not result.failures, result.failure_details
    assert result.latency_ms is not None
    return result.handshakes / wall, f"p50 {result.latency_ms['p50']:.2f} ms p99 {result.latency_ms['p99']:.2f} ms"


def compare(env: gt.Environment, pki: Path, openssl: str, seconds: int, rounds: int) -> None:
    for port_id in ("secure", "mutual"):
        child = Child(pki / "environment.yaml", port_id, 64)
        try:
            ours: list[float] = []
            theirs: list[float] = []
            parallel: list[float] = []
            note = ""
            for _ in range(rounds):
                count, wall = s_time(openssl, child.port, seconds, pki, port_id == "mutual")
                theirs.append(count / wall)
                rate, note = load_rate(env, port_id, child.port, seconds, 1)
                ours.append(rate)
                parallel.append(load_rate(env, port_id, child.port, seconds, 8)[0])
        finally:
            child.close()
        o, t, p = statistics.median(ours), statistics.median(theirs), statistics.median(parallel)
        mode = "simple" if port_id == "secure" else "mutual"
        print(f"  {mode:<7} s_time -new {t:8.1f}/s   load (1 at a time) {o:8.1f}/s ({note})   ratio {o / t:5.2f}"
              f"   load (8 under way) {p:8.1f}/s")


def held(env: gt.Environment, pki: Path, counts: list[int]) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(counts) + 200
    if soft < want <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    print(f"  open files: soft limit {soft} -> {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}, hard {hard}")
    resolved = gt.resolve_client(env, CLIENT, "TServer", "secure")
    for count in counts:
        child = Child(pki / "environment.yaml", "secure", count + 64)
        try:
            start = time.perf_counter()
            result = run_load(resolved, connections=count, concurrency=16, address=("127.0.0.1", child.port),
                              timeout=30.0)
            wall = time.perf_counter() - start
        finally:
            child.close()
        print(f"  {count:>6} held: {result.held} held, {result.handshakes} handshakes in {wall:.1f} s, "
              f"failures {result.failures or 'none'}, {result.rss_per_connection_kib:.1f} KiB RSS per held "
              "connection")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=5, help="seconds of each rate run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the rate comparison")
    parser.add_argument("--held", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--quick", action="store_true", help="1-second runs, 100 held: a smoke test")
    parser.add_argument("--serve", nargs=3, metavar=("ENV", "PORT_ID", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve[0], args.serve[1], int(args.serve[2]))
    seconds, rounds, counts = (1, 1, [100]) if args.quick else (args.seconds, args.rounds, args.held)
    openssl = shutil.which("openssl")
    version = subprocess.run([openssl, "version"], capture_output=True, text=True, check=True).stdout.strip() \
        if openssl else "no openssl"
    print(f"bench_loadgen {dt.date.today().isoformat()}: Python {platform.python_version()}, {version}, "
          f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f})")
    with tempfile.TemporaryDirectory() as folder:
        files = build_pki(folder)
        env = gt.load(files.environment)
        pki = Path(folder)
        if openssl:
            print(f"handshakes/s, TLS 1.3 ECDSA P-256, {seconds} s runs, median of {rounds}:")
            compare(env, pki, openssl, seconds, rounds)
        print("memory per held connection (client process):")
        held(env, pki, counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
