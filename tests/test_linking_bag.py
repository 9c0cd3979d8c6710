"""Linking real BAG addresses typed the way people type them (docs/contract.md §3 step 8, §7).

The register is built from real addresses of the Amsterdam BAG (tests/testdata/bag/, source in
`bag_adressen.BRON.md`), with huisletter and toevoeging in their own columns as the BAG writes them. A
partner types the same addresses into one huisnummer column: `107-H`, `121 H`, `106 h`, `105H`, `12a`,
`12-2`, with lower case and spaces, and sometimes with the digits run together (`1071` for 107-1). Each
typing style is one partner, so kwaliteit.csv says per style how its records linked, and each register
address has a buurt of its own, so the linked buurten say which address a record reached.

Expected links come from tests/truth.py (the contract in plain Python, no project code), and the bar of
the issue is asserted on its own: every record except those with run-together digits links by address or
by the alternative reading, to the address that was meant.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sample_loader import load_module
from testdata_paths import TESTDATA

from linkage.linking import describe_delivery, link_deliveries
from pipelines.intake.delivery import pseudonymise_delivery
from pipelines.intake.register import pseudonymise_register
from schemas.codelist import load_code_list
from schemas.periods import parse_period

truth = load_module("factlab_truth", Path(__file__).with_name("truth.py"))

BAG = TESTDATA / "bag"
BAG_FILES = ("bag_adressen.csv", "bag_adressen_extra_zonder_straat.csv")
PERIOD = "2026"

# Per kind of BAG address, the ways its house number gets typed into one column: (style, format).
# `n` = huisnummer, `L`/`l` = huisletter upper/lower, `T`/`t` = a one-letter toevoeging, `d` = digits.
STYLES = {
    "zonder": [("kaal", "{n}"), ("spaties", " {n} ")],
    "letter": [("letter_vast_klein", "{n}{l}"), ("letter_spatie", "{n} {L}"), ("letter_streep", "{n}-{L}"),
               ("letter_vast", "{n}{L}"), ("letter_spatie_klein", "{n} {l}")],
    "toevoeging_letter": [("h_streep", "{n}-{T}"), ("h_spatie", "{n} {T}"), ("h_spatie_klein", "{n} {t}"),
                          ("h_vast", "{n}{T}"), ("h_vast_klein", "{n}{t}"),
                          ("h_spaties_streep", "{n} - {t}")],
    "toevoeging_cijfers": [("cijfer_streep", "{n}-{d}"), ("cijfer_spatie", "{n} {d}"),
                           ("cijfer_schuin", "{n}/{d}"), ("cijfers_aaneen", "{n}{d}")],
    "letter_toevoeging": [("letter_cijfer_streep", "{n}{L}-{d}"), ("letter_cijfer_spaties", "{n} {l} {d}"),
                          ("letter_cijfer_vast", "{n}{l}{d}")],
}
RUN_TOGETHER = "cijfers_aaneen"
OTHER_FLAT = "ander_nummer"
"""Every address with a toevoeging the register does not know (`-99`): links by pand only when the pand
has one address, else not at all."""


def _postcode(postcode: str, position: int) -> str:
    digits, letters = postcode[:4], postcode[4:]
    return [postcode, postcode.lower(), f"{digits} {letters}", f" {digits} {letters.lower()}"][position % 4]


def _kind(letter: str, toev: str) -> str:
    if letter and toev:
        return "letter_toevoeging"
    if letter:
        return "letter"
    if not toev:
        return "zonder"
    return "toevoeging_letter" if len(toev) == 1 and toev.isalpha() else "toevoeging_cijfers"


def bag_addresses() -> list[dict[str, str]]:
    rows = []
    for name in BAG_FILES:
        with (BAG / name).open(encoding="utf-8", newline="") as handle:
            rows += list(csv.DictReader(handle, delimiter=";"))
    return rows


@pytest.fixture(scope="module")
def bag(tmp_path_factory, test_key):
    folder = tmp_path_factory.mktemp("bag")
    addresses = bag_addresses()
    register_csv = folder / "adressen.csv"
    with register_csv.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["postcode", "huisnummer", "huisletter", "huisnummertoevoeging", "buurtcode"])
        for number, a in enumerate(addresses):
            writer.writerow([a["postcode"], a["huisnummer"], a["huisletter"], a["huisnummertoevoeging"],
                             f"BU0363{number:04d}"])
    register = folder / "register.parquet"
    pseudonymise_register(register_csv, test_key, register)
    typed: dict[str, list[tuple[int, str, str]]] = {}  # style → (address number, postcode, huisnummer)
    for number, a in enumerate(addresses):
        n, letter, toev = a["huisnummer"], a["huisletter"], a["huisnummertoevoeging"]
        for style, form in STYLES[_kind(letter, toev)]:
            text = form.format(n=n, L=letter, l=letter.lower(), T=toev, t=toev.lower(), d=toev)
            typed.setdefault(style, []).append((number, _postcode(a["postcode"], number), text))
        typed.setdefault(OTHER_FLAT, []).append((number, a["postcode"], f"{n}-99"))
    codes = load_code_list()
    deliveries = []
    for style, rows in typed.items():
        extract = folder / f"{style}.csv"
        with extract.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(["postcode", "huisnummer", "voorziening", "begindatum"])
            # A date of its own per line: two lines typed alike (`35-99` for 35-H and 35-1) stay two records.
            writer.writerows([postcode, text, "01", (date(2026, 1, 1) + timedelta(days=i)).isoformat()]
                             for i, (_, postcode, text) in enumerate(rows))
        out = folder / f"{style}.parquet"
        result = pseudonymise_delivery(extract, test_key, style, out, codes)
        assert result.rows_rejected == 0, style
        deliveries.append(describe_delivery(out))
    return addresses, typed, register, deliveries


def expected_links(addresses, typed) -> dict[str, list[tuple[str, int | None, int]]]:
    """Per style, per record: (koppeling, register address number or None, the address meant)."""
    register = {}
    for number, a in enumerate(addresses):
        canonical = truth.contract_reading(a["postcode"], a["huisnummer"], a["huisletter"],
                                           a["huisnummertoevoeging"])[0]
        assert canonical not in register, "the BAG rows are distinct addresses"
        register[canonical] = number
    links = {}
    for style, rows in typed.items():
        links[style] = []
        for meant, postcode, text in rows:
            canonical, _, alternative = truth.contract_reading(postcode, text)
            kind, number = truth.expected_link(canonical, alternative, register)
            links[style].append((kind, number, meant))
    return links


def test_fixture_is_the_real_bag_extract_with_its_source():
    addresses = bag_addresses()
    note = (BAG / "bag_adressen.BRON.md").read_text(encoding="utf-8")
    assert "Amsterdam/bag_services" in note
    assert len(addresses) >= 150
    assert all(a["bron"].startswith("github:Amsterdam/bag_services@") for a in addresses)
    kinds = Counter(_kind(a["huisletter"], a["huisnummertoevoeging"]) for a in addresses)
    assert kinds["toevoeging_letter"] >= 15 and kinds["letter"] >= 30 and kinds["toevoeging_cijfers"] >= 30


def test_all_but_run_together_digits_link_by_address_or_alternative(bag):
    """The bar of the issue, on the rule alone: typed freely, an address reaches the address meant."""
    addresses, typed, _, _ = bag
    links = expected_links(addresses, typed)
    for style, records in links.items():
        if style in (RUN_TOGETHER, OTHER_FLAT):
            continue
        for kind, number, meant in records:
            assert (kind in ("adres", "alternatief"), number) == (True, meant), (style, kind)
    # `107-H` and its kin need the alternative reading: the BAG has toevoeging H, people type a letter.
    for style, _ in STYLES["toevoeging_letter"]:
        assert {kind for kind, _, _ in links[style]} == {"alternatief"}, style
    assert {kind for kind, _, _ in links[RUN_TOGETHER]} <= {"pand", "geen"}
    other = Counter(kind for kind, _, _ in links[OTHER_FLAT])
    assert other["pand"] >= 10 and other["geen"] >= 10 and other["pand"] + other["geen"] == len(addresses)


def test_the_pipeline_links_every_style_as_the_rule_says(bag):
    addresses, typed, register, deliveries = bag
    links = expected_links(addresses, typed)
    result = link_deliveries(deliveries, register, parse_period(PERIOD), ("gemeente", "buurt"))
    quality = result.quality.set_index("partner")
    assert sorted(quality.index) == sorted(typed)
    for style, records in links.items():
        kinds = Counter(kind for kind, _, _ in records)
        got = {kind: int(quality.loc[style, column]) for kind, column in truth.LINK_KINDS.items()}
        assert got == {kind: kinds[kind] for kind in truth.LINK_KINDS}, style
    by_alternative = sum(int(quality.loc[style, "gekoppeld_alternatief"]) for style in typed)
    assert by_alternative == sum(1 for a in addresses if _kind(a["huisletter"], a["huisnummertoevoeging"])
                                 == "toevoeging_letter") * len(STYLES["toevoeging_letter"])


def test_each_style_reaches_the_addresses_meant(bag):
    """One buurt per register address: the buurten with a voorziening are the addresses a style reached."""
    addresses, typed, register, deliveries = bag
    links = expected_links(addresses, typed)
    for delivery in deliveries:
        counts = link_deliveries([delivery], register, parse_period(PERIOD), ("buurt",)).counts
        reached = counts[(counts["indicator"] == "met_voorziening") & (counts["aantal"] > 0)]
        expected = {f"BU0363{number:04d}" for _, number, _ in links[delivery.partner] if number is not None}
        assert set(reached["gebiedscode"]) == expected, delivery.partner
