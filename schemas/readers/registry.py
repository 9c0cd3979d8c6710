"""The reader registry: every partner file format Factlab reads, found by content, read in chunks.

A reader knows how to recognise its format from the first bytes and the name, which rule suite judges
its rows, and how to turn one delivery (a file, or a folder of files when `many_files`) into chunks of
raw rows with their line numbers. The CLI (`pipelines.intake.delivery`) and the portal
(`portal.intake`) both dispatch through `reader_for`. Adding a partner format is one module with a
`Reader` plus one entry in `READERS`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from schemas.expectation_suites import CSV_SUITE, MESSAGE_SUITE
from schemas.messages import RowError
from schemas.readers import csv_reader, istandaard
from schemas.readers.csv_reader import refuse_binary


class ReadInfo(Protocol):
    """What a reader notes about a delivery while reading it (shown to the partner)."""

    encoding: str
    delimiter: str
    ignored_columns: list[str]
    messages: Counter[str]
    """301 messages read, per kind (JW301, WMO301)."""
    superseded: int
    """301: ToegewezenProducten replaced by a later version of their toewijzing (not rows, not errors)."""
    withdrawn: int
    """301: ToegewezenProducten of toewijzingen withdrawn with RedenWijziging 13 (not rows, not errors)."""


RawChunk = tuple[pd.DataFrame, list[RowError]]
"""Raw rows of a chunk (strings, with `regel` and for many files `bron`) and structural row errors."""


@dataclass(frozen=True)
class Reader:
    name: str
    label: str
    """Dutch name of the format, for messages and the portal."""
    suite: str
    """The rule suite (schemas/suites/<suite>.json) that judges the rows."""
    many_files: bool
    """A delivery may be a folder (or an upload) of several files of this format."""
    suffix: str
    detect: Callable[[bytes, str], bool]
    """Whether a file with these first bytes and this name is of this format."""
    read: Callable[[list[Path], ReadInfo, bool], Iterator[RawChunk]]
    """Chunks of raw rows of a delivery's files; the flag says whether rows must name their file."""


def _looks_like_xml(head: bytes, name: str) -> bool:
    return name.lower().endswith(".xml") or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


READERS: dict[str, Reader] = {
    "301-xml": Reader(
        "301-xml", "iStandaarden 301-bericht(en)", MESSAGE_SUITE, True, ".xml", _looks_like_xml,
        istandaard.read_chunks,
    ),
    "csv": Reader(
        "csv", "CSV-bestand", CSV_SUITE, False, ".csv", lambda head, name: True, csv_reader.read_chunks
    ),
}
"""In order of precedence: the first whose `detect` says yes reads the file (CSV takes the rest)."""

HEAD_BYTES = 4096


def reader_for(head: bytes, name: str) -> Reader:
    """The reader of a file, judged by its first bytes and name; FileFault (Dutch) for binary files."""
    refuse_binary(name, head)
    return next(reader for reader in READERS.values() if reader.detect(head, name))


def reader_of_path(path: Path) -> Reader:
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise csv_reader.unreadable(path, exc) from None
    return reader_for(head, path.name)
