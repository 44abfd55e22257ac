"""Real TLS handshakes with Genesys settings: :func:`connect`, :func:`connect_async`, :class:`Server` and
:func:`serve` (on the server core of :mod:`genesys_tls.server`), and :func:`classify`, which turns OpenSSL's
errors into the contract's failure categories.

Every handshake gives a :class:`HandshakeResult` (``to_dict()`` is the contract's ``connect --json`` /
``serve --json`` object). A client helper raises :class:`~genesys_tls.errors.TLSError` on failure (or
returns the failed result with ``check=False``); the server records every handshake, accepted or refused.

TLS 1.3 moves the server's verdict on the client certificate after the client's side of the handshake: the
client's ``do_handshake`` returns before the server has checked its certificate. The client helpers
therefore read for a short while (:data:`POST_HANDSHAKE_WAIT`) after a TLS 1.3 handshake, so that a refusal
(``certificate required``, ``unknown ca``...) is reported as a failure with the right category. A server
that then closes the connection, sends data or a session ticket (sent only once it has checked the client's
certificate), or sends nothing is a success; the read ends at the first of these.

Size: the blocking and asyncio clients share the plan, the dialling, the post-handshake read and the result
glue, and :class:`Server` / :func:`serve` are thin layers over the server core; splitting would put the two
clients' shared steps away from each other.

Example::

    import genesys_tls as gt
    from genesys_tls.handshake import Server, connect

    env = gt.load("environment.yaml")
    with Server(gt.resolve_server(env, "TServer", "secure")) as server:
        result = connect(gt.resolve_client(env, "MyTLibClient", "TServer", "secure"),
                         address=server.address)
    print(result.to_dict())
"""

from __future__ import annotations

import _ssl
import asyncio
import contextlib
import ipaddress
import os
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, Unpack

import attrs

from ._classify import classify
from ._keywords import check_keywords
from .addresses import LOOPBACK, format_address, parse_address
from .catalogue import Side
from .contexts import ConnectionPlan, ContextOptions, _client_plan
from .errors import Category, ConfigurationError, TLSError
from .model import Environment
from .reload import DEBOUNCE, POLL_INTERVAL, LiveServer, Reloader, ReloadEvent, Snapshot
from .resolved import ResolvedSecurity
from .results import CertificateDetails, HandshakeResult, PeerIdentity
from .server import CLOSE_WAIT, After, Generation, GenerationHolder, ServerCore, close

__all__ = [
    "POST_HANDSHAKE_WAIT",
    "HandshakeResult",
    "PeerIdentity",
    "Server",
    "classify",
    "connect",
    "connect_async",
    "serve",
]

#: Seconds a client reads after a TLS 1.3 handshake to catch the server's refusal of its certificate.
POST_HANDSHAKE_WAIT = 0.3
#: Seconds a client waits for the server's close after its own.
_CLOSE_WAIT = CLOSE_WAIT


def _refine(category: Category, detail: str, exc: BaseException, plan: ConnectionPlan) -> tuple[Category, str]:
    """TLS 1.2 servers refuse a missing client certificate with a generic handshake_failure alert: when this
    client knows the server is mutual and has no certificate, say so."""
    if (
        isinstance(exc, ssl.SSLError)
        and exc.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"
        and plan.resolved.requires_client_certificate
        and not plan.resolved.has_certificate
    ):
        return Category.CLIENT_CERTIFICATE_REQUIRED, (
            "the server requires a client certificate (tls-mutual=1) and this client has none "
            f"(certificate is not set); {detail}"
        )
    return category, detail


# --------------------------------------------------------------------------------------------- client


def _finish(result: HandshakeResult, check: bool) -> HandshakeResult:
    if check and not result.ok:
        assert result.error is not None  # noqa: S101 - a failed result always has an error
        raise TLSError(result.error[0], result.error[1], result=result)
    return result


