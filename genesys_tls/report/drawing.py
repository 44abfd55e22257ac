"""The drawing of the estate: Hosts, applications, ports and connections, as inline SVG.

Two layouts of the same graph:

* ``dot``: Graphviz ``dot -Tsvg`` (a real layered layout), run as a process with a timeout; the Hosts are
  clusters, the applications boxes inside them, the connections arrows from client to server.
* ``builtin``: used when ``dot`` is not installed, fails or times out. Hosts are laid out on a grid (in
  file order, about as many columns as rows), the applications stacked inside their Host's box, and each
  connection is a curve from the client's box to the server's. Simpler than ``dot`` (crossings are not
  minimised) but always available and linear in the size of the estate.

Every link shows its mode (colour and line style: plain, encryption-only, simple, mutual) and whether lint
finds a problem on it (red, with the number of findings). Above :data:`DETAIL_LIMIT` applications (or
:data:`LINK_LIMIT` connections) the drawing is made at the Host level: one box per Host, one arrow per
(client Host, server Host, mode) with the number of connections and of connections with problems; every
application is still listed in the report's tables.
"""

from __future__ import annotations

import html
import math
import shutil
import subprocess
from collections.abc import Sequence

import attrs

from .estate import Estate

__all__ = ["DETAIL_LIMIT", "LINK_LIMIT", "MODES", "Drawing", "builtin_svg", "dot_source", "draw", "graph"]

#: Above this many applications the drawing is made per Host.
DETAIL_LIMIT = 150
#: Above this many connections the drawing is made per Host.
LINK_LIMIT = 600
#: Seconds ``dot`` may take before the built-in layout is used instead.
DOT_TIMEOUT = 30.0

#: mode -> (colour, dot style, SVG dash array, line width)
MODES: dict[str, tuple[str, str, str, float]] = {
    "plain": ("#7f8c8d", "dashed", "6 4", 1.2),
    "encryption-only": ("#d68910", "dashed", "2 3", 1.6),
    "simple": ("#2471a3", "solid", "", 1.6),
    "mutual": ("#1e8449", "bold", "", 2.8),
    "error": ("#7d3c98", "dotted", "1 3", 1.6),
    "unknown": ("#95a5a6", "dotted", "1 3", 1.2),
}
PROBLEM = "#c0392b"
_NO_HOST = "(no Host)"


@attrs.frozen
class GNode:
    id: str
    cluster: str
    lines: tuple[str, ...]
    tooltip: str
    missing: bool = False


@attrs.frozen
class GEdge:
    source: str
    target: str
    label: str
    mode: str
    problems: int
    tooltip: str


@attrs.frozen
class Graph:
    level: str  # "applications" or "hosts"
    clusters: tuple[str, ...]
    nodes: tuple[GNode, ...]
    edges: tuple[GEdge, ...]


@attrs.frozen
class Drawing:
    """An SVG drawing and how it was made.

    Attributes:
        svg: the ``<svg>`` element (no XML prolog), ready to inline.
        engine: ``dot`` or ``builtin``.
        level: ``applications`` or ``hosts``.
        note: why the built-in layout or the Host level was used (empty otherwise).
    """

    svg: str
    engine: str
    level: str
    note: str = ""


