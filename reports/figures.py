"""Read the protected output files of a run into tidy frames for the report.

Only `samenloop.csv`, `kwaliteit.csv` and `manifest.json` are read: the report never sees microdata.
Every figure the report shows is a published cell of `samenloop.csv` or a simple ratio of published cells.
"""

from __future__ import annotations

import functools
import json
import math
import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.areas import CODE_EXAMPLES, is_area_code, normalise_code
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
from schemas.rejects import restore_formula

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
    A secret cell has no aantal and no per_1000, whatever the file says. Only all households (groep "")
    on the CBS levels; `read_published` gives the groups and own divisions (§9) as well.
    """
    return read_published(path)[0]


def read_published(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """samenloop.csv read once, as (all households on the CBS levels, everything else).

    The first is `read_samenloop`'s frame. The second has the same columns plus `groep` (contract §9:
    "" = all households, else `<kenmerk>=<waarde>`): the rows of groups and of own divisions.
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
    groep = raw["groep"].str.strip() if "groep" in raw.columns else pd.Series("", index=raw.index)
    frame = _tidy(raw)
    # The report's main chapters show all households on the CBS levels; groups and own divisions apart.
    main = (groep == "") & frame["niveau"].isin(LEVELS)
    rest = frame[~main].assign(groep=groep[~main])
    return _in_order(frame[main]), _in_order(rest)


_TRUE = frozenset({"true", "1", "waar", "ja"})
_FALSE = frozenset({"false", "0", "onwaar", "nee", ""})


def _tidy(raw: pd.DataFrame) -> pd.DataFrame:
    """The columns of the report's frame from samenloop.csv's text columns (index kept)."""
    flags = raw["geheim"].str.strip().str.lower()
    wrong = ~flags.isin(_TRUE | _FALSE)
    if wrong.any():
        position = int(wrong.to_numpy().argmax())
        _parse_bool(raw["geheim"].iat[position], line=int(raw.index[position]) + 2)  # raises, in Dutch
    geheim = flags.isin(_TRUE)
    aantal = pd.to_numeric(raw["aantal"].str.strip(), errors="coerce").round().astype("Int64")
    per_1000 = pd.to_numeric(raw["per_1000_huishoudens"].str.strip(), errors="coerce").astype("Float64")
    frame = pd.DataFrame(
        {
            "gebiedscode": raw["gebiedscode"].str.strip(),
            "gebiedsnaam": raw["gebiedsnaam"].str.strip().map(restore_formula),
            "niveau": raw["niveau"].str.strip().str.lower(),
            "indicator": raw["indicator"],
            "aantal": aantal,
            "per_1000": per_1000,
            "geheim": geheim.astype(bool),
        }
    )
    frame.loc[frame["geheim"], ["aantal", "per_1000"]] = pd.NA
    return frame


def _in_order(frame: pd.DataFrame) -> pd.DataFrame:
    order = {name: i for i, name in enumerate(INDICATORS)}
    frame = frame.assign(_order=frame["indicator"].map(order))
    frame = frame.sort_values(["gebiedscode", "_order"], kind="stable").drop(columns="_order")
    return frame.reset_index(drop=True)


