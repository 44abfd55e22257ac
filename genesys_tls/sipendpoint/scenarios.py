"""The security matrix as runnable scenarios: each of its four rows and their must-fail twins, with real
handshakes between the :class:`~genesys_tls.sipendpoint.client.WorkspaceClient` and the
:class:`~genesys_tls.sipendpoint.listener.EndpointListener` on loopback (``genesys-tls demo`` runs them).

:func:`build_material` writes a test PKI and certificate stores into a folder: the agent's identity
(``E=john.smith@example.com, CN=John Smith, OU=Agents, OU=Sales, OU=EMEA, DC=emea, DC=corp, DC=example,
DC=com``) on the endpoint's certificate (PEM + key) and on Workspace's (PFX with a password), and the broken
variants the twins need; :func:`run_scenarios` runs :data:`SCENARIOS` against it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import yaml

from ..stores import CertificateStore
from .directory import DirectoryUser, user_from_mapping
from .facts import facts
from .model import parse_endpoint_config, workspace_settings
from .rules import example_config

__all__ = ["SCENARIOS", "Material", "SipScenario", "SipScenarioResult", "build_material", "demo_results",
           "run_scenarios"]

AGENT_SUBJECT = ("E=john.smith@example.com,CN=John Smith,OU=Agents,OU=Sales,OU=EMEA,"
                 "DC=emea,DC=corp,DC=example,DC=com")
AGENT_USER: Mapping[str, str] = MappingProxyType({
    "uid": "jsmith",
    "mail": "John.Smith@example.com",
    "cn": "John Smith",
    "distinguishedName": "CN=John Smith,OU=Agents,OU=Sales,OU=EMEA,DC=emea,DC=corp,DC=example,DC=com",
})
#: The criteria and properties of the identity row: the source's example lists 9 criteria against 7 properties,
#: which is refused (a count mismatch is a configuration error); the harness completes it to 9 and 9.
CRITERIA = "E,CN,OU,OU,OU,DC,DC,DC,DC"
PROPERTIES = "mail,cn," + ",".join(["distinguishedName.OU"] * 3 + ["distinguishedName.DC"] * 4)
#: Workspace's PFX password in the demo (a test secret, given through a callback, never a command line).
PFX_PASSWORD = "demo-pfx-password"  # noqa: S105 - a test PKI's password

_STORES: Mapping[str, tuple[str, str, str | None]] = MappingProxyType({
    # folder: (issuing CA, subject, how the store holds it)
    "ep-good": ("ca", AGENT_SUBJECT, "pem"),
    "ep-other-ca": ("other", AGENT_SUBJECT, "pem"),
    "ep-other-user": ("ca", "E=jane.doe@example.com,CN=Jane Doe,OU=Agents,OU=Sales,OU=EMEA,DC=emea,DC=corp,"
                            "DC=example,DC=com", "pem"),
    "ws-good": ("ca", AGENT_SUBJECT, "pfx"),
    "ws-other-ca": ("other", AGENT_SUBJECT, "pfx"),
    "ws-wrong-e": ("ca", AGENT_SUBJECT.replace("john.smith@", "j.smith@"), "pfx"),
    "ws-swapped-ou": ("ca", AGENT_SUBJECT.replace("OU=Agents,OU=Sales", "OU=Sales,OU=Agents"), "pfx"),
})


@attrs.frozen
class Material:
    """What :func:`build_material` wrote: the folder, the CA file, the stores by name, the agent, and the two
    certificate authorities (``ca``: Agent CA, trusted; ``other``: Other CA)."""

    directory: Path
    ca: Path
    stores: Mapping[str, CertificateStore]
    user: DirectoryUser
    user_file: Path
    authorities: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def build_material(directory: str | os.PathLike[str]) -> Material:
    """Write the CA, the stores (``ep-*`` PEM folders, ``ws-*`` PFX folders) and ``user.yaml``."""
    from ..pki import CertificateAuthority

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    cas = {"ca": CertificateAuthority.create("Agent CA"), "other": CertificateAuthority.create("Other CA")}
    ca_path = root / "ca.pem"
    ca_path.write_bytes(cas["ca"].cert_pem())
    stores: dict[str, CertificateStore] = {}
    for name, (issuer, subject, kind) in _STORES.items():
        email = subject.split(",", 1)[0].removeprefix("E=")
        issued = cas[issuer].issue(["127.0.0.1"], subject=subject, emails=[email])
        folder = root / name
        if kind == "pfx":
            issued.write_pfx(folder, name, password=PFX_PASSWORD.encode())
        else:
            issued.write(folder, name)
        stores[name] = CertificateStore.load(folder, passwords=lambda _path: PFX_PASSWORD)
    user_file = root / "user.yaml"
    user_file.write_text(yaml.safe_dump(dict(AGENT_USER), sort_keys=False), encoding="utf-8")
    user = user_from_mapping(dict(AGENT_USER), source=str(user_file))
    return Material(root, ca_path, MappingProxyType(stores), user, user_file, MappingProxyType(cas))


@attrs.frozen
class SipScenario:
    """One scenario: a matrix row's settings, possibly changed, and what each side must see.

    Attributes:
        name: short name.
        description: what it shows.
        row: the matrix row whose setting pair it uses.
        endpoint_store, workspace_store: the store folders (see :data:`_STORES`).
        endpoint: endpoint keys overriding the row's.
        workspace: Workspace options (without the prefix) overriding the row's.
        source: the client's local address.
        expected: ``ok`` or the category Workspace must see.
        server_expected: what the endpoint must record.
    """

    name: str
    description: str
    row: str
    expected: str = "ok"
    server_expected: str = "ok"
    endpoint_store: str = "ep-good"
    workspace_store: str = "ws-good"
    endpoint: Mapping[str, str] = attrs.field(factory=dict)
    workspace: Mapping[str, str] = attrs.field(factory=dict)
    source: str = "127.0.0.1"


SCENARIOS: tuple[SipScenario, ...] = (
    SipScenario("sip-lab-only", "matrix row 1: endpoint 0, Workspace 0 (no certificate validated, lab only)",
                "lab-only"),
    SipScenario("sip-lab-only-address-refused", "row 1 with range 127.0.0.2/32, client on 127.0.0.1: closed "
                "before any TLS byte", "lab-only", "address-refused", "address-refused",
                endpoint={"ipv4_address_range": "127.0.0.2/32"}),
    SipScenario("sip-lab-only-address-allowed", "row 1 with range 127.0.0.2/32, client bound to 127.0.0.2",
                "lab-only", endpoint={"ipv4_address_range": "127.0.0.2/32"}, source="127.0.0.2"),
    SipScenario("sip-simple", "matrix row 2: endpoint 0, Workspace 1 (endpoint certificate validated)", "simple"),
    SipScenario("sip-simple-untrusted-endpoint", "row 2, endpoint certificate from another CA", "simple",
                "untrusted", "untrusted", endpoint_store="ep-other-ca"),
    SipScenario("sip-mutual", "matrix row 3: endpoint 1, Workspace 2 (mutual validation)", "mutual"),
    SipScenario("sip-mutual-workspace-level-1", "row 3 with Workspace at level 1: no client certificate",
                "mutual", "client-certificate-required", "client-certificate-required",
                workspace={"security-level": "1"}),
    SipScenario("sip-mutual-untrusted-client", "row 3, Workspace certificate from another CA", "mutual",
                "untrusted", "untrusted", workspace_store="ws-other-ca"),
    SipScenario("sip-identity", "matrix row 4: endpoint 2, Workspace 3 (mutual with personal identity check)",
                "identity"),
    SipScenario("sip-identity-wrong-e", "row 4, Workspace certificate with another E: 403", "identity",
                "subject-mismatch", "subject-mismatch", workspace_store="ws-wrong-e"),
    SipScenario("sip-identity-swapped-ou", "row 4, Workspace certificate with two OUs swapped: 403", "identity",
                "subject-mismatch", "subject-mismatch", workspace_store="ws-swapped-ou"),
    SipScenario("sip-identity-other-user-endpoint", "row 4, endpoint certificate of another user: Workspace "
                "refuses it", "identity", "subject-mismatch", "ok", endpoint_store="ep-other-user"),
)


@attrs.frozen
class SipScenarioResult:
    """What happened in one scenario."""

    scenario: SipScenario
    outcome: str
    server_outcome: str | None
    passed: bool
    detail: str
    mode: str
    authenticated: bool
    protocol: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{name, expected, outcome, passed, server, detail}``."""
        return {"name": self.scenario.name, "expected": self.scenario.expected, "outcome": self.outcome,
                "passed": self.passed, "server": self.server_outcome, "detail": self.detail}


