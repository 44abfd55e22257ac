"""Choosing rules (``--select`` / ``--ignore``) and suppressing single findings with a reason (``--suppressions``).

A selector is a rule code (``GT104``), a code prefix (``GT1``, ``GT10``), a rule name
(``transport-unknown-key``) or ``ALL``. Between ``select`` and ``ignore`` the longer match decides (``--ignore
GT1 --select GT104`` keeps GT104 alone of the GT1xx rules); on a tie ``ignore`` wins.

A suppressions file (YAML, or JSON) lists findings that are accepted for one object, each with the reason::

    suppressions:
      - code: GT209                              # the rule (a code or a name)
        object: "MyTLibClient -> TServer_SIP/secure"   # the finding's object, exactly as lint names it
        option: tls-target-name-check           # optional: only the finding on this option
        level: connection                        # optional: only the finding at this level
        reason: "name check done by the load balancer; ticket SEC-1234"

A suppression without a reason, with an unknown rule or an object the environment does not have, is an error
(with the names that come closest). Suppressed findings do not count toward ``--fail-on``; they are listed as
suppressed in the JSON and SARIF outputs, and suppressions that match nothing are listed as unused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .. import _files
from .._text import looks_secret
from ..errors import ConfigurationError, closest

if TYPE_CHECKING:
    from ..model import Environment
    from .rules import Finding, Rule

__all__ = ["Suppression", "load_suppressions", "parse_suppressions", "select_codes", "suggest_rules"]

#: Largest suppressions file read.
MAX_SUPPRESSIONS_BYTES = 4 * 1024 * 1024

_KEYS = ("code", "object", "option", "level", "reason")
_REQUIRED = ("code", "object", "reason")


@attrs.frozen
class Suppression:
    """One accepted finding: a rule on one object (optionally one option or level), and why.

    Attributes:
        code: the rule's code (``GT209``).
        object: the finding's object (``App``, ``Host``, ``App/port``, ``App -> Server/port``).
        reason: why the finding is accepted (required, not blank).
        option: only the finding on this option (``None``: any).
        level: only the finding at this level (``None``: any).
        file: the suppressions file, when read from one.
        entry: the 1-based position of the entry in the file's list.
    """

    code: str
    object: str
    reason: str
    option: str | None = None
    level: str | None = None
    file: str | None = None
    entry: int | None = None

    def matches(self, finding: Finding) -> bool:
        """Whether this suppression covers ``finding``."""
        return (
            finding.code == self.code
            and finding.object == self.object
            and (self.option is None or finding.option == self.option)
            and (self.level is None or finding.level == self.level)
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"code", "object", "option", "level", "reason", "file", "entry"}`` (absent members empty)."""
        return {
            "code": self.code,
            "object": self.object,
            "option": self.option or "",
            "level": self.level or "",
            "reason": self.reason,
            "file": self.file or "",
            "entry": self.entry or 0,
        }


def suggest_rules(text: str, rules: Mapping[str, Rule] | None = None) -> tuple[str, ...]:
    """The codes and names closest to a rule that was not found (a code typed with the letter O for zero,
    or I/L for one, comes first)."""
    registry = _registry(rules)
    names = [r.name for r in registry.values()]
    digits = text.strip().upper().translate(str.maketrans("OIL", "011"))
    found = [code for code in registry if code.startswith(digits)] if digits.startswith("GT") else []
    return tuple(dict.fromkeys([*found[:3], *closest(text, [*registry, *names])]))[:3]


def _registry(rules: Mapping[str, Rule] | None) -> Mapping[str, Rule]:
    if rules is not None:
        return rules
    from .rules import RULES

    return RULES


def _matching(token: str, registry: Mapping[str, Rule], option: str) -> tuple[frozenset[str], int]:
    """The codes a selector matches and how specific it is (the length of the code part it names)."""
    text = token.strip()
    upper = text.upper()
    if upper == "ALL":
        return frozenset(registry), 0
    by_name = {r.name: r.code for r in registry.values()}
    if text.lower() in by_name:
        return frozenset({by_name[text.lower()]}), len(by_name[text.lower()])
    found = frozenset(code for code in registry if code.startswith(upper))
    if upper.startswith("GT") and len(upper) > 2 and found:
        return found, len(upper)
    raise ConfigurationError(
        "unknown lint rule selector (a code such as GT104, a prefix such as GT1, a rule name, or ALL)",
        option=option,
        value=text,
        valid=("ALL", *registry),
        suggestions=suggest_rules(text, registry),
    )


