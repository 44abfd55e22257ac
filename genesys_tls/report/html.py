"""The HTML page of the report: one self-contained file (inline CSS, SVG and script; no network fetch).

The page carries a Content-Security-Policy that forbids every fetch (``default-src 'none'``), so a browser
would refuse, and report, anything that tried to load from elsewhere.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

from .drawing import MODES, PROBLEM, Drawing
from .estate import Estate, TimelineItem

__all__ = ["render_page", "timeline_svg"]

_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'")

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1c2833;background:#fbfcfc}
header{background:#1b4f72;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85}
main{padding:8px 24px 40px}section{margin:22px 0}h2{font-size:17px;border-bottom:1px solid #d5d8dc;padding-bottom:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #d5d8dc;border-radius:6px;
padding:8px 14px;min-width:110px}.card b{display:block;font-size:20px}
.errors{background:#fdedec;border:1px solid #c0392b;border-radius:6px;padding:8px 16px}
.errors li{font-family:ui-monospace,monospace;font-size:12.5px;white-space:pre-wrap}
.note{color:#7e5109;background:#fef5e7;border:1px solid #f5cba7;border-radius:4px;padding:4px 10px;display:inline-block}
.drawing{overflow:auto;border:1px solid #d5d8dc;background:#fff;max-height:80vh;border-radius:6px}
.legend span{display:inline-flex;align-items:center;margin-right:16px;font-size:12.5px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:12.5px}
th,td{border:1px solid #e5e8e8;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f2f3f4}
.sev-error{color:#c0392b;font-weight:bold}.sev-warning{color:#b9770e;font-weight:bold}.sev-info{color:#566573}
details{margin:4px 0;background:#fff;border:1px solid #e5e8e8;border-radius:4px;padding:2px 8px}
summary{cursor:pointer;font-weight:600}.mode{font-weight:600}
input[type=search]{padding:4px 8px;width:320px;margin:6px 0}.hidden{display:none}
.timeline{overflow:auto;border:1px solid #d5d8dc;background:#fff;border-radius:6px}
"""

_SCRIPT = """
(function () {
  var box = document.getElementById('filter');
  if (!box) { return; }
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase();
    var rows = document.querySelectorAll('[data-filter]');
    for (var i = 0; i < rows.length; i++) {
      var hit = rows[i].getAttribute('data-filter').toLowerCase().indexOf(q) >= 0;
      rows[i].classList.toggle('hidden', !hit);
    }
  });
  document.documentElement.setAttribute('data-ready', 'yes');
})();
"""


#: Findings of the first this-many objects are shown unfolded; the others fold (the page stays readable).
_OPEN_GROUPS = 40


def _e(text: object) -> str:
    """Escaped text, control characters shown as ``\\xNN``."""
    raw = "".join(ch if ch.isprintable() or ch in "\n" else ch.encode("unicode_escape").decode("ascii")
                  for ch in str(text))
    return html.escape(raw)


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d") if moment is not None else "-"


def _status(item: TimelineItem, now: dt.datetime, days: int) -> tuple[str, str]:
    if item.problem:
        return "unreadable", "#7d3c98"
    if item.start is not None and item.start > now:
        return "not yet valid", "#7f8c8d"
    if item.end is None:
        return "no end date", "#7d3c98"
    if item.end <= now:
        return "expired", "#c0392b"
    if item.end - now <= dt.timedelta(days=days):
        return f"expires in {(item.end - now).days} days", "#d68910"
    return "valid", "#1e8449"


