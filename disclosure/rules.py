"""The disclosure-control rules of docs/contract.md §8, kept as data in `regels.toml`.

The rules are loaded once into a frozen `DisclosureRules`; everything that protects, audits or
describes a table asks this object, so the threshold, the rounding and the attacker's view of a
published number are defined in one place.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_RULES_FILE = "regels.toml"


class RulesError(ValueError):
    """A rules file that cannot be read or holds an invalid value (message in Dutch)."""


@dataclass(frozen=True)
class DisclosureRules:
    """Disclosure-control settings; see `docs/disclosure.md` for what each one protects."""

    min_publiceerbaar: int = 10
    afronden_op: int = 5
    min_huishoudens_gebied: int = 50
    nul_publiceren: bool = True
    secundaire_onderdrukking: bool = True
    min_bandbreedte: int = 8
    versie: int = 1
    kosten_afronden_op: int = 1000
    kosten_p_procent: int = 15
    kosten_bescherming_procent: int = 15

    def __post_init__(self) -> None:
        for name in ("min_publiceerbaar", "afronden_op", "min_huishoudens_gebied", "min_bandbreedte",
                     "versie", "kosten_afronden_op", "kosten_p_procent", "kosten_bescherming_procent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise RulesError(f"regel '{name}' moet een geheel getal zijn.")
        for name in ("nul_publiceren", "secundaire_onderdrukking"):
            if not isinstance(getattr(self, name), bool):
                raise RulesError(f"regel '{name}' moet true of false zijn.")
        if self.versie != 1:
            raise RulesError(f"regelbestand versie {self.versie} is onbekend; deze Factlab kent versie 1.")
        if self.min_publiceerbaar < 1:
            raise RulesError("regel 'min_publiceerbaar' moet minstens 1 zijn.")
        if self.afronden_op < 1:
            raise RulesError("regel 'afronden_op' moet minstens 1 zijn (1 = niet afronden).")
        if self.min_huishoudens_gebied < 0:
            raise RulesError("regel 'min_huishoudens_gebied' mag niet negatief zijn.")
        if self.min_bandbreedte < 1:
            raise RulesError("regel 'min_bandbreedte' moet minstens 1 zijn.")
        if self.kosten_afronden_op < 1:
            raise RulesError("regel 'kosten_afronden_op' moet minstens 1 (euro) zijn.")
        for name in ("kosten_p_procent", "kosten_bescherming_procent"):
            if not 0 <= getattr(self, name) <= 100:
                raise RulesError(f"regel '{name}' moet een percentage van 0 tot en met 100 zijn.")
        # A count at or above the threshold must never round to 0, or a published 0 would no
        # longer mean 'exactly none'.
        if self.min_publiceerbaar < self.afronden_op - self.afronden_op // 2:
            raise RulesError(
                "regel 'min_publiceerbaar' is te klein voor 'afronden_op': een publiceerbaar aantal zou op 0 "
                "afgerond worden. Kies min_publiceerbaar minstens de helft van afronden_op."
            )

    # -- the rules as arithmetic -------------------------------------------------------------------

    @property
    def smallest_secret(self) -> int:
        """The smallest true count that is secret under the threshold rule (0 when zeros are secret)."""
        return 1 if self.nul_publiceren else 0

    def is_below_threshold(self, count: int) -> bool:
        """True when a true count must be kept secret by the threshold rule alone."""
        return self.smallest_secret <= count < self.min_publiceerbaar

    def round_count(self, count: int) -> int:
        """Round a non-negative count to the nearest multiple of `afronden_op`, halves up."""
        base = self.afronden_op
        return ((count + base // 2) // base) * base

    @property
    def rounding_below(self) -> int:
        """How far a true count can lie below its published value."""
        return self.afronden_op // 2

    @property
    def rounding_above(self) -> int:
        """How far a true count can lie above its published value (one less than below for even bases)."""
        return self.afronden_op - 1 - self.afronden_op // 2

    def published_bounds(self, published: int) -> tuple[int, int]:
        """The true counts an attacker knows to be possible behind a published count."""
        if published == 0 and self.nul_publiceren:
            return 0, 0
        low = max(published - self.rounding_below, self.min_publiceerbaar)
        return low, published + self.rounding_above

    # -- descriptions --------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The rules for the manifest (plain JSON types)."""
        return asdict(self)

    def describe_nl(self) -> list[str]:
        """The rules as Dutch sentences for the report."""
        threshold = self.min_publiceerbaar
        sentences = [
            f"Aantallen van {self.smallest_secret} tot en met {threshold - 1} zijn geheim "
            "en worden niet getoond (.).",
        ]
        if self.nul_publiceren:
            sentences.append("Een aantal van 0 wordt wel getoond.")
        if self.afronden_op > 1:
            sentences.append(
                f"Alle getoonde aantallen zijn afgerond op een veelvoud van {self.afronden_op} "
                "(helften naar boven); de cijfers per 1.000 huishoudens zijn berekend met de afgeronde "
                "aantallen."
            )
        if self.min_huishoudens_gebied > 0:
            sentences.append(
                f"Van gebieden met minder dan {self.min_huishoudens_gebied} huishoudens wordt alleen "
                "het aantal huishoudens getoond."
            )
        if self.secundaire_onderdrukking:
            sentences.append(
                "Waar een geheim cijfer via totalen of de optelling van gebieden terug te rekenen zou "
                "zijn, zijn ook andere cijfers geheim gemaakt. Daardoor blijven voor elk geheim cijfer "
                f"minstens {self.min_bandbreedte + 1} mogelijke waarden over, en valt van geen cijfer dat "
                f"onder de drempel geheim is uit te rekenen dat het kleiner is dan {threshold}."
            )
        else:
            sentences.append("Aanvullende geheimhouding (tegen terugrekenen via totalen) staat uit.")
        return sentences + self._describe_costs_nl()

    def _describe_costs_nl(self) -> list[str]:
        """The cost rules (docs/contract.md §12, kosten.csv), as Dutch sentences."""
        base = f"{self.kosten_afronden_op:,}".replace(",", ".")
        return [
            f"Bedragen in kosten.csv zijn afgerond op een veelvoud van {base} euro (helften naar boven).",
            "Een bedrag is geheim als het aantal huishoudens van dezelfde cel geheim is of onder "
            f"{self.min_publiceerbaar} ligt, of als één huishouden er zo'n groot deel van uitmaakt dat het "
            "te schatten is: de huishoudens buiten de twee grootste samen minder dan "
            f"{self.kosten_p_procent}% van het grootste bedrag (p%-regel).",
            "Waar een geheim bedrag via totalen of de optelling van gebieden of groepen terug te rekenen zou "
            "zijn, zijn ook andere bedragen geheim gemaakt, zodat voor elk geheim bedrag nog waarden "
            f"minstens {self.kosten_bescherming_procent}% lager en {self.kosten_bescherming_procent}% hoger "
            "mogelijk blijven.",
        ]


