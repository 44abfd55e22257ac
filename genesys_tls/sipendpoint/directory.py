"""Directory users: the properties a SIP Endpoint subject check compares with (no ``ssl``, no sockets).

A :class:`DirectoryUser` is the current user's directory entry: attribute values (names compared ignoring
case, as LDAP does) and the distinguished name. Read one from a small YAML or JSON user file
(:func:`load_user_file`) or from an LDAP directory (:func:`genesys_tls.sipendpoint.ldap.ldap_user`).

User file::

    # the agent's directory entry (attribute names as the directory spells them)
    sAMAccountName: jsmith
    distinguishedName: CN=John Smith,OU=Agents,OU=Sales,DC=example,DC=com
    mail: john.smith@example.com
    cn: John Smith
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import yaml
from cryptography import x509

from .. import _files
from ..errors import ConfigurationError
from .facts import facts

__all__ = ["MAX_USER_FILE", "DirectoryUser", "load_user_file", "parse_dn", "user_from_mapping"]

MAX_USER_FILE = 64 * 1024
_DN = "distinguishedname"


def _oid_overrides() -> dict[str, x509.ObjectIdentifier]:
    """The criteria's short names, in any of the cases directories write them (``CN``, ``cn``, ``Cn``)."""
    out: dict[str, x509.ObjectIdentifier] = {}
    for short, c in facts().criteria.items():
        for spelling in (short, short.lower(), short.capitalize()):
            out[spelling] = x509.ObjectIdentifier(c.oid)
    return out


def parse_dn(dn: str, *, file: str | None = None, object: str | None = None) -> tuple[tuple[str, str], ...]:
    """A distinguished name as ``(short name, value)`` pairs in the order the string holds them (most specific
    first: ``CN=John,OU=Agents,DC=example`` -> ``(("CN", "John"), ("OU", "Agents"), ("DC", "example"))``).

    Parsed by ``cryptography`` (RFC 4514, escapes included).

    Raises:
        ConfigurationError: not an RFC 4514 distinguished name.
    """
    overrides = _oid_overrides()
    try:
        name = x509.Name.from_rfc4514_string(dn, overrides)
    except ValueError as exc:
        raise ConfigurationError(f"not a distinguished name ({exc})", file=file, object=object,
                                 option="distinguishedName", value=dn,
                                 valid="an RFC 4514 name such as 'CN=John Smith,OU=Agents,DC=example,DC=com'") from None
    by_oid = {c.oid: short for short, c in facts().criteria.items()}
    pairs: list[tuple[str, str]] = []
    for rdn in reversed(name.rdns):  # the ASN.1 order is the reverse of the string's
        for attribute in rdn:
            short = by_oid.get(attribute.oid.dotted_string, attribute.oid.dotted_string)
            pairs.append((short, str(attribute.value)))
    return tuple(pairs)


def _frozen(mapping: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType(dict(mapping))


@attrs.frozen
class DirectoryUser:
    """One directory entry.

    Attributes:
        name: the account name (``sAMAccountName`` / ``uid``), as looked up.
        attributes: attribute name (lower case) -> values, in directory order.
        distinguished_name: the entry's DN, when known.
        source: where it was read (a file or an LDAP URL).
    """

    name: str
    attributes: Mapping[str, tuple[str, ...]] = attrs.field(converter=_frozen)
    distinguished_name: str | None = None
    source: str | None = None

    def values(self, attribute: str) -> tuple[str, ...]:
        """The values of an attribute (name ignoring case; ``distinguishedName`` is the entry's DN)."""
        key = attribute.lower()
        if key == _DN and self.distinguished_name is not None:
            return (self.distinguished_name,)
        return self.attributes.get(key, ())

    def dn_values(self, rdn: str) -> tuple[str, ...]:
        """The values of one RDN attribute (``OU``, ``DC``...) of the DN, in the order the DN holds them."""
        if self.distinguished_name is None:
            return ()
        wanted = rdn.upper()
        return tuple(v for k, v in parse_dn(self.distinguished_name, file=self.source, object=self.name)
                     if k.upper() == wanted)


def user_from_mapping(raw: Any, *, source: str | None = None) -> DirectoryUser:
    """A user from a mapping of attribute -> value or list of values.

    Raises:
        ConfigurationError: not a mapping of text values, or a malformed ``distinguishedName``.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigurationError("a user file holds a mapping of directory attributes", file=source,
                                 valid="attribute: value lines (mail, cn, distinguishedName...)")
    attributes: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not isinstance(key, str) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            raise ConfigurationError("directory attributes are text", file=source, option=str(key),
                                     value=repr(value)[:80], valid="a text value or a list of text values")
        attributes[key.lower()] = tuple(str(v) for v in values)
    dn = attributes.pop(_DN, (None,))[0]
    name = next((attributes[k][0] for k in ("samaccountname", "uid", "cn") if attributes.get(k)), dn or "?")
    user = DirectoryUser(name, attributes, dn, source)
    if dn is not None:
        parse_dn(dn, file=source, object=name)  # refuse a malformed DN now, not during a handshake
    return user


def load_user_file(path: str | os.PathLike[str]) -> DirectoryUser:
    """Read a YAML or JSON user file (bounded, regular files only).

    Raises:
        ConfigurationError: unreadable, special, too large, not YAML/JSON, or not a mapping of attributes.
    """
    name = os.fspath(path)
    data = _files.read_regular_file(name, limit=MAX_USER_FILE, what="user file")
    try:
        raw = yaml.safe_load(data.decode("utf-8"))  # JSON is YAML
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"the user file is not YAML or JSON ({type(exc).__name__})", file=name) from None
    return user_from_mapping(raw, source=name)
