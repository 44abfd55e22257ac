"""Helpers of the interop tests: a PKI made with the ``openssl`` command line, ``openssl s_server`` and
``openssl s_client`` processes, ``genesys-tls serve`` as a process, and environment files.

Everything listens and dials on 127.0.0.1 only. Every process gets a timeout and is killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

LOOPBACK = "127.0.0.1"
#: Upper bound of one openssl command of the PKI builder or of s_client, in seconds.
COMMAND_TIMEOUT = 20.0
#: How long a server process may take to say where it listens.
STARTUP_TIMEOUT = 15.0


def openssl_binary() -> str | None:
    """The ``openssl`` program on PATH, or None."""
    return shutil.which("openssl")


def genesys_tls_binary() -> list[str]:
    """How to run the ``genesys-tls`` command: the console script beside this Python, else ``-m``."""
    script = Path(sys.executable).with_name("genesys-tls")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "genesys_tls"]


def run(argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command to completion (stdin from /dev/null), bounded by ``timeout``; raise on failure."""
    proc = subprocess.run(
        list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, cwd=cwd,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


# ----------------------------------------------------------------------------------------------- PKI

_CA_CONFIG = """\
[ ca ]
default_ca = CA_default

[ CA_default ]
dir               = {dir}
database          = $dir/index.txt
new_certs_dir     = $dir/newcerts
serial            = $dir/serial
crlnumber         = $dir/crlnumber
certificate       = $dir/ca.pem
private_key       = $dir/ca.key
default_md        = sha256
default_days      = 30
default_crl_days  = 7
policy            = policy_any
unique_subject    = no
copy_extensions   = none
email_in_dn       = no
crl_extensions    = crl_ext

[ policy_any ]
commonName = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
CN = unused

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ v3_intermediate ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
"""

_LEAF_EXTENSIONS = """\
[ leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = {eku}
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
{san}
"""


@dataclass(frozen=True)
class LeafFiles:
    """One issued end-entity certificate: PEM certificate, PEM key, and the chain file (leaf + CAs
    below the root) a server or client presents."""

    cert: Path
    key: Path
    chain: Path
    serial: str
    #: the CA certificates below the root (PEM), None when the root issued the leaf
    intermediates: Path | None = None


@dataclass
class OpenSSLCA:
    """A CA kept in a folder the way ``openssl ca`` wants it (index.txt, serial, crlnumber, newcerts)."""

    dir: Path
    name: str
    parent: OpenSSLCA | None = None
    issued: dict[str, LeafFiles] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.dir / "ca.cnf"

    @property
    def cert(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def key(self) -> Path:
        return self.dir / "ca.key"

    def _prepare(self) -> None:
        (self.dir / "newcerts").mkdir(parents=True, exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text(f"{int.from_bytes(os.urandom(8), 'big') | 1 << 62:X}\n")
        (self.dir / "crlnumber").write_text("01\n")
        self.config.write_text(_CA_CONFIG.format(dir=self.dir))

    @classmethod
    def root(cls, dir: Path, name: str, openssl: str) -> OpenSSLCA:
        """A self-signed root made with ``openssl req -x509``."""
        ca = cls(dir, name)
        ca._prepare()
        run([openssl, "req", "-config", str(ca.config), "-x509", "-new", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(ca.key), "-out", str(ca.cert),
             "-subj", f"/CN={name}", "-days", "3650", "-extensions", "v3_root", "-sha256"])
        return ca

    def intermediate(self, dir: Path, name: str, openssl: str) -> OpenSSLCA:
        """A CA below this one, its certificate issued by ``openssl ca -extensions v3_intermediate``."""
        sub = type(self)(dir, name, parent=self)
        sub._prepare()
        csr = dir / "ca.csr"
        run([openssl, "req", "-config", str(sub.config), "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(sub.key), "-out", str(csr), "-subj", f"/CN={name}"])
        run([openssl, "ca", "-batch", "-config", str(self.config), "-extensions", "v3_intermediate",
             "-days", "365", "-notext", "-in", str(csr), "-out", str(sub.cert)])
        return sub

    def chain_below_root(self) -> list[Path]:
        """This CA's certificate and its parents', excluding the self-signed root."""
        out: list[Path] = []
        ca: OpenSSLCA | None = self
        while ca is not None and ca.parent is not None:
            out.append(ca.cert)
            ca = ca.parent
        return out

    def issue(self, stem: str, cn: str, *, sans: Sequence[str] = (), client: bool = False,
              openssl: str, out_dir: Path, startdate: str | None = None, enddate: str | None = None) -> LeafFiles:
        """A leaf from ``openssl req -new`` + ``openssl ca``; ``sans`` like ``DNS:x`` / ``IP:127.0.0.1``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        key, csr, cert = out_dir / f"{stem}.key", out_dir / f"{stem}.csr", out_dir / f"{stem}.pem"
        ext = out_dir / f"{stem}.ext"
        ext.write_text(_LEAF_EXTENSIONS.format(
            eku="clientAuth" if client else "serverAuth",
            san=f"subjectAltName = {', '.join(sans)}" if sans else "",
        ))
        run([openssl, "req", "-config", str(self.config), "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}"])
        dates = [*(["-startdate", startdate] if startdate else []), *(["-enddate", enddate] if enddate else [])]
        run([openssl, "ca", "-batch", "-config", str(self.config), "-extfile", str(ext), "-extensions", "leaf",
             "-notext", *dates, "-in", str(csr), "-out", str(cert)])
        chain = out_dir / f"{stem}-chain.pem"
        chain.write_text("".join(p.read_text() for p in [cert, *self.chain_below_root()]))
        intermediates = None
        if self.chain_below_root():
            intermediates = out_dir / f"{stem}-cas.pem"
            intermediates.write_text("".join(p.read_text() for p in self.chain_below_root()))
        serial = run([openssl, "x509", "-in", str(cert), "-noout", "-serial"]).stdout.strip().partition("=")[2]
        leaf = LeafFiles(cert=cert, key=key, chain=chain, serial=serial, intermediates=intermediates)
        self.issued[stem] = leaf
        return leaf

    def revoke(self, leaf: LeafFiles, openssl: str) -> None:
        """``openssl ca -revoke`` (reason keyCompromise)."""
        run([openssl, "ca", "-batch", "-config", str(self.config), "-revoke", str(leaf.cert),
             "-crl_reason", "keyCompromise"])

    def gencrl(self, out: Path, openssl: str, *, last_update: str | None = None,
               next_update: str | None = None) -> Path:
        """``openssl ca -gencrl`` (PEM), with ``-crl_lastupdate``/``-crl_nextupdate`` when given."""
        argv = [openssl, "ca", "-batch", "-config", str(self.config), "-gencrl", "-out", str(out)]
        if last_update:
            argv += ["-crl_lastupdate", last_update]
        if next_update:
            argv += ["-crl_nextupdate", next_update]
        else:
            argv += ["-crldays", "7"]
        run(argv)
        return out


def crl_to_der(pem: Path, der: Path, openssl: str) -> Path:
    """``openssl crl -outform DER``."""
    run([openssl, "crl", "-in", str(pem), "-outform", "DER", "-out", str(der)])
    return der


@dataclass
class InteropPKI:
    """The interop test PKI (see :func:`build_interop_pki`)."""

    dir: Path
    root: OpenSSLCA
    issuing: OpenSSLCA
    #: root.pem: the trust anchor every side uses
    ca_file: Path
    server: LeafFiles          # CN tsrv-host, DNS:tsrv-host, IP:127.0.0.1 (issued by the root)
    other: LeafFiles           # CN other-host, DNS:other-host, IP:127.0.0.1 (the wrong name for tsrv-host)
    revoked_server: LeafFiles  # CN tsrv-host, revoked
    client: LeafFiles          # CN interop-client, clientAuth
    revoked_client: LeafFiles  # CN revoked-client, clientAuth, revoked
    chained_server: LeafFiles  # CN tsrv-host from the issuing (intermediate) CA; chain file has both
    chained_revoked: LeafFiles  # CN tsrv-host from the issuing CA, revoked there
    expired_server: LeafFiles  # CN tsrv-host, valid in January 2020 only (openssl ca -startdate/-enddate)
    future_server: LeafFiles   # CN tsrv-host, valid from 2099 on
    crl_pem: Path              # root's CRL (revoked_server, revoked_client), PEM
    crl_der: Path              # the same, DER
    crl_expired: Path          # root's CRL whose nextUpdate is in the past
    issuing_crl: Path          # the issuing CA's CRL (chained_revoked), PEM
    crl_bundle: Path           # root CRL + issuing CRL in one PEM file


def build_interop_pki(dir: Path, openssl: str) -> InteropPKI:
    """A PKI made only with the openssl command line:

    * ``Interop Root CA`` (``openssl req -x509``) issues the server ``tsrv-host`` (+ IP 127.0.0.1), a server
      for another name, a revoked server, a client and a revoked client (``openssl req`` + ``openssl ca``);
    * ``Interop Issuing CA`` below it issues a server and a revoked server (chains of two);
    * CRLs from ``openssl ca -revoke`` + ``openssl ca -gencrl``: PEM, DER (``openssl crl -outform DER``), and an
      expired one (``-crl_lastupdate``/``-crl_nextupdate`` in the past, OpenSSL 3.0+).
    """
    root = OpenSSLCA.root(dir / "root", "Interop Root CA", openssl)
    issuing = root.intermediate(dir / "issuing", "Interop Issuing CA", openssl)
    certs = dir / "certs"
    server = root.issue("server", "tsrv-host", sans=["DNS:tsrv-host", "IP:127.0.0.1"], openssl=openssl,
                        out_dir=certs)
    other = root.issue("other", "other-host", sans=["DNS:other-host", "IP:127.0.0.1"], openssl=openssl,
                       out_dir=certs)
    revoked_server = root.issue("revoked-server", "tsrv-host", sans=["DNS:tsrv-host", "IP:127.0.0.1"],
                                openssl=openssl, out_dir=certs)
    client = root.issue("client", "interop-client", client=True, openssl=openssl, out_dir=certs)
    revoked_client = root.issue("revoked-client", "revoked-client", client=True, openssl=openssl, out_dir=certs)
    chained_server = issuing.issue("chained-server", "tsrv-host", sans=["DNS:tsrv-host", "IP:127.0.0.1"],
                                   openssl=openssl, out_dir=certs)
    chained_revoked = issuing.issue("chained-revoked", "tsrv-host", sans=["DNS:tsrv-host", "IP:127.0.0.1"],
                                    openssl=openssl, out_dir=certs)
    expired_server = root.issue("expired-server", "tsrv-host", sans=["DNS:tsrv-host", "IP:127.0.0.1"],
                                openssl=openssl, out_dir=certs, startdate="20200101000000Z",
                                enddate="20200201000000Z")
    future_server = root.issue("future-server", "tsrv-host", sans=["DNS:tsrv-host", "IP:127.0.0.1"],
                               openssl=openssl, out_dir=certs, startdate="20990101000000Z",
                               enddate="20990201000000Z")
    root.revoke(revoked_server, openssl)
    root.revoke(revoked_client, openssl)
    issuing.revoke(chained_revoked, openssl)
    crls = dir / "crl"
    crls.mkdir()
    crl_pem = root.gencrl(crls / "root.crl.pem", openssl)
    crl_der = crl_to_der(crl_pem, crls / "root.crl.der", openssl)
    crl_expired = root.gencrl(crls / "root-expired.crl.pem", openssl, last_update="20200101000000Z",
                              next_update="20200102000000Z")
    issuing_crl = issuing.gencrl(crls / "issuing.crl.pem", openssl)
    bundle = crls / "all.crl.pem"
    bundle.write_text(crl_pem.read_text() + issuing_crl.read_text())
    return InteropPKI(
        dir=dir, root=root, issuing=issuing, ca_file=root.cert, server=server, other=other,
        revoked_server=revoked_server, client=client, revoked_client=revoked_client,
        chained_server=chained_server, chained_revoked=chained_revoked, crl_pem=crl_pem, crl_der=crl_der,
            crl_expired=crl_expired, issuing_crl=issuing_crl, crl_bundle=bundle, expired_server=expired_server,
        future_server=future_server,
    )


# ------------------------------------------------------------------------------------------ processes


class _LineReader:
    """Reads a process stream in a thread, so waiting for a line can be bounded in time."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self.lines.append(line)
                self._queue.put(line)
        except (OSError, ValueError):
            pass
        finally:
            self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """The first line (read from now on) matching ``pattern``; None on EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                return None
            if line is None:
                return None
            m = pattern.search(line)
            if m:
                return m

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@dataclass
class Process:
    """A running helper process with its output collected by reader threads."""

    proc: subprocess.Popen[str]
    stdout: _LineReader
    stderr: _LineReader
    port: int = 0
    returncode: int | None = None

    def finish(self, timeout: float) -> int | None:
        """Wait (bounded) for the process to end by itself; kill it if it does not. Returns its code
        (None when it had to be killed)."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
            self.returncode = None
        self.stdout.join(5)
        self.stderr.join(5)
        return self.returncode

    @property
    def out(self) -> str:
        return self.stdout.text

    @property
    def err(self) -> str:
        return self.stderr.text


@contextlib.contextmanager
def _started(argv: Sequence[str], *, listen: re.Pattern[str], on_stderr: bool,
             cwd: Path | None = None, env: dict[str, str] | None = None) -> Iterator[Process]:
    proc = subprocess.Popen(
        list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        p = Process(proc, _LineReader(proc.stdout), _LineReader(proc.stderr))
        m = (p.stderr if on_stderr else p.stdout).wait_for(listen, STARTUP_TIMEOUT)
        if m is None:
            _kill(proc)
            raise AssertionError(
                f"{' '.join(argv)} did not report its address:\nstdout: {p.out}\nstderr: {p.err}"
            )
        p.port = int(m.group("port"))
        yield p
    finally:
        # stdin stays open while the test runs (s_server closes a connection when its stdin ends);
        # closing it now lets a well-behaved process end by itself, then it is killed anyway.
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        _kill(proc)


_ACCEPT = re.compile(r"^ACCEPT\s+(?P<host>\S+):(?P<port>\d+)\s*$")


@contextlib.contextmanager
def s_server(openssl: str, *args: str, naccept: int = 1) -> Iterator[Process]:
    """``openssl s_server -accept 127.0.0.1:0 ... -naccept N``: port 0 makes the kernel pick a free port,
    which s_server prints as ``ACCEPT 127.0.0.1:PORT`` (no race between choosing a port and binding it)."""
    argv = [openssl, "s_server", "-accept", f"{LOOPBACK}:0", "-naccept", str(naccept), *args]
    with _started(argv, listen=_ACCEPT, on_stderr=False) as p:
        yield p


def s_client(openssl: str, port: int, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``openssl s_client -connect 127.0.0.1:PORT -brief -no_ign_eof ...`` with stdin from /dev/null: it
    makes the handshake, then ends at once (the end of stdin closes the connection)."""
    argv = [openssl, "s_client", "-connect", f"{LOOPBACK}:{port}", "-brief", "-no_ign_eof", *args]
    return run(argv, timeout=timeout, check=False)


_LISTENING = re.compile(r"listening on (?P<host>\S+):(?P<port>\d+)")


@contextlib.contextmanager
def genesys_serve(env_file: Path, app: str, port_id: str, *, count: int = 1,
                  extra: Sequence[str] = ()) -> Iterator[Process]:
    """``genesys-tls serve ENV --app APP --port PORT_ID --address 127.0.0.1:0 --count N --json``; the port
    is read from its stderr line ``listening on HOST:PORT``."""
    argv = [*genesys_tls_binary(), "serve", str(env_file), "--app", app, "--port", port_id,
            "--address", f"{LOOPBACK}:0", "--count", str(count), "--json", *extra]
    with _started(argv, listen=_LISTENING, on_stderr=True) as p:
        yield p


CATEGORIES = frozenset({
    "untrusted", "name-mismatch", "revoked", "expired", "not-yet-valid", "crl-unavailable", "crl-expired",
    "protocol", "client-certificate-required", "connection",
})


def check_result_shape(result: dict[str, Any]) -> None:
    """A handshake result has the contract's connect/serve JSON shape."""
    assert isinstance(result.get("ok"), bool), result
    for key in ("protocol", "cipher", "peer", "checks"):
        assert key in result, (key, result)
    assert set(result["checks"]) <= {"chain", "target-name", "crl"}, result
    if result["peer"] is not None:
        assert {"subject", "issuer", "sans"} <= set(result["peer"]), result
    if result["ok"]:
        assert result.get("error") is None, result
        assert result["protocol"] and result["cipher"], result
    else:
        error = result["error"]
        assert error["category"] in CATEGORIES, result
        assert isinstance(error["detail"], str) and error["detail"], result


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines output (other lines are ignored)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def genesys_connect(env_file: Path, app: str, connection: str, port: int, *,
                    timeout: float = 10.0) -> tuple[int, dict[str, Any] | None, str]:
    """``genesys-tls connect ENV --app APP --connection C --address 127.0.0.1:PORT --json``:
    (exit code, the JSON result or None, stderr)."""
    argv = [*genesys_tls_binary(), "connect", str(env_file), "--app", app, "--connection", connection,
            "--address", f"{LOOPBACK}:{port}", "--timeout", str(timeout), "--json"]
    proc = run(argv, timeout=timeout + COMMAND_TIMEOUT, check=False)
    objs = json_lines(proc.stdout)
    return proc.returncode, (objs[-1] if objs else None), proc.stderr


# -------------------------------------------------------------------------------------- environments

SERVER_APP = "TServer_Interop"
CLIENT_APP = "Interop_Client"
SERVER_HOST = "tsrv-host"


def write_environment(path: Path, *, client_security: dict[str, str] | None = None,
                      server_security: dict[str, str] | None = None,
                      ports: dict[str, str] | None = None,
                      connections: dict[str, str] | None = None) -> Path:
    """An environment file with a server application ``TServer_Interop`` on Host ``tsrv-host`` (ip 127.0.0.1)
    and a client ``Interop_Client``; ``ports``: port id -> transport; ``connections``: port id -> the
    Connection's transport (one Connection per entry)."""
    ports = ports if ports is not None else {"secure": "tls=1"}
    connections = connections if connections is not None else {pid: "" for pid in ports}
    data: dict[str, Any] = {
        "hosts": {
            SERVER_HOST: {"ip": LOOPBACK, "os": "unix"},
            "client-host": {"os": "unix"},
        },
        "applications": {
            SERVER_APP: {
                "type": "T-Server",
                "host": SERVER_HOST,
                "options": {"security": dict(server_security or {})},
                "ports": {pid: {"port": 7000 + i, "transport": t} for i, (pid, t) in enumerate(ports.items(), 1)},
            },
            CLIENT_APP: {
                "type": "Third Party Application",
                "host": "client-host",
                "options": {"security": dict(client_security or {})},
                "connections": [
                    {"server": SERVER_APP, "port-id": pid, "transport": t} for pid, t in connections.items()
                ],
            },
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
