"""Simulated Genesys components on loopback: servers that listen with a port's effective settings and clients
that dial a connection's, with real TLS handshakes, usable from synchronous test code.

* :class:`SimulatedServer` listens on one listening port of an environment (``resolve_server`` +
  :func:`~genesys_tls.contexts.server_context`) on an asyncio loop that runs in a background thread. It
  records every connection as a :class:`HandshakeRecord` (accepted or refused, the category of a refusal,
  TLS or plain, the peer's certificate identity), greets TLS clients with one line and echoes the lines a
  client sends.
* :class:`SimulatedClient` / :func:`run_client` dial one connection of an environment (``resolve_client`` +
  :func:`~genesys_tls.contexts.client_plan` + :func:`~genesys_tls.handshake.connect`) and return the
  :class:`~genesys_tls.handshake.HandshakeResult`; a plain connection sends one line and reads it back.
* :func:`environment_with_addresses` points an environment's ports at the addresses servers actually listen
  on (ephemeral ports), the way ``--address`` does on the command line: only where clients dial changes, never
  the name they check.

Port modes (Configuration Server's auto-detect ports), chosen from the port's effective settings:

* ``plain`` (``tls`` off, the ``default`` port): no TLS. A TLS ClientHello arriving there is refused (category
  ``protocol``) so that a misconfigured TLS client fails at once instead of waiting.
* ``secure`` (``tls=1``): TLS at once.
* ``upgrade`` (``upgrade=1`` on the port, Configuration Server auto-detect): TLS and plain clients on one port.
  The server peeks (``MSG_PEEK``) at the first bytes of each connection on the raw socket, so nothing is
  consumed: a TLS record header of a handshake (``0x16 0x03 0x0X``) gets a TLS handshake, anything else is
  served as plain text. The TLS side uses the port's certificate settings as a ``secure`` port would.

TLS runs on the loop through :class:`ssl.SSLObject` and memory BIOs over the non-blocking socket
(``loop.sock_recv``/``loop.sock_sendall``) rather than asyncio's SSL transport: asyncio closes the connection
without sending OpenSSL's alert when a server handshake fails, so a client would never learn why it was
refused (``certificate required``, ``certificate revoked``, ``protocol version``), which Genesys servers and
this harness do tell it.

Example::

    import genesys_tls as gt
    from genesys_tls.harness import SimulatedServer, run_client

    env = gt.load("environment.yaml")
    with SimulatedServer(env, "TServer", "secure", port=0) as server:     # 0: an ephemeral port
        result = run_client(env, "Client_client-host", server)           # dials server.address
        assert result.ok, result.error
        (record,) = server.wait_for(1)
        print(record.peer, record.protocol)

:meth:`SimulatedServer.stop` closes the listener and every connection, stops the loop and joins its thread
(nothing is left running). The peek waits with ``loop.add_reader``, which the default (selector) event loops
of Linux and macOS provide.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import attrs

from .catalogue import Side
from .contexts import parse_address, server_context
from .errors import Category, ConfigurationError
from .handshake import HandshakeResult, PeerIdentity, classify, connect, connect_async
from .model import DEFAULT_PORT_ID, Environment, Host
from .resolve import Mode, Reading, ResolvedSecurity, resolve_client, resolve_server

__all__ = [
    "DEFAULT_LINE",
    "HandshakeRecord",
    "PortMode",
    "SimulatedClient",
    "SimulatedServer",
    "environment_with_addresses",
    "is_tls_client_hello",
    "run_client",
]

_LOOPBACK = "127.0.0.1"
#: The line a plain client sends (and expects back).
DEFAULT_LINE = b"hello genesys"
#: Longest line the server echoes; a longer one closes the connection (nothing grows without bound).
_MAX_LINE = 64 * 1024
#: Seconds between two peeks while only part of a TLS record header has arrived.
_PEEK_PAUSE = 0.005


class PortMode(enum.StrEnum):
    """How a listening port talks (Configuration Server port modes)."""

    PLAIN = "plain"  #: no TLS (``tls`` off)
    SECURE = "secure"  #: TLS at once (``tls=1``)
    UPGRADE = "upgrade"  #: TLS or plain, detected from the client's first bytes (``upgrade=1``)


def port_mode(resolved: ResolvedSecurity) -> PortMode:
    """The :class:`PortMode` of a resolved listening port: ``upgrade=1`` wins over ``tls``."""
    if resolved["upgrade"].as_bool():
        return PortMode.UPGRADE
    return PortMode.SECURE if resolved.tls else PortMode.PLAIN


def is_tls_client_hello(data: bytes) -> bool:
    """Whether ``data`` starts like a TLS handshake record (``0x16 0x03 0x00..0x04``: a ClientHello).

    A prefix shorter than three bytes answers whether it *could* still be one.
    """
    if not data:
        return False
    if data[0] != 0x16:
        return False
    if len(data) >= 2 and data[1] != 0x03:
        return False
    return not (len(data) >= 3 and data[2] > 0x04)


def _format_address(address: tuple[Any, ...] | None) -> str | None:
    if not address:
        return None
    host, port = str(address[0]), int(address[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --------------------------------------------------------------------------------------------- records


@attrs.frozen
class HandshakeRecord:
    """One connection a :class:`SimulatedServer` took, as the server saw it.

    Attributes:
        accepted: the server accepted it (TLS handshake completed, or a plain connection on a port that
            serves plain text).
        tls: the connection used TLS (``False`` for plain connections).
        port_mode: the mode of the port it arrived on.
        protocol: the TLS version negotiated (``None`` for plain or refused connections).
        cipher: the cipher suite negotiated.
        peer: the client's certificate identity (only when the port asked for one and it was verified).
        category: why it was refused (``None`` when accepted).
        detail: a readable account of the refusal (empty when accepted).
        client: the client's address ``HOST:PORT``.
        authenticated: the client was authenticated by its certificate (mutual ports).
        checks: what the server verified (``chain``, ``crl``) on a mutual port.
        mode: the TLS mode of the port's settings (``plain``, ``simple``, ``mutual``).
        at: ``time.monotonic()`` when it was recorded.
    """

    accepted: bool
    tls: bool
    port_mode: PortMode
    protocol: str | None = None
    cipher: str | None = None
    peer: PeerIdentity | None = None
    category: Category | None = None
    detail: str = ""
    client: str | None = None
    authenticated: bool = False
    checks: tuple[str, ...] = ()
    mode: str = Mode.PLAIN.value
    at: float = attrs.field(factory=time.monotonic, eq=False)

    @property
    def outcome(self) -> str:
        """``ok`` or the refusal's category, as the demo prints it."""
        return "ok" if self.category is None else self.category.value

    def to_result(self) -> HandshakeResult:
        """The same as a server-side :class:`~genesys_tls.handshake.HandshakeResult` (``serve`` shape)."""
        return HandshakeResult(
            ok=self.accepted,
            protocol=self.protocol,
            cipher=self.cipher,
            peer=self.peer,
            checks=self.checks,
            error=(self.category, self.detail) if self.category is not None else None,
            mode=self.mode,
            authenticated=self.authenticated,
            address=self.client,
            side=Side.SERVER,
        )

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``serve --json`` object plus ``tls`` and ``port-mode``."""
        out = self.to_result().to_dict()
        out["tls"] = self.tls
        out["port-mode"] = self.port_mode.value
        return out


# --------------------------------------------------------------------------------------------- server


class _PlainChannel:
    """Bytes in and out of a non-blocking socket on the running loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self._loop = loop
        self._sock = sock

    async def recv(self) -> bytes:
        return await self._loop.sock_recv(self._sock, 65536)

    async def send(self, data: bytes) -> None:
        await self._loop.sock_sendall(self._sock, data)


