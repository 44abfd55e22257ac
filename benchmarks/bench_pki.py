"""Benchmark of :func:`genesys_tls.pki.build_pki` against the raw cryptography it needs, and against trustme.

Run it from the project root (takes about 20 s on 2 cores)::

    python benchmarks/bench_pki.py [--repeat-ec 30] [--repeat-rsa 7]

Three comparisons per key type (EC P-256 and RSA 2048):

1. ``build_pki`` (every file of the layout, CRLs and ``environment.yaml`` written) against the bare
   cryptography operations it performs: the script first counts the key generations and signatures
   ``build_pki`` makes (by wrapping the two module functions that do them), then times the same number of
   ``generate_private_key`` and ``sign`` calls. The ratio is the overhead of everything else (building
   certificates, PEM encoding, files, YAML).
2. The same certificates in memory with the public API (two CAs, a fresh key per leaf) against trustme doing
   the same: two ``trustme.CA()`` and the same number of ``issue_cert`` calls.
3. ``build_pki`` against trustme with its PEM files written, the closest trustme gets to the same job
   (trustme makes no CRLs and no environment file; it makes a key per leaf where ``build_pki`` reuses the
   first host's key for the broken variants).

A fourth line shows the I/O floor: writing the same number of files of the same sizes plainly.

Medians (with minimum and maximum) of the repeated runs; the first run of each series is a warm-up and is
not counted. RSA key generation time varies a lot from key to key: read the RSA rows with their spread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography
import trustme
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from genesys_tls import pki
from genesys_tls.pki import CertificateAuthority, KeyType, build_pki

NAMES = ("tsrv-host", "client-host")


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median, minimum and maximum wall time of ``repeat`` runs of ``run`` after one warm-up run."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def count_operations(key_type: KeyType) -> tuple[Counter[str], list[int]]:
    """How many key generations and signatures one ``build_pki`` makes (the wrapped calls are real), and
    the sizes of the files it writes."""
    counts: Counter[str] = Counter()
    originals = {name: getattr(pki, name) for name in ("_new_key", "_sign_certificate", "_sign_crl")}

    def counted(name: str) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            counts["keys" if name == "_new_key" else "signatures"] += 1
            counts[name] += 1
            return originals[name](*args)

        return wrapper

    try:
        for name in originals:
            setattr(pki, name, counted(name))
        with tempfile.TemporaryDirectory() as folder:
            build_pki(folder, NAMES, key_type=key_type)
            sizes = [p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()]
    finally:
        for name, function in originals.items():
            setattr(pki, name, function)
    return counts, sizes


def plain_writes(sizes: list[int]) -> Callable[[], None]:
    """The I/O floor: the same number of files of the same sizes, written with ``Path.write_bytes``."""

    def run() -> None:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            for i, size in enumerate(sizes):
                folder.joinpath(f"{i}.pem").write_bytes(b"x" * size)

    return run


def raw_operations(key_type: KeyType, keys: int, signatures: int) -> Callable[[], None]:
    """The bare cryptography calls: ``keys`` generations, ``signatures`` SHA-256 signatures of 500 bytes."""
    message = os.urandom(500)  # about the size of a leaf's TBSCertificate

    def run() -> None:
        made: list[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey] = []
        for _ in range(keys):
            if key_type is KeyType.EC:
                made.append(ec.generate_private_key(ec.SECP256R1()))
            else:
                made.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        signer = made[0]
        for _ in range(signatures):
            if isinstance(signer, ec.EllipticCurvePrivateKey):
                signer.sign(message, ec.ECDSA(hashes.SHA256()))
            else:
                signer.sign(message, padding.PKCS1v15(), hashes.SHA256())

    return run


def ours_in_memory(key_type: KeyType, leaves: int) -> Callable[[], None]:
    """Two CAs and ``leaves`` leaf certificates, each with a fresh key, in memory, with genesys_tls.pki."""

    def run() -> None:
        ca = CertificateAuthority.create("Test CA", key_type=key_type)
        other = CertificateAuthority.create("Other Test CA", key_type=key_type)
        for i in range(leaves):
            (other if i == leaves - 1 else ca).issue([f"host-{i}", "127.0.0.1"])

    return run


def trustme_key_type(key_type: KeyType) -> trustme.KeyType:
    return trustme.KeyType.ECDSA if key_type is KeyType.EC else trustme.KeyType.RSA


def trustme_in_memory(key_type: KeyType, leaves: int) -> Callable[[], None]:
    """The same with trustme: two CAs, ``leaves`` ``issue_cert`` calls."""
    kind = trustme_key_type(key_type)

    def run() -> None:
        ca = trustme.CA(key_type=kind)
        other = trustme.CA(key_type=kind)
        for i in range(leaves):
            (other if i == leaves - 1 else ca).issue_cert(f"host-{i}", "127.0.0.1", key_type=kind)

    return run


def trustme_files(key_type: KeyType, leaves: int) -> Callable[[], None]:
    """trustme with the CA and every leaf written as PEM files (certificate and key), as build_pki does."""
    kind = trustme_key_type(key_type)

    def run() -> None:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            ca = trustme.CA(key_type=kind)
            other = trustme.CA(key_type=kind)
            ca.cert_pem.write_to_path(str(folder / "ca.pem"))
            other.cert_pem.write_to_path(str(folder / "other-ca.pem"))
            for i in range(leaves):
                leaf = (other if i == leaves - 1 else ca).issue_cert(f"host-{i}", "127.0.0.1", key_type=kind)
                leaf.cert_chain_pems[0].write_to_path(str(folder / f"host-{i}.pem"))
                leaf.private_key_pem.write_to_path(str(folder / f"host-{i}.key"))

    return run


def build_once(key_type: KeyType) -> Callable[[], None]:
    def run() -> None:
        with tempfile.TemporaryDirectory() as folder:
            build_pki(folder, NAMES, key_type=key_type)

    return run


def report(key_type: KeyType, repeat: int) -> None:
    counts, sizes = count_operations(key_type)
    leaves = counts["_sign_certificate"] - 2  # every certificate signature but the two roots
    build = timed(build_once(key_type), repeat)
    raw = timed(raw_operations(key_type, counts["keys"], counts["signatures"]), repeat)
    writes = timed(plain_writes(sizes), repeat)
    ours = timed(ours_in_memory(key_type, leaves), repeat)
    theirs = timed(trustme_in_memory(key_type, leaves), repeat)
    theirs_files = timed(trustme_files(key_type, leaves), repeat)

    print(f"\n== key type {key_type.value} ({repeat} runs, medians) ==")
    print(
        f"build_pki makes {counts['keys']} keys, {counts['_sign_certificate']} certificate signatures "
        f"({leaves} leaves) and {counts['_sign_crl']} CRL signatures"
    )
    rows = [
        (f"build_pki ({len(sizes)} files, CRLs, environment.yaml)", build),
        (f"raw cryptography: {counts['keys']} keygens + {counts['signatures']} signs", raw),
        (f"I/O floor: {len(sizes)} plain file writes", writes),
        (f"pki API in memory: 2 CAs + {leaves} leaves, fresh keys", ours),
        (f"trustme in memory: 2 CA() + {leaves} issue_cert", theirs),
        (f"trustme + PEM files: 2 CA() + {leaves} issue_cert", theirs_files),
    ]
    print(f"  {'':<58} {'median':>9}    {'min':>9} {'max':>9}")
    for label, (median, low, high) in rows:
        print(f"  {label:<58} {median * 1000:9.2f} ms {low * 1000:9.2f} {high * 1000:9.2f}")
    print(f"  ratio build_pki / raw cryptography           {build[0] / raw[0]:6.2f}")
    print(f"  ratio build_pki / (raw cryptography + I/O)   {build[0] / (raw[0] + writes[0]):6.2f}")
    print(f"  ratio pki API in memory / trustme in memory  {ours[0] / theirs[0]:6.2f}")
    print(f"  ratio build_pki / trustme + PEM files        {build[0] / theirs_files[0]:6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat-ec", type=int, default=30, help="timed runs per EC series (default 30)")
    parser.add_argument("--repeat-rsa", type=int, default=7, help="timed runs per RSA series (default 7)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(
        f"bench_pki {dt.date.today().isoformat()}: Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__}, trustme {getattr(trustme, '__version__', '?')}, "
        f"{os.cpu_count()} CPUs, {platform.machine()} {platform.system()}"
    )
    report(KeyType.EC, args.repeat_ec)
    report(KeyType.RSA, args.repeat_rsa)
    print(f"\ntotal benchmark time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
