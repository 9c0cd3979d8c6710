"""`factlab bench`: measure every stage at gemeente and land scale (see docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import click

SCHALEN = {"gemeente": ["gemeente"], "land": ["land"], "beide": ["gemeente", "land"], "klein": ["klein"],
           "geen": []}


@click.command("bench")
@click.option(
    "--schaal",
    type=click.Choice(list(SCHALEN)),
    default="beide",
    show_default=True,
    help="gemeente (150.000 adressen), land (8 miljoen adressen) of beide; klein is voor proefjes; "
    "geen met --partner meet alleen de partneropdracht.",
)
@click.option(
    "--partner",
    is_flag=True,
    default=False,
    help="Meet ook `factlab pseudonymise` als heel proces op 1 en 5 miljoen rijen, tegen een gewoon "
    "pandas-script, met en zonder voortgangsweergave (bench/partner.py; ongeveer 5 minuten).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Resultaat als JSON (standaard docs/benchmarks.json).",
)
@click.option(
    "--md",
    "markdown_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Markdown-pagina waarvan het gegenereerde blok wordt vervangen (standaard docs/benchmarks.md).",
)
@click.option(
    "--werkmap",
    type=click.Path(path_type=Path),
    default=None,
    help="Map voor de gegenereerde data (standaard een tijdelijke map die na afloop weg gaat).",
)
@click.option(
    "--geen-clkhash",
    is_flag=True,
    default=False,
    help="Sla de clkhash-basislijn over (die installeert clkhash in een eigen virtualenv).",
)
@click.option(
    "--openbaarmaking",
    is_flag=True,
    default=False,
    help="Meet alleen de geheimhouding (beveiligen + audit) op synthetische gemeenten tot Amsterdam-schaal; "
    "schrijft docs/benchmarks-openbaarmaking.json en een eigen blok in docs/benchmarks.md.",
)
@click.option(
    "--tijdslimiet",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Met --openbaarmaking: hoogstens zoveel seconden per configuratie.",
)
def bench(
    schaal: str, partner: bool, json_path: Path | None, markdown_path: Path | None, werkmap: Path | None,
    geen_clkhash: bool, openbaarmaking: bool, tijdslimiet: float,
) -> None:
    """Meet doorvoer en piekgeheugen per stap; schrijft docs/benchmarks.json en docs/benchmarks.md."""
    from bench.runner import DEFAULT_JSON, DEFAULT_MARKDOWN, run_benchmark

    if openbaarmaking:
        from bench.disclosure_bench import DEFAULT_JSON as DISCLOSURE_JSON
        from bench.disclosure_bench import run_disclosure_bench

        target = json_path or DISCLOSURE_JSON
        run_disclosure_bench(tijdslimiet, target, markdown_path or DEFAULT_MARKDOWN, echo=click.echo)
        click.echo(f"resultaat: {target}")
        return

    document = run_benchmark(
        SCHALEN[schaal],
        json_path=json_path or DEFAULT_JSON,
        markdown_path=markdown_path or DEFAULT_MARKDOWN,
        workdir=werkmap,
        clkhash=not geen_clkhash,
        echo=click.echo,
        partner=partner,
    )
    for name, target in document["doelen"].items():
        status = "gehaald" if target["gehaald"] else "NIET gehaald"
        click.echo(f"{name}: {target['gemeten']} (doel {target['doel']}) {status}")
    click.echo(f"resultaat: {json_path or DEFAULT_JSON}")
