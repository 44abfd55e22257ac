# ruff: noqa: E501 - the Markdown tables below are one line per row
"""``docs/sipendpoint.md``, rendered from ``genesys_tls/data/sipendpoint.yaml`` and the ``GT6xx`` rules.

    python -m genesys_tls.sipendpoint.docs > docs/sipendpoint.md     # a test checks the page is current
"""

from __future__ import annotations

import sys

from .facts import KeyFact, facts
from .rules import SIP_EXAMPLES, SIP_RULES, example_config

__all__ = ["render"]

_INTRO = """\
# Workspace SIP Endpoint standalone security

In standalone (VDI) mode, Workspace Desktop Edition runs in a virtual desktop and drives Workspace SIP
Endpoint, on the agent's workstation, over HTTPS REST. The endpoint opens a listening port on every
workstation; its security depends on two sets of settings that must agree: the endpoint's `appSettings` in
`InteractionWorkspaceSIPEndpoint.exe.config` and Workspace's `[interaction-workspace]
sipendpoint.standalone.*` options. `genesys_tls.sipendpoint` models both, checks a pair (`GT6xx` rules), and
runs both ends for real on loopback: the endpoint's listener and the Workspace-side client.

```sh illustrative
genesys-tls sipendpoint check InteractionWorkspaceSIPEndpoint.exe.config --workspace env.yaml --app WDE
genesys-tls sipendpoint serve InteractionWorkspaceSIPEndpoint.exe.config --store endpoint-store/ --ca ca.pem \\
    --user user.yaml --address 127.0.0.1:8000
STORE_PASSWORD=... genesys-tls sipendpoint connect env.yaml --app WDE --store workspace-store/ \\
    --store-password-env STORE_PASSWORD --ca ca.pem --user user.yaml --address 127.0.0.1:8000
genesys-tls demo          # includes the matrix rows and their must-fail twins (sip-*)
```

The same check from Python, on a configuration that forgets the endpoint's own certificate:

```python
from genesys_tls.sipendpoint import parse_endpoint_config
from genesys_tls.sipendpoint.rules import check

config = parse_endpoint_config('''<?xml version="1.0"?>
<configuration><appSettings>
  <add key="protocol" value="https"/>
  <add key="security_level" value="1"/>
  <add key="ipv4_address_range" value="10.20.35.0/24"/>
</appSettings></configuration>''', file="InteractionWorkspaceSIPEndpoint.exe.config")
report = check(config)
assert [f.rule for f in report.findings] == ["sip-no-certificate-search-value"]
assert report.fails()  # an error: the listener would have no certificate to present
```

This page is generated from `genesys_tls/data/sipendpoint.yaml` and the rules of
`genesys_tls/sipendpoint/rules.py`: run `python -m genesys_tls.sipendpoint.docs > docs/sipendpoint.md`.
"""

