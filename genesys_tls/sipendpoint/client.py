"""The Workspace side of the SIP Endpoint link: REST requests over HTTPS (or HTTP) with Workspace's
``sipendpoint.standalone.*`` settings.

Levels: 0 trusts any certificate (a lab-only warning is attached to every result); 1 checks the endpoint's
chain and validity against the trusted CA; 2 also presents the client certificate found by
``certificate-search-value`` in Workspace's store; 3 also checks the endpoint certificate's subject against the
user's directory properties (``subject-criteria`` / ``subject-matching-properties``) before sending anything.

Results (:class:`SessionResult`) carry the project's handshake result and categories, plus ``address-refused``
(the endpoint closed the connection before any TLS byte, as it does for addresses outside its ranges: seen from
this side as a close before the ServerHello) and ``subject-mismatch`` (the endpoint answered 403, or the level 3
check failed here).

Example::

    client = WorkspaceClient(settings, store=store, ca_file="ca.pem", user=user)
    result = client.open_session(listener.address)
    assert result.ok, result.to_dict()
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
from typing import Any

import attrs

from ..catalogue import Side
from ..errors import Category, ConfigurationError
from ..handshake import HandshakeResult, PeerIdentity, classify
from ..resolved import Check
from ..stores import CertificateStore, Selection
from .app import Response
from .checks import Mismatch, match_subject
from .directory import DirectoryUser
from .http import DEFAULT_LIMITS, HTTPLimits, http_request
from .model import WorkspaceSettings
from .tls import peer_certificate, workspace_context

__all__ = ["LAB_ONLY", "SessionResult", "WorkspaceClient"]

LAB_ONLY = "security-level 0: the endpoint's certificate is not validated (lab only)"


@attrs.frozen
class SessionResult:
    """One request of Workspace to the endpoint.

    Attributes:
        handshake: the client-side handshake result (``ok`` false with the category on failure).
        status: the HTTP status, ``None`` when no answer came.
        data: the JSON answer.
        mismatches: level 3 mismatches found here, or the endpoint's 403 list.
        headers: the answer's headers (names lower case).
    """

    handshake: HandshakeResult
    status: int | None = None
    data: Any = None
    mismatches: tuple[dict[str, Any], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """A header of the answer (name ignoring case)."""
        return next((v for k, v in self.headers if k == name.lower()), None)

    @property
    def ok(self) -> bool:
        """The handshake succeeded and the endpoint answered with an HTTP status below 400."""
        return self.handshake.ok and self.status is not None and self.status < 400

    @property
    def category(self) -> Category | None:
        """The handshake's failure category, ``None`` when it succeeded."""
        return self.handshake.category

    @property
    def outcome(self) -> str:
        """``ok``, the failure category, or ``http-NNN`` for another HTTP refusal."""
        if self.ok:
            return "ok"
        if self.category is not None:
            return self.category.value
        return f"http-{self.status}"

    @property
    def session(self) -> str | None:
        """The session id of the answer, ``None`` when there is none."""
        return self.data.get("session") if isinstance(self.data, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """The ``sipendpoint connect --json`` shape: the handshake's ``connect`` object plus ``outcome``,
        ``status``, ``response`` and ``mismatches``."""
        out = self.handshake.to_dict()
        out["ok"] = self.ok
        out["outcome"] = self.outcome
        out["status"] = self.status
        out["response"] = self.data
        if self.mismatches:
            out["mismatches"] = list(self.mismatches)
        return out


class WorkspaceClient:
    """Workspace talking to an endpoint.

    Args:
        settings: Workspace's ``sipendpoint.standalone.*`` options.
        store: the virtual desktop's Personal store (levels 2 and 3).
        ca_file: the trusted CA (levels 1 to 3).
        user: the agent's directory entry (level 3).
        source: the local address to bind (``127.0.0.2``...), default any.
        timeout: seconds for the connection, the handshake and each read.
        origin: an ``Origin`` header to send (CORS).

    Raises:
        ConfigurationError: a level that needs a CA, a client certificate or a user without it.
    """

    def __init__(
        self,
        settings: WorkspaceSettings,
        *,
        store: CertificateStore | None = None,
        ca_file: str | None = None,
        user: DirectoryUser | None = None,
        source: str | None = None,
        timeout: float = 5.0,
        limits: HTTPLimits = DEFAULT_LIMITS,
    ) -> None:
        self.settings = settings
        self.level = (settings.security_level or 0) if settings.tls else None
        self.user = user
        self.source = source
        self.timeout = timeout
        self.limits = limits
        self.selection: Selection | None = None
        self.context: ssl.SSLContext | None = None
        self.warnings: tuple[str, ...] = (LAB_ONLY,) if self.level == 0 else ()
        option = "sipendpoint.standalone.certificate-search-value"
        if self.level is not None:
            if self.level >= 2:
                if store is None or not settings.certificate_search_value:
                    raise ConfigurationError(f"security-level {self.level} presents a client certificate: a store "
                                             "and certificate-search-value are needed", file=settings.file,
                                             object=settings.application, option=option)
                self.selection = store.select(settings.certificate_search_value, option=option,
                                              object=settings.application)
            if self.level == 3 and user is None:
                raise ConfigurationError("security-level 3 checks the endpoint's subject: a directory user is needed",
                                         file=settings.file, object=settings.application,
                                         option="sipendpoint.standalone.security-level",
                                         valid="--user FILE")
            self.context = workspace_context(self.level, self.selection.entry if self.selection else None, ca_file)

    @property
    def checks(self) -> tuple[Check, ...]:
        """What Workspace verifies of the endpoint: nothing at level 0, the chain at 1 and 2, and the subject
        too at 3."""
        if not self.level:
            return ()
        return (Check.CHAIN, Check.SUBJECT) if self.level == 3 else (Check.CHAIN,)

    @property
    def mode(self) -> str:
        """The link's mode as Workspace sees it: ``plain`` (http), ``encryption-only`` (level 0), ``simple`` (1),
        ``mutual`` (2 and 3)."""
        if self.level is None:
            return "plain"
        if self.level == 0:
            return "encryption-only"
        return "mutual" if self.level >= 2 else "simple"

    def _result(self, address: str, error: tuple[Category, str] | None, **known: Any) -> HandshakeResult:
        fields: dict[str, Any] = {"protocol": None, "cipher": None, "peer": None, **known}
        return HandshakeResult(ok=error is None, checks=self.checks, error=error, mode=self.mode,
                               authenticated=error is None and bool(self.level), address=address,
                               side=Side.CLIENT, warnings=self.warnings, **fields)

    # ------------------------------------------------------------------------------------------- API

    def open_session(self, address: tuple[str, int]) -> SessionResult:
        """``POST /sessions``: Workspace starts its SIP session."""
        return self.request(address, "POST", "/sessions")

    def status(self, address: tuple[str, int]) -> SessionResult:
        """``GET /status`` on the endpoint."""
        return self.request(address, "GET", "/status")

    def start_call(self, address: tuple[str, int], session: str) -> SessionResult:
        """``POST /sessions/SESSION/calls``: start a call in a session."""
        return self.request(address, "POST", f"/sessions/{session}/calls")

    def end_call(self, address: tuple[str, int], session: str, call: str) -> SessionResult:
        """``DELETE /sessions/SESSION/calls/CALL``: end a call."""
        return self.request(address, "DELETE", f"/sessions/{session}/calls/{call}")

    def finalize(self, address: tuple[str, int], session: str) -> SessionResult:
        """``POST /sessions/ID/finalize``: Workspace exits."""
        return self.request(address, "POST", f"/sessions/{session}/finalize")

    def request(
        self, address: tuple[str, int], method: str, target: str, *, headers: tuple[tuple[str, str], ...] = (),
        body: Any = None,
    ) -> SessionResult:
        """One request on a new connection (closed after the answer)."""
        host, port = address
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        payload = json.dumps(body).encode("utf-8") if body is not None else b""
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            if self.source is not None:
                sock.bind((self.source, 0))
            sock.connect((host, port))
        except OSError as exc:
            sock.close()
            category, detail = classify(exc, side=Side.CLIENT)
            return SessionResult(self._result(where, (category, f"{where}: {detail}")))
        with sock:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is None:
                return self._exchange(sock, where, method, target, headers, payload, {})
            tls = self.context.wrap_socket(sock, do_handshake_on_connect=False)
            with tls:
                try:
                    tls.do_handshake()
                except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError, ConnectionResetError,
                        BrokenPipeError) as exc:
                    detail = classify(exc, side=Side.CLIENT)[1]
                    return SessionResult(self._result(where, (
                        Category.ADDRESS_REFUSED,
                        f"the endpoint closed the connection before its ServerHello ({detail}); it refuses "
                        "addresses outside its ranges so",
                    )))
                except OSError as exc:
                    return SessionResult(self._result(where, classify(exc, side=Side.CLIENT)))
                cert = peer_certificate(tls)
                cipher = tls.cipher()
                known: dict[str, Any] = {
                    "protocol": tls.version(), "cipher": cipher[0] if cipher else None,
                    "peer": PeerIdentity.from_certificate(cert) if cert is not None else None,
                }
                if self.level == 3:
                    assert self.user is not None  # noqa: S101 - checked in __init__
                    mismatches: tuple[Mismatch, ...] = (
                        match_subject(cert.subject, self.user, self.settings.subject_criteria,
                                      self.settings.subject_matching_properties) if cert is not None else ()
                    )
                    if mismatches:
                        detail = "the endpoint certificate's subject does not match the user: " + "; ".join(
                            m.reason for m in mismatches)
                        return SessionResult(self._result(where, (Category.SUBJECT_MISMATCH, detail), **known),
                                             mismatches=tuple(m.to_dict() for m in mismatches))
                return self._exchange(tls, where, method, target, headers, payload, known)

    def _exchange(
        self, stream: socket.socket, where: str, method: str, target: str, headers: tuple[tuple[str, str], ...],
        payload: bytes, known: dict[str, Any],
    ) -> SessionResult:
        try:
            response: Response = http_request(stream, method, target, host=where, headers=headers, body=payload,
                                              limits=self.limits)
        except ssl.SSLError as exc:
            return SessionResult(self._result(where, classify(exc, side=Side.CLIENT), **known))
        except (OSError, ValueError) as exc:
            category, detail = classify(exc, side=Side.CLIENT) if isinstance(exc, OSError) else (
                Category.PROTOCOL, str(exc))
            return SessionResult(self._result(where, (category, detail), **known))
        data = response.data()
        if response.status == 403 and isinstance(data, dict) and data.get("error") == "subject-mismatch":
            mismatches = tuple(m for m in data.get("mismatches", ()) if isinstance(m, dict))
            detail = "the endpoint refused our certificate's subject (403): " + "; ".join(
                str(m.get("reason")) for m in mismatches)
            return SessionResult(self._result(where, (Category.SUBJECT_MISMATCH, detail), **known), 403, data,
                                 mismatches, response.headers)
        return SessionResult(self._result(where, None, **known), response.status, data, (), response.headers)
