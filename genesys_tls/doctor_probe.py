"""The I/O of ``doctor``: the handshake, the simulated server, and an unverified read of the peer's certificate.

:mod:`genesys_tls.doctor` decides; this module only connects. :func:`run` makes the client's handshake with
:func:`genesys_tls.handshake.connect` (against ``--address``, the configured address, or a
:class:`~genesys_tls.harness.SimulatedServer` on 127.0.0.1 built from the target port's own settings), and
when the failure is about the server's certificate it reads that certificate with a second, unverified
handshake (:func:`peer_certificate`), so the explanation can quote its names, issuer, serial and dates.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import warnings
from typing import Any

import attrs
from cryptography import x509

from .addresses import parse_address
from .doctor import NEEDS_PEER, AddressOrigin
from .errors import Category, TLSError
from .handshake import HandshakeResult, connect
from .model import Environment
from .resolve import Reading, ResolvedSecurity

__all__ = ["ProbeRun", "peer_certificate", "run"]


@attrs.frozen
class ProbeRun:
    """What :func:`run` saw.

    Attributes:
        origin: where it dialled and why.
        result: the client's handshake result (``None`` when the simulated server could not start).
        server_error: ``(category, detail)`` when the simulated server could not start with its settings.
        peer: the certificate the server presented (read without verification), when needed and readable.
        peer_from: where ``peer`` came from.
    """

    origin: AddressOrigin
    result: HandshakeResult | None
    server_error: tuple[Category, str] | None = None
    peer: x509.Certificate | None = None
    peer_from: str = ""


def _format(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _environment_origin(client: ResolvedSecurity) -> AddressOrigin:
    t = client.target
    assert t is not None  # noqa: S101 - a client ResolvedSecurity has a target
    host_part = (
        f"Host {t.host} (ip {t.dial_host})" if t.host and t.dial_host != t.host
        else f"Host {t.host} (no ip: its name is dialled)" if t.host else "no Host"
    )
    number = str(t.port) if t.port is not None else "no number"
    return AddressOrigin(t.address, "environment", f"{host_part} and port {t.port_id} ({number}) of {t.server}")


def peer_certificate(
    address: tuple[str, int], server_hostname: str | None, client: ResolvedSecurity, timeout: float
) -> x509.Certificate | None:
    """The leaf certificate a server presents, read with an unverified handshake (``None`` when it fails).

    Only for explaining a failure already seen: nothing read here is trusted. The client's own certificate is
    offered when it loads without a password, so that a mutual server gets as far as it did.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with contextlib.suppress(Exception):  # best effort: without it a mutual server may refuse earlier
        cert, key = client.path("certificate"), client.path("certificate-key")
        if cert is not None:
            ctx.load_cert_chain(str(cert), str(key) if key is not None else None, password=lambda: b"")
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            name = server_hostname if server_hostname and not server_hostname[:1].isdigit() else None
            with ctx.wrap_socket(sock, server_hostname=name) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError):
        return None
    if not der:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def run(
    env: Environment,
    client: ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    simulate: bool = False,
    timeout: float = 10.0,
    reading: Reading | str = Reading.PSDK,
    password_env: str | None = None,
    crl_check: Any = "leaf",
) -> ProbeRun:
    """The client's handshake, where :func:`genesys_tls.doctor.diagnose` asked, plus the peer's certificate.

    Raises:
        ConfigurationError: the client's (or the simulated server's) settings cannot make a context.
    """
    from .harness import SimulatedServer

    target = client.target
    assert target is not None  # noqa: S101 - a client ResolvedSecurity has a target
    server: SimulatedServer | None = None
    dial: tuple[str, int] | None = None
    if simulate:
        try:
            server = SimulatedServer(env, target.server, target.port_id, port=0, reading=reading, timeout=timeout)
        except TLSError as exc:
            origin = AddressOrigin(None, "simulated", f"a simulated {target.server}/{target.port_id}, which did "
                                   "not start")
            return ProbeRun(origin, None, server_error=(exc.category, exc.detail))
        server.start()
        dial = server.address
        origin = AddressOrigin(
            _format(*dial), "simulated",
            f"a simulated {target.server}/{target.port_id} started on {_format(*dial)} with the port's own "
            "settings from the environment (--simulate)",
        )
    elif address is not None:
        dial = parse_address(address)
        origin = AddressOrigin(
            _format(*dial), "command-line",
            f"the --address option (the name checked stays {client.expected_name!r})",
        )
    else:
        origin = _environment_origin(client)
        if target.dial_host is not None and target.port is not None:
            dial = (target.dial_host, target.port)
    try:
        with warnings.catch_warnings():
            # Every warning the context emits is also in the result's warnings.
            warnings.simplefilter("ignore", UserWarning)
            result = connect(
                client, address=dial, timeout=timeout, check=False, password_env=password_env,
                crl_check=crl_check,
            )
        peer: x509.Certificate | None = None
        if (
            not result.ok and result.error is not None and result.error[0] in NEEDS_PEER and dial is not None
        ):
            peer = peer_certificate(dial, client.expected_name, client, min(timeout, 5.0))
        return ProbeRun(
            origin, result, peer=peer,
            peer_from=f"presented by the server at {_format(*dial)}" if peer is not None and dial else "",
        )
    finally:
        if server is not None:
            server.stop()
