"""A bounded TLS load run with one connection's effective settings: :func:`run_load` (``genesys-tls load``).

The run opens client connections to the connection's server with the context :func:`genesys_tls.client_plan`
builds from the effective settings (the same checks, name, CRL and certificate as ``connect``), at a target
rate, and holds up to ``connections`` of them open. It reports the handshakes made, the rate reached, the
latency percentiles of the handshakes (TCP connect to the end of the TLS handshake), the failures by
category, and the memory each held connection costs the client.

Design: one thread and a selector over non-blocking sockets, so that thousands of connections can be held
without a thread each. Every connection is a full handshake (no session is resumed, as ``openssl s_time
-new``). A TLS 1.3 server gives its verdict on the client certificate after the client's side of the
handshake: a held connection keeps being read, and a refusal that arrives (an alert before any application
byte) turns that handshake into a failure of its category, as :func:`genesys_tls.connect` would report it.

The run:

* opens a connection when one is due: every ``1/rate`` seconds with ``rate``, else whenever fewer than
  ``concurrency`` handshakes are under way;
* holds each established connection open; when ``connections`` are held and another is due, it closes the
  oldest first;
* without ``duration``, stops opening after ``connections`` attempts; with it, after ``duration`` seconds;
* waits for the handshakes under way (each bounded by ``timeout``), measures the resident memory with the
  connections still held, and closes them.

Example::

    import genesys_tls as gt
    from genesys_tls.loadgen import run_load

    env = gt.load("environment.yaml")
    result = run_load(gt.resolve_client(env, "MyTLibClient", "TServer", "secure"), connections=100, rate=50)
    print(result.to_dict())
"""

from __future__ import annotations

import collections
import contextlib
import errno
import math
import os
import resource
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, Unpack

import attrs

from ._classify import classify
from .catalogue import Side
from .contexts import ConnectionPlan, ContextOptions
from .errors import Category, ConfigurationError, TLSError
from .handshake import _plan, _refine
from .resolved import ResolvedSecurity
from .results import HandshakeResult

__all__ = ["LoadProgress", "LoadResult", "run_load"]

#: The default number of handshakes under way at once when no rate is given.
DEFAULT_CONCURRENCY = 8
#: Descriptors kept free besides the connections (files, the selector, the interpreter's own).
_SPARE_DESCRIPTORS = 64
#: Seconds between two progress calls.
_PROGRESS_EVERY = 0.5
#: Seconds the run keeps reading the held connections at the end for a TLS 1.3 refusal still in flight.
_VERDICT_WAIT = 1.0
#: The largest ``connections`` accepted.
MAX_CONNECTIONS = 1_000_000


@attrs.frozen
class LoadProgress:
    """What a progress callback gets, about every half second.

    Attributes:
        elapsed: seconds since the run started.
        handshakes: handshakes made so far.
        failures: failed attempts so far.
        held: connections held open now.
        in_flight: handshakes under way now.
    """

    elapsed: float
    handshakes: int
    failures: int
    held: int
    in_flight: int


