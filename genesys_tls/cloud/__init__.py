"""Genesys Engage cloud access: known-IP lists, the cloud TLS profile probe, PAC files and network plans.

Deciding parts (no ``ssl``, no sockets): :mod:`~genesys_tls.cloud.facts` (the guide's facts, from
``genesys_tls/data/cloud.json``), :mod:`~genesys_tls.cloud.ips`, :mod:`~genesys_tls.cloud.pac`,
:mod:`~genesys_tls.cloud.plan` and :mod:`~genesys_tls.cloud.rules` (GT7xx). I/O parts:
:mod:`~genesys_tls.cloud.probe` (TLS and HTTP), :mod:`~genesys_tls.cloud.crlfetch` (CRLs over HTTP),
:mod:`~genesys_tls.cloud.pac_eval` (PAC files in ``node``) and :mod:`~genesys_tls.cloud.components` (loopback
servers for tests and the demo). ``docs/cloud.md`` describes it all.
"""

from __future__ import annotations

from .facts import CLOUD_DOMAIN, TURN_DOMAIN
from .ips import check_known_ips, compare_known_ips, load_known_ips, parse_known_ips
from .pac import check_proxy_address, generate_pac
from .plan import lint_plan, load_plan, parse_plan
from .rules import CLOUD_RULES

__all__ = [
    "CLOUD_DOMAIN",
    "CLOUD_RULES",
    "TURN_DOMAIN",
    "check_known_ips",
    "check_proxy_address",
    "compare_known_ips",
    "generate_pac",
    "lint_plan",
    "load_known_ips",
    "load_plan",
    "parse_known_ips",
    "parse_plan",
]
