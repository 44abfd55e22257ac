"""The GT7xx rules: known-IP lists (``GT70x``) and network plans (``GT71x``, ``GT72x``).

They are :class:`genesys_tls.lint.Rule` objects, so findings are :class:`genesys_tls.lint.Finding` objects and
the lint reporters (text, JSON, SARIF 2.1.0) print them. The registry :data:`CLOUD_RULES` drives the rule
section of ``docs/cloud.md``; every plan rule has an example plan that triggers exactly that rule, and the tests
check it does (and that the clean plan :data:`CLEAN_PLAN` triggers none).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from ..errors import ConfigurationError
from ..lint.rules import Rule, Severity

__all__ = ["CLEAN_PLAN", "CLOUD_RULES", "cloud_rule"]

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO

#: A network plan that follows every rule; the examples below each break exactly one.
CLEAN_PLAN_DATA: dict[str, Any] = {
    "workstations": {"ip-version": "ipv4"},
    "applications": [
        {"app": "workspace-web-edition", "network": "internet"},
        {"app": "webrtc-workspace", "network": "internet"},
        {"app": "softphone-sip", "network": "private"},
    ],
    "networks": {"private": {"cloud-addresses": ["10.200.0.0/16"]}},
    "proxy": {
        "address": "proxy.corp.example:8080",
        "internal-addresses": ["10.1.2.3/32"],
        "pac": True,
        "allowlist": ["*.genesyscloud.com", "*.amazonaws.com"],
        "authentication": False,
        "https-inspection": {"enabled": True, "exempt-turn": True},
        "turn": "direct",
    },
    "firewall": {
        "udp-idle-timeout": 180,
        "nat": {"pairs": 4000, "udp-sessions": 1500},
        "rules": [{"port": 443, "destination": "any"}, {"port": 80, "destination": "any"}],
    },
    "vpn": {"tunnel": "split", "include": ["10.200.0.0/16", "10.1.2.3/32"]},
}


def _dump(plan: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(plan), sort_keys=False, default_flow_style=None, width=110)


CLEAN_PLAN = _dump(CLEAN_PLAN_DATA)


def _plan(change: Callable[[dict[str, Any]], None]) -> str:
    plan = copy.deepcopy(CLEAN_PLAN_DATA)
    change(plan)
    return _dump(plan)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        keys = path.split(".")
        target = plan
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value

    return change


def _add_app(app: str, network: str, *more: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["applications"].append({"app": app, "network": network})
        for other in more:
            other(plan)

    return change


def _drop_rule(port: int) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["firewall"]["rules"] = [r for r in plan["firewall"]["rules"] if r["port"] != port]

    return change


def _add_rule(rule: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["firewall"]["rules"].append(rule)

    return change


_RULE_LIST: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- GT70x: known-IP lists
    Rule(
        "GT701", "known-ip-not-routable", E,
        "A known Internet address is not routable on the Internet",
        "Genesys does not put addresses that are not routable on the Internet on a customer's list of known "
        "addresses: Internet Service Providers reject them, so connections from them never reach the cloud. The "
        "message quotes the block, its label and RFCs from the guide's table.",
        "Remove the entry; list the public addresses your users' traffic leaves from (your ISP's or registry's "
        "allocation, your cloud proxy or VDI vendor's addresses).",
        example="10.1.0.0/16 isp\n", fixed="198.51.99.0/24 isp\n",
    ),
    Rule(
        "GT702", "known-ip-routes-nowhere", E,
        "A known private-network address routes nowhere",
        "On the private network (MPLS) the list holds addresses routable there; RFC 1918 space is fine, but "
        "current-network, loopback, link-local, multicast and reserved addresses route nowhere.",
        "Remove the entry; list the addresses of your networks that the carrier routes to the cloud.",
        example="127.0.0.1 isp\n", fixed="10.20.0.0/16 isp\n",
    ),
    Rule(
        "GT703", "known-ip-ipv6", E,
        "An IPv6 known address",
        "Genesys Engage cloud operates over IPv4; IPv6 is not supported.",
        "Give the IPv4 addresses your users' traffic leaves from.",
        example="2001:db8::/32 isp\n", fixed="198.51.99.0/24 isp\n",
    ),
    Rule(
        "GT704", "known-ip-dynamic", E,
        "A dynamic address of an off-site worker",
        "Do not request access for addresses that Internet providers assign to off-site workers' network "
        "equipment: they are dynamic and temporary.",
        "Route off-site workers through the corporate VPN and proxy, a cloud proxy or VDI, and list those "
        "addresses instead.",
        example="81.2.69.160 home\n", fixed="81.2.69.0/24 cloud-proxy\n",
    ),
    Rule(
        "GT705", "known-ip-duplicate", W,
        "The same address or block is listed twice",
        "A duplicate entry adds nothing and hides which one is meant; the message names the first entry.",
        "Keep one entry.",
        example="198.51.99.0/24 isp\n198.51.99.0/24 registry\n", fixed="198.51.99.0/24 isp\n",
    ),
    Rule(
        "GT706", "known-ip-overlap", W,
        "An entry lies inside another",
        "An address or block covered by a larger entry adds nothing; the message names the covering entry.",
        "Keep the covering entry, or split it if only part of it is yours.",
        example="198.51.99.0/24 isp\n198.51.99.7 isp\n", fixed="198.51.99.0/24 isp\n",
    ),
    Rule(
        "GT707", "known-ip-host-bits", W,
        "A block written with host bits set",
        "``198.51.99.7/24`` is read as the block ``198.51.99.0/24``; the check goes on with the normalised block.",
        "Write the network address of the block, or a single address without a prefix.",
        example="198.51.99.7/24 isp\n", fixed="198.51.99.0/24 isp\n",
    ),
    Rule(
        "GT708", "known-ip-source-missing", N,
        "An entry does not say where it comes from",
        "Genesys expects known addresses allocated by an IP registry or an ISP, or belonging to the vendor of a "
        "cloud proxy or VDI service; saying which helps whoever reviews the list.",
        "Add the source: isp, registry, cloud-proxy or vdi-vendor.",
        example="198.51.99.0/24\n", fixed="198.51.99.0/24 isp\n",
    ),
    Rule(
        "GT709", "known-ip-lists-differ", E,
        "Two lists that must stay aligned differ",
        "Applications behind the Authentication Service are controlled at two points: the known-IP list Genesys "
        "keeps and the IP list configured in Agent Setup. Users are refused where the two disagree; every "
        "difference is reported, both ways.",
        "Make both lists hold the same addresses.",
    ),
    # ---------------------------------------------------------------- GT71x/GT72x: network plans
    Rule(
        "GT711", "udp-idle-timeout-short", E,
        "The firewall's UDP idle timeout is shorter than the SIP expire timer",
        "The cloud's SIP expire timer is 140 seconds. Permissions the firewall opens for a SIP phone's REGISTER "
        "must stay for at least that long, or the cloud's INVITE cannot reach the phone.",
        "Set the firewall's UDP session idle timeout to 140 seconds or more.",
        example=_plan(_set("firewall.udp-idle-timeout", 120)),
    ),
    Rule(
        "GT712", "nat-pairs-too-few", E,
        "Too few NAT/PAT address:port pairs for the simultaneous UDP sessions",
        "When the firewall performs NAT/PAT, UDP sessions collide on ports unless enough IP:port pairs are "
        "allocated for the simultaneous sessions traversing it.",
        "Allocate at least as many pairs as simultaneous UDP sessions.",
        example=_plan(_set("firewall.nat", {"pairs": 1000, "udp-sessions": 1500})),
    ),
    Rule(
        "GT713", "internet-ip-permission", E,
        "An IP-based firewall permission for the cloud over the Internet",
        "The cloud has no stable Internet addresses: they change periodically and unpredictably, so permissions "
        "based on the current name resolution cause outages. Only the TURN interfaces keep stable addresses.",
        "Allow TCP 443 (and 80) to any Internet destination; keep IP-based rules for the TURN interfaces only "
        "(mark them turn: true).",
        example=_plan(_add_rule({"port": 443, "destination": "52.94.0.0/16"})),
    ),
    Rule(
        "GT714", "turn-https-inspection", E,
        "HTTPS inspection of the WebRTC media to the TURN interfaces",
        "WebRTC media to the TURN interfaces uses TCP 443 but carries SRTP, not TLS: HTTPS deep packet inspection "
        "breaks it.",
        "Disable HTTPS inspection for the TURN interfaces (https-inspection: {exempt-turn: true}).",
        example=_plan(_set("proxy.https-inspection", {"enabled": True, "exempt-turn": False})),
    ),
    Rule(
        "GT715", "allowlist-without-cloud-domain", E,
        "The proxy allowlist has no entry for the cloud domain",
        "A proxy that restricts navigation must allow every URL within the cloud domain (or at least the URLs "
        "of the applications used, which call further cloud URLs for authentication and telemetry).",
        "Allow *.genesyscloud.com (the cloud domain of the plan).",
        example=_plan(_set("proxy.allowlist", ["*.amazonaws.com", "login.example.com"])),
    ),
    Rule(
        "GT716", "webrtc-no-turn-route", E,
        "A WebRTC phone behind a proxy has no route to the TURN interfaces",
        "WebRTC media goes to the TURN interfaces on TCP 443 as SRTP: through a transparent proxy (the phone "
        "embedded in Workspace only; Genesys Softphone in WebRTC mode does not support a proxy for media) or "
        "directly through the firewall.",
        "Set proxy.turn to direct and allow outbound TCP 443, or (Workspace's phone only) to proxy with the "
        "TURN domain allowed.",
        example=_plan(_set("proxy.turn", "none")),
    ),
    Rule(
        "GT717", "proxy-auth-softphone-webrtc", E,
        "Proxy authentication in front of Genesys Softphone WebRTC signalling",
        "Genesys Softphone in WebRTC mode supports a proxy for its signalling, except for authentication: the "
        "proxy systems must disable authentication processing for that traffic.",
        "Exempt the cloud domain from proxy authentication, or set proxy.authentication to false.",
        example=_plan(_add_app("softphone-webrtc", "internet", _set("proxy.authentication", True))),
    ),
    Rule(
        "GT718", "srs-split-tunnel", E,
        "Screen Recording Service with Internet split tunnelling",
        "Screen Recording Service (SRS) is not compatible with split tunnelling for access to the cloud over the "
        "Internet.",
        "Use a full tunnel for SRS users, or reach the cloud over the private network.",
        example=_plan(_add_app("screen-recording-service", "internet")),
    ),
    Rule(
        "GT719", "app-wrong-network", E,
        "An application on a network it cannot use",
        "Some applications work only over the Internet (WebRTC phones, the Recording, QM and Speech Analytics and "
        "the Predictive Routing administrator UIs) and Genesys Softphone in SIP mode only over the private network.",
        "Move the application to the network it supports.",
        example=_plan(_add_app("predictive-routing-admin", "private")),
    ),
    Rule(
        "GT720", "private-interface-exposed", E,
        "The cloud's private-network interfaces are exposed to the Internet",
        "You must not expose to the Internet the cloud interfaces reachable over the private network, by NAT, a "
        "reverse proxy, an SBC or any other technique.",
        "Remove the exposure.",
        example=_plan(_set("exposures", [{"interface": "cloud-private", "via": "reverse-proxy"}])),
    ),
    Rule(
        "GT721", "ipv6-only-workstation", E,
        "Workstations with IPv6 only",
        "The cloud operates over IPv4 only; an IPv6-only workstation cannot reach it.",
        "Give the workstations IPv4 (or dual stack).",
        example=_plan(_set("workstations.ip-version", "ipv6")),
    ),
    Rule(
        "GT722", "split-tunnel-omits-cloud-private", E,
        "The split tunnel omits the cloud's stable private addresses",
        "With split tunnelling, off-site users reach applications on the private network only if the tunnel's "
        "include list holds the cloud's stable private addresses (and those of its SIP and media traffic).",
        "Add networks.private.cloud-addresses to vpn.include.",
        example=_plan(_set("vpn.include", ["10.1.2.3/32"])),
    ),
    Rule(
        "GT723", "split-tunnel-omits-pac-proxy", E,
        "The split tunnel omits the proxy the PAC file sends to",
        "With split tunnelling and a PAC file, the browsers reach the cloud through the corporate proxy: its "
        "internal addresses must be in the tunnel's include list.",
        "Add proxy.internal-addresses to vpn.include.",
        example=_plan(_set("vpn.include", ["10.200.0.0/16"])),
    ),
    Rule(
        "GT724", "no-outbound-443", E,
        "No outbound TCP 443 to the Internet",
        "Every cloud application is reached with HTTPS on TCP 443, and WebRTC media goes to TCP 443 too.",
        "Allow outbound TCP 443 to any Internet destination (from the proxy systems when they are used).",
        example=_plan(_drop_rule(443)),
    ),
    Rule(
        "GT725", "no-outbound-80", W,
        "No outbound TCP 80 to the Internet",
        "The Portal answers plain HTTP on TCP 80 with an immediate redirect to HTTPS; without port 80 users who "
        "type the Portal's name without https:// get no answer.",
        "Allow outbound TCP 80 to any Internet destination, or make sure users always use https:// URLs.",
        example=_plan(_drop_rule(80)),
    ),
)

#: code -> :class:`~genesys_tls.lint.Rule`, in code order.
CLOUD_RULES: Mapping[str, Rule] = {r.code: r for r in _RULE_LIST}
_BY_NAME: Mapping[str, Rule] = {r.name: r for r in _RULE_LIST}


def cloud_rule(code_or_name: str) -> Rule:
    """The GT7xx rule with this code or name.

    Raises:
        ConfigurationError: no such rule.
    """
    found = CLOUD_RULES.get(code_or_name.upper()) or _BY_NAME.get(code_or_name.lower())
    if found is None:
        raise ConfigurationError("unknown cloud rule", option="rules", value=code_or_name, valid=tuple(CLOUD_RULES))
    return found
