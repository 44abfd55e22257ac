"""Every code block of README.md and docs/*.md runs, page by page, in a fresh temporary folder holding a copy
of ``examples/`` (what a fresh clone has):

* ``python`` blocks run in order in one namespace per page (a page reads like one session);
* ``python pytest`` blocks are test files: written to the folder and run with pytest (the plugin included);
* ``sh`` blocks run as one script (``set -e``), ``console`` blocks run their ``$ `` lines (each must exit 0, or
  N when the line ends with ``# exit N``) and every output line they show (other than ``...``) must appear in
  what the commands print;
* ``yaml environment`` blocks must load as an environment;
* a block whose info string says ``illustrative`` is not run (signatures, fragments, installs, commands that
  need files the reader has and the tests do not). They are listed by :func:`test_illustrative_blocks_are_few`.

Blocks in other languages (yaml, json, text) are data or output, not run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from genesys_tls.loaders import loads

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs").glob("*/*.md"))]
RUN = {"python", "sh", "console"}
FENCE = re.compile(r"^```([A-Za-z0-9_-]*)([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
#: ports a block's ``genesys-tls serve`` uses when it gives no --address (the pki init environment's)
CONFIGURED_PORTS = (7000, 7001, 7002)
#: a console command expected to exit with another code than 0 ends with ``# exit N``
EXIT_MARK = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


@attrs.frozen
class Block:
    page: Path
    line: int
    lang: str
    flags: tuple[str, ...]
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    return [
        Block(page, text.count("\n", 0, m.start()) + 1, m.group(1), tuple(m.group(2).split()), m.group(3))
        for m in FENCE.finditer(text)
    ]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("NO_COLOR", None)
    return env


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _script(block: Block) -> tuple[str, list[str]]:
    """The shell script of a sh/console block and, for console, the output lines it shows."""
    if block.lang == "sh":
        return "set -eu\n" + block.code, []
    commands, shown = [], []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            expected = EXIT_MARK.search(line)
            command = line[2:] if expected is None else line[2:expected.start()]
            code = 0 if expected is None else int(expected.group(1))
            commands.append(f'set +e; {command}; rc=$?; set -e; [ "$rc" -eq {code} ] || '
                            f'{{ echo "exit $rc, expected {code}: {command.strip()}" >&2; exit 97; }}')
        elif line.strip() and line.strip() != "...":
            shown.append(" ".join(line.split()))
    return "set -eu\n" + "\n".join(commands) + "\n", shown


def run_shell(block: Block, folder: Path) -> None:
    script, shown = _script(block)
    if "genesys-tls serve" in script and "--address" not in script:
        busy = [p for p in CONFIGURED_PORTS if not _free(p)]
        if busy:
            pytest.skip(f"{block.where}: the configured port(s) {busy} are in use on this machine")
    done = subprocess.run(["bash", "-c", script], cwd=folder, env=_env(), capture_output=True, text=True,
                          timeout=90, check=False)
    assert done.returncode == 0, f"{block.where} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    printed = {" ".join(line.split()) for line in done.stdout.splitlines()}
    missing = [line for line in shown if line not in printed]
    assert not missing, f"{block.where}: shown but not printed: {missing}\n--- printed:\n{done.stdout}"


def run_pytest(block: Block, folder: Path) -> None:
    first = block.code.splitlines()[0]
    name = first.lstrip("# ").strip() if first.startswith("#") and first.rstrip().endswith(".py") else None
    path = folder / Path(name or f"test_block_{block.line}.py").name
    path.write_text(block.code, encoding="utf-8")
    # hypothesis is not used by the docs' tests and its plugin takes seconds to import
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", path.name]
    done = subprocess.run(argv, cwd=folder, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{block.where}: pytest failed\n{done.stdout}\n{done.stderr}"
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout


def _environment(block: Block) -> bool:
    return block.lang == "yaml" and "environment" in block.flags


RUNNABLE = [
    p for p in PAGES
    if any((b.lang in RUN or _environment(b)) and "illustrative" not in b.flags for b in blocks(p))
]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "clone"
    folder.mkdir()
    shutil.copytree(ROOT / "examples", folder / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(folder)
    namespace: dict[str, object] = {"__name__": f"doc_{page.stem}"}
    for block in blocks(page):
        if (block.lang not in RUN and not _environment(block)) or "illustrative" in block.flags:
            continue
        if block.lang == "python" and "pytest" in block.flags:
            run_pytest(block, folder)
        elif block.lang == "python":
            exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102 - the docs' own code
        elif block.lang == "yaml":
            loads(block.code, base_dir=folder)
        else:
            run_shell(block, folder)


def test_illustrative_blocks_are_few() -> None:
    illustrative = [b.where for p in PAGES for b in blocks(p) if b.lang in RUN and "illustrative" in b.flags]
    ran = [b.where for p in PAGES for b in blocks(p) if b.lang in RUN and "illustrative" not in b.flags]
    assert len(illustrative) <= 12, illustrative
    assert len(ran) > 2 * len(illustrative), (ran, illustrative)


def test_every_fence_is_parsed() -> None:
    # An unbalanced or unusual fence would hide blocks from the runner.
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        fences = len(re.findall(r"^```", text, re.M))
        assert fences == 2 * len(blocks(page)), page


#: references a reader of a fresh clone cannot follow
UNFOLLOWABLE = re.compile(r"\.\./shared|spec section|contract section|§|\(issues? \d+\)|/work/|/home/\w")


def test_no_reference_a_reader_cannot_follow() -> None:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", *PAGES, *sorted((ROOT / "examples").glob("*")),
             *sorted((ROOT / "genesys_tls").rglob("*.py")), *sorted((ROOT / "benchmarks").glob("*"))]
    found = []
    for path in dict.fromkeys(files):
        if not path.is_file() or path.suffix not in {".md", ".py", ".yaml", ".sh", ""}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNFOLLOWABLE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
