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
from collections.abc import Iterable, Sequence

from ._text import REDACTED, SHOWN_MAX, escape_text, looks_secret, redact

__all__ = [
    "Category",
    "ConfigurationError",
    "GenesysTLSError",
    "InsecureConfigurationWarning",
    "LegacyProtocolWarning",
    "Problem",
    "TLSError",
    "closest",
]


def closest(name: str, candidates: Iterable[str], n: int = 3) -> tuple[str, ...]:
    """The valid names closest to a name that was not found, best first (``difflib``; may be empty).

    Case is ignored for the comparison (``tserver_sip`` suggests ``TServer_SIP``); the one rule is
    :func:`genesys_tls._suggest.suggest`.
    """
    from ._suggest import suggest

    return suggest(name, dict.fromkeys(candidates), limit=n)


class GenesysTLSError(Exception):
    """Base of every exception raised on purpose by genesys_tls."""


class Category(enum.StrEnum):
    """Why a handshake or a verification failed (``connect --json``, see ``docs/contract.md``)."""

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
    #: the peer's address is outside the allowed ranges: closed before any TLS byte (SIP Endpoint)
    ADDRESS_REFUSED = "address-refused"
    #: the peer's certificate subject does not match the user's directory properties (SIP Endpoint)
    SUBJECT_MISMATCH = "subject-mismatch"


def _where(
    file: str | None, object: str | None, level: str | None, option: str | None
) -> str:
    parts = []
    if file:
        parts.append(f"file {escape_text(file, limit=_PLACE_MAX)}")
    if object:
        parts.append(f"object {escape_text(object, limit=_PLACE_MAX)}")
    if level:
        parts.append(f"level {escape_text(level, limit=_PLACE_MAX)}")
    if option:
        parts.append(f"option {escape_text(option, limit=_PLACE_MAX)}")
    return ", ".join(parts)


class Problem(enum.StrEnum):
    """What kind of configuration problem an error is, as data (so that no caller reads message text)."""

    VALUE = "value"  #: a value (or an object reference) is wrong
    FILE_MISSING = "file-missing"  #: a named file does not exist
    FILE_UNREADABLE = "file-unreadable"  #: a named file exists but cannot be read (a folder, permissions...)
    FILE_FORMAT = "file-format"  #: a file was read but does not hold what it should


#: How much of a file path, object, level or option name a message shows (then ``...``).
_PLACE_MAX = 2 * SHOWN_MAX
#: How much of the reason a message shows (parser messages quoted in it included).
_REASON_MAX = 5 * SHOWN_MAX


def _clean(text: str | None) -> str | None:
    """A location part with key material replaced (a bare base64 key body given as a path...)."""
    return REDACTED if text is not None and looks_secret(text) else text


def _shown_value(value: object) -> str:
    if not isinstance(value, str):
        return repr(value)
    if value == REDACTED:
        return value
    if len(value) > SHOWN_MAX:
        value = value[: SHOWN_MAX - 3] + "..."
    return repr(value)  # repr escapes every non-printable character


#: How many valid values a message lists before it says how many there are in all.
_VALID_MAX = 20


def _shown_list(values: Sequence[object]) -> str:
    text = ", ".join(_shown_value(v) for v in values[:_VALID_MAX])
    return text + f" ... ({len(values)} in all)" if len(values) > _VALID_MAX else text


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
        problem: the kind of problem (:class:`Problem`; ``value`` unless a file is concerned).
        suggestions: for a name that was not found, the closest valid names (see :func:`closest`).

    ``str(error)`` is one line that names all of them, fit for the CLI's stderr and safe to print: control
    characters are escaped and long parts shortened (``genesys_tls._text.escape_text``), and one redaction
    rule (``genesys_tls._text.looks_secret``) applies to every part: text that looks like private key
    material, or a value under an option named like a password, is stored and shown as a placeholder, never
    as written, in ``str()``, ``repr()`` and the attributes alike. A name the reason already
    quotes is not repeated as the object or the value.
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
        problem: Problem = Problem.VALUE,
        suggestions: Sequence[str] = (),
    ) -> None:
        if looks_secret(reason):
            reason = "the message is withheld: it would show private key material"
        self.reason = reason
        self.problem = problem
        self.suggestions = tuple(suggestions)
        self.file = _clean(file)
        self.object = _clean(object)
        self.level = _clean(level)
        self.option = _clean(option)
        self.value = None if value is None else redact(value, name=option)
        self.valid: tuple[str, ...] | str | None = (
            tuple(valid) if valid is not None and not isinstance(valid, str) else valid
        )
        super().__init__(self.reason, self.file, self.object, self.level, self.option, self.value, self.valid)

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
            problem=self.problem,
            suggestions=self.suggestions,
        )

    def __str__(self) -> str:
        text = escape_text(self.reason, limit=_REASON_MAX)
        # A name the reason already quotes ("unknown application 'X'") is said once.
        quoted = self.value is not None and repr(self.value) in self.reason
        obj = None if quoted and self.object == self.value else self.object
        where = _where(self.file, obj, self.level, self.option)
        if where:
            text += f" ({where})"
        if self.value is not None and not quoted:
            text += f"; got {_shown_value(self.value)}"

        if self.valid:
            valid = escape_text(self.valid, limit=_REASON_MAX) if isinstance(self.valid, str) else _shown_list(
                self.valid
            )
            text += f"; valid: {valid}"
        if self.suggestions:
            text += f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
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
