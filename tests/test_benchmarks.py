"""Smoke tests of the benchmark scripts' ``--quick`` modes: they run, stay bounded and print their ratios.

No timing is asserted here; the figures are read from the scripts' full runs (benchmarks/README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_quick(script: str, *extra: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_crl_build_benchmark_prints_a_ratio_per_size() -> None:
    out = run_quick("bench_crl_build.py")
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["500", "1000"]
    assert all(float(row[3]) > 0 for row in rows)

