"""The Workspace SIP Endpoint's REST listener on loopback: HTTPS (or HTTP) with the endpoint's own settings.

Each connection goes through, in order:

1. the **address policy** before any TLS byte (:func:`admit`, the pre-TLS hook): a refused peer is closed at
   once and recorded as ``address-refused``;
2. the **TLS handshake** for the level (:func:`accept_tls`): level 0 asks no client certificate, 1 and 2
   require one chaining to the trusted CA; failures are classified by
   :func:`genesys_tls.handshake.classify`;
3. at level 2, the **subject check** (:func:`identity_check`, the post-handshake hook): every request of the
   connection is then answered 403 with the mismatches;
4. **HTTP/1.1** through ``h11`` (:func:`~genesys_tls.sipendpoint.http.serve_connection`), answered by the
   :class:`~genesys_tls.sipendpoint.app.EndpointApp`.

The socket part is small (:class:`EndpointListener`: bind, accept, a bounded pool of worker threads) so that it
can move onto a shared server core; the three hooks are plain functions.

Example::

    with EndpointListener(config, store=store, ca_file="ca.pem", user=user) as listener:
        ...  # Workspace connects to listener.address
    print([r.to_dict() for r in listener.records])
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
from cryptography import x509

from ..catalogue import Side
from ..errors import Category, ConfigurationError
from ..handshake import HandshakeResult, PeerIdentity, classify
from ..resolved import Check
from ..stores import CertificateStore, Selection
from .app import EndpointApp
from .checks import AddressDecision, AddressPolicy, Mismatch, match_subject
from .directory import DirectoryUser
from .http import DEFAULT_LIMITS, Exchange, HTTPLimits, serve_connection
from .model import EndpointConfig, Property
from .tls import endpoint_context, peer_certificate

__all__ = ["ConnectionRecord", "EndpointListener", "accept_tls", "admit", "identity_check"]

_LOOPBACK = "127.0.0.1"
#: Seconds a refused handshake's socket is drained before it is closed.
_DRAIN = 0.25


@attrs.frozen
class ConnectionRecord:
    """What happened to one connection.

    Attributes:
        handshake: the server-side result (``ok`` false with ``address-refused``, a handshake category or
            ``subject-mismatch``).
        exchanges: the HTTP requests answered.
        mismatches: the level 2 subject mismatches.
        decision: the address policy's decision.
    """

    handshake: HandshakeResult
    exchanges: tuple[Exchange, ...] = ()
    mismatches: tuple[Mismatch, ...] = ()
    decision: AddressDecision | None = None

    @property
    def category(self) -> Category | None:
        """The handshake's failure category, ``None`` when it succeeded."""
        return self.handshake.category

    def to_dict(self) -> dict[str, Any]:
        """The ``sipendpoint serve --json`` line: the handshake's ``connect`` object plus ``requests``,
        ``mismatches`` and ``address_policy``."""
        out = self.handshake.to_dict()
        out["requests"] = [e.to_dict() for e in self.exchanges]
        if self.mismatches:
            out["mismatches"] = [m.to_dict() for m in self.mismatches]
        if self.decision is not None:
            out["address_policy"] = self.decision.reason
        return out


# ----------------------------------------------------------------------------------------------- the hooks


def admit(policy: AddressPolicy, peer: tuple[Any, ...]) -> AddressDecision:
    """The pre-TLS hook: may this peer address connect?"""
    return policy.check(str(peer[0]))


def accept_tls(conn: socket.socket, context: ssl.SSLContext, timeout: float) -> ssl.SSLSocket:
    """The server handshake on an accepted socket (raises what ``do_handshake`` raises).

    On failure the alert OpenSSL sent is left to arrive: the socket is half-closed and what the client sent
    meanwhile (with TLS 1.3 its first request may follow its Finished at once) is read and dropped for a moment,
    so that closing does not reset the connection and discard the alert before the client reads it.
    """
    conn.settimeout(timeout)
    tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
    try:
        tls.do_handshake()
    except OSError:
        with contextlib.suppress(OSError, ValueError):
            tls.shutdown(socket.SHUT_WR)
            tls.settimeout(_DRAIN)
            deadline = time.monotonic() + _DRAIN
            while time.monotonic() < deadline and tls.recv(4096):
                pass
        tls.close()
        raise
    return tls


