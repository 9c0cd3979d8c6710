"""Norms per indicator (docs/contract.md §10): `factlab run --normen NORMEN.toml`.

The file names, per indicator, a target per 1 000 households: `max_per_1000` (at most) or `min_per_1000`
(at least), optionally a different target per wijk:

    ["domeinen:2+"]
    max_per_1000 = 18.0

    ["domeinen:2+".wijken]
    WK036300 = 20.0

The report shows per normed indicator the nulmeting (the oldest period of the series), now, and the norm,
and whether it is met; for the gemeente and for every wijk with its own target. Published figures only.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from reports.figures import Area, Cell, ReportInputError, areas, cell, municipality
from schemas.areas import is_area_code
from schemas.indicators import HOUSEHOLDS, INDICATOR_LABELS, INDICATORS

BOUNDS = ("max_per_1000", "min_per_1000")
WIJKEN_KEY = "wijken"


class NormsError(ReportInputError):
    """A norms file that cannot be used; the Dutch message names file and key."""


@dataclass(frozen=True)
class Norm:
    indicator: str
    kind: str
    """"max" (at most) or "min" (at least)."""
    value: float
    wijken: dict[str, float] = field(default_factory=dict)

    def met(self, rate: float | None, value: float | None = None) -> bool | None:
        """Whether a published rate meets the norm (None when the figure is secret)."""
        if rate is None:
            return None
        target = self.value if value is None else value
        return rate <= target if self.kind == "max" else rate >= target


def _number(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise NormsError(f"{path}, sleutel {key}: '{value}' is geen getal")
    if not 0 <= value <= 1000:
        raise NormsError(f"{path}, sleutel {key}: {value} ligt niet tussen 0 en 1000 (per 1.000 huishoudens)")
    return float(value)


def _norm(path: Path, indicator: str, table: Any) -> Norm:
    if indicator not in INDICATORS or indicator == HOUSEHOLDS:
        raise NormsError(
            f'{path}, sleutel ["{indicator}"]: onbekende indicator; kies uit docs/contract.md §7/§10'
        )
    if not isinstance(table, dict):
        raise NormsError(
            f'{path}, sleutel {indicator}: verwacht een tabel ["{indicator}"] met max_per_1000 '
            "of min_per_1000"
        )
    unknown = sorted(set(table) - {*BOUNDS, WIJKEN_KEY})
    if unknown:
        raise NormsError(
            f"{path}, sleutel {indicator}.{unknown[0]}: onbekende sleutel; gebruik max_per_1000, "
            "min_per_1000 of wijken"
        )
    given = [b for b in BOUNDS if b in table]
    if len(given) != 1:
        raise NormsError(f"{path}, sleutel {indicator}: geef precies één van max_per_1000 en min_per_1000")
    bound = given[0]
    value = _number(path, f"{indicator}.{bound}", table[bound])
    wijken_table = table.get(WIJKEN_KEY, {})
    if not isinstance(wijken_table, dict):
        raise NormsError(f"{path}, sleutel {indicator}.wijken: verwacht een tabel wijkcode = getal")
    wijken = {}
    for code, target in wijken_table.items():
        if not is_area_code(str(code), "wijk"):
            raise NormsError(f"{path}, sleutel {indicator}.wijken.{code}: geen wijkcode (zoals WK036300)")
        wijken[str(code)] = _number(path, f"{indicator}.wijken.{code}", target)
    return Norm(indicator, bound[:3], value, wijken)


def load_norms(path: Path) -> list[Norm]:
    """The norms of a TOML file, in file order; NormsError (Dutch, naming file and key) when unusable."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise NormsError(f"normenbestand {path} kan niet gelezen worden ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise NormsError(f"normenbestand {path} is geen tekst in UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise NormsError(f"normenbestand {path} is geen geldige TOML ({exc})") from exc
    norms = [_norm(path, str(name), table) for name, table in document.items()]
    if not norms:
        raise NormsError(f"normenbestand {path} bevat geen enkele norm")
    return norms


def _rate(c: Cell) -> float | None:
    return c.per_1000 if c.published else None


def _row(
    norm: Norm, area: Area, target: float, baseline: pd.DataFrame, current: pd.DataFrame
) -> dict[str, Any]:
    nul, nu = (
        _rate(cell(baseline, area.code, norm.indicator)),
        _rate(cell(current, area.code, norm.indicator)),
    )
    return {
        "indicator": norm.indicator,
        "label": INDICATOR_LABELS[norm.indicator],
        "code": area.code,
        "naam": area.naam,
        "niveau": area.niveau,
        "soort": norm.kind,
        "norm": target,
        "nulmeting": nul,
        "nu": nu,
        "gehaald": norm.met(nu, target),
    }


def norm_rows(norms: list[Norm], baseline: pd.DataFrame, current: pd.DataFrame) -> list[dict[str, Any]]:
    """Per norm: the gemeente row, then one row per wijk with its own target (wijk present in the table)."""
    gemeente = municipality(current)
    wijken = {a.code: a for a in areas(current, "wijk")}
    rows = []
    for norm in norms:
        rows.append(_row(norm, gemeente, norm.value, baseline, current))
        for code, target in norm.wijken.items():
            if code in wijken:
                rows.append(_row(norm, wijken[code], target, baseline, current))
    return rows