def _plan(
    plan_or_resolved: ConnectionPlan | ResolvedSecurity,
    address: str | tuple[str, int] | None,
    options: ContextOptions,
    function: str,
) -> ConnectionPlan | HandshakeResult:
    """The plan to use, or a failed result when the CRL check refused to build one."""
    check_keywords(function, options, ContextOptions)
    if isinstance(plan_or_resolved, ConnectionPlan):
        if address is None:
            return plan_or_resolved
        host, port = parse_address(address)
        return attrs.evolve(plan_or_resolved, dial_host=host, dial_port=port)
    resolved = plan_or_resolved
    try:
        return _client_plan(resolved, address, options)
    except TLSError as exc:
        where: str | None
        if address is not None:
            host, port = parse_address(address)
            where = f"{host}:{port}"
        else:
            where = resolved.target.address if resolved.target else None
        return HandshakeResult(
            ok=False, protocol=None, cipher=None, peer=None, checks=resolved.checks,
            error=(exc.category, exc.detail), mode=resolved.mode.value, authenticated=False, address=where,
        )


def _failure(plan: ConnectionPlan, error: tuple[Category, str], **known: Any) -> HandshakeResult:
    fields: dict[str, Any] = {"protocol": None, "cipher": None, "peer": None, **known}
    return HandshakeResult(
        ok=False, checks=plan.checks, error=error, mode=plan.mode.value, authenticated=False,
        address=plan.address, warnings=plan.warnings, **fields,
    )


#: The most certificates of a peer's chain kept in a result (OpenSSL already bounds the chain's size).
MAX_CHAIN = 16


def _sent_chain(tls: ssl.SSLSocket | ssl.SSLObject) -> tuple[CertificateDetails, ...]:
    """The certificates the peer sent, its own first, unverified (also after a failed handshake).

    Python 3.13 has ``get_unverified_chain()``; on 3.11 and 3.12 the same method of the underlying
    ``_ssl`` object is used. Where neither exists, the peer's own certificate alone.
    """
    ders: list[bytes] = []
    public = getattr(tls, "get_unverified_chain", None)
    private = getattr(getattr(tls, "_sslobj", None), "get_unverified_chain", None)
    with contextlib.suppress(ValueError, OSError, AttributeError):
        if public is not None:
            ders = [bytes(c) for c in public() or ()]
        elif private is not None:
            ders = [c.public_bytes(_ssl.ENCODING_DER) for c in private() or ()]
        else:
            leaf = tls.getpeercert(binary_form=True)
            ders = [leaf] if leaf else []
    details = (CertificateDetails.from_der(der) for der in ders[:MAX_CHAIN])
    return tuple(d for d in details if d is not None)


def _after_handshake(tls: ssl.SSLSocket, wait: float) -> tuple[Category, str] | None:
    """Read briefly after a TLS 1.3 handshake: a refusal of our certificate arrives now.

    The wait ends at the first sign of the server's verdict: application data or a close (accepted), an alert
    (refused), or a session ticket. A TLS 1.3 server sends its tickets only once it has checked the client's
    certificate and ``Finished``, so a ticket means accepted; a server that sends one (OpenSSL's default)
    costs no wait even when it waits for the client to speak first.
    """
    tls.setblocking(False)
    deadline = time.monotonic() + wait
    while True:
        try:
            tls.recv(1)
        except ssl.SSLWantReadError:
            session = tls.session
            if session is not None and session.has_ticket:
                return None  # the server issued a ticket: it accepted our certificate
            left = deadline - time.monotonic()
            if left <= 0 or not _readable(tls, left):
                return None  # the server is waiting for us to speak: accepted
            continue
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLWantWriteError):
            return None  # the server hung up after the handshake (or asks for a key update: no refusal)
        except ssl.SSLError as exc:
            return classify(exc, side=Side.CLIENT)
        except ConnectionResetError:
            return Category.CONNECTION, (
                "the server reset the connection right after the handshake (it may have refused our certificate)"
            )
        except OSError:
            return None
        return None  # the server spoke first: accepted


