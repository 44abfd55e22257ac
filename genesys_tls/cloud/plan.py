"""Network plans: a YAML description of how users reach the cloud, and the GT71x/GT72x rules over it.

A plan declares the workstations, the applications and the network each uses, the cloud's stable private
addresses, the proxy (address, allowlist, authentication, HTTPS inspection, how WebRTC media reaches the TURN
interfaces), the firewall (UDP idle timeout, NAT/PAT pool, outbound rules), the VPN (full or split tunnel and its
include list) and exposures. The format is documented in ``docs/cloud.md`` and as a JSON Schema in
``docs/cloud-plan.schema.json`` (:func:`plan_schema`, kept current by a test). :func:`load_plan` validates it
(an unknown application or key, a bad address or value is a :class:`~genesys_tls.errors.ConfigurationError`);
:func:`lint_plan` returns a lint :class:`~genesys_tls.lint.Report`, printed by the lint reporters.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import attrs

from ..errors import ConfigurationError
from ..lint.engine import CacheStats, LintStats, Report
from ..lint.rules import Finding
from ._read import read_text, safe_yaml
from .facts import CLOUD_DOMAIN, SIP_EXPIRE_SECONDS, TURN_DOMAIN, applications, in_domain
from .pac import check_direct_name, check_proxy_address
from .rules import CLOUD_RULES

__all__ = ["AppUse", "FirewallRule", "Plan", "lint_plan", "load_plan", "parse_plan", "plan_schema"]

Net = ipaddress.IPv4Network
_TURN_ROUTES = ("direct", "proxy", "none")
_IP_VERSIONS = ("ipv4", "ipv6", "dual")
_TUNNELS = ("full", "split")
_EXPOSED = ("cloud-private",)
_VIAS = ("nat", "reverse-proxy", "sbc", "other")


@attrs.frozen
class AppUse:
    """An application of the plan and the network it uses."""

    app: str
    network: str


@attrs.frozen
class FirewallRule:
    """An outbound TCP permission.

    Attributes:
        port: the TCP port.
        destination: ``any`` or an IPv4 block.
        network: ``internet`` (default) or ``private``.
        turn: the rule is for the cloud's TURN interfaces (their addresses are stable).
    """

    port: int
    destination: Net | None
    network: str = "internet"
    turn: bool = False

    @property
    def any_destination(self) -> bool:
        """Whether the rule allows any destination (no ``destination`` given)."""
        return self.destination is None


@attrs.frozen
class Plan:
    """A validated network plan (see the module docstring; fields mirror the YAML keys)."""

    file: str | None
    domain: str
    ip_version: str
    apps: tuple[AppUse, ...]
    cloud_private: tuple[Net, ...]
    proxy: str | None
    proxy_internal: tuple[Net, ...]
    pac: bool
    allowlist: tuple[str, ...] | None
    authentication: bool
    inspection: bool
    inspection_exempt_turn: bool
    turn_route: str | None
    udp_idle_timeout: int | None
    nat_pairs: int | None
    udp_sessions: int | None
    rules: tuple[FirewallRule, ...] | None
    tunnel: str | None
    include: tuple[Net, ...]
    exposures: tuple[tuple[str, str], ...]

    def uses(self, app: str) -> bool:
        """Whether the plan lists a use of the cloud application ``app``."""
        return any(a.app == app for a in self.apps)

    def on(self, network: str) -> list[AppUse]:
        """The uses of cloud applications from ``network``, in plan order."""
        return [a for a in self.apps if a.network == network]


# ------------------------------------------------------------------------------------------------ schema

_NET = {"type": "string", "description": "an IPv4 address or CIDR block",
        "pattern": r"^[0-9]{1,3}(\.[0-9]{1,3}){3}(/([0-9]|[12][0-9]|3[0-2]))?$"}


def plan_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a plan; ``docs/cloud-plan.schema.json`` is this, rendered."""
    boolean = {"type": "boolean"}
    nets = {"type": "array", "items": _NET}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://genesys-tls.invalid/cloud-plan.schema.json",
        "title": "genesys-tls cloud network plan",
        "description": "How users reach the Genesys Engage cloud; checked by `genesys-tls cloud plan`.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "cloud-domain": {"type": "string", "default": CLOUD_DOMAIN},
            "workstations": {
                "type": "object", "additionalProperties": False,
                "properties": {"ip-version": {"enum": list(_IP_VERSIONS), "default": "ipv4"}},
            },
            "applications": {
                "type": "array",
                "items": {
                    "type": "object", "additionalProperties": False, "required": ["app", "network"],
                    "properties": {"app": {"enum": list(applications())}, "network": {"enum": ["internet", "private"]}},
                },
            },
            "networks": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "private": {
                        "type": "object", "additionalProperties": False,
                        "properties": {"cloud-addresses": nets},
                    }
                },
            },
            "proxy": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "address": {"type": "string", "description": "HOST:PORT, no scheme, no credentials",
                                "pattern": r"^[A-Za-z0-9.-]+:[0-9]{1,5}$"},
                    "internal-addresses": nets,
                    "pac": boolean,
                    "allowlist": {"type": "array", "items": {"type": "string"}},
                    "authentication": boolean,
                    "https-inspection": {
                        "oneOf": [
                            boolean,
                            {
                                "type": "object", "additionalProperties": False,
                                "properties": {"enabled": boolean, "exempt-turn": boolean},
                            },
                        ]
                    },
                    "turn": {"enum": list(_TURN_ROUTES)},
                },
            },
            "firewall": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "udp-idle-timeout": {"type": "integer", "minimum": 0},
                    "nat": {
                        "type": "object", "additionalProperties": False,
                        "properties": {
                            "pairs": {"type": "integer", "minimum": 0},
                            "udp-sessions": {"type": "integer", "minimum": 0},
                        },
                    },
                    "rules": {
                        "type": "array",
                        "items": {
                            "type": "object", "additionalProperties": False, "required": ["port", "destination"],
                            "properties": {
                                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                "destination": {"type": "string", "description": "any, or an IPv4 block"},
                                "network": {"enum": ["internet", "private"], "default": "internet"},
                                "turn": boolean,
                            },
                        },
                    },
                },
            },
            "vpn": {
                "type": "object", "additionalProperties": False,
                "properties": {"tunnel": {"enum": list(_TUNNELS)}, "include": nets},
            },
            "exposures": {
                "type": "array",
                "items": {
                    "type": "object", "additionalProperties": False, "required": ["interface"],
                    "properties": {"interface": {"enum": list(_EXPOSED)}, "via": {"enum": list(_VIAS)}},
                },
            },
        },
    }


