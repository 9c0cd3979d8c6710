"""Groups and own divisions (docs/contract.md §9) in the report, from published cells only.

"Bij welke groepen?": per kenmerk (`groep` = `<kenmerk>=<waarde>`) samenloop and households with a
voorziening per 1 000 households of each group in the gemeente, against the gemeente as a whole (groep ""),
with one plain sentence naming the largest difference. Own divisions (`niveau` = `<naam>`, from
`gebied_<naam>` in AREAS.csv) get the table and chart the wijken have. Every number is the rounded,
published `per_1000_huishoudens` of samenloop.csv; a secret cell stays a secret cell.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from reports.figures import Area, Cell, area_table, cell
from reports.formatting import format_rate
from schemas.indicators import INDICATORS, LEVELS, MULTI_DOMAIN

UNKNOWN = "onbekend"
"""The value of a household whose kenmerk is empty in the register (contract §9)."""
KENMERK_TITLES = {
    "huishoudtype": "Huishoudtype",
    "leeftijd": "Leeftijd van de oudste bewoner",
    "inkomen": "Inkomen",
}
"""Titles of the kenmerken contract §9 names; another kenmerk is titled by its own name."""
GROUP_PHRASES = {
    ("huishoudtype", "eenpersoons"): "eenpersoonshuishoudens",
    ("huishoudtype", "paar_zonder_kinderen"): "paren zonder kinderen",
    ("huishoudtype", "paar_met_kinderen"): "paren met kinderen",
    ("huishoudtype", "eenouder"): "eenoudergezinnen",
    ("huishoudtype", "overig"): "overige huishoudens",
    ("inkomen", "laag"): "huishoudens met een laag inkomen",
    ("inkomen", "midden"): "huishoudens met een middeninkomen",
    ("inkomen", "hoog"): "huishoudens met een hoog inkomen",
}
"""How the plain sentence names a group of the values contract §9 names (after "Bij ...")."""
AGE_CLASS = re.compile(r"(\d+)-(\d+)|(\d+)\+")


def _words(text: str) -> str:
    return text.replace("_", " ")


def kenmerk_title(kenmerk: str) -> str:
    """`leeftijd` -> "Leeftijd van de oudste bewoner"; an unknown kenmerk by its name, capitalised."""
    return KENMERK_TITLES.get(kenmerk) or _words(kenmerk).capitalize()


def group_phrase(kenmerk: str, waarde: str) -> str:
    """The group in a sentence: "eenoudergezinnen", "huishoudens met een oudste bewoner van 75 jaar of
    ouder"; a value the report does not know as "huishoudens met <kenmerk> <waarde>"."""
    if (kenmerk, waarde) in GROUP_PHRASES:
        return GROUP_PHRASES[(kenmerk, waarde)]
    age = AGE_CLASS.fullmatch(waarde) if kenmerk == "leeftijd" else None
    if age and age[3]:
        return f"huishoudens met een oudste bewoner van {age[3]} jaar of ouder"
    if age:
        return f"huishoudens met een oudste bewoner van {age[1]} tot en met {age[2]} jaar"
    return f"huishoudens met {_words(kenmerk)} {_words(waarde)}"


def html_id(name: str, taken: set[str]) -> str:
    """`name` as a part of an HTML id (and of a plotly div id, which goes into a script): a-z, 0-9, _ and -
    only, made unique among `taken` (which it joins)."""
    base = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "x"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}-{n}"
    taken.add(found)
    return found


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