def _settings(material: Material, scenario: SipScenario) -> tuple[str, dict[str, str]]:
    row = facts().row(scenario.row)
    keys = {"protocol": row.endpoint["protocol"], "port": "8000", "security_level": row.endpoint["security_level"],
            "ipv4_address_range": "127.0.0.0/8"}
    workspace = {"protocol": "https", "port": "8000", "security-level": row.workspace["security-level"]}
    ep_entry = material.stores[scenario.endpoint_store].entries[0]
    ws_entry = material.stores[scenario.workspace_store].entries[0]
    if row.id == "identity":
        # "certificate issuer or subject common part": the common part of the subject.
        keys |= {"certificate_search_value": "OU=EMEA,DC=emea", "subject_criteria": CRITERIA,
                 "subject_matching_properties": PROPERTIES}
        workspace |= {"certificate-search-value": "OU=EMEA,DC=emea", "subject-criteria": CRITERIA,
                      "subject-matching-properties": PROPERTIES}
    else:
        keys["certificate_search_value"] = ep_entry.thumbprint
        if int(workspace["security-level"]) >= 2:
            workspace["certificate-search-value"] = ws_entry.thumbprint
    keys |= dict(scenario.endpoint)
    workspace |= dict(scenario.workspace)
    return example_config(keys), workspace


