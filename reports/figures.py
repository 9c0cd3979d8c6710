"""Read the protected output files of a run into tidy frames for the report.

Only `samenloop.csv`, `kwaliteit.csv` and `manifest.json` are read: the report never sees microdata.
Every figure the report shows is a published cell of `samenloop.csv` or a simple ratio of published cells.
"""

from __future__ import annotations

import json
import math
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.formats import QUALITY_COLUMNS as KWALITEIT_COLUMNS
from schemas.formats import SAMENLOOP_COLUMNS
from schemas.indicators import (
    DOMAINS,
    EXCLUSIVE_DOMAIN_SETS,
    HOUSEHOLDS,
    INDICATOR_LABELS,
    INDICATORS,
    LEVELS,
)

SAMENLOOP_FILE = "samenloop.csv"
KWALITEIT_FILE = "kwaliteit.csv"
MANIFEST_FILE = "manifest.json"


class ReportInputError(ValueError):
    """A protected output file is missing or not in the contract format; the message is Dutch."""


@dataclass(frozen=True)
class Cell:
    """One published (or secret) cell of samenloop.csv."""

    aantal: int | None
    per_1000: float | None
    geheim: bool

    @property
    def published(self) -> bool:
        return not self.geheim and self.aantal is not None


NOT_PUBLISHED = Cell(aantal=None, per_1000=None, geheim=True)
"""Stands in for a cell that is absent from samenloop.csv; the report shows it like a secret cell."""


@dataclass(frozen=True)
class Area:
    code: str
    naam: str
    niveau: str


def _parse_bool(value: str, *, line: int) -> bool:
    text = value.strip().lower()
    if text in ("true", "1", "waar", "ja"):
        return True
    if text in ("false", "0", "onwaar", "nee", ""):
        return False
    raise ReportInputError(f"{SAMENLOOP_FILE}, regel {line}, kolom geheim: '{value}' is geen true of false.")


def read_samenloop(path: Path) -> pd.DataFrame:
    """Read samenloop.csv into a tidy frame: one row per area and known indicator, in publication order.

    Columns: gebiedscode, gebiedsnaam, niveau, indicator, aantal (Int64), per_1000 (Float64), geheim (bool).
    A secret cell has no aantal and no per_1000, whatever the file says.
    """
    if not path.is_file():
        raise ReportInputError(
            f"{path} ontbreekt: het rapport heeft de beschermde uitvoer {SAMENLOOP_FILE} nodig."
        )
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    # `groep` (contract §9) is absent from a v1 samenloop.csv (an earlier period): all rows are then groep "".
    missing = [c for c in SAMENLOOP_COLUMNS if c not in raw.columns and c != "groep"]
    if missing:
        raise ReportInputError(f"{path} mist de kolom(men) {', '.join(missing)} (zie docs/contract.md §7).")
    raw = raw[raw["indicator"].isin(INDICATORS)].copy()
    if "groep" in raw.columns:
        # The report shows all households on the CBS levels; groups and own divisions are in the CSV.
        everyone = raw["groep"].str.strip() == ""
        raw = raw[everyone & raw["niveau"].str.strip().str.lower().isin(LEVELS)].copy()
    geheim = [_parse_bool(v, line=i + 2) for i, v in zip(raw.index, raw["geheim"], strict=True)]
    aantal = pd.to_numeric(raw["aantal"].str.strip(), errors="coerce").round().astype("Int64")
    per_1000 = pd.to_numeric(raw["per_1000_huishoudens"].str.strip(), errors="coerce").astype("Float64")
    frame = pd.DataFrame(
        {
            "gebiedscode": raw["gebiedscode"].str.strip(),
            "gebiedsnaam": raw["gebiedsnaam"].str.strip(),
            "niveau": raw["niveau"].str.strip().str.lower(),
            "indicator": raw["indicator"],
            "aantal": aantal,
            "per_1000": per_1000,
            "geheim": pd.Series(geheim, index=raw.index, dtype=bool),
        }
    )
    frame.loc[frame["geheim"], ["aantal", "per_1000"]] = pd.NA
    order = {name: i for i, name in enumerate(INDICATORS)}
    frame["_order"] = frame["indicator"].map(order)
    frame = frame.sort_values(["gebiedscode", "_order"], kind="stable").drop(columns="_order")
    return frame.reset_index(drop=True)


