"""Addresses as text: the one ``HOST:PORT`` parser and formatter, and the loopback address every simulated
component and test server listens on by default. Imports neither ``ssl`` nor ``socket``.

Example:
    >>> parse_address("[::1]:7001")
    ('::1', 7001)
    >>> format_address(("::1", 7001))
    '[::1]:7001'
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigurationError

__all__ = ["LOOPBACK", "format_address", "parse_address"]

#: The address servers listen on and clients of tests dial: IPv4 loopback, never another address.
LOOPBACK = "127.0.0.1"


def parse_address(address: str | tuple[str, int]) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[v6]:PORT"``) or ``(host, port)`` -> ``(host, port)``.

    Raises:
        ConfigurationError: not ``HOST:PORT`` or a port outside 0-65535.
    """
    if isinstance(address, tuple):
        host, port = address
    else:
        host, sep, text = address.rpartition(":")
        if not sep or not text.isdigit():
            raise ConfigurationError("address must be HOST:PORT", option="address", value=address, valid="HOST:PORT")
        port = int(text)
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigurationError("address must be HOST:PORT", option="address", value=str(address), valid="HOST:PORT")
    return host, port


def format_address(address: tuple[Any, ...] | None) -> str | None:
    """``(host, port, ...)`` -> ``HOST:PORT`` (IPv6 in brackets); ``None`` for no address."""
    if not address:
        return None
    host, port = str(address[0]), int(address[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
