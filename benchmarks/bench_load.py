"""Loading environments of growing size: near the parser's floor and linear.

Run: ``python benchmarks/bench_load.py``. Generates JSON and YAML environments of 5,000 / 10,000 / 20,000
applications (five connections each: 100,000 connections at 20,000), loads each with ``genesys_tls.load``
and, as the anchor measured in the same run, with the bare parser on the same file: ``json.load`` for JSON,
``yaml.load(f, Loader=yaml.CSafeLoader)`` for YAML (the default call, cyclic GC on, as a user would make
it; the same call with the GC paused is printed too, for honesty). Runs are interleaved and the best of
``--repeat`` CPU times is kept. It prints the ratio load / anchor and the growth between sizes (2.0 per
doubling when linear), and the goals of issue 10: JSON <= 3x ``json.load`` and <= 2.1x per doubling;
YAML <= 0.4x the bare ``yaml.load``. It also times the line positions that ``lint --json`` and SARIF
find on demand (:func:`genesys_tls.loaders.positions`), which loading does not pay.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from genesys_tls import load
from genesys_tls.loaders import positions

SIZES = (5_000, 10_000, 20_000)
GOALS = {"json": ("json.load", 3.0), "yaml": ("yaml.load(CSafeLoader)", 0.4)}
GROWTH_GOAL = 2.1


def generated(n: int) -> dict[str, Any]:
    hosts = {f"host{i}": {"annex": {"security": {"trusted-ca": "ca.pem"}}} for i in range(100)}
    apps = {
        f"app{i}": {
            "type": "T-Server",
            "host": f"host{i % 100}",
            "options": {"security": {"sec-protocol": "TLSv12", "certificate": f"certs/app{i}.pem"}},
            "ports": {"default": {"port": 7000}, "secure": {"port": 7001, "transport": "tls=1;tls-mutual=1"}},
            "connections": [
                {"server": f"app{(i * 7 + k) % n}", "port-id": "secure"} if k % 2 else {"server": f"app{(i + k) % n}"}
                for k in range(5)
            ],
        }
        for i in range(n)
    }
    return {"hosts": hosts, "applications": apps}


def cpu_best(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Best CPU time of each function, the runs interleaved (a, b, c, a, b, c...)."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    return best


def _yaml_no_gc(path: Path, loader: Any) -> Any:
    gc.disable()
    try:
        with path.open("rb") as f:
            return yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader
    finally:
        gc.enable()


def positions_cpu(path: Path, repeat: int) -> float:
    """Best CPU time of :func:`genesys_tls.loaders.positions` on a freshly loaded environment (load not timed)."""
    best = float("inf")
    for _ in range(repeat):
        env = load(path)
        gc.collect()
        start = time.process_time()
        found = positions(env)
        best = min(best, time.process_time() - start)
        assert found is not None  # a sanity check
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="json,yaml")
    args = parser.parse_args()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            anchor_name, goal = GOALS[fmt]
            previous = None
            growths: list[float] = []
            ratios: list[float] = []
            print(f"\n{fmt}: apps | connections | MB | {anchor_name} (s) | genesys_tls.load (s) | load/anchor | growth")
            for n in SIZES:
                path = Path(tmp) / f"env{n}.{fmt}"
                data = generated(n)
                path.write_text(json.dumps(data) if fmt == "json" else yaml.safe_dump(data, sort_keys=False))
                fns: dict[str, Callable[[], Any]] = {"load": lambda p=path: load(p)}
                if fmt == "json":
                    fns["anchor"] = lambda p=path: json.load(p.open("rb"))
                else:
                    fns["anchor"] = lambda p=path: yaml.load(p.open("rb"), Loader=loader)  # noqa: S506
                    fns["anchor-nogc"] = lambda p=path: _yaml_no_gc(p, loader)
                times = cpu_best(fns, args.repeat)
                full, anchor = times["load"], times["anchor"]
                growth = full / previous if previous else None
                if growth:
                    growths.append(growth)
                ratios.append(full / anchor)
                extra = (f" (bare parse with the GC paused: {times['anchor-nogc']:.2f} s, "
                         f"load/that {full / times['anchor-nogc']:.2f})") if "anchor-nogc" in times else ""
                print(f"{fmt}: {n:>6} | {5 * n:>7} | {path.stat().st_size / 1e6:.1f} | {anchor:.3f} | {full:.3f} | "
                      f"{full / anchor:.2f} | {f'{growth:.2f}' if growth else '-'}{extra}")
                previous = full
            where = positions_cpu(path, args.repeat)
            print(f"{fmt}: line positions on demand (lint --json / SARIF) at {SIZES[-1]:,} apps: {where:.3f} s, "
                  f"{where / full:.2f}x the load (not paid by load itself)")
            ok = ratios[-1] <= goal and all(g <= GROWTH_GOAL for g in growths)
            print(f"{fmt}: goal <= {goal}x {anchor_name} at {SIZES[-1]:,} apps and <= {GROWTH_GOAL}x per doubling: "
                  f"{ratios[-1]:.2f}x, growth {', '.join(f'{g:.2f}' for g in growths)} -> "
                  f"{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
