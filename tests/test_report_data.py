"""A small synthetic protected output folder (contract §7) for report tests; holds no tests itself.

The counts are made up, then protected the way §8 describes (1..9 secret, rounded to fives, rates from
rounded counts, small areas publish only `huishoudens`), so the report sees realistic cells.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from schemas.indicators import (
    DOMAINS,
    EXCLUSIVE_DOMAIN_SETS,
    HOUSEHOLDS,
    INDICATORS,
    MULTI_DOMAIN,
    ORGANISATION_COUNT_INDICATORS,
    SERVICE_COUNT_INDICATORS,
    WITH_SERVICE,
)

GEMEENTE = ("GM9999", "Voorbeeldstad")
WIJKEN = {
    "WK999901": "Centrum",
    "WK999902": "Noord",
    "WK999903": "Oost",
    "WK999904": "Zuid",
    "WK999905": "'t Veld",
    "WK999906": "Buitengebied",
}
SMALL_WIJK = "WK999906"
"""Fewer than 50 households: publishes only `huishoudens`."""

# households, then the seven exclusive combinations in EXCLUSIVE_DOMAIN_SETS order, per wijk
TRUE_COUNTS = {
    "WK999901": (4210, (151, 238, 97, 18, 41, 12, 7)),
    "WK999902": (3120, (88, 142, 61, 9, 23, 5, 3)),
    "WK999903": (5480, (203, 311, 129, 26, 57, 22, 11)),
    "WK999904": (2050, (47, 102, 36, 4, 12, 6, 2)),
    "WK999905": (880, (22, 31, 16, 3, 8, 2, 1)),
    SMALL_WIJK: (40, (2, 3, 1, 0, 1, 0, 0)),
}


def _true_indicators(households: int, combos: tuple[int, ...], shift: int = 0) -> dict[str, int]:
    counts = dict(zip(EXCLUSIVE_DOMAIN_SETS, (max(c + shift, 0) for c in combos), strict=True))
    values = {HOUSEHOLDS: households, **counts}
    values[WITH_SERVICE] = sum(counts.values())
    for domain in DOMAINS:
        values[f"domein:{domain}"] = sum(
            n for name, n in counts.items() if domain in EXCLUSIVE_DOMAIN_SETS[name]
        )
    values[MULTI_DOMAIN] = sum(n for name, n in counts.items() if len(EXCLUSIVE_DOMAIN_SETS[name]) > 1)
    total = values[WITH_SERVICE]
    # made-up but summing splits of met_voorziening over 1, 2, 3, 4+ voorzieningen and 1, 2, 3+ organisaties
    shares = (0.62, 0.23, 0.09)
    parts = [int(total * s) for s in shares]
    values.update(zip(SERVICE_COUNT_INDICATORS, [*parts, total - sum(parts)], strict=True))
    parts = [int(total * s) for s in (0.71, 0.2)]
    values.update(zip(ORGANISATION_COUNT_INDICATORS, [*parts, total - sum(parts)], strict=True))
    return values


def _round5(n: int) -> int:
    return int(5 * ((n + 2.5) // 5))


def _protected_rows(code: str, naam: str, niveau: str, values: dict[str, int]) -> list[dict[str, str]]:
    rows = []
    households = _round5(values[HOUSEHOLDS])
    small = values[HOUSEHOLDS] < 50
    for name in INDICATORS:
        n = values[name]
        secret = name != HOUSEHOLDS and (small or 1 <= n <= 9)
        aantal = "" if secret else str(_round5(n))
        rate = "" if secret else f"{_round5(n) / households * 1000:.1f}"
        rows.append(
            {
                "gebiedscode": code,
                "gebiedsnaam": naam,
                "niveau": niveau,
                "indicator": name,
                "aantal": aantal,
                "per_1000_huishoudens": rate,
                "geheim": "true" if secret else "false",
            }
        )
    return rows


def expected_cells(out_dir: Path) -> dict[tuple[str, str], dict[str, str]]:
    """samenloop.csv as written, keyed by (gebiedscode, indicator)."""
    with (out_dir / "samenloop.csv").open(encoding="utf-8") as f:
        return {(r["gebiedscode"], r["indicator"]): r for r in csv.DictReader(f)}


def write_synthetic_out(out_dir: Path, *, period: str = "2026H1", shift: int = 0) -> Path:
    """Write samenloop.csv, kwaliteit.csv and manifest.json of a made-up run into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    per_wijk = {code: _true_indicators(h, combos, shift) for code, (h, combos) in TRUE_COUNTS.items()}
    gemeente = {name: sum(v[name] for v in per_wijk.values()) for name in INDICATORS}
    rows = _protected_rows(*GEMEENTE, "gemeente", gemeente)
    for code, values in per_wijk.items():
        rows.extend(_protected_rows(code, WIJKEN[code], "wijk", values))
    with (out_dir / "samenloop.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    partners = [
        ("Jeugdhulp Regio", 1840, 1502, 1380, 10, 61, 51),
        ("Wmo-loket", 2260, 1975, 1898, 4, 30, 43),
        ("Werk en Inkomen", 1310, 1201, 1150, 0, 22, 29),
    ]
    with (out_dir / "kwaliteit.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "partner",
                "key_id",
                "records",
                "records_in_periode",
                "gekoppeld_adres",
                "gekoppeld_alternatief",
                "gekoppeld_pand",
                "niet_gekoppeld",
            ]
        )
        for partner, *counts in partners:
            writer.writerow([partner, "0123456789abcdef", *counts])

    year, half = period[:4], period[-1]
    manifest = {
        "periode": {
            "label": period,
            "start": f"{year}-{'01' if half == '1' else '07'}-01",
            "eind": f"{year}-{'06-30' if half == '1' else '12-31'}",
        },
        "key_id": "0123456789abcdef",
        "niveaus": ["gemeente", "wijk"],
        "gemeente": {"code": GEMEENTE[0], "naam": GEMEENTE[1]},
        "leveringen": [
            {
                "partner": p,
                "key_id": "0123456789abcdef",
                "rijen_gelezen": records + 12,
                "rijen_afgekeurd": 12,
                "sha256": f"{i:x}" * 64,
            }
            for i, (p, records, *_rest) in enumerate(partners, start=10)
        ],
        "beveiliging": {
            "regels": {"min_publiceerbaar": 10, "afronden_op": 5, "min_huishoudens_gebied": 50},
            "regels_nl": [
                "Een aantal van 1 tot en met 9 huishoudens is geheim.",
                "Elk gepubliceerd aantal is afgerond op een veelvoud van 5.",
                "Gebieden met minder dan 50 huishoudens tonen alleen het aantal huishoudens.",
            ],
            "audit": {"geslaagd": True},
        },
        "factlab_versie": "0.1.0",
        "gemaakt": f"{year}-07-15T10:00:00+02:00",
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out_dir


def write_wijk_geojson(path: Path) -> Path:
    """Six square wijken near Zaandam in WGS84, property `wijkcode`; one counter-clockwise MultiPolygon."""
    features = []
    for i, code in enumerate(list(WIJKEN)[:5]):
        x0, y0 = 4.78 + 0.025 * (i % 3), 52.42 + 0.018 * (i // 3)
        ring = [[x0, y0], [x0, y0 + 0.016], [x0 + 0.023, y0 + 0.016], [x0 + 0.023, y0], [x0, y0]]
        features.append(
            {
                "type": "Feature",
                "properties": {"wijkcode": code, "wijknaam": WIJKEN[code]},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    x0, y0 = 4.78 + 0.025 * 2, 52.42 + 0.018
    ring = [[x0, y0], [x0 + 0.023, y0], [x0 + 0.023, y0 + 0.016], [x0, y0 + 0.016], [x0, y0]]
    features.append(
        {
            "type": "Feature",
            "properties": {"wijkcode": SMALL_WIJK},
            "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]},
        }
    )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


# ---- Groups and own divisions (contract §9) ------------------------------------------------------------
# households, then the seven exclusive combinations, per kenmerk value at gemeente level; `onbekend` is
# below 50 households (publishes only `huishoudens`) and `overig` has samenloop of 1..9 (secret).
GROUP_COUNTS = {
    "huishoudtype": {
        "eenpersoons": (6100, (180, 330, 120, 15, 40, 10, 5)),
        "paar_zonder_kinderen": (3600, (60, 140, 40, 5, 12, 3, 1)),
        "paar_met_kinderen": (3900, (150, 200, 110, 15, 40, 14, 8)),
        "eenouder": (1400, (90, 100, 50, 22, 45, 18, 9)),
        "overig": (740, (30, 54, 19, 2, 3, 1, 1)),
        "onbekend": (40, (3, 3, 1, 1, 2, 1, 0)),
    },
    "inkomen": {
        "laag": (5200, (200, 300, 150, 30, 60, 20, 10)),
        "midden": (6400, (200, 350, 130, 25, 65, 25, 14)),
        "hoog": (4180, (113, 177, 60, 5, 17, 2, 0)),
    },
}
"""Each kenmerk's values add up to the gemeente of TRUE_COUNTS, combination by combination."""
DIVISION = "wijkteam"
DIVISION_AREAS = {
    "WT01": ("Wijkteam Noord", ("WK999901", "WK999902")),
    "WT02": ("Wijkteam Oost en Zuid", ("WK999903", "WK999904")),
    "WT03": ("Wijkteam Buiten", ("WK999905", SMALL_WIJK)),
}


def add_groups(out_dir: Path) -> Path:
    """Rewrite samenloop.csv of `write_synthetic_out` in the v2 form: a `groep` column, the groups of
    GROUP_COUNTS at gemeente level (and, with other numbers, in one wijk, which the report must not use)
    and the own division `wijkteam` of DIVISION_AREAS."""
    path = out_dir / "samenloop.csv"
    with path.open(encoding="utf-8") as f:
        rows = [{**r, "groep": ""} for r in csv.DictReader(f)]
    per_wijk = {code: _true_indicators(h, combos) for code, (h, combos) in TRUE_COUNTS.items()}
    for code, (naam, wijken) in DIVISION_AREAS.items():
        values = {name: sum(per_wijk[w][name] for w in wijken) for name in INDICATORS}
        rows.extend({**r, "groep": ""} for r in _protected_rows(code, naam, DIVISION, values))
    for kenmerk, groups in GROUP_COUNTS.items():
        for waarde, (households, combos) in groups.items():
            wijk = _true_indicators(households // 4, tuple(c // 2 for c in combos))
            for code, naam, niveau, values in ((*GEMEENTE, "gemeente", _true_indicators(households, combos)),
                                               ("WK999901", WIJKEN["WK999901"], "wijk", wijk)):
                rows.extend({**r, "groep": f"{kenmerk}={waarde}"}
                            for r in _protected_rows(code, naam, niveau, values))
    columns = ["gebiedscode", "gebiedsnaam", "niveau", "groep", "indicator", "aantal", "per_1000_huishoudens",
               "geheim"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return out_dir


def write_division_geojson(path: Path) -> Path:
    """The three areas of DIVISION_AREAS as squares in WGS84, their code in `gebied_wijkteam` (as in
    AREAS.csv), and one polygon of an area the report does not have."""
    features = []
    for i, code in enumerate([*DIVISION_AREAS, "WT99"]):
        x0, y0 = 4.78 + 0.03 * i, 52.42
        ring = [[x0, y0], [x0, y0 + 0.02], [x0 + 0.028, y0 + 0.02], [x0 + 0.028, y0], [x0, y0]]
        features.append({"type": "Feature", "properties": {f"gebied_{DIVISION}": code},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path
