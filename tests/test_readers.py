"""``genesys_tls._readers``: bounded reads of certificate and CRL files for doctor and report."""

from __future__ import annotations

import os
from pathlib import Path

from genesys_tls._readers import MAX_FILE, read_bounded, read_certificates, read_crls
from genesys_tls.pki import CertificateAuthority


def test_special_missing_and_large_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it would block: it must not be opened
    assert read_bounded(fifo) == f"the file cannot be read: it is a named pipe (FIFO), not a regular file (file {fifo})"
    assert read_bounded(tmp_path) == f"the file cannot be read: it is a directory, not a regular file (file {tmp_path})"
    assert read_bounded(tmp_path / "nope") == f"file not found (file {tmp_path / 'nope'})"
    big = tmp_path / "big.pem"
    with open(big, "wb") as handle:
        handle.truncate(MAX_FILE + 1)
    assert "larger than" in str(read_certificates(big))


def test_certificates_and_crls(tmp_path: Path) -> None:
    ca = CertificateAuthority.create("Files CA")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    (tmp_path / "crl.der").write_bytes(ca.crl(der=True))
    (tmp_path / "junk.pem").write_text("not pem")
    certs = read_certificates(tmp_path / "ca.pem")
    assert not isinstance(certs, str) and certs[0].subject.rfc4514_string() == "CN=Files CA"
    crls = read_crls(tmp_path / "crl.der")
    assert not isinstance(crls, str) and crls[0].issuer.rfc4514_string() == "CN=Files CA"
    assert read_certificates(tmp_path / "junk.pem") == f"{tmp_path / 'junk.pem'} holds no PEM certificate"
    assert "neither a PEM nor a DER CRL" in str(read_crls(tmp_path / "junk.pem"))
