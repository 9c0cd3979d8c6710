"""Reading partner extracts (CONTRACT §4) as people really export them.

Detects the encoding (UTF-8 with or without BOM, else Windows-1252) and the delimiter (`;` or
`,`), normalises header names, and yields the rows in chunks of strings with their line number,
so files of any size are read in bounded memory. Anything that is not a readable CSV gets a
FileFault with a Dutch message that says what the file is and what to do instead.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from schemas.messages import RowError

REQUIRED_COLUMNS = ("postcode", "huisnummer", "voorziening", "begindatum")
OPTIONAL_COLUMNS = ("huisletter", "huisnummertoevoeging", "einddatum")
DELIVERY_COLUMNS = REQUIRED_COLUMNS[:2] + OPTIONAL_COLUMNS[:2] + REQUIRED_COLUMNS[2:] + OPTIONAL_COLUMNS[2:]
COLUMN_ALIASES = {"toevoeging": "huisnummertoevoeging"}
DELIMITERS = (";", ",")
CHUNK_ROWS = 200_000
_SNIFF_BYTES = 1 << 20
_EXCEL_SEP_LINE = re.compile(r"^\s*\"?sep=(?P<sep>[;,])\"?[;,]*\s*$", re.IGNORECASE)

# Files partners send by mistake, recognised by their first bytes.
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "een Excel-werkmap (.xlsx) of zip-bestand",
     "sla het in Excel op als 'CSV UTF-8' of 'CSV (puntkomma gescheiden)'"),
    (b"\xd0\xcf\x11\xe0", "een oud Excel-bestand (.xls)",
     "sla het in Excel op als 'CSV UTF-8' of 'CSV (puntkomma gescheiden)'"),
    (b"%PDF", "een PDF-bestand", "lever de gegevens aan als CSV-bestand"),
    (b"PAR1", "een Parquet-bestand", "lever het CSV-bestand aan, niet de gepseudonimiseerde uitvoer"),
    (b"\xff\xfe", "een bestand in UTF-16 ('Unicode-tekst')", "sla het in Excel op als 'CSV UTF-8'"),
    (b"\xfe\xff", "een bestand in UTF-16 ('Unicode-tekst')", "sla het in Excel op als 'CSV UTF-8'"),
)


class FileFault(Exception):
    """A file-level fault: nothing of the file can be used. The message is Dutch."""


def _unreadable(path: Path, exc: OSError) -> FileFault:
    return FileFault(f"{path.name}: het bestand kan niet gelezen worden ({exc.strerror or 'leesfout'})")


@dataclass(frozen=True)
class ExtractLayout:
    encoding: str
    delimiter: str
    columns: dict[str, int]
    """Known column name → position in the row."""
    ignored_columns: list[str] = field(default_factory=list)
    header_width: int = 0
    preamble_records: int = 0
    """Non-empty records before the header (Excel's `sep=;` line)."""


def normalise_header(name: str) -> str:
    """Header names are case-, space- and underscore-insensitive; aliases map to contract names."""
    key = re.sub(r"[\s_\-]+", "", name.replace("\ufeff", "")).lower()
    return COLUMN_ALIASES.get(key, key)


def _check_not_binary(path: Path, head: bytes) -> None:
    for signature, what, advice in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise FileFault(f"{path.name}: dit is {what}, geen CSV-bestand; {advice}")
    if b"\x00" in head[:4096]:
        raise FileFault(f"{path.name}: dit is geen tekstbestand (CSV); lever een CSV-bestand aan")


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' when the file decodes as UTF-8 (BOM or not), else 'cp1252'."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            first = True
            while block := handle.read(_SNIFF_BYTES):
                if first:
                    _check_not_binary(path, block)
                first = False
                decoder.decode(block)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        with path.open("rb") as handle:
            cp_decoder = codecs.getincrementaldecoder("cp1252")()
            while block := handle.read(_SNIFF_BYTES):
                cp_decoder.decode(block)
    except UnicodeDecodeError:
        raise FileFault(
            f"{path.name}: de tekens zijn niet te lezen als UTF-8 of Windows-1252; "
            "sla het bestand op als 'CSV UTF-8' of 'CSV (puntkomma gescheiden)'"
        ) from None
    return "cp1252"


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    # path.open, not open(path): the portal passes an in-memory extract with the same methods.
    return path.open(encoding=encoding, newline="")  # noqa: SIM115 - caller closes


def _pick_delimiter(header_line: str, required: tuple[str, ...]) -> str:
    best, best_hits = DELIMITERS[0], -1
    for delimiter in DELIMITERS:
        names = [normalise_header(n) for n in next(csv.reader([header_line], delimiter=delimiter), [])]
        hits = sum(1 for r in required if r in names)
        if hits > best_hits:
            best, best_hits = delimiter, hits
    return best


def _first_lines(path: Path, encoding: str) -> tuple[str, str | None, int]:
    """The header line, the delimiter Excel's `sep=` line asks for (if any), and records before it."""
    forced: str | None = None
    preamble = 0
    with _open_text(path, encoding) as handle:
        for line in handle:
            if not line.strip().strip(";,").strip():
                continue
            match = _EXCEL_SEP_LINE.match(line) if forced is None and preamble == 0 else None
            if match:
                forced, preamble = match["sep"], 1
                continue
            return line, forced, preamble
    return "", forced, preamble


def read_layout(path: Path, required: tuple[str, ...] = REQUIRED_COLUMNS,
                known: tuple[str, ...] = DELIVERY_COLUMNS) -> ExtractLayout:
    """Detect encoding, delimiter and columns; raises FileFault when the header is unusable."""
    try:
        if not path.is_file():
            raise FileFault(f"{path}: bestand niet gevonden")
        if path.stat().st_size == 0:
            raise FileFault(f"{path.name}: het bestand is leeg")
        encoding = detect_encoding(path)
        header_line, forced, preamble = _first_lines(path, encoding)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if not header_line:
        raise FileFault(f"{path.name}: het bestand bevat geen kopregel")
    delimiter = forced or _pick_delimiter(header_line, required)
    try:
        raw_names = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error:
        raise FileFault(f"{path.name}: de kopregel is niet te lezen; sla het bestand opnieuw op als CSV"
                        ) from None
    names = [normalise_header(n) for n in raw_names]
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for position, name in enumerate(names):
        if name in known:
            if name in columns:
                raise FileFault(
                    f"{path.name}: kolom '{name}' staat twee keer in de kopregel; laat er één staan"
                )
            columns[name] = position
        elif name:
            ignored.append(name)
    missing = [r for r in required if r not in columns]
    if missing:
        raise FileFault(_missing_columns_message(path, missing, raw_names, header_line, preamble))
    return ExtractLayout(encoding, delimiter, columns, ignored, len(names), preamble)


def _missing_columns_message(path: Path, missing: list[str], raw_names: list[str], header_line: str,
                             preamble: int) -> str:
    names = [n.strip() for n in raw_names if n.strip()]
    hint = "gebruik de kolomnamen uit de aanleverspecificatie"
    if any(re.search(r"[0-9]", n) for n in names):
        # Probably a data row (a postcode, a BSN): the message must not repeat it.
        found = "een regel met gegevens in plaats van kolomnamen"
        hint = "zet de kolomnamen (postcode;huisnummer;voorziening;begindatum;…) op de eerste regel"
    else:
        found = ", ".join(n[:40] for n in names)
        found = (found[:200] + "…") if len(found) > 200 else (found or "(geen)")
    if "\t" in header_line and ";" not in header_line and "," not in header_line:
        hint = ("de kolommen zijn gescheiden door tabs; sla het bestand op als CSV met ; of , als "
                "scheidingsteken")
    return (
        f"{path.name} regel {1 + preamble}: verplichte kolom(men) {', '.join(missing)} ontbreken in de "
        f"kopregel (gevonden: {found}); {hint}"
    )


def iter_rows(path: Path, layout: ExtractLayout, chunk_rows: int = CHUNK_ROWS,
              known: tuple[str, ...] = DELIVERY_COLUMNS) -> Iterator[tuple[pd.DataFrame, list[RowError]]]:
    """Yield (rows, structural errors) per chunk.

    Rows are strings in the known columns plus `regel`, the line where the record starts
    (the header is line 1, unless blank lines or Excel's `sep=` line come before it). Blank lines
    and lines of only delimiters are skipped. Only known columns are kept: extra columns (names,
    BSN) are never copied.
    """
    positions = {name: layout.columns.get(name) for name in known}
    width = layout.header_width
    try:
        handle = _open_text(path, layout.encoding)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    with handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        to_skip = layout.preamble_records + 1
        buffer: dict[str, list[str]] = {name: [] for name in known}
        lines: list[int] = []
        errors: list[RowError] = []
        previous_end = 0
        try:
            for record in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if to_skip:
                    to_skip -= 1
                    continue
                if len(record) > width and any(cell.strip() for cell in record[width:]):
                    errors.append(
                        RowError.of(start, "(regel)", str(len(record)), "velden_aantal", str(width))
                    )
                    continue
                for name, pos in positions.items():
                    buffer[name].append(record[pos] if pos is not None and pos < len(record) else "")
                lines.append(start)
                if len(lines) >= chunk_rows:
                    yield _frame(buffer, lines), errors
                    buffer = {name: [] for name in known}
                    lines, errors = [], []
        except csv.Error as exc:
            raise FileFault(
                f"{path.name} regel {reader.line_num}: het CSV-bestand is beschadigd ({_csv_reason(exc)}); "
                "sla het opnieuw op als CSV"
            ) from None
        except UnicodeDecodeError:
            raise FileFault(f"{path.name}: de tekens zijn niet te lezen als {layout.encoding}") from None
        except OSError as exc:
            raise _unreadable(path, exc) from None
    if lines or errors:
        yield _frame(buffer, lines), errors


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "NUL" in text:
        return "het bevat NUL-tekens"
    if "field larger" in text:
        return "een veld is te lang; staat er ergens een aanhalingsteken zonder afsluitend aanhalingsteken?"
    return "onverwachte aanhalingstekens of regeleinden"


def iter_tables(path: Path, layout: ExtractLayout, chunk_rows: int = CHUNK_ROWS,
                known: tuple[str, ...] = DELIVERY_COLUMNS) -> Iterator[tuple[pa.Table, list[RowError]]]:
    """`iter_rows` as Arrow tables: `regel` (int64) and the known columns as strings, never null."""
    for frame, errors in iter_rows(path, layout, chunk_rows, known):
        columns = {"regel": pa.array(frame["regel"].to_numpy(), pa.int64())}
        for name in known:
            columns[name] = pa.array(frame[name].tolist(), pa.string())
        yield pa.table(columns), errors


def _frame(buffer: dict[str, list[str]], lines: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(values, dtype="object") for name, values in buffer.items()})
    frame.insert(0, "regel", pd.Series(lines, dtype="int64"))
    return frame
