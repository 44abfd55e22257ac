"""TLS contexts of the SIP Endpoint link (the one ``ssl`` module of :mod:`genesys_tls.sipendpoint`).

* :func:`endpoint_context`: the listener's server context: its certificate from the store; level 0 asks no
  client certificate, levels 1 and 2 require one chaining to the trusted CA.
* :func:`workspace_context`: Workspace's client context: level 0 validates nothing (lab only), 1 checks the
  endpoint's chain and validity, 2 and 3 also present the client certificate from the store. No host-name
  check: none is named for Workspace (the endpoint is reached by the workstation's address; level 3 checks the
  certificate's subject against the user instead, see ``docs/sipendpoint.md``).
* :func:`directory_context`: the client context of an ``ldaps://`` directory: the directory's chain and its
  name (the URL's host) verified, never weaker.

A store's key reaches OpenSSL through a private temporary file (folder 0700, file 0600) holding the key
encrypted with a random one-time password, removed as soon as it is loaded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..errors import ConfigurationError
from ..stores import StoreEntry

__all__ = ["directory_context", "endpoint_context", "load_entry", "peer_certificate", "workspace_context"]


def load_entry(context: ssl.SSLContext, entry: StoreEntry) -> None:
    """Load a store entry's certificate, chain and key into ``context``.

    Raises:
        ConfigurationError: the entry has no private key, or OpenSSL refuses it.
    """
    if entry.private_key is None:
        raise ConfigurationError("the selected certificate has no private key in the store",
                                 file=str(entry.source), object=entry.describe())
    password = secrets.token_hex(16).encode("ascii")
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (entry.certificate, *entry.chain))
    pem += entry.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    folder = tempfile.mkdtemp(prefix="genesys-tls-store-")
    try:
        path = Path(folder) / "entry.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            context.load_cert_chain(str(path), password=password)
        except ssl.SSLError as exc:
            raise ConfigurationError(f"OpenSSL refused the store certificate ({exc.reason or exc})",
                                     file=str(entry.source), object=entry.describe()) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _trust(context: ssl.SSLContext, ca_file: str | os.PathLike[str] | None, option: str) -> None:
    if ca_file is None:
        raise ConfigurationError("this level validates certificates: a trusted CA file is needed", option=option,
                                 valid="a PEM file of the trusted CA certificates (--ca FILE)")
    try:
        context.load_verify_locations(cafile=os.fspath(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"the trusted CA file cannot be used ({exc})", file=os.fspath(ca_file),
                                 option=option, valid="a PEM file of CA certificates") from None


def endpoint_context(level: int, entry: StoreEntry, ca_file: str | os.PathLike[str] | None) -> ssl.SSLContext:
    """The endpoint's server context for ``security_level`` ``level``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    load_entry(context, entry)
    if level >= 1:
        context.verify_mode = ssl.CERT_REQUIRED
        _trust(context, ca_file, "security_level")
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def workspace_context(
    level: int, entry: StoreEntry | None, ca_file: str | os.PathLike[str] | None
) -> ssl.SSLContext:
    """Workspace's client context for ``security-level`` ``level``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    if level == 0:
        context.verify_mode = ssl.CERT_NONE
    else:
        context.verify_mode = ssl.CERT_REQUIRED
        _trust(context, ca_file, "sipendpoint.standalone.security-level")
    if level >= 2:
        if entry is None:
            raise ConfigurationError("this level presents a client certificate: none was selected",
                                     option="sipendpoint.standalone.certificate-search-value")
        load_entry(context, entry)
    return context


def peer_certificate(tls: ssl.SSLSocket) -> x509.Certificate | None:
    """The peer's certificate, parsed (``None`` when it sent none)."""
    der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der) if der else None


def directory_context(ca_file: str | os.PathLike[str] | None) -> ssl.SSLContext:
    """The client context of an ``ldaps://`` directory: TLS 1.2 or later, the directory's certificate chaining
    to ``ca_file`` (``None``: the system's trusted CAs) and naming the host of the URL (DNS name or IP address).

    Raises:
        ConfigurationError: ``ca_file`` cannot be used.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        _trust(context, ca_file, "--ldap-ca")
    return context
