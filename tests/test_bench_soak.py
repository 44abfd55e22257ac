"""Smoke test of the soak benchmark: ``benchmarks/bench_soak.py --quick`` runs, bounded, and its figures hold.

No timing assertion: only that every good client succeeded, every connection was recorded by ``serve``, the
accept errors of the lowered descriptor limit were reported, and descriptors did not grow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parent.parent / "benchmarks" / "bench_soak.py"


def test_the_soak_benchmark_quick_mode() -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--json"], capture_output=True, text=True,
                          timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(proc.stdout)
    assert figures["good_succeeded"] == figures["handshakes"] == 600
    assert figures["records_total"] == figures["connections_total"]
    assert figures["records"]["refused"] > 0  # idle, garbage and aborted connections are refused and recorded
    assert figures["accept_errors_total"] is not None and "accept failed" in figures["accept_errors_total"]
    assert figures["fds_end"] <= figures["fds_at_tenth"] + 8
