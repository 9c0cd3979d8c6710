"""Reading partner extracts (docs/contract.md §4) as people really export them.

Detects the encoding (UTF-8 with or without BOM, else Windows-1252) and the delimiter (`;` or
`,`), normalises header names, and yields the rows in chunks of strings with their line number,
so files of any size are read in bounded memory. Anything that is not a readable CSV gets a
FileFault with a Dutch message that says what the file is and what to do instead.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.messages import RowError

REQUIRED_COLUMNS = ("postcode", "huisnummer", "voorziening", "begindatum")
OPTIONAL_COLUMNS = ("huisletter", "huisnummertoevoeging", "einddatum", "bedrag")
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
    (b"\x89PNG", "een afbeelding", "lever een CSV-bestand of 301-bericht aan"),
    (b"\xff\xd8\xff", "een afbeelding", "lever een CSV-bestand of 301-bericht aan"),
    (b"\xff\xfe", "een bestand in UTF-16 ('Unicode-tekst')", "sla het in Excel op als 'CSV UTF-8'"),
    (b"\xfe\xff", "een bestand in UTF-16 ('Unicode-tekst')", "sla het in Excel op als 'CSV UTF-8'"),
)


class FileFault(Exception):
    """A file-level fault: nothing of the file can be used. The message is Dutch."""


def unreadable(path: Path, exc: OSError) -> FileFault:
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


def refuse_binary(name: str, head: bytes) -> None:
    """FileFault (Dutch, with what to do) for a file that is a spreadsheet, PDF, Parquet or not text."""
    for signature, what, advice in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise FileFault(f"{name}: dit is {what}, geen CSV-bestand; {advice}")
    if b"\x00" in head[:4096]:
        raise FileFault(f"{name}: dit is geen tekstbestand (CSV); lever een CSV-bestand aan")


def _check_not_binary(path: Path, head: bytes) -> None:
    refuse_binary(path.name, head)


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
        try:
            names = [normalise_header(n) for n in next(csv.reader([header_line], delimiter=delimiter), [])]
        except csv.Error:  # e.g. a field over the csv module's limit: read_layout names the fault
            continue
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
        if path.is_dir():
            raise FileFault(f"{path}: dit is een map, geen bestand; geef het CSV-bestand zelf op")
        if not path.is_file():
            raise FileFault(f"{path}: bestand niet gevonden")
        if path.stat().st_size == 0:
            raise FileFault(f"{path.name}: het bestand is leeg")
        encoding = detect_encoding(path)
        header_line, forced, preamble = _first_lines(path, encoding)
    except OSError as exc:
        raise unreadable(path, exc) from None
    if not header_line:
        raise FileFault(f"{path.name}: het bestand bevat geen kopregel")
    delimiter = forced or _pick_delimiter(header_line, required)
    try:
        raw_names = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error:
        raise FileFault(f"{path.name} regel {1 + preamble}: de kopregel is niet te lezen (een veld is te "
                        "lang of een aanhalingsteken sluit niet); sla het bestand opnieuw op als CSV"
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
    BSN) are never copied. The frames are `iter_tables` converted to pandas (object columns).
    """
    if not _fast_path_applies(layout):
        yield from _iter_rows_csv(path, layout, chunk_rows, known)
        return
    names = list(dict.fromkeys(known))
    for table, errors in iter_tables(path, layout, chunk_rows, known):
        frame = _frame_of_table(table, names)
        del table  # the caller holds only the frame
        yield frame, errors


def iter_tables(path: Path, layout: ExtractLayout, chunk_rows: int = CHUNK_ROWS,
                known: tuple[str, ...] = DELIVERY_COLUMNS) -> Iterator[tuple[pa.Table, list[RowError]]]:
    """`iter_rows` as Arrow tables: `regel` (int64) and the known columns as strings, never null.

    Lines without quotes are split into fields with numpy on the raw bytes, many at a time; only
    records with quotes (or another oddity the csv module must judge) go through `csv.reader`.
    The outcome is exactly that of `_iter_rows_csv`: same rows, line numbers, chunks and errors.
    """
    if not _fast_path_applies(layout):
        for frame, errors in _iter_rows_csv(path, layout, chunk_rows, known):
            yield _table_of_frame(frame, known), errors
        return
    yield from _FastReader(path, layout, chunk_rows, known).chunks()


