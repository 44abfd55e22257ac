"""The current user's directory entry from a real LDAP directory, through ``ldap3`` (an I/O module).

:func:`ldap_user` binds (simple bind, or anonymous), searches ``(<account attribute>=<account>)`` under the base
and returns a :class:`~genesys_tls.sipendpoint.directory.DirectoryUser`. ``distinguishedName`` is the
attribute when the directory has it (Active Directory), else the entry's DN (OpenLDAP).

Failures are :class:`DirectoryError` (a :class:`~genesys_tls.errors.ConfigurationError`, so the CLI exits 2 with
one line), carrying a :class:`~genesys_tls.errors.Category` (``connection`` when the server cannot be reached).
The bind password comes from a callback (the CLI: the NAME of an environment variable), never from a command
line, and never appears in an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

with warnings.catch_warnings():
    # ldap3 imports names that pyasn1 deprecates (tagMap, typeMap): not this project's to fix
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3  # type: ignore[import-untyped]
    from ldap3.core.exceptions import LDAPException  # type: ignore[import-untyped]
    from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]

from ..errors import Category, ConfigurationError
from .directory import DirectoryUser

__all__ = ["DirectoryError", "ldap_user"]


class DirectoryError(ConfigurationError):
    """The directory could not give the user's entry; :attr:`category` says why (``connection``...)."""

    def __init__(self, reason: str, *, category: Category | None = None, **where: Any) -> None:
        self.category = category
        prefix = f"{category.value}: " if category is not None else ""
        super().__init__(prefix + reason, **where)

    def located(self, **where: Any) -> ConfigurationError:  # keep the subclass and the category
        return self


def ldap_user(
    url: str,
    *,
    account: str,
    base: str,
    bind_dn: str | None = None,
    password: Callable[[], str | None] | None = None,
    account_attribute: str = "sAMAccountName",
    timeout: float = 5.0,
) -> DirectoryUser:
    """Look the user up.

    Args:
        url: ``ldap://HOST:PORT`` or ``ldaps://HOST:PORT``.
        account: the account name searched.
        base: the search base DN.
        bind_dn: the DN to bind as (``None``: anonymous).
        password: gives the bind password.
        account_attribute: the attribute holding the account name (``sAMAccountName`` on Active Directory,
            ``uid`` on OpenLDAP).
        timeout: seconds for the connection and the search.

    Raises:
        DirectoryError: a bad URL, the server unreachable (category ``connection``), the bind refused, no entry
            or several entries for the account.
    """
    where: dict[str, Any] = {"object": url, "option": "ldap"}
    parts = urlsplit(url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise DirectoryError("not an LDAP URL", value=url, valid="ldap://HOST:PORT or ldaps://HOST:PORT",
                             **where)
    secret = password() if password is not None else None
    try:
        server = ldap3.Server(parts.hostname, port=parts.port, use_ssl=parts.scheme == "ldaps",
                              connect_timeout=timeout, get_info=ldap3.NONE)
        conn = ldap3.Connection(server, user=bind_dn, password=secret, receive_timeout=timeout, read_only=True,
                                raise_exceptions=False, auto_bind=ldap3.AUTO_BIND_NONE)
        try:
            if not conn.bind():
                result = conn.result or {}
                raise DirectoryError(f"the directory refused the bind as {bind_dn or 'anonymous'}: "
                                     f"{result.get('description', 'refused')}", category=Category.UNTRUSTED,
                                     **where)
            query = f"({escape_filter_chars(account_attribute)}={escape_filter_chars(account)})"
            conn.search(base, query, attributes=[ldap3.ALL_ATTRIBUTES], size_limit=2,
                        time_limit=max(1, int(timeout)))
            found = [r for r in (conn.response or []) if r.get("type") == "searchResEntry"]
        finally:
            conn.unbind()
    except DirectoryError:
        raise
    except LDAPException as exc:
        raise DirectoryError(f"cannot reach the directory {parts.hostname}:{parts.port or ''} "
                             f"({type(exc).__name__})", category=Category.CONNECTION, **where) from None
    except OSError as exc:
        raise DirectoryError(f"cannot reach the directory ({exc.strerror or exc})", category=Category.CONNECTION,
                             **where) from None
    if len(found) != 1:
        what = "no entry" if not found else "several entries"
        raise DirectoryError(f"{what} for {query} under {base}", value=account,
                             valid="exactly one directory entry for the account", **where)
    entry = found[0]
    attributes: dict[str, tuple[str, ...]] = {}
    for key, value in (entry.get("attributes") or {}).items():
        values = value if isinstance(value, list) else [value]
        attributes[str(key).lower()] = tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                                             for v in values)
    dn = (attributes.pop("distinguishedname", None) or (str(entry.get("dn")),))[0]
    return DirectoryUser(account, attributes, dn, url)
