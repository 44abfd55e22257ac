"""The one TLS server core: every server of the package (the simulated servers of :mod:`genesys_tls.harness`,
:class:`genesys_tls.handshake.Server` and ``genesys-tls serve``) is a :class:`ServerCore` with its own hooks.

Design
------
* Blocking sockets on a bounded pool of worker threads (``workers``, started as needed) that take turns at
  the listener (leader/followers): the worker whose turn it is waits in one selector for the listener and
  for the *waiting room*, accepts, and serves the next connection that is ready itself after letting the next
  idle worker take the turn, so no hand-over stands between the first bytes and the handshake; a connection
  waits in the kernel's backlog while every worker is busy. The handshake is OpenSSL's own on a blocking
  socket, so the alerts of a refused handshake (``certificate required``, ``unknown ca``...) reach the client.
* The waiting room: an accepted connection that has not sent its first bytes yet holds no worker. It waits in
  the selector (at most ``waiting`` connections, each until ``timeout`` seconds after its accept) and goes to
  a worker once readable; one that stays silent is recorded as before (``did not finish its handshake`` on a
  secure port, ``sent nothing`` on a peeking port) and closed, and a connection over the limit is closed at
  once and recorded (category ``connection``, counted in :attr:`ServerCore.waiting_refused`). So silent TCP
  connections, however many, do not delay the clients that talk, and :meth:`ServerCore.stop` closes the
  waiting connections at once (unrecorded). ``before`` runs at the accept, before the waiting room; a plain
  port without ``plain_peek`` hands its connections to ``after`` at once (the application may speak first).
* Settings by generation: a :class:`Generation` is one immutable set of resolved settings with the TLS context
  built from them. The server reads the :class:`GenerationHolder`'s current generation once per connection,
  when it is accepted, and the connection keeps it to the end; :meth:`GenerationHolder.swap` puts a new one
  in place for the next connections (live reconfiguration builds on this).
* Port modes (:class:`~genesys_tls.resolved.PortMode`): ``secure`` handshakes at once; ``plain`` serves plain
  text and refuses a TLS ClientHello (category ``protocol``); ``upgrade`` peeks (``MSG_PEEK``) at the first
  bytes and handshakes when they start a TLS handshake record, else serves plain text.
* Hooks, per connection, in the worker thread:

  - ``before(connection) -> (Category, detail) | None`` runs on the raw socket when it is accepted (in the
    thread at the listener), before any TLS byte (or plain byte) is read: returning a refusal closes the
    connection and records it (an address policy); it should not block;
  - ``after(connection) -> None`` runs once the connection is accepted and recorded, with the socket's
    timeout set to ``idle_timeout``: :func:`close` (default: close_notify, then close), :func:`echo` (echo
    bytes until the client closes or is idle), :func:`echo_lines` (a greeting, then line by line, as the
    simulated servers do), or an application (an HTTP app on the TLS socket).
* Records: every connection gives one :class:`~genesys_tls.results.HandshakeResult` (server side; ``tls``,
  ``port_mode`` and ``generation`` filled when ``port_fields``), kept in a bounded buffer (``keep``; ``None``
  keeps all) and passed to ``on_record`` one call at a time (a callback that raises stops the server and
  :meth:`ServerCore.serve_forever` raises it). :attr:`ServerCore.total` counts every record.
* Accept errors: ``EMFILE``/``ENFILE``/``ENOBUFS``/``ENOMEM``/``ECONNABORTED``/``EPROTO`` back off (10 ms
  doubling to 1 s) and continue; each is kept as an :class:`AcceptError` (:attr:`ServerCore.accept_errors`,
  :attr:`ServerCore.accept_error_count`). Any other accept error stops the server for real:
  :attr:`ServerCore.failure` holds it, :attr:`ServerCore.running` turns false and ``serve_forever`` raises it.
* Timeouts: ``timeout`` bounds the wait for the first bytes (in the waiting room) and each read and write of
  the peek and the handshake; ``idle_timeout`` bounds each wait of the ``after`` hook.

API
---
``ServerCore(generation, *, host=LOOPBACK, port=0, workers=64, timeout=10.0, idle_timeout=60.0, before=None,
after=close, on_record=None, keep=10000, count=None, port_fields=True, warnings_in_records=True,
parse_peer=True, name=None, plain_peek=True, drain=0.0,
session_tickets=0, waiting=WAITING)`` binds at once (:attr:`~ServerCore.address`);
``generation`` is a :class:`Generation` (``Generation.build(resolved)`` for a Genesys port,
``Generation.own(context, mode)`` for settings of another kind) or a :class:`GenerationHolder`.
:meth:`~ServerCore.start` serves in a background thread, :meth:`~ServerCore.serve_forever` in the calling
one; :meth:`~ServerCore.stop` stops accepting, closes the listener and (``drop=True``) the open connections,
and joins every thread. :meth:`~ServerCore.wait` waits for a number of records. ``with ServerCore(...) as core:``
starts and stops.

Example::

    from genesys_tls.server import Generation, ServerCore, echo

    generation = Generation.build(resolve_server(env, "TServer", "secure"))
    with ServerCore(generation, after=echo) as core:
        ...  # clients dial core.address
        core.wait(1)
        print(core.records[0].to_dict())

Size: over 600 lines because it is the whole server engine (generations, hooks, accept loop, workers,
records) in one place, so that every server of the package behaves the same.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from ._classify import classify
from .addresses import LOOPBACK, format_address
from .catalogue import Side
from .errors import Category, ConfigurationError
from .resolved import Check, Mode, PortMode, ResolvedSecurity
from .results import HandshakeResult, LazyPeerIdentity

__all__ = [
    "AcceptError",
    "After",
    "Before",
    "Connection",
    "Generation",
    "GenerationHolder",
    "ServerCore",
    "close",
    "echo",
    "echo_lines",
    "is_tls_client_hello",
]

#: Accept errors that say "not now" (descriptors, buffers, an aborted connection): back off and continue.
BACKOFF_ERRNOS = frozenset(
    code
    for code in (
        errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.ECONNABORTED,
        getattr(errno, "EPROTO", None), getattr(errno, "ENETDOWN", None),
    )
    if code is not None
)
#: Seconds a server waits for the client's close_notify after sending its own.
CLOSE_WAIT = 1.0
#: Longest line :func:`echo_lines` echoes; a longer one closes the connection.
MAX_LINE = 64 * 1024
#: Seconds between two peeks while only part of a TLS record header has arrived.
_PEEK_PAUSE = 0.005
#: Seconds the accept loop waits before looking at its stop flag again.
_POLL = 0.05
#: Default of the most accepted connections that wait for their first bytes without a worker (``waiting``).
WAITING = 512


def is_tls_client_hello(data: bytes) -> bool:
    """Whether ``data`` starts like a TLS handshake record (``0x16 0x03 0x00..0x04``: a ClientHello).

    A prefix shorter than three bytes answers whether it *could* still be one.

    Example:
        >>> is_tls_client_hello(b"\\x16\\x03\\x01"), is_tls_client_hello(b"GET /")
        (True, False)
    """
    if not data:
        return False
    if data[0] != 0x16:
        return False
    if len(data) >= 2 and data[1] != 0x03:
        return False
    return not (len(data) >= 3 and data[2] > 0x04)


# --------------------------------------------------------------------------------------------- generations


@attrs.frozen
class Generation:
    """One immutable set of server settings: the resolved port and the TLS context built from it.

    Attributes:
        resolved: ``resolve_server(...)``; ``None`` for a server with settings of its own (:meth:`own`).
        context: the server context (``None`` on a plain port).
        warnings: statements about weakened or ineffective settings of the context.
        number: the generation's number (0 for the first; :meth:`GenerationHolder.swap` counts up).
        own_mode, own_checks: the TLS side's mode and checks when ``resolved`` is ``None``.
    """

    resolved: ResolvedSecurity | None = attrs.field(repr=False)
    context: ssl.SSLContext | None = attrs.field(eq=False, repr=False)
    warnings: tuple[str, ...] = ()
    number: int = 0
    own_mode: Mode = Mode.PLAIN
    own_checks: tuple[Check, ...] = ()

    @classmethod
    def own(
        cls, context: ssl.SSLContext | None, mode: Mode, checks: tuple[Check, ...] = (), *,
        warnings: tuple[str, ...] = (),
    ) -> Generation:
        """Settings that are not a Genesys port (an application's own): a ``secure`` port with ``context``
        (TLS ``mode``, verifying ``checks``), a ``plain`` one without."""
        return cls(None, context, warnings, own_mode=mode, own_checks=checks)

    @classmethod
    def build(
        cls, resolved: ResolvedSecurity, *, number: int = 0, plain_ok: bool = True, **context_kwargs: Any
    ) -> Generation:
        """Build the context of a resolved port (none for a plain port when ``plain_ok``).

        Args:
            resolved: ``resolve_server(...)``.
            number: the generation number.
            plain_ok: a plain port gives a generation without a context; ``False`` refuses it as
                :func:`~genesys_tls.contexts.server_context` does.
            **context_kwargs: ``password``, ``password_env``, ``crl_check``, ``crl_cache``.

        Raises:
            ConfigurationError, TLSError: as :func:`~genesys_tls.contexts.server_context`.
        """
        if plain_ok and resolved.port_mode is PortMode.PLAIN:
            return cls(resolved, None, (), number)
        from .contexts import _build_server_with_notes

        context, notes, _ = _build_server_with_notes(resolved, **context_kwargs)
        return cls(resolved, context, notes, number)

    @property
    def port_settings(self) -> ResolvedSecurity:
        """The resolved Genesys port this generation serves (what a reload compares with).

        Raises:
            ConfigurationError: the generation has settings of its own (:meth:`own`), not a Genesys port.
        """
        if self.resolved is None:
            raise ConfigurationError(
                "this server's settings are its own, not a Genesys port's: there is nothing to resolve again",
                valid="a server built from resolve_server(...)",
            )
        return self.resolved

    @property
    def port_mode(self) -> PortMode:
        """The port's mode."""
        if self.resolved is None:
            return PortMode.PLAIN if self.context is None else PortMode.SECURE
        return self.resolved.port_mode

    @property
    def tls_mode(self) -> Mode:
        """The mode of the TLS side (``plain`` on a plain port)."""
        if self.context is None:
            return Mode.PLAIN
        return self.resolved.tls_mode if self.resolved is not None else self.own_mode

    @property
    def checks(self) -> tuple[Check, ...]:
        """What the TLS side verifies of clients."""
        if self.context is None:
            return ()
        return self.resolved.checks if self.resolved is not None else self.own_checks


class GenerationHolder:
    """The current :class:`Generation` of a server, swapped atomically; connections read it once, when
    accepted, and keep what they read."""

    def __init__(self, generation: Generation) -> None:
        self._current = generation
        self._changed = threading.Condition(threading.Lock())

    @property
    def current(self) -> Generation:
        """The generation new connections get."""
        return self._current

    def swap(self, generation: Generation) -> Generation:
        """Put ``generation`` in place (numbered one more than the current one) and return the previous one."""
        with self._changed:
            previous = self._current
            self._current = attrs.evolve(generation, number=previous.number + 1)
            self._changed.notify_all()
            return previous

    def wait_for(self, number: int, timeout: float = 10.0) -> bool:
        """Wait until the current generation's number is at least ``number``.

        Returns:
            whether it is, before ``timeout`` seconds.
        """
        with self._changed:
            return self._changed.wait_for(lambda: self._current.number >= number, timeout)


# --------------------------------------------------------------------------------------------- hooks


@attrs.define
class Connection:
    """One accepted connection, as the hooks see it.

    Attributes:
        sock: the socket: the raw one in ``before``; the :class:`ssl.SSLSocket` after a TLS handshake.
        peer: the client's socket address.
        client: the client's ``HOST:PORT``.
        generation: the settings this connection is served with, to its end.
        server: the core serving it.
        record: the connection's record once accepted (``None`` in ``before``).
    """

    sock: socket.socket
    peer: tuple[Any, ...]
    client: str | None
    generation: Generation
    server: ServerCore
    record: HandshakeResult | None = None

    @property
    def tls(self) -> bool:
        """Whether the connection speaks TLS."""
        return isinstance(self.sock, ssl.SSLSocket)


#: ``before(connection)``: a refusal ``(category, detail)`` or ``None`` to go on.
Before = Callable[[Connection], "tuple[Category, str] | None"]
#: ``after(connection)``: what the server does with an accepted connection.
After = Callable[[Connection], None]


def close(connection: Connection) -> None:
    """The default ``after`` hook: send close_notify (TLS), wait briefly for the client's, close.

    A plain connection (an upgrade or plain port) is closed gracefully too: the server's side is shut
    (the client reads the end of the stream), then what the client already sent is read and dropped, for
    at most :data:`CLOSE_WAIT` seconds and :data:`MAX_LINE` bytes, so that closing does not reset the
    connection (a socket closed with unread data sends a TCP reset, which the client sees as an error)."""
    wait = min(CLOSE_WAIT, connection.server.idle_timeout or CLOSE_WAIT)
    sock = connection.sock
    with contextlib.suppress(OSError, ValueError):
        if isinstance(sock, ssl.SSLSocket):
            sock.settimeout(wait)
            sock.unwrap()
            return
        sock.shutdown(socket.SHUT_WR)
        deadline, drained = time.monotonic() + wait, 0
        while drained <= MAX_LINE and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                break
            drained += len(data)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        return b""


def echo(connection: Connection) -> None:
    """``after`` hook: echo what the client sends until it closes or stays idle for ``idle_timeout``."""
    sock = connection.sock
    with contextlib.suppress(OSError, ValueError):
        while data := _recv(sock):
            sock.sendall(data)
    close(connection)


def echo_lines(greeting: bytes = b"") -> After:
    """``after`` hook factory: send ``greeting`` on a TLS connection, then echo every line until the client
    closes, stays idle, or sends a line longer than :data:`MAX_LINE`."""

    def hook(connection: Connection) -> None:
        sock = connection.sock
        with contextlib.suppress(OSError, ValueError):
            if greeting and connection.tls:
                sock.sendall(greeting)
            buffer = b""
            while data := _recv(sock):
                buffer += data
                while b"\n" in buffer:
                    line, _, buffer = buffer.partition(b"\n")
                    sock.sendall(line + b"\n")
                if len(buffer) > MAX_LINE:
                    break
        close(connection)

    return hook


# --------------------------------------------------------------------------------------------- the core


@attrs.frozen
class AcceptError:
    """An error of ``accept`` that the server backed off from.

    Attributes:
        errno: the error number (``EMFILE``...).
        detail: its text.
        at: ``time.monotonic()`` when it happened.
    """

    errno: int
    detail: str
    at: float = attrs.field(factory=time.monotonic, eq=False)


class ServerCore:
    """A TLS (or plain, or upgrade) server on one listening socket. See the module docstring.

    Args:
        generation: the settings: a :class:`Generation`, or a :class:`GenerationHolder` to swap them live.
        host: the address to listen on (loopback by default).
        port: the TCP port (0: an ephemeral port, see :attr:`address`).
        workers: the most connections handled at once (the worker pool's size).
        timeout: seconds for each read and write before and during the handshake.
        idle_timeout: seconds the ``after`` hook waits for the client each time (``None``: no limit).
        before: the hook before any byte is read (a refusal closes the connection and is recorded).
        after: the hook for accepted connections (default :func:`close`).
        on_record: called with each record, one call at a time.
        keep: how many records :attr:`records` keeps (the newest; ``None``: all).
        count: stop accepting after this many connections and return from :meth:`serve_forever` once
            they are handled; ``None``: until :meth:`stop`.
        port_fields: fill ``tls`` and ``port_mode`` of the records (the simulated servers' shape).
        warnings_in_records: copy the generation's warnings into every record (``serve``'s shape).
        parse_peer: read the client's certificate identity into ``peer`` (``False``: ``peer`` stays empty);
            it is parsed when first looked at (:class:`~genesys_tls.results.LazyPeerIdentity`).
        name: the name of the server's threads.
        plain_peek: a plain port peeks at the first bytes and refuses a TLS ClientHello (category
            ``protocol``); ``False`` hands every plain connection to ``after`` unread (an application that
            answers any bytes itself).
        drain: seconds a refused handshake's socket is half-closed and read (and dropped) before it is
            closed, so that a client that already sent data after its Finished (TLS 1.3) reads the alert
            rather than a reset; 0: closed at once.
        session_tickets: TLS 1.3 session tickets sent after each handshake (default 0: none; set on the
            generation's context when the first connection uses it).
        waiting: the most accepted connections that wait for their first bytes without a worker (the
            waiting room, default :data:`WAITING`); one more is closed at once and recorded.

    Raises:
        OSError: the address cannot be bound.
    """

    def __init__(
        self,
        generation: Generation | GenerationHolder,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        workers: int = 64,
        timeout: float = 10.0,
        idle_timeout: float | None = 60.0,
        before: Before | None = None,
        after: After = close,
        on_record: Callable[[HandshakeResult], object] | None = None,
        keep: int | None = 10_000,
        count: int | None = None,
        port_fields: bool = True,
        warnings_in_records: bool = True,
        parse_peer: bool = True,
        name: str | None = None,
        plain_peek: bool = True,
        drain: float = 0.0,
        session_tickets: int = 0,
        waiting: int = WAITING,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if waiting < 0:
            raise ValueError("waiting must be at least 0")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        self.holder = generation if isinstance(generation, GenerationHolder) else GenerationHolder(generation)
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.before = before
        self.after = after
        self.on_record = on_record
        self.count = count
        self.port_fields = port_fields
        self.warnings_in_records = warnings_in_records
        self.parse_peer = parse_peer
        self.plain_peek = plain_peek
        self.drain = drain
        self.session_tickets = session_tickets
        self._tickets_set: ssl.SSLContext | None = None
        resolved = self.holder.current.resolved
        self.name = name or f"genesys-tls {resolved.object if resolved is not None else 'server'}"
        self.workers = workers
        self.waiting = waiting
        self.waiting_refused = 0
        self.failure: BaseException | None = None
        self.accept_errors: collections.deque[AcceptError] = collections.deque(maxlen=100)
        self.accept_error_count = 0
        self.total = 0
        self.accepted = 0
        self._records: collections.deque[HandshakeResult] = collections.deque(maxlen=keep)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._accepting_done = threading.Event()
        self._ended = threading.Event()  # nothing more to serve: accepting done and the waiting room empty
        self._turn = threading.Lock()  # held by the worker at the listener
        self._count_lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._idle = 0  # workers not serving a connection (at the listener or waiting for their turn)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # The waiting room and the connections ready for a worker: used only by the worker at the listener.
        self._room: dict[socket.socket, tuple[Connection, float]] = {}  # in accept order, so in deadline order
        self._ready: collections.deque[Connection] = collections.deque()
        self._backoff = 0.01
        self._serving = False  # serve_forever was called (in start's thread or the caller's)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=128)
        self._listener.setblocking(False)
        # poll(2) where there is one: no descriptor of its own, and no system call to (un)register a socket.
        self._selector: selectors.BaseSelector = (
            selectors.PollSelector() if hasattr(selectors, "PollSelector") else selectors.SelectSelector())
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        bound = self._listener.getsockname()
        self.address: tuple[str, int] = (str(bound[0]), int(bound[1]))

    def __repr__(self) -> str:
        return f"<ServerCore {self.name} at {format_address(self.address)} records={self.total}>"

    # ----------------------------------------------------------------------------------------- lifecycle

    @property
    def generation(self) -> Generation:
        """The generation new connections get."""
        return self.holder.current

    @property
    def running(self) -> bool:
        """Whether the server accepts connections (started, not stopped, not failed)."""
        return self._thread is not None and self._thread.is_alive() and self.failure is None

    def __enter__(self) -> ServerCore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Serve in a background (daemon) thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(BaseException):
            self.serve_forever()

    def serve_forever(self) -> None:
        """Accept until :attr:`count` connections, :meth:`stop`, or a failure; wait for the connections under
        way. Raises the failure: a fatal accept error, or what ``on_record`` raised."""
        self._serving = True
        with self._count_lock:
            self._spawn()
        try:
            self._accepting_done.wait()
        except BaseException:  # interrupted (KeyboardInterrupt): end the turns and the waiting room first
            self._stop.set()
            raise
        finally:
            self._accepting_done.wait()
            while True:  # the connections under way end, and with them their workers
                with self._count_lock:
                    running = [t for t in self._workers if t.is_alive()]
                if not running:
                    break
                for thread in running:
                    thread.join()
            self._close_room(final=True)
            self._finished.set()
            with self._cond:
                self._cond.notify_all()
        if self.failure is not None:
            raise self.failure

    def _spawn(self) -> None:
        """Start one more worker (with ``_count_lock`` held). Raises RuntimeError when no thread can start."""
        thread = threading.Thread(target=self._worker, name=f"{self.name}_{len(self._workers)}", daemon=True)
        thread.start()
        self._workers.append(thread)
        self._idle += 1

    def _worker(self) -> None:
        """One worker: take the turn at the listener (one worker at a time), wait for the next connection ready
        to be served, let the next idle worker take the turn (starting one when none is idle and the pool is
        not full), then serve the connection itself."""
        while not self._ended.is_set():
            with self._turn:
                if self._ended.is_set():
                    return
                try:
                    connection = self._next()
                except BaseException:
                    self._end()
                    raise
                if connection is None:
                    return
                with self._count_lock:
                    self._idle -= 1
                    if (self._idle == 0 and len(self._workers) < self.workers
                            and not (self._accepting_done.is_set() and not self._room and not self._ready)):
                        # No thread to start now (resources exhausted): this worker takes the turn again once
                        # its connection is served.
                        with contextlib.suppress(RuntimeError):
                            self._spawn()
            try:
                self._work(connection)
            finally:
                with self._count_lock:
                    self._idle += 1

    def _end(self) -> None:
        """Nothing more to serve (with the turn held): close the waiting room, end the turns."""
        self._close_room()
        self._accepting_done.set()
        self._ended.set()

    def _close_room(self, *, final: bool = False) -> None:
        """Close the waiting connections (unrecorded) and those ready but not served; ``final``: the selector
        too (once no worker is left)."""
        room, self._room = self._room, {}
        for sock in room:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(sock)
            with contextlib.suppress(OSError):
                sock.close()
        for connection in self._ready:
            with contextlib.suppress(OSError):
                connection.sock.close()
        self._ready.clear()
        if final:
            self._selector.close()

    def _next(self) -> Connection | None:
        """With the turn held: the next connection ready to be served (its first bytes arrived, or a plain port
        that does not peek), accepting and expiring the waiting room meanwhile; ``None`` once stopped, after a
        fatal accept error (kept in :attr:`failure`), or after :attr:`count` connections once the waiting room
        is empty."""
        while True:
            if self._ready:
                return self._ready.popleft()
            if self._stop.is_set() or self.failure is not None or (self._accepting_done.is_set() and not self._room):
                self._end()
                return None
            now = time.monotonic()
            wait = _POLL
            if self._room:
                first = next(iter(self._room.values()))[1]
                if first <= now:
                    self._expire(now)
                    continue
                wait = min(wait, first - now)
            for key, _ in self._selector.select(wait):
                if key.data is None:
                    self._accept()
                else:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)  # noqa: S101 - only sockets are registered
                    self._selector.unregister(sock)
                    connection, _ = self._room.pop(sock)
                    self._ready.append(connection)

    def _expire(self, now: float) -> None:
        """Record and close the waiting connections whose first bytes did not come in time."""
        while self._room:
            sock, (connection, deadline) = next(iter(self._room.items()))
            if deadline > now:
                return
            del self._room[sock]
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(sock)
            with contextlib.suppress(OSError):
                sock.close()
            generation = connection.generation
            if generation.port_mode is PortMode.SECURE:
                self._record(self._make(generation, True, connection.client, (
                    Category.CONNECTION, f"the client did not finish its handshake within {self.timeout}s")))
            else:
                self._record(self._make(generation, False, connection.client, (
                    Category.CONNECTION, f"the client sent nothing within {self.timeout}s")))

    def _accept(self) -> None:
        """Accept one connection (the listener is readable), backing off from the errors of
        :data:`BACKOFF_ERRNOS`; a fatal error is kept in :attr:`failure`. The connection gets its generation,
        goes through ``before`` and into the waiting room (or straight to a worker: a plain port that does not
        peek)."""
        try:
            sock, peer = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if self._stop.is_set():
                return
            if exc.errno in BACKOFF_ERRNOS:
                self.accept_error_count += 1
                self.accept_errors.append(AcceptError(exc.errno or 0, exc.strerror or str(exc)))
                self._stop.wait(self._backoff)
                self._backoff = min(self._backoff * 2, 1.0)
                return
            self.failure = exc
            return
        self._backoff = 0.01
        if self._stop.is_set():
            sock.close()
            return
        self.accepted += 1
        if self.count is not None and self.accepted >= self.count:
            self._accepting_done.set()
            self._selector.unregister(self._listener)
        try:
            connection = self._admit(sock, peer)
        except Exception:  # one connection never stops the server
            connection = None
        if connection is None:
            with contextlib.suppress(OSError):
                sock.close()
            return
        if connection.generation.port_mode is PortMode.PLAIN and not self.plain_peek:
            self._ready.append(connection)
        elif len(self._room) >= self.waiting:
            self.waiting_refused += 1
            sock.close()
            self._record(self._make(connection.generation, False, connection.client, (
                Category.CONNECTION, f"the server's waiting room is full ({self.waiting} connections that sent "
                                     "nothing yet): connection closed")))
        else:
            self._selector.register(sock, selectors.EVENT_READ, connection)
            self._room[sock] = (connection, time.monotonic() + self.timeout)

    def _admit(self, sock: socket.socket, peer: tuple[Any, ...]) -> Connection | None:
        """The accepted connection with the current generation, once ``before`` let it in (``None``: refused
        and recorded)."""
        generation = self.holder.current
        client = format_address(peer)
        connection = Connection(sock, peer, client, generation, self)
        sock.settimeout(self.timeout)
        with contextlib.suppress(OSError):
            # Small writes answer small reads: without NODELAY, Nagle and delayed ACKs add ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.before is not None:
            refusal = self.before(connection)
            if refusal is not None:
                self._record(self._make(generation, False, client, refusal))
                return None
        return connection

    def stop(self, timeout: float = 10.0, *, drop: bool = True) -> None:
        """Stop accepting, close the listener, close the open connections (``drop``; else wait for them),
        and join the threads (idempotent)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < deadline:
            if drop:
                self._drop_open()
            self._thread.join(_POLL)
        if self._thread is None:
            if drop:
                self._drop_open()
            if not self._serving:  # else serve_forever, in the caller's thread, closes the waiting room
                self._ended.set()
                self._close_room(final=True)
        self._listener.close()

    def _drop_open(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the descriptor, under any SSL wrapper

    # ----------------------------------------------------------------------------------------- records

    @property
    def records(self) -> list[HandshakeResult]:
        """The records kept (the newest :attr:`keep`), in order (a copy)."""
        with self._cond:
            return list(self._records)

    def wait(self, n: int | None = None, timeout: float = 10.0) -> bool:
        """Wait until ``n`` connections are recorded (``None``: until the server ends).

        Returns:
            whether they were, before ``timeout`` seconds (or before the server ended).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if n is not None and self.total >= n:
                    return True
                if self._finished.is_set():
                    return n is None or self.total >= n
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)

    def _record(self, record: HandshakeResult) -> None:
        with self._cond:
            self._records.append(record)
            self.total += 1
            if self.on_record is not None and self.failure is None:
                try:
                    self.on_record(record)
                except BaseException as exc:  # reported by serve_forever in the serving thread
                    self.failure = exc
                    self._stop.set()
            self._cond.notify_all()

    def _make(
        self, generation: Generation, tls: bool, client: str | None, error: tuple[Category, str] | None, **known: Any
    ) -> HandshakeResult:
        fields: dict[str, Any] = {"protocol": None, "cipher": None, "peer": None, "authenticated": False, **known}
        return HandshakeResult(
            ok=error is None,
            checks=generation.checks if tls else (),
            error=error,
            mode=generation.tls_mode.value if tls else Mode.PLAIN.value,
            address=client,
            side=Side.SERVER,
            warnings=generation.warnings if self.warnings_in_records else (),
            tls=tls if self.port_fields else None,
            port_mode=generation.port_mode if self.port_fields else None,
            generation=generation.number,
            **fields,
        )

    # ----------------------------------------------------------------------------------------- serving

    def _work(self, connection: Connection) -> None:
        sock = connection.sock
        with self._open_lock:
            self._open.add(sock)
        try:
            self._serve(connection)
        except Exception:  # noqa: S110 - one connection never stops the server
            pass
        finally:
            with self._open_lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def _serve(self, connection: Connection) -> None:
        sock, generation, client = connection.sock, connection.generation, connection.client
        mode = generation.port_mode
        use_tls = mode is PortMode.SECURE
        if mode is PortMode.UPGRADE or (mode is PortMode.PLAIN and self.plain_peek):
            try:
                first = self._peek(sock)
            except TimeoutError:
                self._record(self._make(generation, False, client, (
                    Category.CONNECTION, f"the client sent nothing within {self.timeout}s")))
                return
            except OSError as exc:
                self._record(self._make(generation, False, client, classify(exc, side=Side.SERVER)))
                return
            if not first:
                self._record(self._make(generation, False, client, (
                    Category.CONNECTION, "the client closed the connection without a word")))
                return
            hello = is_tls_client_hello(first)
            if mode is PortMode.PLAIN and hello:
                self._record(self._make(generation, False, client, (
                    Category.PROTOCOL, "a TLS ClientHello arrived on a plain port (the port has no tls=1)")))
                return
            use_tls = hello
        if use_tls:
            self._serve_tls(connection)
        else:
            connection.record = self._make(generation, False, client, None)
            self._record(connection.record)
            self._after(connection)

    def _peek(self, sock: socket.socket) -> bytes:
        """The first bytes, left in the socket: three, or fewer when they already tell TLS from plain text or
        the client closed. Raises TimeoutError."""
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stop.is_set():
                raise TimeoutError
            sock.settimeout(remaining)
            data = sock.recv(3, socket.MSG_PEEK)
            if len(data) >= 3 or not data or not is_tls_client_hello(data):
                sock.settimeout(self.timeout)
                return data
            time.sleep(min(_PEEK_PAUSE, remaining))

    def _serve_tls(self, connection: Connection) -> None:
        generation, client = connection.generation, connection.client
        context = generation.context
        assert context is not None  # noqa: S101 - secure and upgrade ports have one
        if context is not self._tickets_set:
            # TLS 1.3 session tickets cost every handshake two more records; the package's clients never
            # resume, so none are sent unless asked for (session_tickets).
            with contextlib.suppress(ValueError, AttributeError):
                context.num_tickets = self.session_tickets
            self._tickets_set = context
        try:
            tls = context.wrap_socket(connection.sock, server_side=True, do_handshake_on_connect=False)
        except OSError as exc:
            self._record(self._make(generation, True, client, classify(exc, side=Side.SERVER)))
            return
        with self._open_lock:
            self._open.discard(connection.sock)
            self._open.add(tls)
        connection.sock = tls
        try:
            try:
                tls.do_handshake()
            except TimeoutError:
                self._record(self._make(generation, True, client, (
                    Category.CONNECTION, f"the client did not finish its handshake within {self.timeout}s")))
                return
            except OSError as exc:
                self._record(self._make(generation, True, client, classify(exc, side=Side.SERVER)))
                self._drain(tls)
                return
            der = tls.getpeercert(binary_form=True)
            # The client's certificate is parsed only when the record's peer is looked at.
            peer = LazyPeerIdentity(der) if der and self.parse_peer else None
            cipher = tls.cipher()
            connection.record = self._make(
                generation, True, client, None, protocol=tls.version(), cipher=cipher[0] if cipher else None,
                peer=peer, authenticated=generation.tls_mode is Mode.MUTUAL and der is not None,
            )
            self._record(connection.record)
            self._after(connection)
        finally:
            with self._open_lock:
                self._open.discard(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def _drain(self, tls: ssl.SSLSocket) -> None:
        """Half-close a refused handshake's socket and drop what arrives for :attr:`drain` seconds (or until
        the client closes), so that closing does not reset the connection and discard the alert."""
        if self.drain <= 0:
            return
        deadline = time.monotonic() + self.drain
        with contextlib.suppress(OSError, ValueError):
            tls.shutdown(socket.SHUT_WR)  # drops the TLS layer: the reads below are of the raw socket
            while (remaining := deadline - time.monotonic()) > 0 and not self._stop.is_set():
                tls.settimeout(remaining)
                if not tls.recv(4096):
                    break

    def _after(self, connection: Connection) -> None:
        with contextlib.suppress(OSError, ValueError):
            connection.sock.settimeout(self.idle_timeout)
            self.after(connection)
