"""The Genesys Engage cloud facts, read from ``genesys_tls/data/cloud.json`` (one place for each fact).

Typed views over the data file: the non-routable address blocks (exactly as the cloud availability guide lists
them, not as :mod:`ipaddress` classifies them), the applications and the networks each can use, ports, the SIP
expire timer, the known-IP sources, and the default cloud and TURN domains. ``docs/cloud.md`` is rendered from
the same file (:mod:`genesys_tls.cloud.docs`).
"""

from __future__ import annotations

import functools
import importlib.resources
import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "CLOUD_DOMAIN",
    "DATA_FILE",
    "SIP_EXPIRE_SECONDS",
    "TURN_DOMAIN",
    "Application",
    "NonRoutableBlock",
    "application",
    "applications",
    "data",
    "non_routable_blocks",
]

DATA_FILE = "genesys_tls/data/cloud.json"


@functools.cache
def data() -> Mapping[str, Any]:
    """The parsed data file (read once)."""
    resource = importlib.resources.files("genesys_tls").joinpath("data", "cloud.json")
    loaded: Mapping[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return loaded


@attrs.frozen
class NonRoutableBlock:
    """One line of the guide's table of blocks that are not routable on the Internet.

    Attributes:
        network: the block.
        rfcs: the RFCs exactly as the guide writes them (``"RFC 5735, RFC 1918"``).
        label: the guide's label (``"Private IP Address Block"``).
        private_network: ``refused`` when an address of the block routes nowhere, so it cannot be a known
            address on the private network either; ``allowed`` otherwise (a choice of genesys_tls: the guide
            only says what the Internet list may not hold).
    """

    network: ipaddress.IPv4Network
    rfcs: str
    label: str
    private_network: str

    @property
    def rfc_list(self) -> tuple[str, ...]:
        """The RFCs as separate names (``("RFC 5735", "RFC 1918")``)."""
        return tuple(re.findall(r"RFC \d+", self.rfcs))

    def describe(self) -> str:
        """``10.0.0.0/8 (Private IP Address Block, RFC 5735, RFC 1918)``."""
        return f"{self.network} ({self.label}, {', '.join(self.rfc_list)})"


@functools.cache
def non_routable_blocks() -> tuple[NonRoutableBlock, ...]:
    """The blocks, in the guide's order."""
    return tuple(
        NonRoutableBlock(ipaddress.IPv4Network(b["block"]), b["rfcs"], b["label"], b["private_network"])
        for b in data()["non_routable"]["blocks"]
    )


@attrs.frozen
class Application:
    """A cloud application for users.

    Attributes:
        id: stable identifier used in network plans (``workspace-web-edition``).
        name: the guide's name.
        kind: ``browser`` or ``standalone``.
        networks: ``internet``, ``private`` or ``both``.
        proxy: what the guide says of its proxy support.
        split_tunnel_internet: whether it works with VPN split tunnelling for access over the Internet.
        webrtc: a WebRTC phone (its media goes to the TURN interface on TCP 443 as SRTP).
    """

    id: str
    name: str
    kind: str
    networks: str
    proxy: str
    split_tunnel_internet: bool
    webrtc: bool = False

    def allows(self, network: str) -> bool:
        """Whether it can be reached over ``network`` (``internet`` or ``private``)."""
        return self.networks in ("both", network)


@functools.cache
def applications() -> Mapping[str, Application]:
    """id -> :class:`Application`, in the guide's order."""
    return {
        a["id"]: Application(a["id"], a["name"], a["kind"], a["networks"], a["proxy"], a["split_tunnel_internet"],
                             a.get("webrtc", False))
        for a in data()["applications"]
    }


def application(app_id: str) -> Application | None:
    """The application with this id, ``None`` when unknown."""
    return applications().get(app_id)


#: The default cloud domain: cloud application URLs are names within it (``best-customer.genesyscloud.com``).
CLOUD_DOMAIN: str = data()["cloud"]["domain"]
#: The domain of the cloud's TURN interfaces for WebRTC media.
TURN_DOMAIN: str = data()["cloud"]["turn_domain"]
#: The cloud's SIP expire timer, seconds.
SIP_EXPIRE_SECONDS: int = data()["cloud"]["sip_expire_timer_seconds"]
#: Known-IP sources and whether the cloud accepts them.
SOURCES: Mapping[str, bool] = {k: v["accepted"] for k, v in data()["known_ip_sources"].items()}


def in_domain(host: str, domain: str) -> bool:
    """Whether ``host`` is ``domain`` or a name within it (case-insensitive, a trailing dot ignored)."""
    h = host.lower().rstrip(".")
    d = domain.lower().strip(".")
    return bool(d) and (h == d or h.endswith("." + d))