def read_kwaliteit(path: Path) -> pd.DataFrame:
    """Read kwaliteit.csv (per partner record counts); an absent file gives an empty frame."""
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in KWALITEIT_COLUMNS})
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    for column in KWALITEIT_COLUMNS:
        if column not in raw.columns:
            raw[column] = ""
    frame = raw[list(KWALITEIT_COLUMNS)].copy()
    for column in KWALITEIT_COLUMNS[2:]:
        frame[column] = pd.to_numeric(frame[column].str.strip(), errors="coerce").astype("Int64")
    return frame


def read_manifest(path: Path) -> dict[str, Any]:
    """Read manifest.json; an absent file gives an empty dict so the report still builds."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportInputError(f"{path} is geen geldige JSON (regel {exc.lineno}).") from exc
    return data if isinstance(data, dict) else {}


def _value(x: Any) -> Any:
    return None if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else x


_POSITIONS: dict[int, tuple[weakref.ref, dict[tuple[str, str], int]]] = {}


def _cell_positions(samenloop: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(area, indicator) → row position, built once per table: a national report looks up tens of
    thousands of cells, and scanning the table for each made the report quadratic."""
    cached = _POSITIONS.get(id(samenloop))
    if cached is not None and cached[0]() is samenloop:
        return cached[1]
    positions: dict[tuple[str, str], int] = {}
    for i, key in enumerate(zip(samenloop["gebiedscode"], samenloop["indicator"], strict=True)):
        positions.setdefault(key, i)
    _POSITIONS[id(samenloop)] = (weakref.ref(samenloop), positions)
    return positions


def cell(samenloop: pd.DataFrame, gebiedscode: str, indicator: str) -> Cell:
    """The cell for one area and indicator; an absent row counts as not published."""
    position = _cell_positions(samenloop).get((gebiedscode, indicator))
    if position is None:
        return NOT_PUBLISHED
    i = position
    aantal = _value(samenloop["aantal"].iat[i])
    per_1000 = _value(samenloop["per_1000"].iat[i])
    geheim = bool(samenloop["geheim"].iat[i]) or aantal is None
    return Cell(
        aantal=None if geheim else int(aantal),
        per_1000=None if geheim or per_1000 is None else float(per_1000),
        geheim=geheim,
    )


def areas(samenloop: pd.DataFrame, niveau: str) -> list[Area]:
    """The areas of one level, ordered by code."""
    sub = samenloop[samenloop["niveau"] == niveau].drop_duplicates("gebiedscode").sort_values("gebiedscode")
    return [Area(r.gebiedscode, r.gebiedsnaam, r.niveau) for r in sub.itertuples()]


def municipality(samenloop: pd.DataFrame) -> Area:
    """The gemeente row; without one, the area with the most households stands in."""
    found = areas(samenloop, "gemeente")
    if found:
        return found[0]
    households = samenloop[samenloop["indicator"] == HOUSEHOLDS].sort_values("aantal", ascending=False)
    if households.empty:
        raise ReportInputError(f"{SAMENLOOP_FILE} bevat geen enkel gebied met huishoudens.")
    row = households.iloc[0]
    return Area(row["gebiedscode"], row["gebiedsnaam"], row["niveau"])


def indicator_frame(
    samenloop: pd.DataFrame, gebiedscode: str, indicators: tuple[str, ...] | list[str]
) -> pd.DataFrame:
    """Cells of one area for the given indicators, in the given order, with their Dutch labels."""
    rows = []
    for name in indicators:
        c = cell(samenloop, gebiedscode, name)
        rows.append(
            {
                "indicator": name,
                "label": INDICATOR_LABELS[name],
                "aantal": c.aantal,
                "per_1000": c.per_1000,
                "geheim": c.geheim,
            }
        )
    # object dtype keeps None for secret cells instead of turning the counts into floats with NaN
    return pd.DataFrame(rows, columns=["indicator", "label", "aantal", "per_1000", "geheim"], dtype=object)


