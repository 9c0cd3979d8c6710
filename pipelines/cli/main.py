"""The `factlab` command (docs/contract.md §6). Messages are Dutch; row values are printed only by the
partner-side commands that read the partner's own file (validate, pseudonymise)."""

from __future__ import annotations

import gc
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import click

from pipelines.cli.ttp import ttp
from pipelines.environment import (
    PROJECT_ROOT,
    configure_prefect,
    private_umask,
    show_run_progress,
    use_prefect,
    without_tracebacks_for,
)

EXIT_OK, EXIT_ROWS_INVALID, EXIT_FILE_FAULT = 0, 1, 2
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"


def _fail(message: str, code: int = EXIT_FILE_FAULT) -> None:
    click.echo(f"fout: {message}", err=True)
    sys.exit(code)


def _check_paths(inputs: dict, outputs: dict, folders: tuple[str, ...] = ()) -> None:
    """Refuse, before any work, outputs that would overwrite an input or cannot be written (exit 2)."""
    from schemas.outpaths import OutputPathError, check_outputs

    try:
        check_outputs(inputs, outputs, folders)
    except OutputPathError as exc:
        _fail(str(exc))


def _machine_fault(exc: OSError, where: Path) -> None:
    """A write that failed on the machine's state (disk full, rights): a Dutch line, exit 2."""
    from schemas.outpaths import write_failed

    _fail(write_failed(exc, where))


def _settle_heap() -> None:
    """Once the work is under way: what exists now lives until the end, so the collector skips it from
    now on (`gc.freeze`), also at exit, where it would otherwise walk every module's objects once more.

    No collection first: one here would cost as much, and leaves DuckDB's module objects for the frozen
    heap, which its bindings then report as leaked at exit.
    """
    gc.freeze()
    gc.enable()


@contextmanager
def _progress(unit: str = "rijen", settle: bool = True):
    """The command's progress on the terminal (`pipelines.progress`), around its work.

    With `settle`, in the `factlab` process itself: the libraries' objects (Great Expectations alone is
    some 1 000 modules) live as long as the command, so no collector passes over them while the work
    imports them, until `_settle_heap` at the first rows. A program that runs the command in its own
    process (tests, scripts) keeps its collector as it is.
    """
    from pipelines.progress import progress

    settle = settle and Path(sys.argv[0]).name == "factlab"
    if settle:
        gc.disable()
    try:
        with progress(first=_settle_heap if settle else None, unit=unit) as bar:
            yield bar
    finally:
        if settle:
            gc.enable()


