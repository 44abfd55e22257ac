"""Helpers of the SIP Endpoint tests: settings from small dicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from genesys_tls.loaders import loads
from genesys_tls.sipendpoint.client import WorkspaceClient
from genesys_tls.sipendpoint.model import EndpointConfig, WorkspaceSettings, parse_endpoint_config, workspace_settings
from genesys_tls.sipendpoint.rules import example_config
from genesys_tls.sipendpoint.scenarios import CRITERIA, PROPERTIES, Material
from genesys_tls.stores import CertificateStore

PREFIX = "sipendpoint.standalone."
IDENTITY_KEYS = {"subject_criteria": CRITERIA, "subject_matching_properties": PROPERTIES}
IDENTITY_OPTIONS = {"subject-criteria": CRITERIA, "subject-matching-properties": PROPERTIES}


def endpoint(keys: Mapping[str, str], file: str = "test.exe.config") -> EndpointConfig:
    return parse_endpoint_config(example_config(keys), file=file)


def workspace_env(options: Mapping[str, str]) -> str:
    doc = {"hosts": {"vdi": {"ip": "127.0.0.1"}},
           "applications": {"WDE": {"type": "Interaction Workspace", "host": "vdi",
                                    "options": {"interaction-workspace": {PREFIX + k: v for k, v in options.items()}}}}}
    return yaml.safe_dump(doc, sort_keys=False)


def workspace(options: Mapping[str, str]) -> WorkspaceSettings:
    return workspace_settings(loads(workspace_env(options)), "WDE")


def workspace_client(material: Material, store: Path, level: str = "2") -> WorkspaceClient:
    """A Workspace client whose store is one PFX folder (password ``pw``)."""
    settings = workspace({"protocol": "https", "port": "8000", "security-level": level,
                          "certificate-search-value": "Agent CA"})
    return WorkspaceClient(settings, store=CertificateStore.load(store, passwords=lambda _p: "pw"),
                           ca_file=str(material.ca), user=material.user, timeout=5)
