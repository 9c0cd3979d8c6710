"""Per partner, the share of records in the period that linked to the register, and loud signals
when that share is far below the others: the usual sign of a wrong key, a delivery from another
gemeente, or an address-format problem at the partner.

A partner is flagged when, of its records in the period,
- fewer than `ABSOLUTE_FLOOR` (50%) linked, or
- its share is below `RELATIVE_FLOOR` (three quarters) of the median share of the other partners (only
  when at least two other partners have records in the period),
or when it has no record in the period at all. Signals carry the partner name and counts only.

Why three quarters and not half: a median is at most 100%, so "below half of the median" never flags
anything the absolute floor does not already flag. Three quarters catches the typical address-format
problem (say 60% linked where the others link 95%) and leaves normal spread alone (in the sample
every partner links 95-97%; a regional provider with clients outside the gemeente may sit at 75-85%).
"""

from __future__ import annotations

from statistics import median
from typing import Any

import pandas as pd

ABSOLUTE_FLOOR = 0.50
RELATIVE_FLOOR = 0.75
MIN_OTHERS_FOR_MEDIAN = 2
CAUSES_NL = ("Mogelijke oorzaken: een verkeerde sleutel, een levering uit een andere gemeente of een "
             "probleem met het adresformaat bij de partner.")


def _percent_nl(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + "%"


def link_rates(quality: pd.DataFrame) -> pd.DataFrame:
    """partner, records_in_periode, gekoppeld, koppelpercentage (0..100, NaN when none in the period)."""
    if "gekoppeld_alternatief" not in quality:  # kwaliteit from before docs/contract.md v2 (§3 step 8)
        quality = quality.assign(gekoppeld_alternatief=0)
    per_partner = quality.groupby("partner", as_index=False)[
        ["records_in_periode", "gekoppeld_adres", "gekoppeld_alternatief", "gekoppeld_pand"]
    ].sum()
    linked = per_partner[["gekoppeld_adres", "gekoppeld_alternatief", "gekoppeld_pand"]].sum(axis=1)
    in_period = per_partner["records_in_periode"]
    return pd.DataFrame({
        "partner": per_partner["partner"],
        "records_in_periode": in_period.astype("int64"),
        "gekoppeld": linked.astype("int64"),
        "koppelpercentage": (linked / in_period.where(in_period > 0)) * 100,
    })


def low_link_signals(quality: pd.DataFrame) -> list[dict[str, Any]]:
    """Signals for the manifest (`kwaliteit_signalen`): partner, koppelpercentage, a Dutch sentence."""
    rates = link_rates(quality)
    shares = {row.partner: row.koppelpercentage / 100
              for row in rates.itertuples() if row.records_in_periode > 0}
    signals: list[dict[str, Any]] = []
    for row in rates.itertuples():
        if row.records_in_periode == 0:
            signals.append({
                "partner": row.partner, "koppelpercentage": None,
                "signaal": f"Partner {row.partner} heeft geen enkel record in de periode. Controleer of de "
                           "levering over de juiste periode gaat.",
            })
            continue
        share = shares[row.partner]
        others = [s for p, s in shares.items() if p != row.partner]
        others_median = median(others) if len(others) >= MIN_OTHERS_FOR_MEDIAN else None
        below_others = others_median is not None and share < RELATIVE_FLOOR * others_median
        if share >= ABSOLUTE_FLOOR and not below_others:
            continue
        comparison = (f", ver onder de andere partners (mediaan {_percent_nl(others_median)})"
                      if others_median is not None else "")
        signals.append({
            "partner": row.partner,
            "koppelpercentage": round(share * 100, 1),
            "signaal": f"Partner {row.partner}: slechts {_percent_nl(share)} van de {row.records_in_periode} "
                       f"records in de periode is gekoppeld aan het adressenregister{comparison}. "
                       f"{CAUSES_NL}",
        })
    return signals
