"""Wijkprofielen ("de waaier"): per wijk every indicator against the gemeente, its rank, and a mark where
the wijk differs from the rest of the gemeente beyond chance.

The test is a two-proportion z-test (pooled, two-sided, 95%) of the wijk against the rest of the gemeente
(gemeente − wijk), on the published rounded counts, with Holm's correction over the wijken of one
indicator. A test needs four published cells (wijk and gemeente, count and huishoudens); otherwise it is
not done. Everything is read from published cells of samenloop.csv.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports.figures import Area, Cell, area_table, cell
from schemas.indicators import HOUSEHOLDS, INDICATOR_LABELS, INDICATORS

ALPHA = 0.05
PROFILE_INDICATORS: tuple[str, ...] = tuple(name for name in INDICATORS if name != HOUSEHOLDS)

TEST_EXPLANATION = (
    "Een pijltje (▲ hoger, ▼ lager) betekent dat het cijfer van de wijk zo ver afwijkt van dat van de rest "
    "van de gemeente (de gemeente zonder die wijk) dat toeval als verklaring onwaarschijnlijk is. Getoetst "
    "is met een toets op het verschil tussen twee verhoudingen (z-toets) bij 95% betrouwbaarheid, op de "
    "gepubliceerde, afgeronde aantallen. Omdat alle wijken tegelijk getoetst worden, is de correctie van "
    "Holm toegepast: per cijfer is de kans dat ergens een wijk onterecht een pijltje krijgt hoogstens 5%. "
    "Waar een aantal geheim is, is niet getoetst. Geen pijltje betekent niet dat er geen verschil is, "
    "alleen dat het met deze aantallen niet aan te tonen is."
)


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """(z, two-sided p) of the pooled two-proportion z-test of x1/n1 against x2/n2; None if undefined."""
    if n1 <= 0 or n2 <= 0 or not 0 <= x1 <= n1 or not 0 <= x2 <= n2:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return z, normal_two_sided_p(z)


def holm_adjust(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count towards m)."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Comparison:
    """One indicator of one wijk: the wijk, the gemeente, the rank and the test."""

    indicator: str
    label: str
    wijk: Cell
    gemeente: Cell
    rang: int | None
    gerangschikt: int
    z: float | None
    p_holm: float | None

    @property
    def afwijking(self) -> str | None:
        """"hoger" or "lager" when significant after Holm at 95%, else None."""
        if self.p_holm is None or self.z is None or self.p_holm >= ALPHA:
            return None
        return "hoger" if self.z > 0 else "lager"


def _test(wijk: dict[str, Any], gemeente_code: str, samenloop: pd.DataFrame, name: str):
    cells = (
        wijk[name],
        wijk[HOUSEHOLDS],
        cell(samenloop, gemeente_code, name),
        cell(samenloop, gemeente_code, HOUSEHOLDS),
    )
    if not all(c.published for c in cells):
        return None
    x1, n1, xg, ng = (int(c.aantal) for c in cells)  # type: ignore[arg-type]
    return two_proportion_z_test(x1, n1, xg - x1, ng - n1)


def _ranks(wijken: list[dict[str, Any]], name: str) -> list[int | None]:
    """Rank 1 = highest rate among the wijken with a published rate; ties share the best rank."""
    rates = [w[name].per_1000 if w[name].published else None for w in wijken]
    return [None if r is None else 1 + sum(1 for o in rates if o is not None and o > r) for r in rates]


def wijk_profiles(samenloop: pd.DataFrame, gemeente: Area) -> list[dict[str, Any]]:
    """Per wijk: code, naam, huishoudens and a Comparison per indicator (PROFILE_INDICATORS order)."""
    wijken = area_table(samenloop, "wijk", INDICATORS)
    per_indicator: dict[str, list[Comparison]] = {}
    for name in PROFILE_INDICATORS:
        tests = [_test(w, gemeente.code, samenloop, name) for w in wijken]
        adjusted = holm_adjust([None if t is None else t[1] for t in tests])
        ranks = _ranks(wijken, name)
        ranked = sum(1 for r in ranks if r is not None)
        per_indicator[name] = [
            Comparison(
                indicator=name,
                label=INDICATOR_LABELS[name],
                wijk=w[name],
                gemeente=cell(samenloop, gemeente.code, name),
                rang=rank,
                gerangschikt=ranked,
                z=None if t is None else t[0],
                p_holm=p,
            )
            for w, t, p, rank in zip(wijken, tests, adjusted, ranks, strict=True)
        ]
    return [
        {
            "code": w["code"],
            "naam": w["naam"],
            "huishoudens": w[HOUSEHOLDS],
            "vergelijkingen": [per_indicator[name][i] for name in PROFILE_INDICATORS],
        }
        for i, w in enumerate(wijken)
    ]