def read_kwaliteit(path: Path) -> pd.DataFrame:
    """Read kwaliteit.csv (per partner record counts); an absent file gives an empty frame."""
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in KWALITEIT_COLUMNS})
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if "gekoppeld_alternatief" not in raw.columns and "gekoppeld_adres" in raw.columns:
        raw["gekoppeld_alternatief"] = "0"  # written before docs/contract.md v2: nothing linked that way
    for column in KWALITEIT_COLUMNS:
        if column not in raw.columns:
            raw[column] = ""
    frame = raw[list(KWALITEIT_COLUMNS)].copy()
    frame["partner"] = frame["partner"].map(restore_formula)
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
        alternatief = _int_or_none(row.gekoppeld_alternatief)
        result.append(
            PartnerQuality(
                partner=partner,
                key_id=str(row.key_id or levering.get("key_id") or ""),
                rijen_gelezen=_int_or_none(levering.get("rijen_gelezen")),
                rijen_afgekeurd=_int_or_none(levering.get("rijen_afgekeurd")),
                records=_int_or_none(row.records),
                records_in_periode=_int_or_none(row.records_in_periode),
                gekoppeld=None if None in (adres, alternatief, pand) else adres + alternatief + pand,
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


# ---- The map (--kaart) -------------------------------------------------------------------------------
# CBS and PDOK ship wijk- en buurtkaarten with different property names (GeoPackage/OGC API `wijkcode`,
# shapefile `WK_CODE`, PostGIS `wk_code`, gebiedsindelingen `statcode`) and mostly in RD New (EPSG:28992);
# plotly draws longitude/latitude (WGS84). The reader checks and normalises, so the report only ever sees
# `properties.wijkcode` (or `buurtcode`) in WGS84. It is cheap enough to run before a run starts.

MAP_CODE_PROPERTIES: dict[str, tuple[str, ...]] = {
    "wijk": ("wijkcode", "wk_code", "WK_CODE", "statcode"),
    "buurt": ("buurtcode", "bu_code", "BU_CODE", "statcode"),
}
MAP_KEY = {"wijk": "wijkcode", "buurt": "buurtcode"}
"""The property that carries the code after reading (charts use `properties.<key>` as featureidkey)."""

RD_NEW, WGS84 = "EPSG:28992", "EPSG:4326"
_RD_BOUNDS = ((-7000.0, 300000.0), (289000.0, 629000.0))
_WGS84_BOUNDS = ((-180.0, 180.0), (-90.0, 90.0))
_CRS_ALIASES = {"28992": RD_NEW, "4326": WGS84, "4258": WGS84, "CRS84": WGS84}
"""ETRS89 (4258) differs from WGS84 by well under a metre here: drawn as WGS84."""


class MapFileError(ReportInputError):
    """The map given with --kaart cannot be used; the Dutch message names file and what is missing."""


@functools.cache
def _rd_transformer():
    from pyproj import Transformer

    return Transformer.from_crs(RD_NEW, WGS84, always_xy=True)


def rd_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """Convert Rijksdriehoek (x, y) in metres to (longitude, latitude) in degrees (pyproj, PROJ)."""
    lon, lat = _rd_transformer().transform(x, y)
    return float(lon), float(lat)


def _positions(coords: Any, out: list[Any]) -> None:
    """Collect every position ([x, y, ...]) of a GeoJSON coordinates array, in order."""
    if isinstance(coords, list) and coords and isinstance(coords[0], (int, float)):
        out.append(coords)
    elif isinstance(coords, list):
        for part in coords:
            _positions(part, out)


def _replace_positions(coords: Any, new: Any) -> Any:
    if isinstance(coords, list) and coords and isinstance(coords[0], (int, float)):
        return next(new)
    return [_replace_positions(part, new) for part in coords] if isinstance(coords, list) else coords


def _declared_crs(path: Path, data: dict[str, Any]) -> str | None:
    """RD_NEW or WGS84 from the (GeoJSON 2008) `crs` member, None without one."""
    crs = data.get("crs")
    if not isinstance(crs, dict):
        return None
    name = str((crs.get("properties") or {}).get("name", ""))
    match = re.search(r"EPSG(?::+|/0/)(\d+)$|(CRS84)$", name.strip())
    found = _CRS_ALIASES.get(next((g for g in match.groups() if g), "")) if match else None
    if found is None:
        raise MapFileError(
            f"kaart {path}: coördinatenstelsel '{name[:80]}' wordt niet ondersteund; "
            "gebruik RD New (urn:ogc:def:crs:EPSG::28992) of WGS84 (EPSG:4326)"
        )
    return found


def _within(xs: Any, ys: Any, bounds: tuple[tuple[float, float], ...]) -> bool:
    (x0, x1), (y0, y1) = bounds
    return bool(((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)).all())


def _to_wgs84(path: Path, data: dict[str, Any], features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The features in WGS84: RD by the `crs` member or, without one, by coordinates in the RD range."""
    import numpy as np

    per_feature: list[list[Any]] = []
    for feature in features:
        found: list[Any] = []
        _positions(feature["geometry"].get("coordinates"), found)
        per_feature.append(found)
    flat = [p for found in per_feature for p in found]
    try:
        xy = np.array([p[:2] for p in flat], dtype="float64").reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise MapFileError(f"kaart {path}: de coördinaten zijn geen getallenparen") from exc
    if not len(xy) or not np.isfinite(xy).all():
        raise MapFileError(f"kaart {path}: de vlakken hebben geen (geldige) coördinaten")
    declared = _declared_crs(path, data)
    xs, ys = xy[:, 0], xy[:, 1]
    in_wgs84, in_rd = _within(xs, ys, _WGS84_BOUNDS), _within(xs, ys, _RD_BOUNDS)
    crs = declared or (WGS84 if in_wgs84 else RD_NEW if in_rd else None)
    if crs is None or (crs == RD_NEW and not in_rd) or (crs == WGS84 and not in_wgs84):
        raise MapFileError(
            f"kaart {path}: de coördinaten (x {xs.min():.0f} tot {xs.max():.0f}, y {ys.min():.0f} tot "
            f"{ys.max():.0f}) passen niet bij {crs or 'RD New (EPSG:28992) of WGS84'}"
        )
    if crs == WGS84:
        return features
    lon, lat = _rd_transformer().transform(xs, ys)
    converted = iter([[float(a), float(b)] for a, b in zip(lon, lat, strict=True)])
    return [
        {**feature, "geometry": {**feature["geometry"],
                                 "coordinates": _replace_positions(feature["geometry"]["coordinates"],
                                                                   converted)}}
        for feature in features
    ]


def _code_of(properties: dict[str, Any], level: str) -> str | None:
    """The feature's code of `level` from the first property name CBS or PDOK use for it."""
    for name in MAP_CODE_PROPERTIES[level]:
        value = properties.get(name)
        if isinstance(value, str) and is_area_code(value, level):
            return normalise_code(value)
    return None


def _missing_codes(path: Path, features: list[dict[str, Any]], level: str) -> MapFileError:
    names = sorted({str(k) for f in features for k in (f.get("properties") or {})})
    other = "buurt" if level == "wijk" else "wijk"
    found_other = any(_code_of(f.get("properties") or {}, other) for f in features)
    hint = f"; het lijkt een {other}kaart" if found_other else ""
    wanted = ", ".join(MAP_CODE_PROPERTIES[level])
    return MapFileError(
        f"kaart {path}: geen vlak heeft een {level}code (eigenschap {wanted}, met codes als "
        f"{CODE_EXAMPLES[level]}){hint}; gevonden eigenschappen: {', '.join(names[:20]) or 'geen'}"
    )


def _polygons(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The GeoJSON document and its Polygon and MultiPolygon features; MapFileError when there are none."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise MapFileError(f"kaart {path}: het bestand kan niet gelezen worden ({exc.strerror})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MapFileError(f"kaart {path} is geen GeoJSON (geen geldige JSON in UTF-8)") from exc
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise MapFileError(f"kaart {path} is geen GeoJSON-FeatureCollection (het lid 'features' ontbreekt)")
    features = [
        f for f in data["features"]
        if isinstance(f, dict) and isinstance(f.get("geometry"), dict)
        and f["geometry"].get("type") in ("Polygon", "MultiPolygon")
    ]
    if not features:
        raise MapFileError(f"kaart {path} bevat geen vlakken (Polygon of MultiPolygon)")
    return data, features


def read_area_geojson(path: Path, level: str = "wijk") -> dict[str, Any]:
    """A CBS/PDOK map of wijken or buurten as a FeatureCollection in WGS84 with `properties.<MAP_KEY>`.

    Raises MapFileError (Dutch: file, what is missing, which property names were found) for a file that
    is no GeoJSON, has no polygons with a code of `level`, or whose coordinates fit neither RD nor WGS84.
    """
    path = Path(path)
    data, features = _polygons(path)
    if level == "wijk" and any(_code_of(f.get("properties") or {}, "buurt") for f in features):
        raise MapFileError(f"kaart {path} bevat buurten (buurtcodes als {CODE_EXAMPLES['buurt']}); "
                           "geef bij --kaart een wijkkaart")
    coded = []
    for feature in features:
        properties = feature.get("properties") or {}
        code = _code_of(properties, level)
        if code is not None:
            coded.append({**feature, "properties": {**properties, MAP_KEY[level]: code}})
    if not coded:
        raise _missing_codes(path, features, level)
    return {"type": "FeatureCollection", "features": _to_wgs84(path, data, coded)}


DIVISION_MAP_KEY = "gebiedscode"
"""The property that carries an own division's code after reading (`read_division_geojson`)."""


def division_code_properties(niveau: str) -> tuple[str, ...]:
    """Where a map of an own division (§9) may carry its codes: as in AREAS.csv, or as a plain `code`."""
    return (f"gebied_{niveau}", f"{niveau}code", "gebiedscode", "code")


def read_division_geojson(path: Path, niveau: str) -> dict[str, Any]:
    """A map of the gemeente's own division `niveau` (the codes of `gebied_<niveau>` in AREAS.csv) as a
    FeatureCollection in WGS84 with `properties.gebiedscode`; MapFileError as `read_area_geojson`."""
    path = Path(path)
    data, features = _polygons(path)
    wanted = division_code_properties(niveau)
    coded = []
    for feature in features:
        properties = feature.get("properties") or {}
        code = next((str(properties[name]).strip() for name in wanted
                     if isinstance(properties.get(name), (str, int)) and str(properties[name]).strip()), None)
        if code is not None:
            coded.append({**feature, "properties": {**properties, DIVISION_MAP_KEY: code}})
    if not coded:
        names = sorted({str(k) for f in features for k in (f.get("properties") or {})})
        raise MapFileError(
            f"kaart {path}: geen vlak heeft een code van de indeling '{niveau}' (eigenschap "
            f"{', '.join(wanted)}); gevonden eigenschappen: {', '.join(names[:20]) or 'geen'}"
        )
    return {"type": "FeatureCollection", "features": _to_wgs84(path, data, coded)}


def read_wijk_geojson(path: Path) -> dict[str, Any]:
    """The wijkkaart for --kaart (see read_area_geojson); usable as a check before a run."""
    return read_area_geojson(path, "wijk")
