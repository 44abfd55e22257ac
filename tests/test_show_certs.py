"""``connect --show-certs`` and ``connect --brief`` against real servers on 127.0.0.1 whose certificate is
issued by an intermediate CA made at test time (a chain of two), in text and JSON (validated against the
published schema, fingerprints checked against ``openssl x509``), after a failed handshake too, and with a
hostile subject full of control characters."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from genesys_tls.ca import CertificateAuthority
from genesys_tls.cli import main
from genesys_tls.handshake import Server, connect
from genesys_tls.loaders import load
from genesys_tls.pki import PKIFiles
from genesys_tls.resolve import resolve_client, resolve_server

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "schemas" / "connect.schema.json").read_text())
CLIENT = "Client_client-host"
HOSTILE = "evil\x1b[2J\x07host\u202e"


@attrs.frozen
class Chained:
    env: Path
    leaf: x509.Certificate
    intermediate: x509.Certificate
    root: Path


def _environment(pki: PKIFiles, folder: Path, subject: str | x509.Name | None = None) -> Chained:
    """The session PKI's environment, with TServer's Host presenting a certificate issued by an intermediate
    of a new root, which the client trusts."""
    root = CertificateAuthority.create("Chain Root")
    intermediate = root.intermediate("Chain Intermediate")
    issued = intermediate.issue(["tsrv-host", "127.0.0.1"], subject=subject)
    cert, key = issued.write(folder, "chained-host")
    root_file = folder / "chain-root.pem"
    root_file.write_bytes(root.cert_pem())
    data = yaml.safe_load(pki.environment.read_text())
    data["hosts"]["tsrv-host"]["annex"]["security"].update({"certificate": str(cert), "certificate-key": str(key)})
    for host in data["hosts"].values():
        host["annex"]["security"]["trusted-ca"] = str(root_file)
    for host in ("tsrv-host", "client-host"):  # the client's own certificate still comes from the session PKI
        security = data["hosts"][host]["annex"]["security"]
        for option in ("certificate", "certificate-key"):
            security[option] = str((pki.directory / security[option]) if not Path(security[option]).is_absolute()
                                   else security[option])
    env = folder / "chained.yaml"
    env.write_text(yaml.safe_dump(data))
    return Chained(env, issued.cert, intermediate.cert, root_file)


@pytest.fixture
def chained(pki: PKIFiles, tmp_path: Path) -> Chained:
    return _environment(pki, tmp_path)


@pytest.fixture
def server(chained: Chained) -> Iterator[str]:
    with Server(resolve_server(load(chained.env), "TServer", "secure"), port=0) as running:
        yield "{}:{}".format(*running.address)


def _connect(capsys: pytest.CaptureFixture[str], env: Path, address: str, *extra: str) -> tuple[int, str]:
    code = main(["connect", str(env), "--app", CLIENT, "--connection", "TServer/secure", "--address", address,
                 "--timeout", "10", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out


def _fingerprint(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    return cert.fingerprint(algorithm).hex(":").upper()


def test_text_shows_the_whole_chain(chained: Chained, server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _connect(capsys, chained.env, server, "--show-certs")
    assert code == 0, out
    assert "certificates sent by the server: 2" in out
    assert "[0] CN=tsrv-host (the server's own)" in out
    assert "[1] CN=Chain Intermediate (CA)" in out
    assert "issuer:  CN=Chain Intermediate" in out and "issuer:  CN=Chain Root" in out
    assert "SANs:    DNS:tsrv-host, IP:127.0.0.1" in out
    for cert in (chained.leaf, chained.intermediate):
        assert f"SHA-256: {_fingerprint(cert, hashes.SHA256())}" in out
        assert f"SHA-1:   {_fingerprint(cert, hashes.SHA1())}" in out  # noqa: S303 - a fingerprint
        assert f"serial:  {cert.serial_number:X}" in out
        assert cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ") in out
    assert "days left)" in out


def test_json_chain_validates_and_matches_openssl(
    chained: Chained, server: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = _connect(capsys, chained.env, server, "--show-certs", "--json")
    assert code == 0
    doc = json.loads(out)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    leaf, middle = doc["chain"]
    assert leaf["subject"] == "CN=tsrv-host" and leaf["ca"] is False and leaf["sans"] == ["DNS:tsrv-host",
                                                                                            "IP:127.0.0.1"]
    assert middle["subject"] == "CN=Chain Intermediate" and middle["issuer"] == "CN=Chain Root" and middle["ca"]
    assert x509.load_pem_x509_certificate(leaf["pem"].encode()) == chained.leaf
    assert doc["peer"]["subject"] == "CN=tsrv-host"  # the existing members stay
    if shutil.which("openssl"):
        pem = tmp_path / "leaf.pem"
        pem.write_text(leaf["pem"])
        done = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-fingerprint", "-sha256"],
                              capture_output=True, text=True, timeout=30, check=True)
        assert done.stdout.strip().split("=", 1)[1] == leaf["sha256"]


def test_without_show_certs_there_is_no_chain(chained: Chained, server: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _connect(capsys, chained.env, server, "--json")
    assert code == 0 and "chain" not in json.loads(out)
    code, out = _connect(capsys, chained.env, server)
    assert code == 0 and "certificates sent" not in out


def test_chain_is_shown_when_the_server_is_untrusted(
    chained: Chained, server: str, capsys: pytest.CaptureFixture[str], pki: PKIFiles, tmp_path: Path
) -> None:
    data = yaml.safe_load(chained.env.read_text())
    data["hosts"]["client-host"]["annex"]["security"]["trusted-ca"] = str(pki.other_ca)
    untrusting = tmp_path / "untrusting.yaml"
    untrusting.write_text(yaml.safe_dump(data))
    code, out = _connect(capsys, untrusting, server, "--show-certs", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["error"]["category"] == "untrusted"
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert [c["subject"] for c in doc["chain"]] == ["CN=tsrv-host", "CN=Chain Intermediate"]
    code, out = _connect(capsys, untrusting, server, "--show-certs")
    assert code == 1 and "FAILED (untrusted)" in out and "[1] CN=Chain Intermediate" in out


def test_no_server_means_an_empty_chain(chained: Chained, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _connect(capsys, chained.env, "127.0.0.1:1", "--show-certs", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["chain"] == [] and doc["error"]["category"] == "connection"
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    code, out = _connect(capsys, chained.env, "127.0.0.1:1", "--show-certs")
    assert "certificates sent by the server: none" in out


def test_a_hostile_subject_is_escaped(pki: PKIFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "line\nbreak")])
    hostile = _environment(pki, tmp_path, subject)
    with Server(resolve_server(load(hostile.env), "TServer", "secure"), port=0) as running:
        address = "{}:{}".format(*running.address)
        code, out = _connect(capsys, hostile.env, address, "--show-certs")
        assert code == 0, out
        brief_code, brief = _connect(capsys, hostile.env, address, "--brief")
    chain = out[out.index("  certificates sent"):]
    for text in (chain, brief):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "evil\\x1b[2J\\x07host\\u202e" in chain and "line\\nbreak" in chain
    chain_lines = chain.splitlines()
    assert len(chain_lines) == 1 + 7 * 2  # one line per field: the newline in O= did not split a line
    assert brief_code == 0 and len(brief.splitlines()) == 1 and "\\x1b" in brief


def test_brief_is_one_line(chained: Chained, server: str, capsys: pytest.CaptureFixture[str],
                           pki: PKIFiles) -> None:
    code, out = _connect(capsys, chained.env, server, "--brief")
    assert code == 0
    (line,) = out.splitlines()
    assert line.startswith("OK Client_client-host") and server in line and "TLSv1." in line
    assert line.endswith("simple peer CN=tsrv-host")
    code, out = _connect(capsys, pki.environment, server, "--brief")  # trusts the session CA only
    (line,) = out.splitlines()
    assert code == 1 and line.startswith("FAILED untrusted Client_client-host")


@pytest.mark.parametrize("other", ["--json", "--show-certs"])
def test_brief_refuses_json_and_show_certs(chained: Chained, capsys: pytest.CaptureFixture[str], other: str) -> None:
    code = main(["connect", str(chained.env), "--app", CLIENT, "--connection", "TServer/secure", "--brief", other])
    _, err = capsys.readouterr()
    assert code == 2 and "--brief" in err and other in err


def test_python_api_chain(chained: Chained) -> None:
    env = load(chained.env)
    with Server(resolve_server(env, "TServer", "secure"), port=0) as running:
        result = connect(resolve_client(env, CLIENT, "TServer", "secure"), address=running.address, chain=True)
        plain = connect(resolve_client(env, CLIENT, "TServer", "secure"), address=running.address)
    assert result.chain is not None and [c.subject for c in result.chain] == ["CN=tsrv-host", "CN=Chain Intermediate"]
    assert result.chain[1].sha256 == _fingerprint(chained.intermediate, hashes.SHA256())
    assert plain.chain is None and "chain" not in plain.to_dict()
    details: Any = result.chain[0]
    assert "BEGIN CERTIFICATE" not in repr(details)  # the repr stays short