def _readable(sock: ssl.SSLSocket, timeout: float) -> bool:
    """Whether ``sock`` has bytes to read within ``timeout`` seconds (``poll``, any descriptor number)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(max(1, int(timeout * 1000 + 0.999))))
    return bool(select.select([sock], [], [], timeout)[0])  # Windows: no poll


def connect(
    plan_or_resolved: ConnectionPlan | ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    timeout: float = 10.0,
    check: bool = True,
    chain: bool = False,
    **options: Unpack[ContextOptions],
) -> HandshakeResult:
    """One blocking TLS client handshake with a connection's effective settings.

    Args:
        plan_or_resolved: a :class:`~genesys_tls.contexts.ConnectionPlan`, or ``resolve_client(...)`` (a
            plan is made with the options below).
        address: ``"HOST:PORT"`` or ``(host, port)`` to dial instead of the configured address; never
            changes the name checked.
        timeout: seconds for the TCP connection and the handshake.
        check: raise :class:`~genesys_tls.errors.TLSError` on failure (``result`` holds the
            :class:`HandshakeResult`); ``False`` returns the failed result.
        password, password_env, crl_check, crl_cache: as :func:`~genesys_tls.contexts.client_context`.
        chain: keep the certificates the server sent in :attr:`HandshakeResult.chain` (with subject,
            issuer, SANs, validity and fingerprints), also when the handshake failed once they arrived
            (an untrusted or expired server shows what it sent).

    Returns:
        The result; ``ok`` is true when the handshake succeeded and every check passed.

    Raises:
        ConfigurationError: the settings cannot make a context (whatever ``check`` is).
        TLSError: the handshake or a check failed (only with ``check=True``).
    """
    planned = _plan(plan_or_resolved, address, options, "connect")
    if isinstance(planned, HandshakeResult):
        return _finish(attrs.evolve(planned, chain=()) if chain else planned, check)
    return _finish(_client_handshake(planned, timeout, chain), check)


def _client_handshake(plan: ConnectionPlan, timeout: float, chain: bool = False) -> HandshakeResult:
    try:
        sock = _dial(plan.dial_host, plan.dial_port, timeout)
    except OSError as exc:
        category, detail = classify(exc, side=Side.CLIENT)
        return _failure(plan, (category, f"{plan.address}: {detail}"), **({"chain": ()} if chain else {}))
    with sock:
        _no_delay(sock)
        try:
            tls = plan.context.wrap_socket(
                sock, server_hostname=plan.server_hostname, do_handshake_on_connect=False
            )
        except ValueError as exc:  # a name Python refuses as server_hostname
            raise _bad_name(plan, exc) from None
        with tls:
            try:
                tls.do_handshake()
            except OSError as exc:
                category, detail = classify(exc, side=Side.CLIENT)
                sent = {"chain": _sent_chain(tls)} if chain else {}
                return _failure(plan, _refine(category, detail, exc, plan), **sent)
            protocol, cipher = tls.version(), _cipher_name(tls.cipher())
            peer = PeerIdentity.from_der(tls.getpeercert(binary_form=True))
            certificates = _sent_chain(tls) if chain else None
            if protocol == "TLSv1.3":
                refused = _after_handshake(tls, min(POST_HANDSHAKE_WAIT, timeout))
                if refused is not None:
                    return _failure(plan, refused, protocol=protocol, cipher=cipher, peer=peer, chain=certificates)
    return HandshakeResult(
        ok=True, protocol=protocol, cipher=cipher, peer=peer, checks=plan.checks, error=None,
        mode=plan.mode.value, authenticated=plan.authenticated, address=plan.address, warnings=plan.warnings,
        chain=certificates,
    )


#: (host, port) -> (address family, socket address) for IP literals, which need no name lookup; ``None`` for names
#: (looked up on every connection: their addresses may change).
_LITERALS: dict[tuple[str, int], tuple[socket.AddressFamily, tuple[Any, ...]] | None] = {}


def _dial(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host:port`` (``socket.create_connection``, without the lookup for an IP literal)."""
    key = (host, port)
    try:
        literal = _LITERALS[key]
    except KeyError:
        literal = _literal(host, port)
        if len(_LITERALS) >= 1024:
            _LITERALS.clear()
        _LITERALS[key] = literal
    if literal is None:
        return socket.create_connection(key, timeout=timeout)
    family, sockaddr = literal
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _literal(host: str, port: int) -> tuple[socket.AddressFamily, tuple[Any, ...]] | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 4:
        return socket.AF_INET, (host, port)
    if "%" in host:  # a scoped address: leave it to getaddrinfo
        return None
    return socket.AF_INET6, (host, port, 0, 0)