def exclusive_combinations(samenloop: pd.DataFrame, gebiedscode: str) -> pd.DataFrame:
    """The seven exclusive domain combinations of one area, with a flag column per domain."""
    frame = indicator_frame(samenloop, gebiedscode, list(EXCLUSIVE_DOMAIN_SETS))
    for domain in DOMAINS:
        frame[domain] = [domain in EXCLUSIVE_DOMAIN_SETS[name] for name in frame["indicator"]]
    frame["aantal_domeinen"] = [len(EXCLUSIVE_DOMAIN_SETS[name]) for name in frame["indicator"]]
    return frame


def area_table(
    samenloop: pd.DataFrame, niveau: str, indicators: tuple[str, ...] | list[str]
) -> list[dict[str, Any]]:
    """Per area of one level: code, naam and a Cell per indicator (key = indicator name)."""
    table = []
    for area in areas(samenloop, niveau):
        row: dict[str, Any] = {"code": area.code, "naam": area.naam}
        for name in indicators:
            row[name] = cell(samenloop, area.code, name)
        table.append(row)
    return table


@dataclass(frozen=True)
class PartnerQuality:
    partner: str
    key_id: str
    rijen_gelezen: int | None
    rijen_afgekeurd: int | None
    records: int | None
    records_in_periode: int | None
    gekoppeld: int | None
    niet_gekoppeld: int | None

    @property
    def gekoppeld_aandeel(self) -> float | None:
        """Linked share of the records in the period, as the manifest's kwaliteit_signalen compute it."""
        if self.gekoppeld is None or not self.records_in_periode:
            return None
        return self.gekoppeld / self.records_in_periode


def _int_or_none(value: Any) -> int | None:
    value = _value(value)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def data_quality(kwaliteit: pd.DataFrame, manifest: dict[str, Any]) -> list[PartnerQuality]:
    """Per partner: rows read and rejected (manifest) and records linked (kwaliteit.csv)."""
    leveringen: dict[str, dict[str, Any]] = {}
    for levering in manifest.get("leveringen") or []:
        if isinstance(levering, dict) and levering.get("partner"):
            leveringen.setdefault(str(levering["partner"]), levering)
    result = []
    seen: set[str] = set()
    for row in kwaliteit.itertuples(index=False):
        partner = str(row.partner)
        seen.add(partner)
        levering = leveringen.get(partner, {})
        adres, pand = _int_or_none(row.gekoppeld_adres), _int_or_none(row.gekoppeld_pand)
        result.append(
            PartnerQuality(
                partner=partner,
                key_id=str(row.key_id or levering.get("key_id") or ""),
                rijen_gelezen=_int_or_none(levering.get("rijen_gelezen")),
                rijen_afgekeurd=_int_or_none(levering.get("rijen_afgekeurd")),
                records=_int_or_none(row.records),
                records_in_periode=_int_or_none(row.records_in_periode),
                gekoppeld=None if adres is None or pand is None else adres + pand,
                niet_gekoppeld=_int_or_none(row.niet_gekoppeld),
            )
        )
    for partner, levering in leveringen.items():
        if partner not in seen:
            result.append(
                PartnerQuality(
                    partner,
                    str(levering.get("key_id") or ""),
                    _int_or_none(levering.get("rijen_gelezen")),
                    _int_or_none(levering.get("rijen_afgekeurd")),
                    None,
                    None,
                    None,
                    None,
                )
            )
    return sorted(result, key=lambda q: q.partner.lower())


