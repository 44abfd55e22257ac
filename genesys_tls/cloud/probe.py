"""The cloud TLS profile probe: can a workstation reach a cloud application the way the guide requires?

:func:`probe` checks, against ``https://host[:port]/``:

1. ``chain``, ``target-name``: a handshake with a TLS 1.2 floor, the server's chain verified against public CAs
   (the ``certifi`` bundle, or a CA file) and its name checked;
2. ``tls1.2``: a second handshake capped at TLS 1.2 must succeed too (the cloud supports TLS 1.2);
3. ``crl``: the CRLs named in the leaf's (with ``chain_crls``, also the intermediates') CRL Distribution
   Points are fetched over HTTP
   (:mod:`genesys_tls.cloud.crlfetch`: bounded, cached until nextUpdate), checked with :mod:`genesys_tls.crl`,
   and the leaf must not be listed. ``revocation``: ``require`` (default, fail closed), ``soft`` (a CRL that
   cannot be had is a warning, as a browser does; a revoked leaf still fails) or ``off``;
4. ``https-redirect`` (``portal=True``): ``http://host/`` must answer at once with a redirect to
   ``https://host``.

Through a proxy (``proxy="host:port"``) the handshakes tunnel with CONNECT (urllib3); a ``407`` answer is the
``proxy-authentication-required`` category. Names are resolved through ``resolve`` (host -> address) when given,
never DNS; the host must be within the cloud domain (default ``genesyscloud.com``). Failures carry the
project's categories (:func:`genesys_tls.handshake.classify`).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
import urllib.parse
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
import certifi
import urllib3
import urllib3.connection
from cryptography import x509

from ..crl import check_crls
from ..errors import Category, ConfigurationError, TLSError
from ..handshake import PeerIdentity, classify
from ._read import read_text
from .crlfetch import CRLFetchCache, FetchLimits, distribution_points, fetch_crl, release
from .facts import CLOUD_DOMAIN, in_domain
from .pac import check_proxy_address

__all__ = ["REVOCATION_POLICIES", "ProbeResult", "parse_resolve", "probe"]

#: ``--revocation`` values.
REVOCATION_POLICIES = ("require", "soft", "off")
_TUNNEL_FAILED = re.compile(r"Tunnel connection failed: (\d{3})")


@attrs.frozen
class ProbeResult:
    """The outcome of :func:`probe`.

    Attributes:
        ok: every check passed (warnings allowed).
        url: the URL probed.
        address: where the handshakes dialled (``HOST:PORT``; the proxy's CONNECT target through a proxy).
        checks: what passed: ``chain``, ``target-name``, ``tls1.2``, ``crl``, ``https-redirect``.
        error: ``(category, detail)`` of the first failure.
        warnings: what was tolerated (``soft`` revocation) or skipped (``off``).
        protocol: the protocol of the first handshake.
        cipher: its cipher suite.
        peer: the server certificate's identity.
        crls: the CRL URLs consulted and what came of each.
        proxy: the proxy tunnelled through.
    """

    ok: bool
    url: str
    address: str
    checks: tuple[str, ...]
    error: tuple[Category, str] | None = None
    warnings: tuple[str, ...] = ()
    protocol: str | None = None
    cipher: str | None = None
    peer: PeerIdentity | None = None
    crls: tuple[tuple[str, str], ...] = ()
    proxy: str | None = None

    @property
    def category(self) -> Category | None:
        """The failure category, ``None`` when the probe passed."""
        return self.error[0] if self.error else None

    def to_dict(self) -> dict[str, Any]:
        """The ``connect --json`` shape (``ok``, ``protocol``, ``cipher``, ``peer``, ``checks``, ``error``) plus
        ``url``, ``address``, ``warnings``, ``crls`` and ``proxy``."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "url": self.url,
            "address": self.address,
            "protocol": self.protocol,
            "cipher": self.cipher,
            "peer": self.peer.to_dict() if self.peer else None,
            "checks": list(self.checks),
            "warnings": list(self.warnings),
            "crls": [{"url": u, "outcome": o} for u, o in self.crls],
            "proxy": self.proxy,
        }
        if self.error is not None:
            out["error"] = {"category": self.error[0].value, "detail": self.error[1]}
        return out


