"""Benchmark of ``genesys-tls report`` on a 2,000-application environment (10,000 connections).

The environment is the one of ``bench_lint.py`` (one Host per 100 applications, four server certificates, a
CA and a CRL; each application has two ports and five connections, everything verifies). Measured in the same
run, on the same file:

* anchors: ``json.dumps`` of the environment data, and ``genesys_tls.load`` of the file;
* ``render_report`` with Graphviz ``dot`` (when installed) and with the built-in layout: load, lint,
  resolve every port and connection, read the certificate and CRL files, draw, write the HTML;
* optionally (``--browser``) the time headless Chromium takes to load the page, dump its DOM and take a
  screenshot.

Times are wall-clock, best of ``--repeat`` runs; the ratios to the anchors are the figures to read.

    python benchmarks/bench_report.py                 # 2,000 applications
    python benchmarks/bench_report.py --apps 500 --apps 2000 --browser
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_lint import environment, write_pki

import genesys_tls as gt
from genesys_tls.report import render_report

CHROMIUM = "/usr/bin/chromium"


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def browser(page: Path, folder: Path) -> float | None:
    if not Path(CHROMIUM).exists():
        return None
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={folder / 'prof'}",
            "--dump-dom", f"--screenshot={folder / 'shot.png'}", "--window-size=1280,2000", page.as_uri()]
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, timeout=120, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(folder: Path, apps: int, repeat: int, with_browser: bool) -> dict[str, Any]:
    data = environment(apps)
    path = folder / f"env-{apps}.json"
    dumps_s, text = best(lambda: json.dumps(data), repeat)
    path.write_text(text, encoding="utf-8")
    load_s, _ = best(lambda: gt.load(path), repeat)
    row: dict[str, Any] = {"apps": apps, "connections": apps * 5, "dumps_s": dumps_s, "load_s": load_s}
    for layout in ("dot", "builtin"):
        if layout == "dot" and shutil.which("dot") is None:
            row["dot_s"] = None
            continue
        seconds, page = best(lambda layout=layout: render_report(path, layout=layout), repeat)
        row[f"{layout}_s"] = seconds
        row[f"{layout}_bytes"] = len(page.encode())
        out = folder / f"report-{apps}-{layout}.html"
        out.write_text(page, encoding="utf-8")
        if with_browser and layout == "builtin":
            row["browser_s"] = browser(out, folder)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--apps", type=int, action="append", help="applications (repeat); default 2000")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure; the best is kept")
    parser.add_argument("--browser", action="store_true", help="also time headless Chromium on the page")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        write_pki(folder)
        for apps in args.apps or [2000]:
            r = measure(folder, apps, args.repeat, args.browser)
            line = (f"{r['apps']:>6} apps {r['connections']:>6} connections: json.dumps {r['dumps_s']:.3f} s, "
                    f"load {r['load_s']:.2f} s")
            for layout in ("dot", "builtin"):
                if r.get(f"{layout}_s") is not None:
                    s = r[f"{layout}_s"]
                    line += (f"; report ({layout}) {s:.2f} s = {s / r['load_s']:.1f}x load, "
                             f"{s / r['dumps_s']:.0f}x json.dumps, {r[f'{layout}_bytes'] / 1e6:.1f} MB")
            if r.get("browser_s") is not None:
                line += f"; Chromium load+DOM+screenshot {r['browser_s']:.1f} s"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
