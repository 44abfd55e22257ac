"""Known-IP lists: the addresses a customer hands Genesys so that the cloud lets its users in.

Two file formats:

* YAML: a list of ``{address: A_OR_CIDR, source: SOURCE}`` (``source`` optional);
* text: one entry a line, ``A_OR_CIDR [SOURCE]``; ``#`` starts a comment.

``SOURCE`` is ``isp``, ``registry``, ``cloud-proxy``, ``vdi-vendor`` or ``home`` (an off-site worker's dynamic
address, which the cloud refuses). :func:`check_known_ips` returns GT70x findings; :func:`compare_known_ips`
reports every difference between two lists that must stay aligned. Malformed input (a bad address, a range
written ``a-b``, an empty list, an unknown source, YAML anchors or tags) is a
:class:`~genesys_tls.errors.ConfigurationError`, never a finding.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ..errors import ConfigurationError
from ..lint.rules import Finding
from ._read import read_text, safe_yaml
from .facts import SOURCES, non_routable_blocks
from .rules import CLOUD_RULES

__all__ = ["NETWORKS", "KnownIP", "check_known_ips", "compare_known_ips", "load_known_ips", "parse_known_ips"]

#: The networks a list can be for.
NETWORKS = ("internet", "private")
_VALID_ENTRY = "an IPv4 address (198.51.99.7) or CIDR block (198.51.99.0/24), optionally followed by a source"


@attrs.frozen
class KnownIP:
    """One entry of a known-IP list.

    Attributes:
        text: the address or block as written.
        network: the parsed block (a single address is a /32; host bits are cleared).
        source: where it comes from (``isp``...), ``None`` when not given.
        line: the line in the file (1-based; for YAML the item's number).
        host_bits: the text had host bits set (``198.51.99.7/24``).
        ipv6: the entry is an IPv6 address or block (:attr:`network` is then that IPv6 network).
    """

    text: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    source: str | None
    line: int
    host_bits: bool = False

    @property
    def ipv6(self) -> bool:
        """Whether the entry is an IPv6 address or network."""
        return self.network.version == 6

    @property
    def label(self) -> str:
        """``line 3: 10.0.0.0/8``: how findings name the entry."""
        return f"line {self.line}: {self.text}"


def _entry(text: str, source: str | None, line: int, file: str | None) -> KnownIP:
    where = f"line {line}"
    if re.fullmatch(r"[0-9.]+\s*-\s*[0-9.]+", text) or (
        "-" in text and re.fullmatch(r"[0-9A-Fa-f:.]+\s*-\s*[0-9A-Fa-f:.]+", text)
    ):
        raise ConfigurationError(
            "an address range a-b is not accepted; write the CIDR blocks that cover it "
            "(python -c \"import ipaddress as i; print(list(i.summarize_address_range(i.ip_address('A'), "
            "i.ip_address('B'))))\" lists them)",
            file=file, object=where, option="address", value=text, valid=_VALID_ENTRY,
        )
    if source is not None and source not in SOURCES:
        raise ConfigurationError(
            "unknown source", file=file, object=where, option="source", value=source, valid=tuple(SOURCES)
        )
    try:
        strict = ipaddress.ip_network(text, strict=True)
        host_bits = False
    except ValueError:
        try:
            strict = ipaddress.ip_network(text, strict=False)
            host_bits = True
        except ValueError:
            raise ConfigurationError(
                "not an IP address or CIDR block", file=file, object=where, option="address", value=text,
                valid=_VALID_ENTRY,
            ) from None
    if "/" not in text:
        host_bits = False
    return KnownIP(text, strict, source, line, host_bits)


def parse_known_ips(text: str, *, format: str = "text", file: str | None = None) -> tuple[KnownIP, ...]:
    """Parse a known-IP list.

    Args:
        text: the content.
        format: ``text`` or ``yaml``.
        file: the file name, for messages.

    Raises:
        ConfigurationError: a malformed entry (named by line, with the value and what is valid), an empty
            list, YAML that is not a list of ``{address, source}`` mappings, or YAML anchors or tags.
    """
    entries: list[KnownIP] = []
    if format == "yaml":
        data: Any = safe_yaml(text, file=file)
        if data is None:
            data = []
        if not isinstance(data, list):
            raise ConfigurationError("a YAML known-IP list is a list of {address, source} items", file=file,
                                     value=type(data).__name__, valid="a list")
        for number, raw_item in enumerate(data, start=1):
            where = f"item {number}"
            item = {"address": raw_item} if isinstance(raw_item, str) else raw_item
            if not isinstance(item, dict) or "address" not in item:
                raise ConfigurationError("an item needs an address", file=file, object=where,
                                         value=repr(item)[:80], valid="{address: A_OR_CIDR, source: SOURCE}")
            unknown = sorted(set(map(str, item)) - {"address", "source"})
            if unknown:
                raise ConfigurationError("unknown key", file=file, object=where, option=unknown[0],
                                         valid=("address", "source"))
            source = item.get("source")
            entries.append(_entry(str(item["address"]).strip(), None if source is None else str(source),
                                  number, file))
    elif format == "text":
        for number, raw in enumerate(text.splitlines(), start=1):
            content = raw.split("#", 1)[0].strip()
            if not content:
                continue
            parts = content.split()
            if len(parts) == 3 and parts[1] == "-":
                parts = [f"{parts[0]}-{parts[2]}"]
            if len(parts) > 2:
                raise ConfigurationError("an entry is A_OR_CIDR [SOURCE]", file=file, object=f"line {number}",
                                         value=content[:80], valid=_VALID_ENTRY)
            entries.append(_entry(parts[0], parts[1] if len(parts) == 2 else None, number, file))
    else:
        raise ConfigurationError("unknown known-IP list format", file=file, value=format, valid=("text", "yaml"))
    if not entries:
        raise ConfigurationError("the known-IP list is empty", file=file, valid="at least one entry")
    return tuple(entries)


def load_known_ips(path: str | os.PathLike[str]) -> tuple[KnownIP, ...]:
    """Read a known-IP list file: ``.yaml``/``.yml`` is YAML, anything else text."""
    file = os.fspath(path)
    text = read_text(file, what="known-IP list")
    fmt = "yaml" if file.lower().endswith((".yaml", ".yml")) else "text"
    return parse_known_ips(text, format=fmt, file=file)


def _finding(code: str, entry: KnownIP, message: str, file: str | None) -> Finding:
    return CLOUD_RULES[code].finding(entry.label, message, option="address", file=file)


def check_known_ips(
    entries: Sequence[KnownIP], network: str = "internet", *, file: str | None = None
) -> tuple[Finding, ...]:
    """The GT70x findings of a known-IP list.

    Args:
        entries: the list (:func:`parse_known_ips`).
        network: ``internet`` (the list of public addresses) or ``private`` (addresses routable on the
            private network).
        file: the file, recorded in the findings.

    Raises:
        ConfigurationError: unknown ``network``.
    """
    if network not in NETWORKS:
        raise ConfigurationError("unknown network", option="network", value=network, valid=NETWORKS)
    findings: list[Finding] = []
    blocks = [(b, (int(b.network.network_address), int(b.network.broadcast_address))) for b in non_routable_blocks()]
    overlaps = _overlaps(entries)
    for index, entry in enumerate(entries):
        if entry.ipv6:
            findings.append(_finding("GT703", entry, f"{entry.text} is IPv6; the cloud operates over IPv4 only",
                                     file))
            continue
        if entry.host_bits:
            findings.append(_finding("GT707", entry, f"{entry.text} has host bits set; read as {entry.network}",
                                     file))
        if entry.source is None:
            findings.append(_finding("GT708", entry, f"{entry.text} does not say where it comes from", file))
        elif not SOURCES[entry.source]:
            findings.append(_finding(
                "GT704", entry,
                f"{entry.text} is an off-site worker's dynamic address (source {entry.source}); the cloud does "
                "not accept dynamic, temporary addresses", file,
            ))
        start, end = int(entry.network.network_address), int(entry.network.broadcast_address)
        for block, (low, high) in blocks:
            if end < low or start > high:
                continue
            if network == "internet":
                findings.append(_finding(
                    "GT701", entry,
                    f"{entry.text} is in {block.network}, {block.label} ({', '.join(block.rfc_list)}): not routable "
                    "on the Internet", file,
                ))
            elif block.private_network == "refused":
                findings.append(_finding(
                    "GT702", entry,
                    f"{entry.text} is in {block.network}, {block.label} ({', '.join(block.rfc_list)}): it routes "
                    "nowhere, on the private network neither", file,
                ))
        overlap = overlaps.get(index)
        if overlap is not None:
            findings.append(_finding(overlap[0], entry, overlap[1], file))
    return tuple(findings)


def _overlaps(entries: Sequence[KnownIP]) -> dict[int, tuple[str, str]]:
    """index -> (code, message) of the entries that repeat or overlap an earlier one; one finding per entry.

    CIDR blocks are either nested or disjoint, so one sweep over the blocks sorted by start (larger first)
    with a stack of the open blocks finds every pair: ``O(n log n)``, for lists of any length.
    """
    order = sorted(range(len(entries)), key=lambda i: (entries[i].network.version,
                                                      int(entries[i].network.network_address),
                                                      entries[i].network.prefixlen, i))
    out: dict[int, tuple[str, str]] = {}
    stack: list[int] = []
    for i in order:
        net = entries[i].network
        while stack and (entries[stack[-1]].network.version != net.version
                         or int(entries[stack[-1]].network.broadcast_address) < int(net.network_address)):
            stack.pop()
        # every block on the stack covers this one (the nesting is at most 33 deep for IPv4)
        for j in reversed(stack):
            outer = entries[j]
            same = outer.network == net
            if j < i and i not in out:  # an earlier entry covers this one
                out[i] = ("GT705", f"{net} is already listed at {outer.label}") if same else (
                    "GT706", f"{net} lies inside {outer.label}")
            elif j > i and j not in out:  # a later entry covers this earlier one
                out[j] = ("GT705", f"{net} is already listed at {entries[i].label}") if same else (
                    "GT706", f"{outer.network} covers {entries[i].label}")
        stack.append(i)
    return out


def _addresses(entries: Iterable[KnownIP]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    v4 = [e.network for e in entries if e.network.version == 4]
    v6 = [e.network for e in entries if e.network.version == 6]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def _minus(
    a: list[ipaddress.IPv4Network | ipaddress.IPv6Network], b: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The parts of ``a`` not covered by ``b`` (as CIDR blocks)."""
    rest = list(a)
    for cut in b:
        nxt: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for net in rest:
            if net.version != cut.version or not net.overlaps(cut):
                nxt.append(net)
            elif net.subnet_of(cut):  # type: ignore[arg-type]
                continue
            else:
                nxt.extend(net.address_exclude(cut))  # type: ignore[arg-type]
        rest = nxt
    return sorted(rest, key=lambda n: (n.version, n.network_address.packed, n.prefixlen))


def compare_known_ips(
    first: Sequence[KnownIP], second: Sequence[KnownIP], *, first_name: str = "first", second_name: str = "second"
) -> tuple[Finding, ...]:
    """Every difference between two lists that must hold the same addresses, both ways (GT709).

    Addresses are compared, not spellings: ``10.0.0.0/25`` + ``10.0.0.128/25`` equals ``10.0.0.0/24``.
    """
    a, b = _addresses(first), _addresses(second)
    rule = CLOUD_RULES["GT709"]
    out = [
        rule.finding(str(net), f"{net} is in {first_name} but not in {second_name}", option="address",
                     file=first_name)
        for net in _minus(a, b)
    ]
    out += [
        rule.finding(str(net), f"{net} is in {second_name} but not in {first_name}", option="address",
                     file=second_name)
        for net in _minus(b, a)
    ]
    return tuple(out)
