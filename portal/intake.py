"""Turning an upload into a pseudonymised delivery entirely in memory (docs/contract.md §4, §6).

The raw bytes of a partner's extract are read from memory by the project's own readers and rules
(`pipelines.intake.delivery.checked_chunks`: the readers of `schemas.readers` and the row-rule suites),
given an in-memory stand-in for the file path; only pseudonyms, voorziening, domain and dates come out.
Nothing here writes a file: the caller stores the Parquet bytes once the partner has confirmed.

Three kinds of upload are accepted: a CSV extract, one or more iStandaarden 301 messages (XML), and the
file made by the in-browser pseudonymiser (`factlab-browserlevering`, JSON), whose addresses were
already turned into pseudonyms on the partner's own machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage.keys import Key
from linkage.pseudonyms import address_pseudonyms, building_pseudonyms, optional_address_pseudonym_column
from pipelines.intake.delivery import DeliveryResult, checked_chunks, delivery_metadata
from schemas.canonical import CANONICAL_VERSION
from schemas.codelist import CodeList
from schemas.formats import ALTERNATIVE_COLUMN, DELIVERY_SCHEMA, with_metadata
from schemas.messages import RowError
from schemas.readers.csv_reader import FileFault
from schemas.row_rules import validate_rows

KIND_CSV = "csv"
KIND_XML = "301-xml"
KIND_BROWSER = "browser"
KIND_LABELS = {
    KIND_CSV: "CSV-bestand",
    KIND_XML: "iStandaarden 301-bericht(en)",
    KIND_BROWSER: "in de browser gepseudonimiseerd bestand",
}
BROWSER_FORMAT = "factlab-browserlevering"
BROWSER_VERSION = 1
BROWSER_COLUMNS = ["regel", "adres_pseudoniem", "pand_pseudoniem", "voorziening", "begindatum", "einddatum"]
EXAMPLE_LIMIT = 500
DEDUPLICATION_KEY = ["adres_pseudoniem", "voorziening", "begindatum", "einddatum"]
_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
# Placeholder address for rows whose address the browser already checked and pseudonymised: the row
# rules then judge only voorziening and dates, so those rules stay in one place.
_CHECKED_POSTCODE, _CHECKED_HUISNUMMER = "1000AA", "1"

_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "een Excel-werkmap (.xlsx) of zip-bestand"),
    (b"\xd0\xcf\x11\xe0", "een oud Excel-bestand (.xls)"),
    (b"%PDF", "een PDF-bestand"),
    (b"\x89PNG", "een afbeelding"),
    (b"\xff\xd8\xff", "een afbeelding"),
    (b"PAR1", "een Parquet-bestand"),
)


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


class InMemoryFolder:
    """Several uploaded 301 messages, offered to the delivery reader as a folder of files."""

    def __init__(self, name: str, files: list[InMemoryExtract]) -> None:
        self.name = name
        self._files = files

    def __str__(self) -> str:
        return self.name

    def is_dir(self) -> bool:
        return True

    def is_file(self) -> bool:
        return False

    def exists(self) -> bool:
        return True

    def iterdir(self) -> Iterator[InMemoryExtract]:
        return iter(self._files)


@dataclass
class IntakeResult:
    """The checked, pseudonymised upload. Holds pseudonyms only, plus the errors shown to the partner."""

    kind: str
    display_name: str
    upload_sha256: str
    upload_bytes: int
    rows_read: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_rejected_in_browser: int = 0
    errors_by_rule: Counter[str] = field(default_factory=Counter)
    examples: list[RowError] = field(default_factory=list, repr=False)
    encoding: str = ""
    delimiter: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    files: int = 1
    messages: dict[str, int] = field(default_factory=dict)
    table: pa.Table | None = field(default=None, repr=False)

    @property
    def rows_written(self) -> int:
        return 0 if self.table is None else self.table.num_rows

    def record(self, errors: list[RowError]) -> None:
        self.errors_by_rule.update(e.code for e in errors)
        room = EXAMPLE_LIMIT - len(self.examples)
        if room > 0:
            self.examples.extend(errors[:room])


def display_name(filename: str | None) -> str:
    """A harmless name to show in messages: the last path component, printable, at most 80 characters.

    The name the browser sends is only ever shown (escaped), never used as a path.
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:80] or "upload"


