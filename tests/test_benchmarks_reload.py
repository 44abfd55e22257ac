"""The context-cache and rotation benchmarks run in their bounded --quick mode (figures, not timings, are
checked: every row prints its ratio, and the rotation run has no failed handshake and no dropped connection)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _quick(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCHMARKS / name), "--quick"], capture_output=True, text=True,
                          timeout=300, check=False)


def test_bench_context_quick_prints_every_ratio() -> None:
    out = _quick("bench_context.py")
    assert out.returncode == 0, out.stderr
    for row in ("x raw (goal <= 1.1x)", "x raw (goal <= 0.05x)", "x one (1 context) (goal <= 1.2x)",
                "one OpenSSL CRL store per context"):
        assert row in out.stdout, out.stdout


def test_bench_reload_quick_has_no_failure_and_no_drop() -> None:
    out = _quick("bench_reload.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "failed handshakes             : 0" in out.stdout
    assert "dropped held connections      : 0" in out.stdout
    assert "median" in out.stdout and "x the same clients without rotation" in out.stdout
