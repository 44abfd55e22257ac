"""Evaluate a PAC file for a table of URLs in a real JavaScript engine (``node``, its ``vm`` sandbox).

The PAC file runs in a fresh ``vm`` context holding only the standard PAC helpers (``isPlainHostName``,
``dnsDomainIs``, ``localHostOrDomainIs``, ``isResolvable``, ``isInNet``, ``dnsResolve``, ``myIpAddress``,
``dnsDomainLevels``, ``shExpMatch``, ``convert_addr``), with a time limit for loading and for each call.
Name lookups (``dnsResolve``, ``isResolvable``, ``isInNet`` on a name) use the given map only, never DNS: a
name outside the map does not resolve. The date and time helpers (``weekdayRange``, ``dateRange``,
``timeRange``) are not provided; a PAC file that calls them gets an error for that URL.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Mapping, Sequence

import attrs

from ..errors import ConfigurationError

__all__ = ["PacResult", "evaluate_pac", "node_path"]

_HARNESS = r"""
'use strict';
const vm = require('vm');
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const map = req.resolve || {};
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
  function resolve(host) {
    if (ipv4.test(host)) return host;
    const key = String(host).toLowerCase();
    return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : null;
  }
  function convert_addr(ip) {
    const p = String(ip).split('.');
    return (((+p[0]) << 24) | ((+p[1]) << 16) | ((+p[2]) << 8) | (+p[3])) >>> 0;
  }
  const helpers = {
    isPlainHostName: (h) => String(h).indexOf('.') < 0,
    dnsDomainIs: (h, d) => {
      h = String(h); d = String(d);
      return h.length >= d.length && h.slice(h.length - d.length) === d;
    },
    localHostOrDomainIs: (h, hd) => {
      h = String(h); hd = String(hd);
      return h === hd || (h.indexOf('.') < 0 && hd.indexOf(h + '.') === 0);
    },
    isResolvable: (h) => resolve(h) !== null,
    dnsResolve: (h) => resolve(h),
    myIpAddress: () => '127.0.0.1',
    dnsDomainLevels: (h) => String(h).split('.').length - 1,
    convert_addr: convert_addr,
    isInNet: (h, pat, mask) => {
      const ip = resolve(h);
      if (ip === null || !ipv4.test(ip)) return false;
      const m = convert_addr(mask);
      return (convert_addr(ip) & m) === (convert_addr(pat) & m);
    },
    shExpMatch: (s, pat) => {
      const re = '^' + String(pat).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$';
      return new RegExp(re).test(String(s));
    },
  };
  const out = { load_error: null, results: [] };
  const sandbox = vm.createContext(Object.assign(Object.create(null), helpers));
  try {
    vm.runInContext(req.pac, sandbox, { timeout: req.timeout_ms, filename: 'proxy.pac' });
    if (typeof sandbox.FindProxyForURL !== 'function') {
      throw new Error('the PAC file defines no FindProxyForURL function');
    }
  } catch (e) {
    out.load_error = String(e && e.message || e);
  }
  if (!out.load_error) {
    sandbox.__calls = req.calls;
    for (let i = 0; i < req.calls.length; i++) {
      try {
        const call = 'FindProxyForURL(__calls[' + i + '][0], __calls[' + i + '][1])';
        const r = vm.runInContext(call, sandbox, { timeout: req.timeout_ms });
        out.results.push({ result: r === undefined || r === null ? null : String(r), error: null });
      } catch (e) {
        out.results.push({ result: null, error: String(e && e.message || e) });
      }
    }
  }
  process.stdout.write(JSON.stringify(out));
});
"""


@attrs.frozen
class PacResult:
    """What a PAC file said for one URL.

    Attributes:
        url: the URL.
        host: the host passed to ``FindProxyForURL``.
        result: the returned string (``"PROXY host:port"``, ``"DIRECT"``...), ``None`` on error.
        error: the JavaScript error, when the call failed.
    """

    url: str
    host: str
    result: str | None
    error: str | None = None

    @property
    def first(self) -> str | None:
        """The first directive, normalised (``PROXY host:port`` or ``DIRECT``)."""
        if self.result is None:
            return None
        head = self.result.split(";", 1)[0].strip()
        return " ".join(head.split())


def node_path() -> str | None:
    """The ``node`` binary, ``None`` when not installed."""
    return shutil.which("node") or shutil.which("nodejs")


def evaluate_pac(
    pac: str,
    urls: Sequence[str],
    *,
    resolve: Mapping[str, str] | None = None,
    timeout: float = 5.0,
    file: str | None = None,
) -> tuple[PacResult, ...]:
    """Run ``FindProxyForURL(url, host)`` of ``pac`` for every URL.

    Args:
        pac: the PAC file's text.
        urls: absolute URLs (``https://best-customer.genesyscloud.com/``).
        resolve: host -> IPv4 address, what ``dnsResolve`` answers (nothing else resolves).
        timeout: seconds for loading the file and for each call (the whole run is bounded too).
        file: the PAC file's name, for messages.

    Raises:
        ConfigurationError: ``node`` is missing, a URL has no host, the file does not load (syntax error, no
            ``FindProxyForURL``) or the run exceeds its time.
    """
    binary = node_path()
    if binary is None:
        raise ConfigurationError("node (a JavaScript engine) is needed to evaluate PAC files and is not installed",
                                 file=file, valid="node on PATH")
    calls = []
    for url in urls:
        host = urllib.parse.urlsplit(url).hostname
        if not host:
            raise ConfigurationError("a URL to check needs a host", file=file, option="url", value=url,
                                     valid="an absolute URL, https://host/path")
        calls.append((url, host))
    request = {
        "pac": pac,
        "calls": calls,
        "resolve": {k.lower(): v for k, v in (resolve or {}).items()},
        "timeout_ms": max(1, int(timeout * 1000)),
    }
    total = timeout * (len(calls) + 2) + 5
    try:
        done = subprocess.run(
            [binary, "--max-old-space-size=128", "-e", _HARNESS],
            input=json.dumps(request), capture_output=True, text=True, timeout=total, check=False,
            env={"PATH": "/usr/bin:/bin", "NODE_OPTIONS": ""},
        )
    except subprocess.TimeoutExpired:
        raise ConfigurationError(f"the PAC evaluation did not finish within {total:g} s", file=file) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigurationError(f"node failed to evaluate the PAC file: {last[:200]}", file=file)
    answer = json.loads(done.stdout)
    if answer["load_error"]:
        raise ConfigurationError(f"the PAC file does not load: {answer['load_error'][:200]}", file=file)
    return tuple(
        PacResult(url, host, r["result"], r["error"]) for (url, host), r in zip(calls, answer["results"], strict=True)
    )