def detect_kind(data: bytes, name: str) -> str:
    """What the upload is, judged by its content; raises FileFault for anything the portal cannot read."""
    if not data.strip():
        raise FileFault(f"{name}: het bestand is leeg")
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            advice = "lever een CSV-bestand of 301-bericht aan"
            if "Excel" in what:
                advice = "sla het in Excel op als 'CSV UTF-8' of 'CSV (puntkomma gescheiden)'; lever dat aan"
            raise FileFault(f"{name}: dit is {what}; {advice}")
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return KIND_XML
    if head.startswith(b"{"):
        return KIND_BROWSER
    if b"\x00" in data[:4096]:
        raise FileFault(f"{name}: dit is geen tekstbestand; lever een CSV-bestand of 301-bericht aan")
    return KIND_CSV


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
    named = _unique_names([(display_name(name), data) for name, data in files])
    kinds = [detect_kind(data, name) for name, data in named]
    if len(named) > 1 and any(kind != KIND_XML for kind in kinds):
        raise FileFault(
            "meerdere bestanden tegelijk kan alleen bij 301-berichten (.xml); lever één CSV-bestand "
            "of één gepseudonimiseerd bestand per keer aan"
        )
    kind = kinds[0]
    name = named[0][0] if len(named) == 1 else f"{len(named)} berichten"
    result = IntakeResult(
        kind, name, upload_digest(named), sum(len(data) for _, data in named), files=len(named)
    )
    if kind == KIND_BROWSER:
        chunks = _browser_chunks(named[0][1], name, key, codes, result)
    else:
        chunks = _extract_chunks(named, key, codes, result)
    tables = [chunk for chunk in chunks if chunk.num_rows]
    staged = pa.concat_tables(tables) if tables else _STAGING_SCHEMA.empty_table()
    result.table = _deduplicate(staged, result, [n for n, _ in named] if len(named) > 1 else None)
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


_STAGING_SCHEMA = DELIVERY_SCHEMA.append(pa.field("bron", pa.int32())).append(pa.field("regel", pa.int64()))


def _extract_chunks(
    named: list[tuple[str, bytes]], key: Key, codes: CodeList, result: IntakeResult
) -> Iterator[pa.Table]:
    """CSV or 301 messages through the same reader and rules as `factlab pseudonymise`."""
    extracts = [InMemoryExtract(name, data) for name, data in named]
    source = extracts[0] if len(extracts) == 1 else InMemoryFolder("upload", extracts)
    reading = DeliveryResult()
    for valid, errors, rows_read in checked_chunks(source, codes, reading):
        result.rows_read += rows_read
        result.rows_rejected += len({(e.bestand, e.regel) for e in errors})
        result.record(errors)
        yield _staging_table(
            address_pseudonyms(key, valid["canoniek"]), building_pseudonyms(key, valid["pand"]), valid,
            optional_address_pseudonym_column(key, valid["canoniek_alt"]),
        )
    result.encoding, result.delimiter = reading.encoding, reading.delimiter
    result.ignored_columns = list(reading.ignored_columns)
    result.messages = dict(reading.messages)


def _staging_table(
    adres: list[str], pand: list[str], valid: pd.DataFrame, alternative: pa.Array | None = None
) -> pa.Table:
    """`alternative`: the adres pseudonyms of the alternative readings (docs/contract.md §3 step 8). The
    in-browser pseudonymiser makes none, so its rows get null (None)."""
    bron = valid["bron"].tolist() if "bron" in valid else [0] * len(valid)
    if alternative is None:
        alternative = pa.nulls(len(valid), pa.string())
    return pa.table(
        {
            "adres_pseudoniem": adres,
            "pand_pseudoniem": pand,
            "voorziening": valid["voorziening"].tolist(),
            "domein": valid["domein"].tolist(),
            "begindatum": pa.array(valid["begindatum"].tolist(), pa.date32()),
            "einddatum": pa.array(
                [None if pd.isna(d) else d for d in valid["einddatum"].tolist()], pa.date32()
            ),
            ALTERNATIVE_COLUMN: alternative,
            "bron": pa.array(bron, pa.int32()),
            "regel": pa.array(valid["regel"].tolist(), pa.int64()),
        },
        schema=_STAGING_SCHEMA,
    )