def identity_check(
    cert: x509.Certificate | None, user: DirectoryUser, criteria: Sequence[str], properties: Sequence[Property]
) -> tuple[Mismatch, ...]:
    """The post-handshake hook at level 2: the client certificate's subject against the user."""
    if cert is None:
        return (Mismatch(0, criteria[0] if criteria else "-", str(properties[0]) if properties else "-", None, None),)
    return match_subject(cert.subject, user, criteria, properties)


# ----------------------------------------------------------------------------------------------- listener


def _format(peer: tuple[Any, ...]) -> str:
    host, port = str(peer[0]), int(peer[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class EndpointListener:
    """The endpoint's REST listener in background threads (a context manager).

    Args:
        config: the endpoint's ``appSettings``.
        store: the workstation's Personal store (HTTPS): the certificate is selected by
            ``certificate_search_value``.
        ca_file: the trusted CA (levels 1 and 2).
        user: the workstation user's directory entry (level 2).
        host, port: where to listen (default 127.0.0.1 on an ephemeral port; the config's port is not used
            unless passed).
        timeout: seconds for each handshake and each read.
        limits: HTTP bounds.
        workers: the most connections handled at once (the pool's size).
        on_record: called with each :class:`ConnectionRecord`.
        on_event: called with the application's events (``session``, ``restart``...).

    Raises:
        ConfigurationError: HTTPS without a store or search value, no matching certificate, level 1/2 without
            a CA, level 2 without a user.
        OSError: the address cannot be bound.
    """

    def __init__(
        self,
        config: EndpointConfig,
        *,
        store: CertificateStore | None = None,
        ca_file: str | None = None,
        user: DirectoryUser | None = None,
        host: str = _LOOPBACK,
        port: int = 0,
        timeout: float = 5.0,
        limits: HTTPLimits = DEFAULT_LIMITS,
        workers: int = 8,
        on_record: Callable[[ConnectionRecord], object] | None = None,
        on_event: Callable[[str, dict[str, Any]], object] | None = None,
    ) -> None:
        self.config = config
        self.policy = AddressPolicy.from_config(config)
        self.user = user
        self.timeout = timeout
        self.limits = limits
        self.on_record = on_record
        self.app = EndpointApp(cors=config.cors, on_event=on_event)
        self.selection: Selection | None = None
        self.context: ssl.SSLContext | None = None
        self.level = config.security_level if config.tls else None
        if config.tls:
            if store is None or not config.certificate_search_value:
                raise ConfigurationError("protocol is https: a certificate store and certificate_search_value are "
                                         "needed", file=config.file, object="appSettings",
                                         option="certificate_search_value")
            self.selection = store.select(config.certificate_search_value, option="certificate_search_value",
                                          object="appSettings")
            self.context = endpoint_context(self.level or 0, self.selection.entry, ca_file)
            if self.level == 2 and user is None:
                raise ConfigurationError("security_level 2 checks the client certificate's subject: a directory "
                                         "user is needed", file=config.file, object="appSettings",
                                         option="security_level", valid="--user FILE or --ldap URL")
        self.records: list[ConnectionRecord] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sip-endpoint")
        # One slot per worker: with every worker busy the listener stops accepting, and new connections wait
        # in the kernel's backlog instead of piling up in memory.
        self._slots = threading.BoundedSemaphore(workers)
        self._thread: threading.Thread | None = None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.create_server((host, port), family=family)
        self._socket.settimeout(0.05)
        name = self._socket.getsockname()
        self.address: tuple[str, int] = (str(name[0]), int(name[1]))

    def __repr__(self) -> str:
        return f"<EndpointListener {self.config.protocol} level={self.level} at {_format(self.address)}>"

    def __enter__(self) -> EndpointListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def checks(self) -> tuple[Check, ...]:
        """What the endpoint verifies of Workspace: nothing at level 0, the chain at 1, and the subject too at 2."""
        if self.level is None or self.level == 0:
            return ()
        return (Check.CHAIN, Check.SUBJECT) if self.level == 2 else (Check.CHAIN,)

    @property
    def mode(self) -> str:
        """The link's mode as the endpoint sees it: ``plain`` (http), ``simple`` (level 0), ``mutual`` (1 and 2)."""
        if self.level is None:
            return "plain"
        return "mutual" if self.level >= 1 else "simple"

    def start(self) -> None:
        """Serve in a background (daemon) thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="sip-endpoint-accept", daemon=True)
            self._thread.start()

    def serve_forever(self) -> None:
        """Accept until :meth:`close`."""
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.05):
                continue
            try:
                conn, peer = self._socket.accept()
            except TimeoutError:
                self._slots.release()
                continue
            except OSError:
                self._slots.release()
                if self._stop.is_set():
                    break
                raise
            try:
                self._pool.submit(self._handle, conn, peer)
            except RuntimeError:  # the pool is shut down: closing
                self._slots.release()
                conn.close()
                break

    def wait(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` connections are recorded."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.records) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def close(self) -> None:
        """Stop accepting, finish the connections under way, release the port."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._socket.close()

    def _record(self, record: ConnectionRecord) -> None:
        with self._lock:
            self.records.append(record)
            if self.on_record is not None:
                with contextlib.suppress(Exception):
                    self.on_record(record)
            self._lock.notify_all()

    def _result(self, where: str, *, error: tuple[Category, str] | None, protocol: str | None = None,
                cipher: str | None = None, peer: PeerIdentity | None = None) -> HandshakeResult:
        return HandshakeResult(
            ok=error is None, protocol=protocol, cipher=cipher, peer=peer, checks=self.checks, error=error,
            mode=self.mode, authenticated=error is None and (self.level or 0) >= 1 and peer is not None,
            address=where, side=Side.SERVER,
        )

    def _handle(self, conn: socket.socket, peer: tuple[Any, ...]) -> None:
        try:
            self._serve_one(conn, peer)
        finally:
            self._slots.release()

    def _serve_one(self, conn: socket.socket, peer: tuple[Any, ...]) -> None:
        where = _format(peer)
        with conn:
            decision = admit(self.policy, peer)
            if not decision.allowed:
                # Refused before any TLS byte: nothing is read or written, the connection is closed at once.
                self._record(ConnectionRecord(
                    self._result(where, error=(Category.ADDRESS_REFUSED, decision.reason)), decision=decision))
                return
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is None:
                conn.settimeout(self.timeout)
                exchanges = serve_connection(conn, self.app.handle, self.limits)
                self._record(ConnectionRecord(self._result(where, error=None), tuple(exchanges), decision=decision))
                return
            try:
                tls = accept_tls(conn, self.context, self.timeout)
            except OSError as exc:
                self._record(ConnectionRecord(
                    self._result(where, error=classify(exc, side=Side.SERVER)), decision=decision))
                return
            with tls:
                cert = peer_certificate(tls)
                identity = PeerIdentity.from_certificate(cert) if cert is not None else None
                cipher = tls.cipher()
                known: dict[str, Any] = {
                    "protocol": tls.version(), "cipher": cipher[0] if cipher else None, "peer": identity,
                }
                mismatches: tuple[Mismatch, ...] = ()
                if self.level == 2:
                    assert self.user is not None  # noqa: S101 - checked when the listener was made
                    mismatches = identity_check(cert, self.user, self.config.subject_criteria,
                                                self.config.subject_matching_properties)
                exchanges = serve_connection(
                    tls, lambda request: self.app.handle(request, denied=mismatches), self.limits)
                error = None
                if mismatches:
                    error = (Category.SUBJECT_MISMATCH,
                             "; ".join(m.reason for m in mismatches) + " (answered 403)")
                self._record(ConnectionRecord(self._result(where, error=error, **known), tuple(exchanges),
                                              mismatches, decision))
                with contextlib.suppress(OSError, ValueError):
                    tls.settimeout(0.5)
                    tls.unwrap()