_FLOW = """\
## What the listener enforces, in order

The listener (`genesys_tls.sipendpoint.listener.EndpointListener`, `sipendpoint serve`) runs on the project's
server core (`genesys_tls.server.ServerCore`), as the simulated servers do: one accept thread and a bounded
pool of workers (`workers`, default 8; further connections wait in the kernel's backlog), accept errors of
exhausted resources (`EMFILE`, `ENFILE`, `ENOBUFS`...) backed off instead of ending the listener, the newest
records kept (`keep`, default 10 000), every read bounded by the timeout (`--timeout`). Each connection goes
through:

1. **Address policy, before any TLS byte.** `ipv4_address_range` / `ipv6_address_range` (CIDR lists) and
   `localhost`. Empty ranges leave addresses unrestricted (lint `GT606`); once one family has ranges, peers of
   the other family are refused; IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`) are checked as IPv4; with
   `localhost=true` the peer must also be a loopback address (`127.0.0.0/8`, `::1`, also IPv4-mapped). A
   refused peer is closed at once, nothing read or written, and recorded as `address-refused`.
2. **TLS per level.** Level 0 asks no client certificate; levels 1 and 2 require one chaining to the trusted CA
   (`--ca`). Failures are classified as the project's other handshakes (`untrusted`,
   `client-certificate-required`, `expired`...). A refused handshake's connection is half-closed and read for
   0.25 s before it is closed, so that a TLS 1.3 client that sent its request right after its Finished reads
   the alert (`certificate required`) rather than a reset.
3. **HTTP/1.1 through `h11`**, bounded: request head 16 KiB (431 beyond), body 64 KiB (413 beyond), 100
   requests and 30 s per connection, each read bounded by the handshake timeout. An `http` endpoint hands
   every connection to `h11` unread: a TLS ClientHello is answered `400` like any other bytes that are not
   HTTP/1.1.
4. **Level 2: the subject check.** The client certificate's subject is matched with the workstation user's
   directory entry; on a mismatch every request of the connection is answered `403` with a JSON body listing
   the mismatches, and the connection is recorded as `subject-mismatch`.
5. **CORS.** `Access-Control-Allow-Origin` only for an allowed origin; a preflight (`OPTIONS` with `Origin` and
   `Access-Control-Request-Method`) is answered 204 for an allowed origin and 403 otherwise.

The Workspace side (`WorkspaceClient`, `sipendpoint connect`): level 0 trusts any certificate (every result
carries a lab-only warning); 1 checks the endpoint's chain and validity; 2 also presents the client certificate
found by `certificate-search-value`; 3 also checks the endpoint certificate's subject against the user's
directory properties before sending anything (`subject-mismatch`).

## The subject-identity match

The i-th criterion is matched with the i-th property. A criterion is an X.500 short name of the certificate
subject; a property is a directory attribute of the user (`mail`, `cn`...) or `distinguishedName.<RDN>`, one
component of the user's distinguished name. A repeated criterion (`OU`, `DC`) takes the certificate's values in
the order the subject holds them, and a repeated property the distinguished name's values in its order, both
most specific first (the order of RFC 4514 strings and of Windows' certificate dialog). Values are compared
ignoring case; a missing attribute on either side is a mismatch. Criteria and properties of different lengths
are a configuration error.

## Certificate stores

A store (`genesys_tls.stores.CertificateStore`) models a Windows Personal store: a folder (or a list) of PEM
certificates with their keys (`.pem`/`.crt`/`.cer`, `.key`) and of PKCS#12 files (`.pfx`/`.p12`), read with
`cryptography`. PFX and encrypted key passwords come from a callback, on the command line the NAME of an
environment variable (`--store-password-env NAME`; `NAME_<STEM>` for one file), never the password itself.
`select(search_value)` searches by SHA-1 thumbprint (exact, ignoring case, spaces and colons), then by issuer,
then by subject (the search value is a part of the RFC 4514 string, compared ignoring case); among several
matches it prefers certificates valid now, then the latest expiry, and reports which rule matched and the
other candidates. Errors list subjects and thumbprints, never key material.

## Directory users

The properties come from the user's directory entry: a YAML/JSON user file (`--user FILE`, attribute: value
lines, `distinguishedName` included) or an LDAP directory through `ldap3` (`--ldap ldap://HOST:PORT
--ldap-base DN --ldap-account NAME [--ldap-account-attribute uid] [--ldap-bind-dn DN --ldap-password-env
NAME]`). On OpenLDAP, which has no `distinguishedName` attribute, the entry's DN is used. An unreachable
directory is a configuration error of category `connection` (exit 2, one line).

`--ldap ldaps://HOST:PORT [--ldap-ca FILE]` is always verified: the directory's certificate must chain to the
CAs of `--ldap-ca` (PEM; default: the system's trusted CAs) and name the URL's host (a DNS name, or an IP
address in an iPAddress entry), checked by OpenSSL. A refused handshake is a configuration error with the
handshake's category (`untrusted`, `name-mismatch`, `expired`...; exit 2, one line); `--ldap-ca` with an
`ldap://` URL is refused rather than ignored, since that URL sends the bind and the search in clear.
"""

