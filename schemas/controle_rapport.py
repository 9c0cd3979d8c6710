"""What a partner reads after a check: the summary per rule, the full list (CSV) and a readable page (HTML).

Both files hold values from the partner's own extract and stay with the partner; the page says so.
The CSV is written by `schemas.rejects.RejectsWriter` (the one writer of rejected rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.atomic import atomic_path
from schemas.clock import now_local
from schemas.messages import RowError, fix

EXAMPLES_SHOWN = 3
HTML_ROWS = 5_000
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class RuleSummary:
    code: str
    count: int
    fix: str
    examples: list[RowError]


def rule_summaries(result: Any) -> list[RuleSummary]:
    """Per rule, most frequent first: count, the general fix and the first examples."""
    return [
        RuleSummary(code, count, fix(code), [e for e in result.examples if e.code == code][:EXAMPLES_SHOWN])
        # Duplicates last: they need no action.
        for code, count in sorted(result.errors_by_rule.items(),
                                  key=lambda item: (item[0] == "dubbele_regel", -item[1], item[0]))
    ]


def _where(error: RowError, with_file: bool) -> str:
    place = f"{error.bestand} " if with_file and error.bestand else ""
    value = f", waarde '{error.waarde}'" if error.waarde else ""
    return f"{place}regel {error.regel}, kolom {error.kolom}{value}"


def version_lines(result: Any) -> list[str]:
    """What the 301 reader set aside as earlier or withdrawn versions (no errors; docs/istandaarden.md)."""
    lines = []
    if getattr(result, "superseded", 0):
        lines.append(f"  {result.superseded} ToegewezenProduct(en) vervangen door een latere versie van "
                     "dezelfde toewijzing (zelfde ToewijzingNummer, later bericht); alleen de laatste "
                     "versie telt, dit is geen fout")
    if getattr(result, "withdrawn", 0):
        lines.append(f"  {result.withdrawn} ToegewezenProduct(en) vervallen: de toewijzing is verwijderd "
                     "(RedenWijziging 13) en telt als niet verzonden; dit is geen fout")
    return lines


def summary_lines(name: str, result: Any) -> list[str]:
    """The summary printed by `factlab validate` and `factlab pseudonymise` (Dutch)."""
    lines = [f"{name}: {result.rows_read} rijen gelezen, {result.rows_rejected} afgekeurd, "
             f"{result.rows_duplicate} dubbel (tellen één keer)"]
    if result.messages:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(result.messages.items()))
        lines.append(f"  301-berichten gelezen: {kinds}")
    lines.extend(version_lines(result))
    if result.ignored_files:
        lines.append(f"  overgeslagen bestanden (geen .xml): {', '.join(result.ignored_files[:10])}"
                     + (" …" if len(result.ignored_files) > 10 else ""))
    if result.ignored_columns:
        lines.append(f"  genegeerde kolommen (worden nooit overgenomen): {', '.join(result.ignored_columns)}")
    for rule in rule_summaries(result):
        lines.append(f"  {rule.code}: {rule.count} × — {rule.fix}")
        for e in rule.examples:
            lines.append(f"      {_where(e, result.folder)}: {e.melding}")
    return lines


def report_paths(source: Path, rapport_dir: Path | None) -> tuple[Path, Path]:
    """Where the full list and the page go: beside the file (or folder), or into `rapport_dir`."""
    base = source.name if source.is_dir() else source.stem
    folder = rapport_dir if rapport_dir is not None else source.resolve().parent
    return folder / f"{base}.controle.csv", folder / f"{base}.controle.html"


def write_html_report(html_path: Path, csv_path: Path, source_name: str, result: Any) -> None:
    """A self-contained Dutch page: the counts, per rule what to do, and the first rejected rows.

    `result.listed` holds the first errors in the order of the full list in `csv_path`.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(loader=FileSystemLoader(TEMPLATE_DIR),
                              autoescape=select_autoescape(default=True), trim_blocks=True,
                              lstrip_blocks=True)
    rows = result.listed[:HTML_ROWS]
    rest = sum(result.errors_by_rule.values()) - len(rows)
    page = environment.get_template("controle.html.j2").render(
        bestand=source_name,
        lijst=csv_path.name,
        gecontroleerd=now_local().strftime("%d-%m-%Y %H:%M"),
        result=result,
        goed=result.rows_read - result.rows_rejected,
        regels=rule_summaries(result),
        rijen=rows,
        meer=rest,
        met_bestand=result.folder,
    )
    with atomic_path(html_path) as tmp:
        tmp.write_text(page, encoding="utf-8")
