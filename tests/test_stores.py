"""The certificate store: PEM and PKCS#12 files, thumbprint look-up and the SIP Endpoint search order."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from genesys_tls.errors import ConfigurationError
from genesys_tls.pki import CertificateAuthority
from genesys_tls.stores import CertificateStore, env_passwords, normalize_thumbprint, thumbprint

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("Agent Lab CA")


def test_search_order_thumbprint_then_issuer_then_subject(tmp_path: Path, ca: CertificateAuthority) -> None:
    by_subject = ca.issue(["a"], subject="CN=Communications Server,O=Example")
    other_ca = CertificateAuthority.create("Communications Server")
    by_issuer = other_ca.issue(["b"], subject="CN=Workstation 7")
    tp = thumbprint(by_subject.cert)
    # a certificate whose subject holds the other one's thumbprint: the thumbprint rule still wins
    decoy = ca.issue(["c"], subject=f"CN={tp}")
    by_subject.write(tmp_path, "subject")
    by_issuer.write(tmp_path, "issuer")
    decoy.write(tmp_path, "decoy")
    store = CertificateStore.load(tmp_path)
    assert len(store) == 3
    chosen = store.select("Communications Server")
    assert chosen.rule == "issuer" and chosen.entry.subject == "CN=Workstation 7", "issuer beats subject"
    spaced = " ".join(tp[i:i + 2] for i in range(0, 40, 2)).lower()
    chosen = store.select("\u200e" + spaced)
    assert chosen.rule == "thumbprint" and chosen.entry.thumbprint == tp, "thumbprint beats subject"
    assert store.select("o=example").rule == "subject"
    assert store.by_thumbprint(":".join(tp[i:i + 2] for i in range(0, 40, 2))).thumbprint == tp
    with pytest.raises(ConfigurationError) as info:
        store.select("Nobody Here", option="certificate_search_value")
    text = str(info.value)
    assert "CN=Workstation 7" in text and tp in text and "PRIVATE" not in text
    assert info.value.option == "certificate_search_value"


def test_select_prefers_valid_then_latest(tmp_path: Path, ca: CertificateAuthority) -> None:
    expired = ca.issue(["x"], subject="CN=Agent Smith", not_before=NOW - dt.timedelta(days=60),
                       not_after=NOW - dt.timedelta(days=1))
    short = ca.issue(["x"], subject="CN=Agent Smith", not_after=NOW + dt.timedelta(days=10))
    long = ca.issue(["x"], subject="CN=Agent Smith", not_after=NOW + dt.timedelta(days=300))
    for stem, issued in (("expired", expired), ("short", short), ("long", long)):
        issued.write(tmp_path, stem)
    chosen = CertificateStore.load(tmp_path).select("agent smith")
    assert chosen.entry.thumbprint == thumbprint(long.cert)
    assert [e.thumbprint for e in chosen.others] == [thumbprint(short.cert), thumbprint(expired.cert)]
    assert chosen.to_dict()["rule"] == "subject" and len(chosen.to_dict()["others"]) == 2


def test_pfx_loading_and_passwords(tmp_path: Path, ca: CertificateAuthority) -> None:
    inter = ca.intermediate("Agent Issuing CA")
    leaf = inter.issue(["ws"], subject="E=a@example.com,CN=Agent", emails=["a@example.com"])
    leaf.write_pfx(tmp_path, "agent", password=b"s3cret")
    store = CertificateStore.load(tmp_path, passwords=env_passwords("PFXPW", environ={"PFXPW_AGENT": "s3cret"}))
    keyed = [e for e in store.entries if e.has_key]
    assert len(keyed) == 1 and keyed[0].thumbprint == thumbprint(leaf.cert)
    assert [c.subject for c in keyed[0].chain] == [inter.cert.subject]
    assert "s3cret" not in repr(store) + repr(keyed[0])
    with pytest.raises(ConfigurationError) as info:
        CertificateStore.load(tmp_path, passwords=lambda _p: "wrong")
    assert "wrong password" in str(info.value) and "wrong" not in (info.value.value or "")
    with pytest.raises(ConfigurationError, match="no password was given"):
        CertificateStore.load(tmp_path)
    selected = store.select("Agent Issuing CA")
    assert selected.rule == "issuer" and selected.entry.has_key, "the keyless intermediate is not selected"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command line is not installed")
def test_pfx_from_openssl_pkcs12_export(tmp_path: Path, ca: CertificateAuthority) -> None:
    leaf = ca.issue(["ws"], subject="CN=Exported Agent")
    cert, key = leaf.write(tmp_path / "src", "agent")
    out = tmp_path / "store" / "agent.pfx"
    out.parent.mkdir()
    subprocess.run(["openssl", "pkcs12", "-export", "-in", str(cert), "-inkey", str(key), "-out", str(out),
                    "-passout", "env:PFXPW"], check=True, timeout=30, env={"PFXPW": "pw", "PATH": "/usr/bin:/bin"})
    store = CertificateStore.load(out.parent, passwords=env_passwords("PFXPW", environ={"PFXPW": "pw"}))
    assert store.select("Exported Agent").entry.thumbprint == thumbprint(leaf.cert)


def test_pem_key_in_separate_file_and_bad_stores(tmp_path: Path, ca: CertificateAuthority) -> None:
    leaf = ca.issue(["a"], subject="CN=Split")
    (tmp_path / "cert.pem").write_bytes(leaf.cert_pem())
    (tmp_path / "zkey.key").write_bytes(leaf.key_pem(password=b"kp"))
    store = CertificateStore.load(tmp_path, passwords=lambda _p: b"kp")
    assert store.select("CN=Split").entry.has_key
    (tmp_path / "copy.crt").write_bytes(leaf.cert_pem())
    with pytest.raises(ConfigurationError, match="same thumbprint"):
        CertificateStore.load(tmp_path, passwords=lambda _p: b"kp")
    (tmp_path / "copy.crt").unlink()
    (tmp_path / "orphan.key").write_bytes(ca.issue(["b"]).key_pem())
    with pytest.raises(ConfigurationError, match="belongs to no certificate"):
        CertificateStore.load(tmp_path, passwords=lambda _p: b"kp")
    with pytest.raises(ConfigurationError, match="neither a folder nor a file"):
        CertificateStore.load(tmp_path / "missing")
    (tmp_path / "orphan.key").write_text("not pem")
    with pytest.raises(ConfigurationError, match="no PEM"):
        CertificateStore.load(tmp_path, passwords=lambda _p: b"kp")
    keyless = CertificateStore.load(tmp_path / "cert.pem")
    with pytest.raises(ConfigurationError, match="without their private key"):
        keyless.select("Split")
    assert keyless.select("Split", require_key=False).entry.subject == "CN=Split"


def test_normalize_thumbprint() -> None:
    assert normalize_thumbprint("ab:cd" * 10) == "ABCD" * 10
    assert normalize_thumbprint("not a thumbprint") is None
    with pytest.raises(ConfigurationError):
        env_passwords("1BAD")


def test_pki_subjects_emails_and_pfx(ca: CertificateAuthority) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    issued = ca.issue(["ws"], subject="E=a@example.com,CN=Agent,OU=A,OU=B,OU=C,DC=w,DC=x,DC=y,DC=z",
                      emails=["a@example.com"])
    subject = issued.cert.subject
    assert subject.rfc4514_string().endswith("CN=Agent,OU=A,OU=B,OU=C,DC=w,DC=x,DC=y,DC=z")
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)] == ["a@example.com"]
    sans = issued.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.RFC822Name) == ["a@example.com"]
    key, cert, extra = pkcs12.load_key_and_certificates(issued.pfx(b"pw"), b"pw")
    assert cert == issued.cert and key is not None and extra == []
    with pytest.raises(ConfigurationError):
        ca.issue(["ws"], subject="CN=x", common_name="y")
    with pytest.raises(ConfigurationError):
        ca.issue(["ws"], emails=["not an address"])
    with pytest.raises(ConfigurationError):
        ca.issue(["ws"], subject="no equals sign")


def test_email_attribute_is_shown_and_searched_as_e(tmp_path: Path, ca: CertificateAuthority) -> None:
    ca.issue(["a"], subject="E=agent@example.com,CN=Mail Agent").write(tmp_path, "mail")
    store = CertificateStore.load(tmp_path)
    assert store.entries[0].subject == "E=agent@example.com,CN=Mail Agent"
    assert store.select("e=agent@example.com").rule == "subject"
