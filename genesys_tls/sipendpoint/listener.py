"""The Workspace SIP Endpoint's REST listener on loopback: HTTPS (or HTTP) with the endpoint's own settings.

It is a :class:`genesys_tls.server.ServerCore` (an accept thread with back-off on exhausted resources, a bounded
pool of workers, bounded records, timeouts) with the endpoint's hooks. Each connection goes through, in order:

1. the **address policy** before any TLS byte (:func:`admit`, the core's ``before`` hook): a refused peer is
   closed at once and recorded as ``address-refused``;
2. the **TLS handshake** for the level (the core's, with the context of
   :func:`~genesys_tls.sipendpoint.tls.endpoint_context`): level 0 asks no client certificate, 1 and 2 require
   one chaining to the trusted CA; failures are classified as every handshake of the package, and a refused
   handshake's socket is drained briefly so that the client reads the alert;
3. at level 2, the **subject check** (:func:`identity_check`): every request of the connection is then answered
   403 with the mismatches;
4. **HTTP/1.1** through ``h11`` (:func:`~genesys_tls.sipendpoint.http.serve_connection`, the core's ``after``
   hook), answered by the :class:`~genesys_tls.sipendpoint.app.EndpointApp`. An ``http`` endpoint hands every
   connection to ``h11`` unread (a TLS ClientHello is answered 400 by the HTTP layer).

Example::

    with EndpointListener(config, store=store, ca_file="ca.pem", user=user) as listener:
        ...  # Workspace connects to listener.address
    print([r.to_dict() for r in listener.records])
"""

from __future__ import annotations

import collections
import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from cryptography import x509

from ..addresses import LOOPBACK, format_address
from ..catalogue import Side
from ..errors import Category, ConfigurationError
from ..resolved import Check, Mode
from ..results import HandshakeResult, PeerIdentity
from ..server import Connection, Generation, ServerCore, close
from ..stores import CertificateStore, Selection
from .app import EndpointApp
from .checks import AddressDecision, AddressPolicy, Mismatch, match_subject
from .directory import DirectoryUser
from .http import DEFAULT_LIMITS, Exchange, HTTPLimits, serve_connection
from .model import EndpointConfig, Property
from .tls import endpoint_context, peer_certificate

__all__ = ["ConnectionRecord", "EndpointListener", "admit", "identity_check"]

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
    """The pre-TLS decision: may this peer address connect?"""
    return policy.check(str(peer[0]))


def identity_check(
    cert: x509.Certificate | None, user: DirectoryUser, criteria: Sequence[str], properties: Sequence[Property]
) -> tuple[Mismatch, ...]:
    """The post-handshake check at level 2: the client certificate's subject against the user."""
    if cert is None:
        return (Mismatch(0, criteria[0] if criteria else "-", str(properties[0]) if properties else "-", None, None),)
    return match_subject(cert.subject, user, criteria, properties)


