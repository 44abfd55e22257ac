"""``genesys-tls cloud``: Genesys Engage cloud access (see ``docs/cloud.md``).

* ``cloud ips FILE [--network internet|private] [--compare FILE] [--json] [--fail-on error|warning]``
* ``cloud probe URL [--ca FILE] [--resolve HOST:ADDR ...] [--revocation require|soft|off] [--proxy HOST:PORT]
  [--domain D] [--portal] [--json]``
* ``cloud pac --proxy HOST:PORT [--direct FQDN ...] [-o FILE]`` / ``cloud pac --check FILE --url URL ...``
* ``cloud plan PLAN.yaml [--json] [--format text|json|sarif] [--fail-on error|warning]``

Exit codes: 0 success, 1 the thing checked failed (findings at ``--fail-on``, a failed probe, a PAC call that
raised), 2 bad usage or input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from ._common import EXIT_FAILED, EXIT_OK, CLIError, check_timeout, emit_json

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(text: str) -> str:
    """Control characters escaped, for text output."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``cloud`` and its subcommands."""
    from ..cloud.facts import CLOUD_DOMAIN

    cloud = sub.add_parser(
        "cloud",
        help="Genesys Engage cloud access: known-IP lists, the TLS profile probe, PAC files, network plans",
        description="Genesys Engage cloud access checks; docs/cloud.md describes them.",
    )
    commands = cloud.add_subparsers(dest="cloud_command", metavar="SUBCOMMAND", parser_class=type(cloud))
    cloud.set_defaults(run=lambda args: _usage(cloud))

    ips = commands.add_parser("ips", help="findings on a known-IP list (YAML or text)",
                              description="Check a known-IP list: non-routable blocks, IPv6, dynamic addresses, "
                              "duplicates, overlaps; --compare reports every difference with another list.",
                              epilog="exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; "
                              "2 bad usage or an unreadable list")
    ips.add_argument("file", metavar="FILE", help="the known-IP list: YAML, or text with one address or block a line")
    ips.add_argument("--network", choices=("internet", "private"), default="internet",
                     help="the list is for the Internet (default) or the private network")
    ips.add_argument("--compare", metavar="OTHER", help="a list that must hold the same addresses")
    ips.add_argument("--json", action="store_true", help="the lint --json shape (plus entry and line)")
    ips.add_argument("--fail-on", choices=("error", "warning"), default="error",
                     help="exit 1 when a finding has this severity or a higher one (default: error)")
    ips.set_defaults(run=_run_ips)

    probe = commands.add_parser("probe", help="the cloud TLS profile checks against one URL; exit 0 pass, 1 fail",
                                description="TLS 1.2 floor and cap, public-CA chain and host name, CRLs from the "
                                "certificate's CRL Distribution Points; optionally the Portal's HTTP redirect.")
    probe.add_argument("url", metavar="URL", help="the cloud application's https:// URL")
    probe.add_argument("--ca", metavar="FILE", help="PEM CA certificates to trust instead of certifi's public CAs")
    probe.add_argument("--resolve", metavar="HOST:ADDR", action="append", default=None,
                       help="resolve HOST to ADDR (repeatable); with it, nothing else is resolved")
    probe.add_argument("--revocation", choices=("require", "soft", "off"), default="require",
                       help="require (default): no current CRL fails; soft: a warning; off: not checked")
    probe.add_argument("--proxy", metavar="HOST:PORT", help="tunnel through this HTTP proxy with CONNECT")
    probe.add_argument("--domain", default=CLOUD_DOMAIN, help=f"the cloud domain (default {CLOUD_DOMAIN})")
    probe.add_argument("--portal", action="store_true", help="also check http://HOST/ redirects at once to https")
    probe.add_argument("--http-port", type=int, default=80, metavar="N", help="the Portal's HTTP port (default 80)")
    probe.add_argument("--chain-crls", action="store_true",
                       help="also check the CRLs of the intermediate CAs (default: the server certificate's)")
    probe.add_argument("--crl-max-bytes", type=int, default=None, metavar="N", help="the largest CRL accepted")
    probe.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per connection")
    probe.add_argument("--json", action="store_true", help="JSON output")
    probe.set_defaults(run=_run_probe)

    pac = commands.add_parser("pac", help="write a PAC file, or evaluate one for URLs (node)",
                              description="--proxy: write the PAC file sending the cloud domain to a dedicated "
                              "proxy; --check: evaluate a PAC file for --url values in node.",
                              epilog="exit codes: 0 written, or every --url evaluated; 1 a --url the PAC file "
                              "fails on; 2 bad usage")
    pac.add_argument("--proxy", metavar="HOST:PORT", help="the dedicated proxy for the cloud domain")
    pac.add_argument("--direct", metavar="FQDN", action="append", default=[],
                     help="a TURN name (or *.domain) sent DIRECT (repeatable)")
    pac.add_argument("--domain", default=CLOUD_DOMAIN, help=f"the cloud domain (default {CLOUD_DOMAIN})")
    pac.add_argument("--otherwise", default="DIRECT", help="what every other URL gets (DIRECT, or PROXY host:port)")
    pac.add_argument("-o", "--output", metavar="FILE", help="write the PAC file there instead of stdout")
    pac.add_argument("--check", metavar="FILE", help="evaluate this PAC file")
    pac.add_argument("--url", action="append", default=[], metavar="URL", help="a URL to evaluate (repeatable)")
    pac.add_argument("--resolve", metavar="HOST:ADDR", action="append", default=[],
                     help="what dnsResolve(HOST) answers (repeatable); nothing else resolves")
    pac.add_argument("--json", action="store_true", help="--check: JSON output")
    pac.set_defaults(run=_run_pac)

    plan = commands.add_parser("plan", help="findings on a network plan (GT7xx)",
                               description="Check a network plan (docs/cloud.md, docs/cloud-plan.schema.json).")
    plan.add_argument("file", metavar="PLAN.yaml",
                      help="the network plan (YAML or JSON, format: docs/cloud-plan.schema.json)")
    plan.add_argument("--json", action="store_true", help="same as --format json")
    plan.add_argument("--format", choices=("text", "json", "sarif"), default=None,
                      help="output format (default: text)")
    plan.add_argument("--fail-on", choices=("error", "warning"), default="error",
                      help="exit 1 when a finding has this severity or a higher one (default: error)")
    plan.set_defaults(run=_run_plan)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    raise CLIError("genesys-tls cloud: a subcommand is required (ips, probe, pac, plan)")


