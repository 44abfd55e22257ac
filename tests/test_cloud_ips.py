"""Known-IP lists: the guide's non-routable blocks, IPv6, sources, duplicates and overlaps, --compare, bad input."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys_tls.cli import main
from genesys_tls.cloud.facts import non_routable_blocks
from genesys_tls.cloud.ips import check_known_ips, compare_known_ips, load_known_ips, parse_known_ips
from genesys_tls.errors import ConfigurationError


def codes(text: str, network: str = "internet", format: str = "text") -> list[str]:
    return [f.code for f in check_known_ips(parse_known_ips(text, format=format), network)]


@pytest.mark.parametrize("block", non_routable_blocks(), ids=lambda b: str(b.network))
def test_each_non_routable_block_is_refused_on_the_internet_list(block: object) -> None:
    net = block.network  # type: ignore[attr-defined]
    for address in (net.network_address, net.broadcast_address):
        findings = check_known_ips(parse_known_ips(f"{address} isp"), "internet")
        assert [f.code for f in findings] == ["GT701"], findings
        message = findings[0].message
        assert str(net) in message and block.label in message  # type: ignore[attr-defined]
        for rfc in block.rfc_list:  # type: ignore[attr-defined]
            assert rfc in message


def test_neighbours_of_the_blocks_and_public_addresses_pass() -> None:
    # 100.63.255.255 and 100.128.0.0 border 100.64.0.0/10; 192.0.1.255 borders 192.0.2.0/24
    assert codes("8.8.8.8 isp\n100.63.255.255 registry\n100.128.0.0/24 cloud-proxy\n192.0.1.255 vdi-vendor\n") == []


def test_the_guide_not_ipaddress_decides() -> None:
    # ipaddress calls 192.0.0.0/24 reserved and 100.64/10 not private; 192.88.99.0/24 is not is_private; the
    # guide lists all three as not routable on the Internet
    assert codes("192.88.99.1 isp\n") == ["GT701"]
    assert codes("100.64.0.1 isp\n") == ["GT701"]
    # and ipaddress calls 198.18.0.0/15 private too, but the guide's label is what is quoted
    assert "Benchmark tests" in check_known_ips(parse_known_ips("198.18.0.1 isp"))[0].message


def test_a_cidr_that_overlaps_a_block_is_refused() -> None:
    assert codes("8.0.0.0/6 isp\n") == ["GT701"]  # 8.0.0.0/6 holds 10.0.0.0/8


def test_ipv6_is_refused() -> None:
    assert codes("2001:db8::/32 isp\n") == ["GT703"]
    assert codes("- {address: '::1', source: isp}\n", format="yaml") == ["GT703"]


def test_private_list_accepts_rfc1918_and_refuses_loopback() -> None:
    assert codes("10.0.0.0/8 isp\n172.16.0.0/12 isp\n192.168.1.0/24 isp\n", "private") == []
    assert codes("127.0.0.1 isp\n", "private") == ["GT702"]
    assert codes("169.254.1.1 isp\n", "private") == ["GT702"]
    assert codes("224.0.0.1 isp\n", "private") == ["GT702"]
    assert codes("0.0.0.0 isp\n", "private") == ["GT702"]


def test_home_addresses_are_refused_and_sources_are_read() -> None:
    assert codes("81.2.69.160 home\n") == ["GT704"]
    assert codes("81.2.69.160\n") == ["GT708"]
    assert codes("- {address: 81.2.69.0/24, source: registry}\n- 81.2.70.0/24\n", format="yaml") == ["GT708"]


def test_duplicates_overlaps_and_host_bits() -> None:
    findings = check_known_ips(parse_known_ips("81.2.69.0/24 isp\n81.2.69.7 isp\n81.2.0.0/16 isp\n81.2.69.0/24 isp\n"))
    by_code = {(f.code, f.object): f.message for f in findings}
    assert by_code[("GT706", "line 2: 81.2.69.7")] == "81.2.69.7/32 lies inside line 1: 81.2.69.0/24"
    assert by_code[("GT706", "line 3: 81.2.0.0/16")] == "81.2.0.0/16 covers line 1: 81.2.69.0/24"
    assert by_code[("GT705", "line 4: 81.2.69.0/24")] == "81.2.69.0/24 is already listed at line 1: 81.2.69.0/24"
    host_bits = check_known_ips(parse_known_ips("81.2.69.7/24 isp\n"))
    assert [f.code for f in host_bits] == ["GT707"] and "read as 81.2.69.0/24" in host_bits[0].message


def test_compare_reports_differences_both_ways() -> None:
    a = parse_known_ips("81.2.69.0/25 isp\n81.2.69.128/25 isp\n5.5.5.5 isp\n")
    b = parse_known_ips("81.2.69.0/24 isp\n6.6.6.0/30 isp\n")
    found = {(f.object, f.message) for f in compare_known_ips(a, b, first_name="genesys", second_name="setup")}
    assert found == {
        ("5.5.5.5/32", "5.5.5.5/32 is in genesys but not in setup"),
        ("6.6.6.0/30", "6.6.6.0/30 is in setup but not in genesys"),
    }
    assert compare_known_ips(a, parse_known_ips("81.2.69.0/24 isp\n5.5.5.5/32 registry\n")) == ()


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("10.0.0.300 isp\n", "text", "not an IP address or CIDR block"),
        ("81.2.69.0/33\n", "text", "not an IP address or CIDR block"),
        ("1.2.3.4-1.2.3.9 isp\n", "text", "range a-b"),
        ("1.2.3.4 - 1.2.3.9\n", "text", "range a-b"),
        ("# only a comment\n\n", "text", "empty"),
        ("[]\n", "yaml", "empty"),
        ("81.2.69.0/24 friend\n", "text", "unknown source"),
        ("- !!python/object:os.system {address: 1.2.3.4}\n", "yaml", "tags"),
        ("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "yaml", "aliases"),
        ("{address: 1.2.3.4}\n", "yaml", "a list"),
    ],
)
def test_bad_input_is_a_configuration_error(text: str, fmt: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_known_ips(text, format=fmt, file="ips")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_ips_json_exit_codes_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.txt"
    good.write_text("# ours\n81.2.69.0/24 isp\n", encoding="utf-8")
    assert main(["cloud", "ips", str(good), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"findings": [], "summary": {"error": 0, "warning": 0, "info": 0}}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {address: 10.1.0.0/16, source: isp}\n- {address: 81.2.69.0/24, source: isp}\n", encoding="utf-8")
    assert main(["cloud", "ips", str(bad), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["entry"], f["line"]) for f in data["findings"]] == [("GT701", "10.1.0.0/16", 1)]
    assert main(["cloud", "ips", str(bad), "--network", "private"]) == 0
    capsys.readouterr()
    assert main(["cloud", "ips", str(good), "--compare", str(bad), "--json", "--network", "private"]) == 1
    messages = [f["message"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert messages == [f"10.1.0.0/16 is in {bad} but not in {good}"]
    warn = tmp_path / "warn.txt"
    warn.write_text("81.2.69.0/24 isp\n81.2.69.1 isp\n", encoding="utf-8")
    assert main(["cloud", "ips", str(warn)]) == 0
    assert main(["cloud", "ips", str(warn), "--fail-on", "warning"]) == 1
    assert "GT706" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content", ["1.2.3.4-1.2.3.9\n", "", "not-an-address isp\n", "2001:db8::1 - 2001:db8::9\n"]
)
def test_cli_ips_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "ips.txt"
    path.write_text(content, encoding="utf-8")
    assert main(["cloud", "ips", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and str(path) in err


def test_cli_ips_refuses_special_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "ips", str(tmp_path)]) == 2
    assert main(["cloud", "ips", str(tmp_path / "missing.txt")]) == 2
    assert main(["cloud", "ips", "/dev/zero"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and "not a regular file" in lines[2]


def test_load_known_ips_reads_yaml_by_suffix(tmp_path: Path) -> None:
    path = tmp_path / "ips.yml"
    path.write_text("- {address: 81.2.69.0/24, source: vdi-vendor}\n", encoding="utf-8")
    (entry,) = load_known_ips(path)
    assert entry.source == "vdi-vendor" and str(entry.network) == "81.2.69.0/24"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), min_size=1, max_size=25))
def test_overlap_sweep_flags_exactly_the_entries_nested_with_an_earlier_one(blocks: list[tuple[int, int]]) -> None:
    text = "".join(f"{ipaddress.ip_network(f'81.2.3.{host}/{prefix}', strict=False)} isp\n" for host, prefix in blocks)
    entries = parse_known_ips(text)
    flagged = {int(f.object.split(":")[0].split()[1]) for f in check_known_ips(entries)
               if f.code in ("GT705", "GT706")}
    expected = {
        e.line for i, e in enumerate(entries)
        if any(e.network.subnet_of(o.network) or o.network.subnet_of(e.network) for o in entries[:i])
    }
    assert flagged == expected
