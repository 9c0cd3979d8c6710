"""The short plain-language reading on the first page, generated from published figures only."""

from __future__ import annotations

from typing import Any

import pandas as pd

from disclosure.rules import default_rules
from reports.figures import Area, Cell, cell
from reports.formatting import format_count, format_percentage, format_rate
from schemas.indicators import (
    EXCLUSIVE_DOMAIN_SETS,
    HOUSEHOLDS,
    INDICATOR_LABELS,
    MULTI_DOMAIN,
    ORGANISATION_COUNT_INDICATORS,
    WITH_SERVICE,
)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


def _times(ratio: float) -> str:
    if ratio >= 1.15:
        return f"{format_rate(ratio)} keer zo hoog als"
    if ratio <= 0.87:
        return f"{format_rate(ratio)} keer het cijfer van"
    return "ongeveer gelijk aan"


def norm_sentences(rows: list[dict[str, Any]]) -> list[str]:
    """The plain-language reading of the norms on the first page: the gemeente rows of `norm_rows`."""
    sentences = []
    for row in rows:
        if row["niveau"] == "wijk":
            continue
        word = "hoogstens" if row["soort"] == "max" else "minstens"
        target = f"{word} {format_rate(row['norm'])} per 1.000"
        if row["gehaald"] is None:
            sentences.append(
                f"Norm {row['label'].lower()} ({target}): niet te beoordelen, het cijfer is geheim."
            )
        else:
            verdict = "gehaald" if row["gehaald"] else "niet gehaald"
            sentences.append(
                f"Norm {row['label'].lower()} ({target}) is {verdict}: nu {format_rate(row['nu'])} per 1.000."
            )
    return sentences


def plain_reading(
    samenloop: pd.DataFrame,
    gemeente: Area,
    wijken: list[dict[str, Any]],
    previous: pd.DataFrame | None = None,
    previous_label: str | None = None,
    rounding: int | None = None,
) -> list[str]:
    """A handful of Dutch sentences a councillor can read without knowing the method.

    `rounding` is the run's rounding base; without it, the one of the packaged disclosure rules.
    """
    if rounding is None:
        rounding = default_rules().afronden_op
    multi = cell(samenloop, gemeente.code, MULTI_DOMAIN)
    sentences = _totals(samenloop, gemeente)
    sentences += _wijk_ranking(wijken, multi)
    sentences += _hidden_wijken(wijken)
    sentences += _common_combination(samenloop, gemeente)
    sentences += _many_organisations(samenloop, gemeente)
    if previous is not None:
        sentences += _trend(cell(previous, gemeente.code, MULTI_DOMAIN), multi, previous_label, rounding)
    return sentences


def _totals(samenloop: pd.DataFrame, gemeente: Area) -> list[str]:
    """Households, those with a voorziening, and those with samenloop (with its share)."""
    sentences: list[str] = []
    households = cell(samenloop, gemeente.code, HOUSEHOLDS)
    with_service = cell(samenloop, gemeente.code, WITH_SERVICE)
    multi = cell(samenloop, gemeente.code, MULTI_DOMAIN)
    if households.published and with_service.published:
        sentences.append(
            f"{gemeente.naam} telt {format_count(households.aantal)} huishoudens. "
            f"{format_count(with_service.aantal)} daarvan ({format_rate(with_service.per_1000)} per 1.000) "
            "kregen in deze periode minstens één voorziening voor jeugd, Wmo of werk en inkomen."
        )
    if multi.published:
        text = (
            f"{format_count(multi.aantal)} huishoudens ({format_rate(multi.per_1000)} per 1.000) kregen "
            "hulp uit twee of drie domeinen tegelijk: dat noemen we samenloop."
        )
        if with_service.published and with_service.aantal:
            share = multi.aantal / with_service.aantal  # type: ignore[operator]
            text += f" Dat is {format_percentage(share, 0)} van de huishoudens met een voorziening."
        sentences.append(text)
    return sentences


