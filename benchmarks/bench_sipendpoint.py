"""SIP Endpoint listener: requests per second against a raw ``ssl`` + ``h11`` server on the same certificates.

Run: ``python benchmarks/bench_sipendpoint.py [N]``. Both servers run on 127.0.0.1 with mutual TLS (endpoint
``security_level`` 1); the same raw ``ssl`` client loop makes N sequential connections, each one TLS handshake
with a client certificate and one ``GET /status``. Prints the rates and the ratio listener / raw.
"""

from __future__ import annotations

import socket
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

import h11

from genesys_tls.sipendpoint.listener import EndpointListener
from genesys_tls.sipendpoint.model import parse_endpoint_config
from genesys_tls.sipendpoint.rules import example_config
from genesys_tls.sipendpoint.scenarios import build_material

REQUEST = b"GET /status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"


def raw_server(context: ssl.SSLContext, stop: threading.Event) -> tuple[str, int]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    tls = context.wrap_socket(conn, server_side=True)
                except OSError:
                    continue
                with tls:
                    http = h11.Connection(h11.SERVER)
                    while True:
                        event = http.next_event()
                        if event is h11.NEED_DATA:
                            http.receive_data(tls.recv(8192))
                            continue
                        if isinstance(event, h11.EndOfMessage):
                            break
                    body = b'{"state": "idle"}'
                    tls.sendall(http.send(h11.Response(status_code=200, headers=[
                        ("content-length", str(len(body))), ("content-type", "application/json")])) or b"")
                    tls.sendall(http.send(h11.Data(data=body)) or b"")
                    tls.sendall(http.send(h11.EndOfMessage()) or b"")
        listener.close()

    threading.Thread(target=loop, daemon=True).start()
    name = listener.getsockname()
    return str(name[0]), int(name[1])


def client_loop(address: tuple[str, int], context: ssl.SSLContext, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        with socket.create_connection(address, timeout=5) as sock, context.wrap_socket(sock) as tls:
            tls.sendall(REQUEST)
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200"), data[:40]
    return n / (time.perf_counter() - start)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        material = build_material(Path(tmp))
        ep, ws = material.stores["ep-good"].entries[0], material.stores["ws-good"].entries[0]
        from genesys_tls.sipendpoint.tls import endpoint_context, workspace_context

        client = workspace_context(2, ws, material.ca)
        config = parse_endpoint_config(example_config({"protocol": "https", "security_level": "1",
                                                       "certificate_search_value": ep.thumbprint}))
        stop = threading.Event()
        raw_address = raw_server(endpoint_context(1, ep, material.ca), stop)
        with EndpointListener(config, store=material.stores["ep-good"], ca_file=str(material.ca)) as listener:
            client_loop(listener.address, client, 20)  # warm up
            client_loop(raw_address, client, 20)
            ours = client_loop(listener.address, client, n)
            raw = client_loop(raw_address, client, n)
        stop.set()
    print(f"{n} mutual-TLS connections, one GET /status each")
    print(f"raw ssl + h11 server : {raw:8.1f} requests/s")
    print(f"EndpointListener     : {ours:8.1f} requests/s   ratio {ours / raw:.2f}")


if __name__ == "__main__":
    main()