def timeline_svg(items: Sequence[TimelineItem], now: dt.datetime, days: int) -> str:
    """The expiry timeline: one bar per certificate or CRL, a line at ``now``, soonest end first."""
    dated = [i for i in items if i.start is not None]
    if not items:
        return "<p>No certificate, CA or CRL file is named by the environment.</p>"
    lo = min([now - dt.timedelta(days=60), *(i.start for i in dated if i.start is not None)])
    hi = max([now + dt.timedelta(days=120), *(i.end for i in dated if i.end is not None)])
    lo = max(lo, now - dt.timedelta(days=730))
    hi = min(hi, now + dt.timedelta(days=1826))
    span = (hi - lo).total_seconds() or 1.0
    left, width, row = 430, 620, 20
    order = sorted(items, key=lambda i: (i.end is None, i.end or now, i.path))
    height = 40 + row * len(order)

    def x(moment: dt.datetime) -> float:
        seconds = (min(max(moment, lo), hi) - lo).total_seconds()
        return left + width * seconds / span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 190}" height="{height}" '
             f'class="timeline-svg" font-family="sans-serif" font-size="11">']
    year = lo.year
    while True:
        tick = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        if tick > hi:
            break
        if tick >= lo:
            parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="14" y2="{height - 4}" stroke="#e5e8e8"/>'
                         f'<text x="{x(tick) + 2:.1f}" y="12" fill="#808b96">{year}</text>')
        year += 1
    for index, item in enumerate(order):
        y = 26 + index * row
        status, colour = _status(item, now, days)
        label = f"{item.kind} {item.subject or Path(item.path).name}"
        title = f"{item.kind} {item.subject} in {item.path}: {_when(item.start)} to {_when(item.end)} ({status})"
        if item.used_by:
            title += "; named by " + ", ".join(item.used_by[:20]) + (" ..." if len(item.used_by) > 20 else "")
        if item.problem:
            title += f"; {item.problem}"
        parts.append(f'<g class="item"><title>{_e(title)}</title>'
                     f'<text x="4" y="{y + 10}" fill="#1c2833">{_e(label[:64])}</text>')
        if item.start is not None:
            end = item.end or hi
            x0, x1 = x(item.start), x(end)
            parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 2):.1f}" height="12" rx="3" '
                         f'fill="{colour}" opacity="0.8"/>')
        parts.append(f'<text x="{left + width + 8}" y="{y + 10}" fill="{colour}">{_e(_when(item.end))} '
                     f"{_e(status)}</text></g>")
    parts.append(f'<line x1="{x(now):.1f}" x2="{x(now):.1f}" y1="14" y2="{height - 2}" stroke="#1b4f72" '
                 f'stroke-width="2"/><text x="{x(now) + 3:.1f}" y="{height - 4}" fill="#1b4f72">now</text></svg>')
    return "".join(parts)


def _legend() -> str:
    out = []
    for mode, (colour, _, dash, width) in MODES.items():
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<span><svg xmlns="http://www.w3.org/2000/svg" width="42" height="10"><line x1="2" y1="5" '
                   f'x2="40" y2="5" stroke="{colour}" stroke-width="{width}"{dash_attr}/></svg>&nbsp;{_e(mode)}</span>')
    out.append(f'<span><svg xmlns="http://www.w3.org/2000/svg" width="42" height="10"><line x1="2" y1="5" x2="40" '
               f'y2="5" stroke="{PROBLEM}" stroke-width="2"/></svg>&nbsp;lint finds a problem (⚠ N findings)</span>')
    return '<div class="legend">' + "".join(out) + "</div>"