def _tokens(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [part for item in items for part in item.split(",") if part.strip()]


def select_codes(
    select: Iterable[str] | str | None,
    ignore: Iterable[str] | str | None,
    rules: Mapping[str, Rule] | None = None,
) -> frozenset[str]:
    """The rule codes that ``select`` and ``ignore`` leave (each a list of selectors, or one text of
    comma-separated selectors; ``select`` ``None`` means every rule).

    Raises:
        ConfigurationError: a selector matches no rule (with the closest codes and names).

    Example:
        >>> sorted(select_codes(["GT10"], ["GT103,GT106"]))
        ['GT101', 'GT102', 'GT104', 'GT105', 'GT107']
    """
    registry = _registry(rules)
    best: dict[str, tuple[int, bool]] = {}  # code -> (specificity, kept)
    for token in _tokens(select) or ["ALL"]:
        codes, weight = _matching(token, registry, "select")
        for code in codes:
            if code not in best or weight >= best[code][0]:
                best[code] = (weight, True)
    for token in _tokens(ignore):
        codes, weight = _matching(token, registry, "ignore")
        for code in codes:
            if code in best and weight >= best[code][0]:
                best[code] = (weight, False)
    return frozenset(code for code, (_, kept) in best.items() if kept)


def _objects(env: Environment) -> list[str]:
    names = list(env.hosts) + list(env.applications)
    for app in env.applications.values():
        names += [f"{app.name}/{port}" for port in app.ports]
        names += [f"{app.name} -> {c.server}/{c.port_id or 'default'}" for c in app.connections]
    return names


def parse_suppressions(
    data: Any,
    *,
    file: str | None = None,
    env: Environment | None = None,
    rules: Mapping[str, Rule] | None = None,
) -> tuple[Suppression, ...]:
    """Suppressions from parsed data: ``{"suppressions": [...]}`` or the list itself.

    With ``env``, every object must be one lint reports on in that environment.

    Raises:
        ConfigurationError: wrong shape, unknown key, missing or blank reason, unknown rule or object.
    """
    registry = _registry(rules)
    by_name = {r.name: r.code for r in registry.values()}
    if isinstance(data, Mapping):
        unknown = [k for k in data if k != "suppressions"]
        if unknown:
            raise ConfigurationError(
                f"unknown key {unknown[0]!r} in the suppressions file", file=file, value=str(unknown[0]),
                valid=("suppressions",), suggestions=closest(str(unknown[0]), ["suppressions"]),
            )
        data = data.get("suppressions")
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ConfigurationError(
            "the suppressions must be a list of {code, object, reason}", file=file,
            valid="a list of {code, object, option, level, reason}",
        )
    objects = _objects(env) if env is not None else None
    out: list[Suppression] = []
    for number, item in enumerate(data, start=1):
        where = f"suppression #{number}"
        if not isinstance(item, Mapping):
            raise ConfigurationError(f"{where} must be a mapping of {', '.join(_KEYS)}", file=file, object=where)
        for key in item:
            if key not in _KEYS:
                raise ConfigurationError(
                    f"unknown key {key!r} in {where}", file=file, object=where, value=str(key), valid=_KEYS,
                    suggestions=closest(str(key), _KEYS),
                )
        values: dict[str, str | None] = {}
        for key in _KEYS:
            value = item.get(key)
            if value is not None and not isinstance(value, str | int):
                raise ConfigurationError(f"{where}: {key} must be text", file=file, object=where, option=key)
            values[key] = None if value is None else str(value).strip() or None
            if values[key] is not None and looks_secret(values[key] or ""):
                raise ConfigurationError(
                    f"{where}: {key} holds private key material; the value is not shown", file=file,
                    object=where, option=key,
                )
        for key in _REQUIRED:
            if values[key] is None:
                what = "a reason (why the finding is accepted)" if key == "reason" else f"a {key}"
                raise ConfigurationError(f"{where} has no {key}: a suppression needs {what}", file=file,
                                         object=where, option=key)
        code_text = values["code"] or ""
        code = code_text.upper() if code_text.upper() in registry else by_name.get(code_text.lower())
        if code is None:
            raise ConfigurationError(
                f"{where}: unknown lint rule", file=file, object=where, option="code", value=code_text,
                valid=tuple(registry), suggestions=suggest_rules(code_text, registry),
            )
        obj = values["object"] or ""
        if objects is not None and obj not in objects:
            raise ConfigurationError(
                f"{where}: the environment has no object {obj!r}", file=file, object=where, option="object",
                value=obj, valid="a Host, an Application, App/port or App -> Server/port, as lint names them",
                suggestions=closest(obj, objects),
            )
        out.append(Suppression(code, obj, values["reason"] or "", values["option"], values["level"], file, number))
    return tuple(out)


def load_suppressions(
    path: str | Path, *, env: Environment | None = None, rules: Mapping[str, Rule] | None = None
) -> tuple[Suppression, ...]:
    """Read a suppressions file (YAML or JSON; see the module documentation).

    Raises:
        ConfigurationError: unreadable file (regular files only, at most 4 MiB), invalid YAML, or any error of
            :func:`parse_suppressions`; it names the file and the entry.
    """
    from ..loaders import _parse

    name = str(path)
    text = _files.read_text_file(Path(path), limit=MAX_SUPPRESSIONS_BYTES, what="suppressions file")
    try:  # the environment files' YAML reader: text, lists and mappings only, aliases bounded
        data = _parse(text, "yaml", name)
    except ConfigurationError as exc:
        raise ConfigurationError(f"suppressions file: {exc.reason}", file=name) from None
    return parse_suppressions(data, file=name, env=env, rules=rules)
