"""The repository carries its own copies of the published test vectors and example messages.

When the project's shared folder (../shared) sits beside the checkout, the copies must equal it byte for
byte; a user's clone has no such folder, and then there is nothing to compare.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testdata_paths import ISTANDAARDEN, VECTORS

SHARED = Path(__file__).resolve().parents[2] / "shared"
XSD = Path(__file__).resolve().parents[1] / "schemas" / "readers" / "xsd"
PAIRS = [
    (VECTORS / "pseudoniemen-v1.csv", SHARED / "vectors" / "pseudoniemen-v1.csv"),
    (VECTORS / "testsleutel.json", SHARED / "vectors" / "testsleutel.json"),
    (ISTANDAARDEN / "JW301.xml", SHARED / "reference" / "istandaarden" / "JW301.xml"),
    (ISTANDAARDEN / "WMO301.xml", SHARED / "reference" / "istandaarden" / "WMO301.xml"),
] + [
    (XSD / standard / name, SHARED / "reference" / "istandaarden" / "xsd" / standard / name)
    for standard, names in (
        ("ijw", ("JW301.xsd", "basisschema.xsd")),
        ("iwmo", ("WMO301.xsd", "basisschema.xsd")),
    )
    for name in names
]


@pytest.mark.parametrize(("ours", "published"), PAIRS, ids=[f"{p[0].parent.name}/{p[0].name}" for p in PAIRS])
def test_copy_equals_the_published_file_when_present(ours: Path, published: Path):
    assert ours.is_file(), f"{ours} ontbreekt in de repository"
    if not published.is_file():
        pytest.skip("geen ../shared naast deze checkout (zoals bij een gebruiker)")
    assert ours.read_bytes() == published.read_bytes()
