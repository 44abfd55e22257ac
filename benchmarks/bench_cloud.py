"""Cloud checks against raw baselines measured in the same run (ratios are the figures to read).

* probe: ``cloud.probe.probe`` (two handshakes, CRL from the per-URL cache) against two raw ``ssl`` handshakes
  (TLS 1.2 floor, TLS 1.2 cap) to the same loopback cloud application;
* first probe: the same with an empty CRL cache (one HTTP fetch, parse and signature check);
* known-IP list: ``check_known_ips`` on 20,000 entries against bare ``ipaddress.ip_network`` of each entry.

    python benchmarks/bench_cloud.py
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from genesys_tls.cloud.components import CloudApp, CloudPKI, CRLAnswer, CRLServer
from genesys_tls.cloud.crlfetch import CRLFetchCache
from genesys_tls.cloud.ips import check_known_ips, parse_known_ips
from genesys_tls.cloud.probe import probe

HOST = "app.cloud.test"


def best(run: Callable[[], object], repeat: int = 30) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, CRLServer() as crl:
        pki = CloudPKI(Path(folder), crl.url("ca.crl"))
        cert, key = pki.leaf(HOST, "app")
        crl.set("ca.crl", CRLAnswer(pki.crl()))
        with CloudApp(cert, key) as app:
            url = f"https://{HOST}:{app.port}/"
            cache = CRLFetchCache()
            common = {"ca_file": str(pki.ca_file), "resolve": {HOST: "127.0.0.1"}, "domain": "cloud.test"}

            def raw() -> None:
                for cap in (False, True):
                    ctx = ssl.create_default_context(cafile=str(pki.ca_file))
                    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                    if cap:
                        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                    with socket.create_connection(("127.0.0.1", app.port), timeout=5) as s, ctx.wrap_socket(
                        s, server_hostname=HOST
                    ):
                        pass

            best(raw, repeat=5)  # warm up
            cached_runs, first_runs, raw_runs = [], [], []
            for _ in range(5):  # interleaved, so that load from other processes hits every series alike
                raw_runs.append(best(raw, repeat=10))
                cached_runs.append(best(lambda: probe(url, cache=cache, **common), repeat=10))  # type: ignore[arg-type]
                first_runs.append(best(lambda: probe(url, cache=CRLFetchCache(), **common), repeat=10))  # type: ignore[arg-type]
            baseline, cached, first = min(raw_runs), min(cached_runs), min(first_runs)
    print(f"probe, cached CRL: {cached * 1000:.2f} ms = {cached / baseline:.2f}x two raw ssl handshakes "
          f"({baseline * 1000:.2f} ms)")
    print(f"probe, CRL fetched: {first * 1000:.2f} ms = {first / baseline:.2f}x")
    text = "".join(f"81.{i // 256}.{i % 256}.0/24 isp\n" for i in range(20_000))
    entries = parse_known_ips(text)
    check = best(lambda: check_known_ips(entries), repeat=5)
    bare = best(lambda: [ipaddress.ip_network(line.split()[0]) for line in text.splitlines()], repeat=5)
    print(f"check_known_ips, 20,000 entries: {check * 1000:.1f} ms = {check / bare:.2f}x parsing them with ipaddress")


if __name__ == "__main__":
    main()
