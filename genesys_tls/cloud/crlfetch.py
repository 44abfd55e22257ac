"""Fetching CRLs named in CRL Distribution Points, over HTTP with urllib3, bounded and cached.

* Only ``http://`` URLs are fetched (CRLs are signed, and an ``https`` CRL URL would need revocation checking
  itself); other schemes (``ldap://``...) are skipped and said so.
* Redirects are followed up to :attr:`FetchLimits.redirects` times; each hop is resolved through the same
  name map as the probe (never DNS when a map is given).
* A response body larger than :attr:`FetchLimits.max_bytes` is refused as soon as it is seen to be (by
  ``Content-Length`` or while reading); the whole fetch, redirects included, must end within
  :attr:`FetchLimits.seconds`.
* Parsing and checks use :mod:`genesys_tls.crl` (``check_crls``): the CRL must be signed by a trusted CA and
  be current. Every failure is a :class:`~genesys_tls.errors.TLSError` ``crl-unavailable`` or ``crl-expired``;
  nothing else escapes.
* :class:`CRLFetchCache` keeps each URL's CRL until its nextUpdate: a second probe does not fetch it again.
"""

from __future__ import annotations

import datetime
import ipaddress
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence

import attrs
import urllib3
from cryptography import x509

from ..crl import _parse, check_crls
from ..errors import Category, ConfigurationError, TLSError

__all__ = ["CRLFetchCache", "FetchLimits", "default_fetch_cache", "distribution_points", "fetch_crl"]


@attrs.frozen
class FetchLimits:
    """Bounds of one CRL fetch.

    Attributes:
        max_bytes: the largest CRL accepted (default 20 MiB: large public CRLs reach a few MiB).
        seconds: the whole fetch, redirects included.
        redirects: how many redirects are followed.
    """

    max_bytes: int = 20 * 1024 * 1024
    seconds: float = 10.0
    redirects: int = 3


def distribution_points(cert: x509.Certificate) -> tuple[tuple[str, ...], ...]:
    """The URIs of each CRL Distribution Point of ``cert`` (one tuple of alternatives per point)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return ()
    points = []
    for point in ext:
        uris = tuple(n.value for n in point.full_name or () if isinstance(n, x509.UniformResourceIdentifier))
        if uris:
            points.append(uris)
    return tuple(points)


def _unavailable(url: str, why: str) -> TLSError:
    return TLSError(Category.CRL_UNAVAILABLE, f"CRL {url}: {why}")


def _target(url: str, resolve: Mapping[str, str] | None) -> tuple[str, int, str, str]:
    """(address to dial, port, Host header, path) of an http URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise _unavailable(url, "only http:// CRL URLs are fetched")
    host = parts.hostname
    try:
        port = parts.port or 80
    except ValueError:
        raise _unavailable(url, "bad port") from None
    address = host
    if resolve is not None:
        mapped = resolve.get(host.lower())
        if mapped is None:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise _unavailable(url, f"{host} is not in the name map (no DNS lookups)") from None
        else:
            address = mapped
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    header = host if parts.port is None else f"{host}:{port}"
    return address, port, header, path


