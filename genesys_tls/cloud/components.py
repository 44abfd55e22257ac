"""Real loopback components for the cloud probe's tests and demo, all on 127.0.0.1.

* :class:`CloudPKI`: a test "third-party" CA whose leaf certificates carry a CRL Distribution Point, plus an
  unrelated CA (for a CRL signed by the wrong CA) and the CA file a probe trusts;
* :class:`CRLServer`: a stdlib ``http.server`` that serves per-path answers (a current, expired, wrong-CA,
  garbage, slow, oversize or empty CRL, a redirect, a hang-up) and counts requests;
* :class:`CloudApp`: an HTTPS "cloud application" (``http.server`` behind a TLS context; a TLS 1.1-only variant
  at OpenSSL security level 0);
* :class:`Redirector`: the Portal's plain-HTTP port that redirects at once to HTTPS (or, for the failing case,
  answers 200);
* :class:`Tinyproxy`: the system ``tinyproxy`` started with a generated configuration, with or without Basic
  authentication.

Every server stops on ``close()`` / leaving its ``with`` block, its threads included; nothing here listens on
anything but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

from ..pki import CertificateAuthority, Issued

__all__ = ["CRLAnswer", "CRLServer", "CloudApp", "CloudPKI", "Redirector", "Tinyproxy", "free_port",
           "tinyproxy_path"]

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------------------------------------------ HTTP base


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: tests provoke failures
        pass


class _Running:
    """A ``ThreadingHTTPServer`` served from a thread."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._stop = threading.Event()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"genesys-tls-{type(self).__name__}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------ CRL server


@attrs.frozen
class CRLAnswer:
    """What :class:`CRLServer` answers on one path.

    Attributes:
        body: the bytes sent.
        status: the HTTP status.
        delay: seconds to wait before answering (interrupted when the server closes).
        location: a ``Location`` header (with a 3xx status).
        announce_length: send ``Content-Length`` (else the body ends when the connection closes).
        hang_up: close the connection without any answer.
    """

    body: bytes = b""
    status: int = 200
    delay: float = 0.0
    location: str | None = None
    announce_length: bool = True
    hang_up: bool = False


