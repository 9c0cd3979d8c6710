"""Build the stapelingsrapport (rapport.html and rapport.pdf) from the protected output of a run.

Both files are written under a temporary name in the output folder and renamed into place only when
everything succeeded, so a failed run never leaves a half-written report behind.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reports.figures import read_division_geojson, read_wijk_geojson
from reports.html import load_report_data, render_report, report_title
from reports.pdf import write_html_and_pdf
from reports.toelichting import read_toelichting

HTML_NAME = "rapport.html"
PDF_NAME = "rapport.pdf"


def build_report(
    out_dir: Path,
    *,
    vorige: Path | None = None,
    geojson: Path | None = None,
    pdf: bool = True,
    toelichting: Path | None = None,
    reeks: list[Path] | None = None,
    normen: Path | None = None,
    indeling_kaarten: dict[str, Path] | None = None,
) -> tuple[Path, Path | None]:
    """Write rapport.html (and rapport.pdf unless `pdf` is False) into `out_dir`; returns their paths.

    `vorige` is the output folder of an earlier run to compare with; `geojson` a GeoJSON file of wijken
    (a CBS or PDOK wijkkaart, see `read_wijk_geojson`) for the map; `toelichting` the gemeente's own text
    per chapter (Markdown, `reports.toelichting`); `indeling_kaarten` a GeoJSON per own division (§9, niveau
    name -> file, see `read_division_geojson`) for its map.
    """
    out_dir = Path(out_dir)
    data = load_report_data(
        out_dir,
        vorige=Path(vorige) if vorige else None,
        geojson=read_wijk_geojson(Path(geojson)) if geojson else None,
        toelichting=read_toelichting(Path(toelichting)) if toelichting else None,
        reeks=[Path(p) for p in reeks] if reeks else None,
        normen=Path(normen) if normen else None,
        division_maps={niveau: read_division_geojson(Path(path), niveau)
                       for niveau, path in (indeling_kaarten or {}).items()},
    )
    document = render_report(data)

    write_html_and_pdf(document, out_dir / HTML_NAME, out_dir / PDF_NAME if pdf else None, report_title(data))
    return out_dir / HTML_NAME, (out_dir / PDF_NAME if pdf else None)


def main(argv: list[str] | None = None) -> None:
    """`python -m reports.build OUT [--vorige OUT_VORIG] [--kaart wijken.geojson] [--zonder-pdf]
    [--reeks MAP ...] [--normen NORMEN.toml] [--kaart-indeling NAAM=KAART.geojson ...]`."""
    parser = argparse.ArgumentParser(description="Maak het stapelingsrapport uit de beschermde uitvoer.")
    parser.add_argument("out", type=Path, help="map met samenloop.csv, kwaliteit.csv en manifest.json")
    parser.add_argument("--vorige", type=Path, help="uitvoermap van de vorige periode, om te vergelijken")
    parser.add_argument("--kaart", type=Path,
                        help="GeoJSON met wijken van CBS of PDOK (wijkcode, wk_code, WK_CODE of statcode)")
    parser.add_argument("--zonder-pdf", action="store_true", help="alleen rapport.html maken")
    parser.add_argument("--toelichting", type=Path, help="Markdown met '## <hoofdstuktitel>' per hoofdstuk")
    parser.add_argument("--reeks", type=Path, nargs="+", help="eerdere uitvoermappen voor de reeks")
    parser.add_argument("--normen", type=Path, help="normen per indicator (TOML)")
    parser.add_argument("--kaart-indeling", action="append", default=[], metavar="NAAM=KAART",
                        help="GeoJSON met de gebieden van een eigen indeling (gebied_NAAM in het "
                             "gebiedenbestand), bijv. wijkteam=wijkteams.geojson; mag vaker")
    args = parser.parse_args(argv)
    maps: dict[str, Path] = {}
    for given in args.kaart_indeling:
        niveau, sep, path = given.partition("=")
        if not sep or not niveau.strip() or not path.strip():
            parser.error(f"--kaart-indeling '{given}': schrijf NAAM=BESTAND, "
                         "bijv. wijkteam=wijkteams.geojson")
        maps[niveau.strip()] = Path(path.strip())
    html_path, pdf_path = build_report(
        args.out,
        vorige=args.vorige,
        geojson=args.kaart,
        pdf=not args.zonder_pdf,
        toelichting=args.toelichting,
        reeks=args.reeks,
        normen=args.normen,
        indeling_kaarten=maps,
    )
    print(f"Rapport: {html_path}" + (f" en {pdf_path}" if pdf_path else ""))


if __name__ == "__main__":
    main()
