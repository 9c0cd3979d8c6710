"""Where the tests find their fixed material: all of it inside the repository (tests/testdata/).

`vectors/` is a copy of the project's published test vectors and test key (never use that key for real
data); `istandaarden/` holds the public JW301/WMO301 example messages of the Ketenbureau i-Sociaal Domein;
`bag/` holds real addresses from a public Amsterdam BAG extract (source in `bag/bag_adressen.BRON.md`).
"""

from __future__ import annotations

from pathlib import Path

TESTDATA = Path(__file__).resolve().parent / "testdata"
VECTORS = TESTDATA / "vectors"
ISTANDAARDEN = TESTDATA / "istandaarden"
