"""`factlab ttp …`: the second pseudonymisation step, run by the trusted third party (TTP).

The TTP holds its own key K2 (made with `factlab key new`) and rekeys the register and every
delivery of a period with it; see docs/privacy.md. Messages are Dutch and never show a pseudonym.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_FILE_FAULT = 2


@click.group("ttp")
def ttp() -> None:
    """Tweede pseudonimiseringsstap (alleen voor de vertrouwde derde partij, TTP)."""


@ttp.command("rekey")
@click.argument("source", metavar="IN", type=click.Path(path_type=Path))
@click.option("--key", "keyfile", required=True, type=click.Path(path_type=Path),
              help="Pad naar het sleutelbestand van de TTP (K2); nooit de sleutel zelf.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Omgezet Parquet-bestand.")
def rekey(source: Path, keyfile: Path, out: Path) -> None:
    """Zet een gepseudonimiseerde levering of een gepseudonimiseerd register om met de TTP-sleutel."""
    from linkage.keys import KeyFileError, load_key
    from linkage.ttp import TtpError, rekey_file
    from schemas.outpaths import OutputPathError, check_outputs, write_failed

    if not source.is_file():
        click.echo(f"fout: {source} bestaat niet of is geen bestand", err=True)
        sys.exit(EXIT_FILE_FAULT)
    try:
        check_outputs({"invoerbestand": source, "--key": keyfile}, {"--out": out})
        key = load_key(keyfile)
        result = rekey_file(source, key, out)
    except (KeyFileError, TtpError, OutputPathError) as exc:
        click.echo(f"fout: {exc}", err=True)
        sys.exit(EXIT_FILE_FAULT)
    except OSError as exc:
        click.echo(f"fout: {write_failed(exc, out)}", err=True)
        sys.exit(EXIT_FILE_FAULT)
    who = f" van partner {result.partner}" if result.partner else ""
    click.echo(f"{result.kind}{who}: {result.rows} rijen omgezet naar {out} "
               f"(key_id {result.key_id}, ttp_key_id {result.ttp_key_id}, 2 stappen)")
