"""The current user's directory entry from a real LDAP directory, through ``ldap3`` (an I/O module).

:func:`ldap_user` binds (simple bind, or anonymous), searches ``(<account attribute>=<account>)`` under the base
and returns a :class:`~genesys_tls.sipendpoint.directory.DirectoryUser`. ``distinguishedName`` is the
attribute when the directory has it (Active Directory), else the entry's DN (OpenLDAP).

Failures are :class:`DirectoryError` (a :class:`~genesys_tls.errors.ConfigurationError`, so the CLI exits 2 with
one line), carrying a :class:`~genesys_tls.errors.Category` (``connection`` when the server cannot be reached).
The bind password comes from a callback (the CLI: the NAME of an environment variable), never from a command
line, and never appears in an error.

``ldaps://`` is verified, never weaker: the directory's certificate must chain to ``ca_file`` (default: the
system's trusted CAs) and name the URL's host (a DNS name or an IP address), checked by OpenSSL through
:func:`~genesys_tls.sipendpoint.tls.directory_context`; a refused handshake is a :class:`DirectoryError` with
the handshake's category (``untrusted``, ``name-mismatch``, ``expired``...).
"""

from __future__ import annotations

import math
import os
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

from .._classify import classify
from ..catalogue import Side
from ..errors import Category, ConfigurationError
from .directory import DirectoryUser
from .tls import directory_context

__all__ = ["DirectoryError", "ldap_user"]


class DirectoryError(ConfigurationError):
    """The directory could not give the user's entry; :attr:`category` says why (``connection``...)."""

    def __init__(self, reason: str, *, category: Category | None = None, **where: Any) -> None:
        self.category = category
        prefix = f"{category.value}: " if category is not None else ""
        super().__init__(prefix + reason, **where)

    def located(self, **where: Any) -> ConfigurationError:  # keep the subclass and the category
        return self


class _ContextTLS(ldap3.Tls):  # type: ignore[misc]
    """ldap3's TLS step done with one prepared context: OpenSSL checks the chain and the host name (ldap3's
    own name check is not used); the handshake's error is kept for its category."""

    def __init__(self, context: Any, host: str) -> None:
        super().__init__()
        self.context = context
        self.host = host
        self.failure: OSError | None = None

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        try:
            connection.socket = self.context.wrap_socket(connection.socket, server_hostname=self.host,
                                                         do_handshake_on_connect=do_handshake)
        except OSError as exc:
            self.failure = exc
            raise


def ldap_user(
    url: str,
    *,
    account: str,
    base: str,
    bind_dn: str | None = None,
    password: Callable[[], str | None] | None = None,
    account_attribute: str = "sAMAccountName",
    timeout: float = 5.0,
    ca_file: str | os.PathLike[str] | None = None,
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
        ca_file: ``ldaps://``: the CA certificates (PEM) the directory's certificate must chain to (default: the
            system's trusted CAs).

    Raises:
        DirectoryError: a bad URL, ``ca_file`` with ``ldap://``, the server unreachable (category
            ``connection``), its TLS handshake refused (the handshake's category), the bind refused, no entry
            or several entries for the account.
        ConfigurationError: ``ca_file`` cannot be used.
    """
    where: dict[str, Any] = {"object": url, "option": "ldap"}
    parts = urlsplit(url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise DirectoryError("not an LDAP URL", value=url, valid="ldap://HOST:PORT or ldaps://HOST:PORT",
                             **where)
    secure = parts.scheme == "ldaps"
    if ca_file is not None and not secure:
        raise DirectoryError("a CA file is for ldaps:// only: this URL would send the bind and the search in "
                             "clear", value=url, valid="ldaps://HOST:PORT with --ldap-ca", **where)
    tls = _ContextTLS(directory_context(ca_file), parts.hostname) if secure else None
    secret = password() if password is not None else None
    seconds = max(1, math.ceil(timeout))  # ldap3 sets the socket's receive timeout from whole seconds
    try:
        server = ldap3.Server(parts.hostname, port=parts.port, use_ssl=secure, tls=tls,
                              connect_timeout=timeout, get_info=ldap3.NONE)
        conn = ldap3.Connection(server, user=bind_dn, password=secret, receive_timeout=seconds, read_only=True,
                                raise_exceptions=False, auto_bind=ldap3.AUTO_BIND_NONE)
        try:
            if not conn.bind():
                result = conn.result or {}
                raise DirectoryError(f"the directory refused the bind as {bind_dn or 'anonymous'}: "
                                     f"{result.get('description', 'refused')}", category=Category.UNTRUSTED,
                                     **where)
            query = f"({escape_filter_chars(account_attribute)}={escape_filter_chars(account)})"
            conn.search(base, query, attributes=[ldap3.ALL_ATTRIBUTES], size_limit=2,
                        time_limit=seconds)
            found = [r for r in (conn.response or []) if r.get("type") == "searchResEntry"]
        finally:
            conn.unbind()
    except DirectoryError:
        raise
    except LDAPException as exc:
        if tls is not None and tls.failure is not None:
            category, detail = classify(tls.failure, side=Side.CLIENT)
            raise DirectoryError(f"the TLS handshake with the directory {parts.hostname}:{parts.port or 636} "
                                 f"failed: {detail}", category=category, **where) from None
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
