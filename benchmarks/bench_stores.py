"""Contexts from Windows store thumbprints against contexts from PEM paths and a raw ``ssl`` context.

Run: ``python benchmarks/bench_stores.py [--quick]``. Builds the test PKI with ``windows=True`` (PFX stores and
the thumbprint environment), then times, in the same run, N builds of:

* raw: ``ssl.SSLContext`` + ``load_cert_chain`` + ``load_verify_locations`` on the PEM files;
* pem: ``server_context`` of the mutual port of ``environment.yaml`` (PEM paths);
* store: ``server_context`` of the same port of ``environment-windows.yaml`` (thumbprints; the store is read
  once per content and cached, the key file made once);
* store-cold: the same with the store cache emptied before each build (the PFX parsed every time).

Prints each time per build and the ratios to raw. ``--quick`` makes a few builds (smoke run).
"""

from __future__ import annotations

import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import genesys_tls as gt
from genesys_tls import stores
from genesys_tls.pki import build_pki


def timed(build: Callable[[], object], n: int) -> float:
    build()  # warm
    start = time.perf_counter()
    for _ in range(n):
        build()
    return (time.perf_counter() - start) / n


def main(argv: list[str]) -> int:
    n = 5 if "--quick" in argv else 200
    with tempfile.TemporaryDirectory() as folder:
        pki = build_pki(Path(folder), windows=True)
        assert pki.windows_environment is not None
        pem = gt.resolve_server(gt.load(pki.environment), "TServer", "mutual")
        win = gt.resolve_server(gt.load(pki.windows_environment), "TServer", "mutual")
        files = pki.hosts["tsrv-host"]

        def raw() -> ssl.SSLContext:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(files.cert), str(files.key))
            ctx.load_verify_locations(cafile=str(pki.ca))
            ctx.verify_mode = ssl.CERT_REQUIRED
            return ctx

        def cold() -> ssl.SSLContext:
            stores._cache.clear()
            return gt.server_context(win)

        times = {
            "raw": timed(raw, n),
            "pem": timed(lambda: gt.server_context(pem), n),
            "store": timed(lambda: gt.server_context(win), n),
            "store-cold": timed(cold, n),
        }
    print(f"{n} context builds each (server side, mutual port)")
    for name, seconds in times.items():
        print(f"  {name:<10} {seconds * 1e6:9.0f} us/build   {seconds / times['raw']:5.2f}x raw")
    print(f"  store / pem: {times['store'] / times['pem']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
