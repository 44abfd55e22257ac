"""Context building against a raw ``ssl.SSLContext`` doing the same loads, measured in one run.

Rows (each printed with its ratio against the anchor measured in the same run):

* ``cold``: ``server_context(resolved, context_cache=None)`` of a mutual port (CA + certificate + key + a
  10-entry CRL) against a raw ``ssl.SSLContext(PROTOCOL_TLS_SERVER)`` with ``load_cert_chain``, two
  ``load_verify_locations`` (CA, CRL) and the CRL flag. Goal <= 1.1x.
* ``again``: the same settings built again through the context cache (a hit: stat of each file, the CRL dates)
  against the same raw build. Goal <= 0.05x.
* ``connect``: handshakes/s of ``genesys_tls.handshake.connect(resolved)`` (a plan, hence a context, per
  connection: through the context cache) against a raw ``ssl`` client that reuses one context, both dialling
  the same raw ``ssl`` server (``bench_harness.RawServer``). Goal >= 0.9x. Then the same against a raw server
  that waits for the client to speak (``ListeningServer``, session tickets on), against a raw client that
  handshakes and closes: what the short read after a TLS 1.3 handshake costs there.
* ``crl-memory``: the resident memory a big CRL costs (RSS growth of a fresh process) in 10 contexts of 10
  ports with identical settings, against one context. Goal <= 1.2x. The same for 10 ports with different
  certificates is printed too (OpenSSL keeps one CRL store per context there: see benchmarks/README.md).

Usage::

    python benchmarks/bench_context.py [--rounds 5] [-n 200] [--crl-entries 1000000] [--quick] [--connect-only]

``--quick`` (the smoke test) uses few iterations and a 5,000-entry CRL; the run is bounded either way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from bench_harness import RawServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from genesys_tls.contexts import server_context
from genesys_tls.loaders import loads
from genesys_tls.pki import CertificateAuthority
from genesys_tls.resolve import resolve_server

PORTS = 10


def write_pki(folder: Path, crl_entries: int, ports: int = PORTS) -> CertificateAuthority:
    """A CA, ``ports`` server certificates, and ``crl.pem`` with ``crl_entries`` revoked serials."""
    ca = CertificateAuthority.create("Bench CA")
    for i in range(ports):
        ca.issue_server(["tsrv-host"]).write(folder, f"server{i}")
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    now = dt.datetime.now(dt.UTC)
    revoked = [
        x509.RevokedCertificateBuilder().serial_number(1_000_000 + n).revocation_date(now).build()
        for n in range(crl_entries)
    ]
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=ca.cert.subject, last_update=now - dt.timedelta(hours=1),
        next_update=now + dt.timedelta(days=30), extensions=[], revoked_certificates=revoked,
    )
    crl = builder.sign(ca.private_key, hashes.SHA256())
    (folder / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return ca


def environment(folder: Path, ports: int = PORTS, same_certificate: bool = True) -> str:
    apps = {}
    for i in range(ports):
        stem = "server0" if same_certificate else f"server{i}"
        apps[f"TServer{i}"] = {
            "type": "T-Server", "host": "tsrv-host",
            "options": {"security": {"certificate": f"{stem}.pem", "certificate-key": f"{stem}.key",
                                     "trusted-ca": "ca.pem"}},
            "ports": {"p": {"port": 7001 + i, "transport": "tls=1;tls-mutual=1;tls-crl=crl.pem"}},
        }
    return yaml.safe_dump({"hosts": {"tsrv-host": {"ip": "127.0.0.1", "os": "unix"}}, "applications": apps})


def raw_build(folder: Path) -> Callable[[], ssl.SSLContext]:
    def build() -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(folder / "server0.pem"), str(folder / "server0.key"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=str(folder / "ca.pem"))
        ctx.load_verify_locations(cafile=str(folder / "crl.pem"))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return ctx

    return build


class ListeningServer(RawServer):
    """A raw ``ssl`` server (tickets on, as OpenSSL's default) that reads before it writes: it waits for the
    client to speak first, as most servers do, until the client closes."""

    def serve_one(self, tls: ssl.SSLSocket) -> None:
        """Read until the client speaks or closes."""
        tls.recv(64)


def client_rows(n: int, rounds: int, listening: bool = False) -> dict[str, float]:
    from genesys_tls.handshake import connect
    from genesys_tls.resolve import resolve_client

    with tempfile.TemporaryDirectory(prefix="bench-context-client-") as name:
        folder = Path(name)
        write_pki(folder, 10, ports=1)
        text = environment(folder, ports=1).replace("tls=1;tls-mutual=1;tls-crl=crl.pem", "tls=1")
        apps = yaml.safe_load(text)
        apps["hosts"]["client-host"] = {"os": "unix"}
        apps["applications"]["Client"] = {
            "type": "Third Party Application", "host": "client-host",
            "options": {"security": {"trusted-ca": "ca.pem"}},
            "connections": [{"server": "TServer0", "port-id": "p", "transport": "tls-crl=crl.pem"}],
        }
        env = loads(yaml.safe_dump(apps), base_dir=folder, source=folder / "environment.yaml")
        resolved = resolve_client(env, "Client", "TServer0", "p")
        raw_ctx = ssl.create_default_context(cafile=str(folder / "ca.pem"))
        raw_ctx.load_verify_locations(cafile=str(folder / "crl.pem"))
        raw_ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(str(folder / "server0.pem"), str(folder / "server0.key"))
        with (ListeningServer(server_ctx) if listening else RawServer(server_ctx)) as server:
            def raw(count: int) -> float:  # TCP_NODELAY before the handshake, as connect() does
                start = time.perf_counter()
                for _ in range(count):
                    with socket.create_connection(server.address, timeout=5) as sock:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        with raw_ctx.wrap_socket(sock, server_hostname="tsrv-host") as tls:
                            if not listening:  # the listening server says nothing: the raw client just closes
                                tls.recv(64)
                return time.perf_counter() - start

            def ours(count: int) -> float:
                start = time.perf_counter()
                for _ in range(count):
                    connect(resolved, address=server.address, timeout=5)
                return time.perf_counter() - start

            ours(5)
            raw(5)
            raws, mine = [], []
            for _ in range(rounds):
                raws.append(n / raw(n))
                mine.append(n / ours(n))
    raw_rate, our_rate = statistics.median(raws), statistics.median(mine)
    return {"raw_rate": raw_rate, "our_rate": our_rate, "ratio": our_rate / raw_rate}


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def timing_rows(n: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-context-") as name:
        folder = Path(name)
        write_pki(folder, 10, ports=1)
        env = loads(environment(folder, ports=1), base_dir=folder, source=folder / "environment.yaml")
        resolved = resolve_server(env, "TServer0", "p")
        raw = raw_build(folder)
        server_context(resolved)  # warm the CRL cache and the context cache

        def cold() -> None:
            server_context(resolved, context_cache=None)

        def again() -> None:
            server_context(resolved)

        raws, colds, agains = [], [], []
        for _ in range(rounds):  # interleaved
            raws.append(per_call(raw, n))
            colds.append(per_call(cold, n))
            agains.append(per_call(again, n * 5))
        raw_s = statistics.median(raws)
        return {
            "raw_us": raw_s * 1e6,
            "cold_us": statistics.median(colds) * 1e6,
            "again_us": statistics.median(agains) * 1e6,
            "cold_ratio": statistics.median(colds) / raw_s,
            "again_ratio": statistics.median(agains) / raw_s,
        }


_CHILD = """
import json, os, sys
from pathlib import Path
from genesys_tls.contexts import server_context
from genesys_tls.loaders import loads
from genesys_tls.resolve import resolve_server

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

folder, text, count = Path(sys.argv[1]), Path(sys.argv[2]).read_text(), int(sys.argv[3])
env = loads(text, base_dir=folder, source=folder / "environment.yaml")
ports = [resolve_server(env, f"TServer{i}", "p") for i in range(count)]
before = rss()
contexts = [server_context(r) for r in ports]
print(json.dumps({"growth": rss() - before, "distinct": len({id(c) for c in contexts})}))
"""


def memory_rows(crl_entries: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-context-crl-") as name:
        folder = Path(name)
        write_pki(folder, crl_entries)
        same, different = folder / "same.yaml", folder / "different.yaml"
        same.write_text(environment(folder, same_certificate=True))
        different.write_text(environment(folder, same_certificate=False))

        def child(env_file: Path, count: int) -> dict[str, int]:
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(folder), str(env_file), str(count)],
                capture_output=True, text=True, timeout=600, check=True,
            )
            return json.loads(out.stdout)  # type: ignore[no-any-return]

        one = child(same, 1)
        ten_same = child(same, PORTS)
        ten_different = child(different, PORTS)
        return {
            "crl_bytes": os.path.getsize(folder / "crl.pem"),
            "one_mib": one["growth"] / 2**20,
            "ten_same_mib": ten_same["growth"] / 2**20,
            "ten_same_contexts": ten_same["distinct"],
            "ten_same_ratio": ten_same["growth"] / one["growth"],
            "ten_different_mib": ten_different["growth"] / 2**20,
            "ten_different_ratio": ten_different["growth"] / one["growth"],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="builds per timing round (bounded to 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (bounded to 20)")
    parser.add_argument("--crl-entries", type=int, default=1_000_000, help="entries of the big CRL (<= 2M)")
    parser.add_argument("--quick", action="store_true", help="a few iterations and a 5,000-entry CRL")
    parser.add_argument("--connect-only", action="store_true", help="only the connect(resolved) row")
    args = parser.parse_args(argv)
    n, rounds, entries = min(args.n, 2000), min(args.rounds, 20), min(args.crl_entries, 2_000_000)
    if args.quick:
        n, rounds, entries = 20, 2, 5000
    if args.connect_only:
        c = client_rows(max(n // 2, 10), rounds)
        print(f"connect(resolved) {c['our_rate']:.1f}/s, raw ssl client {c['raw_rate']:.1f}/s: "
              f"{c['ratio']:.2f}x raw (goal >= 0.9x)")
        q = client_rows(max(n // 8, 5), rounds, listening=True)
        print(f"server that waits for the client: connect(resolved) {q['our_rate']:.1f}/s, raw ssl client (handshake, "
              f"close) {q['raw_rate']:.1f}/s: {q['ratio']:.2f}x raw")
        return 0
    t = timing_rows(n, rounds)
    print(f"context build, CA + cert + key + 10-entry CRL (median of {rounds} rounds of {n})")
    print(f"  raw ssl.SSLContext, same loads : {t['raw_us']:9.1f} us")
    print(f"  server_context, cold           : {t['cold_us']:9.1f} us  {t['cold_ratio']:.2f}x raw (goal <= 1.1x)")
    print(f"  server_context, cached (again) : {t['again_us']:9.1f} us  {t['again_ratio']:.3f}x raw (goal <= 0.05x)")
    c = client_rows(max(n // 2, 10), rounds)
    print("client handshakes, one plan per connection (10-entry CRL checked), against a raw ssl server")
    print(f"  raw ssl client, one context     : {c['raw_rate']:8.1f} handshakes/s")
    print(f"  genesys_tls connect(resolved)   : {c['our_rate']:8.1f} handshakes/s  {c['ratio']:.2f}x raw "
          "(goal >= 0.9x)")
    q = client_rows(max(n // 8, 5), rounds, listening=True)
    print("the same against a raw ssl server that waits for the client to speak (session tickets on)")
    print(f"  raw ssl client (handshake, close): {q['raw_rate']:7.1f} handshakes/s")
    print(f"  genesys_tls connect(resolved)   : {q['our_rate']:8.1f} handshakes/s  {q['ratio']:.2f}x raw")
    m = memory_rows(entries)
    print(f"{entries:,}-entry CRL ({m['crl_bytes'] / 2**20:.1f} MiB PEM), RSS growth of a fresh process")
    print(f"  1 context                       : {m['one_mib']:8.1f} MiB")
    print(f"  {PORTS} ports, identical settings    : {m['ten_same_mib']:8.1f} MiB  {m['ten_same_ratio']:.2f}x one "
          f"({m['ten_same_contexts']} context) (goal <= 1.2x)")
    print(f"  {PORTS} ports, different certificates: {m['ten_different_mib']:8.1f} MiB  "
          f"{m['ten_different_ratio']:.2f}x one (one OpenSSL CRL store per context)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