def parse_resolve(entries: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``HOST:ADDR`` strings (``--resolve``) -> {host: address}.

    Raises:
        ConfigurationError: no address, or an address that is not an IP address.
    """
    out: dict[str, str] = {}
    for entry in entries:
        host, sep, address = entry.partition(":")
        host = host.strip().lower().rstrip(".")
        address = address.strip().strip("[]")
        if not sep or not host or not address:
            raise ConfigurationError("--resolve needs HOST:ADDR", option="resolve", value=entry,
                                     valid="HOST:ADDR, for example app.genesyscloud.com:127.0.0.1")
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigurationError("--resolve gives an IP address, not a name", option="resolve", value=entry,
                                     valid="HOST:ADDR with ADDR an IP address") from None
        out[host] = address
    return out


@attrs.frozen
class _Target:
    url: str
    host: str
    port: int
    address: str


def _target(url: str, domain: str, resolve: Mapping[str, str] | None) -> _Target:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https":
        raise ConfigurationError("the probe URL must be https://", option="url", value=url,
                                 valid="https://NAME.genesyscloud.com[:PORT]/")
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port or 443
    except ValueError:
        raise ConfigurationError("bad port in the probe URL", option="url", value=url, valid="1-65535") from None
    if not host or parts.username or parts.password:
        raise ConfigurationError("the probe URL needs a host name and no credentials", option="url",
                                 value=url if not parts.password else "(credentials removed)",
                                 valid=f"https://NAME.{domain}/")
    if not in_domain(host, domain):
        raise ConfigurationError(f"the host is outside the cloud domain {domain}", option="url", value=host,
                                 valid=f"a name within {domain} (set the cloud domain to probe another)")
    address = host
    if resolve is not None:
        if host not in resolve:
            raise ConfigurationError("the host is not in the --resolve map (no DNS lookups)", option="resolve",
                                     value=host, valid=tuple(resolve) or "HOST:ADDR entries")
        address = resolve[host]
    return _Target(url, host, port, address)


def _context(ca_file: str | None, *, cap_tls12: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cap_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_verify_locations(cafile=ca_file or certifi.where())
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"the CA file cannot be loaded ({exc})", file=ca_file, option="ca") from None
    return ctx


def _trusted(ca_file: str | None) -> tuple[x509.Certificate, ...]:
    data = read_text(ca_file or certifi.where(), what="CA file").encode("utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return tuple(x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            raise ConfigurationError(f"the CA file holds no PEM certificate ({exc})", file=ca_file,
                                     option="ca") from None


def _unwrap(exc: BaseException) -> BaseException:
    """The ssl or socket error under urllib3's wrappers."""
    seen = exc
    for _ in range(6):
        if isinstance(seen, ssl.SSLError | ConnectionError | TimeoutError):
            break
        reason = getattr(seen, "reason", None)
        inner = reason if isinstance(reason, BaseException) else seen.__cause__ or seen.__context__
        if inner is None or inner is seen:
            break
        seen = inner
    return seen


def _proxy_category(exc: BaseException) -> tuple[Category, str] | None:
    text = str(exc)
    inner: BaseException | None = exc
    while inner is not None and not _TUNNEL_FAILED.search(text):
        inner = inner.__cause__ or inner.__context__
        text = str(inner) if inner is not None else text
    match = _TUNNEL_FAILED.search(text)
    if not match:
        return None
    code = match.group(1)
    if code == "407":
        return Category.PROXY_AUTHENTICATION_REQUIRED, (
            "the proxy answered CONNECT with 407 Proxy Authentication Required; the cloud applications' signalling "
            "(Genesys Softphone in WebRTC mode) does not support proxy authentication"
        )
    return Category.CONNECTION, f"the proxy refused the CONNECT tunnel with HTTP {code}"


def _verified_chain(sock: ssl.SSLSocket) -> tuple[bytes, ...]:
    """The chain OpenSSL verified (leaf first, DER): ``SSLSocket.get_verified_chain`` from Python 3.13, the same
    method of the underlying ``_ssl`` object before; empty when neither exists."""
    method = getattr(sock, "get_verified_chain", None) or getattr(getattr(sock, "_sslobj", None),
                                                                  "get_verified_chain", None)
    if method is None:
        return ()
    chain = []
    for cert in method() or ():
        der = cert if isinstance(cert, bytes) else cert.public_bytes(_ENCODING_DER)
        chain.append(bytes(der))
    return tuple(chain)


_ENCODING_DER = 2  # _ssl.ENCODING_DER


def _handshake(
    target: _Target, ctx: ssl.SSLContext, proxy: tuple[str, int] | None, timeout: float
) -> tuple[str | None, tuple[str, str, int] | None, bytes | None, tuple[bytes, ...]]:
    """(protocol, cipher, DER leaf, verified chain) of one handshake; raises what the connection raised."""
    if proxy is None:
        conn = urllib3.connection.HTTPSConnection(
            target.address, target.port, timeout=timeout, ssl_context=ctx, server_hostname=target.host
        )
    else:
        conn = urllib3.connection.HTTPSConnection(
            proxy[0], proxy[1], timeout=timeout, ssl_context=ctx, server_hostname=target.host
        )
        conn.set_tunnel(target.address, target.port)
    try:
        conn.connect()
        sock = conn.sock
        assert isinstance(sock, ssl.SSLSocket)  # noqa: S101 - an HTTPS connection has an SSL socket
        return sock.version(), sock.cipher(), sock.getpeercert(binary_form=True), _verified_chain(sock)
    finally:
        conn.close()


def _fail(
    target: _Target, address: str, checks: list[str], category: Category, detail: str, **extra: Any
) -> ProbeResult:
    return ProbeResult(False, target.url, address, tuple(checks), (category, detail), **extra)


def _check_redirect(
    target: _Target, http_port: int, proxy: tuple[str, int] | None, timeout: float
) -> str | None:
    """``None`` when ``http://host/`` redirects at once to ``https://host``; else why not."""
    headers = {"Host": target.host if http_port == 80 else f"{target.host}:{http_port}", "User-Agent": "genesys-tls"}
    t = urllib3.Timeout(connect=timeout, read=timeout)
    client: urllib3.ProxyManager | urllib3.HTTPConnectionPool
    try:
        if proxy is None:
            client = urllib3.HTTPConnectionPool(target.address, http_port, maxsize=1, timeout=t, retries=False)
            response = client.urlopen("GET", "/", headers=headers, redirect=False, retries=False,
                                      preload_content=False, timeout=t)
        else:
            client = urllib3.ProxyManager(f"http://{proxy[0]}:{proxy[1]}", num_pools=1, timeout=t, retries=False)
            response = client.request("GET", f"http://{target.address}:{http_port}/", headers=headers,
                                      redirect=False, retries=False, preload_content=False, timeout=t)
    except urllib3.exceptions.HTTPError as exc:
        return f"http://{target.host}:{http_port}/ cannot be reached ({type(exc).__name__})"
    try:
        location = response.get_redirect_location() if response.status in (301, 302, 303, 307, 308) else None
        if not location:
            return f"http://{target.host}:{http_port}/ answered HTTP {response.status} instead of a redirect to https"
        parts = urllib.parse.urlsplit(location)
        if parts.scheme != "https" or (parts.hostname or "").lower().rstrip(".") != target.host:
            return f"http://{target.host}:{http_port}/ redirects to {location[:200]}, not to https://{target.host}"
        return None
    finally:
        release(response, client)


def probe(
    url: str,
    *,
    ca_file: str | None = None,
    resolve: Mapping[str, str] | None = None,
    revocation: str = "require",
    proxy: str | None = None,
    domain: str = CLOUD_DOMAIN,
    timeout: float = 10.0,
    portal: bool = False,
    http_port: int = 80,
    crl_limits: FetchLimits | None = None,
    cache: CRLFetchCache | None = None,
    now: datetime.datetime | None = None,
    chain_crls: bool = False,
) -> ProbeResult:
    """Probe one cloud application URL (see the module docstring).

    Args:
        url: ``https://NAME.<domain>[:PORT]/``.
        ca_file: PEM CA certificates to trust instead of ``certifi``'s public CAs.
        resolve: host -> IP address; when given, the only way names are resolved.
        revocation: ``require`` (default), ``soft`` or ``off``.
        proxy: ``host:port`` of an HTTP proxy to tunnel through with CONNECT (CRLs are fetched through it too).
        domain: the cloud domain (default ``genesyscloud.com``).
        timeout: seconds for each connection.
        portal: also check that ``http://host:http_port/`` redirects at once to HTTPS.
        http_port: the Portal's plain HTTP port (80).
        crl_limits: bounds of each CRL fetch (default :class:`FetchLimits`, its time bound at most ``timeout``).
        cache: the CRL cache (default :data:`~genesys_tls.cloud.crlfetch.default_fetch_cache`).
        now: the moment CRL dates are checked against.
        chain_crls: also check the CRLs of the intermediate CAs of the verified chain (default: the leaf only).

    Raises:
        ConfigurationError: a non-https URL, a host outside the domain or missing from ``resolve``, a bad
            policy, proxy or CA file. Failed checks are in the result, never raised.
    """
    if revocation not in REVOCATION_POLICIES:
        raise ConfigurationError("unknown revocation policy", option="revocation", value=revocation,
                                 valid=REVOCATION_POLICIES)
    target = _target(url, domain, resolve)
    proxy_address = None
    if proxy is not None:
        checked = check_proxy_address(proxy, option="proxy")
        proxy_host = checked.host
        if resolve is not None and proxy_host in resolve:
            proxy_host = resolve[proxy_host]
        proxy_address = (proxy_host, checked.port)
    limits = crl_limits or FetchLimits(seconds=min(timeout, FetchLimits().seconds))
    address = f"{target.address}:{target.port}"
    base: dict[str, Any] = {"proxy": proxy}
    checks: list[str] = []
    warned: list[str] = []
    # 1. TLS 1.2 floor, chain and name
    ctx = _context(ca_file, cap_tls12=False)
    trusted = _trusted(ca_file)
    try:
        protocol, cipher, der, chain = _handshake(target, ctx, proxy_address, timeout)
    except Exception as exc:
        proxied = _proxy_category(exc) if proxy_address else None
        category, detail = proxied or classify(_unwrap(exc), side="client")
        return _fail(target, address, checks, category, detail, **base)
    peer = PeerIdentity.from_der(der)
    base.update(protocol=protocol, cipher=cipher[0] if cipher else None, peer=peer)
    checks += ["chain", "target-name"]
    # 2. capped at TLS 1.2
    try:
        _handshake(target, _context(ca_file, cap_tls12=True), proxy_address, timeout)
    except Exception as exc:
        proxied = _proxy_category(exc) if proxy_address else None
        category, detail = proxied or classify(_unwrap(exc), side="client")
        return _fail(target, address, checks, category, f"a handshake capped at TLS 1.2 failed: {detail}", **base)
    checks.append("tls1.2")
    # 3. revocation
    consulted: list[tuple[str, str]] = []
    if revocation == "off":
        warned.append("revocation not checked (--revocation off)")
    else:
        try:
            proxy_text = f"{proxy_address[0]}:{proxy_address[1]}" if proxy_address else None
            fetch = _Fetch(resolve, limits, proxy_text, cache, now, consulted)
            _revocation(der, chain, trusted, fetch, whole_chain=chain_crls)
            checks.append("crl")
        except TLSError as exc:
            if revocation == "soft" and exc.category in (Category.CRL_UNAVAILABLE, Category.CRL_EXPIRED):
                warned.append(f"revocation unknown, tolerated by --revocation soft: {exc}")
            else:
                return _fail(target, address, checks, exc.category, exc.detail, warnings=tuple(warned),
                             crls=tuple(consulted), **base)
    base["crls"] = tuple(consulted)
    # 4. the Portal's redirect
    if portal:
        why = _check_redirect(target, http_port, proxy_address, timeout)
        if why is not None:
            return _fail(target, address, checks, Category.PROTOCOL, why, warnings=tuple(warned), **base)
        checks.append("https-redirect")
    return ProbeResult(True, target.url, address, tuple(checks), None, tuple(warned), **base)


def _load(der: bytes) -> x509.Certificate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate(der)


@attrs.frozen
class _Fetch:
    """How one probe fetches CRLs (name overrides, bounds, proxy, cache, clock) and the URLs it consulted."""

    resolve: Mapping[str, str] | None
    limits: FetchLimits
    proxy: str | None
    cache: CRLFetchCache | None
    now: datetime.datetime | None
    consulted: list[tuple[str, str]]


def _revocation(
    der: bytes | None,
    chain: tuple[bytes, ...],
    trusted: tuple[x509.Certificate, ...],
    fetch: _Fetch,
    *,
    whole_chain: bool,
) -> None:
    """Check the leaf (and with ``whole_chain`` every intermediate) against the CRLs of its distribution points.

    CRL signers: the trusted CAs and the CA certificates of the chain OpenSSL verified (a public CA's leaf is
    issued by an intermediate the server sends, which no CA file holds).
    """
    if not der:
        raise TLSError(Category.CRL_UNAVAILABLE, "the server sent no certificate to check")
    verified = [_load(c) for c in chain]
    signers = tuple(trusted) + tuple(c for c in verified[1:] if c not in trusted)
    subjects = [_load(der)]
    if whole_chain:
        subjects += [c for c in verified[1:] if c.subject != c.issuer]  # intermediates; a root is trusted as is
    for index, cert in enumerate(subjects):
        what = "the server certificate" if index == 0 else f"the intermediate CA {cert.subject.rfc4514_string()!r}"
        _check_one(cert, what, signers, fetch)


def _check_one(leaf: x509.Certificate, what: str, trusted: tuple[x509.Certificate, ...], fetch: _Fetch) -> None:
    points = distribution_points(leaf)
    if not points:
        raise TLSError(Category.CRL_UNAVAILABLE, f"{what} names no CRL Distribution Point")
    issuers = [ca for ca in trusted if ca.subject == leaf.issuer]
    for uris in points:
        errors: list[TLSError] = []
        crls = None
        for uri in uris:
            try:
                crls = fetch_crl(uri, trusted, resolve=fetch.resolve, limits=fetch.limits, proxy=fetch.proxy,
                                 cache=fetch.cache, now=fetch.now)
                fetch.consulted.append((uri, "ok"))
                break
            except TLSError as exc:
                fetch.consulted.append((uri, exc.category.value))
                errors.append(exc)
        if crls is None:
            expired = all(e.category is Category.CRL_EXPIRED for e in errors)
            raise TLSError(Category.CRL_EXPIRED if expired else Category.CRL_UNAVAILABLE,
                           "; ".join(e.detail for e in errors))
        checked = check_crls(crls, trusted, now=fetch.now)
        if not any(checked.covers(ca) for ca in issuers):
            raise TLSError(Category.CRL_UNAVAILABLE, f"the CRL at {uris[0]} is not signed by the issuer of {what}, "
                           f"{leaf.issuer.rfc4514_string()!r}")
        if checked.is_revoked(leaf):
            raise TLSError(Category.REVOKED, f"{what} (serial {leaf.serial_number:x}) is revoked by the CRL at "
                           f"{uris[0]}")
