"""AREAS.csv (docs/contract.md §6) with the gemeente's own divisions (§9: gebied_<naam>[_naam])."""

from __future__ import annotations

import pytest

from schemas.areas import AreasError, read_area_divisions, read_area_names


def test_divisions_map_every_buurt_and_name_their_areas(tmp_path):
    path = tmp_path / "gebieden.csv"
    path.write_text(
        "code;naam;gebied_wijkteam;gebied_wijkteam_naam\n"
        "GM9999;Klein;;\n"
        "WK999900;Noord;;\n"
        "\n"
        "BU99990000;Dorp;WT1;Team Noord\n"
        "bu99990001;Haven;WT2;Team Zuid\n",
        encoding="utf-8",
    )
    result = read_area_divisions(path)
    assert result.divisions == {"wijkteam": {"BU99990000": "WT1", "BU99990001": "WT2"}}
    assert result.names == {"WT1": "Team Noord", "WT2": "Team Zuid"}
    names = read_area_names(path)
    assert names["WT2"] == "Team Zuid" and names["BU99990001"] == "Haven"


def test_without_divisions_nothing_changes(tmp_path):
    path = tmp_path / "gebieden.csv"
    path.write_text("code;naam\nGM9999;Klein\nBU99990000;Dorp\n", encoding="utf-8")
    assert read_area_divisions(path).divisions == {}
    assert read_area_names(path) == {"GM9999": "Klein", "BU99990000": "Dorp"}


def test_a_buurt_without_its_area_is_a_file_fault_naming_line_and_column(tmp_path):
    path = tmp_path / "gebieden.csv"
    path.write_text(
        "code;naam;gebied_wijkteam\nGM9999;Klein;\n\nBU99990000;Dorp;WT1\nBU99990001;Haven; \n",
        encoding="utf-8",
    )
    message = r"gebieden.csv regel 5: kolom gebied_wijkteam is leeg bij buurt BU99990001"
    with pytest.raises(AreasError, match=message):
        read_area_divisions(path)


def test_a_division_may_not_take_a_cbs_level_name(tmp_path):
    path = tmp_path / "gebieden.csv"
    path.write_text("code;naam;gebied_wijk\nBU99990000;Dorp;X\n", encoding="utf-8")
    with pytest.raises(AreasError, match="wijk"):
        read_area_divisions(path)
