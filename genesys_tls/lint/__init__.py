"""``genesys-tls lint``: whole-environment validation.

    >>> import genesys_tls as gt
    >>> from genesys_tls.lint import lint
    >>> report = lint(gt.loads("hosts: {h: {}}\\napplications: {S: {host: h, ports: {p: {transport: 'TLS=1'}}}}"))
    >>> [(f.code, f.object) for f in report.findings]
    [('GT102', 'S/p')]
    >>> report.summary()
    {'error': 1, 'warning': 0, 'info': 0}

Rules live in :mod:`genesys_tls.lint.rules` and :mod:`genesys_tls.lint.names_rules`
(:data:`~genesys_tls.lint.rules.RULES`, documented in ``docs/lint.md``), the run in
:mod:`genesys_tls.lint.engine` over the state of :mod:`genesys_tls.lint.context`, the checks by scope in
:mod:`~genesys_tls.lint.layers`, :mod:`~genesys_tls.lint.files`, :mod:`~genesys_tls.lint.ports`,
:mod:`~genesys_tls.lint.links` and :mod:`~genesys_tls.lint.stores`, rule selection and suppressions in
:mod:`genesys_tls.lint.suppressions` (``docs/lint-ci.md``), the output formats (text, JSON, SARIF 2.1.0) in
:mod:`genesys_tls.lint.reporters`.
"""

from __future__ import annotations

from .engine import Report, lint
from .rules import RULES, Finding, Rule, Severity

__all__ = ["RULES", "Finding", "Report", "Rule", "Severity", "lint"]
