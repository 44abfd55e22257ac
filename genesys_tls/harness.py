"""Simulated Genesys components on loopback: servers that listen with a port's effective settings and clients
that dial a connection's, with real TLS handshakes, usable from synchronous test code.

* :class:`SimulatedServer` listens on one listening port of an environment (``resolve_server`` +
  :func:`~genesys_tls.contexts.server_context`) on the package's one server core
  (:class:`~genesys_tls.server.ServerCore`) in the background. It records every connection as a server-side
  :class:`~genesys_tls.results.HandshakeResult` (accepted or refused, the category of a refusal, TLS or
  plain, the peer's certificate identity; :func:`HandshakeRecord` builds one in a server's words), greets
  TLS clients with one line and echoes the lines a client sends.
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

The handshake is OpenSSL's own on a blocking socket, so every alert of a refused handshake (``certificate
required``, ``certificate revoked``, ``protocol version``) reaches the client, as Genesys servers tell it.

Example::

    import genesys_tls as gt
    from genesys_tls.harness import SimulatedServer, run_client

    env = gt.load("environment.yaml")
    with SimulatedServer(env, "TServer", "secure", port=0) as server:     # 0: an ephemeral port
        result = run_client(env, "Client_client-host", server)           # dials server.address
        assert result.ok, result.error
        (record,) = server.wait_for(1)
        print(record.peer, record.protocol)

:meth:`SimulatedServer.stop` closes the listener and every connection and joins the server's threads
(nothing is left running).

Size: the simulated server and client are one harness (ports, modes, records, echo, live reload) and read
best together; the server core, the results and the reload machinery already live in their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import attrs

from ._classify import classify
from .addresses import LOOPBACK, format_address, parse_address
from .catalogue import Side
from .contexts import client_plan
from .errors import Category, ConfigurationError
from .handshake import connect, connect_async
from .model import DEFAULT_PORT_ID, Environment, Host
from .reload import LiveServer, Reloader, ReloadEvent, Snapshot
from .resolve import Reading, resolve_client, resolve_server
from .resolved import Mode, PortMode, ResolvedSecurity
from .results import HandshakeRecord, HandshakeResult
from .server import (
    MAX_LINE,
    After,
    Before,
    Generation,
    GenerationHolder,
    ServerCore,
    echo_lines,
    is_tls_client_hello,
)
from .server import echo as _echo_bytes

__all__ = [
    "DEFAULT_LINE",
    "HandshakeRecord",
    "HeldConnection",
    "PortMode",
    "SimulatedClient",
    "SimulatedServer",
    "environment_with_addresses",
    "is_tls_client_hello",
    "run_client",
]

#: The line a plain client sends (and expects back).
DEFAULT_LINE = b"hello genesys"


def port_mode(resolved: ResolvedSecurity) -> PortMode:
    """The :class:`PortMode` of a resolved listening port (:attr:`ResolvedSecurity.port_mode`)."""
    return resolved.port_mode


# --------------------------------------------------------------------------------------------- server


class SimulatedServer(LiveServer):
    """A server application listening on one of its ports with the port's effective settings.

    It runs a :class:`~genesys_tls.server.ServerCore` (a bounded pool of workers taking turns at the
    listener, with OpenSSL's own alerts) in the background: use it as a context manager (``with
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
        idle_timeout: seconds the server waits for a line from an established client before closing it.
        workers: the most connections handled at once.
        before: a :mod:`genesys_tls.server` hook run before any byte is read (a refusal is recorded).
        after: the hook for accepted connections (default: the greeting, then the line echo).
        echo: what ``genesys-tls serve --echo`` does: no greeting, every byte the client sends is sent back
            as it arrives (:func:`genesys_tls.server.echo`, 64 KiB at a time) until the client closes or stays
            idle for ``idle_timeout``. It cannot be combined with ``after`` or ``greeting``
            (:class:`~genesys_tls.errors.ConfigurationError`).
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
        host: str = LOOPBACK,
        port: int | None = None,
        reading: Reading | str = Reading.PSDK,
        timeout: float = 5.0,
        greeting: bytes | bool = True,
        idle_timeout: float | None = 60.0,
        workers: int = 64,
        before: Before | None = None,
        after: After | None = None,
        echo: bool = False,
        **context_kwargs: Any,
    ) -> None:
        if echo and (after is not None or greeting is not True):
            raise ConfigurationError(
                "echo=True sets the after hook and sends no greeting", object=f"{app}/{port_id}",
                valid="echo=True without after= and greeting=, or after=/greeting= without echo",
            )
        self.env = env
        self.app = app
        self.port_id = port_id
        self.reading = reading
        resolved = resolve_server(env, app, port_id, reading=reading)
        self.holder = GenerationHolder(Generation.build(resolved, **context_kwargs))
        if port is None:
            port = self.resolved_port_number()
        if not 0 <= port < 65536:
            raise ConfigurationError("port must be 0-65535", object=f"{app}/{port_id}", value=str(port))
        self._bind = (host, port)
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.workers = workers
        if greeting is True:
            greeting = b"" if echo else f"genesys-tls {app}/{port_id}\n".encode()
        self.greeting: bytes = greeting or b""
        self.echo = echo
        self._before = before
        if echo:
            after = _echo_bytes
        self._after = after if after is not None else echo_lines(self.greeting)
        self.context_kwargs = context_kwargs
        self._core: ServerCore | None = None
        self._stopped = False
        self._snapshot = Snapshot.take(resolved, env)  # what the first reload compares with

    # ----------------------------------------------------------------------------------------- settings
    # An upgrade port without tls=1 gets a context too (its TLS side). The views of the current generation
    # (resolved, context, tls_mode, checks), reload(), watch() and wait_for_generation() come from LiveServer.

    @property
    def mode(self) -> PortMode:
        """The port's mode (``plain``, ``secure``, ``upgrade``)."""
        return self.holder.current.port_mode

    def _make_reloader(self) -> Reloader:
        return Reloader(self.holder, self.env, self.app, self.port_id, reading=self.reading,
                        snapshot=self._snapshot, **self.context_kwargs)

    def reload(self, env: Environment | str | os.PathLike[str] | None = None) -> ReloadEvent:
        """Apply a changed environment (an object or a file; default: the current one, its file read again) and
        the current files to the next connections; connections already open keep their settings. A reload
        that fails changes nothing and its event says why (:mod:`genesys_tls.reload`)."""
        if isinstance(env, Environment):
            self.env = env
        return self.reloader.reload(env)

    def resolved_port_number(self) -> int:
        """The port number configured for this port.

        Raises:
            ConfigurationError: the port has no number (pass ``port=0`` for an ephemeral one).
        """
        number = self.resolved.port_number
        if number is None:
            raise ConfigurationError(
                "the port has no number in the environment; pass port=0 for an ephemeral port",
                file=self.env.file,
                object=f"{self.app}/{self.port_id}",
                option="port",
            )
        return number

    def __repr__(self) -> str:
        where = format_address(self._core.address) if self._core is not None else "not started"
        total = self._core.total if self._core is not None else 0
        return f"<SimulatedServer {self.app}/{self.port_id} {self.mode.value} at {where} records={total}>"

    # ----------------------------------------------------------------------------------------- lifecycle

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` where it listens (known once started).

        Raises:
            RuntimeError: not started.
        """
        if self._core is None:
            raise RuntimeError(f"{self!r} is not started")
        return self._core.address

    @property
    def core(self) -> ServerCore:
        """The :class:`~genesys_tls.server.ServerCore` serving (once started).

        Raises:
            RuntimeError: not started.
        """
        if self._core is None:
            raise RuntimeError(f"{self!r} is not started")
        return self._core

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._core is not None and self._core.running

    def __enter__(self) -> SimulatedServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> SimulatedServer:
        """Bind, then serve in the background. Returns the server.

        Raises:
            OSError: the address cannot be bound.
            RuntimeError: already started once.
        """
        if self._core is not None or self._stopped:
            raise RuntimeError(f"{self!r} was already started")
        host, port = self._bind
        self._core = ServerCore(
            self.holder, host=host, port=port, workers=self.workers, timeout=self.timeout,
            idle_timeout=self.idle_timeout, before=self._before, after=self._after, keep=None,
            port_fields=True, warnings_in_records=False, name=f"genesys-tls harness {self.app}/{self.port_id}",
        )
        self._core.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, close every connection and join the server's threads (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_watching(timeout)
        if self._core is not None:
            self._core.stop(timeout, drop=True)

    # ----------------------------------------------------------------------------------------- records

    @property
    def records(self) -> list[HandshakeResult]:
        """Every connection recorded so far, in order (a copy)."""
        return self._core.records if self._core is not None else []

    def wait_for(self, n: int = 1, timeout: float = 5.0) -> list[HandshakeResult]:
        """Wait until at least ``n`` connections are recorded and return the records.

        A client can see its handshake end before the server has recorded it (a refusal travels as an
        alert), so tests read records through this method.

        Raises:
            TimeoutError: fewer than ``n`` records after ``timeout`` seconds.
        """
        if self._core is None or not self._core.wait(n, timeout):
            total = self._core.total if self._core is not None else 0
            raise TimeoutError(f"{self!r}: {total} connection(s) recorded after {timeout}s, expected {n}")
        return self._core.records


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
            mode=Mode.PLAIN.value, authenticated=False, address=format_address(where),
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


class HeldConnection:
    """A TLS connection made with a client's effective settings and held open, as a long-lived client holds
    its link while the server is reconfigured (the demo's rotation scenario).

    Args:
        resolved: ``resolve_client(...)``.
        address: where to dial (``"HOST:PORT"``, ``(host, port)`` or a started :class:`SimulatedServer`).
        timeout: seconds for the connection, the handshake and each read.
        **context_kwargs: as :func:`~genesys_tls.contexts.client_plan`.

    Attributes:
        peer_fingerprint: the SHA-256 (hex) of the certificate the server presented.

    Raises:
        OSError: the connection or the handshake failed.
    """

    def __init__(self, resolved: ResolvedSecurity, address: Address | SimulatedServer, *, timeout: float = 5.0,
                 **context_kwargs: Any) -> None:
        where = address.address if isinstance(address, SimulatedServer) else parse_address(address)
        plan = client_plan(resolved, address=where, **context_kwargs)
        raw = socket.create_connection(where, timeout=timeout)
        try:
            self.sock = plan.context.wrap_socket(raw, server_hostname=plan.server_hostname)
        except BaseException:
            raw.close()
            raise
        der = self.sock.getpeercert(binary_form=True)
        self.peer_fingerprint: str | None = hashlib.sha256(der).hexdigest() if der else None
        self._buffer = b""

    def exchange(self, line: bytes) -> bool:
        """Send one line and whether it came back (a server that echoes lines, as :class:`SimulatedServer`)."""
        self.sock.sendall(line + b"\n")
        while len(self._buffer) <= MAX_LINE:
            head, sep, rest = self._buffer.partition(b"\n")
            if sep:
                self._buffer = rest
                if head == line:
                    return True
                continue  # the greeting, or an earlier line
            data = self.sock.recv(4096)
            if not data:
                return False
            self._buffer += data
        return False

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> HeldConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
