"""CRL files (genesys_tls.crl): loading, checks, the cache, and use by OpenSSL in a real handshake."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from genesys_tls.crl import CheckedCRLs, CRLCache, check_crls, default_cache, load_crls
from genesys_tls.errors import Category, ConfigurationError, TLSError

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


# --- a throwaway PKI --------------------------------------------------------------------------------------


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@attrs.frozen
class CA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def make(cls, common_name: str, *, crl_sign: bool | None = True) -> CA:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common_name))
            .issuer_name(name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if crl_sign is not None:
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=True,
                              crl_sign=crl_sign, encipher_only=False, decipher_only=False),
                critical=True,
            )
        return cls(key=key, cert=builder.sign(key, hashes.SHA256()))

    def leaf(self, common_name: str, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(name(common_name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 30 * DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def crl(
        self,
        revoked: Sequence[int] = (),
        *,
        this_update: datetime.datetime = NOW - HOUR,
        next_update: datetime.datetime = NOW + DAY,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> x509.CertificateRevocationList:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(1), critical=False)
        )
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW - HOUR).build()
            )
        return builder.sign(key or self.key, hashes.SHA256())


def pem(*crls: x509.CertificateRevocationList) -> bytes:
    return b"".join(crl.public_bytes(serialization.Encoding.PEM) for crl in crls)


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA.make("CRL test CA")


@pytest.fixture(scope="module")
def other_ca() -> CA:
    return CA.make("CRL other CA")


# --- load_crls --------------------------------------------------------------------------------------------


def test_pem_single(tmp_path: Path, ca: CA) -> None:
    crl = ca.crl([5])
    path = tmp_path / "ca.crl.pem"
    path.write_bytes(pem(crl))
    loaded = load_crls(path)
    assert loaded == (crl,)
    checked = check_crls(loaded, [ca.cert], path=path)
    assert checked.crls == (crl,)
    assert checked.issuers == (ca.cert.subject,)
    assert checked.signers == (ca.cert,)
    assert checked.source == path
    assert checked.pem_path.read_bytes() == pem(crl)


def test_pem_several_blocks_with_text_between(tmp_path: Path, ca: CA, other_ca: CA) -> None:
    first, second = ca.crl([1]), other_ca.crl([2])
    path = tmp_path / "all.pem"
    path.write_bytes(b"Issuer: first\n" + pem(first) + b"\nsome comment\n" + pem(second))
    loaded = load_crls(path)
    assert loaded == (first, second)
    checked = check_crls(loaded, [other_ca.cert, ca.cert], path=path)
    assert checked.issuers == (ca.cert.subject, other_ca.cert.subject)
    assert checked.covers(ca.cert) and checked.covers(other_ca.cert)
    assert not checked.covers(CA.make("CRL test CA").cert)  # same name, another key
    assert load_crls(checked.pem_path) == (first, second)


def test_der(tmp_path: Path, ca: CA) -> None:
    crl = ca.crl([7])
    path = tmp_path / "ca.crl"
    path.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    loaded = load_crls(path)
    assert loaded == (crl,)
    checked = check_crls(loaded, [ca.cert], path=path)
    assert checked.pem_path.read_bytes().startswith(b"-----BEGIN X509 CRL-----")
    assert x509.load_pem_x509_crl(checked.pem_path.read_bytes()) == crl


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not a CRL\n", "neither a PEM nor a DER CRL"),
        (b"\x30\x03\x02\x01\x01", "neither a PEM nor a DER CRL"),
        (b"", "empty"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "no X509 CRL block"),
        (b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "block 1 of 1 cannot be parsed"),
    ],
    ids=["text", "der-garbage", "empty", "pem-certificate", "pem-corrupt"],
)
def test_not_a_crl(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.crl"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as caught:
        load_crls(path)
    assert reason in caught.value.reason
    assert caught.value.file == str(path)
    assert caught.value.option == "tls-crl"
    assert str(path) in str(caught.value) and "tls-crl" in str(caught.value)


def test_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_crls(tmp_path / "nowhere.crl")
    assert caught.value.reason == "CRL file not found"
    assert caught.value.file == str(tmp_path / "nowhere.crl") and caught.value.option == "tls-crl"
    with pytest.raises(ConfigurationError) as caught:
        load_crls(tmp_path)  # a directory
    assert "cannot be read" in caught.value.reason and caught.value.option == "tls-crl"


# --- check_crls -------------------------------------------------------------------------------------------


def test_expired(tmp_path: Path, ca: CA) -> None:
    crl = ca.crl(this_update=NOW - 3 * DAY, next_update=NOW - DAY)
    with pytest.raises(TLSError) as caught:
        check_crls([crl], [ca.cert], path=tmp_path / "old.crl")
    assert caught.value.category is Category.CRL_EXPIRED
    detail = caught.value.detail
    assert str(tmp_path / "old.crl") in detail and "CN=CRL test CA" in detail
    assert (NOW - DAY).strftime("%Y-%m-%d %H:%M:%S") in detail
    assert (NOW - 3 * DAY).strftime("%Y-%m-%d %H:%M:%S") in detail
    # The same CRL was fine two days ago.
    assert check_crls([crl], [ca.cert], now=NOW - 2 * DAY).crls == (crl,)
    # nextUpdate must be strictly later than now.
    with pytest.raises(TLSError):
        check_crls([crl], [ca.cert], now=NOW - DAY)


def test_not_yet_valid(ca: CA) -> None:
    crl = ca.crl(this_update=NOW + HOUR, next_update=NOW + DAY)
    with pytest.raises(TLSError) as caught:
        check_crls([crl], [ca.cert], path="future.crl")
    assert caught.value.category is Category.CRL_UNAVAILABLE
    assert "not valid yet" in caught.value.detail and "future.crl" in caught.value.detail
    # Naive datetimes are UTC.
    naive = (NOW + 2 * HOUR).replace(tzinfo=None)
    assert check_crls([crl], [ca.cert], now=naive).crls == (crl,)


def test_issuer_unknown(ca: CA, other_ca: CA) -> None:
    with pytest.raises(TLSError) as caught:
        check_crls([ca.crl()], [other_ca.cert], path="ca.crl")
    assert caught.value.category is Category.CRL_UNAVAILABLE
    assert "not issued by a trusted CA" in caught.value.detail
    assert "CN=CRL test CA" in caught.value.detail and "CN=CRL other CA" in caught.value.detail


def test_bad_signature(ca: CA) -> None:
    impostor = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(TLSError) as caught:
        check_crls([ca.crl(key=impostor)], [ca.cert], path="ca.crl")
    assert caught.value.category is Category.CRL_UNAVAILABLE
    assert "signature" in caught.value.detail and "ca.crl" in caught.value.detail


def test_signed_by_one_of_two_cas_with_the_same_name(ca: CA) -> None:
    renewed = CA.make("CRL test CA")
    checked = check_crls([renewed.crl()], [ca.cert, renewed.cert])
    assert checked.signers == (renewed.cert,)
    assert checked.covers(renewed.cert) and not checked.covers(ca.cert)


def test_ca_without_crl_sign(ca: CA) -> None:
    no_crl_sign = CA.make("No cRLSign CA", crl_sign=False)
    with pytest.raises(TLSError) as caught:
        check_crls([no_crl_sign.crl()], [no_crl_sign.cert])
    assert caught.value.category is Category.CRL_UNAVAILABLE and "cRLSign" in caught.value.detail
    no_key_usage = CA.make("No keyUsage CA", crl_sign=None)
    assert check_crls([no_key_usage.crl()], [no_key_usage.cert]).covers(no_key_usage.cert)


def test_second_crl_is_checked_too(ca: CA, other_ca: CA) -> None:
    expired = other_ca.crl(this_update=NOW - 3 * DAY, next_update=NOW - DAY)
    with pytest.raises(TLSError) as caught:
        check_crls([ca.crl(), expired], [ca.cert, other_ca.cert], path="both.pem")
    assert caught.value.category is Category.CRL_EXPIRED
    assert "CRL 2 of 2 of both.pem" in caught.value.detail and "CN=CRL other CA" in caught.value.detail


def test_revoked_lookup(ca: CA, other_ca: CA) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    revoked, kept = ca.leaf("revoked.example", key), ca.leaf("kept.example", key)
    # other_ca revokes kept's serial: a serial means nothing outside its issuer's CRL.
    checked = check_crls([ca.crl([revoked.serial_number]), other_ca.crl([kept.serial_number])],
                         [ca.cert, other_ca.cert])
    assert checked.is_revoked(revoked)
    assert not checked.is_revoked(kept)
    assert not checked.is_revoked(other_ca.leaf("other.example", key))


def test_pem_copy_written_once(ca: CA) -> None:
    crl = ca.crl([11])
    first = check_crls([crl], [ca.cert]).pem_path
    before = first.stat()
    second = check_crls([crl], [ca.cert]).pem_path
    assert second == first
    assert (second.stat().st_ino, second.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert first.parent.stat().st_mode & 0o077 == 0  # private directory
    assert check_crls([ca.crl([12])], [ca.cert]).pem_path != first


# --- the cache --------------------------------------------------------------------------------------------


def test_cache_reads_once(tmp_path: Path, ca: CA) -> None:
    cache = CRLCache()
    path = tmp_path / "ca.crl.pem"
    path.write_bytes(pem(ca.crl([1])))
    first = cache.get(path, [ca.cert])
    assert cache.get(str(path), [ca.cert]) is first
    assert (cache.misses, cache.hits) == (1, 1)

    # Same size, mtime put back: the rewrite still shows (the change time moved), so the file is read
    # again (and this content is not a CRL).
    status = path.stat()
    path.write_bytes(b"x" * status.st_size)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    with pytest.raises(ConfigurationError):
        cache.get(path, [ca.cert])
    assert cache.misses == 2

    replacement = ca.crl([2])
    path.write_bytes(pem(replacement))
    reloaded = cache.get(path, [ca.cert])
    assert reloaded is not first and reloaded.crls == (replacement,)
    assert len(cache) == 1


def test_cache_size_change_reloads(tmp_path: Path, ca: CA) -> None:
    cache = CRLCache()
    path = tmp_path / "ca.crl.pem"
    path.write_bytes(pem(ca.crl([1])))
    first = cache.get(path, [ca.cert])
    status = path.stat()
    path.write_bytes(pem(ca.crl([1, 2, 3])))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert cache.get(path, [ca.cert]) is not first
    assert cache.misses == 2


def test_cache_rechecks_dates_every_time(tmp_path: Path, ca: CA) -> None:
    cache = CRLCache()
    path = tmp_path / "ca.crl.pem"
    path.write_bytes(pem(ca.crl(next_update=NOW + HOUR)))
    checked = cache.get(path, [ca.cert])
    with pytest.raises(TLSError) as caught:
        cache.get(path, [ca.cert], now=NOW + 2 * HOUR)
    assert caught.value.category is Category.CRL_EXPIRED and str(path) in caught.value.detail
    assert cache.get(path, [ca.cert], now=NOW + HOUR / 2) is checked
    assert cache.misses == 1


def test_cache_keyed_by_trusted_cas(tmp_path: Path, ca: CA, other_ca: CA) -> None:
    cache = CRLCache()
    path = tmp_path / "ca.crl.pem"
    path.write_bytes(pem(ca.crl()))
    first = cache.get(path, [ca.cert])
    both = cache.get(path, [other_ca.cert, ca.cert])
    assert both is not first and cache.misses == 2
    assert cache.get(path, [ca.cert, other_ca.cert]) is both  # order does not matter
    with pytest.raises(TLSError) as caught:
        cache.get(path, [other_ca.cert])
    assert caught.value.category is Category.CRL_UNAVAILABLE


def test_cache_errors(tmp_path: Path, ca: CA) -> None:
    cache = CRLCache()
    with pytest.raises(ConfigurationError) as caught:
        cache.get(tmp_path / "missing.crl", [ca.cert])
    assert caught.value.option == "tls-crl" and caught.value.file == str(tmp_path / "missing.crl")


def test_cache_is_thread_safe(tmp_path: Path, ca: CA) -> None:
    cache = CRLCache()
    path = tmp_path / "ca.crl.pem"
    path.write_bytes(pem(ca.crl(list(range(1, 2000)))))
    results: list[CheckedCRLs] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(20):
            results.append(cache.get(path, [ca.cert]))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 160
    assert all(result is results[0] for result in results)
    assert (cache.misses, cache.hits) == (1, 159)


def test_default_cache() -> None:
    assert isinstance(default_cache, CRLCache)


# --- OpenSSL uses the PEM copy -------------------------------------------------------------------------------


def _handshake(tmp_path: Path, ca: CA, leaf: x509.Certificate, key: ec.EllipticCurvePrivateKey,
               crl_file: Path) -> str:
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cadata=ca.cert.public_bytes(serialization.Encoding.PEM).decode())
    client.load_verify_locations(cafile=crl_file)
    client.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)

        def serve() -> None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    with server.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)
                except OSError:
                    pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with socket.create_connection(listener.getsockname(), timeout=10) as raw:
                try:
                    with client.wrap_socket(raw, server_hostname=leaf.subject.rfc4514_string()[3:]):
                        return "ok"
                except ssl.SSLCertVerificationError as exc:
                    return exc.verify_message
        finally:
            thread.join(10)


def test_pem_copy_works_in_a_handshake(tmp_path: Path, ca: CA) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    revoked, kept = ca.leaf("revoked.example", key), ca.leaf("kept.example", key)
    path = tmp_path / "ca.crl"
    path.write_bytes(ca.crl([revoked.serial_number]).public_bytes(serialization.Encoding.DER))
    checked = CRLCache().get(path, [ca.cert])
    assert checked.is_revoked(revoked) and not checked.is_revoked(kept)
    assert _handshake(tmp_path, ca, kept, key, checked.pem_path) == "ok"
    assert _handshake(tmp_path, ca, revoked, key, checked.pem_path) == "certificate revoked"


# --- interop with the openssl command line ----------------------------------------------------------------


@pytest.mark.interop
def test_openssl_ca_gencrl(tmp_path: Path, ca: CA) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command line is not installed")
    key = ec.generate_private_key(ec.SECP256R1())
    revoked, kept = ca.leaf("revoked.example", key), ca.leaf("kept.example", key)
    (tmp_path / "ca.pem").write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.key").write_bytes(ca.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "revoked.pem").write_bytes(revoked.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "index.txt").write_text("")
    (tmp_path / "crlnumber").write_text("1000\n")
    config = tmp_path / "ca.cnf"
    config.write_text(
        "[ca]\ndefault_ca = test_ca\n\n"
        "[test_ca]\n"
        f"dir = {tmp_path}\n"
        "database = $dir/index.txt\ncrlnumber = $dir/crlnumber\n"
        "certificate = $dir/ca.pem\nprivate_key = $dir/ca.key\n"
        "default_md = sha256\ndefault_crl_days = 7\n"
    )

    def run(*args: str) -> None:
        done = subprocess.run([openssl, *args], capture_output=True, text=True, check=False, timeout=60)
        assert done.returncode == 0, done.stderr

    run("ca", "-config", str(config), "-revoke", str(tmp_path / "revoked.pem"))
    run("ca", "-config", str(config), "-gencrl", "-out", str(tmp_path / "crl.pem"))
    run("crl", "-in", str(tmp_path / "crl.pem"), "-outform", "DER", "-out", str(tmp_path / "crl.der"))

    for file in ("crl.pem", "crl.der"):
        (crl,) = load_crls(tmp_path / file)
        checked = check_crls([crl], [ca.cert], path=tmp_path / file)
        assert checked.is_revoked(revoked) and not checked.is_revoked(kept)
        assert checked.covers(ca.cert)
        assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 0x1000
    # Not yet valid a day ago, expired in eight days: openssl's dates are honoured.
    with pytest.raises(TLSError) as caught:
        check_crls(load_crls(tmp_path / "crl.der"), [ca.cert], now=NOW + 8 * DAY)
    assert caught.value.category is Category.CRL_EXPIRED
    with pytest.raises(TLSError) as caught:
        check_crls(load_crls(tmp_path / "crl.der"), [ca.cert], now=NOW - DAY)
    assert caught.value.category is Category.CRL_UNAVAILABLE
