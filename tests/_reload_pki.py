"""A small PKI and environment file for the live reconfiguration tests (test_reload*.py)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization

from genesys_tls.ca import CertificateAuthority


class PKI:
    """A CA, a server and a client certificate, a CRL and an environment file in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = CertificateAuthority.create("Reload CA")
        self.server = self.ca.issue_server(["tsrv-host", "127.0.0.1"])
        self.server.write(folder, "server")
        self.client = self.ca.issue_client("client-host")
        self.client.write(folder, "client")
        (folder / "ca.pem").write_bytes(self.ca.cert_pem())
        (folder / "crl.pem").write_bytes(self.ca.crl())
        self.env_file = folder / "environment.yaml"
        self.write_env()

    def write_env(self, ports: dict[str, str] | None = None, client_transport: str = "",
                  client_cert: bool = True) -> None:
        ports = ports if ports is not None else {"secure": "tls=1", "mutual": "tls=1;tls-mutual=1;tls-crl=crl.pem"}
        client = {"trusted-ca": "ca.pem"}
        if client_cert:
            client.update({"certificate": "client.pem", "certificate-key": "client.key"})
        data = {
            "hosts": {"tsrv-host": {"ip": "127.0.0.1", "os": "unix"}, "client-host": {"os": "unix"}},
            "applications": {
                "TServer": {"type": "T-Server", "host": "tsrv-host",
                            "options": {"security": {"certificate": "server.pem", "certificate-key": "server.key",
                                                     "trusted-ca": "ca.pem"}},
                            "ports": {pid: {"port": 7001 + i, "transport": t} for i, (pid, t) in
                                      enumerate(ports.items())}},
                "Client": {"type": "Third Party Application", "host": "client-host",
                           "options": {"security": client},
                           "connections": [{"server": "TServer", "port-id": pid, "transport": client_transport}
                                           for pid in ports]},
            },
        }
        tmp = self.env_file.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(data))
        os.replace(tmp, self.env_file)

    def rotate(self, stem: str = "server") -> bytes:
        """A new certificate and key for the server, renamed into place; the new certificate's DER."""
        issued = self.ca.issue_server(["tsrv-host", "127.0.0.1"])
        issued.write(self.folder, "next")
        os.replace(self.folder / "next.key", self.folder / f"{stem}.key")
        os.replace(self.folder / "next.pem", self.folder / f"{stem}.pem")
        return issued.cert.public_bytes(serialization.Encoding.DER)
