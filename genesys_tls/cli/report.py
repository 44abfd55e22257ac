"""``genesys-tls report``: a self-contained HTML report of an estate."""

from __future__ import annotations

import argparse
import sys

from ..resolve import Reading
from ._common import EXIT_FAILED, EXIT_OK, days, safe, write_text


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="a self-contained HTML report: the estate drawn, findings by object, certificate and CRL expiry",
        description="Write one HTML file (inline SVG and CSS, no network fetch) with a drawing of the estate "
        "(Hosts, applications, ports, connections with their mode and lint problems), the lint findings "
        "grouped by object, the certificates and CRLs on an expiry timeline, and every application. An "
        "environment that does not load still gives a report, with the load error shown. Exit 0: written; "
        "1: written, but the environment does not load; 2: bad usage. See docs/report.md.",
    )
    p.add_argument("env", metavar="ENV", help="environment file (.yaml, .yml, .json, .cfg)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.html", help="the HTML file to write")
    p.add_argument("--layout", choices=("auto", "dot", "builtin"), default="auto",
                   help="auto (default): Graphviz dot when installed, else the built-in layout")
    p.add_argument("--expiry-days", type=days, default=30, metavar="N",
                   help="warn about certificates and CRLs that expire within N days (default: 30)")
    p.add_argument("--reading", choices=[r.value for r in Reading], default=Reading.PSDK.value,
                   help="where the docs and the Platform SDK disagree: psdk (default) or doc, see docs/precedence.md")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..report import write_report

    result = write_report(args.env, args.output, layout=args.layout, reading=args.reading,
                          expiry_days=args.expiry_days)
    e = result.estate
    s = e.summary()
    write_text(f"wrote {safe(result.path)}: {len(e.nodes)} applications, {len(e.links)} connections, "
               f"{s['error']} errors, {s['warning']} warnings; drawing: {result.drawing.engine} "
               f"({result.drawing.level})",
               file=sys.stderr)
    if e.load_errors:
        write_text(f"the environment does not load: {safe(e.load_errors[0])}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