class CRLServer(_Running):
    """A loopback HTTP server answering CRL requests per path, counting them (:meth:`count`)."""

    def __init__(self) -> None:
        self.answers: dict[str, CRLAnswer] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with owner._lock:
                    owner.requests[path] = owner.requests.get(path, 0) + 1
                    answer = owner.answers.get(path, CRLAnswer(b"not found", 404))
                if answer.delay and owner._stop.wait(answer.delay):
                    return
                if answer.hang_up:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/pkix-crl")
                    if answer.location:
                        self.send_header("Location", answer.location)
                    if answer.announce_length:
                        self.send_header("Content-Length", str(len(answer.body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass
                self.close_connection = True

        super().__init__(_Server((LOOPBACK, 0), Handler))

    def url(self, path: str, host: str = LOOPBACK) -> str:
        """``http://host:port/path``."""
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    def set(self, path: str, answer: CRLAnswer) -> None:
        """Answer ``answer`` on ``path`` from now on."""
        with self._lock:
            self.answers["/" + path.lstrip("/")] = answer

    def count(self, path: str) -> int:
        """How many requests ``path`` got."""
        with self._lock:
            return self.requests.get("/" + path.lstrip("/"), 0)


# ------------------------------------------------------------------------------------------------ PKI


class CloudPKI:
    """The test third-party CA and its certificates, written into ``directory``.

    Attributes:
        ca: "Test Public CA", the trusted CA.
        other: "Other CA", also trusted (``ca_file`` holds both), which signs the wrong-CA CRL.
        ca_file: PEM file with both CA certificates.
        crl_path: the path of the CRL on the CRL server (``/ca.crl``).
    """

    def __init__(self, directory: Path, crl_url: str) -> None:
        moment = dt.datetime.now(dt.UTC)
        day = dt.timedelta(days=1)
        self.directory = directory
        self.crl_url = crl_url
        self.ca = CertificateAuthority.create("Test Public CA", not_before=moment - 10 * day,
                                              not_after=moment + 3650 * day)
        self.other = CertificateAuthority.create("Other CA", not_before=moment - 10 * day,
                                                 not_after=moment + 3650 * day)
        self.ca_file = directory / "cloud-cas.pem"
        self.ca_file.write_bytes(self.ca.cert_pem() + self.other.cert_pem())

    def leaf(self, name: str, stem: str, *, crl_urls: tuple[str, ...] | None = None) -> tuple[Path, Path]:
        """Issue a server certificate for ``name`` with the CRL Distribution Point; (cert file, key file)."""
        issued: Issued = self.ca.issue(name, server_auth=True, client_auth=False,
                                       crl_urls=(self.crl_url,) if crl_urls is None else crl_urls)
        self._last = issued
        return issued.write(self.directory, stem)

    def revoke_last(self) -> None:
        """Revoke the certificate issued last."""
        self.ca.revoke(self._last)

    def crl(self, *, expired: bool = False, other: bool = False) -> bytes:
        """A DER CRL of the CA (``expired``: nextUpdate yesterday; ``other``: signed by Other CA)."""
        moment = dt.datetime.now(dt.UTC)
        day = dt.timedelta(days=1)
        issuer = self.other if other else self.ca
        if expired:
            return issuer.crl(last_update=moment - 30 * day, next_update=moment - day, der=True)
        return issuer.crl(last_update=moment - day, next_update=moment + 7 * day, der=True)


# ------------------------------------------------------------------------------------------------ HTTPS app


class _TLSServer(_Server):
    context: ssl.SSLContext

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        sock.settimeout(5)
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)


class CloudApp(_Running):
    """An HTTPS "cloud application" on 127.0.0.1 (answers ``GET`` with 200).

    Args:
        cert: the certificate file; key: its key.
        tls11_only: accept TLS 1.1 only (OpenSSL security level 0): a server the cloud profile must refuse.
    """

    def __init__(self, cert: Path, key: Path, *, tls11_only: bool = False) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        if tls11_only:
            with contextlib.suppress(ssl.SSLError):
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = b"genesys-tls test cloud application\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = _TLSServer((LOOPBACK, 0), Handler)
        server.context = ctx
        super().__init__(server)


class Redirector(_Running):
    """The Portal's plain HTTP port: ``301`` to ``https://host[:https_port]/`` (``redirect=False``: ``200``)."""

    def __init__(self, host: str, https_port: int = 443, *, redirect: bool = True) -> None:
        target = f"https://{host}/" if https_port == 443 else f"https://{host}:{https_port}/"

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if redirect:
                    self.send_response(301)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"<html>portal</html>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(_Server((LOOPBACK, 0), Handler))


def tls11_supported() -> bool:
    """Whether the local OpenSSL can make a TLS 1.1 server context at security level 0."""
    try:
        import warnings

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        return bool(ssl.HAS_TLSv1_1)
    except (ssl.SSLError, ValueError):
        return False


# ------------------------------------------------------------------------------------------------ tinyproxy


def tinyproxy_path() -> str | None:
    """The ``tinyproxy`` binary, ``None`` when not installed."""
    return shutil.which("tinyproxy") or next(
        (p for p in ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy") if Path(p).is_file()), None
    )


class Tinyproxy:
    """The system ``tinyproxy`` on 127.0.0.1 with a generated configuration.

    Args:
        basic_auth: ``(user, password)`` to require Basic authentication (CONNECT then answers 407 without it).
        timeout: seconds to wait for it to listen.

    Raises:
        FileNotFoundError: tinyproxy is not installed.
        TimeoutError: it did not start listening.
    """

    def __init__(self, *, basic_auth: tuple[str, str] | None = None, timeout: float = 5.0) -> None:
        binary = tinyproxy_path()
        if binary is None:
            raise FileNotFoundError("tinyproxy is not installed")
        self._dir = tempfile.TemporaryDirectory(prefix="genesys-tls-tinyproxy-")
        self.port = free_port()
        lines = [
            f"Port {self.port}", f"Listen {LOOPBACK}", "Timeout 15", "MaxClients 50", "LogLevel Warning",
            f"Allow {LOOPBACK}", "DisableViaHeader Yes",
        ]
        if basic_auth:
            lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
        config = Path(self._dir.name) / "tinyproxy.conf"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        config.chmod(0o600)
        self._process = subprocess.Popen(
            [binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                    break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise TimeoutError(f"tinyproxy did not listen on {LOOPBACK}:{self.port}") from None
                time.sleep(0.05)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"{LOOPBACK}:{self.port}"

    def close(self) -> None:
        """Stop the tinyproxy process (terminate, then kill after 5 s) and remove its files."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._dir.cleanup()

    def __enter__(self) -> Tinyproxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


@contextlib.contextmanager
def running(*servers: Any) -> Iterator[None]:
    """Close every server on exit."""
    try:
        yield
    finally:
        for server in servers:
            server.close()
