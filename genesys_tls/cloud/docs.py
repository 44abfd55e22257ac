"""``docs/cloud.md`` and ``docs/cloud-plan.schema.json``, rendered from ``genesys_tls/data/cloud.json``, the GT7xx
registry and the plan schema.

    python -m genesys_tls.cloud.docs > docs/cloud.md                     # the page (a test keeps it current)
    python -m genesys_tls.cloud.docs --schema > docs/cloud-plan.schema.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .facts import CLOUD_DOMAIN, SIP_EXPIRE_SECONDS, TURN_DOMAIN, applications, data, non_routable_blocks
from .rules import CLEAN_PLAN, CLOUD_RULES

__all__ = ["render", "render_schema"]

_NETWORK_TEXT = {"internet": "Internet only", "private": "private network only", "both": "Internet and private"}


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def render_schema() -> str:
    """The JSON Schema of a network plan, as written in ``docs/cloud-plan.schema.json``."""
    from .plan import plan_schema

    return json.dumps(plan_schema(), indent=2) + "\n"


def render() -> str:
    """The Markdown of ``docs/cloud.md``."""
    facts = data()
    cloud = facts["cloud"]
    out = [
        "# Genesys Engage cloud access: known-IP lists, the TLS profile probe, PAC files, network plans",
        "",
        "Generated from `genesys_tls/data/cloud.json`, the GT7xx rules and the plan schema by",
        "`python -m genesys_tls.cloud.docs > docs/cloud.md`; a test fails when this page is out of date. The facts",
        f"come from the *{facts['document']['title']}* ({facts['document']['dated']}).",
        "",
        "```console illustrative",
        "$ genesys-tls cloud ips known-ips.txt [--network internet|private] [--compare setup-ips.yaml] [--json]",
        "      [--fail-on error|warning]",
        "$ genesys-tls cloud probe https://best-customer.genesyscloud.com/ [--ca FILE] [--resolve HOST:ADDR]",
        "      [--revocation require|soft|off] [--chain-crls] [--crl-max-bytes N] [--proxy HOST:PORT]",
        "      [--portal [--http-port N]] [--domain D] [--timeout S] [--json]",
        "$ genesys-tls cloud pac --proxy To-GenesysEngage.internal.example.com:8080 [--direct FQDN] [--domain D]",
        "      [--otherwise DIRECT|'PROXY HOST:PORT'] [-o proxy.pac]",
        "$ genesys-tls cloud pac --check proxy.pac --url https://best-customer.genesyscloud.com/ [--url ...]",
        "      [--resolve HOST:ADDR] [--json]",
        "$ genesys-tls cloud plan plan.yaml [--json | --format text|json|sarif] [--fail-on error|warning]",
        "```",
        "",
        "The known-IP check and the PAC generator from Python (what `cloud ips` and `cloud pac` run):",
        "",
        "```python",
        "from genesys_tls.cloud import check_known_ips, generate_pac, parse_known_ips",
        "",
        "entries = parse_known_ips(\"10.0.0.0/8 isp\\n\", file=\"known-ips.txt\")",
        "assert [f.code for f in check_known_ips(entries)] == [\"GT701\"]  # private: not routable on the Internet",
        "pac = generate_pac(\"To-GenesysEngage.internal.example.com:8080\")",
        "assert \"PROXY to-genesysengage.internal.example.com:8080\" in pac  # host names are lowercased",
        "```",
        "",
        "Exit codes: **0** success; **1** the thing checked failed (a finding at `--fail-on`, default `error`; a",
        "failed probe; a PAC call that raised); **2** bad usage or input, one line on stderr naming the file, the",
        "entry or key, the value and what is valid (a malformed address or CIDR, a range written `a-b`, an empty",
        "list, YAML anchors, aliases or tags, a non-https probe URL, a host outside the cloud domain, `--resolve`",
        "without an address, a proxy with credentials, a scheme or port 0, an unknown application in a plan).",
        "Findings use the `lint --json` shape (`cloud ips` adds `entry` and `line`).",
        "",
        "Python: `genesys_tls.cloud` (`check_known_ips`, `compare_known_ips`, `generate_pac`, `load_plan`,",
        "`lint_plan`), `genesys_tls.cloud.probe.probe`, `genesys_tls.cloud.pac_eval.evaluate_pac`. The deciding",
        "modules (facts, ips, pac, plan, rules) import neither `ssl` nor `socket`; the probe, the CRL fetch, the PAC",
        "evaluation and the loopback components hold the I/O.",
        "",
        "## The cloud domain",
        "",
        f"{cloud['domain_note']} The cloud domain is a setting: `--domain` of `cloud probe` and `cloud pac`,",
        f"`cloud-domain` in a plan, `domain=` in Python; the default is `{CLOUD_DOMAIN}`. {cloud['turn_note']}",
        f"(TURN domain: `{TURN_DOMAIN}`.) The probe refuses hosts outside the cloud domain.",
        "",
        "## Facts",
        "",
        f"- {cloud['ip_version_note']}",
        f"- {cloud['originated_by']}",
        f"- {cloud['internet_addresses']}",
        f"- {cloud['private_addresses']}",
        f"- {cloud['tls']}",
        f"- SIP expire timer: **{SIP_EXPIRE_SECONDS} s**. {cloud['sip_expire_note']}",
        "",
        "### Ports",
        "",
    ]
    out += _table(["use", "protocol", "port", "carries", "notes"],
                  [(p["id"], p["protocol"], str(p["port"]) if p["port"] else "defined at onboarding", p["carries"],
                    p["use"]) for p in facts["ports"]])
    out += ["", "### Applications and networks", "",
            "Network: where the application can be reached. Split tunnel: whether it works with VPN split",
            "tunnelling for access over the Internet.", ""]
    out += _table(["id (plans)", "application", "kind", "network", "proxy support", "split tunnel (Internet)"],
                  [(f"`{a.id}`", a.name, a.kind, _NETWORK_TEXT[a.networks], a.proxy,
                    "compatible" if a.split_tunnel_internet else "**not compatible**")
                   for a in applications().values()])
    out += ["", "### Addresses not routable on the Internet", "", facts["non_routable"]["intro"],
            "The table is the guide's, as written (it differs from Python's `ipaddress` on several blocks).", "",
            "Column *private list*: genesys_tls refuses a block on a private-network list only when its addresses",
            "route nowhere (the guide is silent here; `tests/test_cloud_ips.py` covers it).", ""]
    out += _table(["block", "RFCs", "label", "private list"],
                  [(str(b.network), b.rfcs, b.label, b.private_network) for b in non_routable_blocks()])
    out += ["", "### Bandwidth for agent-originated traffic", ""]
    out += _table(facts["bandwidth"]["columns"], facts["bandwidth"]["rows"])
    out += ["", "### VDI support for typical agent applications", ""]
    out += _table(facts["vdi"]["columns"], facts["vdi"]["rows"])
    out += [""] + [f"- {note}" for note in facts["vdi"]["notes"]]
    sources = facts["known_ip_sources"]
    out += [
        "",
        "## Known-IP lists (`cloud ips`)",
        "",
        "A YAML list of `{address: A_OR_CIDR, source: SOURCE}`, or text with one `A_OR_CIDR [SOURCE]` a line (`#`",
        "starts a comment). Files ending `.yaml`/`.yml` are YAML. Sources:",
        "",
    ]
    out += [f"- `{k}`: {v['meaning']}{'' if v['accepted'] else ' (refused: GT704)'}" for k, v in sources.items()]
    out += [
        "",
        "On the Internet list (default) an entry overlapping a block above is an error quoting the block, its label",
        "and RFCs; on the private list (`--network private`) only the blocks marked *refused*. IPv6 is an error.",
        "Duplicates and overlaps are warnings naming the covering entry; host bits set (`198.51.99.7/24`) are",
        "normalised with a warning. `--compare OTHER` reports every address in one list and not in the other,",
        "both ways (addresses are compared, not spellings), for the two lists the dual control needs aligned: the",
        "one Genesys keeps and the one configured in Agent Setup.",
        "",
        "## The cloud TLS profile probe (`cloud probe`)",
        "",
        "Checks, in order; the first failure stops the probe and gives its category:",
        "",
        "1. `chain`, `target-name`: a handshake with a TLS 1.2 floor; the chain verified against public CAs",
        "   (`certifi`, or `--ca FILE`), the host name checked.",
        "2. `tls1.2`: a second handshake capped at TLS 1.2 must succeed too; a TLS 1.1-only server fails step 1",
        "   with `protocol`.",
        "3. `crl`: the CRLs named in the leaf's CRL Distribution Points (the alternatives of a point tried in",
        "   order; `--chain-crls`: those of the intermediate CAs too), fetched over `http://` with urllib3:",
        "   redirects followed up to 3 times, each response at most 20 MiB (`--crl-max-bytes`), the whole fetch",
        "   within the timeout (at most 10 s). A CRL must parse, be signed by the certificate's issuer (a trusted",
        "   CA, or a CA of the chain OpenSSL verified: public CAs issue from intermediates the server sends) and",
        "   be current (`genesys_tls.crl`). Outcomes: `revoked`,",
        "   `crl-unavailable` (unreachable, garbage, empty, too large, too slow, another CA's CRL, no distribution",
        "   point), `crl-expired`. CRLs are cached per URL until their nextUpdate: a second probe does not fetch",
        "   again. `--revocation require` (default) fails closed; `soft` turns `crl-unavailable` and `crl-expired`",
        "   into a warning (a pass, as a browser does), never `revoked`; `off` skips the step with a warning.",
        "4. `https-redirect` (`--portal`): `http://HOST/` (`--http-port`, default 80) must answer at once (no",
        "   redirect followed) with a 3xx to `https://HOST`; otherwise `protocol`.",
        "",
        "`--proxy HOST:PORT` tunnels the handshakes with CONNECT (urllib3) and fetches CRLs through the proxy; a",
        "`407` is `proxy-authentication-required`. `--resolve HOST:ADDR` (repeatable) resolves names: with it, a",
        "name outside the map is refused and nothing is looked up in DNS (through a proxy, the CONNECT names the",
        "mapped address). Without `--resolve` the system resolver (or the proxy) resolves names.",
        "",
        "Choices where the guide is silent: only `http://` CRL URLs are fetched (`ldap://` alternatives are",
        "skipped); by default only the server certificate is revocation-checked, as browsers do; a certificate",
        "without a CRL Distribution Point is `crl-unavailable` under `require`. `tests/test_cloud_probe.py`",
        "covers each of these.",
        "",
        "## PAC files (`cloud pac`)",
        "",
        f"`--proxy` writes the PAC file of the guide's example: names within the cloud domain (`{CLOUD_DOMAIN}`)",
        "go to the dedicated proxy, each `--direct` name (a TURN FQDN, or `*.domain`) goes DIRECT, everything",
        "else `--otherwise` (`DIRECT`). The proxy is `HOST:PORT`: no scheme, no credentials, port 1-65535; the",
        f"same check applies to the Workspace option `{facts['sipendpoint_proxy_option']['option']}`",
        f"(`{facts['sipendpoint_proxy_option']['example']}`).",
        "",
        "`--check FILE --url URL ...` evaluates any PAC file in `node` (a fresh `vm` context with the standard",
        "PAC helpers and a time limit per call). `dnsResolve`, `isResolvable` and `isInNet` on names answer from",
        "`--resolve` only; `myIpAddress()` is `127.0.0.1`; `weekdayRange`, `dateRange` and `timeRange` are not",
        "provided (a call is an error for that URL).",
        "",
        "## Network plans (`cloud plan`)",
        "",
        "A YAML plan; its JSON Schema is [cloud-plan.schema.json](cloud-plan.schema.json). Every key is",
        "optional; a rule is checked only when the keys it reads are present. Unknown keys and applications,",
        "bad addresses and values are errors (exit 2). A plan that triggers no rule:",
        "",
        "```yaml",
        CLEAN_PLAN.rstrip("\n"),
        "```",
        "",
        "- `workstations.ip-version`: `ipv4` (default), `ipv6`, `dual`.",
        "- `applications`: `{app: ID, network: internet|private}`, IDs from the table above.",
        "- `networks.private.cloud-addresses`: the cloud's stable private-network addresses (from onboarding).",
        "- `proxy`: `address` (`HOST:PORT`), `internal-addresses`, `pac`, `allowlist` (absent: no restriction),",
        "  `authentication`, `https-inspection` (`true`, or `{enabled, exempt-turn}`), `turn` (how WebRTC media",
        "  reaches the TURN interfaces: `direct`, `proxy` or `none`; default `proxy`).",
        "- `firewall`: `udp-idle-timeout` (s), `nat: {pairs, udp-sessions}`, `rules`: outbound TCP permissions",
        "  `{port, destination: any|CIDR, network: internet|private, turn: bool}`.",
        "- `vpn`: `tunnel: full|split`, `include` (the split tunnel's destination blocks).",
        "- `exposures`: `{interface: cloud-private, via: nat|reverse-proxy|sbc|other}`.",
        "",
        "Outputs: text, `--json` (the `lint --json` shape) and `--format sarif` (SARIF 2.1.0, the GT7xx rules as",
        "the driver's rules), from the lint reporters.",
        "",
        "## Rules",
        "",
        "| code | name | severity | title |",
        "|---|---|---|---|",
    ]
    for r in CLOUD_RULES.values():
        out.append(f"| [{r.code}](#{r.code.lower()}-{r.name}) | `{r.name}` | {r.severity.value} | {r.title} |")
    for r in CLOUD_RULES.values():
        out += ["", f"### {r.code} {r.name}", "", f"**{r.title}** ({r.severity.value})", "", r.description, "",
                f"**Fix:** {r.fix}"]
        if r.example:
            lang = "yaml" if r.code >= "GT710" else "text"
            out += ["", "Example:", "", f"```{lang}", r.example.rstrip("\n"), "```"]
        if r.fixed:
            out += ["", "Fixed:", "", "```text", r.fixed.rstrip("\n"), "```"]
    out += [
        "",
        "## Tested against real components",
        "",
        "`tests/test_cloud_probe.py` runs, on 127.0.0.1 only: an HTTPS cloud application whose certificate comes",
        "from a test third-party CA with a CRL Distribution Point on a loopback CRL server (stdlib `http.server`,",
        "serving current, expired, wrong-CA, garbage, slow, oversize and empty CRLs and counting requests), the",
        "Portal's redirector, a TLS 1.1-only server (OpenSSL security level 0; skipped when the local OpenSSL",
        "refuses TLS 1.1) and the system `tinyproxy`, started with a generated configuration with and without",
        "Basic authentication (skipped when it is not installed; CI installs it). PAC files run in `node`.",
        "`genesys-tls demo` includes the probe scenarios: pass, revoked, CRL unreachable under `require` and",
        "`soft`, TLS 1.1-only server.",
        "",
        "## Speed",
        "",
        "`benchmarks/bench_cloud.py` (2026-12-03, 2 shared vCPUs): a probe with its CRL in the cache costs 1.36x",
        "two raw `ssl` handshakes to the same loopback application (7.0 ms against 5.2 ms), 1.78x when it fetches",
        "the CRL; `check_known_ips` on 20,000 entries takes 0.81x the time `ipaddress` needs to parse them",
        "(overlaps are found in one sorted sweep, not pairwise).",
    ]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the page (or the schema with ``--schema``)."""
    parser = argparse.ArgumentParser(prog="python -m genesys_tls.cloud.docs")
    parser.add_argument("--schema", action="store_true", help="print docs/cloud-plan.schema.json instead")
    args = parser.parse_args(argv)
    sys.stdout.write(render_schema() if args.schema else render())
    return 0


if __name__ == "__main__":  # pragma: no cover - documentation generator
    sys.exit(main())