_API = """\
## The harness's session API

The source names no REST paths. The listener serves its own small session API, documented here as the
harness's, not as the product's:

| method | path | answer |
|---|---|---|
| GET | `/status` | 200 `{"state": "idle" or "session", "generation": N, "active_calls": N, "finalizing": bool}` |
| POST | `/sessions` | 201 `{"session": ID, "generation": N}`; **409** `session-active` while another Workspace holds a session |
| POST | `/sessions/ID/calls` | 201 `{"call": CALL}` |
| DELETE | `/sessions/ID/calls/CALL` | 200 `{"ended": CALL, "restarted": bool}` |
| POST | `/sessions/ID/finalize` | 200 `{"finalized": true, "restarted": bool}` |
| OPTIONS | any | CORS preflight: 204 with the `Access-Control-Allow-*` headers for an allowed origin, 403 otherwise |

As the source describes, when Workspace exits it finalizes the endpoint's activity: with no active call the
endpoint restarts at once (a new `generation`, no session) and is ready for a new Workspace; with calls still
active it restarts when the last call ends. An unknown session id gets 404.
"""

_CHOICES = """\
## Choices where the source is ambiguous or silent

| question | choice | test |
|---|---|---|
| The matrix labels its rows "level 1/2/3", matching neither side's values | The values are followed: working pairs (endpoint, Workspace) are (0,0), (0,1), (1,2), (2,3); every other pair is classified in the pair table above | `test_sipendpoint_net.py::test_matrix_rows_end_to_end`, `test_sipendpoint_model.py::test_pair_table_covers_every_pair` |
| The example lists 9 criteria against 7 properties | A count mismatch is a configuration error (no guessing which are paired); the demo's identity row uses 9 and 9 | `test_sipendpoint_model.py::test_bad_inputs` (`criteria-count`) |
| No host-name check is named for Workspace | Workspace checks no host name: the endpoint is reached by the workstation's address, and level 3 checks the certificate's subject against the user instead | `test_sipendpoint_net.py::test_workspace_checks_no_host_name` |
| `https` without `security_level` (or Workspace `security-level`) | Refused: no default is documented | `test_sipendpoint_model.py::test_bad_inputs` |
| Workspace `protocol` / `port` unset | Refused: the install defaults (`http`, `8000`) are documented for the endpoint only | `test_sipendpoint_model.py::test_workspace_needs_protocol_and_port` |
| The matrix writes `sipendpoint.standalone.security_level` | Not read (the option is `security-level`); lint `GT609` | `test_sipendpoint_rules.py::test_rule_examples` |
| Order of repeated `OU`/`DC` | Most specific first on both sides (RFC 4514 string order) | `test_sipendpoint_model.py::test_subject_match_order` |
| `cors` value | `*` or a comma-separated list of origins (`scheme://host[:port]`); absent: no CORS header at all | `test_sipendpoint_net.py::test_cors` |
| `localhost=true` together with ranges | Both must pass | `test_sipendpoint_model.py::test_address_policy` |
| A CIDR with host bits set (`10.0.0.1/24`) | Refused, not silently widened | `test_sipendpoint_model.py::test_bad_inputs` |
| Level 2 (endpoint) or 3 (Workspace) without criteria | Refused: nothing would be checked | `test_sipendpoint_model.py::test_bad_inputs` |
| What Workspace sees of an address refusal | A close before the ServerHello, reported as `address-refused` | `test_sipendpoint_net.py::test_address_range_before_tls` |
| `localhost=true` on a loopback listener | Every peer of a loopback listener is loopback, so the refusal of other addresses is the policy's (the same object the pre-TLS hook applies) | `test_sipendpoint_net.py::test_localhost_true_accepts_loopback_peers_and_refuses_others`, `test_localhost_true_accepts_the_ipv6_loopback` |
| A TLS ClientHello on an `http` endpoint | Answered by the HTTP layer (`400`), as any bytes that are not HTTP/1.1 | `test_sipendpoint_net.py::test_http_endpoint_answers_a_client_hello_400` |
| `ldaps://` without `--ldap-ca` | The system's trusted CAs; never an unverified connection | `test_sipendpoint_ldap.py::test_ldaps_never_weaker` |
| Several matches in a store | Valid now first, then latest expiry; the other candidates are reported | `test_stores.py::test_select_prefers_valid_then_latest` |
"""