def _iter_rows_csv(path: Path, layout: ExtractLayout, chunk_rows: int = CHUNK_ROWS,
                   known: tuple[str, ...] = DELIVERY_COLUMNS
                   ) -> Iterator[tuple[pd.DataFrame, list[RowError]]]:
    """The reference reader: every record through `csv.reader`. `iter_rows` must give exactly this."""
    positions = {name: layout.columns.get(name) for name in known}
    width = layout.header_width
    try:
        handle = _open_text(path, layout.encoding)
    except OSError as exc:
        raise unreadable(path, exc) from None
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
                if _is_blank(record):
                    continue
                if to_skip:
                    to_skip -= 1
                    continue
                if error := _width_error(record, width, start):
                    errors.append(error)
                    continue
                for name, pos in positions.items():
                    buffer[name].append(_cell(record, pos))
                lines.append(start)
                if len(lines) >= chunk_rows:
                    yield _frame(buffer, lines), errors
                    buffer = {name: [] for name in known}
                    lines, errors = [], []
        except csv.Error as exc:
            raise FileFault(_damaged_message(path, reader.line_num, exc)) from None
        except UnicodeDecodeError:
            raise FileFault(f"{path.name}: de tekens zijn niet te lezen als {layout.encoding}") from None
        except OSError as exc:
            raise unreadable(path, exc) from None
    if lines or errors:
        yield _frame(buffer, lines), errors


def _is_blank(record: list[str]) -> bool:
    """A record of only empty or whitespace cells (a blank line, a line of delimiters): skipped."""
    return not any(cell.strip() for cell in record)


def _width_error(record: list[str], width: int, line: int) -> RowError | None:
    """The `velden_aantal` error of a record with filled-in cells beyond the header's columns."""
    if len(record) > width and any(cell.strip() for cell in record[width:]):
        return RowError.of(line, "(regel)", str(len(record)), "velden_aantal", str(width))
    return None


def _cell(record: list[str], position: int | None) -> str:
    """The cell of a known column; "" when the column is absent or the record is short."""
    return record[position] if position is not None and position < len(record) else ""


def _damaged_message(path: Path, line: int, exc: csv.Error) -> str:
    return (f"{path.name} regel {line}: het CSV-bestand is beschadigd ({_csv_reason(exc)}); "
            "sla het opnieuw op als CSV")


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "NUL" in text:
        return "het bevat NUL-tekens"
    if "field larger" in text:
        return "een veld is te lang; staat er ergens een aanhalingsteken zonder afsluitend aanhalingsteken?"
    return "onverwachte aanhalingstekens of regeleinden"


def _frame(buffer: dict[str, list[str]], lines: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(values, dtype="object") for name, values in buffer.items()})
    frame.insert(0, "regel", pd.Series(lines, dtype="int64"))
    return frame


def _frame_of_table(table: pa.Table, names: list[str]) -> pd.DataFrame:
    """The `_frame` of a chunk from `iter_tables`: `regel` first, the known columns as object strings."""
    frame = pd.DataFrame({name: pd.Series(table.column(name).to_numpy(), dtype="object") for name in names})
    frame.insert(0, "regel", pd.Series(table.column("regel").to_numpy(), dtype="int64"))
    return frame


def _table_of_frame(frame: pd.DataFrame, known: tuple[str, ...]) -> pa.Table:
    columns = {"regel": pa.array(frame["regel"].to_numpy(), pa.int64())}
    for name in known:
        columns[name] = pa.array(frame[name].tolist(), pa.string())
    return pa.table(columns)


# --- The fast reader -------------------------------------------------------------------------------
#
# A line without `"`, NUL or a lone CR is exactly one record: its fields are the pieces between the
# delimiters. Such lines are cut up with numpy on the UTF-8 bytes (a delimiter, CR and LF are single
# ASCII bytes that never occur inside a multi-byte character). From the first line with such a
# character up to a record boundary where the next one is far away, `csv.reader` reads the records,
# with the same per-record logic as `_iter_rows_csv`.

_FAST_CODECS = ("utf-8", "utf-8-sig", "cp1252")
_BLOCK_BYTES = 1 << 21
"""Bytes read at a time (cut back to the last line end)."""
_CSV_WINDOW = 1 << 14
"""Odd bytes closer together than this are read by csv.reader in one go, with the lines between."""
_LONE_CR = re.compile(rb"\r(?!\n)")
_FEW = 16
"""Per-line checks in Python while fewer than 1 in _FEW lines need one; else numpy over every byte."""
_ASCII_SPACE = [code for code in range(128) if chr(code).isspace()]
"""ASCII characters str.strip() removes; all other whitespace it removes is non-ASCII (multi-byte)."""


