"""Workspace SIP Endpoint standalone (VDI) security: facts, model, checks, lint, the endpoint's HTTPS REST
listener and the Workspace-side client (see ``docs/sipendpoint.md``).

The deciding modules (:mod:`.facts`, :mod:`.model`, :mod:`.directory`, :mod:`.checks`, :mod:`.rules`,
:mod:`.app`) import neither ``ssl`` nor ``socket``; the TLS and socket code lives in :mod:`.tls`,
:mod:`.listener` and :mod:`.client`, the LDAP look-up in :mod:`.ldap`.
"""

from __future__ import annotations

from .checks import AddressDecision, AddressPolicy, Mismatch, match_subject, pair_verdict
from .directory import DirectoryUser, load_user_file
from .facts import Facts, facts
from .model import (
    EndpointConfig,
    Property,
    WorkspaceSettings,
    load_endpoint_config,
    parse_endpoint_config,
    workspace_settings,
)

__all__ = [
    "AddressDecision",
    "AddressPolicy",
    "DirectoryUser",
    "EndpointConfig",
    "Facts",
    "Mismatch",
    "Property",
    "WorkspaceSettings",
    "facts",
    "load_endpoint_config",
    "load_user_file",
    "match_subject",
    "pair_verdict",
    "parse_endpoint_config",
    "workspace_settings",
]
