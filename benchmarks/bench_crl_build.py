"""Benchmark of :meth:`genesys_tls.ca.CertificateAuthority.crl` against raw cryptography, same run.

Run it from the project root (about 10 s on 2 cores; ``--quick`` about 1 s)::

    python benchmarks/bench_crl_build.py [--sizes 10000 20000] [--repeat 5] [--quick]

For each size n, a CA with n revoked serials signs one PEM CRL with ``CA.crl()``; the anchor is the same job
done with the cryptography API directly: n ``RevokedCertificateBuilder`` entries handed to one
``CertificateRevocationListBuilder``, the same extensions, one SHA-256 signature, PEM encoding. The ratio is
the overhead of the CA's own work; the growth column is the time at n divided by the time at the previous
size (2.0 per doubling is linear).

Medians of the timed runs, interleaved (ours, anchor, ours, ...) so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import cryptography
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from genesys_tls.ca import CertificateAuthority


def raw_crl(ca: CertificateAuthority, serials: list[int], when: dt.datetime) -> Callable[[], bytes]:
    """The anchor: the same CRL built with cryptography alone."""
    key = ca.private_key
    issuer = ca.cert.subject

    def run() -> bytes:
        revoked = [x509.RevokedCertificateBuilder().serial_number(s).revocation_date(when).build() for s in serials]
        builder = (
            x509.CertificateRevocationListBuilder(revoked_certificates=revoked)
            .issuer_name(issuer)
            .last_update(when)
            .next_update(when + dt.timedelta(days=90))
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        )
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    return run


def measure(sizes: list[int], repeat: int) -> list[tuple[int, float, float]]:
    """(size, ours median s, anchor median s) per size."""
    rows = []
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    for size in sizes:
        ca = CertificateAuthority.create("Bench CA")
        serials = list(range(1000, 1000 + size))
        for serial in serials:
            ca.revoke(serial, when=when)
        ours: list[float] = []
        theirs: list[float] = []
        anchor = raw_crl(ca, serials, when)
        ca.crl()
        anchor()
        for _ in range(repeat):
            start = time.perf_counter()
            pem = ca.crl()
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            anchor()
            theirs.append(time.perf_counter() - start)
        assert len(x509.load_pem_x509_crl(pem)) == size
        rows.append((size, statistics.median(ours), statistics.median(theirs)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    args = parser.parse_args(argv)
    sizes, repeat = ([500, 1000], 1) if args.quick else (args.sizes, args.repeat)
    print(
        f"bench_crl_build {dt.date.today().isoformat()}: Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"  {'revoked':>8} {'CA.crl() ms':>12} {'raw ms':>9} {'ratio':>6} {'growth':>7}")
    previous = None
    for size, ours, theirs in measure(sizes, repeat):
        growth = f"{ours / previous:7.2f}" if previous else f"{'':>7}"
        print(f"  {size:>8} {ours * 1000:12.1f} {theirs * 1000:9.1f} {ours / theirs:6.2f} {growth}")
        previous = ours
    return 0


if __name__ == "__main__":
    sys.exit(main())
