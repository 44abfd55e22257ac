"""The cloud facts: the guide's non-routable table exactly, docs/cloud.md and the plan schema kept current, and
the deciding modules free of ssl and sockets."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from genesys_tls.cloud import docs, facts

ROOT = Path(__file__).resolve().parent.parent

# The guide's table, line by line as the guide prints it.
GUIDE_TABLE = """\
0.0.0.0/8 RFC 5735 RFC 6890: Current Network IP Address Block
10.0.0.0/8 RFC 5735, RFC 1918: Private IP Address Block
100.64.0.0/10 RFC 6598: Shared IP Address Block for communications between a service provider and its subscribers when using a carrier-grade NAT
127.0.0.0/8 RFC 5735, RFC 1122: Loopback IP Address Block
169.254.0.0/16 RFC 5735, RFC 3927: Link-local IP Address Block
172.16.0.0/12 RFC 5735, RFC 1918: Private IP Address Block
192.0.0.0/24 RFC 5735, RFC 5736: Private IP Address Block
192.0.2.0/24 RFC 5735, RFC 5737: Documentation IP Address Block
192.88.99.0/24 RFC 5735, RFC 3068: 6to4 relay anycast IP Address Block
192.168.0.0/16 RFC 5735, RFC 1918: Private IP Address Block
198.18.0.0/15 RFC 5735, RFC 2544: Benchmark tests IP Address Block
198.51.100.0/24 RFC 5735, RFC 5737: Documentation IP Address Block
203.0.113.0/24 RFC 5735, RFC 5737: Documentation IP Address Block
224.0.0.0/4 RFC 5735, RFC 3171: IPv4 Multicast Assignments IP Address Block
240.0.0.0/4 RFC 5735, RFC 1112: Reserved for future use IP Address Block
"""  # noqa: E501


def test_non_routable_table_is_the_guides() -> None:
    rendered = "".join(f"{b.network} {b.rfcs}: {b.label}\n" for b in facts.non_routable_blocks())
    assert rendered == GUIDE_TABLE
    assert facts.non_routable_blocks()[0].rfc_list == ("RFC 5735", "RFC 6890")


def test_facts_of_the_guide() -> None:
    assert facts.CLOUD_DOMAIN == "genesyscloud.com"
    assert facts.TURN_DOMAIN == "amazonaws.com"
    assert facts.SIP_EXPIRE_SECONDS == 140
    apps = facts.applications()
    internet_only = {a.id for a in apps.values() if a.networks == "internet"}
    assert internet_only == {"webrtc-workspace", "softphone-webrtc", "recording-qm-admin", "predictive-routing-admin"}
    assert {a.id for a in apps.values() if a.networks == "private"} == {"softphone-sip"}
    assert [a.id for a in apps.values() if not a.split_tunnel_internet] == ["screen-recording-service"]
    ports = {p["id"]: p for p in facts.data()["ports"]}
    assert ports["https"]["port"] == 443 and ports["portal-http"]["port"] == 80
    assert ports["turn"]["port"] == 443 and "not TLS" in ports["turn"]["carries"]
    assert facts.in_domain("Best-Customer.GenesysCloud.com.", "genesyscloud.com")
    assert not facts.in_domain("genesyscloud.com.evil.example", "genesyscloud.com")
    assert not facts.in_domain("evilgenesyscloud.com", "genesyscloud.com")


def test_docs_page_is_current() -> None:
    page = (ROOT / "docs" / "cloud.md").read_text(encoding="utf-8")
    assert page == docs.render(), "run: python -m genesys_tls.cloud.docs > docs/cloud.md"
    for block in facts.non_routable_blocks():
        assert f"| {block.network} | {block.rfcs} | {block.label} |" in page


def test_plan_schema_is_current() -> None:
    written = (ROOT / "docs" / "cloud-plan.schema.json").read_text(encoding="utf-8")
    assert written == docs.render_schema(), "run: python -m genesys_tls.cloud.docs --schema > docs/cloud-plan.schema.json"  # noqa: E501
    schema = json.loads(written)
    assert schema["properties"]["applications"]["items"]["properties"]["app"]["enum"] == list(facts.applications())


DECIDING = ("facts.py", "ips.py", "pac.py", "plan.py", "rules.py", "_read.py", "docs.py", "__init__.py")


def test_deciding_modules_import_neither_ssl_nor_socket() -> None:
    for name in DECIDING:
        tree = ast.parse((ROOT / "genesys_tls" / "cloud" / name).read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
                imported.add("." + node.module)
        assert not imported & {"ssl", "socket", "urllib3", "http", ".probe", ".crlfetch", ".components"}, name
