"""docs/api.md is the generated API reference: up to date with the docstrings, covering every public name
(``genesys_tls.__all__`` and each public module's ``__all__``), deterministic, and linked from the README and
the quickstart."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import genesys_tls
from genesys_tls._apidoc import generate, public_modules

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "api.md"


def test_the_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == generate(), (
        "docs/api.md is out of date: run `python -m genesys_tls._apidoc > docs/api.md`"
    )


def test_the_command_prints_the_page() -> None:
    done = subprocess.run([sys.executable, "-m", "genesys_tls._apidoc"], capture_output=True, text=True,
                          timeout=120, check=True, cwd=ROOT)
    assert done.stdout == PAGE.read_text(encoding="utf-8")


def test_every_public_name_is_described_once() -> None:
    page = PAGE.read_text(encoding="utf-8")
    anchors = re.findall(r'<a id="([^"]+)"></a>', page)
    assert len(anchors) == len(set(anchors))
    links = set(re.findall(r"\]\(#([^)]+)\)", page))
    assert links <= set(anchors), sorted(links - set(anchors))
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        assert f"## `{module_name}`" in page
        for name in module.__all__:
            # each name is listed in its module's table, linked to the one place describing it
            assert re.search(rf"^\| \[`{re.escape(name)}`\]\(#[^)]+\.{re.escape(name)}\) \|", page, re.M), (
                module_name, name)
    for name in genesys_tls.__all__:
        assert f"[`{name}`]" in page


def test_public_modules_are_the_ones_without_underscores() -> None:
    modules = public_modules()
    assert modules[0] == "genesys_tls" and "genesys_tls.handshake" in modules and "genesys_tls.ca" in modules
    assert not [m for m in modules if any(part.startswith("_") for part in m.split("."))]


def test_every_public_class_function_method_and_property_has_a_docstring() -> None:
    missing = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj):
                missing.append(f"{module_name}.{name}")
            if not inspect.isclass(obj):
                continue
            for member_name, member in vars(obj).items():  # its own public methods and properties
                function = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
                if (not member_name.startswith("_") and (isinstance(member, property) or inspect.isfunction(function))
                        and not inspect.getdoc(function)):
                    missing.append(f"{module_name}.{name}.{member_name}")
    assert not missing, missing


def test_resolved_security_path_is_documented() -> None:
    page = PAGE.read_text(encoding="utf-8")
    section = page[page.index("#### `ResolvedSecurity.path()`"):page.index("#### `ResolvedSecurity.paths()`")]
    for words in ("base_dir", "comma-separated chain", "Returns:", "None", "Raises:", "KeyError", "thumbprint",
                  'client.path("trusted-ca")'):
        assert words in section, words


def test_no_object_address_and_links_from_readme_and_quickstart() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert not re.search(r" at 0x[0-9a-f]+", page)
    assert "(docs/api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(api.md)" in (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
