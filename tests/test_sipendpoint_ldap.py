"""The subject check against a real OpenLDAP ``slapd`` started by the test on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest
from _sip import endpoint, workspace_client

from genesys_tls.ca import CertificateAuthority
from genesys_tls.cli import main
from genesys_tls.errors import Category, ConfigurationError
from genesys_tls.sipendpoint.client import SessionResult
from genesys_tls.sipendpoint.directory import DirectoryUser
from genesys_tls.sipendpoint.ldap import DirectoryError, ldap_user
from genesys_tls.sipendpoint.listener import EndpointListener
from genesys_tls.sipendpoint.scenarios import AGENT_USER, build_material

SLAPD = shutil.which("slapd") or ("/usr/sbin/slapd" if Path("/usr/sbin/slapd").exists() else None)
SLAPADD = shutil.which("slapadd") or ("/usr/sbin/slapadd" if Path("/usr/sbin/slapadd").exists() else None)
SCHEMA = Path("/etc/ldap/schema")
MODULES = next((p for p in (Path("/usr/lib/ldap"), Path("/usr/lib64/openldap"), Path("/usr/lib/openldap"))
                if (p / "back_mdb.la").exists() or any(p.glob("back_mdb*"))), None)
pytestmark = [
    pytest.mark.skipif(
        SLAPD is None or SLAPADD is None or not (SCHEMA / "inetorgperson.schema").exists() or MODULES is None,
        reason="OpenLDAP slapd/slapadd with its schemas and back_mdb is not installed (apt-get install slapd)",
    ),
    # ldap3 imports names that pyasn1 deprecates; not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
SUFFIX = "dc=example,dc=com"
ADMIN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "test-admin-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _running_slapd(root: Path, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """A slapd with one user on 127.0.0.1: ``ldap://`` or, with ``tls`` (certificate, key), ``ldaps://``."""
    (root / "db").mkdir(parents=True)
    conf = root / "slapd.conf"
    tls_lines = f"TLSCertificateFile {tls[0]}\nTLSCertificateKeyFile {tls[1]}\n" if tls else ""
    conf.write_text(
        f"include {SCHEMA}/core.schema\ninclude {SCHEMA}/cosine.schema\ninclude {SCHEMA}/inetorgperson.schema\n"
        f"pidfile {root}/slapd.pid\nmodulepath {MODULES}\nmoduleload back_mdb\n{tls_lines}"
        f'database mdb\nsuffix "{SUFFIX}"\nrootdn "{ADMIN}"\nrootpw {ADMIN_PASSWORD}\ndirectory {root}/db\n'
        "access to * by * read\n",
        encoding="utf-8",
    )
    ldif = root / "data.ldif"
    ldif.write_text(
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n"
        f"dn: ou=Sales,{SUFFIX}\nobjectClass: organizationalUnit\nou: Sales\n\n"
        f"dn: ou=Agents,ou=Sales,{SUFFIX}\nobjectClass: organizationalUnit\nou: Agents\n\n"
        f"dn: cn=John Smith,ou=Agents,ou=Sales,{SUFFIX}\nobjectClass: inetOrgPerson\ncn: John Smith\nsn: Smith\n"
        "uid: jsmith\nmail: John.Smith@example.com\n",
        encoding="utf-8",
    )
    subprocess.run([SLAPADD, "-f", str(conf), "-l", str(ldif)], check=True, capture_output=True, timeout=30)
    port = _free_port()
    url = f"{'ldaps' if tls else 'ldap'}://127.0.0.1:{port}"
    process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", f"{url}/", "-d", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start: {process.stderr.read()!r}") from None  # type: ignore[union-attr]
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _running_slapd(tmp_path_factory.mktemp("slapd")) as url:
        yield url


@attrs.frozen
class LDAPS:
    url: str
    ca: Path  #: the CA that issued the directory's certificate (for 127.0.0.1 only)
    other_ca: Path  #: a CA that issued nothing the directory shows


@pytest.fixture(scope="module")
def slapd_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LDAPS]:
    root = tmp_path_factory.mktemp("slapd-tls")
    ca, other = CertificateAuthority.create("Directory CA"), CertificateAuthority.create("Other CA")
    cert, key = ca.issue_server(["127.0.0.1"]).write(root, "slapd")
    (root / "ca.pem").write_bytes(ca.cert_pem())
    (root / "other-ca.pem").write_bytes(other.cert_pem())
    with _running_slapd(root / "server", (cert, key)) as url:
        yield LDAPS(url, root / "ca.pem", root / "other-ca.pem")


