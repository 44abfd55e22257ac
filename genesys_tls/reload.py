"""Live reconfiguration: a changed option, certificate or CRL takes effect on the next connection, without a
restart and without dropping the connections already open (as on a Genesys component, whose TLS options
"take effect immediately").

* :class:`Reloader` resolves a listening port again from its environment (an
  :class:`~genesys_tls.model.Environment`, or the file it came from), builds the new
  :class:`~genesys_tls.server.Generation` (through the context cache: a reload that changes nothing builds
  nothing) and swaps it in atomically. New handshakes use the new generation; handshakes in flight and
  established connections keep theirs. A reload that fails (a bad or half-written file, a key that does not
  match, a CRL from another CA, a port that is gone) changes nothing: the old generation keeps serving and the
  :class:`ReloadEvent` says why, with the error's category.
* :class:`Watcher` polls the environment file and every certificate, key, CA and CRL file the current
  generation uses (by content: a ``stat`` change is confirmed by a SHA-256 of the content), waits until a burst
  of writes is over (``debounce``), and reloads. A rename-into-place rotation and a file that disappears and
  comes back work. :meth:`Watcher.stop` joins its thread.
* :class:`LiveClient` is the client side: each connection resolves the client's settings from the current
  environment file and uses the current files (so a reconnecting long-running client picks up a rotation).

Every applied or refused reload is a :class:`ReloadEvent`: the generation number, what changed (options with
their old and new values and sources, files with their old and new fingerprints and expiry) and, on refusal,
the error. ``docs/reload.md`` has examples; ``genesys-tls serve --watch`` prints one event per reload.

Size: a reload is one pipeline (snapshot, watch, resolve, build, compare, event) and its server/client
adapters; each part is small and only the pipeline uses it.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ._text import escape_text
from .cache import file_version
from .catalogue import CATALOGUE, Kind
from .errors import ConfigurationError, GenesysTLSError, TLSError
from .model import Environment
from .resolve import Reading, resolve_client, resolve_server
from .resolved import Check, Mode, ResolvedSecurity
from .server import Generation, GenerationHolder

if TYPE_CHECKING:  # annotations only: this module applies no TLS itself
    import ssl

__all__ = [
    "FileState",
    "LiveClient",
    "LiveServer",
    "ReloadEvent",
    "Reloader",
    "Snapshot",
    "Watcher",
    "generation_files",
]

#: Seconds between two looks at the watched files.
POLL_INTERVAL = 0.1
#: Seconds without a further change before a burst of writes is reloaded.
DEBOUNCE = 0.2
#: Most bytes hashed of one watched file (larger files are compared by their stamp only).
_HASH_LIMIT = 256 * 1024 * 1024

#: What each kind of file option holds (the role a reload event names).
_ROLES = {Kind.CERTIFICATE: "certificate", Kind.KEY: "key", Kind.TRUST: "ca", Kind.CRL: "crl"}
#: The options whose values name files, with the role of the file.
_FILE_OPTIONS = tuple((opt.name, _ROLES[opt.kind]) for opt in CATALOGUE.values() if opt.kind in _ROLES)

EnvironmentSource = Environment | str | os.PathLike[str]
Loader = Callable[[str], Environment]


def _default_loader(path: str) -> Environment:
    from .loaders import load

    return load(path)


# --------------------------------------------------------------------------------------------- facts


@attrs.frozen
class FileState:
    """What a reload event says about one file.

    Attributes:
        path: the file.
        role: ``certificate``, ``key``, ``ca``, ``crl`` or ``environment``.
        sha256: the SHA-256 of the content (``None``: missing or unreadable).
        fingerprint: for a certificate or CA file, the SHA-256 fingerprint of its first certificate.
        expires: for a certificate or CA file its notAfter, for a CRL its nextUpdate (ISO 8601, UTC).
    """

    path: str
    role: str
    sha256: str | None
    fingerprint: str | None = None
    expires: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of a file in a reload event: ``sha256``, ``fingerprint``, ``expires``."""
        return {"sha256": self.sha256, "fingerprint": self.fingerprint, "expires": self.expires}


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _facts(path: str, role: str) -> FileState:
    """The state of a file now (certificate facts read with cryptography; never a key's content)."""
    version = file_version(path, limit=_HASH_LIMIT)
    if version is None:
        return FileState(path, role, None)
    fingerprint = expires = None
    if role in ("certificate", "ca", "crl"):
        try:
            with open(path, "rb") as handle:
                data = handle.read(_HASH_LIMIT)
            if role == "crl":
                crl = (x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data))
                expires = _iso(crl.next_update_utc)
            else:
                cert = (x509.load_pem_x509_certificates(data)[0] if b"-----BEGIN" in data
                        else x509.load_der_x509_certificate(data))
                fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
                expires = _iso(cert.not_valid_after_utc)
        except (OSError, ValueError, IndexError):
            pass  # the build says what is wrong with it
    return FileState(path, role, version.sha256, fingerprint, expires)


