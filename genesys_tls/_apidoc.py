"""The API reference page (``docs/api.md``), generated from the docstrings of every public name.

Public names are those of ``genesys_tls.__all__`` and of the ``__all__`` of every public module (a module of
the package whose dotted name has no part starting with ``_``). Each object is documented once, in the
module that defines it; the other modules that export it point there. Module constants are documented by
their ``#:`` comment. Everything printed is deterministic (no object addresses), so the page can be compared
with a fresh generation::

    python -m genesys_tls._apidoc > docs/api.md
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

__all__ = ["generate", "public_modules"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_SIMPLE = (bool, int, float, str, bytes, type(None))
#: the longest constant value the page shows
_VALUE_MAX = 100

HEADER = """\
# API reference

Every public name of the `genesys_tls` package, with its signature and docstring: the names of
`genesys_tls.__all__` (`import genesys_tls as gt`) and of each public module's `__all__`. Each object is
described once, in the module that defines it; the other modules that export it link there. The command
line is described in [contract.md](contract.md); a first tour is in [quickstart.md](quickstart.md).

This page is generated from the docstrings (`python -m genesys_tls._apidoc > docs/api.md`); a test fails
when it is out of date.
"""


def public_modules() -> list[str]:
    """The dotted names of the package's public modules that declare ``__all__``, sorted (the package
    first)."""
    import genesys_tls

    names = ["genesys_tls"]
    for info in pkgutil.walk_packages(genesys_tls.__path__, "genesys_tls."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            names.append(info.name)
    return ["genesys_tls", *sorted(names[1:])]


def _anchor(qualified: str) -> str:
    """The anchor of a name (its dotted name) or of a module (``module-`` + its dotted name)."""
    return qualified


def _repr(value: Any) -> str:
    """``repr``, with the members of sets and the keys of dicts in sorted order (their own order follows the
    hash seed of the process)."""
    if isinstance(value, set | frozenset):
        inner = ", ".join(sorted(_repr(v) for v in value))
        return f"{type(value).__name__}({{{inner}}})" if value else f"{type(value).__name__}()"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_repr(k)}: {_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_repr(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_repr(v) for v in value) + "]"
    return repr(value)


def _value(value: Any) -> str:
    """A deterministic, short display of a default or a constant."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, set | frozenset) and all(isinstance(v, _SIMPLE) for v in value):
        text = _repr(value)
    elif isinstance(value, _SIMPLE) or (
        isinstance(value, tuple | frozenset) and all(isinstance(v, _SIMPLE) for v in value)
    ):
        text = repr(value)
    elif callable(value) and hasattr(value, "__qualname__"):
        text = value.__qualname__
    elif isinstance(value, dict | list | tuple | set | frozenset) or attrs.has(type(value)):
        text = _ADDRESS.sub("", _repr(value))
    else:  # an object with a state of its own (a cache, a lock): its repr changes as the process runs
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _VALUE_MAX else f"<{type(value).__name__}>"


def _annotation(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return _ADDRESS.sub("", inspect.formatannotation(annotation))


def signature(obj: Callable[..., Any], name: str) -> str:
    """``name(params) -> return`` with deterministic defaults; ``name(...)`` when there is none."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return f"{name}(...)"
    parts: list[str] = []
    star_done = False
    params = list(sig.parameters.values())
    for index, param in enumerate(params):
        if param.kind is param.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if param.kind is param.VAR_POSITIONAL:
            star_done = True
        prefix = "*" if param.kind is param.VAR_POSITIONAL else "**" if param.kind is param.VAR_KEYWORD else ""
        text = prefix + param.name
        if param.annotation is not param.empty:
            text += f": {_annotation(param.annotation)}"
        if param.default is not param.empty:
            text += f" = {_value(param.default)}"
        parts.append(text)
        if param.kind is param.POSITIONAL_ONLY and not any(
            later.kind is param.POSITIONAL_ONLY for later in params[index + 1 :]
        ):
            parts.append("/")
    out = f"{name}({', '.join(parts)})"
    if sig.return_annotation is not sig.empty:
        out += f" -> {_annotation(sig.return_annotation)}"
    return out


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    if any(line.startswith("```") for line in doc.splitlines()):
        raise ValueError(f"{obj!r}: a docstring line starts with a Markdown fence")
    return doc


def _block(text: str) -> list[str]:
    return ["```text", text, "```", ""] if text else []


def _constant_comments(module: ModuleType) -> dict[str, str]:
    """``NAME`` -> the ``#:`` comment lines just above its module-level assignment."""
    try:
        lines = inspect.getsource(module).splitlines()
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=", line)
        if not match:
            continue
        comments: list[str] = []
        back = index - 1
        while back >= 0 and lines[back].startswith("#:"):
            comments.insert(0, lines[back][2:].strip())
            back -= 1
        out.setdefault(match.group(1), " ".join(comments))
    return out


def _home(obj: Any, exported_by: str) -> str:
    """The module documenting ``obj``: where it is defined, when that module is public, else the exporter."""
    module = getattr(obj, "__module__", None)
    if isinstance(obj, ModuleType) or not isinstance(module, str) or not (
        inspect.isclass(obj) or inspect.isfunction(obj)
    ):
        return exported_by
    return module


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """The public methods and properties a class defines itself, in source order."""
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property | classmethod | staticmethod) or inspect.isfunction(member):
            yield name, member