def _fails(findings: Sequence[Any], threshold: str) -> bool:
    from ..lint import Severity

    level = Severity(threshold)
    return any(f.severity.rank >= level.rank for f in findings)


_LABEL = re.compile(r"^line (\d+): (.*)$")


def _finding_dict(finding: Any) -> dict[str, Any]:
    out: dict[str, Any] = finding.to_dict()
    match = _LABEL.match(finding.object)
    if match:
        out["line"] = int(match.group(1))
        out["entry"] = match.group(2)
    else:
        out["entry"] = finding.object
    return out


def _text_report(findings: Sequence[Any]) -> str:
    import datetime

    from ..lint.engine import CacheStats, LintStats, Report
    from ..lint.reporters import render_text

    report = Report(tuple(findings), None, "cloud", 0, datetime.datetime.now(datetime.UTC),
                    LintStats(CacheStats({}, 0, 0), 0, 0))
    return _safe(render_text(report))


def _run_ips(args: argparse.Namespace) -> int:
    from ..cloud.ips import check_known_ips, compare_known_ips, load_known_ips

    entries = load_known_ips(args.file)
    findings = list(check_known_ips(entries, args.network, file=args.file))
    if args.compare:
        other = load_known_ips(args.compare)
        findings += check_known_ips(other, args.network, file=args.compare)
        findings += compare_known_ips(entries, other, first_name=args.file, second_name=args.compare)
    if args.json:
        from ..lint import Severity

        summary = {s.value: sum(1 for f in findings if f.severity is s) for s in Severity}
        emit_json({"findings": [_finding_dict(f) for f in findings], "summary": summary})
    else:
        sys.stdout.write(_text_report(findings))
    return EXIT_FAILED if _fails(findings, args.fail_on) else EXIT_OK