# ----------------------------------------------------------------------------------------------- listener


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
        keep: how many records :attr:`records` keeps (the newest; ``None``: all).
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
        host: str = LOOPBACK,
        port: int = 0,
        timeout: float = 5.0,
        limits: HTTPLimits = DEFAULT_LIMITS,
        workers: int = 8,
        keep: int | None = 10_000,
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
        context: ssl.SSLContext | None = None
        self.level = config.security_level if config.tls else None
        if config.tls:
            if store is None or not config.certificate_search_value:
                raise ConfigurationError("protocol is https: a certificate store and certificate_search_value are "
                                         "needed", file=config.file, object="appSettings",
                                         option="certificate_search_value")
            self.selection = store.select(config.certificate_search_value, option="certificate_search_value",
                                          object="appSettings")
            context = endpoint_context(self.level or 0, self.selection.entry, ca_file)
            if self.level == 2 and user is None:
                raise ConfigurationError("security_level 2 checks the client certificate's subject: a directory "
                                         "user is needed", file=config.file, object="appSettings",
                                         option="security_level", valid="--user FILE or --ldap URL")
        self.context = context
        self.total = 0
        self._records: collections.deque[ConnectionRecord] = collections.deque(maxlen=keep)
        self._lock = threading.Condition()
        # The address decision of each connection under way, by client address, from ``before`` to its record.
        self._decisions: dict[str | None, AddressDecision] = {}
        generation = Generation.own(context, Mode(self.mode), self.checks)
        # An http endpoint hands every connection to h11 unread (plain_peek=False), as the endpoint does.
        self.core = ServerCore(
            generation, host=host, port=port, workers=workers, timeout=timeout, idle_timeout=timeout,
            before=self._admit, after=self._session, on_record=self._failed, keep=keep, port_fields=False,
            warnings_in_records=False, name="sip-endpoint", plain_peek=False, drain=_DRAIN,
        )
        self.address: tuple[str, int] = self.core.address

    def __repr__(self) -> str:
        return f"<EndpointListener {self.config.protocol} level={self.level} at {format_address(self.address)}>"

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

    @property
    def records(self) -> list[ConnectionRecord]:
        """The records kept (the newest ``keep``), in order (a copy)."""
        with self._lock:
            return list(self._records)

    def start(self) -> None:
        """Serve in a background thread."""
        self.core.start()

    def serve_forever(self) -> None:
        """Accept until :meth:`close` (in the calling thread); raises a fatal accept error."""
        self.core.serve_forever()

    def wait(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` connections are recorded."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.total < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def close(self) -> None:
        """Stop accepting, finish the connections under way (each is bounded by the HTTP deadline), release
        the port."""
        self.core.stop(self.limits.deadline + 2 * self.timeout, drop=False)

    # ------------------------------------------------------------------------------------------- records

    def _record(self, record: ConnectionRecord) -> None:
        with self._lock:
            self._records.append(record)
            self.total += 1
            if self.on_record is not None:
                with contextlib.suppress(Exception):
                    self.on_record(record)
            self._lock.notify_all()

    def _result(self, where: str | None, *, error: tuple[Category, str] | None, protocol: str | None = None,
                cipher: str | None = None, peer: PeerIdentity | None = None) -> HandshakeResult:
        return HandshakeResult(
            ok=error is None, protocol=protocol, cipher=cipher, peer=peer, checks=self.checks, error=error,
            mode=self.mode, authenticated=error is None and (self.level or 0) >= 1 and peer is not None,
            address=where, side=Side.SERVER,
        )

    def _decision(self, where: str | None) -> AddressDecision | None:
        with self._lock:
            return self._decisions.pop(where, None)

    # ------------------------------------------------------------------------------------------- the hooks

    def _admit(self, connection: Connection) -> tuple[Category, str] | None:
        """``before``: the address policy, before any byte is read (a refusal is closed and recorded)."""
        decision = admit(self.policy, connection.peer)
        with self._lock:
            self._decisions[connection.client] = decision
        return None if decision.allowed else (Category.ADDRESS_REFUSED, decision.reason)

    def _failed(self, result: HandshakeResult) -> None:
        """``on_record``: a refused address or handshake is recorded here; an accepted connection is recorded
        by :meth:`_session` once its HTTP exchanges are done."""
        if not result.ok:
            decision = self._decision(result.address)
            self._record(ConnectionRecord(self._result(result.address, error=result.error), decision=decision))

    def _session(self, connection: Connection) -> None:
        """``after``: the subject check (level 2) and the HTTP/1.1 session."""
        where, sock = connection.client, connection.sock
        decision = self._decision(where)
        if not isinstance(sock, ssl.SSLSocket):
            exchanges = serve_connection(sock, self.app.handle, self.limits)
            self._record(ConnectionRecord(self._result(where, error=None), tuple(exchanges), decision=decision))
            return
        cert = peer_certificate(sock)
        identity = PeerIdentity.from_certificate(cert) if cert is not None else None
        cipher = sock.cipher()
        mismatches: tuple[Mismatch, ...] = ()
        if self.level == 2:
            assert self.user is not None  # noqa: S101 - checked when the listener was made
            mismatches = identity_check(cert, self.user, self.config.subject_criteria,
                                        self.config.subject_matching_properties)
        exchanges = serve_connection(sock, lambda request: self.app.handle(request, denied=mismatches), self.limits)
        error = None
        if mismatches:
            error = (Category.SUBJECT_MISMATCH, "; ".join(m.reason for m in mismatches) + " (answered 403)")
        self._record(ConnectionRecord(
            self._result(where, error=error, protocol=sock.version(), cipher=cipher[0] if cipher else None,
                         peer=identity), tuple(exchanges), mismatches, decision))
        close(connection)