def _bad_name(plan: ConnectionPlan, exc: ValueError) -> ConfigurationError:
    option = "tls-target-name" if plan.resolved.expected_name_option == "tls-target-name" else None
    return ConfigurationError(
        f"the expected name {plan.server_hostname!r} cannot be used as a TLS server name ({exc})",
        file=plan.resolved.file,
        object=plan.resolved.object,
        option=option,
        value=plan.server_hostname,
    )


def _no_delay(sock: socket.socket) -> None:
    # Handshake messages are small writes: without TCP_NODELAY, Nagle's algorithm and delayed ACKs add
    # ~40 ms to each handshake.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _cipher_name(cipher: tuple[str, str, int] | None) -> str | None:
    return cipher[0] if cipher else None


async def connect_async(
    plan_or_resolved: ConnectionPlan | ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    timeout: float = 10.0,
    check: bool = True,
    chain: bool = False,
    **options: Unpack[ContextOptions],
) -> HandshakeResult:
    """:func:`connect` on asyncio streams (same arguments, same result and errors; ``chain`` is filled
    once the handshake completed).

    The context is built synchronously (file reads); the connection and the handshake do not block the loop.
    """
    planned = _plan(plan_or_resolved, address, options, "connect_async")
    if isinstance(planned, HandshakeResult):
        return _finish(attrs.evolve(planned, chain=()) if chain else planned, check)
    plan = planned
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                plan.dial_host,
                plan.dial_port,
                ssl=plan.context,
                server_hostname=plan.server_hostname or "",
                ssl_handshake_timeout=timeout,
            ),
            timeout,
        )
    except OSError as exc:
        category, detail = classify(exc, side=Side.CLIENT)
        if category is Category.CONNECTION and not isinstance(exc, ssl.SSLError):
            detail = f"{plan.address}: {detail}"
        sent = {"chain": ()} if chain else {}
        return _finish(_failure(plan, _refine(category, detail, exc, plan), **sent), check)
    except ValueError as exc:  # a name Python refuses as server_hostname
        raise _bad_name(plan, exc) from None
    try:
        tls = writer.get_extra_info("ssl_object")
        # What the handshake negotiated, recorded by asyncio when it completed: by now a TLS 1.3 refusal of
        # our certificate may already have shut the TLS object down.
        negotiated = writer.get_extra_info("cipher")
        cipher = _cipher_name(negotiated)
        protocol = tls.version() if tls else None
        try:
            peer = PeerIdentity.from_der(tls.getpeercert(binary_form=True)) if tls else None
        except ValueError:
            peer = PeerIdentity.from_dict(writer.get_extra_info("peercert"))
        certificates = (_sent_chain(tls) if tls else ()) if chain else None
        refused: tuple[Category, str] | None = None
        if protocol is None and cipher is not None and cipher.startswith("TLS_"):
            protocol = "TLSv1.3"  # only TLS 1.3 suites are named TLS_*
        if protocol == "TLSv1.3" or tls is None or tls.version() is None:
            try:
                await asyncio.wait_for(reader.read(1), min(POST_HANDSHAKE_WAIT, timeout))
            except TimeoutError:
                pass
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError, asyncio.IncompleteReadError):
                pass
            except ssl.SSLError as exc:
                refused = classify(exc, side=Side.CLIENT)
            except ConnectionResetError:
                refused = (
                    Category.CONNECTION,
                    "the server reset the connection right after the handshake (it may have refused our "
                    "certificate)",
                )
            except OSError:
                pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), _CLOSE_WAIT)
    if refused is not None:
        return _finish(
            _failure(plan, refused, protocol=protocol, cipher=cipher, peer=peer, chain=certificates), check
        )
    return HandshakeResult(
        ok=True, protocol=protocol, cipher=cipher, peer=peer, checks=plan.checks, error=None,
        mode=plan.mode.value, authenticated=plan.authenticated, address=plan.address, warnings=plan.warnings,
        chain=certificates,
    )