def _fast_path_applies(layout: ExtractLayout) -> bool:
    try:
        codec = codecs.lookup(layout.encoding).name
    except LookupError:
        return False
    delimiter = layout.delimiter
    return (codec in _FAST_CODECS and len(delimiter) == 1 and delimiter.isascii()
            and delimiter not in "\"\r\n\x00")


def _find_odd(buf: bytes, start: int, end: int) -> int:
    """The first byte in buf[start:end] that the fast path cannot handle (`"`, NUL, lone CR), or -1."""
    best = end
    for odd in (b'"', b"\x00"):
        found = buf.find(odd, start, best)
        if found >= 0:
            best = found
    if buf.find(b"\r", start, best) >= 0:
        # One byte more, so that a CR just before `best` sees the LF after it.
        match = _LONE_CR.search(buf, start, min(best + 1, len(buf)))
        if match and match.start() < best:
            best = match.start()
    return best if best < end else -1


def _field(fields: pa.BinaryArray, first: np.ndarray, extra: np.ndarray, position: int | None
           ) -> pa.StringArray:
    """Field `position` of each row ("" when the row is shorter), from fields that end in their separator."""
    if position is None or not len(first):
        return pa.StringArray.from_buffers(len(first), pa.py_buffer(np.zeros(len(first) + 1, np.int32)),
                                           pa.py_buffer(b""), null_count=0)
    missing = extra < position
    if missing.any():
        taken = pc.binary_slice(fields.take(pa.array(first + position, mask=missing)), 0, -1)
        taken = pc.fill_null(taken, b"")
    else:
        taken = pc.binary_slice(fields.take(pa.array(first + position)), 0, -1)
    # Valid UTF-8: the text was checked, and fields are cut at ASCII bytes.
    return taken.view(pa.string())


class _Chunker:
    """Cuts rows into chunks exactly as `_iter_rows_csv` does.

    A chunk is yielded as soon as it has `size` rows; a structural error belongs to the chunk that
    was being filled when it was met, i.e. chunk (data rows before it) // size.
    """

    def __init__(self, size: int, names: list[str]) -> None:
        self.size = max(size, 1)
        self.names = names
        self.rows = 0
        """Rows in the chunk being filled."""
        self.done = 0
        """Rows in chunks already cut."""
        self._lines: list[np.ndarray] = []
        self._columns: list[list[pa.Array]] = [[] for _ in names]
        self._errors: list[RowError] = []
        self._ready: list[tuple[pa.Table, list[RowError]]] = []

    def add(self, lines: np.ndarray, columns: list[pa.Array], errors: list[tuple[int, RowError]]) -> None:
        """Rows (line numbers, known columns) and errors, each with the number of these rows before it."""
        before = self.done + self.rows
        offset = next_error = 0
        while True:
            take = min(self.size - self.rows, len(lines) - offset)
            if take:
                self._lines.append(lines[offset:offset + take])
                for held, column in zip(self._columns, columns, strict=True):
                    held.append(column.slice(offset, take))
                self.rows += take
                offset += take
            limit = self.done + self.size
            while next_error < len(errors) and before + errors[next_error][0] < limit:
                self._errors.append(errors[next_error][1])
                next_error += 1
            if self.rows < self.size:
                return
            self._cut()

    def add_lists(self, lines: list[int], columns: list[list[str]],
                  errors: list[tuple[int, RowError]]) -> None:
        if lines or errors:
            self.add(np.array(lines, np.int64), [pa.array(values, pa.string()) for values in columns], errors)

    def finish(self) -> None:
        if self.rows or self._errors:
            self._cut()

    def drain(self) -> Iterator[tuple[pa.Table, list[RowError]]]:
        ready, self._ready = self._ready, []
        yield from ready

    def _cut(self) -> None:
        lines = np.concatenate(self._lines) if self._lines else np.empty(0, np.int64)
        columns = {"regel": pa.array(lines, pa.int64())}
        for name, held in zip(self.names, self._columns, strict=True):
            columns[name] = pa.concat_arrays(held) if held else pa.array([], pa.string())
        self._ready.append((pa.table(columns), self._errors))
        self.done += self.rows
        self.rows = 0
        self._lines, self._errors = [], []
        self._columns = [[] for _ in self.names]


