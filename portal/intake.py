"""Turning an upload into a pseudonymised delivery entirely in memory (docs/contract.md §4, §6).

A thin bytes adapter over `pipelines.intake.delivery`: the reader registry (`schemas.readers.registry`)
names the format, `judged_chunks` reads and judges the rows from in-memory stand-ins for the files,
`staging_table` pseudonymises them, and the delivery's own named SQL units (`duplicate_rows`, `records`)
deduplicate them on an in-memory DuckDB (`portal.dedup`). Only pseudonyms, voorziening, domain and
dates come out. Nothing here writes a file: the caller stores the Parquet bytes once the partner has
confirmed.

Three kinds of upload are accepted: a CSV extract, one or more iStandaarden 301 messages (XML), and the
file made by the in-browser pseudonymiser (`factlab-browserlevering`, JSON), whose addresses were
already turned into pseudonyms on the partner's own machine. Only that last kind is the portal's own.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.keys import Key
from pipelines.intake.delivery import DeliveryResult, delivery_metadata, judged_chunks, staging_table
from portal.dedup import deduplicate
from schemas.canonical import CANONICAL_VERSION
from schemas.codelist import CodeList
from schemas.formats import DELIVERY_SCHEMA, with_metadata
from schemas.messages import RowError
from schemas.readers.csv_reader import FileFault
from schemas.readers.registry import HEAD_BYTES, READERS, Reader, reader_for
from schemas.row_rules import validate_rows

KIND_BROWSER = "browser"
KIND_LABELS = {
    **{reader.name: reader.label for reader in READERS.values()},
    KIND_BROWSER: "in de browser gepseudonimiseerd bestand",
}
BROWSER_FORMAT = "factlab-browserlevering"
BROWSER_VERSION = 1
BROWSER_COLUMNS = ["regel", "adres_pseudoniem", "pand_pseudoniem", "voorziening", "begindatum", "einddatum"]
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
# Placeholder address for rows whose address the browser already checked and pseudonymised: the row
# rules then judge only voorziening and dates, so those rules stay in one place.
_CHECKED_POSTCODE, _CHECKED_HUISNUMMER = "1000AA", "1"


class InMemoryExtract:
    """An uploaded extract held in memory, readable by `schemas.readers.csv_reader` like a file path.

    It offers the few Path methods the reader uses; there is no path, so nothing can touch disk.
    """

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self._data = data

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1]

    def __repr__(self) -> str:
        return f"InMemoryExtract({self.name!r}, {len(self._data)} bytes)"

    def __str__(self) -> str:
        return self.name

    def is_file(self) -> bool:
        return True

    def is_dir(self) -> bool:
        return False

    def exists(self) -> bool:
        return True

    def stat(self) -> os.stat_result:
        return os.stat_result((0o100600, 0, 0, 1, 0, 0, len(self._data), 0, 0, 0))

    def read_bytes(self) -> bytes:
        return self._data

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return self._data.decode(encoding or "utf-8", errors or "strict")

    def open(
        self,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> io.IOBase:
        raw = io.BytesIO(self._data)
        if "b" in mode:
            return raw
        return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)


@dataclass
class IntakeResult(DeliveryResult):
    """The checked, pseudonymised upload: a `DeliveryResult` plus what only the portal shows.

    A subclass, not a holder: the delivery path (`judged_chunks`, `duplicate_rows`, `delivery_metadata`)
    fills and reads it directly, so every count or note the delivery path gains reaches the portal as is.
    Holds pseudonyms only, plus the errors shown to the partner (`listed`, `examples`).
    """

    kind: str = ""
    display_name: str = ""
    upload_sha256: str = ""
    upload_bytes: int = 0
    rows_rejected_in_browser: int = 0
    files: int = 1
    records_parquet: bytes = field(default=b"", repr=False)
    """The kept records (zstd Parquet, `portal.dedup`): compact while the partner decides."""

    @property
    def table(self) -> pa.Table | None:
        return pq.read_table(io.BytesIO(self.records_parquet)) if self.records_parquet else None


def display_name(filename: str | None) -> str:
    """A harmless name to show in messages: the last path component, printable, at most 80 characters.

    The name the browser sends is only ever shown (escaped), never used as a path.
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:80] or "upload"


