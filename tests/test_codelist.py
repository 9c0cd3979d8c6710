import pandas as pd
import pytest

from schemas.codelist import CodeListError, load_code_list
from schemas.indicators import DOMAINS


def test_contract_codes_and_domains():
    codes = load_code_list()
    assert all(codes.domain_of(f"{n:02d}") == "wmo" for n in range(1, 19))
    assert all(codes.domain_of(str(n)) == "jeugd" for n in [*range(31, 39), *range(40, 56)])
    assert all(codes.domain_of(f"PW0{n}") == "werk_inkomen" for n in range(1, 6))
    assert codes.domain_of("39") is None and codes.domain_of("19") is None
    assert {v.domein for v in codes.entries.values()} == set(DOMAINS)
    assert all(v.naam for v in codes.entries.values())


def test_excel_mangled_codes_are_understood():
    codes = load_code_list()
    raw = pd.Series(["1", "2.0", "01", " 7 ", "45.0", "pw01", "3,0", "19", "PW6", "", None, "1.5"])
    assert codes.normalise(raw).tolist()[:7] == ["01", "02", "01", "07", "45", "PW01", "03"]
    assert codes.normalise(raw).iloc[7:].isna().all()


def test_municipal_extension_without_code_changes(tmp_path):
    extra = tmp_path / "eigen.csv"
    extra.write_text(
        "code;naam;domein\nGM01;Minimaregeling;werk_inkomen\nJT9;Jongerentraject;jeugd\n", encoding="utf-8"
    )
    codes = load_code_list(extra)
    assert codes.domain_of("GM01") == "werk_inkomen"
    assert codes.normalise(pd.Series(["jt9"])).tolist() == ["JT9"]


def test_extension_env_variable(tmp_path, monkeypatch):
    extra = tmp_path / "eigen.csv"
    extra.write_text("code;naam;domein\nX1;Iets;wmo\n", encoding="utf-8")
    monkeypatch.setenv("FACTLAB_CODELIJST", str(extra))
    assert load_code_list().domain_of("X1") == "wmo"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("code;naam;domein\nX1;Iets;ggd\n", "domein 'ggd' onbekend"),
        ("code;naam;domein\n01;Anders;jeugd\n", "ander domein"),
        ("code,naam\nX1,Iets\n", "kopregel"),
    ],
)
def test_bad_extension_gets_a_dutch_message(tmp_path, content, fragment):
    extra = tmp_path / "eigen.csv"
    extra.write_text(content, encoding="utf-8")
    with pytest.raises(CodeListError, match=fragment):
        load_code_list(extra)