class _Region:
    """The arrays of one `_FastReader._fast` call: plain lines as numpy over their UTF-8 bytes, their fields.

    Every array made for the region stays referenced (`held`) until the call returns, as the locals of one
    long function would: freeing the large temporaries halfway made the allocator hand their pages back
    and fault fresh ones in for the next (about twice the page faults, 10-15% slower on plain files).
    """

    __slots__ = ("buf", "base", "data", "is_newline", "newlines", "starts", "line_cr", "has_cr", "count",
                 "fields", "separators", "first", "extra", "ends", "hard", "held")

    def __init__(self, buf: bytes, base: int) -> None:
        self.buf = buf
        self.base = base
        """`data` is buf[base:base + len(data)]."""
        self.hard: np.ndarray | None = None
        """`_FastReader.hard` of every byte in `data`, once a check needs it."""
        self.held: list[np.ndarray] = []
        # Set by _FastReader._plain_lines and _split_fields:
        self.data: np.ndarray
        self.is_newline: np.ndarray
        self.newlines: np.ndarray
        """Every LF of the bytes read, also those after the last line read."""
        self.starts: np.ndarray
        self.line_cr: np.ndarray
        """True for each line that ends in CR LF."""
        self.has_cr: bool
        self.count: int
        """Lines read: all, or those before the first that is too long for csv.reader."""
        self.fields: pa.BinaryArray
        """Every field of the lines, each ending in its separator (delimiter, CR or LF)."""
        self.separators: np.ndarray
        self.first: np.ndarray
        """Index of each line's first field (and of the separator after it)."""
        self.extra: np.ndarray
        """Delimiters in each line: a line has extra + 1 fields."""
        self.ends: np.ndarray
        """Where each line's text ends in `data` (its CR or LF)."""

    def text(self, begin: int, stop: int) -> bytes:
        return self.buf[self.base + begin:self.base + stop]