@attrs.frozen
class LoadResult:
    """The outcome of :func:`run_load`.

    Attributes:
        handshakes: the handshakes that succeeded (a TLS 1.3 refusal of the client certificate that
            arrived during the run is a failure, not a handshake).
        attempts: every connection opened (handshakes plus failures).
        elapsed: seconds from the first connection to the end of the last attempt.
        rate: handshakes per second over ``elapsed``.
        latency_ms: ``p50``, ``p95`` and ``p99`` of the handshakes' latency in milliseconds (``None`` when
            there was no handshake).
        failures: failed attempts per category (:class:`~genesys_tls.errors.Category` values).
        failure_details: the first detail seen for each category.
        held: connections still open at the end (measured with them open).
        peak_held: the most connections open at once.
        closed_by_server: held connections the server closed during the run.
        rss_per_connection_kib: the growth of the process's resident memory while the connections were
            held, per held connection (0 when none was held).
        address: where the run dialled.
        mode: the connection's mode.
        warnings: statements about weakened or ineffective settings of the client context.
    """

    handshakes: int
    attempts: int
    elapsed: float
    rate: float
    latency_ms: dict[str, float] | None
    failures: dict[str, int]
    failure_details: dict[str, str]
    held: int
    peak_held: int
    closed_by_server: int
    rss_per_connection_kib: float
    address: str
    mode: str
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether at least one handshake was made and none failed."""
        return self.handshakes > 0 and not self.failures

    def to_dict(self) -> dict[str, Any]:
        """The ``load --json`` object."""
        return {
            "handshakes": self.handshakes,
            "rate": round(self.rate, 2),
            "latency_ms": self.latency_ms,
            "failures": dict(self.failures),
            "held": self.held,
            "rss_per_connection_kib": round(self.rss_per_connection_kib, 1),
            "attempts": self.attempts,
            "elapsed_s": round(self.elapsed, 3),
            "peak_held": self.peak_held,
            "closed_by_server": self.closed_by_server,
            "failure_details": dict(self.failure_details),
            "address": self.address,
            "mode": self.mode,
            "warnings": list(self.warnings),
        }


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ascending ``sorted_values`` (not empty).

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.99)
        (2.0, 4.0)
    """
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _rss_kib() -> float:
    """The resident memory of this process in KiB (``/proc/self/statm``; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read(4096).split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    except (OSError, ValueError, IndexError):
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def ensure_descriptors(needed: int) -> int:
    """Make room for ``needed`` more open descriptors: raise the soft ``RLIMIT_NOFILE`` (never above the
    hard limit) when it is too low. Returns the soft limit now in force.

    Raises:
        ConfigurationError: even the hard limit is too low.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + _SPARE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < want:
        ceiling = hard if hard != resource.RLIM_INFINITY else want
        if ceiling < want:
            raise ConfigurationError(
                f"{needed} connections need {want} open files but the limit is {hard} (ulimit -Hn)",
                option="connections",
                value=str(needed),
                valid=f"at most {max(ceiling - _SPARE_DESCRIPTORS, 1)}",
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return int(soft)


@attrs.define(eq=False)
class _Conn:
    sock: socket.socket
    started: float
    deadline: float
    tls: ssl.SSLSocket | None = None
    state: str = "connecting"  # connecting, handshaking, held
    latency: float = 0.0
    spoke: bool = False  # the server sent application data (a later error is no refusal)
    protocol: str | None = None


class _Run:
    """The state of one load run (see :func:`run_load`)."""

    def __init__(
        self, plan: ConnectionPlan, target: tuple[Any, ...], family: int, *, connections: int, rate: float | None,
        duration: float | None, concurrency: int, timeout: float, progress: Callable[[LoadProgress], object] | None,
    ) -> None:
        self.plan = plan
        self.target = target
        self.family = family
        self.connections = connections
        self.rate = rate
        self.duration = duration
        self.concurrency = concurrency
        self.timeout = timeout
        self.progress = progress
        self.selector = selectors.DefaultSelector()
        self.pending: set[_Conn] = set()
        self.held: collections.OrderedDict[_Conn, None] = collections.OrderedDict()
        self.latencies: dict[_Conn, float] = {}
        self.handshake_count = 0
        self.failures: collections.Counter[str] = collections.Counter()
        self.details: dict[str, str] = {}
        self.attempts = 0
        self.peak_held = 0
        self.closed_by_server = 0
        self.first = 0.0
        self.last = 0.0

    # ------------------------------------------------------------------------------------------ outcomes

    def fail(self, conn: _Conn, error: tuple[Category, str]) -> None:
        category, detail = error
        self.failures[category.value] += 1
        self.details.setdefault(category.value, detail)
        self.last = time.monotonic()
        self.drop(conn)

    def drop(self, conn: _Conn) -> None:
        self.pending.discard(conn)
        self.held.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        with contextlib.suppress(OSError):
            (conn.tls or conn.sock).close()

    def established(self, conn: _Conn) -> None:
        tls = conn.tls
        assert tls is not None  # noqa: S101 - set when the handshake started
        now = time.monotonic()
        conn.latency = now - conn.started
        conn.state = "held"
        conn.protocol = tls.version()
        self.pending.discard(conn)
        self.held[conn] = None
        self.latencies[conn] = conn.latency
        self.handshake_count += 1
        self.peak_held = max(self.peak_held, len(self.held))
        self.last = now
        self.watch(conn, selectors.EVENT_READ)

    def refused(self, conn: _Conn, error: tuple[Category, str]) -> None:
        """A held connection refused after its handshake: that handshake is a failure."""
        self.handshake_count -= 1
        self.latencies.pop(conn, None)
        self.fail(conn, error)

    # ------------------------------------------------------------------------------------------ steps

    def open(self) -> None:
        self.attempts += 1
        now = time.monotonic()
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        conn = _Conn(sock, now, now + self.timeout)
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending.add(conn)
        code = sock.connect_ex(self.target)
        if code in (0, errno.EISCONN):
            self.start_tls(conn)
        elif code in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
            self.selector.register(sock, selectors.EVENT_WRITE, conn)
        else:
            self.connect_failed(conn, code)

    def connect_failed(self, conn: _Conn, code: int) -> None:
        category, detail = classify(OSError(code, os.strerror(code)), side=Side.CLIENT)
        self.fail(conn, (category, f"{self.plan.address}: {detail}"))

    def start_tls(self, conn: _Conn) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        try:
            conn.tls = self.plan.context.wrap_socket(
                conn.sock, server_hostname=self.plan.server_hostname, do_handshake_on_connect=False
            )
        except OSError as exc:
            self.fail(conn, classify(exc, side=Side.CLIENT))
            return
        conn.sock = conn.tls
        conn.state = "handshaking"
        self.step_handshake(conn)

    def step_handshake(self, conn: _Conn) -> None:
        tls = conn.tls
        assert tls is not None  # noqa: S101 - set by start_tls
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            self.watch(conn, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            self.watch(conn, selectors.EVENT_WRITE)
        except OSError as exc:
            category, detail = classify(exc, side=Side.CLIENT)
            self.fail(conn, _refine(category, detail, exc, self.plan))
        else:
            self.established(conn)

    def watch(self, conn: _Conn, events: int) -> None:
        try:
            self.selector.modify(conn.sock, events, conn)
        except KeyError:
            self.selector.register(conn.sock, events, conn)

    def read_held(self, conn: _Conn) -> None:
        tls = conn.tls
        assert tls is not None  # noqa: S101 - a held connection has one
        while True:
            try:
                data = tls.recv(16384)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                data = b""
            except ssl.SSLError as exc:
                if conn.spoke:
                    self.closed_by_server += 1
                    self.drop(conn)
                else:
                    self.refused(conn, classify(exc, side=Side.CLIENT))
                return
            except ConnectionResetError:
                if conn.spoke or conn.protocol != "TLSv1.3":
                    self.closed_by_server += 1
                    self.drop(conn)
                else:
                    self.refused(conn, (Category.CONNECTION, (
                        "the server reset the connection right after the handshake (it may have refused our "
                        "certificate)")))
                return
            except OSError:
                self.closed_by_server += 1
                self.drop(conn)
                return
            if not data:
                self.closed_by_server += 1
                self.drop(conn)
                return
            conn.spoke = True

    def evict_oldest(self) -> None:
        conn = next(iter(self.held))
        self.read_held(conn)  # a refusal already there counts before the connection goes
        if conn in self.held:
            self.drop(conn)

    def on_event(self, conn: _Conn, mask: int) -> None:
        if conn.state == "connecting":
            code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self.connect_failed(conn, code)
            else:
                self.start_tls(conn)
        elif conn.state == "handshaking":
            self.step_handshake(conn)
        else:
            self.read_held(conn)

    def expire(self, now: float) -> None:
        for conn in [c for c in self.pending if c.deadline <= now]:
            what = "connect" if conn.state == "connecting" else "finish its handshake"
            self.fail(conn, (Category.CONNECTION, f"{self.plan.address}: the server did not {what} within "
                                                  f"{self.timeout:g}s"))

    # ------------------------------------------------------------------------------------------ the loop

    def due(self, now: float) -> bool:
        """Whether another connection should be opened now."""
        if self.duration is None:
            if self.attempts >= self.connections:
                return False
        elif now - self.first >= self.duration:
            return False
        if self.rate is not None:
            return now >= self.first + self.attempts / self.rate
        return len(self.pending) < self.concurrency

    def opening(self, now: float) -> bool:
        """Whether the run still opens connections."""
        if self.duration is None:
            return self.attempts < self.connections
        return now - self.first < self.duration

    def run(self) -> None:
        self.first = self.last = time.monotonic()
        next_progress = self.first + _PROGRESS_EVERY
        while True:
            now = time.monotonic()
            while self.due(now):
                if len(self.held) + len(self.pending) >= self.connections:
                    if not self.held:
                        break  # every slot is a handshake under way
                    self.evict_oldest()
                    continue
                self.open()
                now = time.monotonic()
                if self.rate is None and len(self.pending) >= self.concurrency:
                    break
            opening = self.opening(now)
            if not opening and not self.pending:
                break
            wait = 0.05
            if opening and self.rate is not None:
                wait = max(0.0, min(wait, self.first + self.attempts / self.rate - now))
            for key, mask in self.selector.select(wait):
                self.on_event(key.data, mask)
            now = time.monotonic()
            self.expire(now)
            if self.progress is not None and now >= next_progress:
                next_progress = now + _PROGRESS_EVERY
                self.progress(self.snapshot(now))
        self.settle()

    def waiting_verdict(self) -> bool:
        """Whether a held TLS 1.3 connection has heard nothing from its server yet (a refusal may follow)."""
        return any(c.protocol == "TLSv1.3" and not c.spoke for c in self.held)

    def settle(self) -> None:
        """Read the held TLS 1.3 connections that have heard nothing yet, for at most :data:`_VERDICT_WAIT`
        seconds: a refusal still in flight arrives now (a server that speaks first ends the wait at once)."""
        deadline = time.monotonic() + _VERDICT_WAIT
        while self.waiting_verdict() and (remaining := deadline - time.monotonic()) > 0:
            for key, _mask in self.selector.select(min(remaining, 0.05)):
                conn = key.data
                if conn in self.held:
                    self.read_held(conn)

    def snapshot(self, now: float) -> LoadProgress:
        return LoadProgress(
            elapsed=now - self.first, handshakes=self.handshake_count, failures=sum(self.failures.values()),
            held=len(self.held), in_flight=len(self.pending),
        )

    def close_all(self) -> None:
        for conn in list(self.held) + list(self.pending):
            self.drop(conn)
        self.selector.close()


def run_load(
    plan_or_resolved: ConnectionPlan | ResolvedSecurity,
    *,
    connections: int,
    rate: float | None = None,
    duration: float | None = None,
    address: str | tuple[str, int] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 10.0,
    progress: Callable[[LoadProgress], object] | None = None,
    **options: Unpack[ContextOptions],
) -> LoadResult:
    """A bounded load run against one connection's server (see the module docstring).

    Args:
        plan_or_resolved: a :class:`~genesys_tls.contexts.ConnectionPlan`, or ``resolve_client(...)``.
        connections: the most connections held open at once; without ``duration`` also the number of
            connections opened.
        rate: connections opened per second (``None``: as fast as ``concurrency`` allows).
        duration: seconds to keep opening connections (``None``: until ``connections`` are opened).
        address: ``"HOST:PORT"`` or ``(host, port)`` to dial instead of the configured address (the name
            checked does not change).
        concurrency: the most handshakes under way at once when ``rate`` is not given.
        timeout: seconds for each connection's TCP connect and handshake.
        progress: called with a :class:`LoadProgress` about every half second.
        password, password_env, crl_check, crl_cache, context_cache: as
            :func:`~genesys_tls.contexts.client_context` (:class:`~genesys_tls.contexts.ContextOptions`).

    Returns:
        The :class:`LoadResult`.

    Raises:
        ConfigurationError: bad arguments, settings that cannot make a client context, or more connections
            than the open-file limit allows (the soft limit is raised up to the hard one when needed).
        TLSError: the client context cannot be built (``tls-crl``), or the address does not resolve.
    """
    _check_arguments(connections, rate, duration, concurrency, timeout)
    planned = _plan(plan_or_resolved, address, options, "run_load")
    if isinstance(planned, HandshakeResult):
        assert planned.error is not None  # noqa: S101 - a failed result always has an error
        raise TLSError(planned.error[0], planned.error[1], result=planned)
    plan = planned
    try:
        infos = socket.getaddrinfo(plan.dial_host, plan.dial_port, type=socket.SOCK_STREAM)
    except OSError as exc:
        category, detail = classify(exc, side=Side.CLIENT)
        raise TLSError(category, f"{plan.address}: {detail}") from None
    family, _, _, _, target = infos[0]
    ensure_descriptors(connections + concurrency)
    before = _rss_kib()
    state = _Run(
        plan, target, family, connections=connections, rate=rate, duration=duration, concurrency=concurrency,
        timeout=timeout, progress=progress,
    )
    try:
        state.run()
        held = len(state.held)
        grown = _rss_kib() - before
    finally:
        state.close_all()
    latencies = sorted(state.latencies.values())
    elapsed = max(state.last - state.first, 1e-9)
    latency_ms = (
        {name: round(percentile(latencies, fraction) * 1000, 3)
         for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))}
        if latencies else None
    )
    return LoadResult(
        handshakes=state.handshake_count,
        attempts=state.attempts,
        elapsed=elapsed,
        rate=state.handshake_count / elapsed if state.handshake_count else 0.0,
        latency_ms=latency_ms,
        failures=dict(sorted(state.failures.items())),
        failure_details=dict(sorted(state.details.items())),
        held=held,
        peak_held=state.peak_held,
        closed_by_server=state.closed_by_server,
        rss_per_connection_kib=max(grown, 0.0) / held if held else 0.0,
        address=plan.address,
        mode=plan.mode.value,
        warnings=plan.warnings,
    )


def _check_arguments(
    connections: int, rate: float | None, duration: float | None, concurrency: int, timeout: float
) -> None:
    def bad(option: str, value: object, valid: str) -> ConfigurationError:
        return ConfigurationError(f"{option} {value}: expected {valid}", option=option, value=str(value), valid=valid)

    if not 1 <= connections <= MAX_CONNECTIONS:
        raise bad("connections", connections, f"a whole number from 1 to {MAX_CONNECTIONS}")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise bad("rate", rate, "a positive number of connections per second")
    if duration is not None and not (math.isfinite(duration) and 0 < duration <= 86400):
        raise bad("duration", duration, "a positive number of seconds, at most 86400")
    if not 1 <= concurrency <= 10_000:
        raise bad("concurrency", concurrency, "a whole number from 1 to 10000")
    if not (math.isfinite(timeout) and 0 < timeout <= 86400):
        raise bad("timeout", timeout, "a positive number of seconds, at most 86400")
