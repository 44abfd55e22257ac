"""A test PKI on ``cryptography``: certificate authorities, leaves and CRLs for every good and bad TLS case.

For test harnesses, not for production: keys are made in memory, certificates are short and plain (subject
CN only, SHA-256 signatures), and everything is fast enough for a pytest fixture (an EC :func:`build_pki`
takes about 15 ms, see ``docs/pki.md``). No OpenSSL command line is involved.

Two levels:

* :class:`CertificateAuthority` and :class:`Issued` (in :mod:`genesys_tls.ca`, re-exported here): make a
  root CA, intermediates, server and client leaves (SAN or CN-only, any validity window), revoke them and
  sign CRLs; write PEM files.
* :func:`build_pki` / :func:`pki_init`: a whole folder with a CA, one host certificate per Genesys Host, the
  broken certificates and CRLs a test needs, and a ready ``environment.yaml`` (format: ``docs/contract.md``).

Example (the :class:`CertificateAuthority` example is in :mod:`genesys_tls.ca`)::

    import genesys_tls as gt
    from genesys_tls.pki import build_pki

    files = build_pki(tmp_path)                  # certs/, crl/ and environment.yaml under tmp_path
    env = gt.load(files.environment)             # the TServer and one client per host name
    revoked_cert, crl = files.revoked.cert, files.crl_current

Private keys and passwords never appear in a ``repr``, a log or an exception message.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml
from cryptography.hazmat.primitives import hashes

from .addresses import LOOPBACK
from .ca import (
    _CA_LIFETIME,
    _ENVIRONMENT_FILE,
    _HOST_NAME,
    _HOST_NAME_FORM,
    _RESERVED_STEMS,
    CertificateAuthority,
    Issued,
    KeyFormat,
    KeyType,
    PrivateKey,
    _now,
    _write_file,
    subject_name,
)
from .catalogue import SECURITY_SECTION, TARGET_NAME_CHECK_ON, option
from .errors import ConfigurationError
from .transport import format_transport

__all__ = [
    "DEFAULT_NAMES",
    "CertificateAuthority",
    "CertificateFiles",
    "Issued",
    "KeyFormat",
    "KeyType",
    "PKIFiles",
    "PrivateKey",
    "build_pki",
    "pki_init",
    "subject_name",
]

#: The host names :func:`build_pki` uses when none are given.
DEFAULT_NAMES: tuple[str, ...] = ("tsrv-host", "client-host")


# --- a whole test PKI on disk ---------------------------------------------------------------------------


@attrs.frozen
class CertificateFiles:
    """A certificate file (leaf first, then intermediates) and its key file.

    Attributes:
        cert: the ``.pem`` file.
        key: the ``.key`` file (mode 0o600).
    """

    cert: Path
    key: Path


@attrs.frozen
class PKIFiles:
    """What :func:`build_pki` wrote. Every path is ``directory`` joined with the layout below.

    Attributes:
        directory: the folder given to :func:`build_pki`.
        environment: ``environment.yaml``, the Genesys environment using the host certificates.
        names: the host names, in order (the first hosts the T-Server).
        key_type: the key algorithm of every key.
        ca: ``certs/ca.pem``, the root CA every good certificate chains to (the ``trusted-ca``).
        other_ca: ``certs/other-ca.pem``, a second root that nothing trusts.
        hosts: per host name, ``certs/<name>.pem`` / ``.key``: SAN DNS ``<name>`` and IP 127.0.0.1,
            extendedKeyUsage serverAuth and clientAuth (one host certificate serves both roles).
        expired: ``certs/expired.*``: like the first host's, validity ended yesterday.
        not_yet_valid: ``certs/not-yet-valid.*``: like the first host's, valid from in 30 days.
        wrong_name: ``certs/wrong-name.*``: SAN DNS ``wrong.invalid`` only.
        wrong_issuer: ``certs/wrong-issuer.*``: like the first host's, signed by ``other-ca``.
        revoked: ``certs/revoked.*``: like the first host's (valid from 90 days ago), revoked 61 days ago,
            listed in ``crl/current.pem``.
        cn_only: ``certs/cn-only.*``: subject CN the first host name, no SAN extension.
        crl_current: ``crl/current.pem``: the CA's CRL listing ``revoked``, valid for 90 days.
        crl_expired: ``crl/expired.pem``: the CA's CRL of 60 days ago (listing ``revoked``) whose nextUpdate
            was yesterday.
        crl_wrong_ca: ``crl/wrong-ca.pem``: a CRL signed by ``other-ca`` (listing the serial of ``revoked``
            too, so a checker that ignores who signed the CRL says "revoked" instead of "no CRL").
        windows_environment: with ``windows=True``: ``environment-windows.yaml``, the same estate on Windows
            hosts whose ``certificate`` / ``trusted-ca`` are thumbprints of their store (``None`` otherwise).
        pfx: with ``windows=True``: per host name, ``store/<name>/<name>.pfx`` (its certificate and key, the
            host's Personal store export).
    """

    directory: Path
    environment: Path
    names: tuple[str, ...]
    key_type: KeyType
    ca: Path
    other_ca: Path
    hosts: Mapping[str, CertificateFiles]
    expired: CertificateFiles
    not_yet_valid: CertificateFiles
    wrong_name: CertificateFiles
    wrong_issuer: CertificateFiles
    revoked: CertificateFiles
    cn_only: CertificateFiles
    crl_current: Path
    crl_expired: Path
    crl_wrong_ca: Path
    windows_environment: Path | None = None
    pfx: Mapping[str, Path] = attrs.field(factory=dict)


def _check_names(names: str | Iterable[str]) -> tuple[str, ...]:
    """The host names for :func:`build_pki`: a comma-separated string or an iterable of names."""
    listed = names.split(",") if isinstance(names, str) else list(names)
    if not listed:
        raise ConfigurationError("no host names given", option="names", value="", valid=_HOST_NAME_FORM)
    seen: set[str] = set()
    for name in listed:
        if not isinstance(name, str) or not name:
            raise ConfigurationError(
                "a host name is empty",
                option="names",
                value=",".join(map(str, listed)),
                valid=_HOST_NAME_FORM,
            )
        if not _HOST_NAME.match(name):
            raise ConfigurationError("not a valid host name", option="names", value=name, valid=_HOST_NAME_FORM)
        if name.lower() in _RESERVED_STEMS:
            raise ConfigurationError(
                "this host name is the name of another file of the test PKI",
                option="names",
                value=name,
                valid=f"{_HOST_NAME_FORM}; none of {', '.join(sorted(_RESERVED_STEMS))}",
            )
        if name.lower() in seen:
            raise ConfigurationError(
                "host name given twice (names are compared ignoring case)",
                option="names",
                value=name,
                valid=_HOST_NAME_FORM,
            )
        seen.add(name.lower())
    return tuple(listed)


def _environment(names: Sequence[str], hosts: Mapping[str, tuple[str, str]], ca: str) -> dict[str, Any]:
    """The environment (format: ``docs/contract.md``) for the host certificates written by :func:`build_pki`."""
    certificate, certificate_key, trusted_ca = (
        option(n).name for n in ("certificate", "certificate-key", "trusted-ca")
    )
    tls, tls_mutual, target_name_check = (option(n).name for n in ("tls", "tls-mutual", "tls-target-name-check"))
    server = "TServer"
    applications: dict[str, Any] = {
        server: {
            "type": "T-Server",
            "host": names[0],
            "ports": {
                "default": {"port": 7000},
                "secure": {"port": 7001, "transport": format_transport({tls: "1"})},
                "mutual": {"port": 7002, "transport": format_transport({tls: "1", tls_mutual: "1"})},
            },
        }
    }
    for name in names[1:]:
        applications[f"Client_{name}"] = {
            "type": "Third Party Application",
            "host": name,
            "connections": [
                {
                    "server": server,
                    "port-id": port,
                    "transport": format_transport({target_name_check: TARGET_NAME_CHECK_ON}),
                }
                for port in ("secure", "mutual")
            ],
        }
    return {
        "hosts": {
            name: {
                "ip": LOOPBACK,
                "os": "unix",
                "annex": {
                    SECURITY_SECTION: {
                        certificate: hosts[name][0],
                        certificate_key: hosts[name][1],
                        trusted_ca: ca,
                    }
                },
            }
            for name in names
        },
        "applications": applications,
    }


#: The Windows-host environment :func:`build_pki` writes with ``windows=True``.
WINDOWS_ENVIRONMENT_FILE = "environment-windows.yaml"


def _pfx_password(variable: str | None) -> bytes | None:
    """The PFX password from the environment variable NAME (``None``: no variable, unencrypted PFX)."""
    if variable is None:
        return None
    from .stores import env_passwords, password_bytes, pkcs12_password

    env_passwords(variable)  # refuses what is not a variable name
    value = os.environ.get(variable)
    if not value:
        raise ConfigurationError(
            f"the environment variable {variable!r} is not set or empty: it must hold the PFX password",
            option="pfx-password-env", value=variable, valid="the NAME of a set environment variable",
        )
    return pkcs12_password(password_bytes(value), option="pfx-password-env", value=variable)


def _windows_environment(
    environment: Mapping[str, Any], thumbprints: Mapping[str, str], ca_thumbprint: str, ca: str,
    password_env: str | None,
) -> dict[str, Any]:
    """The environment of :func:`build_pki` on Windows hosts: each host's store and thumbprints."""
    certificate, trusted_ca = option("certificate").name, option("trusted-ca").name
    hosts: dict[str, Any] = {}
    for name, host in environment["hosts"].items():
        store: dict[str, Any] = {"personal": f"store/{name}", "trusted-roots": ca}
        if password_env is not None:
            store["password-env"] = password_env
        hosts[name] = {
            "ip": host["ip"],
            "os": "windows",
            "store": store,
            "annex": {SECURITY_SECTION: {certificate: thumbprints[name], trusted_ca: ca_thumbprint}},
        }
    return {"hosts": hosts, "applications": environment["applications"]}


def build_pki(
    directory: str | os.PathLike[str],
    names: str | Iterable[str] = DEFAULT_NAMES,
    *,
    key_type: KeyType | str = KeyType.EC,
    windows: bool = False,
    pfx_password_env: str | None = None,
) -> PKIFiles:
    """Write a complete test PKI and a Genesys environment using it in ``directory``.

    Layout (see :class:`PKIFiles` for what each file is)::

        environment.yaml
        certs/ca.pem  certs/other-ca.pem
        certs/<name>.pem  certs/<name>.key              one per host name
        certs/{expired,not-yet-valid,wrong-name,wrong-issuer,revoked,cn-only}.{pem,key}
        crl/current.pem  crl/expired.pem  crl/wrong-ca.pem

    The environment has one Host per name (``ip: 127.0.0.1``, ``os: unix``, Host Annex ``[security]``
    ``certificate``, ``certificate-key``, ``trusted-ca`` relative to the environment file); application
    ``TServer`` (T-Server) on the first host with ports ``default`` 7000, ``secure`` 7001 (``tls=1``) and
    ``mutual`` 7002 (``tls=1;tls-mutual=1``); and for each other name an application ``Client_<name>``
    connecting to ``secure`` and ``mutual`` with ``tls-target-name-check=host``.

    Keys: each CA and each host has its own key; the broken variants of the first host's certificate
    (expired, not yet valid, wrong name, wrong issuer, revoked, CN-only) certify the first host's key again,
    as a renewed certificate would. With RSA that is 2 + len(names) key generations instead of 8 + len(names).

    With ``windows=True`` it also writes each host's certificate and key as ``store/<name>/<name>.pfx`` (the
    export of its Personal store) and ``environment-windows.yaml``: the same applications on ``os: windows``
    hosts whose ``store`` is that folder (trusted roots: ``certs/ca.pem``) and whose ``certificate`` /
    ``trusted-ca`` are the SHA-1 thumbprints of the host certificate and of the CA.

    Existing files are replaced; use :func:`pki_init` to refuse a folder that already holds an environment.

    Args:
        directory: the folder (created when missing).
        names: host names, a comma-separated string or an iterable; the first hosts the T-Server.
        key_type: the key algorithm of every key.
        windows: also write the PFX files and the Windows-host environment.
        pfx_password_env: the NAME of the environment variable whose value encrypts the PFX files (the
            Windows environment names it as the store's ``password-env``); ``None``: unencrypted PFX files.

    Returns:
        the paths written.

    Raises:
        ConfigurationError: bad names or key type.
        OSError: a file could not be written.
    """
    hosts_names = _check_names(names)
    kind = KeyType.parse(key_type)
    pfx_password = _pfx_password(pfx_password_env) if windows else None
    root = Path(directory)
    certs, crls = root / "certs", root / "crl"
    now = _now()
    # The roots' validity encloses every test window below, so only the leaf is ever out of date.
    ca_start, ca_end = now - dt.timedelta(days=365), now + _CA_LIFETIME
    ca = CertificateAuthority.create("Test CA", key_type=kind, not_before=ca_start, not_after=ca_end)
    other = CertificateAuthority.create("Other Test CA", key_type=kind, not_before=ca_start, not_after=ca_end)

    def write(issued: Issued, stem: str) -> CertificateFiles:
        return CertificateFiles(*issued.write(certs, stem))

    hosts: dict[str, CertificateFiles] = {}
    pfx: dict[str, Path] = {}
    thumbprints: dict[str, str] = {}
    first_key: PrivateKey | None = None
    for name in hosts_names:
        issued = ca.issue([name, LOOPBACK], server_auth=True, client_auth=True)
        if first_key is None:
            first_key = issued.private_key
        hosts[name] = write(issued, name)
        if windows:
            pfx[name] = issued.write_pfx(root / "store" / name, name, password=pfx_password)
            thumbprints[name] = issued.cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - a thumbprint
    first = [hosts_names[0], LOOPBACK]
    month, day = dt.timedelta(days=30), dt.timedelta(days=1)
    expired = ca.issue(first, key=first_key, not_before=now - month, not_after=now - day)
    not_yet_valid = ca.issue(first, key=first_key, not_before=now + month, not_after=now + 2 * month)
    wrong_name = ca.issue(["wrong.invalid"], key=first_key)
    wrong_issuer = other.issue(first, key=first_key)
    # Issued 90 days ago and revoked 61 days ago: before the thisUpdate of both CRLs that list it.
    revoked = ca.issue(first, key=first_key, not_before=now - 3 * month)
    cn_only = ca.issue(hosts_names[0], key=first_key, cn_only=True)
    serial = ca.revoke(revoked, when=now - 2 * month - day)
    other.revoke(serial, when=now - 2 * month - day)

    ca_path, other_path = certs / "ca.pem", certs / "other-ca.pem"
    _write_file(ca_path, ca.cert_pem(), 0o644)
    _write_file(other_path, other.cert_pem(), 0o644)
    crl_paths = crls / "current.pem", crls / "expired.pem", crls / "wrong-ca.pem"
    crl_bytes = (
        ca.crl(),
        ca.crl(last_update=now - 2 * month, next_update=now - day),
        other.crl(),
    )
    for path, data in zip(crl_paths, crl_bytes, strict=True):
        _write_file(path, data, 0o644)

    def relative(path: Path) -> str:
        return path.relative_to(root).as_posix()

    environment = _environment(
        hosts_names,
        {name: (relative(f.cert), relative(f.key)) for name, f in hosts.items()},
        relative(ca_path),
    )
    env_path = root / _ENVIRONMENT_FILE
    text = "# A test environment written by genesys_tls.pki.build_pki; certificates are for tests only.\n"
    text += yaml.safe_dump(environment, sort_keys=False, default_flow_style=False)
    _write_file(env_path, text.encode("utf-8"), 0o644)
    windows_path = None
    if windows:
        windows_path = root / WINDOWS_ENVIRONMENT_FILE
        ca_thumbprint = ca.cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - a thumbprint
        windows_env = _windows_environment(environment, thumbprints, ca_thumbprint, relative(ca_path), pfx_password_env)
        text = ("# The test environment on Windows hosts: certificates named by thumbprint in each host's store "
                "(genesys_tls.pki.build_pki).\n")
        _write_file(windows_path, (text + yaml.safe_dump(windows_env, sort_keys=False)).encode("utf-8"), 0o644)

    return PKIFiles(
        directory=root,
        environment=env_path,
        names=hosts_names,
        key_type=kind,
        ca=ca_path,
        other_ca=other_path,
        hosts=hosts,
        expired=write(expired, "expired"),
        not_yet_valid=write(not_yet_valid, "not-yet-valid"),
        wrong_name=write(wrong_name, "wrong-name"),
        wrong_issuer=write(wrong_issuer, "wrong-issuer"),
        revoked=write(revoked, "revoked"),
        cn_only=write(cn_only, "cn-only"),
        crl_current=crl_paths[0],
        crl_expired=crl_paths[1],
        crl_wrong_ca=crl_paths[2],
        windows_environment=windows_path,
        pfx=pfx,
    )


def pki_init(
    directory: str | os.PathLike[str],
    names: str | Iterable[str] | None = None,
    key_type: KeyType | str = KeyType.EC,
    *,
    windows: bool = False,
    pfx_password_env: str | None = None,
) -> PKIFiles:
    """What ``genesys-tls pki init DIR [--names N1,N2,...] [--key-type ec|rsa]`` does: :func:`build_pki`,
    refusing a folder that already holds an environment.

    Args:
        directory: the folder (created when missing).
        names: host names, a comma-separated string or an iterable (default :data:`DEFAULT_NAMES`).
        key_type: ``ec``, ``rsa`` or ``rsa3072``.
        windows, pfx_password_env: as :func:`build_pki` (``--windows``, ``--pfx-password-env NAME``).

    Raises:
        ConfigurationError: ``directory`` already holds an ``environment.yaml`` or is not a folder; a host
            name is empty, malformed or repeated; an unknown key type; the files could not be written.
    """
    if not os.fspath(directory).strip():
        raise ConfigurationError("the PKI directory is empty", value="", valid="a new or empty directory")
    root = Path(directory)
    hosts_names = _check_names(DEFAULT_NAMES if names is None else names)
    kind = KeyType.parse(key_type)
    if root.exists() and not root.is_dir():
        raise ConfigurationError(
            f"{root} exists and is not a directory", file=str(root), valid="a new or empty directory"
        )
    if (root / _ENVIRONMENT_FILE).exists():
        raise ConfigurationError(
            f"{root} already holds an {_ENVIRONMENT_FILE}; pki init does not overwrite it",
            file=str(root / _ENVIRONMENT_FILE),
            valid="a new or empty directory",
        )
    try:
        return build_pki(root, hosts_names, key_type=kind, windows=windows, pfx_password_env=pfx_password_env)
    except OSError as error:
        raise ConfigurationError(
            f"cannot write the test PKI in {root}: {error.strerror or error}",
            file=str(error.filename or root),
        ) from error
