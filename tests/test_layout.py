"""The package's layout rules: ``ssl`` and ``socket`` are imported only by the modules that apply TLS, and
option names are spelled only in the catalogue, the resolver and the documented exceptions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import genesys_tls
from genesys_tls.catalogue import CATALOGUE

PACKAGE = Path(genesys_tls.__file__).parent

#: The modules that apply TLS or open sockets (everything else decides, and imports neither).
TLS_MODULES = {
    "_classify.py", "_keys.py", "_policy.py", "contexts.py", "doctor_probe.py", "handshake.py", "harness.py",
    "server.py", "cloud/components.py", "cloud/probe.py",
    "loadgen.py",  # the load generator's non-blocking client sockets and their TLS handshakes
    "sipendpoint/client.py", "sipendpoint/listener.py", "sipendpoint/tls.py",
}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks (annotations only, never run)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            inside.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return inside


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_ssl_and_socket_only_in_the_tls_modules() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imports(path) & {"ssl", "socket"})
        for path in PACKAGE.rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in TLS_MODULES and _imports(path) & {"ssl", "socket"}
    }
    assert offenders == {}
    lint = [p for p in (PACKAGE / "lint").rglob("*.py") if _imports(p) & {"ssl", "socket"}]
    assert lint == []


#: Modules allowed to spell option names, and why.
OPTION_NAME_EXCEPTIONS = {
    "catalogue.py": "the catalogue itself",
    "resolve.py": "the resolver (precedence per option)",
    "resolved.py": "the typed properties over the resolver's answer",
    "lint/layers.py": "findings name the option they are about; a level's values are keyed by option name",
    "lint/files.py": "findings name the file option they are about; a level's values are keyed by option name",
    "lint/ports.py": "findings name the option they are about and where it is written",
    "lint/links.py": "findings name the option they are about and where it is written",
    "lint/stores.py": "store findings name the certificate / trusted-ca option a thumbprint is written in",
    "material.py": "store and keystore errors name the certificate / trusted-ca option they resolve",
    "contexts.py": "error locations name the option a file or value came from",
    "_policy.py": "error locations and warnings name sec-protocol / cipher-list",
    "crl.py": "errors name tls-crl (crl.OPTION)",
    "handshake.py": "the expected-name error names tls-target-name",
    "pki.py": "the environment it writes is configuration text (through catalogue.option)",
    "__init__.py": "the docstring example",
    "doctor.py": "diagnoses name the option to change and where it came from",
    "doctor_probe.py": "the probe reads the options a diagnosis needs",
    "report/estate.py": "the report shows each connection's options",
    "near_misses.py": "the docstring example (the code reads names from the catalogue)",
    "variants.py": "the docstring examples (the code names options through catalogue.option)",
}


def test_option_names_only_in_the_catalogue_and_documented_exceptions() -> None:
    spelled = re.compile("|".join(rf'"{re.escape(name)}"' for name in CATALOGUE if "-" in name))
    found = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if spelled.search(path.read_text())
    }
    assert found == set(OPTION_NAME_EXCEPTIONS)  # a new spelling elsewhere, or a stale exception, fails


def test_top_level_exports_the_server_and_classify() -> None:
    from genesys_tls import handshake, server

    assert genesys_tls.Server is handshake.Server and genesys_tls.ServerCore is server.ServerCore
    assert genesys_tls.connect_async is handshake.connect_async and genesys_tls.classify is handshake.classify


def test_tests_import_nothing_private_from_lint() -> None:
    """The builders of the rule examples are public (``genesys_tls.lint.examples``): no test reaches for a
    private name of a lint module, imported or as an attribute of an imported lint module."""
    offenders = []
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text())
        modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genesys_tls.lint"):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        offenders.append(f"{path.name}: {node.module}.{alias.name}")
                    elif node.module == "genesys_tls.lint":  # a module of the package, imported by name
                        modules.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
            ):
                offenders.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert offenders == []


#: The option names lint still looks up by name (``x["name"]``, ``x.get("name")``, ``x.paths("name")``), per
#: module, and why; every other question lint asks is a typed property of ``ResolvedSecurity``.
LINT_OPTION_LOOKUPS = {
    "lint/files.py": (
        {"certificate", "certificate-key", "provider", "tls-crl", "trusted-ca"},
        "the file checks read one level's own values (before precedence), which are keyed by option name",
    ),
    "lint/links.py": (
        {"client-auth", "tls", "tls-target-name-check"},
        "provenance of tls (where it was written, what it shadowed: GT212, GT214), the values quoted in "
        "GT206/GT209 messages, and the default port's own tls before resolution (GT213)",
    ),
    "lint/ports.py": (
        {"certificate", "sec-protocol", "tls", "upgrade"},
        "provenance (GT204: sec-protocol at the certificate's level) and the values quoted in messages",
    ),
}


def _option_lookups(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "path", "paths")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        else:
            continue
        if isinstance(key, str) and key in CATALOGUE:
            found.add(key)
    return found


def test_lint_reads_resolved_settings_through_typed_properties() -> None:
    found = {
        str(path.relative_to(PACKAGE)): lookups
        for path in sorted((PACKAGE / "lint").glob("*.py"))
        if (lookups := _option_lookups(path))
    }
    assert found == {module: names for module, (names, _why) in LINT_OPTION_LOOKUPS.items()}


#: Past this many lines a module says at its top why it is not split (a ``Size:`` paragraph).
MAX_LINES = 600


def test_big_modules_say_why_they_are_big() -> None:
    unexplained = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
        and "Size:" not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    }
    assert unexplained == {}
