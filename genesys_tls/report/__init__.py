"""``genesys-tls report``: one self-contained HTML page of an estate.

The page holds a drawing of the estate (Hosts, applications, ports and connections, each link with its mode
and whether lint finds a problem on it; Graphviz ``dot`` when installed, else a built-in layout), the lint
findings grouped by object, the certificates and CRLs on an expiry timeline, and every application in a
table. A file that does not load still gives a page, with the load error shown and what could be read.

    >>> from genesys_tls.report import render_report   # doctest: +SKIP
    >>> html = render_report("environment.yaml")        # doctest: +SKIP

Modules: :mod:`.estate` gathers (no ssl, no sockets), :mod:`.drawing` lays out, :mod:`.html` writes the page.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import attrs

from ..resolve import Reading
from .drawing import Drawing, draw
from .estate import Estate, gather
from .html import render_page

__all__ = ["Drawing", "Estate", "ReportResult", "gather", "render_report", "write_report"]


@attrs.frozen
class ReportResult:
    """What :func:`write_report` wrote.

    Attributes:
        path: the HTML file.
        estate: what it shows.
        drawing: how the estate was drawn (``engine``: ``dot`` or ``builtin``).
    """

    path: Path
    estate: Estate
    drawing: Drawing


def _build(env_path: str | os.PathLike[str], layout: str, dot: str | None, reading: Reading | str,
           expiry_days: int, now: dt.datetime | None) -> tuple[str, Estate, Drawing]:
    estate = gather(Path(env_path), reading=reading, expiry_days=expiry_days, now=now)
    drawing = draw(estate, layout=layout, dot=dot)
    return render_page(estate, drawing), estate, drawing


def render_report(
    env_path: str | os.PathLike[str], *, layout: str = "auto", dot: str | None = None,
    reading: Reading | str = Reading.PSDK, expiry_days: int = 30, now: dt.datetime | None = None,
) -> str:
    """The HTML page of an environment file (see :func:`write_report` for the arguments)."""
    return _build(env_path, layout, dot, reading, expiry_days, now)[0]


def write_report(
    env_path: str | os.PathLike[str], output: str | os.PathLike[str], *, layout: str = "auto",
    dot: str | None = None, reading: Reading | str = Reading.PSDK, expiry_days: int = 30,
    now: dt.datetime | None = None,
) -> ReportResult:
    """Write the HTML report of ``env_path`` to ``output`` (replaced atomically).

    Args:
        env_path: the environment file; one that does not load gives a page showing the load error.
        output: the HTML file to write (its folder must exist; a special file is refused).
        layout: ``auto`` (``dot`` when installed), ``dot`` or ``builtin``.
        dot: the Graphviz ``dot`` program (default: on PATH).
        reading, expiry_days, now: as lint.

    Raises:
        ConfigurationError: ``output`` is a folder or a special file, or its folder does not exist.
    """
    from ..errors import ConfigurationError

    out = Path(output)
    if out.exists() and not out.is_file():
        raise ConfigurationError("the report output is not a regular file", file=str(out),
                                 valid="a path to an .html file")
    if not out.parent.is_dir():
        raise ConfigurationError("the folder of the report output does not exist", file=str(out))
    page, estate, drawing = _build(env_path, layout, dot, reading, expiry_days, now)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ReportResult(out, estate, drawing)
