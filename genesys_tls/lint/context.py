"""The shared state of one lint run: :class:`LintContext` (the environment, the run's options, the findings
and the caches) and :class:`FileCache` (each certificate, key or CRL file read and parsed once).

The engine (:mod:`genesys_tls.lint.engine`) builds one context per run; the checks
(:mod:`~genesys_tls.lint.layers`, :mod:`~genesys_tls.lint.files`, :mod:`~genesys_tls.lint.ports`,
:mod:`~genesys_tls.lint.links`) read and write it. It imports none of them, so the engine and the checks do
not import each other.
"""

from __future__ import annotations

import datetime
import os
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import attrs
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.utils import CryptographyDeprecationWarning

from .. import _files
from .._pem import is_pem
from ..errors import ConfigurationError, Problem
from ..model import Environment
from ..resolve import Reading, ResolvedSecurity, resolve_server
from .rules import RULES, Finding

__all__ = ["SHARE_CLEAN_CHECKS", "CacheStats", "FileCache", "FileProblem", "LintContext", "Loaded"]

T = TypeVar("T")

#: Whether a run checks each distinct set of inputs once (:meth:`LintContext.shared`). Only tests turn it
#: off, to compare the shared run with one that checks every object on its own.
SHARE_CLEAN_CHECKS = True


# =========================================================================================== file cache


@attrs.frozen
class FileProblem:
    """Why a file could not be used: the rule code (``GT301``...) and a sentence naming the file."""

    code: str
    message: str


@attrs.frozen
class Loaded(Generic[T]):
    """A file as the cache read it: its parsed content, or the problem (exactly one is set)."""

    path: Path
    value: T | None = None
    problem: FileProblem | None = None


@attrs.frozen
class CacheStats:
    """What the file cache did in one run.

    Attributes:
        reads: absolute path -> how many times the file was opened (1 for every file lint looked at).
        hits: lookups served from the cache.
        misses: lookups that read a file.
    """

    reads: Mapping[str, int]
    hits: int
    misses: int

    @property
    def max_reads(self) -> int:
        """The most times any one file was opened (1 when the cache works)."""
        return max(self.reads.values(), default=0)