class _FastReader:
    """One pass over an extract: fast for plain lines, csv.reader for the rest (see above)."""

    def __init__(self, path: Path, layout: ExtractLayout, chunk_rows: int, known: tuple[str, ...]) -> None:
        self.path = path
        self.encoding = layout.encoding
        self.codec = codecs.lookup(layout.encoding).name
        self.names = list(dict.fromkeys(known))
        self.positions = [layout.columns.get(name) for name in self.names]
        self.width = layout.header_width
        self.delimiter = layout.delimiter
        self.delimiter_byte = ord(layout.delimiter)
        self.to_skip = layout.preamble_records + 1
        self.chunker = _Chunker(chunk_rows, self.names)
        hard = np.zeros(256, bool)
        hard[:128] = True
        hard[_ASCII_SPACE] = False
        hard[self.delimiter_byte] = False
        self.hard = hard
        """Bytes that make a cell non-blank for certain: ASCII, not whitespace, not the delimiter."""
        self.blank_ascii = bytes(_ASCII_SPACE) + layout.delimiter.encode()
        self.buf = b""
        """UTF-8 text from `pos` on is unread; it always ends at a line end, except at the end of the file."""
        self.pos = 0
        self.line = 0
        """Physical lines before `pos`."""
        self.odd = -1
        """A known odd byte at or after `pos` (with none between), or -1."""
        self.odds: np.ndarray | None = None
        """Positions of all odd bytes in `buf`, once csv.reader is needed in it."""
        self.blocks: Iterator[bytes] = iter(())

    def chunks(self) -> Iterator[tuple[pa.Table, list[RowError]]]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise unreadable(self.path, exc) from None
        with handle:
            self.blocks = self._blocks(handle)
            while self.pos < len(self.buf) or self._extend():
                end = self._plain_end()
                if end > self.pos:
                    stop = self._fast(end)
                    yield from self.chunker.drain()
                    if stop == end:
                        continue
                yield from self._csv_records()
        self.chunker.finish()
        yield from self.chunker.drain()

    # reading

    def _blocks(self, handle: io.IOBase) -> Iterator[bytes]:
        """The file as UTF-8 in blocks that end at a line end (LF), except the last."""
        carry = b""
        first = True
        while True:
            try:
                data = handle.read(_BLOCK_BYTES)
            except OSError as exc:
                raise unreadable(self.path, exc) from None
            if data:
                data = carry + data if carry else data
                cut = data.rfind(b"\n") + 1
                if not cut:
                    carry = data
                    continue
                block, carry = data[:cut], data[cut:]
            elif carry:
                block, carry = carry, b""
            else:
                return
            if first and self.codec == "utf-8-sig" and block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8):]
            first = False
            yield self._utf8(block)

    def _utf8(self, block: bytes) -> bytes:
        # read_layout checked that the whole file decodes, so this fails only if it changed since.
        try:
            if self.codec == "cp1252":
                return block.decode("cp1252").encode("utf-8")
            offsets = pa.py_buffer(np.array([0, len(block)], np.int32))
            pa.StringArray.from_buffers(1, offsets, pa.py_buffer(block)).validate(full=True)
            return block
        except (UnicodeDecodeError, pa.ArrowInvalid):
            raise FileFault(f"{self.path.name}: de tekens zijn niet te lezen als {self.encoding}") from None

    def _extend(self) -> bool:
        """Append the next non-empty block to the unread text; False at the end of the file."""
        for block in self.blocks:
            if block:
                rest = self.buf[self.pos:]
                self.buf = rest + block if rest else block
                self.pos = 0
                self.odd = -1
                self.odds = None
                return True
        return False

    def _plain_end(self) -> int:
        """Where the plain lines from `pos` end: the start of the first line with an odd byte."""
        if self.odd < self.pos:
            self.odd = _find_odd(self.buf, self.pos, len(self.buf))
        if self.odd < 0:
            return len(self.buf)
        return max(self.pos, self.buf.rfind(b"\n", self.pos, self.odd) + 1)

    def _odd_span_end(self) -> int:
        """The line end after the last odd byte that follows the one at `pos` closely (see _CSV_WINDOW)."""
        if self.odds is None:
            data = np.frombuffer(self.buf, np.uint8)
            odd = (data == ord('"')) | (data == 0)
            if b"\r" in self.buf:
                after = np.empty_like(data)
                after[:-1] = data[1:]
                after[-1:] = 0
                odd |= (data == 13) & (after != 10)
            self.odds = np.flatnonzero(odd)
        odds = self.odds[np.searchsorted(self.odds, self.pos):]
        last = self.pos
        if len(odds) and odds[0] - self.pos < _CSV_WINDOW:
            gaps = np.flatnonzero(np.diff(odds) >= _CSV_WINDOW)
            last = int(odds[gaps[0]] if len(gaps) else odds[-1])
        newline = self.buf.find(b"\n", last)
        return newline + 1 if newline >= 0 else len(self.buf)

    # the fast path

    def _fast(self, end: int) -> int:
        """Read the plain lines in buf[pos:end]; returns where it stopped (`end`, or a too long line)."""
        region_bytes = end - self.pos
        region = self._plain_lines(end)
        if region is None:
            # csv.reader would refuse the field; let it give the error.
            return self.pos
        self._split_fields(region)
        rows = np.flatnonzero(~self._blank_lines(region))
        if self.to_skip and len(rows):
            skipped = min(self.to_skip, len(rows))
            rows = rows[skipped:]
            self.to_skip -= skipped
        rows, errors = self._drop_too_wide(region, rows)
        row_first, row_extra = region.first[rows], region.extra[rows]
        columns = [_field(region.fields, row_first, row_extra, position) for position in self.positions]
        if len(rows) or errors:
            self.chunker.add(self.line + 1 + rows, columns, errors)
        self.line += region.count
        self.pos += min(int(region.newlines[region.count - 1]) + 1, region_bytes)
        return self.pos

    def _plain_lines(self, end: int) -> _Region | None:
        """The lines in buf[pos:end] before the first one too long for csv.reader; None if it is the first."""
        buf, base, size = self.buf, self.pos, end - self.pos
        if buf[end - 1] != 10:
            # The last line of the file has no line end: give it one, so every field ends in a separator.
            buf, base, end = buf[base:end] + b"\n", 0, size + 1
        region = _Region(buf, base)
        data = np.frombuffer(buf, np.uint8, count=end - base, offset=base)
        is_newline = data == 10
        newlines = np.flatnonzero(is_newline)
        starts = np.empty(len(newlines), np.int64)
        starts[:1] = 0
        starts[1:] = newlines[:-1] + 1
        has_cr = buf.find(b"\r", base, end) >= 0
        line_cr = data[np.maximum(newlines - 1, 0)] == 13 if has_cr else np.zeros(len(newlines), bool)
        too_long = np.flatnonzero(newlines - line_cr - starts > csv.field_size_limit())
        count = int(too_long[0]) if len(too_long) else len(starts)
        if count == 0:
            return None
        if count < len(starts):
            stop = int(starts[count])
            data, is_newline = data[:stop], is_newline[:stop]
            starts, line_cr = starts[:count], line_cr[:count]
        region.data, region.is_newline, region.newlines = data, is_newline, newlines
        region.starts, region.line_cr, region.has_cr, region.count = starts, line_cr, has_cr, count
        return region

    def _split_fields(self, region: _Region) -> None:
        """Every field, followed by the byte after it (delimiter, CR or LF), as one zero-copy array."""
        data = region.data
        separator = region.is_newline | (data == self.delimiter_byte)
        if region.has_cr:
            separator |= data == 13
        separators = np.flatnonzero(separator)
        newline_at = np.flatnonzero(data[separators] == 10)
        first = np.empty(region.count, np.int64)
        first[:1] = 0
        first[1:] = newline_at[:-1] + 1
        last = newline_at - region.line_cr
        """Index of the separator that ends each line's text (its CR or LF)."""
        offsets = np.empty(len(separators) + 1, np.int32)
        offsets[0] = 0
        offsets[1:] = separators + 1
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(region.buf).slice(region.base, len(data))]
        region.fields = pa.Array.from_buffers(pa.binary(), len(separators), buffers, null_count=0)
        region.separators, region.first = separators, first
        region.extra, region.ends = last - first, separators[last]
        region.held += [separator, newline_at, last, offsets]

    def _blank_lines(self, region: _Region) -> np.ndarray:
        """Which lines are blank records (`_is_blank`); sets `region.hard` when every byte is judged."""
        data, starts, ends = region.data, region.starts, region.ends
        unsure = np.flatnonzero(~self.hard[data[starts]])
        if len(unsure) * _FEW > region.count:
            region.hard = self.hard[data]
            blank = ~np.logical_or.reduceat(region.hard, starts)
            unsure = np.flatnonzero(blank)
            unsure = unsure[np.logical_or.reduceat(data >= 128, starts)[unsure]]
        else:
            blank = np.zeros(region.count, bool)
        text = region.text
        for line in unsure.tolist():
            blank[line] = self._blank(text(starts[line], ends[line]))
        region.held += [unsure, blank]
        return blank

    def _drop_too_wide(self, region: _Region, rows: np.ndarray
                       ) -> tuple[np.ndarray, list[tuple[int, RowError]]]:
        """The rows without filled-in fields beyond the header, and a `velden_aantal` error for each other."""
        wide = rows[region.extra[rows] >= self.width]
        region.held.append(wide)
        if not len(wide):
            return rows, []
        # More fields than the header: an error unless every extra field is blank.
        if self.width:
            tail = region.separators[region.first[wide] + self.width - 1] + 1
        else:
            tail = region.starts[wide]
        wrong_lines = wide[self._filled(region, tail, region.ends[wide])]
        region.held += [tail, wrong_lines]
        if not len(wrong_lines):
            return rows, []
        keep = np.ones(region.count, bool)
        keep[wrong_lines] = False
        region.held.append(keep)
        rows = rows[keep[rows]]
        width = str(self.width)
        befores = np.searchsorted(rows, wrong_lines).tolist()
        errors = [
            (before, RowError.of(self.line + 1 + line, "(regel)", str(delimiters + 1),
                                 "velden_aantal", width))
            for line, delimiters, before in zip(wrong_lines.tolist(), region.extra[wrong_lines].tolist(),
                                                befores, strict=True)
        ]
        return rows, errors

    def _filled(self, region: _Region, tail: np.ndarray, tail_end: np.ndarray) -> np.ndarray:
        """Whether each text span data[tail:tail_end] holds a non-blank cell."""
        data = region.data
        wrong = (tail < tail_end) & self.hard[data[tail]]
        unsure = np.flatnonzero((tail < tail_end) & ~wrong)
        region.held += [tail_end, wrong, unsure]
        if len(unsure) * _FEW > region.count:
            if region.hard is None:
                region.hard = self.hard[data]
            hard_before = np.concatenate(([0], np.cumsum(region.hard, dtype=np.int64)))
            wrong |= hard_before[tail_end] > hard_before[tail]
            soft_before = np.concatenate(([0], np.cumsum(data >= 128, dtype=np.int64)))
            unsure = unsure[(soft_before[tail_end[unsure]] > soft_before[tail[unsure]]) & ~wrong[unsure]]
            region.held += [hard_before, soft_before, unsure]
        text = region.text
        for index in unsure.tolist():
            wrong[index] = not self._blank(text(tail[index], tail_end[index]))
        return wrong

    def _blank(self, text: bytes) -> bool:
        """`_is_blank` for the record on one plain line (UTF-8), without decoding when it is ASCII."""
        rest = text.translate(None, self.blank_ascii)
        return not rest or (not rest.isascii() and _blank(text, self.delimiter))

    # the csv.reader path

    def _lines(self) -> Iterator[str]:
        """The unread lines as the text file object of `_iter_rows_csv` gives them (LF, CR LF or CR)."""
        while self.pos < len(self.buf) or self._extend():
            buf, start = self.buf, self.pos
            newline = buf.find(b"\n", start)
            stop = newline if newline >= 0 else len(buf)
            cr = buf.find(b"\r", start, stop)
            if cr >= 0 and cr + 1 != newline:
                end = cr + 1
            elif newline >= 0:
                end = newline + 1
            else:
                end = len(buf)
            self.pos = end
            yield buf[start:end].decode("utf-8")

    def _csv_records(self) -> Iterator[tuple[pa.Table, list[RowError]]]:
        """Records through csv.reader, with the logic of `_iter_rows_csv`, up to the end of the odd span.

        The span is split into lines by io.StringIO (as the text file of `_iter_rows_csv` would); a
        record still open at its end (a quoted line end) reads on with `_lines`.
        """
        chunker = self.chunker
        span_end = self._odd_span_end()
        text = self.buf[self.pos:span_end].decode("utf-8")
        span = io.StringIO(text, newline="")
        self.pos = span_end
        reader = csv.reader(itertools.chain(span, self._lines()), delimiter=self.delimiter)
        base = previous_end = self.line
        width = self.width
        lines: list[int] = []
        columns: list[list[str]] = [[] for _ in self.names]
        errors: list[tuple[int, RowError]] = []
        try:
            for record in reader:
                start = previous_end + 1
                previous_end = base + reader.line_num
                if _is_blank(record):
                    pass
                elif self.to_skip:
                    self.to_skip -= 1
                elif error := _width_error(record, width, start):
                    errors.append((len(lines), error))
                else:
                    for values, pos in zip(columns, self.positions, strict=True):
                        values.append(_cell(record, pos))
                    lines.append(start)
                    if chunker.rows + len(lines) >= chunker.size:
                        chunker.add_lists(lines, columns, errors)
                        lines, errors = [], []
                        columns = [[] for _ in self.names]
                        yield from chunker.drain()
                if span.tell() >= len(text):
                    break
        except csv.Error as exc:
            raise FileFault(_damaged_message(self.path, base + reader.line_num, exc)) from None
        self.line = base + reader.line_num
        chunker.add_lists(lines, columns, errors)
        yield from chunker.drain()


def _blank(text: bytes, delimiter: str) -> bool:
    """`_is_blank` for the record on one plain line (UTF-8)."""
    return _is_blank(text.decode("utf-8").split(delimiter))


def read_chunks(
    sources: list[Path], info, named: bool = False
) -> Iterator[tuple[pd.DataFrame, list[RowError]]]:
    """The registry's entry: raw rows of one CSV extract in chunks, with the layout noted in `info`."""
    (source,) = sources
    layout = read_layout(source)
    info.encoding, info.delimiter = layout.encoding, layout.delimiter
    info.ignored_columns = list(layout.ignored_columns)
    for table, structural in iter_tables(source, layout, chunk_rows=CHUNK_ROWS):
        # Arrow-backed `str` columns: the row rules work on them without a copy per value.
        yield table.to_pandas(), structural


def raw_header_names(path: Path, layout: ExtractLayout) -> list[str]:
    """The header's names trimmed and in lower case, underscores kept (for `kenmerk_<naam>`, contract §9)."""
    header_line, _, _ = _first_lines(path, layout.encoding)
    names = next(csv.reader([header_line], delimiter=layout.delimiter), [])
    return [n.replace("\ufeff", "").strip().lower() for n in names]