def _class(qualified: str, cls: type) -> list[str]:
    kind = "exception" if issubclass(cls, BaseException) else "class"
    if issubclass(cls, enum.Enum):
        bases = ", ".join(f"{b.__module__}.{b.__qualname__}" for b in cls.__bases__)
        out = [f"```text\nclass {cls.__name__}({bases})\n```", ""]
        out += ["Members: " + ", ".join(f"`{m.name}` (`{m.value!r}`)" for m in cls) + ".", ""]
    else:
        out = [f"```text\n{kind} {signature(cls, cls.__name__)}\n```", ""]
    out += _block(_doc(cls))
    for name, member in _members(cls):
        if issubclass(cls, enum.Enum) and name in cls.__members__:
            continue
        if isinstance(member, property):
            out += [f"#### `{cls.__name__}.{name}` (property)", "", *_block(_doc(member))]
            continue
        function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
        label = "classmethod " if isinstance(member, classmethod) else (
            "staticmethod " if isinstance(member, staticmethod) else "")
        out += [f"#### `{cls.__name__}.{name}()`", "", f"```text\n{label}{signature(function, name)}\n```", ""]
        out += _block(_doc(function))
    return out


def _entry(module: ModuleType, name: str, obj: Any, comments: dict[str, str]) -> list[str]:
    qualified = f"{module.__name__}.{name}"
    out = [f'<a id="{_anchor(qualified)}"></a>', "", f"### `{qualified}`", ""]
    if inspect.isclass(obj):
        return out + _class(qualified, obj)
    if callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj)):
        return [*out, f"```text\n{signature(obj, name)}\n```", "", *_block(_doc(obj))]
    if isinstance(obj, ModuleType):
        return [*out, f"The module [`{obj.__name__}`](#module-{obj.__name__}).", ""]
    comment = comments.get(name, "")
    return out + [f"```text\n{name} = {_value(obj)}\n```", ""] + ([comment, ""] if comment else [])


def _summary(obj: Any, comments: dict[str, str], name: str) -> str:
    doc = inspect.getdoc(obj) if (inspect.isclass(obj) or callable(obj) or isinstance(obj, ModuleType)) else None
    text = (doc or comments.get(name, "")).strip().split("\n\n")[0]
    return " ".join(text.split()).replace("|", "\\|")


def generate() -> str:
    """The whole page, as ``docs/api.md`` holds it."""
    modules = [importlib.import_module(name) for name in public_modules()]
    homes: dict[int, str] = {}
    for module in modules:  # where each object is described
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                home = _home(obj, module.__name__)
                if home not in {m.__name__ for m in modules} or name not in getattr(sys.modules[home], "__all__", ()):
                    home = homes.get(id(obj), module.__name__)
                homes.setdefault(id(obj), home)
    comments_of = {m.__name__: _constant_comments(m) for m in modules}
    for module in modules:  # a constant is described where it is assigned
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj) or id(obj) in homes:
                continue
            assigned = [m.__name__ for m in modules if name in comments_of[m.__name__] and getattr(m, name, None) is obj
                        and name in m.__all__]
            homes[id(obj)] = assigned[0] if assigned else module.__name__
    lines = [HEADER, "## Modules", ""]
    for module in modules:
        first = _summary(module, {}, module.__name__)
        lines.append(f"* [`{module.__name__}`](#module-{module.__name__}): {first}")
    lines.append("")
    for module in modules:
        comments = comments_of[module.__name__]
        lines += [f'<a id="module-{module.__name__}"></a>', "", f"## `{module.__name__}`", ""]
        lines += _block(_doc(module))
        elsewhere: list[str] = []
        table = ["| name | summary |", "|---|---|"]
        for name in module.__all__:
            obj = getattr(module, name)
            home = homes.get(id(obj), module.__name__)
            summary = _summary(obj, comments_of.get(home, comments), name)
            table.append(f"| [`{name}`](#{_anchor(f'{home}.{name}')}) | {summary} |")
            if home != module.__name__:
                elsewhere.append(name)
        lines += [*table, ""]
        if elsewhere:
            lines += ["Exported here, described in their own module: "
                      + ", ".join(f"[`{n}`](#{_anchor(homes[id(getattr(module, n))] + '.' + n)})" for n in elsewhere)
                      + ".", ""]
        for name in module.__all__:
            obj = getattr(module, name)
            if homes.get(id(obj), module.__name__) != module.__name__:
                continue
            lines += _entry(module, name, obj, comments)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m genesys_tls._apidoc [FILE]``: print the page, or write it to FILE."""
    args = sys.argv[1:] if argv is None else argv
    page = generate()
    if args:
        Path(args[0]).write_text(page, encoding="utf-8")
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