def _download(
    url: str, *, resolve: Mapping[str, str] | None, limits: FetchLimits, proxy: str | None
) -> bytes:
    deadline = time.monotonic() + limits.seconds
    current = url
    for _hop in range(limits.redirects + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _unavailable(url, f"not fetched within {limits.seconds:g} s")
        address, port, host_header, path = _target(current, resolve)
        timeout = urllib3.Timeout(connect=remaining, read=remaining)
        headers = {"Host": host_header, "Accept": "application/pkix-crl, */*", "User-Agent": "genesys-tls"}
        client: urllib3.ProxyManager | urllib3.HTTPConnectionPool
        try:
            if proxy is not None:
                client = urllib3.ProxyManager(f"http://{proxy}", num_pools=1, timeout=timeout, retries=False)
                absolute = f"http://{address}:{port}{path}"
                response = client.request("GET", absolute, headers=headers, redirect=False,
                                          preload_content=False, retries=False, timeout=timeout)
            else:
                client = urllib3.HTTPConnectionPool(address, port, maxsize=1, timeout=timeout, retries=False)
                response = client.urlopen("GET", path, headers=headers, redirect=False, preload_content=False,
                                          retries=False, timeout=timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise _unavailable(url, f"cannot fetch ({type(exc).__name__}: {exc})") from None
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.get_redirect_location()
                if not location:
                    raise _unavailable(url, f"HTTP {response.status} without a Location")
                current = urllib.parse.urljoin(current, location)
                continue
            if response.status != 200:
                raise _unavailable(url, f"HTTP {response.status}")
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > limits.max_bytes:
                raise _unavailable(url, f"{length} bytes announced, more than the limit of {limits.max_bytes}")
            body = bytearray()
            try:
                for chunk in response.stream(64 * 1024, decode_content=False):
                    body += chunk
                    if len(body) > limits.max_bytes:
                        raise _unavailable(url, f"more than the limit of {limits.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise _unavailable(url, f"not fetched within {limits.seconds:g} s")
            except urllib3.exceptions.HTTPError as exc:
                raise _unavailable(url, f"reading failed ({type(exc).__name__}: {exc})") from None
            if not body:
                raise _unavailable(url, "empty response")
            return bytes(body)
        finally:
            release(response, client)
    raise _unavailable(url, f"more than {limits.redirects} redirects")


def release(
    response: urllib3.BaseHTTPResponse, client: urllib3.ProxyManager | urllib3.HTTPConnectionPool
) -> None:
    """Close one request's response and its single-use client (a proxy manager is cleared)."""
    response.close()
    if isinstance(client, urllib3.ProxyManager):
        client.clear()
    else:
        client.close()


@attrs.frozen
class _Entry:
    crls: tuple[x509.CertificateRevocationList, ...]
    next_update: datetime.datetime


class CRLFetchCache:
    """CRLs by URL, kept until their nextUpdate. Safe to share between threads.

    Attributes:
        fetches: URL -> how many times it was downloaded.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self.fetches: dict[str, int] = {}

    def clear(self) -> None:
        """Forget every cached CRL and the fetch counts."""
        with self._lock:
            self._entries.clear()
            self.fetches.clear()

    def _get(self, url: str, now: datetime.datetime) -> tuple[x509.CertificateRevocationList, ...] | None:
        with self._lock:
            entry = self._entries.get(url)
            if entry is not None and entry.next_update > now:
                return entry.crls
            self._entries.pop(url, None)
            return None

    def _put(self, url: str, crls: tuple[x509.CertificateRevocationList, ...]) -> None:
        updates = [c.next_update_utc for c in crls if c.next_update_utc is not None]
        if not updates:
            return
        with self._lock:
            self._entries[url] = _Entry(crls, min(updates))

    def _count(self, url: str) -> None:
        with self._lock:
            self.fetches[url] = self.fetches.get(url, 0) + 1


#: The cache the probe uses unless given another.
default_fetch_cache = CRLFetchCache()


def fetch_crl(
    url: str,
    trusted: Sequence[x509.Certificate],
    *,
    resolve: Mapping[str, str] | None = None,
    limits: FetchLimits | None = None,
    proxy: str | None = None,
    cache: CRLFetchCache | None = None,
    now: datetime.datetime | None = None,
) -> tuple[x509.CertificateRevocationList, ...]:
    """Fetch, parse and check the CRL at ``url`` (from the cache while it is current).

    Args:
        url: an ``http://`` URL from a CRL Distribution Point.
        trusted: the CA certificates that may sign it.
        resolve: host name -> address; when given, a host not in it is not fetched (no DNS).
        limits: size, time and redirect bounds (default :class:`FetchLimits`).
        proxy: ``host:port`` of an HTTP proxy to fetch through.
        cache: default :data:`default_fetch_cache`.
        now: the moment the CRL's dates are checked against.

    Raises:
        TLSError: ``crl-unavailable`` (cannot be fetched, too large, too slow, not a CRL, not signed by a
            trusted CA) or ``crl-expired``.
    """
    store = default_fetch_cache if cache is None else cache
    limits = limits or FetchLimits()
    moment = now or datetime.datetime.now(datetime.UTC)
    crls = store._get(url, moment)
    if crls is None:
        store._count(url)
        data = _download(url, resolve=resolve, limits=limits, proxy=proxy)
        try:
            crls = _parse(data, url)
        except ConfigurationError as exc:
            raise _unavailable(url, exc.reason) from None
        _checked(url, crls, trusted, moment)
        store._put(url, crls)
        return crls
    _checked(url, crls, trusted, moment)
    return crls


def _checked(
    url: str, crls: Sequence[x509.CertificateRevocationList], trusted: Sequence[x509.Certificate],
    now: datetime.datetime,
) -> None:
    try:
        check_crls(crls, trusted, now=now)
    except TLSError as exc:
        raise TLSError(exc.category, f"CRL {url}: {exc.detail}") from None