def test_ldap_user_and_subject_check(slapd: str, tmp_path: Path) -> None:
    user = ldap_user(slapd, account="jsmith", base=SUFFIX, account_attribute="uid", bind_dn=ADMIN,
                     password=lambda: ADMIN_PASSWORD, timeout=5)
    assert user.values("mail") == (AGENT_USER["mail"],)
    assert user.dn_values("OU") == ("Agents", "Sales") and user.dn_values("DC") == ("example", "com")
    anonymous = ldap_user(slapd, account="jsmith", base=SUFFIX, account_attribute="uid", timeout=5)
    assert anonymous.distinguished_name == user.distinguished_name
    material = build_material(tmp_path / "m")
    ca = material.authorities["ca"]
    good = ca.issue(["ws"], subject=f"E=john.smith@example.com,CN=John Smith,OU=Agents,OU=Sales,{SUFFIX.upper()}")
    wrong = ca.issue(["ws"], subject="E=john.smith@example.com,CN=John Smith,OU=Sales,OU=Agents,DC=example,DC=com")
    for stem, issued in (("good", good), ("wrong", wrong)):
        issued.write_pfx(tmp_path / stem, stem, password=b"pw")
    keys = {"protocol": "https", "security_level": "2", "certificate_search_value": "ep-good",
            "subject_criteria": "E,CN,OU,OU,DC,DC",
            "subject_matching_properties": "mail,cn,distinguishedName.OU,distinguishedName.OU,"
                                           "distinguishedName.DC,distinguishedName.DC"}
    # this directory's user has two OUs and two DCs: six criteria, six properties
    config = endpoint({**keys, "certificate_search_value": "Agent CA"})
    with EndpointListener(config, store=material.stores["ep-good"], ca_file=str(material.ca), user=user,
                          timeout=5) as listener:
        accepted = workspace_client(material, tmp_path / "good").open_session(listener.address)
        refused = workspace_client(material, tmp_path / "wrong").open_session(listener.address)
    assert accepted.ok and accepted.status == 201
    assert refused.status == 403 and refused.category is Category.SUBJECT_MISMATCH


def test_ldap_failures_are_configuration_errors(slapd: str) -> None:
    with pytest.raises(DirectoryError) as info:
        ldap_user(f"ldap://127.0.0.1:{_free_port()}", account="jsmith", base=SUFFIX, account_attribute="uid",
                  timeout=2)
    assert info.value.category is Category.CONNECTION and isinstance(info.value, ConfigurationError)
    with pytest.raises(DirectoryError, match="refused the bind") as bind:
        ldap_user(slapd, account="jsmith", base=SUFFIX, account_attribute="uid", bind_dn=ADMIN,
                  password=lambda: "wrong-password", timeout=5)
    assert "wrong-password" not in str(bind.value)
    with pytest.raises(DirectoryError, match="no entry"):
        ldap_user(slapd, account="nobody", base=SUFFIX, account_attribute="uid", timeout=5)
    with pytest.raises(DirectoryError, match="not an LDAP URL"):
        ldap_user("http://127.0.0.1:1", account="x", base=SUFFIX)