def generation_files(resolved: ResolvedSecurity) -> dict[str, str]:
    """path -> role of every file a generation of ``resolved`` reads (the ones a watcher watches)."""
    out: dict[str, str] = {}
    for option, role in _FILE_OPTIONS:
        try:
            paths = resolved.paths(option)
        except ConfigurationError:
            continue
        for path in paths:
            out.setdefault(os.path.abspath(path), role)
    return out


@attrs.frozen
class ReloadEvent:
    """One reload, applied or refused.

    Attributes:
        generation: the generation serving after it (the new one when applied, the kept one when not).
        applied: whether a new generation took effect.
        changes: what changed: ``{"kind": "option", "option", "old", "new", "old_source", "new_source"}`` and
            ``{"kind": "file", "file", "role", "old": {sha256, fingerprint, expires}, "new": {...}}``.
        error: on refusal, ``{"kind": "configuration"|"tls", "category", "message", ...}``; else ``None``.
        at: ``time.time()`` of the reload.
    """

    generation: int
    applied: bool
    changes: tuple[Mapping[str, Any], ...] = ()
    error: Mapping[str, Any] | None = None
    at: float = attrs.field(factory=time.time, eq=False)

    @property
    def refused(self) -> bool:
        """Whether the reload failed (the previous generation keeps serving)."""
        return self.error is not None

    def to_dict(self) -> dict[str, Any]:
        """The ``serve --json --watch`` event line."""
        return {
            "event": "reload",
            "generation": self.generation,
            "applied": self.applied,
            "changes": [dict(c) for c in self.changes],
            "error": dict(self.error) if self.error is not None else None,
        }

    def render(self) -> str:
        """One readable line."""
        what = ", ".join(_change_text(c) for c in self.changes) or "no change"
        if self.applied:
            return f"reload applied: generation {self.generation}: {what}"
        if self.error is not None:
            return (f"reload refused: generation {self.generation} kept: {self.error['category']}: "
                    f"{self.error['message']}" + (f" (after: {what})" if self.changes else ""))
        return f"reload: nothing changed, generation {self.generation} kept"


def _change_text(change: Mapping[str, Any]) -> str:
    if change["kind"] == "option":
        return escape_text(
            f"{change['option']} {change['old']!r} ({change['old_source']}) -> {change['new']!r} "
            f"({change['new_source']})"
        )
    new = change["new"]
    detail = ""
    if new.get("fingerprint"):
        detail = f" fingerprint {new['fingerprint'][:23]}..."
    if new.get("expires"):
        detail += f" expires {new['expires']}"
    if new.get("sha256") is None:
        detail = " missing"
    return escape_text(f"{change['role']} {change['file']}{detail}")


def error_object(error: BaseException) -> dict[str, Any]:
    """The ``error`` member of a refused reload event."""
    if isinstance(error, TLSError):
        return {"kind": "tls", "category": error.category.value, "message": str(error)}
    out: dict[str, Any] = {"kind": "configuration", "category": "configuration", "message": str(error)}
    if isinstance(error, ConfigurationError):
        for name in ("file", "object", "option"):
            value = getattr(error, name)
            if value is not None:
                out[name] = value
        out["problem"] = error.problem.value
    return out


