"""The `factlab` command (docs/contract.md §6). Messages are Dutch; row values are printed only by the
partner-side commands that read the partner's own file (validate, pseudonymise)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from pipelines.cli.ttp import ttp
from pipelines.environment import PROJECT_ROOT, configure_prefect

EXIT_OK, EXIT_ROWS_INVALID, EXIT_FILE_FAULT = 0, 1, 2
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"


def _fail(message: str, code: int = EXIT_FILE_FAULT) -> None:
    click.echo(f"fout: {message}", err=True)
    sys.exit(code)


def _summary(source: Path, result) -> None:
    from schemas.controle_rapport import summary_lines

    for line in summary_lines(source.name, result):
        click.echo(line)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Factlab: de privacyvriendelijke stapelingsmonitor."""


@main.group()
def key() -> None:
    """Sleutelbeheer (alleen voor de sleutelbeheerder)."""


@key.command("new")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Nieuw sleutelbestand.")
def key_new(out: Path) -> None:
    """Maak een nieuwe geheime sleutel (bestand met rechten 0600)."""
    from linkage.keys import KeyFileError, new_key, write_key

    created = new_key()
    try:
        write_key(created, out)
    except KeyFileError as exc:
        _fail(str(exc))
    click.echo(
        f"sleutel {created.key_id} geschreven naar {out} (rechten 0600). Bewaar hem gescheiden van de data."
    )
    click.echo("Gebruik deze sleutel voor één rapportageperiode en vernietig hem daarna (docs/privacy.md).")


@key.command("info")
@click.argument("keyfile", type=click.Path(path_type=Path))
def key_info(keyfile: Path) -> None:
    """Toon key_id en aanmaakdatum van een sleutel (nooit de sleutel zelf)."""
    from linkage.keys import ROTATION_DAYS, KeyFileError, key_age_days, load_key

    try:
        loaded = load_key(keyfile)
    except KeyFileError as exc:
        _fail(str(exc))
    click.echo(f"key_id: {loaded.key_id}\naangemaakt: {loaded.created}")
    age = key_age_days(loaded)
    if age is not None and age > ROTATION_DAYS:
        click.echo(
            f"let op: deze sleutel is {age} dagen oud; maak per rapportageperiode een nieuwe sleutel "
            "(factlab key new) en vernietig de oude",
            err=True,
        )


def _codes(codelijst: Path | None):
    from schemas.codelist import CodeListError, load_code_list

    try:
        return load_code_list(codelijst)
    except CodeListError as exc:
        _fail(str(exc))


_codelijst_option = click.option(
    "--codelijst",
    type=click.Path(path_type=Path),
    default=None,
    help="Gemeentelijke aanvulling op de codelijst (code;naam;domein).",
)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--rapport",
    "rapport_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Map voor de foutenlijst (CSV) en de controlepagina (HTML); standaard naast het bestand.",
)
@_codelijst_option
def validate(file: Path, rapport_dir: Path | None, codelijst: Path | None) -> None:
    """Controleer een aanlevering (CSV, 301-bericht of map met 301-berichten).

    Exitcode 0 alles goed, 1 rijen afgekeurd, 2 bestandsfout.
    """
    from pipelines.intake.delivery import validate_delivery
    from schemas.controle_rapport import report_paths, write_html_report
    from schemas.readers.csv_reader import FileFault

    codes = _codes(codelijst)
    csv_path, html_path = report_paths(file, rapport_dir)
    try:
        result = validate_delivery(file, codes, csv_path)
        write_html_report(html_path, csv_path, file.name, result)
    except FileFault as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(
            f"het rapport kan niet geschreven worden in {csv_path.parent} "
            f"({exc.strerror or 'schrijffout'}); kies een andere map met --rapport"
        )
    _summary(file, result)
    click.echo(f"volledige lijst: {csv_path}")
    click.echo(f"controlepagina: {html_path} (blijft bij u, niet meesturen)")
    sys.exit(EXIT_ROWS_INVALID if result.rows_rejected else EXIT_OK)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", "keyfile", required=True, type=click.Path(path_type=Path))
@click.option("--partner", required=True, help="Naam van de aanleverende organisatie.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option(
    "--rejects",
    type=click.Path(path_type=Path),
    default=None,
    help="CSV met afgekeurde rijen; blijft bij de partner.",
)
@_codelijst_option
def pseudonymise(
    file: Path, keyfile: Path, partner: str, out: Path, rejects: Path | None, codelijst: Path | None
) -> None:
    """Controleer en pseudonimiseer een aanlevering (CSV, 301-bericht of map met 301-berichten)."""
    from linkage.keys import KeyFileError, load_key
    from pipelines.intake.delivery import pseudonymise_delivery
    from schemas.readers.csv_reader import FileFault

    if not partner.strip():
        _fail("--partner mag niet leeg zijn")
    codes = _codes(codelijst)
    try:
        loaded = load_key(keyfile)
        result = pseudonymise_delivery(file, loaded, partner.strip(), out, codes, rejects)
    except (KeyFileError, FileFault) as exc:
        _fail(str(exc))
    _summary(file, result)
    click.echo(f"{result.rows_written} records gepseudonimiseerd naar {out} (key_id {loaded.key_id})")
    if rejects is not None:
        click.echo(f"afgekeurde rijen: {rejects} (blijft bij de partner, niet meesturen)")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", "keyfile", required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--rejects", type=click.Path(path_type=Path), default=None)
