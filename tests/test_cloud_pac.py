"""PAC files: generated ones give the intended proxy or DIRECT in node; customer PAC files can be evaluated;
proxy values are checked the same way as sipendpoint.proxies.proxy0.http_proxy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genesys_tls.cli import main
from genesys_tls.cloud.pac import SIPENDPOINT_PROXY_OPTION, check_proxy_address, generate_pac
from genesys_tls.cloud.pac_eval import evaluate_pac, node_path
from genesys_tls.errors import ConfigurationError

needs_node = pytest.mark.skipif(node_path() is None, reason="node (JavaScript engine) is not installed")
PROXY = "To-GenesysEngage.internal.example.com:8080"
TURN = "turn1.pec-example.amazonaws.com"

TABLE = [
    ("https://best-customer.genesyscloud.com/", f"PROXY {PROXY.lower()}"),
    ("https://best-customer.socialanalytics.genesyscloud.com/ui", f"PROXY {PROXY.lower()}"),
    ("https://GENESYSCLOUD.COM/", f"PROXY {PROXY.lower()}"),
    (f"https://{TURN}/", "DIRECT"),
    ("https://other.amazonaws.com/", "DIRECT"),
    ("https://genesyscloud.com.evil.example/", "DIRECT"),
    ("https://notgenesyscloud.com/", "DIRECT"),
    ("http://intranet/", "DIRECT"),
]


@needs_node
def test_generated_pac_gives_the_intended_answers_in_node() -> None:
    pac = generate_pac(PROXY, direct=[TURN])
    results = evaluate_pac(pac, [url for url, _ in TABLE])
    assert [(r.url, r.first) for r in results] == TABLE


@needs_node
def test_generated_pac_with_a_fallback_proxy_and_a_direct_pattern() -> None:
    pac = generate_pac(PROXY, direct=["*.amazonaws.com"], otherwise="PROXY web.corp.example:3128", domain="cloud.test")
    results = {r.url: r.first for r in evaluate_pac(pac, [
        "https://app.cloud.test/", f"https://{TURN}/", "https://www.example.org/", "https://best.genesyscloud.com/",
    ])}
    assert results == {
        "https://app.cloud.test/": f"PROXY {PROXY.lower()}",
        f"https://{TURN}/": "DIRECT",
        "https://www.example.org/": "PROXY web.corp.example:3128",
        "https://best.genesyscloud.com/": "PROXY web.corp.example:3128",
    }


CUSTOMER_PAC = """
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || isInNet(dnsResolve(host), "10.0.0.0", "255.0.0.0")) return "DIRECT";
  if (shExpMatch(host, "*.genesyscloud.com")) return "PROXY p1.corp.example:8080; PROXY p2.corp.example:8080";
  if (localHostOrDomainIs(host, "www.corp.example")) return "DIRECT";
  if (host == "broken.example") return weekdayRange("MON", "FRI") ? "DIRECT" : "DIRECT";
  return "PROXY web.corp.example:3128";
}
"""


@needs_node
def test_a_customer_pac_file_is_evaluated_with_the_name_map_only() -> None:
    results = evaluate_pac(CUSTOMER_PAC, [
        "https://intranet/", "https://wiki.corp.example/", "https://a.genesyscloud.com/", "https://www/",
        "https://broken.example/", "https://unknown.example/",
    ], resolve={"wiki.corp.example": "10.1.2.3"})
    answers = [(r.first, r.error is not None) for r in results]
    assert answers == [
        ("DIRECT", False), ("DIRECT", False), ("PROXY p1.corp.example:8080", False), ("DIRECT", False),
        (None, True), ("PROXY web.corp.example:3128", False),
    ]
    assert "weekdayRange" in (results[4].error or "")


@needs_node
@pytest.mark.parametrize(
    ("pac", "expected"),
    [("function FindProxyForURL(url, host) { return", "does not load"),
     ("var x = 1;", "no FindProxyForURL"),
     ("while (true) {}", "does not load")],
)
def test_a_pac_file_that_does_not_load_is_a_configuration_error(pac: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        evaluate_pac(pac, ["https://a.genesyscloud.com/"], timeout=0.5)


@needs_node
def test_a_pac_call_that_never_returns_is_bounded() -> None:
    pac = "function FindProxyForURL(url, host) { while (true) {} }"
    (result,) = evaluate_pac(pac, ["https://a.genesyscloud.com/"], timeout=0.3)
    assert result.result is None and "timed out" in (result.error or "")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("user:secret@proxy.corp.example:8080", "credentials"),
        ("http://proxy.corp.example:8080", "scheme"),
        ("proxy.corp.example", "needs a port"),
        ("proxy.corp.example:0", "1 to 65535"),
        ("proxy.corp.example:65536", "1 to 65535"),
        ("proxy.corp.example:80/path", "1 to 65535"),
        ("bad_host!:8080", "host name or an IPv4"),
        ("300.1.1.1:8080", "host name or an IPv4"),
    ],
)
def test_proxy_values_are_checked(value: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason) as info:
        check_proxy_address(value, option=SIPENDPOINT_PROXY_OPTION)
    assert "secret" not in str(info.value)
    assert SIPENDPOINT_PROXY_OPTION in str(info.value)


def test_good_proxy_values() -> None:
    assert str(check_proxy_address(PROXY)) == PROXY.lower()
    assert str(check_proxy_address("10.1.2.3:3128")) == "10.1.2.3:3128"


@needs_node
def test_cli_pac_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "proxy.pac"
    assert main(["cloud", "pac", "--proxy", PROXY, "--direct", TURN, "-o", str(out)]) == 0
    assert "FindProxyForURL" in out.read_text(encoding="utf-8")
    args = ["cloud", "pac", "--check", str(out), "--json"]
    for url, _ in TABLE:
        args += ["--url", url]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["url"], r["result"]) for r in data["results"]] == TABLE
    broken = tmp_path / "broken.pac"
    broken.write_text(CUSTOMER_PAC, encoding="utf-8")
    assert main(["cloud", "pac", "--check", str(broken), "--url", "https://broken.example/"]) == 1
    assert "ERROR" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["cloud", "pac", "--proxy", "user:pw@p.example:8080"],
        ["cloud", "pac", "--proxy", "p.example:0"],
        ["cloud", "pac"],
        ["cloud", "pac", "--proxy", "p.example:8080", "--direct", "not a name"],
        ["cloud", "pac", "--check", "/nonexistent/proxy.pac", "--url", "https://a.genesyscloud.com/"],
    ],
)
def test_cli_pac_bad_input_exits_2_with_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if not line.startswith("usage:")]) == 1
    assert "pw" not in err