def _option_changes(old: ResolvedSecurity, new: ResolvedSecurity) -> list[dict[str, Any]]:
    changes = []
    for name, now in new.options.items():
        before = old.options.get(name)
        if before is not None and (before.value, before.source) == (now.value, now.source):
            continue
        changes.append({
            "kind": "option", "option": name,
            "old": before.value if before is not None else None, "new": now.value,
            "old_source": before.source.value if before is not None else None, "new_source": now.source.value,
        })
    return changes


def _file_changes(old: Mapping[str, FileState], new: Mapping[str, FileState]) -> list[dict[str, Any]]:
    changes = []
    for path in dict.fromkeys([*old, *new]):
        before, after = old.get(path), new.get(path)
        if before is not None and after is not None and before.sha256 == after.sha256:
            continue
        role = (after or before).role  # type: ignore[union-attr]
        changes.append({
            "kind": "file", "file": path, "role": role,
            "old": before.to_dict() if before is not None else None,
            "new": after.to_dict() if after is not None else None,
        })
    return changes


# --------------------------------------------------------------------------------------------- reloading


def _environment_path(source: EnvironmentSource) -> str | None:
    if isinstance(source, Environment):
        return os.path.abspath(source.source) if source.source is not None else None
    return os.path.abspath(os.fspath(source))


@attrs.frozen
class Snapshot:
    """The files of a generation (and the environment file) as they were: what a reload compares with.

    Attributes:
        files: path -> :class:`FileState` of every file the generation reads.
        environment: the environment file's state (``None``: an in-memory environment).
    """

    files: Mapping[str, FileState]
    environment: FileState | None

    @classmethod
    def take(cls, resolved: ResolvedSecurity, source: EnvironmentSource | None) -> Snapshot:
        """The files of ``resolved`` and the environment file of ``source`` (a file or an environment)."""
        env = _environment_path(source) if source is not None else None
        return cls(
            {path: _facts(path, role) for path, role in generation_files(resolved).items()},
            _facts(env, "environment") if env is not None else None,
        )