def _browser_chunks(
    data: bytes, name: str, key: Key, codes: CodeList, result: IntakeResult
) -> Iterator[pa.Table]:
    document = _browser_document(data, name, key)
    rows = document["rijen"]
    frame = pd.DataFrame(rows, columns=BROWSER_COLUMNS, dtype="object")
    bad = _first_malformed_row(frame)
    if bad is not None:
        raise FileFault(
            f"{name}: rij {bad + 1} van het bestand is beschadigd; maak het bestand opnieuw aan "
            "met de pseudonimiseerpagina"
        )
    rejected_in_browser = document["regels_afgekeurd"]
    result.rows_read = document["regels_gelezen"]
    result.rows_rejected_in_browser = rejected_in_browser
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
    result.rows_rejected = rejected_in_browser + len({e.regel for e in errors})
    result.record(errors)
    pseudonyms = frame.set_index(frame["regel"].astype("int64"))
    chosen = pseudonyms.loc[valid["regel"].tolist()]
    yield _staging_table(chosen["adres_pseudoniem"].tolist(), chosen["pand_pseudoniem"].tolist(), valid)


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


def _deduplicate(staged: pa.Table, result: IntakeResult, sources: list[str] | None) -> pa.Table:
    """One record per address, voorziening and dates (the first line wins), in pseudonym order.

    The same rule as `pipelines.intake.delivery`: a repeated row counts once and is reported as a duplicate.
    """
    frame = staged.to_pandas(date_as_object=True).sort_values(["bron", "regel"], kind="stable")
    groups = frame.groupby(DEDUPLICATION_KEY, dropna=False, sort=False)
    first_bron = groups["bron"].transform("first")
    first_regel = groups["regel"].transform("first")
    duplicate = (frame["bron"] != first_bron) | (frame["regel"] != first_regel)
    dup_errors = []
    for bron, regel, orig_bron, orig_regel in zip(
        frame.loc[duplicate, "bron"],
        frame.loc[duplicate, "regel"],
        first_bron[duplicate],
        first_regel[duplicate],
        strict=True,
    ):
        name = sources[bron] if sources else ""
        first = (
            str(orig_regel) if not sources or orig_bron == bron else f"{orig_regel} van {sources[orig_bron]}"
        )
        dup_errors.append(RowError.of(int(regel), "(regel)", "", "dubbele_regel", first, bestand=name))
    result.rows_duplicate = len(dup_errors)
    result.record(dup_errors)
    kept = frame.loc[~duplicate].sort_values(DEDUPLICATION_KEY, kind="stable", na_position="first")
    return pa.Table.from_pandas(
        kept.drop(columns=["bron", "regel"]), schema=DELIVERY_SCHEMA, preserve_index=False
    )


def warm_up(codes: CodeList) -> None:
    """Build the row-rule suites before the first partner waits for them (made-up row, throw-away key)."""
    from linkage.keys import new_key

    sample = b"postcode;huisnummer;voorziening;begindatum\r\n1234AB;1;01;01-01-2026\r\n"
    check_upload([("opwarmen.csv", sample)], new_key(), codes)


def delivery_parquet(result: IntakeResult, partner: str, key: Key) -> bytes:
    """The delivery as Parquet bytes with the metadata of docs/contract.md §6."""
    metadata = {**delivery_metadata(result, partner, key), "aangeleverd_via": f"portal:{result.kind}"}
    buffer = io.BytesIO()
    table = result.table if result.table is not None else DELIVERY_SCHEMA.empty_table()
    pq.write_table(with_metadata(table, metadata), buffer)
    return buffer.getvalue()