# ------------------------------------------------------------------------------------------------ loading


class _Reader:
    def __init__(self, file: str | None) -> None:
        self.file = file

    def fail(self, reason: str, key: str, value: Any = None, valid: Sequence[str] | str | None = None) -> NoReturn:
        raise ConfigurationError(reason, file=self.file, option=key,
                                 value=None if value is None else str(value)[:120], valid=valid)

    def mapping(self, value: Any, key: str, allowed: Sequence[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail("expected a mapping", key, type(value).__name__, "a mapping")
        for k in value:
            if str(k) not in allowed:
                self.fail("unknown key", f"{key}.{k}" if key else str(k), None, tuple(allowed))
        return dict(value)

    def list(self, value: Any, key: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail("expected a list", key, type(value).__name__, "a list")
        return list(value)

    def boolean(self, value: Any, key: str, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail("expected true or false", key, value, ("true", "false"))
        return bool(value)

    def integer(self, value: Any, key: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail("expected a whole number, 0 or more", key, value, "0, 1, 2...")
        return int(value)

    def choice(self, value: Any, key: str, valid: Sequence[str], default: str | None = None) -> str | None:
        if value is None:
            return default
        if value not in valid:
            self.fail(f"unknown {key.rsplit('.', 1)[-1]}", key, value, tuple(valid))
        return str(value)

    def net(self, value: Any, key: str) -> Net:
        text = str(value).strip()
        try:
            return ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            self.fail("not an IPv4 address or CIDR block", key, text, "198.51.99.0/24, 10.0.0.1")

    def nets(self, value: Any, key: str) -> tuple[Net, ...]:
        return tuple(self.net(v, f"{key}[{i}]") for i, v in enumerate(self.list(value, key)))


def parse_plan(data: Any, *, file: str | None = None) -> Plan:
    """Validate plan data (as YAML loads it).

    Raises:
        ConfigurationError: an unknown key or application, a bad value; names the file, the key and the value.
    """
    r = _Reader(file)
    top = r.mapping(data, "", ("cloud-domain", "workstations", "applications", "networks", "proxy", "firewall",
                               "vpn", "exposures"))
    domain = check_direct_name(str(top.get("cloud-domain") or CLOUD_DOMAIN), option="cloud-domain",
                               file=file).strip("*.")
    ws = r.mapping(top.get("workstations"), "workstations", ("ip-version",))
    ip_version = r.choice(ws.get("ip-version"), "workstations.ip-version", _IP_VERSIONS, "ipv4") or "ipv4"
    known = applications()
    apps: list[AppUse] = []
    for i, item in enumerate(r.list(top.get("applications"), "applications")):
        key = f"applications[{i}]"
        entry = r.mapping(item, key, ("app", "network"))
        app = entry.get("app")
        if app not in known:
            r.fail("unknown application", f"{key}.app", app, tuple(known))
        network = r.choice(entry.get("network"), f"{key}.network", ("internet", "private"))
        if network is None:
            r.fail("an application needs its network", f"{key}.network", None, ("internet", "private"))
        apps.append(AppUse(str(app), str(network)))
    networks = r.mapping(top.get("networks"), "networks", ("private",))
    private = r.mapping(networks.get("private"), "networks.private", ("cloud-addresses",))
    proxy = r.mapping(top.get("proxy"), "proxy", ("address", "internal-addresses", "pac", "allowlist",
                                                 "authentication", "https-inspection", "turn"))
    address = proxy.get("address")
    if address is not None:
        address = str(check_proxy_address(str(address), option="proxy.address", file=file))
    inspection_value = proxy.get("https-inspection")
    if isinstance(inspection_value, dict):
        inspection_map = r.mapping(inspection_value, "proxy.https-inspection", ("enabled", "exempt-turn"))
        inspection = r.boolean(inspection_map.get("enabled"), "proxy.https-inspection.enabled", True)
        exempt = r.boolean(inspection_map.get("exempt-turn"), "proxy.https-inspection.exempt-turn")
    else:
        inspection = r.boolean(inspection_value, "proxy.https-inspection")
        exempt = False
    allowlist_value = proxy.get("allowlist")
    allowlist = None if allowlist_value is None else tuple(str(v) for v in r.list(allowlist_value, "proxy.allowlist"))
    firewall = r.mapping(top.get("firewall"), "firewall", ("udp-idle-timeout", "nat", "rules"))
    nat = r.mapping(firewall.get("nat"), "firewall.nat", ("pairs", "udp-sessions"))
    rules: tuple[FirewallRule, ...] | None = None
    if "rules" in firewall:
        out = []
        for i, item in enumerate(r.list(firewall.get("rules"), "firewall.rules")):
            key = f"firewall.rules[{i}]"
            rule = r.mapping(item, key, ("port", "destination", "network", "turn"))
            port = r.integer(rule.get("port"), f"{key}.port")
            if port is None or not 0 < port < 65536:
                r.fail("a port is a number from 1 to 65535", f"{key}.port", rule.get("port"), "1-65535")
            destination = rule.get("destination", "any")
            net = None if str(destination).lower() == "any" else r.net(destination, f"{key}.destination")
            out.append(FirewallRule(
                int(port or 0), net,
                r.choice(rule.get("network"), f"{key}.network", ("internet", "private"), "internet") or "internet",
                r.boolean(rule.get("turn"), f"{key}.turn"),
            ))
        rules = tuple(out)
    vpn = r.mapping(top.get("vpn"), "vpn", ("tunnel", "include"))
    exposures = []
    for i, item in enumerate(r.list(top.get("exposures"), "exposures")):
        key = f"exposures[{i}]"
        exp = r.mapping(item, key, ("interface", "via"))
        interface = r.choice(exp.get("interface"), f"{key}.interface", _EXPOSED)
        if interface is None:
            r.fail("an exposure names its interface", f"{key}.interface", None, _EXPOSED)
        exposures.append((str(interface), r.choice(exp.get("via"), f"{key}.via", _VIAS, "other") or "other"))
    return Plan(
        file=file,
        domain=domain,
        ip_version=ip_version,
        apps=tuple(apps),
        cloud_private=r.nets(private.get("cloud-addresses"), "networks.private.cloud-addresses"),
        proxy=address,
        proxy_internal=r.nets(proxy.get("internal-addresses"), "proxy.internal-addresses"),
        pac=r.boolean(proxy.get("pac"), "proxy.pac"),
        allowlist=allowlist,
        authentication=r.boolean(proxy.get("authentication"), "proxy.authentication"),
        inspection=inspection,
        inspection_exempt_turn=exempt,
        turn_route=r.choice(proxy.get("turn"), "proxy.turn", _TURN_ROUTES),
        udp_idle_timeout=r.integer(firewall.get("udp-idle-timeout"), "firewall.udp-idle-timeout"),
        nat_pairs=r.integer(nat.get("pairs"), "firewall.nat.pairs"),
        udp_sessions=r.integer(nat.get("udp-sessions"), "firewall.nat.udp-sessions"),
        rules=rules,
        tunnel=r.choice(vpn.get("tunnel"), "vpn.tunnel", _TUNNELS),
        include=r.nets(vpn.get("include"), "vpn.include"),
        exposures=tuple(exposures),
    )


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan file (YAML, no anchors, aliases or tags)."""
    file = os.fspath(path)
    return parse_plan(safe_yaml(read_text(file, what="network plan"), file=file), file=file)


# ------------------------------------------------------------------------------------------------ rules


def _covered(needed: Sequence[Net], have: Sequence[Net]) -> list[Net]:
    return [n for n in needed if not any(n.subnet_of(h) for h in have)]


def _check(plan: Plan) -> list[Finding]:
    out: list[Finding] = []
    file = plan.file

    def emit(code: str, obj: str, message: str, option: str | None = None) -> None:
        out.append(CLOUD_RULES[code].finding(obj, message, option=option, file=file))

    catalogue = applications()
    webrtc = [a for a in plan.apps if catalogue[a.app].webrtc]
    internet_apps = plan.on("internet")

    if plan.ip_version == "ipv6":
        emit("GT721", "workstations", "workstations have IPv6 only; the cloud operates over IPv4 only", "ip-version")
    for use in plan.apps:
        app = catalogue[use.app]
        if not app.allows(use.network):
            emit("GT719", use.app, f"{app.name} works over the {app.networks} network only, not the "
                 f"{use.network} network", "network")
    if plan.udp_idle_timeout is not None and plan.uses("softphone-sip") and plan.udp_idle_timeout < SIP_EXPIRE_SECONDS:
        emit("GT711", "firewall", f"UDP idle timeout {plan.udp_idle_timeout} s is shorter than the cloud's SIP "
             f"expire timer of {SIP_EXPIRE_SECONDS} s", "udp-idle-timeout")
    if plan.nat_pairs is not None and plan.udp_sessions is not None and plan.nat_pairs < plan.udp_sessions:
        emit("GT712", "firewall", f"{plan.nat_pairs} NAT/PAT pairs for {plan.udp_sessions} simultaneous UDP "
             "sessions", "nat")
    for index, rule in enumerate(plan.rules or ()):
        if rule.network == "internet" and rule.destination is not None and not rule.turn:
            emit("GT713", f"firewall.rules[{index}]", f"TCP {rule.port} to {rule.destination} only: the cloud's "
                 "Internet addresses change periodically and unpredictably", "destination")
    if webrtc and plan.inspection and not plan.inspection_exempt_turn:
        emit("GT714", "proxy", "HTTPS inspection is on and the TURN interfaces are not exempt; WebRTC media to TCP "
             "443 is SRTP, not TLS", "https-inspection")
    if plan.proxy is not None and plan.allowlist is not None:
        entries = [e.lower().lstrip("*").lstrip(".") for e in plan.allowlist]
        if not any(in_domain(e, plan.domain) for e in entries if e):
            emit("GT715", "proxy", f"the allowlist has no entry within {plan.domain}", "allowlist")
    if plan.proxy is not None:
        for use in webrtc:
            if use.network != "internet":
                continue
            route = plan.turn_route or "proxy"
            reason = None
            if route == "none":
                reason = "proxy.turn is none"
            elif route == "proxy" and use.app == "softphone-webrtc":
                reason = "Genesys Softphone in WebRTC mode does not support a proxy for media"
            elif route == "proxy" and plan.allowlist is not None and not any(
                in_domain(e.lower().lstrip("*").lstrip("."), TURN_DOMAIN) for e in plan.allowlist if e.strip("*.")
            ):
                reason = f"the proxy allowlist has no entry within {TURN_DOMAIN}, the TURN domain"
            if reason:
                emit("GT716", use.app, f"no route for WebRTC media to the TURN interfaces: {reason}", "turn")
    if plan.authentication and plan.uses("softphone-webrtc"):
        emit("GT717", "proxy", "the proxy requires authentication, which Genesys Softphone in WebRTC mode does not "
             "support for its signalling", "authentication")
    if plan.tunnel == "split":
        for use in internet_apps:
            if not catalogue[use.app].split_tunnel_internet:
                emit("GT718", use.app, f"{catalogue[use.app].name} over the Internet with a split tunnel", "network")
        if plan.on("private"):
            missing = _covered(plan.cloud_private, plan.include)
            if not plan.cloud_private:
                emit("GT722", "vpn", "applications use the private network but networks.private.cloud-addresses "
                     "is not declared, so the include list cannot be checked", "include")
            elif missing:
                emit("GT722", "vpn", "the include list omits the cloud's private addresses "
                     + ", ".join(map(str, missing)), "include")
        if plan.pac and plan.proxy is not None:
            missing = _covered(plan.proxy_internal, plan.include)
            if not plan.proxy_internal:
                emit("GT723", "vpn", "a PAC file sends browsers to the proxy, but proxy.internal-addresses is not "
                     "declared, so the include list cannot be checked", "include")
            elif missing:
                emit("GT723", "vpn", "the include list omits the proxy's internal addresses "
                     + ", ".join(map(str, missing)), "include")
    for interface, via in plan.exposures:
        emit("GT720", "exposures", f"{interface} is exposed to the Internet via {via}", "interface")
    if plan.rules is not None and internet_apps:
        ports = {r.port for r in plan.rules if r.network == "internet"}
        if 443 not in ports:
            emit("GT724", "firewall", "no rule allows outbound TCP 443 to the Internet", "rules")
        if 80 not in ports:
            emit("GT725", "firewall", "no rule allows outbound TCP 80 to the Internet", "rules")
    return out


def lint_plan(plan: Plan, *, now: datetime.datetime | None = None) -> Report:
    """The GT7xx findings of a plan, as a lint :class:`~genesys_tls.lint.Report` (``render(report, fmt)`` of
    :mod:`genesys_tls.lint.reporters` prints it; for SARIF pass ``rules=CLOUD_RULES``)."""
    moment = now or datetime.datetime.now(datetime.UTC)
    return Report(
        findings=tuple(_check(plan)),
        source=plan.file,
        reading="cloud-plan",
        expiry_days=0,
        now=moment,
        stats=LintStats(CacheStats({}, 0, 0), 0, 0),
    )