class FileCache:
    """Certificate, key and CRL files of one lint run, each read and parsed once.

    Entries are keyed by kind and absolute path; a file that cannot be used is cached with its problem, so
    it is reported once too. Not shared between runs: files may change between them.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Loaded[Any]] = {}
        self._with_key: set[str] = set()
        self.reads: Counter[str] = Counter()
        self.hits = 0
        self.misses = 0

    def stats(self) -> CacheStats:
        """The counters, frozen."""
        return CacheStats(MappingProxyType(dict(self.reads)), self.hits, self.misses)

    def _get(self, kind: str, path: Path, parse: Callable[[Path], Loaded[T]]) -> Loaded[T]:
        key = (kind, os.path.abspath(path))
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            return entry
        self.misses += 1
        loaded = parse(Path(key[1]))
        self._entries[key] = loaded
        return loaded

    def _read(self, path: Path) -> bytes | FileProblem:
        self.reads[str(path)] += 1
        try:  # the one bounded reader: special files (FIFOs, /dev/zero) are refused without blocking
            return _files.read_regular_file(path, limit=_files.MAX_CERTIFICATE_BYTES, what="file")
        except ConfigurationError as exc:
            if exc.problem is Problem.FILE_MISSING:
                return FileProblem("GT301", f"{path} does not exist")
            return FileProblem("GT302", f"{path}: {exc.reason}")

    def certificates(self, path: Path) -> Loaded[tuple[x509.Certificate, ...]]:
        """The PEM certificates of a ``certificate`` or ``trusted-ca`` file, in file order."""
        return self._get("certificates", path, self._parse_certificates)

    def _parse_certificates(self, path: Path) -> Loaded[tuple[x509.Certificate, ...]]:
        data = self._read(path)
        if isinstance(data, FileProblem):
            return Loaded(path, problem=data)
        if not is_pem(data, "CERTIFICATE"):
            what = "no PEM certificate"
            try:
                x509.load_der_x509_certificate(data)
                what = "a DER certificate; Genesys components need PEM"
            except ValueError:
                pass
            return Loaded(path, problem=FileProblem("GT303", f"{path} holds {what}"))
        try:
            with warnings.catch_warnings():
                # e.g. a negative serial number in a public bundle: not a TLS configuration problem
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                certs = tuple(x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            return Loaded(
                path, problem=FileProblem("GT303", f"{path} has a PEM certificate that cannot be parsed ({exc})")
            )
        if is_pem(data, "PRIVATE KEY"):
            self._with_key.add(str(path))
        return Loaded(path, value=certs)

    def holds_private_key(self, path: Path) -> bool:
        """Whether a certificate file read by :meth:`certificates` also holds a PEM private key (components
        and genesys_tls then read the key from it when certificate-key is not set)."""
        return os.path.abspath(path) in self._with_key

    def private_key(self, path: Path) -> Loaded[PrivateKeyTypes]:
        """The private key of a ``certificate-key`` file (an encrypted key is a ``GT311`` problem)."""
        return self._get("key", path, self._parse_key)

    def _parse_key(self, path: Path) -> Loaded[PrivateKeyTypes]:
        data = self._read(path)
        if isinstance(data, FileProblem):
            return Loaded(path, problem=data)
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            return Loaded(
                path,
                problem=FileProblem(
                    "GT311", f"{path} is encrypted: it cannot be checked against the certificate without the password"
                ),
            )
        except (ValueError, UnsupportedAlgorithm):
            return Loaded(path, problem=FileProblem("GT303", f"{path} holds no PEM private key that can be parsed"))
        return Loaded(path, value=key)

    def crls(self, path: Path) -> Loaded[tuple[x509.CertificateRevocationList, ...]]:
        """The CRLs of a ``tls-crl`` file (PEM or DER), read with :func:`genesys_tls.crl.load_crls`."""
        return self._get("crls", path, self._parse_crls)

    def _parse_crls(self, path: Path) -> Loaded[tuple[x509.CertificateRevocationList, ...]]:
        from ..crl import load_crls

        if "\x00" in str(path):
            return Loaded(path, problem=FileProblem("GT302", f"{str(path)!r} is not a valid file name (it holds a "
                                                              "NUL character)"))
        self.reads[str(path)] += 1
        try:
            crls = load_crls(path)
        except ConfigurationError as exc:
            if exc.problem is Problem.FILE_MISSING:
                return Loaded(path, problem=FileProblem("GT301", f"{path} does not exist"))
            code = "GT302" if exc.problem is Problem.FILE_UNREADABLE else "GT303"
            return Loaded(path, problem=FileProblem(code, f"{path}: {exc.reason}"))
        return Loaded(path, value=tuple(crls))


# =========================================================================================== context


class LintContext:
    """One lint run: the environment, the options of the run, the caches and the findings so far.

    The rules read it; users do not build it (call :func:`lint`).

    Attributes:
        env: the environment.
        reading: ``psdk`` or ``doc`` (:class:`~genesys_tls.resolve.Reading`).
        now: the moment dates are checked against (aware, UTC).
        expiry_days: the warning window for certificates and CRLs.
        files: the run's :class:`FileCache`.
        findings: the findings, in the order found, without duplicates.
        ports_resolved: how many server ports were resolved (each once, or answered by a port with the same
            inputs).
        connections_resolved: how many client connections were resolved (each once, or answered by a
            connection with the same inputs).
        emitted: how many findings the checks emitted so far (before selection and de-duplication).
        shared_checks: how many checks were answered by an earlier check of the same inputs.
    """

    def __init__(
        self,
        env: Environment,
        *,
        reading: Reading,
        now: datetime.datetime,
        expiry_days: int,
        selected: frozenset[str] | None,
    ) -> None:
        self.env = env
        self.reading = reading
        self.now = now
        self.expiry_days = expiry_days
        self.files = FileCache()
        self.findings: list[Finding] = []
        self.connections_resolved = 0
        self.emitted = 0
        self.shared_checks = 0
        #: keys of the checks whose inputs were checked once and emitted nothing (see :meth:`shared`)
        self.clean: set[Hashable] = set()
        self._share = SHARE_CLEAN_CHECKS
        self._ports: set[tuple[str, str]] = set()
        self._inputs: dict[int, tuple[tuple[str, str], ...]] = {}
        self._selected = selected
        #: finding -> where in the environment file it is written, when a check knows better than its
        #: object, level and option (see :meth:`~genesys_tls.lint.engine.Report.line`)
        self.paths: dict[Finding, tuple[str | int, ...]] = {}
        self._seen: set[tuple[str, str, str | None, str | None, str]] = set()
        self._memo: dict[Hashable, Any] = {}
        self._servers: dict[tuple[str, str], ResolvedSecurity | None] = {}

    def emit(self, finding: Finding, *, path: tuple[str | int, ...] | None = None) -> None:
        """Record a finding (unless its rule is not selected, or the same finding was recorded already);
        ``path``: where it is written in the environment file, when the object, level and option do not say."""
        self.emitted += 1
        if self._selected is not None and finding.code not in self._selected:
            return
        key = (finding.code, finding.object, finding.level, finding.option, finding.message)
        if key in self._seen:
            return
        self._seen.add(key)
        if finding.file is None and self.env.file is not None:
            finding = attrs.evolve(finding, file=self.env.file)
        self.findings.append(finding)
        if path is not None:
            self.paths[finding] = path

    def guard(self, object: str, level: str | None, check: Callable[..., None], *args: Any) -> None:
        """Run one check on one object; an unexpected exception becomes a ``GT900`` finding."""
        try:
            check(*args)
        except Exception as exc:  # the lint never crashes on an environment: report and go on
            name = getattr(check, "__name__", "check").lstrip("_")
            self.emit(
                RULES["GT900"].finding(
                    object,
                    f"check {name} failed with {type(exc).__name__}: {exc}",
                    level=level,
                )
            )

    def shared(
        self, key: Hashable | None, object: str, level: str | None, check: Callable[..., None], *args: Any
    ) -> bool:
        """Run one check through :meth:`guard`, once per distinct ``key`` when it emits nothing.

        ``key`` names every input of the check other than the names it writes in its findings (``None``: the
        inputs cannot be told, the check runs). A check that emitted nothing for a key emits nothing for any
        object with the same key, so the later ones are skipped; a check that emitted something (or failed)
        runs again for each object, so every finding keeps its own object's names. Returns whether the check
        was answered by an earlier one.
        """
        if key is not None and key in self.clean:
            self.shared_checks += 1
            return True
        before = self.emitted
        self.guard(object, level, check, *args)
        if key is not None and self._share and self.emitted == before:
            self.clean.add(key)
        return False

    @property
    def ports_resolved(self) -> int:
        """How many distinct server ports were resolved or answered by a port with the same inputs."""
        return len(self._ports)

    def port_known(self, app: str, port_id: str) -> None:
        """Count a port whose checks an earlier port with the same inputs answered."""
        self._ports.add((app, port_id))

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per key for the whole run."""
        try:
            value: T = self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
        return value

    def server(self, app: str, port_id: str) -> ResolvedSecurity | None:
        """The effective settings of a listening port, resolved once per run (``None``: an invalid value,
        which ``GT110`` reports where it is written)."""
        key = (app, port_id)
        if key not in self._servers:
            self._ports.add(key)
            try:
                self._servers[key] = resolve_server(self.env, app, port_id, reading=self.reading)
            except ConfigurationError:
                self._servers[key] = None
        return self._servers[key]

    def count_client(self, resolve: Callable[[], ResolvedSecurity]) -> ResolvedSecurity:
        """Resolve a client connection, counting it."""
        self.connections_resolved += 1
        return resolve()

    def inputs(self, mapping: Mapping[str, str] | None) -> tuple[tuple[str, str], ...] | None:
        """What a level's mapping contributes to a :meth:`shared` key: its names and values in order (the same
        for equal mappings of different objects), ``None`` for an empty one. Computed once per mapping (the
        model is immutable and the environment holds the mapping for the whole run)."""
        if not mapping:
            return None
        known = self._inputs.get(id(mapping))
        if known is None:
            known = self._inputs[id(mapping)] = tuple(mapping.items())
        return known


