"""`factlab inbox`: see who delivered for a period, run the inbox flow, or fill a demo inbox."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.environment import PROJECT_ROOT, configure_prefect

EXIT_OK, EXIT_INCOMPLETE, EXIT_FAULT = 0, 1, 2

_inbox_option = click.option(
    "--inbox",
    "inbox",
    type=click.Path(path_type=Path),
    default=Path("inbox"),
    show_default=True,
    help="Map met per periode een submap (zie docs/prefect.md).",
)
_period_option = click.option(
    "--periode", default="vorig-halfjaar", show_default=True, help="2026H1, 2026Q1, 2026 of vorig-halfjaar."
)


def _fail(message: str, code: int = EXIT_FAULT) -> None:
    click.echo(f"fout: {message}", err=True)
    sys.exit(code)


@click.group("inbox")
def inbox() -> None:
    """Inbox per periode: wie heeft geleverd, en de stapelingsmonitor zodra iedereen er is."""


@inbox.command("status")
@_inbox_option
@_period_option
def status(inbox: Path, periode: str) -> None:
    """Toon wie er voor een periode geleverd heeft: 0 compleet, 1 iemand ontbreekt, 2 fout."""
    from pipelines.inbox import InboxError, inbox_status, resolve_period
    from schemas.periods import PeriodError

    try:
        result = inbox_status(inbox, resolve_period(periode))
    except (InboxError, PeriodError) as exc:
        _fail(str(exc))
    click.echo(result.summary_nl())
    for name in result.expected:
        click.echo(f"  {'ontbreekt' if name in result.missing else 'geleverd '}  {name}")
    sys.exit(EXIT_OK if result.complete else EXIT_INCOMPLETE)


@inbox.command("run")
@_inbox_option
@_period_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("uitvoer"),
    show_default=True,
    help="Basismap; de uitvoer komt in OUT/<periode>/.",
)
@click.option("--ook-onvolledig", is_flag=True, default=False, help="Ook rekenen als een partner ontbreekt.")
@click.option("--geen-pdf", is_flag=True, default=False)
def run(inbox: Path, periode: str, out: Path, ook_onvolledig: bool, geen_pdf: bool) -> None:
    """Draai de stapelingsmonitor op de inbox van een periode (dezelfde flow als de deployment)."""
    configure_prefect()
    from disclosure.rules import RulesError
    from linkage.linking import LinkageError
    from pipelines.inbox import InboxError, InboxIncomplete
    from pipelines.inbox_flow import inbox_stapelingsmonitor
    from reports.figures import ReportInputError
    from schemas.areas import AreasFileError
    from schemas.formats import PseudonymisedFileError
    from schemas.periods import PeriodError

    try:
        result = inbox_stapelingsmonitor(
            inbox=str(inbox),
            periode=periode,
            out=str(out),
            alleen_als_compleet=not ook_onvolledig,
            pdf=not geen_pdf,
        )
    except InboxIncomplete as exc:
        _fail(str(exc), EXIT_INCOMPLETE)
    except (InboxError, LinkageError, PseudonymisedFileError, PeriodError, RulesError, AreasFileError,
            ReportInputError) as exc:
        _fail(str(exc))
    click.echo(f"rapport: {Path(result) / 'rapport.html'}")


@inbox.command("demo")
@_inbox_option
@click.option(
    "--sample", type=click.Path(path_type=Path), default=PROJECT_ROOT / "data" / "sample", show_default=True
)
@click.option("--periode", default=None, help="Standaard de periode van de voorbeeldgemeente.")
def demo(inbox: Path, sample: Path, periode: str | None) -> None:
    """Vul een inbox met de voorbeeldgemeente, gepseudonimiseerd met een wegwerpsleutel."""
    from pipelines.inbox import InboxError, fill_demo_inbox

    try:
        result = fill_demo_inbox(sample, inbox, periode)
    except InboxError as exc:
        _fail(str(exc))
    click.echo(f"inbox {result.folder}: {len(result.delivered)} partners geleverd ({result.summary_nl()})")
