"""Every exception and warning of genesys_tls, and the handshake failure categories.

Two families, as the contract fixes them:

* :class:`ConfigurationError` (a :class:`ValueError`): the configuration is wrong. It names where the bad
  value is (file, object, level, option), the bad value and the valid ones. The CLI turns it into exit 2.
* :class:`TLSError` (an :class:`OSError`): a handshake or a verification failed. It carries one
  :class:`Category` of the contract. The CLI turns it into exit 1.

Neither ever holds a private key or a password: values of options are paths or names, and the password
callbacks never pass their result to an exception.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

__all__ = [
    "Category",
    "ConfigurationError",
    "GenesysTLSError",
    "InsecureConfigurationWarning",
    "LegacyProtocolWarning",
    "TLSError",
]


class GenesysTLSError(Exception):
    """Base of every exception raised on purpose by genesys_tls."""


class Category(enum.StrEnum):
    """Why a handshake or a verification failed (contract section 2, ``connect --json``)."""

    UNTRUSTED = "untrusted"
    NAME_MISMATCH = "name-mismatch"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    CRL_UNAVAILABLE = "crl-unavailable"
    CRL_EXPIRED = "crl-expired"
    PROTOCOL = "protocol"
    CLIENT_CERTIFICATE_REQUIRED = "client-certificate-required"
    CONNECTION = "connection"
    PROXY_AUTHENTICATION_REQUIRED = "proxy-authentication-required"


def _where(
    file: str | None, object: str | None, level: str | None, option: str | None
) -> str:
    parts = []
    if file:
        parts.append(f"file {file}")
    if object:
        parts.append(f"object {object}")
    if level:
        parts.append(f"level {level}")
    if option:
        parts.append(f"option {option}")
    return ", ".join(parts)


class ConfigurationError(GenesysTLSError, ValueError):
    """The configuration is wrong: an invalid value, a missing object, an unreadable file.

    Attributes:
        reason: what is wrong, in one sentence.
        file: the environment or certificate file concerned, when known.
        object: the configuration object (Host, Application, ``App/port``...), when known.
        level: where the value sits (``port``, ``connection``, ``application-options``,
            ``application-annex``, ``host-annex``...), when known.
        option: the option name, when one is concerned.
        value: the bad value as written (never a secret).
        valid: the valid values or a description of them.

    ``str(error)`` is one line that names all of them, fit for the CLI's stderr.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        object: str | None = None,
        level: str | None = None,
        option: str | None = None,
        value: str | None = None,
        valid: Sequence[str] | str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.object = object
        self.level = level
        self.option = option
        self.value = value
        self.valid: tuple[str, ...] | str | None = (
            tuple(valid) if valid is not None and not isinstance(valid, str) else valid
        )
        super().__init__(reason, file, object, level, option, value, self.valid)

    def located(
        self,
        *,
        file: str | None = None,
        object: str | None = None,
        level: str | None = None,
        option: str | None = None,
    ) -> ConfigurationError:
        """A copy with the missing parts of the location filled in (known parts are kept)."""
        return type(self)(
            self.reason,
            file=self.file or file,
            object=self.object or object,
            level=self.level or level,
            option=self.option or option,
            value=self.value,
            valid=self.valid,
        )

    def __str__(self) -> str:
        text = self.reason
        where = _where(self.file, self.object, self.level, self.option)
        if where:
            text += f" ({where})"
        if self.value is not None:
            text += f"; got {self.value!r}"
        if self.valid:
            valid = self.valid if isinstance(self.valid, str) else ", ".join(
                repr(v) for v in self.valid
            )
            text += f"; valid: {valid}"
        return text


class TLSError(GenesysTLSError, OSError):
    """A handshake or a verification failed.

    Attributes:
        category: one of :class:`Category`.
        detail: what OpenSSL or the check said, readable.
        result: the handshake result object, when a helper made one (see ``genesys_tls.handshake``).
    """

    def __init__(self, category: Category | str, detail: str, *, result: object = None) -> None:
        self.category = Category(category)
        self.detail = detail
        self.result = result
        super().__init__(f"{self.category.value}: {detail}")

    def __str__(self) -> str:
        return f"{self.category.value}: {self.detail}"


class LegacyProtocolWarning(UserWarning):
    """A legacy protocol (TLS 1.0) was allowed because the caller opted into legacy protocols."""


class InsecureConfigurationWarning(UserWarning):
    """The configuration is allowed by Genesys but weakens security (``client-auth=0``...)."""