def _clean(text: str, limit: int = 200) -> str:
    out = "".join(ch if ch.isprintable() else "?" for ch in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def graph(estate: Estate, level: str | None = None) -> Graph:
    """The graph to draw: per application, or per Host above the limits (or when ``level`` says so)."""
    if level is None:
        level = "hosts" if len(estate.nodes) > DETAIL_LIMIT or len(estate.links) > LINK_LIMIT else "applications"
    hosts = list(dict.fromkeys([*estate.hosts, *(n.host for n in estate.nodes if n.host)]))
    if any(n.host is None for n in estate.nodes):
        hosts.append(_NO_HOST)
    if level == "hosts":
        return _host_graph(estate, hosts)
    ids = {n.name: f"a{i}" for i, n in enumerate(estate.nodes)}
    nodes = []
    for n in estate.nodes:
        ports = " ".join(f"{p.id}:{p.number if p.number is not None else '?'} {p.mode}" for p in n.ports)
        lines = [_clean(n.name, 60)] + ([_clean(n.type, 60)] if n.type else []) + ([_clean(ports, 80)] if ports else [])
        nodes.append(GNode(ids[n.name], n.host or _NO_HOST, tuple(lines), _clean(f"{n.name} ({n.type or 'no type'})")))
    missing: dict[str, str] = {}
    for link in estate.links:
        if link.server not in ids and link.server not in missing:
            missing[link.server] = f"m{len(missing)}"
            nodes.append(GNode(missing[link.server], _NO_HOST, (_clean(link.server, 60), "not defined"),
                               f"{link.server} is not defined", missing=True))
    every = {**ids, **missing}
    edges = [
        GEdge(
            every[link.client], every[link.server],
            f"{link.port_id} · {link.mode}" + (f" · ⚠ {link.findings}" if link.findings else ""),
            link.mode, link.findings,
            _clean(f"{link.object}: {link.mode}" + (f", {link.findings} lint finding(s)" if link.findings else "")
                   + (f"; {link.error}" if link.error else ""), 400),
        )
        for link in estate.links
        if link.client in every
    ]
    if missing and _NO_HOST not in hosts:
        hosts.append(_NO_HOST)
    return Graph("applications", tuple(hosts), tuple(nodes), tuple(edges))


def _host_graph(estate: Estate, hosts: list[str]) -> Graph:
    host_of = {n.name: n.host or _NO_HOST for n in estate.nodes}
    ids = {h: f"h{i}" for i, h in enumerate(hosts)}
    counts: dict[str, int] = {}
    for n in estate.nodes:
        counts[n.host or _NO_HOST] = counts.get(n.host or _NO_HOST, 0) + 1
    nodes = [GNode(ids[h], h, (_clean(h, 60), f"{counts.get(h, 0)} applications"), _clean(h)) for h in hosts]
    agg: dict[tuple[str, str, str], list[int]] = {}
    for link in estate.links:
        a, b = host_of.get(link.client, _NO_HOST), host_of.get(link.server, _NO_HOST)
        entry = agg.setdefault((a, b, link.mode), [0, 0])
        entry[0] += 1
        entry[1] += 1 if link.findings else 0
    edges = [
        GEdge(ids[a], ids[b], f"{n}× {mode}" + (f" · ⚠ {p}" if p else ""), mode, p,
              _clean(f"{a} -> {b}: {n} {mode} connection(s), {p} with lint findings"))
        for (a, b, mode), (n, p) in agg.items()
    ]
    return Graph("hosts", tuple(hosts), tuple(nodes), tuple(edges))


# --------------------------------------------------------------------------------------------- dot


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_source(g: Graph) -> str:
    """The Graphviz source of the graph (identifiers are generated; every text is quoted)."""
    out = [
        "digraph estate {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=10, nodesep=0.25, ranksep=1.0, bgcolor="white"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#fdfefe", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]
    members: dict[str, list[GNode]] = {c: [] for c in g.clusters}
    for n in g.nodes:
        members.setdefault(n.cluster, []).append(n)
    for index, (cluster, nodes) in enumerate(members.items()):
        if g.level == "applications":
            out.append(f"  subgraph cluster_{index} {{")
            label = _q("Host " + cluster if cluster != _NO_HOST else cluster)
            out.append(f'    label={label}; style="rounded,dashed"; color="#909497"; fontcolor="#515a5a";')
        for n in nodes:
            fill = ', fillcolor="#fdedec", color="#c0392b"' if n.missing else ""
            out.append(f"    {n.id} [label={_q(chr(10).join(n.lines))}, tooltip={_q(n.tooltip)}{fill}];")
        if g.level == "applications":
            out.append("  }")
    for e in g.edges:
        colour, style, _, width = MODES.get(e.mode, MODES["unknown"])
        font = PROBLEM if e.problems else colour
        colour = f"{colour}:{PROBLEM}" if e.problems else colour
        out.append(
            f"  {e.source} -> {e.target} [label={_q(e.label)}, tooltip={_q(e.tooltip)}, color={_q(colour)}, "
            f'style={style}, penwidth={width}, fontcolor="{font}"];'
        )
    out.append("}")
    return "\n".join(out) + "\n"


def _run_dot(source: str, binary: str, timeout: float) -> str:
    proc = subprocess.run(
        [binary, "-Tsvg"], input=source.encode("utf-8"), capture_output=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace").strip()[:300] or f"exit {proc.returncode}")
    text = proc.stdout.decode("utf-8", "replace")
    start = text.find("<svg")
    if start < 0:
        raise RuntimeError("dot wrote no <svg> element")
    return text[start:].strip()


def draw(
    estate: Estate, *, layout: str = "auto", dot: str | None = None, timeout: float = DOT_TIMEOUT,
    level: str | None = None,
) -> Drawing:
    """Draw the estate.

    Args:
        estate: what to draw.
        layout: ``auto`` (``dot`` when installed, else built-in), ``dot`` (fall back to built-in, with a note,
            only when ``dot`` fails) or ``builtin``.
        dot: the ``dot`` program (default: ``dot`` on PATH).
        timeout: seconds ``dot`` may take.
        level: ``applications`` or ``hosts`` (default: by the size of the estate).
    """
    g = graph(estate, level)
    note = ""
    if g.level == "hosts" and level is None:
        note = (f"{len(estate.nodes)} applications and {len(estate.links)} connections: drawn per Host (above "
                f"{DETAIL_LIMIT} applications or {LINK_LIMIT} connections); every application is in the tables")
    if layout != "builtin":
        binary = dot or shutil.which("dot")
        if binary is None:
            note = _join(note, "Graphviz dot is not installed: built-in layout")
        else:
            try:
                return Drawing(_run_dot(dot_source(g), binary, timeout), "dot", g.level, note)
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                reason = "timed out" if isinstance(exc, subprocess.TimeoutExpired) else str(exc)
                note = _join(note, f"Graphviz dot failed ({_clean(reason)}): built-in layout")
    return Drawing(builtin_svg(g), "builtin", g.level, note)


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


# --------------------------------------------------------------------------------------------- built-in

_BOX_W, _LINE_H, _PAD, _HEAD, _GAP_X, _GAP_Y = 280, 14, 8, 22, 170, 30
_CHARS = 46  # characters of a line that fit in a box
_BUNDLE = 13.0  # pixels between parallel connections of the same two boxes


def _ranks(g: Graph, members: dict[str, list[GNode]]) -> dict[str, int]:
    """A column per Host: servers to the right of their clients (longest path, cycles cut)."""
    cluster_of = {n.id: n.cluster for n in g.nodes}
    pairs = {(cluster_of[e.source], cluster_of[e.target]) for e in g.edges
             if e.source in cluster_of and e.target in cluster_of and cluster_of[e.source] != cluster_of[e.target]}
    rank = dict.fromkeys(members, 0)
    for _ in range(min(len(members), 50)):  # bounded: a cycle stops growing after this many rounds
        changed = False
        for a, b in pairs:
            if rank[b] < rank[a] + 1:
                rank[b] = rank[a] + 1
                changed = True
        if not changed:
            break
    return rank


def builtin_svg(g: Graph) -> str:
    """The built-in layout: Host boxes in columns (servers right of their clients), applications stacked
    inside, curves for connections."""
    e = html.escape
    members: dict[str, list[GNode]] = {c: [] for c in g.clusters}
    for n in g.nodes:
        members.setdefault(n.cluster, []).append(n)
    members = {c: ns for c, ns in members.items() if ns}
    rank = _ranks(g, members)
    columns: dict[int, list[str]] = {}
    for c in members:
        columns.setdefault(rank[c], []).append(c)
    if len(columns) == 1 and len(members) > 3:  # no direction to follow: a square grid instead
        names = list(members)
        per = max(1, math.ceil(math.sqrt(len(names))))
        columns = {i: names[i * per:(i + 1) * per] for i in range(math.ceil(len(names) / per))}
    heights = {c: _HEAD + sum(_node_h(n) + _PAD for n in members[c]) + _PAD for c in members}
    pos: dict[str, tuple[float, float, float]] = {}  # node id -> x, y, height
    parts: list[str] = []
    width = 20.0
    height = 20.0
    for index, col in enumerate(sorted(columns)):
        x = 20.0 + index * (_BOX_W + 2 * _PAD + _GAP_X)
        y = 20.0
        for c in columns[col]:
            h = heights[c]
            host_label = "Host " + c if c != _NO_HOST and g.level == "applications" else c
            parts.append(f'<g class="host"><rect x="{x}" y="{y}" width="{_BOX_W + 2 * _PAD}" height="{h}" rx="8" '
                         f'fill="#f4f6f6" stroke="#909497" stroke-dasharray="4 3"/>'
                         f'<text x="{x + _PAD}" y="{y + 15}" class="hl">{e(host_label[:_CHARS])}</text></g>')
            ny = y + _HEAD
            for n in members[c]:
                nh = _node_h(n)
                stroke = PROBLEM if n.missing else "#566573"
                parts.append(f'<g class="node"><title>{e(n.tooltip)}</title><rect x="{x + _PAD}" y="{ny}" '
                             f'width="{_BOX_W}" height="{nh}" rx="5" fill="#ffffff" stroke="{stroke}"/>')
                for i, line in enumerate(n.lines):
                    cls = "nl" if i == 0 else "ns"
                    text = line if len(line) <= _CHARS else line[: _CHARS - 1] + "…"
                    parts.append(f'<text x="{x + 2 * _PAD}" y="{ny + 14 + i * _LINE_H}" class="{cls}">'
                                 f"{e(text)}</text>")
                parts.append("</g>")
                pos[n.id] = (x + _PAD, ny, nh)
                ny += nh + _PAD
            y += h + _GAP_Y
        width = x + _BOX_W + 2 * _PAD + 120
        height = max(height, y)
    edges: list[str] = []
    total: dict[tuple[str, str], int] = {}
    for ed in g.edges:
        total[(ed.source, ed.target)] = total.get((ed.source, ed.target), 0) + 1
    seen: dict[tuple[str, str], int] = {}
    for index, ed in enumerate(g.edges):
        if ed.source not in pos or ed.target not in pos:
            continue
        nth = seen.get((ed.source, ed.target), 0)
        seen[(ed.source, ed.target)] = nth + 1
        # several connections between the same two boxes: a bundle of parallel curves, centred
        shift = (nth - (total[(ed.source, ed.target)] - 1) / 2) * _BUNDLE
        edges.append(_edge_svg(ed, pos[ed.source], pos[ed.target], index, shift))
    markers = "".join(
        f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for name, (colour, _, _, _) in [*MODES.items(), ("problem", (PROBLEM, "", "", 0.0))]
    )
    style = ('<style>.hl{font:bold 11px sans-serif;fill:#515a5a}.nl{font:bold 11px sans-serif;fill:#1c2833}'
             '.ns{font:10px sans-serif;fill:#566573}.el{font:9px sans-serif}</style>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" class="builtin">{style}<defs>{markers}</defs>'
            + "".join(parts) + "".join(edges) + "</svg>")


def _node_h(n: GNode) -> float:
    return max(6 + _LINE_H * len(n.lines) + 4, 46.0)


def _edge_svg(
    ed: GEdge, a: tuple[float, float, float], b: tuple[float, float, float], index: int, shift: float
) -> str:
    e = html.escape
    colour, _, dash, width = MODES.get(ed.mode, MODES["unknown"])
    ax, ay = a[0] + _BOX_W, a[1] + a[2] / 2 + shift
    bx, by = b[0], b[1] + b[2] / 2 + shift
    if ed.source == ed.target:
        bx, by = b[0] + _BOX_W, b[1] + b[2] / 2 + 6
        c1, c2 = (ax + 60, ay - 30), (bx + 60, by + 30)
    elif bx <= ax:  # the server is left of (or below) the client: loop round the right side
        bx = b[0] + _BOX_W
        bend = max(ax, bx) + 50 + (index % 5) * 8
        c1, c2 = (bend, ay), (bend, by)
    else:
        mid = (ax + bx) / 2
        c1, c2 = (mid, ay), (mid, by)
    stroke = PROBLEM if ed.problems else colour
    marker = "problem" if ed.problems else (ed.mode if ed.mode in MODES else "unknown")
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    lx, ly = (ax + 3 * c1[0] + 3 * c2[0] + bx) / 8, (ay + 3 * c1[1] + 3 * c2[1] + by) / 8
    return (
        f'<g class="edge mode-{e(ed.mode)}"><title>{e(ed.tooltip)}</title>'
        f'<path d="M{ax:.1f},{ay:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {bx:.1f},{by:.1f}" '
        f'fill="none" stroke="{stroke}" stroke-width="{width}"{dash_attr} marker-end="url(#arrow-{marker})"/>'
        f'<text x="{lx:.1f}" y="{ly - 3:.1f}" class="el" text-anchor="middle" fill="{stroke}">{e(ed.label)}</text></g>'
    )


def legend_items() -> Sequence[tuple[str, str, str, float]]:
    """``(mode, colour, dash, width)`` for the legend."""
    return [(m, c, d, w) for m, (c, _, d, w) in MODES.items()]