def _run_probe(args: argparse.Namespace) -> int:
    from ..cloud.crlfetch import FetchLimits
    from ..cloud.probe import parse_resolve, probe

    check_timeout(args.timeout)
    if not 0 < args.http_port < 65536:
        raise CLIError(f"genesys-tls cloud probe: --http-port {args.http_port}: expected 1-65535")
    limits = None
    if args.crl_max_bytes is not None:
        if args.crl_max_bytes <= 0:
            raise CLIError(f"genesys-tls cloud probe: --crl-max-bytes {args.crl_max_bytes}: expected more than 0")
        limits = FetchLimits(max_bytes=args.crl_max_bytes, seconds=min(args.timeout, FetchLimits().seconds))
    resolve = parse_resolve(args.resolve) if args.resolve is not None else None
    result = probe(args.url, ca_file=args.ca, resolve=resolve, revocation=args.revocation, proxy=args.proxy,
                   domain=args.domain, timeout=args.timeout, portal=args.portal, http_port=args.http_port,
                   crl_limits=limits, chain_crls=args.chain_crls)
    if args.json:
        emit_json(result.to_dict())
    else:
        if result.ok:
            print(_safe(f"PASS {result.url} ({result.protocol}, {result.cipher}): {', '.join(result.checks)}"))
        else:
            assert result.error is not None  # noqa: S101 - a failed result has an error
            print(_safe(f"FAIL {result.url}: {result.error[0].value}: {result.error[1]}"))
            if result.checks:
                print(_safe(f"  passed before: {', '.join(result.checks)}"))
        for warning in result.warnings:
            print(_safe(f"  warning: {warning}"))
    return EXIT_OK if result.ok else EXIT_FAILED


def _run_pac(args: argparse.Namespace) -> int:
    from ..cloud._read import read_text
    from ..cloud.pac import generate_pac
    from ..cloud.pac_eval import evaluate_pac
    from ..cloud.probe import parse_resolve

    if (args.proxy is None) == (args.check is None):
        raise CLIError("genesys-tls cloud pac: give either --proxy HOST:PORT (write) or --check FILE (evaluate)")
    if args.proxy is not None:
        if args.url:
            raise CLIError("genesys-tls cloud pac: --url goes with --check")
        text = generate_pac(args.proxy, domain=args.domain, direct=args.direct, otherwise=args.otherwise)
        if args.output:
            try:
                with open(args.output, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as exc:
                raise CLIError(f"genesys-tls cloud pac: cannot write {args.output}: {exc.strerror or exc}") from None
        else:
            sys.stdout.write(text)
        return EXIT_OK
    if not args.url:
        raise CLIError("genesys-tls cloud pac --check: give at least one --url URL")
    pac = read_text(args.check, what="PAC file", limit=1024 * 1024)
    results = evaluate_pac(pac, args.url, resolve=parse_resolve(args.resolve), file=os.fspath(args.check))
    if args.json:
        emit_json({"file": args.check, "results": [
            {"url": r.url, "host": r.host, "result": r.result, "error": r.error} for r in results
        ]})
    else:
        for r in results:
            print(_safe(f"{r.url}\t{r.result if r.error is None else 'ERROR ' + r.error}"))
    return EXIT_FAILED if any(r.error is not None for r in results) else EXIT_OK


def _run_plan(args: argparse.Namespace) -> int:
    from ..cloud.plan import lint_plan, load_plan
    from ..cloud.rules import CLOUD_RULES
    from ..lint.reporters import render_sarif, render_text

    if args.json and args.format not in (None, "json"):
        raise CLIError(f"genesys-tls cloud plan: --json and --format {args.format} disagree")
    fmt = "json" if args.json else args.format or "text"
    report = lint_plan(load_plan(args.file))
    if fmt == "json":
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    elif fmt == "sarif":
        sys.stdout.write(render_sarif(report, rules=CLOUD_RULES, docs="docs/cloud.md"))
    else:
        sys.stdout.write(_safe(render_text(report)))
    return EXIT_FAILED if report.fails(args.fail_on) else EXIT_OK