def _summary(source: Path, result) -> None:
    from schemas.controle_rapport import summary_lines

    for line in summary_lines(source.name, result):
        click.echo(line)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Factlab: de privacyvriendelijke stapelingsmonitor."""
    from schemas.clock import ClockError, source_date_epoch

    private_umask()
    try:
        source_date_epoch()
    except ClockError as exc:
        _fail(str(exc))


@main.group()
def key() -> None:
    """Sleutelbeheer (alleen voor de sleutelbeheerder)."""


@key.command("new")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Nieuw sleutelbestand.")
def key_new(out: Path) -> None:
    """Maak een nieuwe geheime sleutel (bestand met rechten 0600)."""
    from linkage.keys import KeyFileError, new_key, write_key

    _check_paths({}, {"--out": out})
    created = new_key()
    try:
        write_key(created, out)
    except KeyFileError as exc:
        _fail(str(exc))
    except OSError as exc:
        _machine_fault(exc, out)
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
    from schemas.outpaths import atomic_files, describe_os_error
    from schemas.readers.csv_reader import FileFault

    csv_path, html_path = report_paths(file, rapport_dir)
    _check_paths({"bestand": file, "--codelijst": codelijst},
                 {"foutenlijst": csv_path, "controlepagina": html_path})
    codes = _codes(codelijst)
    try:
        with atomic_files(csv_path, html_path) as (csv_tmp, html_tmp), _progress() as bar:  # both or neither
            result = validate_delivery(file, codes, csv_tmp, bar)
            write_html_report(html_tmp, csv_path, file.name, result)
    except FileFault as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(
            f"het rapport kan niet geschreven worden in {csv_path.parent} "
            f"({describe_os_error(exc)}); kies een andere map met --rapport"
        )
    _summary(file, result)
    click.echo(f"volledige lijst: {csv_path}")
    click.echo(f"controlepagina: {html_path} (blijft bij u, niet meesturen)")
    sys.exit(EXIT_ROWS_INVALID if result.rows_rejected else EXIT_OK)


def _partner_name(partner: str) -> str:
    from schemas.names import InvalidNameError, check_name

    try:
        return check_name(partner.strip(), "partnernaam (--partner)")
    except InvalidNameError as exc:
        _fail(str(exc))


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

    partner = _partner_name(partner)
    _check_paths({"bestand": file, "--key": keyfile, "--codelijst": codelijst},
                 {"--out": out, "--rejects": rejects})
    codes = _codes(codelijst)
    try:
        loaded = load_key(keyfile)
        with _progress() as bar:
            result = pseudonymise_delivery(file, loaded, partner, out, codes, rejects, bar)
    except (KeyFileError, FileFault) as exc:
        _fail(str(exc))
    except OSError as exc:
        _machine_fault(exc, out)
    _summary(file, result)
    click.echo(f"{result.rows_written} records gepseudonimiseerd naar {out} (key_id {loaded.key_id})")
    if rejects is not None:
        click.echo(f"afgekeurde rijen: {rejects} (blijft bij de partner, niet meesturen)")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", "keyfile", required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--rejects", type=click.Path(path_type=Path), default=None)
@click.option(
    "--cbs-buurten",
    type=click.Path(path_type=Path),
    default=None,
    help="CBS-tabel 'Buurt, wijk en gemeente <jaar> voor postcode en huisnummer' (pc6hnr); "
    "FILE is dan een adressenlijst zonder buurtcode.",
)
def register(file: Path, keyfile: Path, out: Path, rejects: Path | None, cbs_buurten: Path | None) -> None:
    """Pseudonimiseer het adressenregister (bij de sleutelbeheerder)."""
    from linkage.keys import KeyFileError, load_key
    from pipelines.intake.register import pseudonymise_register
    from schemas.readers.csv_reader import FileFault

    _check_paths({"bestand": file, "--key": keyfile}, {"--out": out, "--rejects": rejects})
    try:
        loaded = load_key(keyfile)
        with _progress(settle=False) as bar:  # with the heap frozen, DuckDB reports leaks at exit
            result = pseudonymise_register(file, loaded, out, rejects, cbs_buurten=cbs_buurten, progress=bar)
    except (KeyFileError, FileFault) as exc:
        _fail(str(exc))
    except OSError as exc:
        _machine_fault(exc, out)
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
@click.option(
    "--kaart-indeling", "kaart_indeling", multiple=True, metavar="NAAM=BESTAND",
    help="GeoJSON met de gebieden van een eigen indeling (kolom gebied_NAAM in het gebiedenbestand), "
    "bijv. wijkteam=wijkteams.geojson; mag vaker.",
)
@click.option(
    "--toelichting",
    type=click.Path(path_type=Path),
    default=None,
    help="Markdown met '## <hoofdstuktitel>' per hoofdstuk: eigen tekst van de gemeente in het rapport.",
)
@click.option("--geen-pdf", is_flag=True, default=False)
@click.option(
    "--reeks", "reeks", multiple=True, type=click.Path(path_type=Path),
    help="Eerdere uitvoer voor de reeks (--reeks MAP [MAP ...]), in willekeurige volgorde.",
)
@click.option("--normen", type=click.Path(path_type=Path), default=None, help="Normen per indicator (TOML).")
@click.option(
    "--status", type=click.Choice(["voorlopig", "definitief"]), default="voorlopig", show_default=True,
    help="Voorlopige of definitieve cijfers (staat in manifest.json en op de eerste pagina).",
)
@click.option(
    "--herziening", type=click.Path(path_type=Path), default=None,
    help="Eerdere publicatie van dezelfde periode die deze run herziet.",
)
@click.argument("meer_reeks", nargs=-1, type=click.Path(path_type=Path))
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
    kaart_indeling: tuple[str, ...],
    toelichting: Path | None,
    geen_pdf: bool,
    reeks: tuple[Path, ...],
    normen: Path | None,
    status: str,
    herziening: Path | None,
    meer_reeks: tuple[Path, ...],
) -> None:
    """Koppel, tel, beveilig en rapporteer (Prefect-flow)."""
    if meer_reeks and not reeks:
        _fail(f"onverwacht argument {meer_reeks[0]}; bedoelt u --reeks {' '.join(map(str, meer_reeks))}?")
    _run_flow(deliveries, register_path, areas, period, out, niveaus, regels, vorige, geojson, not geen_pdf,
              toelichting=toelichting, reeks=[*reeks, *meer_reeks], normen=normen, status=status,
              herziening=herziening, indeling_kaarten=parse_division_maps(kaart_indeling))
    click.echo(f"rapport: {out / 'rapport.html'}")
    if not geen_pdf:
        click.echo(f"rapport: {out / 'rapport.pdf'}")


@main.command("vergelijk")
@click.argument("outs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Map voor vergelijking.csv, vergelijking.html en vergelijking.pdf.")
@click.option("--zonder-pdf", "zonder_pdf", is_flag=True, help="Geen vergelijking.pdf maken.")
def vergelijk(outs: tuple[Path, ...], out: Path, zonder_pdf: bool) -> None:
    """Zet gemeenten naast elkaar uit hun gepubliceerde uitvoer (docs/contract.md §13)."""
    from reports.figures import ReportInputError
    from reports.pdf import PdfError
    from reports.vergelijking import compare_outputs

    _check_paths({f"uitvoer {n}": o for n, o in enumerate(outs, 1)}, {"--out": out}, folders=("--out",))
    try:
        written = compare_outputs(list(outs), out, pdf=not zonder_pdf)
    except (ReportInputError, PdfError) as exc:
        _fail(str(exc))
    click.echo("vergelijking geschreven: " + ", ".join(str(p) for p in written))


def _check_toelichting(toelichting: Path | None) -> None:
    """The toelichting (--toelichting) is readable before Prefect starts."""
    from reports.toelichting import ToelichtingError, read_toelichting

    if toelichting is not None:
        try:
            read_toelichting(Path(toelichting))
        except ToelichtingError as exc:
            _fail(str(exc))


def parse_division_maps(given: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """--kaart-indeling NAAM=BESTAND (repeatable) as niveau -> map file; a wrong form stops with exit 2.

    Whether NAAM is a division of the areas file (gebied_NAAM, docs/contract.md §9) is checked by preflight.
    """
    maps: dict[str, Path] = {}
    for value in given:
        name, sep, path = value.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            _fail(f"--kaart-indeling '{value}': schrijf NAAM=BESTAND, bijv. wijkteam=wijkteams.geojson "
                  "(NAAM is een eigen indeling, kolom gebied_NAAM in het gebiedenbestand)")
        if name in maps:
            _fail(f"--kaart-indeling: de indeling '{name}' staat er twee keer; geef één kaart per indeling")
        maps[name] = Path(path)
    return maps


def _run_flow(deliveries, register_path, areas, period, out, niveaus, regels, vorige, geojson, pdf,
              *, toelichting=None, reeks=None, normen=None, status="voorlopig", herziening=None,
              indeling_kaarten=None) -> None:
    """The stapelingsmonitor: as a Prefect flow when a Prefect server is configured, else in this process."""
    from pipelines.preflight import PreflightError, RunPaths, preflight

    _check_toelichting(toelichting)
    _check_period_options(period, reeks, normen, herziening)  # cheap, and names the option precisely
    try:  # every input checked before Prefect or DuckDB start: a mistake is one `fout:` line, no traceback
        preflight(RunPaths(Path(deliveries), Path(register_path), Path(areas), period, Path(out), niveaus,
                           regels and Path(regels), vorige and Path(vorige), geojson and Path(geojson), pdf,
                           indeling_kaarten=tuple((n, Path(p)) for n, p in (indeling_kaarten or {}).items())))
    except PreflightError as exc:
        _fail(str(exc))
    from disclosure.model import TableInputError
    from disclosure.protect import DisclosureError
    from disclosure.rules import RulesError
    from linkage.linking import LinkageError
    from reports.figures import ReportInputError
    from schemas.areas import AreasFileError
    from schemas.formats import PseudonymisedFileError
    from schemas.periods import PeriodError

    known = (LinkageError, PseudonymisedFileError, PeriodError, RulesError, TableInputError, DisclosureError,
             ReportInputError, AreasFileError)
    parameters = {
        "deliveries": str(deliveries), "register": str(register_path), "areas": str(areas), "period": period,
        "out": str(out), "niveaus": niveaus, "regels": str(regels) if regels else None,
        "vorige": str(vorige) if vorige else None, "geojson": str(geojson) if geojson else None, "pdf": pdf,
    }
    if toelichting is not None:  # only when given: the inbox flow and demo call without it
        parameters["toelichting"] = str(toelichting)
    if indeling_kaarten:  # niveau -> path of its map, as plain strings
        parameters["indeling_kaarten"] = {name: str(path) for name, path in indeling_kaarten.items()}
    from reports.pdf import browser_ahead

    try:
        parameters.update(_period_parameters(reeks, normen, status, herziening))
        # The inputs are checked: Chromium starts now, on the second core while this one imports the steps
        # and links (its start-up, ~1 s, would otherwise slow the protection or wait at the end).
        with browser_ahead(pdf):
            if use_prefect():
                configure_prefect()
                from pipelines.progress import activated
                from pipelines.stapeling_flow import stapelingsmonitor

                # The flow and its tasks run in this process: they show their steps on the same progress.
                with without_tracebacks_for(known), _progress("stappen", settle=False) as bar, activated(bar):
                    stapelingsmonitor(**parameters)
            else:
                from pipelines.stapeling_steps import run_locally

                show_run_progress()
                with _progress("stappen", settle=False) as bar:  # DuckDB works before the first step ends
                    run_locally(**parameters, progress=bar)
    except known as exc:
        _fail(str(exc))


@main.command("export")
@click.argument("out_dir", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--formaat", type=click.Choice(["cbs"]), required=True,
              help="cbs: de lange vorm van CBS StatLine, één rij per gepubliceerd of geheim cijfer.")
@click.option("--out", "target", required=True, type=click.Path(path_type=Path), help="Het CSV-bestand.")
def export(out_dir: Path, formaat: str, target: Path) -> None:
    """Zet de cijfers van een uitvoermap om naar open data (docs/opendata.md)."""
    from pipelines.open_data import ExportError, write_cbs_export

    try:
        count = write_cbs_export(out_dir, target)
    except ExportError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{target} kan niet geschreven worden ({exc.strerror or 'schrijffout'})")
    click.echo(f"{count} cijfers geschreven naar {target} (formaat {formaat})")


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


def _check_period_options(period: str, reeks, normen, herziening) -> None:
    """--reeks, --normen and --herziening before Prefect starts: a wrong folder or file stops at once."""
    from reports.figures import ReportInputError
    from reports.normen import load_norms
    from reports.reeks import check_series, output_period
    from schemas.periods import PeriodError, parse_period

    try:
        label = parse_period(period).label
        if reeks:
            check_series([Path(p) for p in reeks], label)
        if normen is not None:
            load_norms(Path(normen))
        if herziening is not None and output_period(Path(herziening), "--herziening") != label:
            _fail(f"--herziening: {herziening} is niet van periode {label}; een herziening gaat over "
                  "dezelfde periode")
    except (ReportInputError, PeriodError) as exc:
        _fail(str(exc))


def _period_parameters(reeks, normen, status: str, herziening) -> dict:
    """The flow parameters of --reeks, --normen, --status and --herziening (paths and choices only)."""
    return {
        "reeks": [str(p) for p in reeks] if reeks else None,
        "normen": str(normen) if normen else None,
        "status": status,
        "herziening": str(herziening) if herziening else None,
    }


if __name__ == "__main__":
    main()
