"""``docs/lint.md``, generated from the rule registry, and the example PKI the rule examples refer to.

    python -m genesys_tls.lint.docs > docs/lint.md       # the page (a test checks it is current)
    python -m genesys_tls.lint.docs --pki DIR             # write the example files into DIR

The examples of :data:`~genesys_tls.lint.rules.RULES` are environments whose file names (``srv.pem``,
``crl-expired.pem``...) are those :func:`write_example_pki` writes; the tests lint every example against such a
folder and check that it triggers its rule and that the fixed example does not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .rules import RULES, Severity

__all__ = ["EXAMPLE_FILES", "render", "write_example_pki"]

#: The files of the example PKI and what each one is (the docs list them).
EXAMPLE_FILES: dict[str, str] = {
    "ca.pem": "the trusted root CA, 'Test CA'",
    "other-ca.pem": "another root CA, 'Other CA', that nothing trusts",
    "cas.pem": "both CAs in one file",
    "srv.pem, srv.key": "server certificate for host 'srv' (SAN DNS:srv), issued by Test CA, valid a year",
    "cli.pem, cli.key": "client certificate for host 'cli', issued by Test CA",
    "expired.pem, expired.key": "like srv.pem, expired yesterday",
    "expiring.pem, expiring.key": "like srv.pem, expires in 10 days",
    "future.pem, future.key": "like srv.pem, valid from 30 days from now",
    "wrong-name.pem, wrong-name.key": "issued by Test CA for 'elsewhere'",
    "untrusted.pem, untrusted.key": "like srv.pem, issued by Other CA",
    "revoked.pem, revoked.key": "like srv.pem, revoked by Test CA (listed in crl.pem)",
    "encrypted.key": "srv.key encrypted with a password",
    "crl.pem": "Test CA's CRL, current for 90 days, listing revoked.pem",
    "crl-expired.pem": "Test CA's CRL whose nextUpdate was yesterday",
    "crl-expiring.pem": "Test CA's CRL whose nextUpdate is in 10 days",
    "crl-future.pem": "Test CA's CRL whose thisUpdate is in 5 days",
    "crl-other.pem": "Other CA's CRL",
    "not-pem.pem": "a text file that is not PEM",
    "folder": "a folder (not a file)",
    "missing.pem": "(does not exist)",
}


def write_example_pki(directory: str | os.PathLike[str], *, now: dt.datetime | None = None) -> Path:
    """Write the files the rule examples refer to (see :data:`EXAMPLE_FILES`) into ``directory``.

    Args:
        directory: the folder (created when missing); lint the examples with it as the base folder.
        now: the moment the dates are relative to (default: now).

    Returns:
        the folder.
    """
    from ..pki import CertificateAuthority

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    moment = now or dt.datetime.now(dt.UTC)
    day = dt.timedelta(days=1)
    ca = CertificateAuthority.create("Test CA", not_before=moment - 400 * day, not_after=moment + 3650 * day)
    other = CertificateAuthority.create("Other CA", not_before=moment - 400 * day, not_after=moment + 3650 * day)
    srv = ca.issue_server("srv")
    srv.write(root, "srv")
    ca.issue_client("cli").write(root, "cli")
    ca.issue_server("srv", not_before=moment - 60 * day, not_after=moment - day).write(root, "expired")
    ca.issue_server("srv", not_before=moment - 60 * day, not_after=moment + 10 * day).write(root, "expiring")
    ca.issue_server("srv", not_before=moment + 30 * day, not_after=moment + 400 * day).write(root, "future")
    ca.issue_server("elsewhere").write(root, "wrong-name")
    other.issue_server("srv").write(root, "untrusted")
    revoked = ca.issue_server("srv", not_before=moment - 10 * day)
    revoked.write(root, "revoked")
    ca.revoke(revoked, when=moment - 2 * day)
    (root / "encrypted.key").write_bytes(srv.key_pem(password=b"example-password"))
    (root / "ca.pem").write_bytes(ca.cert_pem())
    (root / "other-ca.pem").write_bytes(other.cert_pem())
    (root / "cas.pem").write_bytes(ca.cert_pem() + other.cert_pem())
    (root / "crl.pem").write_bytes(ca.crl(last_update=moment - day, next_update=moment + 90 * day))
    (root / "crl-expired.pem").write_bytes(ca.crl(last_update=moment - 60 * day, next_update=moment - day))
    (root / "crl-expiring.pem").write_bytes(ca.crl(last_update=moment - day, next_update=moment + 10 * day))
    (root / "crl-future.pem").write_bytes(ca.crl(last_update=moment + 5 * day, next_update=moment + 95 * day))
    (root / "crl-other.pem").write_bytes(other.crl(last_update=moment - day, next_update=moment + 90 * day))
    (root / "not-pem.pem").write_text("this is not a PEM file\n", encoding="utf-8")
    (root / "folder").mkdir(exist_ok=True)
    return root


_SEVERITY_TEXT = {
    Severity.ERROR: "error: the link fails, or is not secure",
    Severity.WARNING: "warning: it works, but is fragile, weaker than it looks, or read differently by some "
    "components",
    Severity.INFO: "info: worth knowing",
}


def render() -> str:
    """The Markdown of ``docs/lint.md``."""
    out = [
        "# `genesys-tls lint`: the rules",
        "",
        "Generated from `genesys_tls/lint/rules.py` by `python -m genesys_tls.lint.docs > docs/lint.md`; a test",
        "fails when this page and the registry differ. Do not edit by hand.",
        "",
        "```console",
        "$ genesys-tls lint examples/environment.yaml              # text, grouped by object",
        "$ genesys-tls lint examples/environment.yaml --json       # JSON: {findings, summary}",
        "$ genesys-tls lint examples/environment.yaml --format sarif > lint.sarif   # SARIF 2.1.0",
        "$ genesys-tls lint examples/environment.yaml --fail-on warning --expiry-days 45 --reading doc",
        "```",
        "",
        "Exit codes: **0** no finding at or above `--fail-on` (default `error`); **1** at least one; **2** the",
        "environment cannot be loaded at all, or bad usage (one line on stderr). `examples/lint_ci_gate.sh` uses",
        "lint as a CI gate. From Python: `genesys_tls.lint.lint(env, expiry_days=30, now=None, rules=None,",
        "reading=\"psdk\")` returns a `Report` (`findings`, `summary()`, `fails(level)`, `to_dict()`).",
        "",
        "In CI: `--select` / `--ignore` rule codes and prefixes, `--suppressions FILE` for accepted findings (one",
        "object each, with a reason), `--list-rules`, `--explain CODE`, and JSON/SARIF locations at the line of",
        "the option: see [lint in CI](lint-ci.md).",
        "",
        "Each finding has a `severity`, a stable `code` and `rule` name, the `object` (a Host, an Application,",
        "`App/port` for a listening port, `App -> Server/port` for a connection), the `level` and `option`",
        "concerned, a `message` and a `hint`. A finding about a value is reported where the value is written,",
        "once, however many ports or connections inherit it. `--reading` chooses whether effective settings",
        "follow the Platform SDK (`psdk`, default) or the documentation (`doc`) where they disagree",
        "(see [precedence](precedence.md)).",
        "",
        "Severities:",
        "",
    ]
    out += [f"- {_SEVERITY_TEXT[s]}" for s in Severity]
    out += [
        "",
        "Codes never change meaning: `GT1xx` what is written at one level, `GT2xx` effective settings of ports",
        "and connections, `GT3xx` certificate and key files and what the peers make of them, `GT4xx` CRL",
        "files, `GT5xx` Genesys support of TLS on the connection, `GT9xx` lint itself.",
        "",
        "## Index",
        "",
        "| code | name | severity | title |",
        "|---|---|---|---|",
    ]
    for r in RULES.values():
        out.append(f"| [{r.code}](#{r.code.lower()}-{r.name}) | `{r.name}` | {r.severity.value} | {r.title} |")
    out += [
        "",
        "## The example files",
        "",
        "The examples below name files of a small test PKI; `python -m genesys_tls.lint.docs --pki DIR` writes",
        "them into `DIR`, next to which each example can be saved and linted. The tests do exactly that: every",
        "example must trigger its rule, and every fixed example must not.",
        "",
        "| file | what it is |",
        "|---|---|",
    ]
    out += [f"| `{name}` | {what} |" for name, what in EXAMPLE_FILES.items()]
    for r in RULES.values():
        out += [
            "",
            f"### {r.code} {r.name}",
            "",
            f"**{r.title}** ({r.severity.value})",
            "",
            r.description,
            "",
            f"**Fix:** {r.fix}",
        ]
        if r.example:
            out += ["", "Example:", "", "```yaml", r.example.rstrip("\n"), "```"]
        if r.fixed:
            out += ["", "Fixed:", "", "```yaml", r.fixed.rstrip("\n"), "```"]
    out += [
        "",
        "## Scale",
        "",
        "Every level is scanned once, every listening port resolved once, every connection resolved once, and",
        "every certificate, key and CRL file read and parsed once per run however many objects name it; cost",
        "grows linearly with the environment. Levels, ports and connections that differ only by their names",
        "(the same values, Hosts, target port settings and application types) are checked once when the check",
        "finds nothing, and the others share that answer; wherever a check finds something it runs on each",
        "object, so the findings are exactly those of checking every object on its own, each naming its own",
        "object. Measured figures: [lint-benchmark.md](lint-benchmark.md).",
    ]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the page, or write the example PKI with ``--pki DIR``."""
    parser = argparse.ArgumentParser(prog="python -m genesys_tls.lint.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--pki", metavar="DIR", help="write the example files into DIR instead")
    args = parser.parse_args(argv)
    if args.pki:
        print(write_example_pki(args.pki))
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":  # pragma: no cover - documentation generator
    sys.exit(main())