def _wijk_ranking(wijken: list[dict[str, Any]], multi: Cell) -> list[str]:
    """The wijken with the most samenloop against the gemeente, and the one with the least."""
    published = [w for w in wijken if w[MULTI_DOMAIN].per_1000 is not None]
    if len(published) < 2 or not multi.per_1000:
        return []
    ranked = sorted(published, key=lambda w: w[MULTI_DOMAIN].per_1000, reverse=True)
    top = ranked[: 2 if len(ranked) < 5 else 3]
    parts = [f"{w['naam']} ({format_rate(w[MULTI_DOMAIN].per_1000)} per 1.000)" for w in top]
    ratio = top[0][MULTI_DOMAIN].per_1000 / multi.per_1000
    lowest = ranked[-1]
    return [
        f"Samenloop komt het meest voor in {_join(parts)}. In {top[0]['naam']} is het cijfer "
        f"{_times(ratio)} in de hele gemeente ({format_rate(multi.per_1000)} per 1.000).",
        f"Het laagst is het in {lowest['naam']} ({format_rate(lowest[MULTI_DOMAIN].per_1000)} per 1.000).",
    ]


def _hidden_wijken(wijken: list[dict[str, Any]]) -> list[str]:
    """Which wijken have their samenloop kept secret, and why."""
    hidden = [w for w in wijken if w[MULTI_DOMAIN].per_1000 is None]
    if not hidden:
        return []
    names = _join([w["naam"] for w in hidden])
    verb = "is" if len(hidden) == 1 else "zijn"
    return [
        f"Voor {names} {verb} de samenloop afgeschermd (.), omdat het om te weinig huishoudens gaat "
        "of omdat het cijfer anders terug te rekenen is."
    ]


def _common_combination(samenloop: pd.DataFrame, gemeente: Area) -> list[str]:
    """The most frequent published combination of two or more domains."""
    combos = [
        (name, cell(samenloop, gemeente.code, name))
        for name in EXCLUSIVE_DOMAIN_SETS
        if len(EXCLUSIVE_DOMAIN_SETS[name]) > 1
    ]
    combos = [(name, c) for name, c in combos if c.published and c.aantal]
    if not combos:
        return []
    name, c = max(combos, key=lambda item: item[1].aantal)
    return [
        f"De meest voorkomende combinatie van domeinen is {INDICATOR_LABELS[name]} "
        f"({format_count(c.aantal)} huishoudens)."
    ]


def _many_organisations(samenloop: pd.DataFrame, gemeente: Area) -> list[str]:
    """Households dealing with the most organisations at once (the last organisation-count indicator)."""
    many_orgs = cell(samenloop, gemeente.code, ORGANISATION_COUNT_INDICATORS[-1])
    if not (many_orgs.published and many_orgs.aantal):
        return []
    return [
        f"{format_count(many_orgs.aantal)} huishoudens ({format_rate(many_orgs.per_1000)} per 1.000) "
        "hadden met drie of meer organisaties tegelijk te maken."
    ]


def _trend(before: Cell, multi: Cell, previous_label: str | None, rounding: int) -> list[str]:
    """Samenloop against the previous period; a difference within the rounding counts as unchanged."""
    if not (before.published and multi.published and before.per_1000 is not None
            and multi.per_1000 is not None):
        return []
    label = previous_label or "de vorige periode"
    difference = multi.aantal - before.aantal  # type: ignore[operator]
    if abs(difference) <= (rounding if rounding > 1 else 0):
        trend = "bleef de samenloop vrijwel gelijk"
    elif difference > 0:
        trend = "nam de samenloop toe"
    else:
        trend = "nam de samenloop af"
    return [
        f"Vergeleken met {label} {trend}: van {format_rate(before.per_1000)} naar "
        f"{format_rate(multi.per_1000)} per 1.000 huishoudens."
    ]
