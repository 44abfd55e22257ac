"""The endpoint's REST application: the harness's own small session API, CORS, and the level 2 refusal (no
``ssl``, no sockets: requests in, responses out).

The source names no REST paths; this harness defines its own (``docs/sipendpoint.md``):

=======  ==================================  ===================================================================
method   path                                answer
=======  ==================================  ===================================================================
GET      ``/status``                         200 ``{"state": "idle"|"session", "generation", "active_calls"...}``
POST     ``/sessions``                       201 ``{"session": ID}``; 409 when another Workspace holds a session
POST     ``/sessions/ID/calls``              201 ``{"call": CALL}``
DELETE   ``/sessions/ID/calls/CALL``         200 ``{"ended": CALL, "restarted": bool}``
POST     ``/sessions/ID/finalize``           200 ``{"finalized": true, "restarted": bool}``
OPTIONS  any                                 CORS preflight: 204 for an allowed origin, 403 otherwise
=======  ==================================  ===================================================================

After ``finalize`` with no active call the endpoint restarts (a new ``generation``, no session) and is ready
for the next Workspace; with calls still active it restarts when the last one ends.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from .checks import Mismatch

__all__ = ["EndpointApp", "Request", "Response"]

_ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"


@attrs.frozen
class Request:
    """One HTTP request: method (upper case), target, headers (names lower case) and body."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header of the request (name ignoring case), ``None`` when absent."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), None)


@attrs.frozen
class Response:
    """One HTTP response."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def json(cls, status: int, data: Any, headers: Sequence[tuple[str, str]] = ()) -> Response:
        """A JSON response with ``status``, the body ``data`` and extra ``headers``."""
        body = json.dumps(data).encode("utf-8")
        return cls(status, (("content-type", "application/json"), *headers), body)

    def with_headers(self, extra: Sequence[tuple[str, str]]) -> Response:
        """The same response with ``extra`` headers appended."""
        return attrs.evolve(self, headers=(*self.headers, *extra))

    def data(self) -> Any:
        """The JSON body, ``None`` when empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class EndpointApp:
    """The endpoint's state and REST routes (thread-safe).

    Args:
        cors: ``None`` (CORS off), ``("*",)`` or the allowed origins (lower case).
        on_event: called with ``(event, details)`` for ``session``, ``call``, ``finalize`` and ``restart``.

    Attributes:
        generation: how many times the endpoint (re)started, from 1.
        session: the open session's id, ``None`` when idle.
        calls: the active calls.
    """

    def __init__(
        self, *, cors: tuple[str, ...] | None = None, on_event: Callable[[str, dict[str, Any]], object] | None = None
    ) -> None:
        self.cors = cors
        self.on_event = on_event
        self.generation = 1
        self.session: str | None = None
        self.calls: set[str] = set()
        self._finalizing = False
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------------------- CORS

    def _origin_allowed(self, origin: str | None) -> bool:
        if origin is None or self.cors is None:
            return False
        return self.cors == ("*",) or origin.lower() in self.cors

    def _cors_headers(self, origin: str) -> tuple[tuple[str, str], ...]:
        allowed = "*" if self.cors == ("*",) else origin
        return (("access-control-allow-origin", allowed), ("vary", "Origin"))

    # ----------------------------------------------------------------------------------------- entry

    def handle(self, request: Request, *, denied: Sequence[Mismatch] = ()) -> Response:
        """Answer one request. ``denied``: the level 2 subject mismatches of the connection (403 for all)."""
        origin = request.header("origin")
        if denied:
            response = Response.json(403, {
                "error": "subject-mismatch",
                "detail": "the client certificate's subject does not match the user's directory properties",
                "mismatches": [m.to_dict() for m in denied],
            })
        elif request.method == "OPTIONS" and origin is not None and request.header("access-control-request-method"):
            return self._preflight(origin)
        else:
            response = self._route(request)
        if self._origin_allowed(origin):
            assert origin is not None  # noqa: S101 - checked by _origin_allowed
            response = response.with_headers(self._cors_headers(origin))
        return response

    def _preflight(self, origin: str) -> Response:
        if not self._origin_allowed(origin):
            return Response.json(403, {"error": "cors-origin-refused", "origin": origin})
        return Response(204, (*self._cors_headers(origin), ("access-control-allow-methods", _ALLOW_METHODS),
                              ("access-control-allow-headers", "Content-Type"), ("access-control-max-age", "600")))

    def status(self) -> dict[str, Any]:
        """The ``GET /status`` answer: state, generation, active calls, finalizing."""
        return {"state": "session" if self.session else "idle", "generation": self.generation,
                "active_calls": len(self.calls), "finalizing": self._finalizing}

    def _route(self, request: Request) -> Response:
        path = request.target.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        method = request.method
        with self._lock:
            if parts == ["status"]:
                return Response.json(200, self.status()) if method == "GET" else self._not_allowed("GET")
            if parts == ["sessions"]:
                return self._open() if method == "POST" else self._not_allowed("POST")
            if len(parts) >= 2 and parts[0] == "sessions":
                if parts[1] != self.session:
                    return Response.json(404, {"error": "unknown-session", "session": parts[1]})
                if parts[2:] == ["calls"]:
                    return self._start_call() if method == "POST" else self._not_allowed("POST")
                if len(parts) == 4 and parts[2] == "calls":
                    return self._end_call(parts[3]) if method == "DELETE" else self._not_allowed("DELETE")
                if parts[2:] == ["finalize"]:
                    return self._finalize() if method == "POST" else self._not_allowed("POST")
        if method == "OPTIONS":
            return Response(204, (("allow", _ALLOW_METHODS),))
        return Response.json(404, {"error": "not-found", "path": path})

    @staticmethod
    def _not_allowed(allowed: str) -> Response:
        return Response.json(405, {"error": "method-not-allowed"}, (("allow", allowed),))

    def _emit(self, event: str, **details: Any) -> None:
        if self.on_event is not None:
            self.on_event(event, {"generation": self.generation, **details})

    def _open(self) -> Response:
        if self.session is not None:
            return Response.json(409, {"error": "session-active",
                                       "detail": "another Workspace holds the endpoint's session",
                                       "generation": self.generation})
        self.session = secrets.token_hex(8)
        self._emit("session", session=self.session)
        return Response.json(201, {"session": self.session, "generation": self.generation})

    def _start_call(self) -> Response:
        if self._finalizing:
            return Response.json(409, {"error": "finalizing", "detail": "the session is being finalized"})
        call = secrets.token_hex(4)
        self.calls.add(call)
        self._emit("call", call=call)
        return Response.json(201, {"call": call})

    def _end_call(self, call: str) -> Response:
        if call not in self.calls:
            return Response.json(404, {"error": "unknown-call", "call": call})
        self.calls.discard(call)
        restarted = self._finalizing and not self.calls
        if restarted:
            self._restart()
        return Response.json(200, {"ended": call, "restarted": restarted})

    def _finalize(self) -> Response:
        self._finalizing = True
        self._emit("finalize", active_calls=len(self.calls))
        restarted = not self.calls
        if restarted:
            self._restart()
        return Response.json(200, {"finalized": True, "restarted": restarted})

    def _restart(self) -> None:
        """No more active calls after finalize: close and restart, ready for a new Workspace."""
        self.session = None
        self.calls.clear()
        self._finalizing = False
        self.generation += 1
        self._emit("restart")