def detect_reader(data: bytes, name: str) -> Reader | None:
    """The reader of an upload, judged by its content; None for the browser file (portal only).

    Raises FileFault (Dutch) for an empty file and, through the registry, for binary files.
    """
    if not data.strip():
        raise FileFault(f"{name}: het bestand is leeg")
    if data[:HEAD_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return None
    return reader_for(data[:HEAD_BYTES], name)


def upload_digest(files: list[tuple[str, bytes]]) -> str:
    """SHA-256 of the one uploaded file; for several, of their `sha256sum`-style list (name order)."""
    if len(files) == 1:
        return hashlib.sha256(files[0][1]).hexdigest()
    listing = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def check_upload(files: list[tuple[str | None, bytes]], key: Key, codes: CodeList) -> IntakeResult:
    """Validate and pseudonymise an upload in memory; raises FileFault (Dutch) when nothing can be used.

    `files` is one CSV extract, one browser file, or one or more 301 messages, as (name, bytes).
    """
    if not files:
        raise FileFault("er is geen bestand gekozen")
    shown = [(display_name(name), data) for name, data in files]
    readers = [detect_reader(data, name) for name, data in shown]
    reader = readers[0]
    if len(shown) > 1 and not all(r is not None and r.many_files and r == reader for r in readers):
        raise FileFault(
            "meerdere bestanden tegelijk kan alleen bij 301-berichten (.xml); lever één CSV-bestand "
            "of één gepseudonimiseerd bestand per keer aan"
        )
    named = _unique_names(shown)
    result = IntakeResult(
        kind=KIND_BROWSER if reader is None else reader.name,
        display_name=named[0][0] if len(named) == 1 else f"{len(named)} berichten",
        upload_sha256=upload_digest(named),
        upload_bytes=sum(len(data) for _, data in named),
        files=len(named),
        sources=[name for name, _ in named],
        folder=len(named) > 1,
    )
    if reader is None:
        chunks = _browser_chunks(named[0][1], result.display_name, key, codes, result)
    else:
        chunks = _extract_chunks(reader, named, key, codes, result)
    result.records_parquet = deduplicate([chunk for chunk in chunks if chunk.num_rows], result)
    return result


def _unique_names(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Errors name a message by its file name: two uploads with one name get a number.

    Several files are all 301 messages (judged by content), so each gets the `.xml` the reader expects.
    """
    if len(files) == 1:
        return files
    seen: dict[str, int] = {}
    unique = []
    for name, data in files:
        stem = name[:-4] if name.lower().endswith(".xml") else name
        seen[stem.lower()] = seen.get(stem.lower(), 0) + 1
        count = seen[stem.lower()]
        unique.append((f"{stem}.xml" if count == 1 else f"{stem} ({count}).xml", data))
    return unique


def _extract_chunks(
    reader: Reader, named: list[tuple[str, bytes]], key: Key, codes: CodeList, result: IntakeResult
) -> Iterator[pa.Table]:
    """CSV or 301 messages through the same reader, rules and staging as `factlab pseudonymise`."""
    sources = [InMemoryExtract(name, data) for name, data in named]
    for valid, errors, rows_read in judged_chunks(reader, sources, codes, result, named=result.folder):
        _count(result, errors, rows_read)
        yield staging_table(valid, key)


def _count(result: IntakeResult, errors: list[RowError], rows_read: int) -> None:
    """Count a judged chunk as `pseudonymise_delivery` does: a rejected row once, however many errors."""
    result.rows_read += rows_read
    result.rows_rejected += len({(e.bestand, e.regel) for e in errors})
    result.record(errors)


def _browser_chunks(
    data: bytes, name: str, key: Key, codes: CodeList, result: IntakeResult
) -> Iterator[pa.Table]:
    """The browser's rows judged on voorziening and dates by the CSV rules; its pseudonyms go on as given."""
    document = _browser_document(data, name, key)
    frame = pd.DataFrame(document["rijen"], columns=BROWSER_COLUMNS, dtype="object")
    bad = _first_malformed_row(frame)
    if bad is not None:
        raise FileFault(
            f"{name}: rij {bad + 1} van het bestand is beschadigd; maak het bestand opnieuw aan "
            "met de pseudonimiseerpagina"
        )
    result.rows_rejected_in_browser = document["regels_afgekeurd"]
    checked = pd.DataFrame(
        {
            "regel": frame["regel"].astype("int64"),
            "postcode": _CHECKED_POSTCODE,
            "huisnummer": _CHECKED_HUISNUMMER,
            "huisletter": "",
            "huisnummertoevoeging": "",
            "voorziening": frame["voorziening"].astype(str),
            "begindatum": frame["begindatum"].astype(str),
            "einddatum": frame["einddatum"].fillna("").astype(str),
        }
    )
    valid, errors = validate_rows(checked, codes)
    result.rows_read = document["regels_gelezen"]
    result.rows_rejected = document["regels_afgekeurd"]
    _count(result, errors, 0)
    chosen = frame.set_index(frame["regel"].astype("int64")).loc[valid["regel"].tolist()]
    pseudonyms = (
        pa.array(chosen["adres_pseudoniem"].tolist(), pa.string()),
        pa.array(chosen["pand_pseudoniem"].tolist(), pa.string()),
    )
    yield staging_table(valid, key, pseudonyms)


def _browser_document(data: bytes, name: str, key: Key) -> dict:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FileFault(
            f"{name}: dit bestand is niet te lezen; lever een CSV-bestand, een 301-bericht of "
            "het bestand van de pseudonimiseerpagina aan"
        ) from None
    if not isinstance(document, dict) or document.get("formaat") != BROWSER_FORMAT:
        raise FileFault(f"{name}: dit is geen bestand van de pseudonimiseerpagina van Factlab")
    if document.get("versie") != BROWSER_VERSION or document.get("canonical_version") != CANONICAL_VERSION:
        raise FileFault(
            f"{name}: dit bestand is gemaakt met een andere versie van de pseudonimiseerpagina; "
            "download de pagina opnieuw van de portal"
        )
    if document.get("key_id") != key.key_id:
        raise FileFault(
            f"{name}: het bestand is gepseudonimiseerd met sleutel {str(document.get('key_id'))[:16]!s}, "
            f"maar deze portal gebruikt sleutel {key.key_id}; gebruik het sleutelbestand dat u van de "
            "gemeente voor deze periode kreeg"
        )
    if document.get("kolommen") != BROWSER_COLUMNS or not isinstance(document.get("rijen"), list):
        raise FileFault(f"{name}: de kolommen van het bestand kloppen niet; maak het opnieuw aan")
    for count in ("regels_gelezen", "regels_afgekeurd"):
        if not isinstance(document.get(count), int) or document[count] < 0:
            raise FileFault(
                f"{name}: het veld '{count}' ontbreekt of is geen getal; maak het bestand opnieuw aan"
            )
    if document["regels_afgekeurd"] + len(document["rijen"]) > document["regels_gelezen"]:
        raise FileFault(f"{name}: de aantallen in het bestand kloppen niet; maak het bestand opnieuw aan")
    return document


def _first_malformed_row(frame: pd.DataFrame) -> int | None:
    """Position of the first row that the pseudonymiser page cannot have written; None when all are fine."""
    for position, row in enumerate(frame.itertuples(index=False)):
        regel, adres, pand, voorziening, begin, einde = row
        if (
            not isinstance(regel, int)
            or isinstance(regel, bool)
            or regel < 2
            or not isinstance(adres, str)
            or not _PSEUDONYM.match(adres)
            or not isinstance(pand, str)
            or not _PSEUDONYM.match(pand)
            or not all(isinstance(v, str) and len(v) <= 200 for v in (voorziening, begin))
            or not (einde is None or (isinstance(einde, str) and len(einde) <= 200))
        ):
            return position
    if frame["regel"].duplicated().any():
        return int(frame.index[frame["regel"].duplicated()][0])
    return None


def warm_up(codes: CodeList) -> None:
    """Build the row-rule suites before the first partner waits for them (made-up row, throw-away key)."""
    from linkage.keys import new_key

    sample = b"postcode;huisnummer;voorziening;begindatum\r\n1234AB;1;01;01-01-2026\r\n"
    check_upload([("opwarmen.csv", sample)], new_key(), codes)


def delivery_parquet(result: IntakeResult, partner: str, key: Key) -> bytes:
    """The delivery as Parquet bytes with the metadata of docs/contract.md §6."""
    metadata = {**delivery_metadata(result, partner, key), "aangeleverd_via": f"portal:{result.kind}"}
    buffer = io.BytesIO()
    table = result.table  # decoded once from the compact records
    if table is None:
        table = DELIVERY_SCHEMA.empty_table()
    pq.write_table(with_metadata(table, metadata), buffer)
    return buffer.getvalue()
