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



def test_lint_benchmark_prints_the_json_anchor_and_the_growth() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_lint.py"), "--quick"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and all("lint/json.load" in line for line in lines)
    assert "growth" in lines[1] and "0 findings" in lines[1]


def test_harness_benchmark_compares_both_servers_to_raw_ssl() -> None:
    out = run_quick("bench_harness.py", timeout=300)
    assert out.count("ratio to raw") == 6
    assert "SimulatedServer" in out and "handshake.Server" in out


def test_loadgen_benchmark_compares_with_s_time_and_holds_connections() -> None:
    out = run_quick("bench_loadgen.py", timeout=300)
    if "s_time" in out:  # openssl on PATH
        assert out.count("ratio") == 2
    assert "100 held: 100 held" in out and "KiB RSS per held connection" in out
