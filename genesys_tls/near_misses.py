"""Section and option names that are almost, but not exactly, the ones Genesys reads.

The runtime matches names exactly: a section named ``Security`` or ``"security "``, or an option spelled with
a look-alike character (``tls‐mutual`` with a Unicode hyphen, ``tls-crl`` with a Cyrillic ``с``,
``TLS-Mutual`` in the wrong case) is silently ignored, which drops the security setting it was meant to
make. Such a file still loads (genesys_tls reads what the runtime reads), and :func:`near_misses` lists every
such name with the name that was intended, for lint (an error: it weakens security) and ``connect`` /
``serve`` (a warning).

No I/O, no ``ssl``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping

import attrs

from .catalogue import CATALOGUE, OTHER_TRANSPORT_PARAMETERS, SECURITY_SECTION
from .model import Environment, Sections
from .resolved import ResolvedSecurity
from .transport import TransportParameters

__all__ = ["NearMiss", "affecting", "near_misses", "normalized_name"]

#: Characters that look like an ASCII one in a name, mapped to it (hyphens and dashes, Cyrillic and Greek
#: letters that render like Latin ones, full-width forms are handled by NFKC).
_LOOK_ALIKES = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\u00ad\u02d7\u2043", "-"),
        **dict(zip("асеіјорѕхуԁһкмтвн", "aceijopsxydhkmtbh", strict=True)),
        **dict(zip("АВСЕНІЈКМОРЅТХУ", "abcehijkmopstxy", strict=True)),
        **dict(zip("οαερτυικνχΑΒΕΗΙΚΜΝΟΡΤΧΥΖ", "oaeptuikvxabehikmnoptxyz", strict=True)),
        "\u0131": "i",  # dotless i
    }
)
#: Invisible characters that change a name without showing (zero-width, joiners, BOM, bidi marks).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


def normalized_name(name: str) -> str:
    """``name`` as a reader would take it: NFKC, look-alikes to ASCII, invisible characters and surrounding
    white space removed, lower case. Two names with the same normalized form look the same on screen."""
    text = unicodedata.normalize("NFKC", name).translate(_INVISIBLE).translate(_LOOK_ALIKES)
    return text.strip().lower()


@attrs.frozen
class NearMiss:
    """A name the runtime ignores because it is not written exactly as the one it looks like.

    Attributes:
        object: the object (``App``, ``host``, ``App/port``, ``App connection #1``).
        level: ``application-options``, ``application-annex``, ``host-annex``, ``port`` or ``connection``.
        written: the name as written (a section name, ``[section] option``, or a transport parameter).
        intended: the name the runtime reads, which it looks like.
        kind: ``section``, ``option`` or ``transport``.
    """

    object: str
    level: str
    written: str
    intended: str
    kind: str

    @property
    def message(self) -> str:
        """One sentence for lint and warnings, the written name escaped (``repr``)."""
        what = {"section": "section", "option": "option", "transport": "transport parameter"}[self.kind]
        odd = sorted({c for c in self.written if not c.isascii() or not c.isprintable()})
        chars = "; it holds " + ", ".join(
            f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}" for c in odd[:4]
        ) if odd else ""
        return (
            f"{what} {self.written!r} is not {self.intended!r}: names must be written exactly, so the runtime "
            f"ignores it and the setting it was meant to make is lost{chars}"
        )


def _index(names: Iterable[str]) -> dict[str, str]:
    return {normalized_name(n): n for n in names}


_OPTION_NAMES = _index(CATALOGUE)
_TRANSPORT_NAMES = _index([*CATALOGUE, *OTHER_TRANSPORT_PARAMETERS])


def _sections(obj: str, level: str, sections: Sections) -> Iterator[NearMiss]:
    for section, options in sections.items():
        if section != SECURITY_SECTION:
            if normalized_name(section) != SECURITY_SECTION:
                continue
            yield NearMiss(obj, level, section, SECURITY_SECTION, "section")
        yield from _options(obj, level, section, options)


def _options(obj: str, level: str, section: str, options: Mapping[str, str]) -> Iterator[NearMiss]:
    for option in options:
        if option in CATALOGUE:
            continue
        intended = _OPTION_NAMES.get(normalized_name(option))
        if intended is not None:
            yield NearMiss(obj, level, f"[{section}] {option}", intended, "option")


def _transport(obj: str, level: str, transport: TransportParameters) -> Iterator[NearMiss]:
    # an unknown key is kept only in the diagnostics (the runtime ignores it): look there too
    unknown = [d.key for d in transport.diagnostics if d.key is not None]
    for key in dict.fromkeys([*transport, *unknown]):
        if key in _TRANSPORT_NAMES.values():
            continue
        intended = _TRANSPORT_NAMES.get(normalized_name(key))
        if intended is not None:
            yield NearMiss(obj, level, key, intended, "transport")


def near_misses(environment: Environment) -> list[NearMiss]:
    """Every section, option and transport-parameter name of ``environment`` that looks like one the
    runtime reads but is not it (so the runtime ignores it), in file order.

    Example:
        >>> from genesys_tls.model import Application, Environment
        >>> env = Environment({}, {"A": Application("A", options={"Security": {"tls-mutual": "1"}})})
        >>> [(m.written, m.intended) for m in near_misses(env)]
        [('Security', 'security')]
    """
    found: list[NearMiss] = []
    # the look-alike names of each distinct transport object (the loader shares equal ones), named per place
    names: dict[int, list[tuple[str, str]]] = {}

    def transport(template: str, app: str, part: object, level: str, value: TransportParameters) -> None:
        hits = names.get(id(value))
        if hits is None:
            hits = names[id(value)] = [(m.written, m.intended) for m in _transport("", level, value)]
        if hits:
            where = template.format(app, part)
            found.extend(NearMiss(where, level, written, intended, "transport") for written, intended in hits)

    for host in environment.hosts.values():
        if host.annex:
            found.extend(_sections(host.name, "host-annex", host.annex))
    for app in environment.applications.values():
        if app.options:
            found.extend(_sections(app.name, "application-options", app.options))
        if app.annex:
            found.extend(_sections(app.name, "application-annex", app.annex))
        for port in app.ports.values():
            transport("{}/{}", app.name, port.id, "port", port.transport)
        for index, conn in enumerate(app.connections):
            transport("{} connection #{}", app.name, index + 1, "connection", conn.transport)
    return found


def affecting(environment: Environment, resolved: ResolvedSecurity) -> list[NearMiss]:
    """The near misses in the places one resolution reads: the application's options and annex, its Host's
    annex, and the port (server side) or the connections to the target and the target port (client side).
    ``connect`` and ``serve`` warn about each (the runtime ignores them, so the setting meant is lost)."""
    app = resolved.application
    places = {(app, "application-options"), (app, "application-annex")}
    if resolved.host is not None:
        places.add((resolved.host, "host-annex"))
    target = resolved.target
    if target is None:
        places.add((f"{app}/{resolved.port_id}", "port"))
    else:
        places.add((f"{target.server}/{target.port_id}", "port"))
        application = environment.applications.get(app)
        for index, conn in enumerate(application.connections if application is not None else ()):
            if conn.server == target.server:
                places.add((f"{app} connection #{index + 1}", "connection"))
    return [miss for miss in near_misses(environment) if (miss.object, miss.level) in places]
