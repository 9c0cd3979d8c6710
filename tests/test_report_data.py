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