def render_page(estate: Estate, drawing: Drawing, *, title: str | None = None) -> str:
    """The whole HTML document."""
    s = estate.summary()
    modes: dict[str, int] = {}
    for link in estate.links:
        modes[link.mode] = modes.get(link.mode, 0) + 1
    ports = sum(len(n.ports) for n in estate.nodes)
    heading = title or f"Genesys TLS estate: {estate.source}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(heading)}</h1><p>generated {_e(estate.now.strftime('%Y-%m-%d %H:%M UTC'))} by "
        "genesys-tls report</p></header><main>",
        '<section id="summary"><div class="cards">',
        f"<div class=card><b>{len(estate.hosts)}</b>Hosts</div>",
        f"<div class=card><b>{len(estate.nodes)}</b>applications</div>",
        f"<div class=card><b>{ports}</b>ports</div>",
        f"<div class=card><b>{len(estate.links)}</b>connections</div>",
        *(f"<div class=card><b>{n}</b>{_e(m)}</div>" for m, n in modes.items()),
        f'<div class=card><b class="sev-error">{s["error"]}</b>errors</div>',
        f'<div class=card><b class="sev-warning">{s["warning"]}</b>warnings</div>',
        f"<div class=card><b>{s['info']}</b>info</div>",
        "</div></section>",
    ]
    if estate.load_errors:
        out.append('<section id="load-errors" class="errors"><h2>The environment does not load</h2><ul>')
        out.extend(f"<li>{_e(err)}</li>" for err in estate.load_errors)
        out.append("</ul><p>What could be read of the file is drawn below; modes and findings need a file that "
                   "loads.</p></section>")
    out.append('<section id="estate"><h2>Estate</h2>')
    if drawing.note:
        out.append(f'<p class="note">{_e(drawing.note)}</p>')
    out.append(_legend())
    out.append(f'<div class="drawing" data-engine="{_e(drawing.engine)}" data-level="{_e(drawing.level)}">'
               f"{drawing.svg}</div></section>")
    out.append('<section id="findings"><h2>Findings by object</h2>')
    groups = estate.by_object()
    if not groups:
        out.append("<p>No finding.</p>" if estate.loaded else "<p>No lint: the environment does not load.</p>")
    for number, (obj, findings) in enumerate(groups.items()):
        worst = max(findings, key=lambda f: f.severity.rank).severity.value
        opened = " open" if number < _OPEN_GROUPS else ""
        out.append(f'<details{opened} data-filter="{_e(obj)}"><summary><span class="sev-{worst}">{_e(obj)}</span> '
                   f"({len(findings)})</summary><table><tr><th>severity</th><th>code</th><th>level</th>"
                   "<th>option</th><th>message</th><th>fix</th></tr>")
        out.extend(
            f'<tr><td class="sev-{f.severity.value}">{_e(f.severity.value)}</td><td>{_e(f.code)}</td>'
            f"<td>{_e(f.level or '')}</td><td>{_e(f.option or '')}</td><td>{_e(f.message)}</td>"
            f"<td>{_e(f.hint)}</td></tr>"
            for f in findings
        )
        out.append("</table></details>")
    out.append("</section>")
    out.append('<section id="timeline"><h2>Certificates and CRLs by expiry</h2><div class="timeline">'
               f"{timeline_svg(estate.items, estate.now, estate.expiry_days)}</div></section>")
    out.append('<section id="applications"><h2>Applications</h2>'
               '<input type="search" id="filter" placeholder="filter applications and findings">'
               "<table><tr><th>application</th><th>type</th><th>Host</th><th>ports</th><th>connections</th></tr>")
    links_of: dict[str, list[str]] = {}
    for link in estate.links:
        mark = f" ⚠ {link.findings}" if link.findings else ""
        links_of.setdefault(link.client, []).append(
            f'{_e(link.server)}/{_e(link.port_id)} <span class="mode">{_e(link.mode)}</span>{_e(mark)}'
        )
    for n in estate.nodes:
        ports_text = ", ".join(f"{_e(p.id)}:{_e(p.number if p.number is not None else '?')} {_e(p.mode)}"
                               for p in n.ports)
        out.append(f'<tr data-filter="{_e(n.name)} {_e(n.host or "")} {_e(n.type)}"><td>{_e(n.name)}</td>'
                   f"<td>{_e(n.type)}</td><td>{_e(n.host or '-')}</td><td>{ports_text}</td>"
                   f"<td>{'<br>'.join(links_of.get(n.name, []))}</td></tr>")
    out.append("</table></section></main>")
    out.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"
