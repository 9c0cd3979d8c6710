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


def jw301_without_aanduiding() -> bytes:
    """The published JW301 example with the AanduidingWoonadres (`TO`) taken out of the client's address.

    As published, the client's only usable address is qualified `TO` (tegenover): not the dwelling's own
    address, so Factlab rejects both rows (docs/istandaarden.md). Tests that need rows that go through use
    this copy; it still validates against the XSD (the element is optional), and its lines are numbered as
    in the published message.
    """
    from lxml import etree

    tree = etree.parse(str(ISTANDAARDEN / "JW301.xml"))
    ns = {"m": "http://www.istandaarden.nl/ijw/3_2/jw301/schema",
          "b": "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"}
    for element in tree.findall("m:Client/m:Contactgegevens/m:Contact/m:Adres/b:Huis/b:AanduidingWoonadres",
                                ns):
        before = element.getprevious()
        # A blank line in its place: line numbers stay as published.
        before.tail = (before.tail or "") + (element.tail or "")
        element.getparent().remove(element)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
