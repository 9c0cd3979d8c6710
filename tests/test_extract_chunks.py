"""Big files are read in chunks: the outcome must not depend on where the chunks split."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from testdata_paths import ISTANDAARDEN, jw301_without_aanduiding

import pipelines.intake.delivery as delivery
from schemas.codelist import load_code_list
from schemas.readers import csv_reader

EXTRACTS = Path(__file__).parent / "testdata" / "extracts"
EXAMPLES = ISTANDAARDEN


def _run(source: Path, work: Path, key) -> tuple[delivery.DeliveryResult, bytes, list]:
    work.mkdir()
    result = delivery.pseudonymise_delivery(source, key, "p", work / "uit.parquet", load_code_list(),
                                            work / "afgekeurd.csv")
    table = pq.read_table(work / "uit.parquet").replace_schema_metadata(None)
    return result, (work / "afgekeurd.csv").read_bytes(), table.to_pylist()


@pytest.mark.parametrize("chunk_rows", [1, 4])
def test_small_chunks_give_the_same_rows_rejects_and_duplicates(tmp_path, monkeypatch, test_key, chunk_rows):
    whole, whole_rejects, whole_rows = _run(EXTRACTS / "fouten.csv", tmp_path / "heel", test_key)
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", chunk_rows)
    split, split_rejects, split_rows = _run(EXTRACTS / "fouten.csv", tmp_path / "blokken", test_key)
    assert split_rows == whole_rows
    assert split_rejects == whole_rejects
    assert (split.rows_read, split.rows_rejected, split.rows_duplicate, split.rows_written) == (
        whole.rows_read, whole.rows_rejected, whole.rows_duplicate, whole.rows_written)
    assert split.rows_duplicate == 1, "a duplicate in a later chunk is still found"


def test_messages_are_checked_in_chunks_across_files(tmp_path, monkeypatch, test_key):
    folder = tmp_path / "berichten"
    folder.mkdir()
    for n in range(3):
        (folder / f"JW301-{n}.xml").write_bytes(jw301_without_aanduiding())
    shutil.copyfile(EXAMPLES / "WMO301.xml", folder / "WMO301.xml")
    whole, whole_rejects, whole_rows = _run(folder, tmp_path / "heel", test_key)
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 3)
    split, split_rejects, split_rows = _run(folder, tmp_path / "blokken", test_key)
    assert (split_rows, split_rejects) == (whole_rows, whole_rejects)
    assert (split.rows_read, split.rows_rejected, split.rows_duplicate, split.rows_written) == (7, 1, 4, 2)
