"""The documentation is complete and its links resolve, on every page:

* every relative link of README.md, CHANGELOG.md, docs/ and benchmarks/ names a file that exists, and every
  ``#fragment`` a heading (GitHub's anchor rule) or an ``<a id>`` of the page it points at;
* README's documentation index lists every page of docs/;
* README's and docs/contract.md's command tables name every command, sub-command and option the parser has;
* docs/contract.md names every JSON Schema of docs/schemas/;
* every command's ``--help`` names an existing documentation page;
* docs/design.md's layout map names every module of the package.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesys_tls.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md")),
    *sorted((ROOT / "benchmarks").glob("*.md")),
]
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def _prose(page: Path) -> str:
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (``-`` and ``_`` kept), spaces -> ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = _prose(page)
    found: set[str] = set(re.findall(r'<a (?:id|name)="([^"]+)"', text))
    seen: dict[str, int] = {}
    for match in HEADING.finditer(text):
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(page: Path) -> Iterator[str]:
    for match in LINK.finditer(CODE.sub("", _prose(page))):
        target = match.group(1)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: are not checked here
            yield target


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_the_slug_rule() -> None:
    assert _slug("Known-IP lists (`cloud ips`)") == "known-ip-lists-cloud-ips"
    assert _slug("See the server's certificates: `connect --show-certs`") == (
        "see-the-servers-certificates-connect---show-certs"
    )


def _section(page: Path, title: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_readme_indexes_every_docs_page() -> None:
    index = _section(ROOT / "README.md", "Documentation")
    listed = {(ROOT / target.partition("#")[0]).resolve() for target in LINK.findall(index)}
    pages = {p.resolve() for p in (ROOT / "docs").rglob("*.md")} | {(ROOT / "docs" / "schemas").resolve()}
    missing = sorted(str(p.relative_to(ROOT)) for p in pages - listed)
    assert not missing, missing


def commands() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and sub-command (``cloud ips``) with its parser; groups (``cloud``) too."""

    def walk(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield f"{prefix}{name}", sub
                    yield from walk(sub, f"{prefix}{name} ")

    yield from walk(build_parser(), "")


def _leaf(parser: argparse.ArgumentParser) -> bool:
    return not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


def _options(parser: argparse.ArgumentParser) -> list[list[str]]:
    """The option strings of each option but --help (``["-o", "--output"]``)."""
    return [a.option_strings for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def _named(option_strings: list[str], text: str) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text) for o in option_strings)


@pytest.mark.parametrize("page", ["README.md", "docs/contract.md"])
def test_the_command_table_names_every_command_and_option(page: str) -> None:
    rows = [line for line in _section(ROOT / page, "Commands" if "contract" in page else "Command line")
            .splitlines() if line.startswith("| `genesys-tls ")]
    missing = []
    for command, parser in commands():
        if not _leaf(parser):
            continue
        mine = [row for row in rows if re.search(rf"`genesys-tls {re.escape(command)}[ `]", row)]
        if not mine:
            missing.append(command)
            continue
        missing += [f"{command} {strings[-1]}" for strings in _options(parser) if not _named(strings, " ".join(mine))]
    assert not missing, missing
    assert "--version" in (ROOT / page).read_text(encoding="utf-8")


def test_the_contract_names_every_schema() -> None:
    text = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted((ROOT / "docs" / "schemas").glob("*.json")) if f"schemas/{p.name}" not in text]
    assert not missing, missing
    assert "environment.schema.json" in text


def test_every_help_names_an_existing_docs_page() -> None:
    missing = []
    for command, parser in commands():
        named = re.findall(r"docs/[\w./-]+\.md", " ".join(parser.format_help().split()))
        # the pages every command names (readings, the contract) do not document the command itself
        own = set(named) - {"docs/precedence.md", "docs/contract.md"}
        if not own or not all((ROOT / name).is_file() for name in named):
            missing.append(f"{command}: {named}")
    assert not missing, missing


def test_the_design_layout_map_names_every_module() -> None:
    layout = _section(ROOT / "docs" / "design.md", "Layout map (file -> what it holds -> what it may import)")
    named = set(re.findall(r"`([\w/*]+\.py)`", layout))
    package = ROOT / "genesys_tls"
    missing = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        if module not in named and not (module.startswith("cli/") and "cli/*.py" in named):
            missing.append(module)
    assert not missing, missing


#: words a reader of the documentation cannot follow: a specification, issues or work items the project does
#: not publish
UNPUBLISHED = re.compile(r"\bspec\b|\bissues? #?\d+|\bwork items?\b|\.\./shared|/work/", re.I)


@pytest.mark.parametrize("page", [p for p in PAGES if p.parent.name != "benchmarks"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_refer_to_nothing_unpublished(page: Path) -> None:
    found = [f"{n}: {line.strip()}" for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             if UNPUBLISHED.search(line)]
    assert not found, found
