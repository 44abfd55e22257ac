"""Loading environments of growing size: linear, not quadratic.

Run: ``python benchmarks/bench_load.py``. Generates JSON and YAML environments of 5,000 / 10,000 / 20,000
applications (two connections each), loads each with ``genesys_tls.load`` and, as the raw baseline in the same
run, with the plain parser alone (``json.load`` / ``yaml.load`` with libyaml), and prints the CPU times, the
ratio load / parse, and the growth ratio between sizes (about 2.0 for each doubling when linear).
"""

from __future__ import annotations

import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from genesys_tls import load


def generated(n: int) -> dict[str, Any]:
    hosts = {f"host{i}": {"annex": {"security": {"trusted-ca": "ca.pem"}}} for i in range(100)}
    apps = {
        f"app{i}": {
            "type": "T-Server",
            "host": f"host{i % 100}",
            "options": {"security": {"sec-protocol": "TLSv12", "certificate": f"certs/app{i}.pem"}},
            "ports": {"default": {"port": 7000}, "secure": {"port": 7001, "transport": "tls=1;tls-mutual=1"}},
            "connections": [{"server": f"app{(i * 7 + 1) % n}", "port-id": "secure"}, {"server": f"app{i}"}],
        }
        for i in range(n)
    }
    return {"hosts": hosts, "applications": apps}


def cpu(fn: Any) -> float:
    gc.collect()
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("json", "yaml"):
            previous = None
            print(f"\n{fmt}: apps | parse only (s) | genesys_tls.load (s) | load/parse | growth vs previous size")
            for n in (5_000, 10_000, 20_000):
                path = Path(tmp) / f"env{n}.{fmt}"
                data = generated(n)
                path.write_text(json.dumps(data) if fmt == "json" else yaml.safe_dump(data))
                if fmt == "json":
                    parse = cpu(lambda p=path: json.loads(p.read_text()))
                else:
                    parse = cpu(lambda p=path: yaml.load(p.read_text(), Loader=loader))  # noqa: S506 - safe loader
                full = cpu(lambda p=path: load(p))
                growth = f"{full / previous:.2f}" if previous else "-"
                print(f"{fmt}: {n:>6} | {parse:.3f} | {full:.3f} | {full / parse:.2f} | {growth}")
                previous = full


if __name__ == "__main__":
    main()
