"""PAC files for the cloud: generate the one the guide describes, and validate proxy ``host:port`` values.

:func:`generate_pac` writes a Proxy Auto Config file that sends the cloud domain to a dedicated proxy, the
TURN names given DIRECT (the guide allows excluding the TURN interface from the proxy), and everything else to
the customer's choice (``DIRECT`` by default). :func:`check_proxy_address` is the check of a proxy value, the
same for the PAC file and for the Workspace option ``sipendpoint.proxies.proxy0.http_proxy``: a host name or
IPv4 address and a port, no scheme, no credentials, nothing else. Evaluating a PAC file needs a JavaScript
engine: :mod:`genesys_tls.cloud.pac_eval`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence

import attrs

from ..errors import ConfigurationError
from .facts import CLOUD_DOMAIN

__all__ = ["SIPENDPOINT_PROXY_OPTION", "ProxyAddress", "check_direct_name", "check_proxy_address", "generate_pac"]

#: The Workspace option that gives Genesys Softphone (WebRTC mode) its signalling proxy.
SIPENDPOINT_PROXY_OPTION = "sipendpoint.proxies.proxy0.http_proxy"

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_VALID_PROXY = "HOST:PORT: a host name or IPv4 address and a port 1-65535, without scheme or credentials " \
               "(To-GenesysEngage.internal.example.com:8080)"


@attrs.frozen
class ProxyAddress:
    """A checked proxy address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def _host_ok(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host):  # looks like an address but is not one
        return False
    return all(_LABEL.fullmatch(label) for label in host.rstrip(".").split("."))


def check_proxy_address(value: str, *, option: str = "proxy", file: str | None = None) -> ProxyAddress:
    """Check a proxy ``host:port``.

    Args:
        value: the value as written.
        option: the option named in errors (``proxy``, or :data:`SIPENDPOINT_PROXY_OPTION`).
        file: the file the value comes from, when any.

    Raises:
        ConfigurationError: a scheme (``http://``), credentials (``user:pass@``), a path, no port, port 0 or
            above 65535, or a bad host. Credentials are never repeated in the message.
    """
    text = value.strip()
    if "@" in text:
        raise ConfigurationError("a proxy address must not hold credentials", file=file, option=option,
                                 value="(credentials removed)", valid=_VALID_PROXY)
    if "://" in text:
        raise ConfigurationError("a proxy address has no scheme", file=file, option=option, value=text,
                                 valid=_VALID_PROXY)
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ConfigurationError("a proxy address needs a port", file=file, option=option, value=text,
                                 valid=_VALID_PROXY)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError("a proxy port is a number from 1 to 65535", file=file, option=option, value=text,
                                 valid=_VALID_PROXY)
    if not _host_ok(host):
        raise ConfigurationError("a proxy host is a host name or an IPv4 address", file=file, option=option,
                                 value=text, valid=_VALID_PROXY)
    return ProxyAddress(host.lower(), int(port))


def check_direct_name(name: str, *, option: str = "direct", file: str | None = None) -> str:
    """A name sent DIRECT: a host name (``turn1.example.amazonaws.com``) or ``*.domain``.

    Raises:
        ConfigurationError: anything else.
    """
    text = name.strip().lower()
    bare = text[2:] if text.startswith("*.") else text
    if not _host_ok(bare) or re.fullmatch(r"[0-9.]+", bare):
        raise ConfigurationError("not a host name", option=option, file=file, value=name,
                                 valid="a host name or *.domain (turn.example.amazonaws.com)")
    return text


def _js(value: str) -> str:
    return json.dumps(value)


def generate_pac(
    proxy: str,
    *,
    domain: str = CLOUD_DOMAIN,
    direct: Sequence[str] = (),
    otherwise: str = "DIRECT",
) -> str:
    """The PAC file: ``domain`` to ``proxy``, ``direct`` names DIRECT first, everything else ``otherwise``.

    Args:
        proxy: the dedicated proxy, ``host:port`` (checked with :func:`check_proxy_address`).
        domain: the cloud domain (default ``genesyscloud.com``).
        direct: TURN names (or ``*.domain`` patterns) that go DIRECT, checked before the cloud domain.
        otherwise: ``DIRECT`` (default) or ``PROXY host:port`` for every other URL.

    Raises:
        ConfigurationError: a bad proxy, domain, direct name or ``otherwise``.
    """
    address = check_proxy_address(proxy)
    cloud = check_direct_name(domain, option="domain").lstrip("*.")
    names = [check_direct_name(n) for n in direct]
    if otherwise.strip().upper() == "DIRECT":
        fallback = "DIRECT"
    else:
        kind, _, rest = otherwise.strip().partition(" ")
        if kind.upper() != "PROXY":
            raise ConfigurationError("unknown PAC result", option="otherwise", value=otherwise,
                                     valid=("DIRECT", "PROXY host:port"))
        fallback = f"PROXY {check_proxy_address(rest, option='otherwise')}"
    lines = [
        "// Proxy Auto Config for the Genesys Engage cloud, written by genesys-tls cloud pac.",
        f"// The cloud domain {cloud} goes to the dedicated proxy {address};"
        + (" the TURN names listed go DIRECT;" if names else "")
        + f" everything else: {fallback}.",
        "function FindProxyForURL(url, host) {",
        "  host = host.toLowerCase();",
    ]
    for name in names:
        if name.startswith("*."):
            lines.append(f"  if (dnsDomainIs(host, {_js(name[1:])})) return \"DIRECT\";")
        else:
            lines.append(f"  if (host == {_js(name)}) return \"DIRECT\";")
    lines += [
        f"  if (host == {_js(cloud)} || dnsDomainIs(host, {_js('.' + cloud)})) return {_js('PROXY ' + str(address))};",
        f"  return {_js(fallback)};",
        "}",
    ]
    return "\n".join(lines) + "\n"