# --------------------------------------------------------------------------------------------- server


class Server(LiveServer):
    """A TLS server on one listening port's effective settings, in a background thread: a
    :class:`~genesys_tls.server.ServerCore` with ``serve``'s record shape.

    It binds when created (so :attr:`address` is known at once and configuration errors are raised in the
    caller's thread), handles connections on a bounded pool of worker threads, and records every handshake,
    accepted or refused, in :attr:`results` (and through ``on_result``). After an accepted handshake it runs
    ``after`` (default: close_notify and close; :func:`genesys_tls.server.echo` echoes): it is a checking
    tool, not an application server. An ``upgrade`` port tells TLS from plain clients by their first bytes.

    Use it as a context manager (``with Server(...) as server:``) or call :meth:`start` and :meth:`close`;
    :meth:`serve_forever` runs the loop in the calling thread instead.

    Args:
        resolved: ``resolve_server(...)``.
        host: the address to listen on (default loopback).
        port: the TCP port (0: an ephemeral port, see :attr:`address`).
        count: stop after this many connections (each gives one result); ``None``: until :meth:`close`.
        on_result: called with each :class:`HandshakeResult`, one call at a time.
        password, password_env, crl_check, crl_cache: as :func:`~genesys_tls.contexts.server_context`.
        timeout: seconds a client has to complete its handshake.
        idle_timeout: seconds the ``after`` hook waits for the client each time.
        after: what to do with an accepted connection (a :mod:`genesys_tls.server` hook).
        keep: how many results :attr:`results` keeps (``None``: all; ``serve`` streams through ``on_result``).
        workers: the most connections handled at once.

    Attributes:
        resolved: the settings served.
        context: the server context.
        warnings: statements about weakened or ineffective settings (also in every result).
        checks: what is verified of clients (``chain``, ``crl``; nothing unless mutual).
        core: the :class:`~genesys_tls.server.ServerCore`.

    Raises:
        ConfigurationError: the settings cannot make a server context.
        TLSError: the ``tls-crl`` file cannot be trusted or has expired.
        OSError: the address cannot be bound.
    """

    def __init__(
        self,
        resolved: ResolvedSecurity,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        count: int | None = None,
        on_result: Callable[[HandshakeResult], object] | None = None,
        timeout: float = 10.0,
        idle_timeout: float | None = 60.0,
        after: After = close,
        keep: int | None = None,
        workers: int = 64,
        source: Environment | str | os.PathLike[str] | None = None,
        loader: Callable[[str], Environment] | None = None,
        **options: Unpack[ContextOptions],
    ) -> None:
        check_keywords("Server", options, ContextOptions)
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        self._context_kwargs: dict[str, Any] = dict(options)
        generation = Generation.build(resolved, plain_ok=False, **options)
        self.holder = GenerationHolder(generation)
        self._source = source
        self._loader = loader
        # What the first reload compares with (only when it can reload: settings from a file, or a source).
        self._snapshot = (Snapshot.take(resolved, source if source is not None else resolved.file)
                          if source is not None or resolved.file is not None else None)
        self.count = count
        self.on_result = on_result
        self.timeout = timeout
        self.core = ServerCore(
            self.holder, host=host, port=port, workers=workers, timeout=timeout, idle_timeout=idle_timeout,
            after=after, on_record=on_result, keep=keep, count=count, port_fields=False,
            warnings_in_records=True, name=f"genesys-tls {resolved.object}",
        )

    def __repr__(self) -> str:
        return f"<Server {self.resolved.object} at {format_address(self.address)} results={self.core.total}>"

    def _make_reloader(self) -> Reloader:
        """The reloader, reading ``source`` (default: the environment file the settings came from).

        Raises:
            ConfigurationError: no ``source`` and the settings came from no file.
        """
        resolved = self.holder.current.port_settings
        source = self._source if self._source is not None else resolved.file
        if source is None or resolved.port_id is None:
            raise ConfigurationError(
                "these settings were not resolved from a file: give Server(source=...) to reload",
                object=resolved.object,
            )
        return Reloader(
            self.holder, source, resolved.application, resolved.port_id, reading=resolved.reading,
            legacy_protocols=resolved.legacy_protocols, plain_ok=False, loader=self._loader,
            snapshot=self._snapshot, **self._context_kwargs,
        )

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` where it listens."""
        return self.core.address

    @property
    def results(self) -> list[HandshakeResult]:
        """The handshakes kept so far (every one unless ``keep``), in the order they finished."""
        return self.core.records

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Serve in a background (daemon) thread."""
        self.core.start()

    def serve_forever(self) -> None:
        """Accept connections until :attr:`count` is reached or :meth:`close` is called; wait for the
        handshakes under way. Raises what an ``on_result`` callback raised, or a fatal accept error."""
        self.core.serve_forever()

    def wait(self, count: int | None = None, timeout: float = 10.0) -> bool:
        """Wait until ``count`` results (default: :attr:`count`, else the server's end) are recorded.

        Returns:
            whether they were, before ``timeout`` seconds.
        """
        return self.core.wait(count if count is not None else self.count, timeout)

    def close(self) -> None:
        """Stop watching, stop accepting, wait for the handshakes under way, and release the port."""
        self._stop_watching()
        self.core.stop(self.timeout + 5, drop=False)


def serve(
    resolved: ResolvedSecurity,
    *,
    address: str | tuple[str, int] | None = None,
    count: int | None = None,
    on_result: Callable[[HandshakeResult], object] | None = None,
    on_listening: Callable[[Server], object] | None = None,
    timeout: float = 10.0,
    idle_timeout: float | None = 60.0,
    after: After = close,
    keep: int | None = None,
    watch: bool = False,
    on_event: Callable[[ReloadEvent], object] | None = None,
    source: Environment | str | os.PathLike[str] | None = None,
    loader: Callable[[str], Environment] | None = None,
    watch_interval: float = POLL_INTERVAL,
    debounce: float = DEBOUNCE,
    **options: Unpack[ContextOptions],
) -> list[HandshakeResult]:
    """Serve one listening port in the calling thread (what ``genesys-tls serve`` runs).

    Args:
        resolved: ``resolve_server(...)``.
        address: ``"HOST:PORT"`` or ``(host, port)`` to listen on; default ``127.0.0.1`` on an ephemeral
            port (port 0).
        count: stop after this many handshakes; ``None``: until interrupted.
        on_result: called with each result as it happens.
        on_listening: called once with the :class:`Server` when it listens (its :attr:`~Server.address`,
            :attr:`~Server.warnings`...).
        password, password_env, crl_check, crl_cache, timeout, idle_timeout, after, keep, source, loader: as
            :class:`Server`.
        watch: apply changes of the environment file and of the port's files to the next handshakes
            (:meth:`Server.watch`); ``on_event`` gets each applied or refused reload.
        watch_interval, debounce: as :class:`~genesys_tls.reload.Watcher`.

    Returns:
        The results kept (every one unless ``keep``), in the order they finished.

    Raises:
        ConfigurationError, TLSError, OSError: as :class:`Server`; KeyboardInterrupt passes through after the
        port is closed.
    """
    check_keywords("serve", options, ContextOptions)
    host, port = parse_address(address) if address is not None else (LOOPBACK, 0)
    server = Server(
        resolved, host=host, port=port, count=count, on_result=on_result, timeout=timeout,
        idle_timeout=idle_timeout, after=after, keep=keep, source=source, loader=loader, **options,
    )
    try:
        if on_listening is not None:
            on_listening(server)
        if watch:
            server.watch(interval=watch_interval, debounce=debounce, on_event=on_event)
        server.serve_forever()
    finally:
        server.close()
    return server.results
