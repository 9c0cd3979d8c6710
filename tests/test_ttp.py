"""Two-step pseudonymisation (partner K1, then TTP K2) and the key checks of `run`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sample_loader import load_sample_generator

from linkage.keys import Key, compute_key_id, new_key, write_key
from linkage.linking import LinkageError, check_keys, describe_delivery, link_deliveries
from linkage.ttp import (
    TTP_ADDRESS_PREFIX,
    TTP_BUILDING_PREFIX,
    TtpError,
    rekey_file,
    steps_of,
    ttp_pseudonyms,
)
from pipelines.cli.main import main
from pipelines.intake.delivery import pseudonymise_delivery
from pipelines.intake.register import pseudonymise_register
from schemas.codelist import load_code_list
from schemas.formats import REGISTER_FORMAT, read_metadata
from schemas.periods import parse_period

ROOT = Path(__file__).resolve().parents[1]
HEX64 = r"^[0-9a-f]{64}$"

# Published vector of the TTP step (also in docs/privacy.md): K2 = bytes 0x20..0x3f, applied to the
# pseudonyms of `1234AB|12||` under the shared test key (tests/testdata/vectors/pseudoniemen-v1.csv).
K2_VECTOR = Key(compute_key_id(bytes(range(32, 64))), "2026-01-01T00:00:00Z", bytes(range(32, 64)))
STEP_ONE_ADRES = "57bcc4e4646f1232b056a942a379b71ea904b6c4bf0982987c39a9d1d1b71124"
STEP_ONE_PAND = "166d9fe4cbcf38b19063c4aaf135b9055422612c7eaf0de23c4f35b4783d3297"
STEP_TWO_ADRES = "dc280b792ca7ecbc54c90afe99f23bc6196c43da375d11085f30b179c5b8cb6b"
STEP_TWO_PAND = "9857f85b54d4739ad324f02da45afb2abf511a27d471088b6679f0f653961694"


def test_published_ttp_vector():
    assert base64.b64encode(K2_VECTOR.secret).decode() == "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
    assert K2_VECTOR.key_id == "a9b71ebbd3733bc8"
    assert ttp_pseudonyms(K2_VECTOR, TTP_ADDRESS_PREFIX, [STEP_ONE_ADRES]) == [STEP_TWO_ADRES]
    assert ttp_pseudonyms(K2_VECTOR, TTP_BUILDING_PREFIX, [STEP_ONE_PAND]) == [STEP_TWO_PAND]


def test_step_one_vector_matches_the_shared_vectors(test_key, vector_rows):
    row = next(r for r in vector_rows if r["canoniek"] == "1234AB|12||")
    assert (row["adres_pseudoniem"], row["pand_pseudoniem"]) == (STEP_ONE_ADRES, STEP_ONE_PAND)
    assert hmac.new(test_key.secret, b"adres:v1:1234AB|12||", hashlib.sha256).hexdigest() == STEP_ONE_ADRES


class Chain:
    """One small municipality pseudonymised by the partners with K1, and the same files rekeyed with K2."""

    def __init__(self, folder: Path) -> None:
        generator = load_sample_generator()
        sample = generator.generate(seed=31, gemeentecode="GM9031", gemeentenaam="Tweestapwoude",
                                    n_addresses=1500, n_wijken=5, n_buurten=15)
        generator.write_sample(sample, folder / "gemeente")
        self.period = parse_period(sample.parameters["periode"])
        self.k1, self.k2 = new_key(), new_key()
        self.one = folder / "een"
        self.two = folder / "twee"
        (self.one / "leveringen").mkdir(parents=True)
        (self.two / "leveringen").mkdir(parents=True)
        self.register_one = self.one / "register.parquet"
        self.register_two = self.two / "register.parquet"
        pseudonymise_register(folder / "gemeente" / "adressen.csv", self.k1, self.register_one)
        rekey_file(self.register_one, self.k2, self.register_two)
        codes = load_code_list()
        self.partners = []
        for delivery in sample.deliveries.values():
            one = self.one / "leveringen" / f"{delivery.partner}.parquet"
            pseudonymise_delivery(folder / "gemeente" / "leveringen" / delivery.filename, self.k1,
                                  delivery.partner, one, codes)
            rekey_file(one, self.k2, self.two / "leveringen" / one.name)
            self.partners.append(delivery.partner)

    def deliveries(self, steps: str):
        folder = (self.one if steps == "1" else self.two) / "leveringen"
        return [describe_delivery(p) for p in sorted(folder.glob("*.parquet"))]


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Chain:
    return Chain(tmp_path_factory.mktemp("ttp"))


def test_two_step_figures_are_identical_to_one_step(chain):
    levels = ("gemeente", "wijk", "buurt")
    one = link_deliveries(chain.deliveries("1"), chain.register_one, chain.period, levels)
    two = link_deliveries(chain.deliveries("2"), chain.register_two, chain.period, levels)
    pd.testing.assert_frame_equal(one.counts, two.counts)
    pd.testing.assert_frame_equal(one.quality, two.quality)
    assert one.stage_counts == two.stage_counts
    assert one.stage_counts["records_gekoppeld"] > 0

    def as_multiset(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(list(frame.columns)).reset_index(drop=True)

    pd.testing.assert_frame_equal(as_multiset(one.households), as_multiset(two.households))


def test_rekeyed_files_are_stamped_and_hold_no_step_one_pseudonym(chain):
    seen = {"adres_pseudoniem_alt": 0}
    for one_path in [chain.register_one, *sorted((chain.one / "leveringen").glob("*.parquet"))]:
        two_path = chain.two / one_path.relative_to(chain.one)
        before, after = read_metadata(one_path), read_metadata(two_path)
        assert steps_of(before) == "1" and steps_of(after) == "2"
        assert after["key_id"] == before["key_id"] == chain.k1.key_id
        assert after["ttp_key_id"] == chain.k2.key_id
        assert after["stappen"] == "2"
        for field in ("format", "partner", "rows_read", "rows_rejected"):
            assert after.get(field) == before.get(field)
        old, new = pq.read_table(one_path), pq.read_table(two_path)
        assert old.schema.names == new.schema.names and old.num_rows == new.num_rows
        rekeyed = {"adres_pseudoniem": TTP_ADDRESS_PREFIX, "pand_pseudoniem": TTP_BUILDING_PREFIX,
                   "adres_pseudoniem_alt": TTP_ADDRESS_PREFIX}
        for column, prefix in rekeyed.items():
            if column == "adres_pseudoniem_alt" and column not in old.schema.names:
                continue  # the register has no alternative readings
            values = [v for v in new.column(column).to_pylist() if v is not None]
            before = [v for v in old.column(column).to_pylist() if v is not None]
            seen[column] = seen.get(column, 0) + len(values)
            assert all(pd.Series(values).str.match(HEX64))
            assert not set(values) & set(before)
            assert sorted(values) == sorted(ttp_pseudonyms(chain.k2, prefix, before))
            assert new.column(column).null_count == old.column(column).null_count
        addresses = new.column("adres_pseudoniem").to_pylist()
        assert addresses == sorted(addresses), "rows are re-sorted on the new pseudonym"
        for column in new.schema.names:
            if column not in rekeyed:
                assert sorted(map(str, new.column(column).to_pylist())) == sorted(
                    map(str, old.column(column).to_pylist()))
    assert seen["adres_pseudoniem_alt"] > 0, "the sample types letters into the huisnummer column"


def test_alternative_reading_links_alike_in_one_and_two_steps(tmp_path, test_key):
    """A typed `107-H` reaches the register's `107` toevoeging `H` via `adres_pseudoniem_alt`, also after
    the TTP rekeyed both files (docs/contract.md §3 step 8, §7), and rows without one keep a null."""
    register_csv = tmp_path / "adressen.csv"
    register_csv.write_text("postcode;huisnummer;huisletter;huisnummertoevoeging;buurtcode\n"
                            "1011AB;107;;;BU03630001\n1011AB;107;;H;BU03630001\n"
                            "1011AB;109;;;BU03630001\n", encoding="utf-8")
    delivery_csv = tmp_path / "levering.csv"
    delivery_csv.write_text("postcode;huisnummer;voorziening;begindatum\n1011 ab;107-H;01;01-01-2026\n"
                            "1011AB;109;01;01-01-2026\n", encoding="utf-8")
    k2 = new_key()
    register_one, register_two = tmp_path / "reg1.parquet", tmp_path / "reg2.parquet"
    delivery_one, delivery_two = tmp_path / "lev1.parquet", tmp_path / "lev2.parquet"
    pseudonymise_register(register_csv, test_key, register_one)
    pseudonymise_delivery(delivery_csv, test_key, "wmo_b", delivery_one, load_code_list())
    rekey_file(register_one, k2, register_two)
    rekey_file(delivery_one, k2, delivery_two)
    for delivery, register in ((delivery_one, register_one), (delivery_two, register_two)):
        alternatives = pq.read_table(delivery).column("adres_pseudoniem_alt")
        assert alternatives.null_count == 1 and len(alternatives) == 2
        result = link_deliveries([describe_delivery(delivery)], register, parse_period("2026"), ("gemeente",))
        quality = result.quality.iloc[0]
        assert (quality["gekoppeld_adres"], quality["gekoppeld_alternatief"], quality["niet_gekoppeld"]) == (
            1, 1, 0), delivery.name
    step_one = pq.read_table(delivery_one).column("adres_pseudoniem_alt").drop_null().to_pylist()
    expected = hmac.new(test_key.secret, b"adres:v1:1011AB|107||H", hashlib.sha256).hexdigest()
    assert step_one == [expected]
    step_two = pq.read_table(delivery_two).column("adres_pseudoniem_alt").drop_null().to_pylist()
    assert step_two == ttp_pseudonyms(k2, TTP_ADDRESS_PREFIX, step_one)
    # A delivery of format version 1 (no such column) is rekeyed as it is, and links without it.
    v1_one, v1_two = tmp_path / "v1_1.parquet", tmp_path / "v1_2.parquet"
    table = pq.read_table(delivery_one)
    meta = {**table.schema.metadata, b"format_version": b"1"}
    pq.write_table(table.drop_columns(["adres_pseudoniem_alt"]).replace_schema_metadata(meta), v1_one)
    rekey_file(v1_one, k2, v1_two)
    assert "adres_pseudoniem_alt" not in pq.read_schema(v1_two).names
    linked = link_deliveries([describe_delivery(v1_two)], register_two, parse_period("2026"), ("gemeente",))
    quality = linked.quality.iloc[0]
    assert (quality["gekoppeld_alternatief"], quality["niet_gekoppeld"]) == (0, 1)


def test_rekey_refuses_twice_the_same_key_and_foreign_files(chain, tmp_path):
    twice = chain.two / "leveringen" / f"{chain.partners[0]}.parquet"
    with pytest.raises(TtpError, match="al door de TTP"):
        rekey_file(twice, new_key(), tmp_path / "x.parquet")
    with pytest.raises(TtpError, match="dezelfde sleutel"):
        rekey_file(chain.register_one, chain.k1, tmp_path / "x.parquet")
    foreign = tmp_path / "vreemd.parquet"
    pq.write_table(pa.table({"a": [1]}), foreign)
    with pytest.raises(TtpError, match="geen gepseudonimiseerde"):
        rekey_file(foreign, chain.k2, tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_rekey_refuses_a_broken_pseudonym_without_showing_it(chain, tmp_path):
    table = pq.read_table(chain.register_one)
    secretish = "Kerkstraat 12"
    broken_values = table.column("adres_pseudoniem").to_pylist()
    broken_values[2] = secretish
    broken = table.set_column(0, "adres_pseudoniem", pa.array(broken_values, pa.string()))
    path = tmp_path / "kapot.parquet"
    pq.write_table(broken.replace_schema_metadata(table.schema.metadata), path)
    with pytest.raises(TtpError, match="rij 3, kolom adres_pseudoniem") as caught:
        rekey_file(path, chain.k2, tmp_path / "x.parquet")
    assert secretish not in str(caught.value)
    assert not (tmp_path / "x.parquet").exists()


def test_run_check_refuses_a_mix_of_one_and_two_step_files(chain):
    two_meta = read_metadata(chain.register_two)
    one_meta = read_metadata(chain.register_one)
    mixed = chain.deliveries("2")[1:] + chain.deliveries("1")[:1]
    one_step_partner = chain.deliveries("1")[0].partner
    with pytest.raises(LinkageError, match=f"in twee stappen.*{one_step_partner}.*in één stap"):
        check_keys(mixed, two_meta)
    with pytest.raises(LinkageError, match=f"{chain.deliveries('2')[1].partner}.*door de TTP omgezet"):
        check_keys(mixed, one_meta)
    check_keys(chain.deliveries("2"), two_meta)
    check_keys(chain.deliveries("1"), one_meta)


def test_run_check_refuses_another_ttp_key_naming_the_partner(chain, tmp_path):
    partner = chain.partners[-1]
    other = tmp_path / "ander.parquet"
    rekey_file(chain.one / "leveringen" / f"{partner}.parquet", new_key(), other)
    deliveries = [d for d in chain.deliveries("2") if d.partner != partner] + [describe_delivery(other)]
    with pytest.raises(LinkageError, match=f"TTP-sleutel komt niet overeen.*{partner}") as caught:
        check_keys(deliveries, read_metadata(chain.register_two))
    assert [p for p in chain.partners if p != partner and p in str(caught.value)] == []


def test_run_check_refuses_another_source_key_naming_the_partner(chain, tmp_path):
    partner = chain.partners[0]
    table = pq.read_table(chain.one / "leveringen" / f"{partner}.parquet")
    meta = {**read_metadata(chain.one / "leveringen" / f"{partner}.parquet"), "key_id": new_key().key_id}
    wrong = tmp_path / "fout.parquet"
    pq.write_table(table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()}), wrong)
    deliveries = [d for d in chain.deliveries("1") if d.partner != partner] + [describe_delivery(wrong)]
    with pytest.raises(LinkageError, match=f"sleutel komt niet overeen.*partner\\(s\\): {partner};"):
        link_deliveries(deliveries, chain.register_one, chain.period, ("gemeente",))


def test_describe_delivery_refuses_inconsistent_step_metadata(chain, tmp_path):
    source = chain.one / "leveringen" / f"{chain.partners[0]}.parquet"
    table = pq.read_table(source)
    meta = {**read_metadata(source), "stappen": "2"}  # claims two steps without a ttp_key_id
    path = tmp_path / "half.parquet"
    pq.write_table(table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()}), path)
    with pytest.raises(LinkageError, match="metadata over de pseudonimisering"):
        describe_delivery(path)


def test_register_check_needs_consistent_steps(chain):
    meta = {**read_metadata(chain.register_two)}
    del meta["ttp_key_id"]
    with pytest.raises(LinkageError, match="adressenregister"):
        check_keys(chain.deliveries("2"), meta)
    assert meta["format"] == REGISTER_FORMAT


def test_cli_ttp_rekey(chain, tmp_path):
    key_file = tmp_path / "k2.json"
    write_key(chain.k2, key_file)
    out = tmp_path / "register-ttp.parquet"
    runner = CliRunner()
    result = runner.invoke(main, ["ttp", "rekey", str(chain.register_one), "--key", str(key_file),
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert f"ttp_key_id {chain.k2.key_id}" in result.output
    assert pq.read_table(out).equals(pq.read_table(chain.register_two))
    again = runner.invoke(main, ["ttp", "rekey", str(out), "--key", str(key_file),
                                 "--out", str(tmp_path / "nogmaals.parquet")])
    assert again.exit_code == 2 and "nooit twee keer" in again.stderr
    missing = runner.invoke(main, ["ttp", "rekey", str(tmp_path / "nergens.parquet"), "--key", str(key_file),
                                   "--out", str(tmp_path / "y.parquet")])
    assert missing.exit_code == 2
    key_file.chmod(0o644)
    readable = runner.invoke(main, ["ttp", "rekey", str(chain.register_one), "--key", str(key_file),
                                    "--out", str(tmp_path / "z.parquet")])
    assert readable.exit_code == 2 and "chmod 600" in readable.stderr
