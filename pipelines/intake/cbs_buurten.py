"""The buurt of each register address from the CBS table "Buurt, wijk en gemeente <jaar> voor postcode en
huisnummer" (pc6hnr), for `factlab register ADRESSEN --cbs-buurten PC6HNR.csv` (README, Sleutelbeheerder).

The CBS file has about 8 million rows. DuckDB streams it once and joins it on (postcode, huisnummer) to the
register's `pand` keys (`POSTCODE|huisnummer`, see schemas/canonical.py); nothing of it is kept in Python.
Columns are found by name (hoofdletterongevoelig), not position: `PC6`, `Huisnummer` and `Buurt<jaar>`
(2016: `pc6`, `huisnummer`, `gwb2016_code`). The delimiter (`;` or `,`, it differs per year) comes from
the header. CBS writes the codes without prefix (`03630000`, Amsterdam `0363AF01`); they become `BU…`,
with leading zeros restored when a program stored them as a number. Huisletter and toevoeging are not in
the table: every address on one postcode and huisnummer gets the same buurt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.sql_units import sql
from schemas.readers.csv_reader import FileFault

_POSTCODE = re.compile(r"^(?:pc6|postcode)$")
_NUMBER = re.compile(r"^(?:huisnummer|huisnr)$")
_BUURT = re.compile(r"^(?:buurt[0-9]{4}|gwb[0-9]{4}_code|buurtcode|bu_code)$")
ROLES = {"pc6": _POSTCODE, "huisnummer": _NUMBER, "buurt": _BUURT}


@dataclass(frozen=True)
class CbsLayout:
    path: Path
    delimiter: str
    names: tuple[str, ...]
    """A DuckDB name per column: `pc6`, `huisnummer`, `buurt` for the three that count, `kolom<i>` else."""


def read_cbs_layout(path: Path) -> CbsLayout:
    """The header of a pc6hnr file; raises FileFault (Dutch) when the file or a needed column is missing."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(65536)
    except OSError as exc:
        raise FileFault(f"{path.name}: het CBS-bestand kan niet gelezen worden ({exc.strerror or 'leesfout'})"
                        ) from None
    header = first.decode("utf-8-sig", errors="replace").strip()
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    found = [h.strip().strip('"').strip().lower() for h in header.split(delimiter)]
    names: list[str] = []
    for position, name in enumerate(found):
        role = next((r for r, pattern in ROLES.items() if pattern.fullmatch(name) and r not in names), None)
        names.append(role or f"kolom{position}")
    missing = [role for role in ROLES if role not in names]
    if missing:
        raise FileFault(
            f"{path.name}: dit is geen CBS-tabel 'Buurt, wijk en gemeente voor postcode en huisnummer'; "
            f"verwacht de kolommen PC6, Huisnummer en Buurt<jaar> (bijv. PC6;Huisnummer;Buurt2025;"
            f"Wijk2025;Gemeente2025), gevonden: {', '.join(found[:10]) or 'geen kopregel'}"
        )
    return CbsLayout(path, delimiter, tuple(names))


@dataclass(frozen=True)
class CbsMatch:
    buurt: pa.Array
    """Per register row its buurt code (`BU…`, not yet checked), null without a match."""
    ambiguous: np.ndarray
    """Rows whose postcode and huisnummer have more than one buurt in the CBS table."""


def lookup_buurten(pand: pa.Array, layout: CbsLayout) -> CbsMatch:
    """The CBS buurt for every `pand` key (`POSTCODE|huisnummer`), in the order given."""
    keys = pa.table({"nr": pa.array(np.arange(len(pand), dtype=np.int64)), "pand": pand})
    con = duckdb.connect()
    try:
        con.register("register_pand", keys)
        # A relation, not a cursor: DuckDB hands the result to Arrow without an extra copy.
        found = con.sql(sql("cbs_buurt_lookup"), params={
            "path": str(layout.path), "delim": layout.delimiter, "names": list(layout.names),
        }).to_arrow_table()
    except duckdb.Error as exc:
        raise FileFault(
            f"{layout.path.name}: het CBS-bestand is niet te lezen als CSV met '{layout.delimiter}' "
            f"({str(exc).splitlines()[0][:160]})"
        ) from None
    finally:
        con.close()
    ambiguous = found["buurten"].to_numpy() > 1
    return CbsMatch(pc.if_else(pa.array(ambiguous), pa.scalar(None, pa.string()),
                               found["buurt"].combine_chunks()), ambiguous)