def test_cli_serve_unreachable_ldap_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.config"
    from genesys_tls.sipendpoint.rules import example_config

    config.write_text(example_config({"protocol": "http"}), encoding="utf-8")
    code = main(["sipendpoint", "serve", str(config), "--ldap", f"ldap://127.0.0.1:{_free_port()}",
                 "--ldap-base", SUFFIX, "--ldap-account", "jsmith", "--timeout", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "connection" in err and len(err.splitlines()) == 1


def _level_2_sessions(user: DirectoryUser, tmp_path: Path) -> tuple[SessionResult, SessionResult]:
    """A level 2 endpoint checking ``user`` (two OUs, two DCs): a client certificate of that user, then one
    with its OUs swapped."""
    material = build_material(tmp_path / "m")
    ca = material.authorities["ca"]
    subjects = {"good": f"E=john.smith@example.com,CN=John Smith,OU=Agents,OU=Sales,{SUFFIX.upper()}",
                "wrong": "E=john.smith@example.com,CN=John Smith,OU=Sales,OU=Agents,DC=example,DC=com"}
    for stem, subject in subjects.items():
        ca.issue(["ws"], subject=subject).write_pfx(tmp_path / stem, stem, password=b"pw")
    config = endpoint({"protocol": "https", "security_level": "2", "certificate_search_value": "Agent CA",
                       "subject_criteria": "E,CN,OU,OU,DC,DC",
                       "subject_matching_properties": "mail,cn,distinguishedName.OU,distinguishedName.OU,"
                                                      "distinguishedName.DC,distinguishedName.DC"})
    with EndpointListener(config, store=material.stores["ep-good"], ca_file=str(material.ca), user=user,
                          timeout=5) as listener:
        return (workspace_client(material, tmp_path / "good").open_session(listener.address),
                workspace_client(material, tmp_path / "wrong").open_session(listener.address))


def test_ldaps_user_and_subject_check(slapd_tls: LDAPS, tmp_path: Path) -> None:
    """ldaps://: the directory's certificate verified against the CA given, then the subject check."""
    user = ldap_user(slapd_tls.url, account="jsmith", base=SUFFIX, account_attribute="uid", bind_dn=ADMIN,
                     password=lambda: ADMIN_PASSWORD, timeout=5, ca_file=slapd_tls.ca)
    assert user.values("mail") == (AGENT_USER["mail"],) and user.source == slapd_tls.url
    assert user.dn_values("OU") == ("Agents", "Sales") and user.dn_values("DC") == ("example", "com")
    accepted, refused = _level_2_sessions(user, tmp_path)
    assert accepted.ok and accepted.status == 201
    assert refused.status == 403 and refused.category is Category.SUBJECT_MISMATCH
    assert [m["index"] for m in refused.mismatches] == [2, 3]


def test_ldaps_never_weaker(slapd_tls: LDAPS) -> None:
    """An ldaps:// directory whose certificate is not trusted, or does not name the URL's host, is refused
    with the handshake's category; a CA file with ldap:// is refused rather than ignored."""
    port = slapd_tls.url.rsplit(":", 1)[1]
    cases = [(slapd_tls.url, slapd_tls.other_ca, Category.UNTRUSTED),
             (slapd_tls.url, None, Category.UNTRUSTED),  # the system's CAs never issued it
             (f"ldaps://localhost:{port}", slapd_tls.ca, Category.NAME_MISMATCH)]
    for url, ca_file, category in cases:
        with pytest.raises(DirectoryError) as info:
            ldap_user(url, account="jsmith", base=SUFFIX, account_attribute="uid", bind_dn=ADMIN,
                      password=lambda: ADMIN_PASSWORD, timeout=5, ca_file=ca_file)
        assert info.value.category is category, (url, ca_file, str(info.value))
        assert "TLS handshake" in str(info.value) and ADMIN_PASSWORD not in str(info.value)
    with pytest.raises(DirectoryError, match="ldaps:// only"):
        ldap_user(f"ldap://127.0.0.1:{port}", account="jsmith", base=SUFFIX, ca_file=slapd_tls.ca)


def test_cli_serve_ldaps_untrusted_directory_exits_2(slapd_tls: LDAPS, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from genesys_tls.sipendpoint.rules import example_config

    config = tmp_path / "c.config"
    config.write_text(example_config({"protocol": "http"}), encoding="utf-8")
    code = main(["sipendpoint", "serve", str(config), "--ldap", slapd_tls.url, "--ldap-ca", str(slapd_tls.other_ca),
                 "--ldap-base", SUFFIX, "--ldap-account", "jsmith", "--ldap-account-attribute", "uid",
                 "--timeout", "5"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "untrusted" in err and len(err.splitlines()) == 1


def test_ldap_timeouts_in_fractions_of_a_second(slapd: str) -> None:
    """The CLI's --timeout is a float (default 10.0): ldap3 wants whole seconds for its socket timeout."""
    user = ldap_user(slapd, account="jsmith", base=SUFFIX, account_attribute="uid", timeout=2.5)
    assert user.values("uid") == ("jsmith",)
