"""The inbox of a period (pipelines/inbox.py) and `factlab inbox`, without Prefect."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli.main import main
from pipelines.inbox import (
    InboxError,
    inbox_status,
    previous_half_year,
    previous_period,
    read_expected,
    resolve_period,
)
from schemas.periods import PeriodError

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026H1"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("inbox")
    generator = ROOT / "data" / "sample" / "generate.py"
    subprocess.run([sys.executable, str(generator), "--out", str(work / "sample"), "--seed", "31",
                    "--adressen", "900", "--wijken", "5", "--buurten", "15"],
                   check=True, capture_output=True, timeout=120)
    result = CliRunner().invoke(main, ["inbox", "demo", "--inbox", str(work / "inbox"),
                                       "--sample", str(work / "sample")])
    assert result.exit_code == 0, result.output
    return work / "inbox"


@pytest.fixture
def copy(inbox: Path, tmp_path: Path) -> Path:
    shutil.copytree(inbox, tmp_path / "inbox")
    return tmp_path / "inbox"


@pytest.mark.parametrize(("today", "expected"), [
    (date(2027, 2, 1), "2026H2"), (date(2026, 8, 1), "2026H1"), (date(2026, 1, 15), "2025H2"),
    (date(2026, 6, 30), "2025H2"), (date(2026, 7, 1), "2026H1"), (date(2026, 12, 31), "2026H1"),
])
def test_previous_half_year_is_the_last_one_that_ended(today: date, expected: str):
    assert previous_half_year(today) == expected


def test_resolve_period_accepts_labels_and_vorig_halfjaar():
    assert resolve_period("vorig-halfjaar", date(2027, 2, 1)) == "2026H2"
    assert resolve_period(" 2026h1 ") == "2026H1"
    with pytest.raises(PeriodError):
        resolve_period("vorige week")


@pytest.mark.parametrize(("label", "expected"), [
    ("2026H1", "2025H2"), ("2026H2", "2026H1"), ("2026Q1", "2025Q4"), ("2026Q3", "2026Q2"), ("2026", "2025"),
    ("2026-06-30", None),
])
def test_previous_period_is_of_the_same_kind(label: str, expected: str | None):
    assert previous_period(label) == expected


def test_expected_partners_skip_comments_blanks_and_doubles(tmp_path: Path):
    path = tmp_path / "verwacht.txt"
    lines = ["\ufeff# partners 2026H1", "jeugdteam_noord", "", "  wmo_zorgkracht  # sinds 2025",
             "jeugdteam_noord"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert read_expected(path) == ("jeugdteam_noord", "wmo_zorgkracht")
    path.write_text("# nog niemand\n", encoding="utf-8")
    with pytest.raises(InboxError, match="noemt geen enkele partner"):
        read_expected(path)


def test_complete_inbox_lists_every_partner_from_the_file_metadata(inbox: Path):
    status = inbox_status(inbox, PERIOD)
    assert status.complete and not status.missing and not status.unexpected
    assert set(status.delivered) == set(status.expected)
    assert len(status.expected) == 7


def test_missing_partner_is_named_even_when_another_file_has_its_name(copy: Path):
    deliveries = copy / PERIOD / "leveringen"
    (deliveries / "schuldhulp_plus.parquet").unlink()
    # A file named after the missing partner but delivered by another does not count for it.
    shutil.copy(deliveries / "jeugd_ggz.parquet", deliveries / "schuldhulp_plus.parquet")
    status = inbox_status(copy, PERIOD)
    assert status.missing == ("schuldhulp_plus",)
    assert not status.complete
    assert status.delivered["jeugd_ggz"] == ("jeugd_ggz.parquet", "schuldhulp_plus.parquet")
    assert "ontbreekt: schuldhulp_plus" in status.summary_nl()
    assert "| schuldhulp_plus | **ontbreekt** |  |" in status.markdown()


def test_unexpected_and_unreadable_deliveries_are_reported(copy: Path):
    folder = copy / PERIOD
    (folder / "verwacht.txt").write_text("jeugdteam_noord\nJEUGDTEAM_ZUID\n", encoding="utf-8")
    (folder / "leveringen" / "kapot.parquet").write_bytes(b"geen parquet")
    status = inbox_status(copy, PERIOD)
    assert status.missing == ()
    assert "jeugd_ggz" in status.unexpected
    assert status.unreadable == ("kapot.parquet",)
    assert not status.complete
    assert "onleesbaar (geen Factlab-levering): kapot.parquet" in status.summary_nl()


def test_missing_period_folder_or_register_is_a_clear_error(copy: Path):
    with pytest.raises(InboxError, match="2025H2 bestaat niet"):
        inbox_status(copy, "2025H2")
    (copy / PERIOD / "register.parquet").unlink()
    with pytest.raises(InboxError, match="register.parquet ontbreekt"):
        inbox_status(copy, PERIOD)


def test_cli_status_exit_codes(copy: Path):
    runner = CliRunner()
    complete = runner.invoke(main, ["inbox", "status", "--inbox", str(copy), "--periode", PERIOD])
    assert complete.exit_code == 0, complete.output
    assert "7 van 7" in complete.output
    (copy / PERIOD / "leveringen" / "wmo_zorgkracht.parquet").unlink()
    incomplete = runner.invoke(main, ["inbox", "status", "--inbox", str(copy), "--periode", PERIOD])
    assert incomplete.exit_code == 1
    assert "ontbreekt  wmo_zorgkracht" in incomplete.output
    absent = runner.invoke(main, ["inbox", "status", "--inbox", str(copy), "--periode", "2020H1"])
    assert absent.exit_code == 2


def test_demo_inbox_holds_no_key_and_no_rejected_rows(inbox: Path):
    names = {p.name for p in (inbox / PERIOD).rglob("*") if p.is_file()}
    assert names >= {"verwacht.txt", "register.parquet", "gebieden.csv"}
    assert not any("sleutel" in n or "afgekeurd" in n or n.endswith(".json") for n in names)
    assert all(p.suffix == ".parquet" for p in (inbox / PERIOD / "leveringen").iterdir())


def test_a_map_per_own_division_is_found_beside_gebieden_csv(copy: Path):
    """docs/contract.md §9: <naam>.geojson is the map of gebied_<naam>; the demo inbox has the sample's."""
    folder = copy / PERIOD
    assert inbox_status(copy, PERIOD).division_maps() == {"wijkteam": folder / "wijkteam.geojson"}
    (folder / "wijkteam.geojson").unlink()
    (folder / "stadsdeel.geojson").write_text("{}", encoding="utf-8")  # no gebied_stadsdeel: not a map
    assert inbox_status(copy, PERIOD).division_maps() == {}
    areas = (folder / "gebieden.csv").read_text(encoding="utf-8").replace("gebied_wijkteam", "gebied_wijken")
    (folder / "gebieden.csv").write_text(areas, encoding="utf-8")
    (folder / "wijken-indeling.geojson").write_text("{}", encoding="utf-8")  # wijken.geojson is the wijkkaart
    assert inbox_status(copy, PERIOD).division_maps() == {"wijken": folder / "wijken-indeling.geojson"}