def register(file: Path, keyfile: Path, out: Path, rejects: Path | None) -> None:
    """Pseudonimiseer het adressenregister (bij de sleutelbeheerder)."""
    from linkage.keys import KeyFileError, load_key
    from pipelines.intake.register import pseudonymise_register
    from schemas.readers.csv_reader import FileFault

    try:
        loaded = load_key(keyfile)
        result = pseudonymise_register(file, loaded, out, rejects)
    except (KeyFileError, FileFault) as exc:
        _fail(str(exc))
    click.echo(
        f"{file.name}: {result.rows_read} rijen, {result.rows_rejected} afgekeurd, "
        f"{result.rows_duplicate} dubbel; {result.addresses} adressen, {result.households} huishoudens"
    )
    for code, count in sorted(Counter(result.errors_by_rule).items()):
        click.echo(f"  {count:>6} × {code}")
    click.echo(f"register geschreven naar {out} (key_id {loaded.key_id})")


@main.command()
@click.option(
    "--deliveries", required=True, type=click.Path(path_type=Path), help="Map met leveringen (*.parquet)."
)
@click.option("--register", "register_path", required=True, type=click.Path(path_type=Path))
@click.option(
    "--areas", required=True, type=click.Path(path_type=Path), help="code;naam van gemeente, wijken, buurten."
)
@click.option("--period", required=True, help="2026, 2026H1, 2026Q1 of peildatum 2026-06-30.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--niveaus", default="gemeente,wijk", show_default=True)
@click.option(
    "--regels", type=click.Path(path_type=Path), default=None, help="Eigen regels voor geheimhouding (TOML)."
)
@click.option(
    "--vorige", type=click.Path(path_type=Path), default=None, help="Uitvoer van de vorige periode."
)
@click.option(
    "--kaart", "geojson", type=click.Path(path_type=Path), default=None, help="GeoJSON met wijkvlakken."
)
@click.option("--geen-pdf", is_flag=True, default=False)
def run(
    deliveries: Path,
    register_path: Path,
    areas: Path,
    period: str,
    out: Path,
    niveaus: str,
    regels: Path | None,
    vorige: Path | None,
    geojson: Path | None,
    geen_pdf: bool,
) -> None:
    """Koppel, tel, beveilig en rapporteer (Prefect-flow)."""
    _run_flow(deliveries, register_path, areas, period, out, niveaus, regels, vorige, geojson, not geen_pdf)
    click.echo(f"rapport: {out / 'rapport.html'}")
    if not geen_pdf:
        click.echo(f"rapport: {out / 'rapport.pdf'}")


def _run_flow(deliveries, register_path, areas, period, out, niveaus, regels, vorige, geojson, pdf) -> None:
    configure_prefect()
    from disclosure.model import TableInputError
    from disclosure.protect import DisclosureError
    from disclosure.rules import RulesError
    from linkage.linking import LinkageError
    from pipelines.stapeling_flow import stapelingsmonitor
    from reports.figures import ReportInputError
    from schemas.areas import AreasError
    from schemas.formats import PseudonymisedFileError
    from schemas.periods import PeriodError

    try:
        stapelingsmonitor(
            deliveries=str(deliveries),
            register=str(register_path),
            areas=str(areas),
            period=period,
            out=str(out),
            niveaus=niveaus,
            regels=str(regels) if regels else None,
            vorige=str(vorige) if vorige else None,
            geojson=str(geojson) if geojson else None,
            pdf=pdf,
        )
    except (
        LinkageError,
        PseudonymisedFileError,
        PeriodError,
        RulesError,
        TableInputError,
        DisclosureError,
        ReportInputError,
        AreasError,
    ) as exc:
        _fail(str(exc))


@main.command()
@click.option(
    "--out", "out", type=click.Path(path_type=Path), default=Path("uitvoer/demo"), show_default=True
)
@click.option("--sample", type=click.Path(path_type=Path), default=SAMPLE_DIR, show_default=True)
@click.option("--geen-pdf", is_flag=True, default=False)
def demo(out: Path, sample: Path, geen_pdf: bool) -> None:
    """De hele keten op data/sample met een wegwerpsleutel; toont waar het rapport staat."""
    from pipelines.cli.demo import run_demo

    run_demo(sample, out, pdf=not geen_pdf, run_flow=_run_flow, echo=click.echo)


from pipelines.cli.inbox import inbox as inbox_commands  # noqa: E402  (own module, attached here)

main.add_command(inbox_commands)


main.add_command(ttp)


from portal.cli import portal as portal_commands  # noqa: E402  (own module, attached here)

main.add_command(portal_commands)


from bench.cli import bench as bench_command  # noqa: E402  (own module, attached here)

main.add_command(bench_command)