class Reloader:
    """Reloads one listening port into a :class:`~genesys_tls.server.GenerationHolder`.

    Args:
        holder: the server's generation holder (``ServerCore.holder``).
        source: the environment: an :class:`~genesys_tls.model.Environment` (its file, when it has one, is
            what :meth:`reload` reads again) or the path of its file.
        app: the server application.
        port_id: the listening port.
        reading, legacy_protocols: as :func:`~genesys_tls.resolve.resolve_server`.
        plain_ok: a plain port is a valid generation (the simulated servers) or refused (``serve``).
        loader: reads an environment file (default :func:`genesys_tls.loaders.load`).
        on_event: called with every applied or refused :class:`ReloadEvent`.
        snapshot: the files as the current generation was built from them (what the first event compares
            with); default: as they are now. A server takes it when it is made, and makes its reloader later.
        **context_kwargs: ``password``, ``password_env``, ``crl_check``, ``crl_cache``.

    Attributes:
        events: every applied or refused event, oldest first (the newest 1000).
    """

    def __init__(
        self,
        holder: GenerationHolder,
        source: EnvironmentSource,
        app: str,
        port_id: str,
        *,
        reading: Reading | str = Reading.PSDK,
        legacy_protocols: bool = False,
        plain_ok: bool = True,
        loader: Loader | None = None,
        on_event: Callable[[ReloadEvent], object] | None = None,
        snapshot: Snapshot | None = None,
        **context_kwargs: Any,
    ) -> None:
        self.holder = holder
        self.app = app
        self.port_id = port_id
        self.reading = reading
        self.legacy_protocols = legacy_protocols
        self.plain_ok = plain_ok
        self.loader = loader or _default_loader
        self.on_event = on_event
        self.context_kwargs = context_kwargs
        self.events: list[ReloadEvent] = []
        self._lock = threading.Lock()
        self._source: EnvironmentSource = source
        self._env_obj: Environment | None = source if isinstance(source, Environment) else None
        current = holder.current
        if snapshot is None:
            snapshot = Snapshot.take(current.port_settings, self.environment_file)
        self._files = dict(snapshot.files)
        self._environment_state = snapshot.environment
        #: the files named by the last resolution tried (watched too, so that fixing one reloads)
        self.attempted: dict[str, str] = generation_files(current.port_settings)

    @property
    def environment_file(self) -> str | None:
        """The environment file :meth:`reload` reads (``None``: an in-memory environment)."""
        return _environment_path(self._source)

    def _environment_facts(self) -> FileState | None:
        path = self.environment_file
        return _facts(path, "environment") if path is not None else None

    @staticmethod
    def _states(resolved: ResolvedSecurity) -> dict[str, FileState]:
        return {path: _facts(path, role) for path, role in generation_files(resolved).items()}

    def watched(self) -> dict[str, str]:
        """path -> role of every file a :class:`Watcher` should watch now."""
        out = dict(generation_files(self.holder.current.port_settings))
        for path, role in self.attempted.items():
            out.setdefault(path, role)
        env = self.environment_file
        if env is not None:
            out[env] = "environment"
        return out

    def reload(self, env: EnvironmentSource | None = None) -> ReloadEvent:
        """Resolve, build and swap in a new generation; or change nothing and say why.

        Args:
            env: a new environment (an object or a file), kept as the source of later reloads; default: the
                current source (its file is read again).

        Returns:
            the event (also in :attr:`events` and passed to ``on_event`` unless nothing changed).
        """
        with self._lock:
            if env is not None:
                self._source = env
                self._env_obj = env if isinstance(env, Environment) else None
                if isinstance(env, Environment):  # its file as it is now is what this object says
                    self._environment_state = self._environment_facts()
            event = self._reload()
            if event.applied or event.refused:
                self.events.append(event)
                del self.events[:-1000]
        if (event.applied or event.refused) and self.on_event is not None:
            self.on_event(event)
        return event

    def _reload(self) -> ReloadEvent:
        current = self.holder.current
        env_before, env_now = self._environment_state, self._environment_facts()
        env_changes = (_file_changes({env_before.path: env_before}, {env_now.path: env_now})
                       if env_before is not None and env_now is not None else [])
        try:
            path = self.environment_file
            if self._env_obj is not None and (path is None or not env_changes):
                environment = self._env_obj  # an object given, its file unchanged since (or no file)
            else:
                assert path is not None  # noqa: S101 - a path source, or an object with a file
                environment = self.loader(path)
                self._env_obj = environment
            self._environment_state = env_now
            resolved = resolve_server(environment, self.app, self.port_id, reading=self.reading,
                                      legacy_protocols=self.legacy_protocols)
            self.attempted = generation_files(resolved)
            files = self._states(resolved)
            generation = Generation.build(resolved, plain_ok=self.plain_ok, **self.context_kwargs)
        except Exception as exc:  # whatever goes wrong, the old generation keeps serving
            self._environment_state = env_now
            if isinstance(exc, GenesysTLSError):
                error: BaseException = exc
            elif isinstance(exc, OSError):
                error = ConfigurationError(f"cannot read the environment: {exc.strerror or exc}",
                                           file=self.environment_file)
            else:
                error = ConfigurationError(escape_text(f"the new settings cannot be built ({type(exc).__name__})"))
            return ReloadEvent(current.number, False, tuple(env_changes), error_object(error))
        changes = env_changes + _option_changes(current.port_settings, resolved) + _file_changes(self._files, files)
        same_context = generation.context is current.context
        if same_context and not _option_changes(current.port_settings, resolved):
            self._files = files
            return ReloadEvent(current.number, False, ())
        self.holder.swap(generation)
        self._files = files
        return ReloadEvent(self.holder.current.number, True, tuple(changes))


# --------------------------------------------------------------------------------------------- watching