def largest_difference(kenmerk: str, rows: list[dict[str, Any]], gemeente: Cell) -> str:
    """One plain sentence: the group whose samenloop per 1 000 differs most from the gemeente's.

    The largest difference is the highest or the lowest published rate; `onbekend` is not a group a
    sentence is about. Groups whose rate is secret are named as such.
    """
    known = [r for r in rows if r["waarde"] != UNKNOWN]
    published = [r for r in known if r[MULTI_DOMAIN].per_1000 is not None]
    hidden = [group_phrase(kenmerk, r["waarde"]) for r in known if r[MULTI_DOMAIN].per_1000 is None]
    hidden_text = (
        f" Voor {_join(hidden)} is het cijfer afgeschermd (.)." if hidden and published else ""
    )
    if gemeente.per_1000 is None:
        return ("De samenloop van de hele gemeente is afgeschermd (.), dus de groepen kunnen er niet mee "
                "vergeleken worden.")
    if not published:
        return (f"Naar {kenmerk_title(kenmerk).lower()} is de samenloop van elke groep afgeschermd (.), "
                "omdat het om te weinig huishoudens gaat of omdat het cijfer anders terug te rekenen is.")
    highest = max(published, key=lambda r: r[MULTI_DOMAIN].per_1000)
    lowest = min(published, key=lambda r: r[MULTI_DOMAIN].per_1000)
    above = highest[MULTI_DOMAIN].per_1000 - gemeente.per_1000
    below = gemeente.per_1000 - lowest[MULTI_DOMAIN].per_1000
    row, how = (highest, "het vaakst") if above >= below else (lowest, "het minst vaak")
    phrase = group_phrase(kenmerk, row["waarde"])
    return (
        f"Bij {phrase} komt samenloop {how} voor: {format_rate(row[MULTI_DOMAIN].per_1000)} per 1.000 "
        f"huishoudens, tegen {format_rate(gemeente.per_1000)} in de hele gemeente.{hidden_text}"
    )


def _as_areas(frame: pd.DataFrame, niveau: str, code: str) -> pd.DataFrame:
    """Rows of one area with the group as their area code, so `area_table` and `cell` read them."""
    return frame[frame["gebiedscode"] == code].assign(gebiedscode=frame["groep"], niveau=niveau)


def group_chapter(extra: pd.DataFrame, samenloop: pd.DataFrame, gemeente: Area) -> list[dict[str, Any]]:
    """Per kenmerk (in the order of samenloop.csv): its values with a Cell per indicator at gemeente
    level, the gemeente's cells, and the sentence. Empty without groups: the chapter is then absent."""
    if extra.empty:
        return []
    groups = extra[(extra["groep"] != "") & (extra["niveau"] == "gemeente")]
    kenmerken = list(dict.fromkeys(groups["groep"].str.split("=", n=1).str[0]))
    gemeente_cells = {name: cell(samenloop, gemeente.code, name) for name in INDICATORS}
    chapter: list[dict[str, Any]] = []
    ids: set[str] = set()
    for kenmerk in kenmerken:
        own = groups[groups["groep"].str.startswith(f"{kenmerk}=")]
        rows = area_table(_as_areas(own, kenmerk, gemeente.code), kenmerk, INDICATORS)
        for row in rows:
            row["waarde"] = row["code"].split("=", 1)[1]
            row["naam"] = _words(row["waarde"])
        order = {groep: i for i, groep in enumerate(dict.fromkeys(own["groep"]))}
        rows.sort(key=lambda r: (r["waarde"] == UNKNOWN, order[r["code"]]))  # the file's order, onbekend last
        chapter.append({
            "kenmerk": kenmerk,
            "id": html_id(kenmerk, ids),
            "titel": kenmerk_title(kenmerk),
            "rijen": rows,
            "gemeente": gemeente_cells,
            "zin": largest_difference(kenmerk, rows, gemeente_cells[MULTI_DOMAIN]),
            "onbekend": any(r["waarde"] == UNKNOWN for r in rows),
        })
    return chapter


def division_title(niveau: str) -> str:
    """`wijkteam` -> "wijkteam" as in "Samenloop per wijkteam"."""
    return _words(niveau)


def own_divisions(extra: pd.DataFrame) -> list[dict[str, Any]]:
    """Per own division (a niveau that is no CBS level): its areas like `area_table` gives the wijken."""
    if extra.empty:
        return []
    everyone = extra[(extra["groep"] == "") & ~extra["niveau"].isin(LEVELS)].drop(columns="groep")
    divisions = []
    ids: set[str] = set()
    for niveau in dict.fromkeys(everyone["niveau"]):
        rows = area_table(everyone, niveau, INDICATORS)
        if rows:
            divisions.append({"niveau": niveau, "id": html_id(niveau, ids), "titel": division_title(niveau),
                              "gebieden": rows})
    return divisions

