"""HTTP/1.1 through ``h11`` over any byte stream (no ``ssl``, no sockets here: the caller gives an object with
``recv(n)`` and ``sendall(data)``, a socket or a TLS socket with its timeout set).

Bounded: the request head (:attr:`HTTPLimits.max_head`, larger heads get 431), the body
(:attr:`HTTPLimits.max_body`, larger get 413), the requests per connection, and the whole connection's time
(:attr:`HTTPLimits.deadline`); each read is bounded by the stream's own timeout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import h11

from .app import Request, Response

__all__ = ["DEFAULT_LIMITS", "Exchange", "HTTPLimits", "HTTPStream", "http_request", "serve_connection"]

_READ = 8192


class HTTPStream(Protocol):
    """What the HTTP layer reads and writes: a socket or a TLS socket."""

    def recv(self, bufsize: int, /) -> bytes:
        """Up to ``bufsize`` bytes; ``b""`` when the peer closed."""
        ...

    def sendall(self, data: bytes, /) -> Any:
        """Send all of ``data``."""
        ...


@attrs.frozen
class HTTPLimits:
    """Bounds of one connection.

    Attributes:
        max_head: bytes of a request or response head.
        max_body: bytes of a body.
        max_requests: requests on one connection.
        deadline: seconds one connection may last.
    """

    max_head: int = 16 * 1024
    max_body: int = 64 * 1024
    max_requests: int = 100
    deadline: float = 30.0


#: The bounds used when none are given.
DEFAULT_LIMITS = HTTPLimits()


@attrs.frozen
class Exchange:
    """One request and its answer, as the listener records them."""

    method: str
    target: str
    status: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{method, target, status}``."""
        return {"method": self.method, "target": self.target, "status": self.status}


class _Closed(Exception):
    pass


def _next_event(conn: h11.Connection, stream: HTTPStream, end: float, fed: list[int] | None = None) -> Any:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        if time.monotonic() > end:
            raise TimeoutError("the connection's deadline passed")
        data = stream.recv(_READ)
        if fed is not None:
            fed[0] += len(data)
        conn.receive_data(data)  # b"" tells h11 the peer closed


def _read_body(
    conn: h11.Connection, stream: HTTPStream, end: float, limit: int, *, too_large: Exception, cut: Exception
) -> bytes:
    """The body of the current message, at most ``limit`` bytes: ``too_large`` past it, ``cut`` when the peer
    stops before its end."""
    body = bytearray()
    while True:
        part = _next_event(conn, stream, end)
        if isinstance(part, h11.Data):
            body += part.data
            if len(body) > limit:
                raise too_large
        elif isinstance(part, h11.EndOfMessage):
            return bytes(body)
        else:
            raise cut


def _send(conn: h11.Connection, stream: HTTPStream, response: Response, *, close: bool = False) -> None:
    headers = [(k, v) for k, v in response.headers if k.lower() not in ("content-length", "connection")]
    headers.append(("content-length", str(len(response.body))))
    if close:
        headers.append(("connection", "close"))
    stream.sendall(conn.send(h11.Response(status_code=response.status, headers=headers)) or b"")
    if response.body:
        stream.sendall(conn.send(h11.Data(data=response.body)) or b"")
    stream.sendall(conn.send(h11.EndOfMessage()) or b"")


def _error(conn: h11.Connection, stream: HTTPStream, status: int, text: str) -> None:
    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
        with contextlib.suppress(h11.LocalProtocolError, OSError):
            _send(conn, stream, Response.json(status, {"error": text}), close=True)


def serve_connection(
    stream: HTTPStream, handler: Callable[[Request], Response], limits: HTTPLimits = DEFAULT_LIMITS
) -> list[Exchange]:
    """Answer requests on one connection until the client closes, a limit is reached or an error happens.

    Returns:
        The exchanges, in order (a refused request is recorded with its 4xx status).
    """
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_head)
    end = time.monotonic() + limits.deadline
    exchanges: list[Exchange] = []
    try:
        while len(exchanges) < limits.max_requests:
            before = len(conn.trailing_data[0])
            fed = [0]
            event = _next_event(conn, stream, end, fed)
            if isinstance(event, h11.ConnectionClosed):
                break
            if not isinstance(event, h11.Request):
                break
            method, target = event.method.decode("ascii", "replace"), event.target.decode("ascii", "replace")
            # h11 bounds only an incomplete head; a complete one that arrived at once is measured here.
            if before + fed[0] - len(conn.trailing_data[0]) > limits.max_head:
                _error(conn, stream, 431, "head-too-large")
                exchanges.append(Exchange(method, target, 431))
                break
            headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers)
            length = next((v for k, v in headers if k == "content-length"), None)
            if length is not None and length.isdigit() and int(length) > limits.max_body:
                _error(conn, stream, 413, "body-too-large")
                exchanges.append(Exchange(method, target, 413))
                break
            body = _read_body(conn, stream, end, limits.max_body, too_large=_Closed("413"), cut=_Closed(""))
            response = handler(Request(method.upper(), target, headers, body))
            last = len(exchanges) + 1 >= limits.max_requests
            _send(conn, stream, response, close=last)
            exchanges.append(Exchange(method, target, response.status))
            if conn.our_state is h11.MUST_CLOSE or last:
                break
            conn.start_next_cycle()
    except _Closed as exc:
        if str(exc) == "413":
            _error(conn, stream, 413, "body-too-large")
            exchanges.append(Exchange("?", "?", 413))
    except h11.RemoteProtocolError as exc:
        status = exc.error_status_hint
        _error(conn, stream, status, "head-too-large" if status == 431 else "bad-request")
        exchanges.append(Exchange("?", "?", status))
    except (TimeoutError, OSError, h11.LocalProtocolError):
        pass
    return exchanges


def http_request(
    stream: HTTPStream,
    method: str,
    target: str,
    *,
    host: str,
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    limits: HTTPLimits = DEFAULT_LIMITS,
) -> Response:
    """One client request on ``stream`` (closing the connection after it), read with the same bounds.

    Raises:
        OSError: the stream failed (a TLS alert arrives here as :class:`ssl.SSLError`, an ``OSError``).
        TimeoutError: the deadline or a read timed out.
        ValueError: the answer is not HTTP/1.1 or is too large.
    """
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=limits.max_head)
    all_headers = [("host", host), ("connection", "close"), ("content-length", str(len(body))), *headers]
    if body:
        all_headers.append(("content-type", "application/json"))
    stream.sendall(conn.send(h11.Request(method=method, target=target, headers=all_headers)) or b"")
    if body:
        stream.sendall(conn.send(h11.Data(data=body)) or b"")
    stream.sendall(conn.send(h11.EndOfMessage()) or b"")
    end = time.monotonic() + limits.deadline
    try:
        event = _next_event(conn, stream, end)
        while isinstance(event, h11.InformationalResponse):
            event = _next_event(conn, stream, end)
        if not isinstance(event, h11.Response):
            raise ConnectionResetError("the endpoint closed the connection without an answer")
        data = _read_body(
            conn, stream, end, limits.max_body, too_large=ValueError("the answer's body is too large"),
            cut=ConnectionResetError("the endpoint closed the connection in the middle of its answer"),
        )
    except h11.RemoteProtocolError as exc:
        raise ValueError(f"the endpoint's answer is not HTTP/1.1 ({exc})") from None
    response_headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers)
    return Response(event.status_code, response_headers, data)
