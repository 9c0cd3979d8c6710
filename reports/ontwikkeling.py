"""The parts of the report that look over periods (docs/contract.md §10): series, norms and status.

`time_context` adds them to the report's template context; it reads the ReportData fields `series`,
`norms` and `manifest` only, so the rest of the report does not change when they are absent.
"""

from __future__ import annotations

from typing import Any

from reports.figures import municipality
from reports.normen import norm_rows
from reports.reeks import series_context
from reports.summary import norm_sentences

STATUS_LABELS = {"voorlopig": "voorlopige cijfers", "definitief": "definitieve cijfers"}


def period_code(manifest: dict[str, Any]) -> str:
    """The period label of a manifest (2026H1); '' without one."""
    periode = manifest.get("periode")
    return str(periode.get("label") or "") if isinstance(periode, dict) else str(periode or "")


def _baseline(data) -> tuple[str, Any]:
    """The nulmeting: the oldest usable period of the series, else --vorige, else the current period."""
    if data.series:
        from reports.reeks import incompatibility

        for member in data.series:
            if incompatibility(member, data.samenloop, data.manifest) is None:
                return member.label, member.samenloop
    if data.previous is not None:
        return period_code(data.previous_manifest) or "vorige", data.previous
    return period_code(data.manifest), data.samenloop


def time_context(data, figure_div) -> dict[str, Any]:
    """ontwikkeling, normen (with the nulmeting's period), normzinnen and status for the template."""
    label = period_code(data.manifest)
    context: dict[str, Any] = {
        "ontwikkeling": series_context(data.series, label, data.samenloop, data.manifest, figure_div),
        "normen": None,
        "status": STATUS_LABELS.get(str(data.manifest.get("status") or ""), ""),
    }
    if data.norms:
        baseline_label, baseline = _baseline(data)
        rows = norm_rows(data.norms, baseline, data.samenloop)
        context["normen"] = {
            "rijen": rows,
            "nulmeting": baseline_label,
            "nu": label,
            "gemeente": municipality(data.samenloop).naam,
        }
        context["normzinnen"] = norm_sentences(rows)
    return context