def _key_rows(keys: dict[str, KeyFact], prefix: str = "") -> list[str]:
    rows = ["| key | type | default | values and meaning |", "|---|---|---|---|"]
    for fact in keys.values():
        meaning = fact.description
        if fact.levels:
            meaning += " " + " ".join(f"**{k}**: {v}" for k, v in fact.levels.items())
        elif fact.values:
            meaning += " Values: " + ", ".join(f"`{v}`" for v in fact.values) + "."
        if fact.added:
            meaning += f" (added {fact.added})"
        rows.append(f"| `{prefix}{fact.name}` | {fact.type} | {f'`{fact.default}`' if fact.default else '-'} | "
                    f"{meaning} |")
    return rows


def render() -> str:
    """The page."""
    data = facts()
    out = [_INTRO, f"Source: {data.source}.", "", "## The endpoint's keys", "",
           f"`{data.endpoint_file}`, `<{data.endpoint_section.replace('/', '><')}>`: `add` / `remove` / `clear` "
           "are applied in order as .NET does (a later `add` of a key wins, lint `GT611`). The file is parsed "
           "with `defusedxml`: a DOCTYPE or an entity is refused, never expanded.", ""]
    out += _key_rows(dict(data.endpoint_keys))
    out += ["", "## The Workspace options", "",
            f"Section `{data.workspace_section}` of the Workspace application's options:", ""]
    out += _key_rows(dict(data.workspace_options), data.workspace_prefix)
    out += ["", "## Subject criteria", "", "| criterion | attribute | OID |", "|---|---|---|"]
    out += [f"| `{c.short}` | {c.name} | {c.oid} |" for c in data.criteria.values()]
    out += ["", "## The security matrix", ""]
    for row in data.matrix:
        endpoint = ", ".join(f"`{k}={v}`" for k, v in row.endpoint.items())
        workspace = ", ".join(f"`{data.workspace_prefix}{k}={v}`" for k, v in row.workspace.items())
        out += [f"### {row.id}: {row.label}", "",
                f"- Endpoint: {endpoint}; plus `ipv4_address_range` and/or `ipv6_address_range`.",
                f"- Workspace: {workspace}.",
                f"- The endpoint checks: {', '.join(row.endpoint_checks) or 'nothing'}.",
                f"- Workspace checks: {', '.join(row.workspace_checks) or 'nothing'}.",
                f"- Protects: {row.protects}",
                f"- IT effort: {row.effort}", ""]
    out += ["## Every pair of levels", "", "Over HTTPS, endpoint `security_level` against Workspace "
            "`security-level` (lint: `error` is `GT601`, `warning` is `GT602`):", "",
            "| endpoint | Workspace | verdict | why |", "|---|---|---|---|"]
    out += [f"| {p.endpoint} | {p.workspace} | {p.verdict}{f' ({p.row})' if p.row else ''} | {p.reason} |"
            for p in data.pairs.values()]
    out += ["", _FLOW, _API, "## Lint rules (GT6xx)", "",
            "`genesys-tls sipendpoint check` reports them as `lint` does (text, `--json` with a `line` member, "
            "`--format sarif`); exit 1 when a finding reaches `--fail-on` (default `error`).", ""]
    for code, rule in SIP_RULES.items():
        example = SIP_EXAMPLES[code]
        out += [f"### {code} {rule.name}", "", f"**{rule.severity.value}**: {rule.title}.", "", rule.description,
                "", f"Fix: {rule.fix}", "", "Example (triggers it):", "", "```xml",
                example_config(example.endpoint).rstrip(), "```", ""]
        if example.workspace is not None:
            out += ["with Workspace options:", "", "```yaml"]
            out += [f"{data.workspace_prefix}{k}: {v!r}" for k, v in example.workspace.items()]
            out += ["```", ""]
    out += [_CHOICES]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
