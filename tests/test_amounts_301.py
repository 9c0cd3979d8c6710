"""The Budget of a 301 ToegewezenProduct as the record's amount (docs/contract.md §12)."""

from __future__ import annotations

import pyarrow.parquet as pq
from lxml import etree
from testdata_paths import jw301_without_aanduiding

from pipelines.intake.delivery import pseudonymise_delivery
from schemas.codelist import load_code_list
from schemas.formats import AMOUNT_KIND, AMOUNT_WHOLE_ASSIGNMENT, read_metadata

M = "http://www.istandaarden.nl/ijw/3_2/jw301/schema"


def _with_budget(cents: int) -> bytes:
    """The JW301 example with a Budget on its first ToegewezenProduct, where the XSD wants it."""
    root = etree.fromstring(jw301_without_aanduiding())
    product = root.find(f".//{{{M}}}ToegewezenProduct")
    before = [c for c in product if etree.QName(c).localname in ("Einddatum", "RedenWijziging", "Omvang")][-1]
    budget = etree.Element(f"{{{M}}}Budget")
    budget.text = str(cents)
    before.addnext(budget)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_budget_is_carried_in_eurocent_and_none_is_unknown(tmp_path, test_key):
    path, out = tmp_path / "JW301.xml", tmp_path / "jw.parquet"
    path.write_bytes(_with_budget(1234567))
    result = pseudonymise_delivery(path, test_key, "jeugd", out, load_code_list())
    assert result.rows_rejected == 0
    rows = pq.read_table(out).to_pylist()
    assert sorted((r["bedrag"] for r in rows), key=lambda v: (v is None, v)) == [1234567, None]
    assert read_metadata(out)[AMOUNT_KIND] == AMOUNT_WHOLE_ASSIGNMENT