class _TLSChannel:
    """A server-side TLS connection driven through memory BIOs over a non-blocking socket.

    asyncio's own SSL transport does not send the alert of a failed server handshake (it closes the
    connection at once), so a client would never learn *why* it was refused; here everything OpenSSL writes,
    alerts included, goes out before the socket closes, as with a Genesys server.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, context: ssl.SSLContext) -> None:
        self._loop = loop
        self._sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            await self._loop.sock_sendall(self._sock, data)

    async def _fill(self) -> None:
        data = await self._loop.sock_recv(self._sock, 65536)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    async def handshake(self) -> None:
        """Handshake; what OpenSSL writes at its end (TLS 1.3 session tickets) waits for the next :meth:`send`
        or :meth:`flush`, so that it leaves in one segment with the greeting.

        Raises:
            ssl.SSLError: the handshake failed; OpenSSL's alert was sent first.
        """
        while True:
            try:
                self.tls.do_handshake()
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
            except ssl.SSLError:
                with contextlib.suppress(OSError):
                    await self._flush()
                raise
            else:
                return

    async def flush(self) -> None:
        await self._flush()

    async def recv(self) -> bytes:
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    async def send(self, data: bytes) -> None:
        self.tls.write(data)
        await self._flush()

    async def close(self) -> None:
        with contextlib.suppress(ssl.SSLError, OSError, ValueError):
            self.tls.unwrap()
        with contextlib.suppress(OSError):
            await self._flush()


async def _echo(channel: _PlainChannel | _TLSChannel) -> None:
    """Echo every line until the client closes (or sends a line longer than :data:`_MAX_LINE`)."""
    buffer = b""
    while True:
        data = await channel.recv()
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, _, buffer = buffer.partition(b"\n")
            await channel.send(line + b"\n")
        if len(buffer) > _MAX_LINE:
            return


class SimulatedServer:
    """A server application listening on one of its ports with the port's effective settings.

    It runs an asyncio loop in a background thread: use it as a context manager (``with
    SimulatedServer(...) as server:``) or call :meth:`start` and :meth:`stop`. Every connection is recorded
    (:attr:`records`, :meth:`wait_for`). After a TLS handshake the server sends one greeting line, so that a
    client reading after the handshake (which TLS 1.3 needs to see a refused client certificate) gets an
    answer at once; it then echoes every line it receives until the client closes.

    Args:
        env: the environment.
        app: the server application.
        port_id: the listening port (``default``, ``secure``...).
        host: the address to listen on (loopback by default).
        port: the TCP port: ``None`` for the configured number, ``0`` for an ephemeral port (see
            :attr:`address`).
        reading: ``psdk`` or ``doc`` (see :class:`~genesys_tls.resolve.Reading`).
        timeout: seconds a client has to complete its handshake (and, on an upgrade port, to send its first
            bytes).
        greeting: what is sent after a TLS handshake: ``True`` (default) for ``genesys-tls APP/PORT_ID\\n``,
            ``False`` for nothing, or the bytes to send.
        **context_kwargs: ``password``, ``password_env``, ``crl_check``, ``crl_cache`` as
            :func:`~genesys_tls.contexts.server_context`.

    Raises:
        ConfigurationError: unknown application or port, settings that cannot make a server context, or no
            configured port number when ``port`` is ``None``.
        TLSError: the port's ``tls-crl`` cannot be trusted or has expired.
    """

    def __init__(
        self,
        env: Environment,
        app: str,
        port_id: str = DEFAULT_PORT_ID,
        *,
        host: str = _LOOPBACK,
        port: int | None = None,
        reading: Reading | str = Reading.PSDK,
        timeout: float = 5.0,
        greeting: bytes | bool = True,
        **context_kwargs: Any,
    ) -> None:
        self.env = env
        self.app = app
        self.port_id = port_id
        self.resolved = resolve_server(env, app, port_id, reading=reading)
        self.mode = port_mode(self.resolved)
        if port is None:
            port = self.resolved_port_number()
        if not 0 <= port < 65536:
            raise ConfigurationError("port must be 0-65535", object=f"{app}/{port_id}", value=str(port))
        self._bind = (host, port)
        self.timeout = timeout
        if greeting is True:
            greeting = f"genesys-tls {app}/{port_id}\n".encode()
        self.greeting: bytes = greeting or b""
        self.context: ssl.SSLContext | None = None
        self.checks: tuple[str, ...] = ()
        if self.mode is not PortMode.PLAIN:
            # server_context also serves an upgrade port without tls=1 (its TLS side).
            self.context = server_context(self.resolved, **context_kwargs)
            mutual = self.resolved.mode is Mode.MUTUAL or self.resolved["tls-mutual"].as_bool()
            self.tls_mode = Mode.MUTUAL if mutual else Mode.SIMPLE
            if mutual:
                self.checks = ("chain", "crl") if self.resolved["tls-crl"].value else ("chain",)
        else:
            self.tls_mode = Mode.PLAIN
        self._records: list[HandshakeRecord] = []
        self._cond = threading.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._shutdown_task: asyncio.Task[None] | None = None
        self._address: tuple[str, int] | None = None
        self._stopped = False

    def resolved_port_number(self) -> int:
        """The port number configured for this port.

        Raises:
            ConfigurationError: the port has no number (pass ``port=0`` for an ephemeral one).
        """
        number = self.env.application(self.app).port(self.port_id).number
        if number is None:
            raise ConfigurationError(
                "the port has no number in the environment; pass port=0 for an ephemeral port",
                file=self.env.file,
                object=f"{self.app}/{self.port_id}",
                option="port",
            )
        return number

    def __repr__(self) -> str:
        where = _format_address(self._address) or "not started"
        return f"<SimulatedServer {self.app}/{self.port_id} {self.mode.value} at {where} records={len(self._records)}>"

    # ----------------------------------------------------------------------------------------- lifecycle

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` where it listens (known once started).

        Raises:
            RuntimeError: not started.
        """
        if self._address is None:
            raise RuntimeError(f"{self!r} is not started")
        return self._address

    @property
    def running(self) -> bool:
        """Whether the server's loop thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> SimulatedServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> SimulatedServer:
        """Bind, then serve on a new event loop in a background thread. Returns the server.

        Raises:
            OSError: the address cannot be bound.
            RuntimeError: already started once.
        """
        if self._thread is not None or self._stopped:
            raise RuntimeError(f"{self!r} was already started")
        host, port = self._bind
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family, backlog=128)
        listener.setblocking(False)
        name = listener.getsockname()
        self._address = (str(name[0]), int(name[1]))
        self._listener = listener
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(loop, ready), name=f"genesys-tls harness {self.app}/{self.port_id}", daemon=True
        )
        self._thread.start()
        if not ready.wait(10.0):  # pragma: no cover - the loop starts in microseconds
            self.stop()
            raise RuntimeError(f"{self!r} did not start")
        return self

    def _run(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        try:
            self._accept_task = loop.create_task(self._accept_loop())
            loop.call_soon(ready.set)
            loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, close every connection, stop the loop and join its thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(self._begin_shutdown)
            thread.join(timeout)
        if self._listener is not None:
            self._listener.close()

    def _begin_shutdown(self) -> None:
        assert self._loop is not None  # noqa: S101 - called on the running loop
        self._shutdown_task = self._loop.create_task(self._shutdown())

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        if self._accept_task is not None:
            self._accept_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accept_task
        if self._listener is not None:
            self._listener.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        loop.stop()

    # ----------------------------------------------------------------------------------------- records

    @property
    def records(self) -> list[HandshakeRecord]:
        """Every connection recorded so far, in order (a copy)."""
        with self._cond:
            return list(self._records)

    def wait_for(self, n: int = 1, timeout: float = 5.0) -> list[HandshakeRecord]:
        """Wait until at least ``n`` connections are recorded and return the records.

        A client can see its handshake end before the server has recorded it (a refusal travels as an
        alert), so tests read records through this method.

        Raises:
            TimeoutError: fewer than ``n`` records after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._records) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self!r}: {len(self._records)} connection(s) recorded after {timeout}s, expected {n}"
                    )
                self._cond.wait(remaining)
            return list(self._records)

    def _record(self, record: HandshakeRecord) -> None:
        with self._cond:
            self._records.append(record)
            self._cond.notify_all()

    # ----------------------------------------------------------------------------------------- serving

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        listener = self._listener
        assert listener is not None  # noqa: S101 - start() binds before the loop runs
        while True:
            conn, peer = await loop.sock_accept(listener)
            task = loop.create_task(self._handle(conn, peer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, conn: socket.socket, peer: tuple[Any, ...]) -> None:
        client = _format_address(peer)
        try:
            conn.setblocking(False)
            # Small writes answer small reads here: without NODELAY, Nagle and delayed ACKs add ~40 ms.
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            use_tls = self.mode is PortMode.SECURE
            if self.mode is not PortMode.SECURE:
                try:
                    first = await self._peek(conn)
                except TimeoutError:
                    self._refuse(False, Category.CONNECTION,
                                 f"the client sent nothing within {self.timeout}s", client)
                    return
                if not first:
                    self._refuse(False, Category.CONNECTION, "the client closed the connection without a word", client)
                    return
                hello = is_tls_client_hello(first)
                if self.mode is PortMode.PLAIN and hello:
                    self._refuse(False, Category.PROTOCOL,
                                 "a TLS ClientHello arrived on a plain port (the port has no tls=1)", client)
                    return
                use_tls = hello
            if use_tls:
                await self._serve_tls(conn, client)
            else:
                await self._serve_plain(conn, client)
        finally:
            conn.close()

    async def _peek(self, conn: socket.socket) -> bytes:
        """The first bytes of the connection, left in the socket (``MSG_PEEK``): three bytes, or fewer when
        they already tell TLS from plain text or the client closed. Raises TimeoutError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                data = conn.recv(3, socket.MSG_PEEK)
            except BlockingIOError:
                data = None
            if data is not None and (len(data) >= 3 or not data or not is_tls_client_hello(data)):
                return data
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            if data:  # part of a record header: the socket stays readable, so wait a little instead
                await asyncio.sleep(min(_PEEK_PAUSE, remaining))
                continue
            readable: asyncio.Future[None] = loop.create_future()
            fd = conn.fileno()

            def wake(fut: asyncio.Future[None] = readable) -> None:
                if not fut.done():
                    fut.set_result(None)

            loop.add_reader(fd, wake)
            try:
                await asyncio.wait_for(readable, remaining)
            finally:
                loop.remove_reader(fd)

    def _refuse(self, tls: bool, category: Category, detail: str, client: str | None) -> None:
        self._record(HandshakeRecord(
            accepted=False, tls=tls, port_mode=self.mode, category=category, detail=detail, client=client,
            checks=self.checks if tls else (), mode=self.tls_mode.value if tls else Mode.PLAIN.value,
        ))

    async def _serve_tls(self, conn: socket.socket, client: str | None) -> None:
        assert self.context is not None  # noqa: S101 - secure and upgrade ports have one
        channel = _TLSChannel(asyncio.get_running_loop(), conn, self.context)
        try:
            async with asyncio.timeout(self.timeout):
                await channel.handshake()
        except TimeoutError:
            self._refuse(True, Category.CONNECTION,
                         f"the client did not finish its handshake within {self.timeout}s", client)
            return
        except OSError as exc:
            self._refuse(True, *classify(exc, side=Side.SERVER), client)
            return
        tls = channel.tls
        peer = PeerIdentity.from_der(tls.getpeercert(binary_form=True))
        cipher = tls.cipher()
        self._record(HandshakeRecord(
            accepted=True,
            tls=True,
            port_mode=self.mode,
            protocol=tls.version(),
            cipher=cipher[0] if cipher else None,
            peer=peer,
            client=client,
            authenticated=self.tls_mode is Mode.MUTUAL and peer is not None,
            checks=self.checks,
            mode=self.tls_mode.value,
        ))
        with contextlib.suppress(OSError):
            if self.greeting:
                await channel.send(self.greeting)
            else:
                await channel.flush()
            await _echo(channel)
            await channel.close()

    async def _serve_plain(self, conn: socket.socket, client: str | None) -> None:
        self._record(HandshakeRecord(accepted=True, tls=False, port_mode=self.mode, client=client))
        with contextlib.suppress(OSError):
            await _echo(_PlainChannel(asyncio.get_running_loop(), conn))


# --------------------------------------------------------------------------------------------- client


Address = str | tuple[str, int]


class SimulatedClient:
    """A client application dialling one of its connections with the connection's effective settings.

    Args:
        env: the environment.
        app: the client application.
        server: the server application's name, or a started :class:`SimulatedServer` (its application,
            port id and address are then the defaults).
        port_id: which connection to ``server`` (``None``: the server object's port, else the first one).
        address: ``"HOST:PORT"``, ``(host, port)`` or a :class:`SimulatedServer` to dial instead of the
            configured address; it never changes the name checked.
        reading: ``psdk`` or ``doc``.
        timeout: seconds for the connection, the handshake and (plain) the echo.
        line: the line a plain client sends and expects back.
        **context_kwargs: ``password``, ``password_env``, ``crl_check``, ``crl_cache`` as
            :func:`~genesys_tls.contexts.client_context`.

    Raises:
        ConfigurationError: unknown application, server or connection, or an invalid value.
    """

    def __init__(
        self,
        env: Environment,
        app: str,
        server: str | SimulatedServer,
        port_id: str | None = None,
        *,
        address: Address | SimulatedServer | None = None,
        reading: Reading | str = Reading.PSDK,
        timeout: float = 5.0,
        line: bytes = DEFAULT_LINE,
        **context_kwargs: Any,
    ) -> None:
        if isinstance(server, SimulatedServer):
            if port_id is None:
                port_id = server.port_id
            if address is None:
                address = server
            server = server.app
        if b"\n" in line:
            raise ValueError("line must not contain a newline")
        self.env = env
        self.app = app
        self.server = server
        self.resolved = resolve_client(env, app, server, port_id, reading=reading)
        self.port_id = self.resolved.target.port_id if self.resolved.target else port_id
        self._address = address
        self.timeout = timeout
        self.line = line
        self.context_kwargs = context_kwargs

    def __repr__(self) -> str:
        return f"<SimulatedClient {self.resolved.object} {self.mode.value}>"

    @property
    def mode(self) -> Mode:
        """The connection's effective mode (``plain``, ``encryption-only``, ``mutual``, ``simple``)."""
        return self.resolved.mode

    @property
    def address(self) -> tuple[str, int] | None:
        """Where it dials: the override, else the configured address (``None`` when there is none)."""
        if isinstance(self._address, SimulatedServer):
            return self._address.address
        if self._address is not None:
            return parse_address(self._address)
        target = self.resolved.target
        if target is None or target.dial_host is None or target.port is None:
            return None
        return target.dial_host, target.port

    def _dial(self) -> tuple[str, int]:
        where = self.address
        if where is None:
            raise ConfigurationError(
                "the connection's server port has no host or port number to dial; give an address",
                file=self.env.file,
                object=self.resolved.object,
                valid="a port number in the environment, or address=(host, port)",
            )
        return where

    def connect(self, *, timeout: float | None = None) -> HandshakeResult:
        """Dial once: a TLS handshake (through :func:`~genesys_tls.handshake.connect`) or, for a plain
        connection, one line sent and read back. Never raises for a failed handshake: see ``result.ok``.

        Raises:
            ConfigurationError: the settings cannot make a context.
        """
        wait = self.timeout if timeout is None else timeout
        where = self._dial()
        if self.mode is Mode.PLAIN:
            return self._plain(where, wait)
        return connect(self.resolved, address=where, timeout=wait, check=False, **self.context_kwargs)

    async def connect_async(self, *, timeout: float | None = None) -> HandshakeResult:
        """:meth:`connect` on asyncio (through :func:`~genesys_tls.handshake.connect_async`)."""
        wait = self.timeout if timeout is None else timeout
        where = self._dial()
        if self.mode is Mode.PLAIN:
            return await self._plain_async(where, wait)
        return await connect_async(self.resolved, address=where, timeout=wait, check=False, **self.context_kwargs)

    # ----------------------------------------------------------------------------------------- plain

    def _result(self, where: tuple[str, int], error: tuple[Category, str] | None) -> HandshakeResult:
        return HandshakeResult(
            ok=error is None, protocol=None, cipher=None, peer=None, checks=(), error=error,
            mode=Mode.PLAIN.value, authenticated=False, address=_format_address(where),
        )

    def _judge(self, where: tuple[str, int], answer: bytes) -> HandshakeResult:
        if answer == self.line + b"\n":
            return self._result(where, None)
        if not answer:
            return self._result(where, (
                Category.CONNECTION,
                "the server closed the connection without answering (does the port expect TLS?)",
            ))
        if answer[:1] in (b"\x15", b"\x16") and answer[1:2] == b"\x03":
            return self._result(where, (Category.PROTOCOL, "the server answered with TLS: the port expects TLS"))
        return self._result(where, (Category.CONNECTION, f"unexpected answer {answer[:40]!r}"))

    def _plain(self, where: tuple[str, int], timeout: float) -> HandshakeResult:
        deadline = time.monotonic() + timeout
        try:
            with socket.create_connection(where, timeout=timeout) as sock:
                sock.sendall(self.line + b"\n")
                answer = b""
                while b"\n" not in answer and len(answer) <= len(self.line) + 1:
                    sock.settimeout(max(deadline - time.monotonic(), 0.001))
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
        except OSError as exc:
            return self._result(where, classify(exc, side=Side.CLIENT))
        return self._judge(where, answer)

    async def _plain_async(self, where: tuple[str, int], timeout: float) -> HandshakeResult:
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(*where)
                writer.write(self.line + b"\n")
                await writer.drain()
                answer = await reader.readline()
        except (OSError, TimeoutError) as exc:
            return self._result(where, classify(exc, side=Side.CLIENT))
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        return self._judge(where, answer)


def run_client(
    env: Environment,
    app: str,
    server: str | SimulatedServer,
    port_id: str | None = None,
    *,
    address: Address | SimulatedServer | None = None,
    timeout: float = 5.0,
    **kwargs: Any,
) -> HandshakeResult:
    """``SimulatedClient(env, app, server, port_id, address=..., **kwargs).connect()``: one dial, one result."""
    return SimulatedClient(env, app, server, port_id, address=address, timeout=timeout, **kwargs).connect()


# --------------------------------------------------------------------------------------------- addresses


def environment_with_addresses(
    env: Environment,
    addresses: Mapping[str, tuple[str, int]] | Iterable[SimulatedServer],
) -> Environment:
    """A copy of ``env`` whose ports listen where servers really are, for clients that dial the configured
    address.

    Each ``"App/port_id"`` (or each started :class:`SimulatedServer`) gets the port number, and its
    application's Host gets the ``ip`` (the address dialled). The Host *name* does not change, so the name a
    client checks with ``tls-target-name-check=host`` stays the same, as with ``--address``.

    Raises:
        ConfigurationError: an unknown application or port, an application without a Host, or two ports of
            one Host at different IP addresses.
    """
    if isinstance(addresses, Mapping):
        wanted = dict(addresses)
    else:
        wanted = {f"{s.app}/{s.port_id}": s.address for s in addresses}
    apps = dict(env.applications)
    hosts = dict(env.hosts)
    ips: dict[str, str] = {}
    for key, (ip, number) in wanted.items():
        app_name, sep, port_id = key.partition("/")
        if not sep or not port_id:
            raise ConfigurationError("expected APP/PORT_ID", object=key, value=key, valid="'App/port_id'")
        app = env.application(app_name)
        port = app.port(port_id)
        if app.host is None:
            raise ConfigurationError(
                "the application has no Host, so there is no address to change; give clients an address",
                file=env.file, object=app_name,
            )
        if ips.setdefault(app.host, ip) != ip:
            raise ConfigurationError(
                f"two ports on Host {app.host} listen at different IP addresses", file=env.file,
                object=app.host, value=ip, valid=ips[app.host],
            )
        current = apps[app_name]
        ports = dict(current.ports)
        ports[port_id] = attrs.evolve(port, number=number)
        apps[app_name] = attrs.evolve(current, ports=ports)
    for host_name, ip in ips.items():
        host: Host = hosts[host_name]
        if host.ip != ip:
            hosts[host_name] = attrs.evolve(host, ip=ip)
    return Environment(hosts, apps, source=env.source, base_dir=env.base_dir)