def _packaged_rules_text() -> str:
    return resources.files("disclosure").joinpath(DEFAULT_RULES_FILE).read_text(encoding="utf-8")


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: geen geldige TOML ({exc}).") from None


def load_rules(path: Path | None = None) -> DisclosureRules:
    """Load the rules: the packaged defaults, overridden by the keys in `path` when given."""
    values = _parse(_packaged_rules_text(), DEFAULT_RULES_FILE)
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(f"{path}: regelbestand niet te lezen ({exc.strerror}).") from None
        overrides = _parse(text, str(path))
        known = {f.name for f in fields(DisclosureRules)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RulesError(
                f"{path}: onbekende regel(s) {', '.join(unknown)}; "
                f"toegestaan zijn {', '.join(sorted(known))}."
            )
        values.update(overrides)
    try:
        return DisclosureRules(**values)
    except RulesError as exc:
        where = str(path) if path is not None else DEFAULT_RULES_FILE
        raise RulesError(f"{where}: {exc}") from None


@cache
def default_rules() -> DisclosureRules:
    """The packaged rules (`regels.toml`) alone: the defaults wherever a run does not name its own.

    Readers of published output (the report) take a missing threshold or rounding base from here, so
    the defaults live only in the rules file.
    """
    return load_rules()


COST_RULE_KEYS = ("kosten_afronden_op", "kosten_p_procent", "kosten_bescherming_procent")
"""Rules added with the costs (docs/contract.md §12): a manifest written before them lacks them."""


def manifest_rules(regels: Any) -> Any:
    """A manifest's `beveiliging.regels` as rules are compared (series, comparison, revision): a manifest
    written before the cost rules is read as having their defaults (the packaged rules); anything that is
    not a dict stays as it is."""
    if not isinstance(regels, dict):
        return regels
    defaults = default_rules().as_dict()
    return {**{key: defaults[key] for key in COST_RULE_KEYS if key not in regels}, **regels}