class Watcher:
    """Watches a :class:`Reloader`'s files and reloads when their content changes.

    Args:
        reloader: what to reload.
        interval: seconds between two looks.
        debounce: seconds without a further change before reloading (a burst of writes is one reload).

    Use :meth:`start` and :meth:`stop` (or ``with Watcher(...):``); :meth:`poll` makes one look by hand.
    """

    def __init__(self, reloader: Reloader, *, interval: float = POLL_INTERVAL, debounce: float = DEBOUNCE) -> None:
        if interval <= 0 or debounce < 0:
            raise ValueError("interval must be positive and debounce not negative")
        self.reloader = reloader
        self.interval = interval
        self.debounce = debounce
        self._seen: dict[str, tuple[Any, str | None]] = {}
        self._pending_since: float | None = None
        self._last_change = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None
        for path in reloader.watched():
            self._seen[path] = self._look(path, None)

    @staticmethod
    def _look(path: str, previous: tuple[Any, str | None] | None) -> tuple[Any, str | None]:
        """(stamp, sha256) of ``path``; the hash is read again only when the stamp moved."""
        try:
            st = os.stat(path)
            stamp: Any = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)
        except OSError:
            return (None, None)
        if previous is not None and previous[0] == stamp:
            return previous
        version = file_version(path, limit=_HASH_LIMIT)
        return (stamp, version.sha256 if version is not None else None)

    def poll(self, now: float | None = None) -> ReloadEvent | None:
        """Look at the files once; reload when a change has settled for ``debounce`` seconds.

        Returns:
            the reload's event, or ``None`` when no reload ran.
        """
        moment = time.monotonic() if now is None else now
        changed = False
        for path in self.reloader.watched():
            before = self._seen.get(path)
            after = self._look(path, before)
            self._seen[path] = after
            # A content change, a file that appeared or disappeared; a path seen for the first time is not one.
            if before is not None and after[1] != before[1]:
                changed = True
        if changed:
            self._last_change = moment
            if self._pending_since is None:
                self._pending_since = moment
        if self._pending_since is None or moment - self._last_change < self.debounce:
            return None
        self._pending_since = None
        event = self.reloader.reload()
        for path in self.reloader.watched():  # start from what the reload saw
            self._seen[path] = self._look(path, self._seen.get(path))
        return event

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the watching thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Watch in a background (daemon) thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="genesys-tls watch", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as exc:  # an on_event callback that raised: stop watching, keep it
                self.failure = exc
                return

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and join the thread (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


# --------------------------------------------------------------------------------------------- servers


class LiveServer:
    """What the servers of the package share about their settings (a mixin): the current generation's views
    and live reconfiguration. A server sets ``holder`` (its :class:`~genesys_tls.server.GenerationHolder`)
    and implements :meth:`_make_reloader`."""

    holder: GenerationHolder
    _reloader: Reloader | None = None
    _watcher: Watcher | None = None

    def _make_reloader(self) -> Reloader:
        raise NotImplementedError

    @property
    def generation(self) -> Generation:
        """The settings new connections get."""
        return self.holder.current

    @property
    def resolved(self) -> ResolvedSecurity:
        """The port's effective settings (of the current generation)."""
        return self.holder.current.port_settings

    @property
    def context(self) -> ssl.SSLContext | None:
        """The TLS context of the current generation (``None`` on a plain port)."""
        return self.holder.current.context

    @property
    def warnings(self) -> tuple[str, ...]:
        """Statements about weakened or ineffective settings of the current generation."""
        return self.holder.current.warnings

    @property
    def tls_mode(self) -> Mode:
        """The mode of the TLS side (current generation)."""
        return self.holder.current.tls_mode

    @property
    def checks(self) -> tuple[Check, ...]:
        """What the TLS side verifies of clients (current generation)."""
        return self.holder.current.checks

    @property
    def reloader(self) -> Reloader:
        """The :class:`Reloader` of this port (made when first used)."""
        if self._reloader is None:
            self._reloader = self._make_reloader()
        return self._reloader

    @property
    def events(self) -> list[ReloadEvent]:
        """Every applied or refused reload so far."""
        return list(self._reloader.events) if self._reloader is not None else []

    def reload(self, env: EnvironmentSource | None = None) -> ReloadEvent:
        """Apply a changed environment (an object or a file; default: the current one, its file read again) and
        the current files to the next connections; connections already open keep their settings. A reload
        that fails changes nothing and its event says why."""
        return self.reloader.reload(env)

    def watch(
        self, *, interval: float = POLL_INTERVAL, debounce: float = DEBOUNCE,
        on_event: Callable[[ReloadEvent], object] | None = None,
    ) -> Watcher:
        """Reload by itself when the environment file or a file of the current generation changes (by
        content); stopped with the server. ``on_event`` gets every applied or refused reload. Returns the
        running :class:`Watcher`."""
        if self._watcher is None:
            reloader = self.reloader
            if on_event is not None:
                reloader.on_event = on_event
            self._watcher = Watcher(reloader, interval=interval, debounce=debounce)
            self._watcher.start()
        return self._watcher

    def wait_for_generation(self, number: int, timeout: float = 5.0) -> Generation:
        """Wait until generation ``number`` (or a later one) serves and return it.

        Raises:
            TimeoutError: it did not within ``timeout`` seconds.
        """
        if not self.holder.wait_for(number, timeout):
            events = self.events
            why = f"; last event: {events[-1].render()}" if events else ""
            raise TimeoutError(
                f"{self!r}: generation {self.holder.current.number} after {timeout}s, expected {number}{why}"
            )
        return self.holder.current

    def _stop_watching(self, timeout: float = 5.0) -> None:
        if self._watcher is not None:
            self._watcher.stop(timeout)


# --------------------------------------------------------------------------------------------- clients


class LiveClient:
    """A long-running client's connection settings, always from the current environment and files.

    Each :meth:`resolved` / :meth:`plan` / :meth:`connect` reads the environment file again when its content
    changed (an in-memory :class:`~genesys_tls.model.Environment` is used as it is, until :meth:`update`),
    and the context cache gives a new context when a certificate, key, CA or CRL file changed: the next
    connection uses the current files, connections already open keep theirs.

    Args:
        source: an environment or its file.
        app, server, port_id: the client application and its connection.
        reading: as :func:`~genesys_tls.resolve.resolve_client`.
        loader: reads an environment file (default :func:`genesys_tls.loaders.load`).
        **context_kwargs: ``password``, ``password_env``, ``crl_check``, ``crl_cache``.
    """

    def __init__(
        self,
        source: EnvironmentSource,
        app: str,
        server: str,
        port_id: str | None = None,
        *,
        reading: Reading | str = Reading.PSDK,
        loader: Loader | None = None,
        **context_kwargs: Any,
    ) -> None:
        self.app, self.server, self.port_id, self.reading = app, server, port_id, reading
        self.loader = loader or _default_loader
        self.context_kwargs = context_kwargs
        self._lock = threading.Lock()
        self._env: Environment | None = None
        self._env_digest: str | None = None
        self._resolved: ResolvedSecurity | None = None
        self.update(source)

    def update(self, source: EnvironmentSource) -> None:
        """Use another environment (an object or a file) from the next connection on."""
        with self._lock:
            self._source = source
            self._env = source if isinstance(source, Environment) else None
            self._env_digest = None
            self._resolved = None

    def resolved(self) -> ResolvedSecurity:
        """The connection's settings now.

        Raises:
            ConfigurationError: the environment (as it is now) cannot be read or resolved.
        """
        with self._lock:
            path = (os.fspath(self._source) if not isinstance(self._source, Environment)
                    else (os.fspath(self._source.source) if self._source.source is not None else None))
            if path is not None:
                version = file_version(path)
                digest = version.sha256 if version is not None else None
                if self._env is None or digest is None or digest != self._env_digest:
                    self._env = self.loader(path)
                    self._env_digest = digest
                    self._resolved = None
            assert self._env is not None  # noqa: S101 - set by update() or just loaded
            if self._resolved is None:
                self._resolved = resolve_client(self._env, self.app, self.server, self.port_id,
                                                reading=self.reading)
            return self._resolved

    def plan(self, address: str | tuple[str, int] | None = None) -> Any:
        """The :class:`~genesys_tls.contexts.ConnectionPlan` for the next connection."""
        from .contexts import client_plan

        return client_plan(self.resolved(), address=address, **self.context_kwargs)

    def connect(self, address: str | tuple[str, int] | None = None, *, timeout: float = 10.0,
                check: bool = False) -> Any:
        """One handshake with the current settings (:func:`genesys_tls.handshake.connect`)."""
        from .handshake import connect

        return connect(self.resolved(), address=address, timeout=timeout, check=check, **self.context_kwargs)
