"""The SIP Endpoint's decisions, free of ``ssl`` and sockets: the address policy, the subject-identity match
and the verdict of a pair of security levels.

* :class:`AddressPolicy`: ``ipv4_address_range`` / ``ipv6_address_range`` / ``localhost``. Empty ranges leave
  addresses unrestricted; once one family has ranges, peers of the other family are refused; IPv4-mapped IPv6
  peers (``::ffff:a.b.c.d``) are checked as IPv4; with ``localhost=true`` the peer must also be a loopback
  address (both checks must pass).
* :func:`match_subject`: the i-th criterion against the i-th property, in order; repeated attributes (``OU``,
  ``DC``) are taken in the order the certificate subject and the distinguished name hold them (most specific
  first, as RFC 4514 strings and Windows show them), compared ignoring case; a missing value is a mismatch.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import attrs
from cryptography import x509

from ..errors import ConfigurationError
from .directory import DirectoryUser
from .facts import PairFact, facts
from .model import EndpointConfig, Property

__all__ = ["AddressDecision", "AddressPolicy", "Mismatch", "match_subject", "pair_verdict", "subject_values"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@attrs.frozen
class AddressDecision:
    """Whether a peer address may connect, and why."""

    allowed: bool
    address: str
    reason: str


@attrs.frozen
class AddressPolicy:
    """The endpoint's address policy (see the module documentation)."""

    ipv4: tuple[ipaddress.IPv4Network, ...] = ()
    ipv6: tuple[ipaddress.IPv6Network, ...] = ()
    localhost: bool = False

    @classmethod
    def from_config(cls, config: EndpointConfig) -> AddressPolicy:
        """The address policy of an endpoint's ``.exe.config`` (its IPv4 and IPv6 ranges and ``localhost``)."""
        return cls(config.ipv4_ranges, config.ipv6_ranges, config.localhost)

    @property
    def unrestricted(self) -> bool:
        """No range and no ``localhost``: every address may connect."""
        return not self.ipv4 and not self.ipv6 and not self.localhost

    def check(self, address: str | IPAddress) -> AddressDecision:
        """Decide for one peer address (an IPv6 zone suffix ``%eth0`` is ignored)."""
        text = str(address)
        try:
            ip: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return AddressDecision(False, text, f"{text!r} is not an IP address")
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        shown = str(ip)
        if self.localhost and not ip.is_loopback:
            return AddressDecision(False, shown, f"localhost=true and {shown} is not a loopback address")
        if not self.ipv4 and not self.ipv6:
            return AddressDecision(True, shown, "no address range is set" + (" (localhost only)" if self.localhost
                                                                             else ""))
        ranges: Sequence[Any] = self.ipv4 if ip.version == 4 else self.ipv6
        key = "ipv4_address_range" if ip.version == 4 else "ipv6_address_range"
        if not ranges:
            other = "ipv6_address_range" if ip.version == 4 else "ipv4_address_range"
            return AddressDecision(False, shown, f"only {other} is set: IPv{ip.version} peers such as {shown} are "
                                                 "refused")
        for net in ranges:
            if ip in net:
                return AddressDecision(True, shown, f"{shown} is inside {key} {net}")
        listed = ",".join(str(n) for n in ranges)
        return AddressDecision(False, shown, f"{shown} is outside {key} {listed}")


@attrs.frozen
class Mismatch:
    """One criterion that did not match.

    Attributes:
        index: its position in the criteria list (0-based).
        criterion: the X.500 short name (``E``, ``OU``...).
        property_name: the directory property it was matched with.
        certificate_value: the value in the certificate (``None``: the certificate has no such attribute).
        directory_value: the user's value (``None``: the entry has no such property).
    """

    index: int
    criterion: str
    property_name: str
    certificate_value: str | None
    directory_value: str | None

    @property
    def reason(self) -> str:
        """One readable sentence: which criterion failed and why."""
        if self.certificate_value is None:
            return f"the certificate has no {self.criterion} for criterion {self.index + 1}"
        if self.directory_value is None:
            return f"the user has no {self.property_name} for criterion {self.index + 1}"
        return (f"{self.criterion}={self.certificate_value!r} does not match {self.property_name}="
                f"{self.directory_value!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{index, criterion, property, certificate, directory, reason}``."""
        return {"index": self.index, "criterion": self.criterion, "property": self.property_name,
                "certificate": self.certificate_value, "directory": self.directory_value, "reason": self.reason}


def subject_values(subject: x509.Name, criterion: str) -> tuple[str, ...]:
    """The values of one attribute in a subject, most specific first (the RFC 4514 string's order)."""
    oid = x509.ObjectIdentifier(facts().criteria[criterion].oid)
    out: list[str] = []
    for rdn in reversed(subject.rdns):
        out.extend(str(a.value) for a in rdn if a.oid == oid)
    return tuple(out)


def match_subject(
    subject: x509.Name, user: DirectoryUser, criteria: Sequence[str], properties: Sequence[Property]
) -> tuple[Mismatch, ...]:
    """Every criterion that does not match (empty: the subject matches the user).

    Raises:
        ConfigurationError: criteria and properties of different lengths, or an unknown criterion.
    """
    if len(criteria) != len(properties):
        raise ConfigurationError(
            f"{len(criteria)} criteria but {len(properties)} properties (the i-th criterion is matched with the "
            "i-th property)", value=",".join(map(str, properties)), valid=f"{len(criteria)} properties",
        )
    seen_criteria: dict[str, int] = {}
    seen_properties: dict[str, int] = {}
    mismatches: list[Mismatch] = []
    for index, (criterion, prop) in enumerate(zip(criteria, properties, strict=True)):
        if criterion not in facts().criteria:
            raise ConfigurationError("unknown subject criterion", value=criterion, valid=tuple(facts().criteria))
        k = seen_criteria.get(criterion, 0)
        seen_criteria[criterion] = k + 1
        name = str(prop).lower()
        m = seen_properties.get(name, 0)
        seen_properties[name] = m + 1
        cert_values = subject_values(subject, criterion)
        user_values = user.dn_values(prop.rdn) if prop.rdn else user.values(prop.attribute)
        cert_value = cert_values[k] if k < len(cert_values) else None
        user_value = user_values[m] if m < len(user_values) else None
        if cert_value is None or user_value is None or cert_value.strip().casefold() != user_value.strip().casefold():
            mismatches.append(Mismatch(index, criterion, str(prop), cert_value, user_value))
    return tuple(mismatches)


def pair_verdict(endpoint_level: int, workspace_level: int) -> PairFact:
    """The verdict of an (endpoint ``security_level``, Workspace ``security-level``) pair over HTTPS."""
    return facts().pair(endpoint_level, workspace_level)
