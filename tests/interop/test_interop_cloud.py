"""The cloud probe against ``openssl s_server``, and the CRL Distribution Point read back by ``openssl x509``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from openssl_tools import s_server

from genesys_tls.cloud.components import CloudPKI, CRLAnswer, CRLServer, tls11_supported
from genesys_tls.cloud.crlfetch import CRLFetchCache
from genesys_tls.cloud.probe import probe
from genesys_tls.errors import Category

pytestmark = pytest.mark.interop
HOST = "app.cloud.test"


def test_probe_against_openssl_s_server(openssl: str, tmp_path: Path) -> None:
    with CRLServer() as crl:
        pki = CloudPKI(tmp_path, crl.url("ca.crl"))
        cert, key = pki.leaf(HOST, "app")
        crl.set("ca.crl", CRLAnswer(pki.crl()))
        shown = subprocess.run([openssl, "x509", "-in", str(cert), "-noout", "-ext", "crlDistributionPoints"],
                               capture_output=True, text=True, timeout=10, check=True).stdout
        assert crl.url("ca.crl") in shown
        der = tmp_path / "ca.crl"
        der.write_bytes(pki.crl())
        subprocess.run([openssl, "crl", "-inform", "DER", "-in", str(der), "-noout", "-CAfile", str(pki.ca_file)],
                       capture_output=True, text=True, timeout=10, check=True)
        with s_server(openssl, "-cert", str(cert), "-key", str(key), naccept=2) as server:
            result = probe(f"https://{HOST}:{server.port}/", ca_file=str(pki.ca_file), resolve={HOST: "127.0.0.1"},
                           domain="cloud.test", timeout=5, cache=CRLFetchCache())
        assert result.ok, result.error
        assert result.checks == ("chain", "target-name", "tls1.2", "crl")
        if not tls11_supported():
            pytest.skip("the local OpenSSL refuses TLS 1.1 even at security level 0")
        with s_server(openssl, "-cert", str(cert), "-key", str(key), "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
                      naccept=1) as server:
            old = probe(f"https://{HOST}:{server.port}/", ca_file=str(pki.ca_file), resolve={HOST: "127.0.0.1"},
                        domain="cloud.test", timeout=5, cache=CRLFetchCache())
        assert old.category is Category.PROTOCOL