def _environment(options: Mapping[str, str]) -> str:
    prefix = facts().workspace_prefix
    doc = {"hosts": {"vdi-host": {"ip": "127.0.0.1"}},
           "applications": {"Workspace": {"type": "Interaction Workspace", "host": "vdi-host",
                                          "options": {facts().workspace_section:
                                                      {prefix + k: v for k, v in options.items()}}}}}
    return yaml.safe_dump(doc, sort_keys=False)


def run_one(material: Material, scenario: SipScenario, timeout: float = 5.0) -> SipScenarioResult:
    """Run one scenario (listener and client on loopback)."""
    from ..loaders import loads
    from .client import WorkspaceClient
    from .listener import EndpointListener

    start = time.perf_counter()
    config_text, options = _settings(material, scenario)
    config = parse_endpoint_config(config_text, file=f"<{scenario.name}>")
    settings = workspace_settings(loads(_environment(options)), "Workspace")
    with EndpointListener(config, store=material.stores[scenario.endpoint_store], ca_file=str(material.ca),
                          user=material.user, timeout=timeout) as listener:
        client = WorkspaceClient(settings, store=material.stores[scenario.workspace_store],
                                 ca_file=str(material.ca), user=material.user, source=scenario.source,
                                 timeout=timeout)
        result = client.open_session(listener.address)
        listener.wait(1, timeout)
        record = listener.records[0] if listener.records else None
    server = None
    if record is not None:
        server = "ok" if record.handshake.ok else str(record.category.value if record.category else "connection")
    passed = result.outcome == scenario.expected and server == scenario.server_expected
    detail = result.handshake.error[1] if result.handshake.error else f"HTTP {result.status} {result.data}"
    if server != scenario.server_expected:
        detail += f" (endpoint saw {server}, expected {scenario.server_expected})"
    return SipScenarioResult(scenario, result.outcome, server, passed, detail, result.handshake.mode,
                             result.handshake.authenticated, result.handshake.protocol,
                             time.perf_counter() - start)


def run_scenarios(
    directory: str | os.PathLike[str], scenarios: Sequence[SipScenario] = SCENARIOS, *, timeout: float = 5.0
) -> list[SipScenarioResult]:
    """Build the material in ``directory`` and run ``scenarios``."""
    material = build_material(directory)
    return [run_one(material, s, timeout) for s in scenarios]


def demo_results(directory: str | os.PathLike[str], timeout: float = 5.0) -> list[Any]:
    """:func:`run_scenarios` as :class:`genesys_tls.demo.ScenarioResult` objects (for ``genesys-tls demo``)."""
    from ..demo import Scenario, ScenarioResult

    out = []
    for r in run_scenarios(directory, timeout=timeout):
        s = r.scenario
        out.append(ScenarioResult(
            Scenario(s.name, s.description, "Workspace", "SIP Endpoint", s.row, s.expected,
                     server_expected=s.server_expected),
            r.outcome, r.passed, r.detail, r.mode, r.authenticated, r.protocol, r.server_outcome, r.seconds,
        ))
    return out