@dataclass(frozen=True)
class Change:
    """A published figure in two periods; `verschil` only when both are published."""

    nu: Cell
    vorige: Cell

    @property
    def verschil(self) -> int | None:
        if self.nu.published and self.vorige.published:
            return int(self.nu.aantal) - int(self.vorige.aantal)  # type: ignore[arg-type]
        return None

    @property
    def verschil_per_1000(self) -> float | None:
        if self.verschil is None or self.nu.per_1000 is None or self.vorige.per_1000 is None:
            return None
        return self.nu.per_1000 - self.vorige.per_1000


def period_changes(
    current: pd.DataFrame, previous: pd.DataFrame, niveau: str, indicators: tuple[str, ...] | list[str]
) -> list[dict[str, Any]]:
    """Per area of one level in the current period: a Change per indicator, plus whether the area is new."""
    previous_codes = set(previous["gebiedscode"])
    table = []
    for area in areas(current, niveau):
        row: dict[str, Any] = {"code": area.code, "naam": area.naam, "nieuw": area.code not in previous_codes}
        for name in indicators:
            row[name] = Change(cell(current, area.code, name), cell(previous, area.code, name))
        table.append(row)
    return table


# RD New (EPSG:28992) to WGS84, the polynomial approximation of Schreutelkamp and Strang van Hees
# (accurate to about a metre); CBS wijk- en buurtkaarten come in RD, plotly draws longitude/latitude.
_RD_LAT = (
    (0, 1, 3235.65389),
    (2, 0, -32.58297),
    (0, 2, -0.2475),
    (2, 1, -0.84978),
    (0, 3, -0.0655),
    (2, 2, -0.01709),
    (1, 0, -0.00738),
    (4, 0, 0.0053),
    (2, 3, -0.00039),
    (4, 1, 0.00033),
    (1, 1, -0.00012),
)
_RD_LON = (
    (1, 0, 5260.52916),
    (1, 1, 105.94684),
    (1, 2, 2.45656),
    (3, 0, -0.81885),
    (1, 3, 0.05594),
    (3, 1, -0.05607),
    (0, 1, 0.01199),
    (3, 2, -0.00256),
    (1, 4, 0.00128),
    (0, 2, 0.00022),
    (2, 0, -0.00022),
    (5, 0, 0.00026),
)


def rd_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """Convert Rijksdriehoek (x, y) in metres to (longitude, latitude) in degrees."""
    dx, dy = (x - 155000) * 1e-5, (y - 463000) * 1e-5
    lat = 52.15517440 + sum(c * dx**p * dy**q for p, q, c in _RD_LAT) / 3600
    lon = 5.38720621 + sum(c * dx**p * dy**q for p, q, c in _RD_LON) / 3600
    return lon, lat


def _map_coordinates(coords: Any, convert: Any) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return list(convert(coords[0], coords[1]))
    return [_map_coordinates(c, convert) for c in coords]


def _first_position(coords: Any) -> list[float] | None:
    while isinstance(coords, list) and coords and isinstance(coords[0], list):
        coords = coords[0]
    return coords if isinstance(coords, list) and len(coords) >= 2 else None


def read_wijk_geojson(path: Path) -> dict[str, Any]:
    """Read a GeoJSON FeatureCollection of wijken (property `wijkcode`), converted to WGS84 when in RD."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportInputError(f"De wijkkaart {path} kan niet gelezen worden als GeoJSON.") from exc
    features = [f for f in data.get("features", []) if isinstance(f, dict) and f.get("geometry")]
    if not any((f.get("properties") or {}).get("wijkcode") for f in features):
        raise ReportInputError(f"De wijkkaart {path} heeft geen features met de eigenschap 'wijkcode'.")
    first = next((p for f in features if (p := _first_position(f["geometry"].get("coordinates")))), None)
    if first is not None and (abs(first[0]) > 180 or abs(first[1]) > 90):
        features = [
            {
                **f,
                "geometry": {
                    **f["geometry"],
                    "coordinates": _map_coordinates(f["geometry"]["coordinates"], rd_to_wgs84),
                },
            }
            for f in features
        ]
    return {"type": "FeatureCollection", "features": features}
