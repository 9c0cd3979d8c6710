"""The deliveries of a run as their Parquet metadata describe them, and the check of their keys.

Reads only file metadata (no rows) and imports neither DuckDB nor pandas, so `factlab run` can check
every input before the flow starts (pipelines/preflight.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from linkage.ttp import ONE_STEP, TWO_STEP, steps_of
from schemas.formats import DELIVERY_FORMAT, expect_format, has_alternative_column


class LinkageError(Exception):
    """A run that cannot go on (Dutch message, names the partner, never a row value)."""


@dataclass(frozen=True)
class DeliveryFile:
    path: Path
    partner: str
    key_id: str
    rows_read: int
    rows_rejected: int
    meta: dict[str, str] = field(default_factory=dict)
    alternative: bool = False
    """Whether the file has `adres_pseudoniem_alt` (format version 2, docs/contract.md §3 step 8)."""

    @property
    def ttp_key_id(self) -> str:
        """K2 of two-step pseudonymisation; empty for a one-step file."""
        return self.meta.get("ttp_key_id", "")

    @property
    def steps(self) -> str:
        """ "1" (pseudonymised at the source) or "2" (source, then rekeyed by the TTP)."""
        return steps_of(self.meta)


def _check_steps(name: str, meta: dict[str, str]) -> None:
    steps = steps_of(meta)
    if steps not in (ONE_STEP, TWO_STEP) or (steps == TWO_STEP) != bool(meta.get("ttp_key_id")):
        raise LinkageError(
            f"{name}: de metadata over de pseudonimisering klopt niet (stappen {steps!r}, ttp_key_id "
            f"{meta.get('ttp_key_id') or 'leeg'}); vraag een nieuw bestand aan"
        )


def describe_delivery(path: Path) -> DeliveryFile:
    meta = expect_format(path, DELIVERY_FORMAT)
    partner = meta.get("partner", "").strip()
    if not partner:
        raise LinkageError(f"{path.name}: de levering noemt geen partner in haar metadata")
    _check_steps(f"{path.name} (partner {partner})", meta)
    return DeliveryFile(
        path,
        partner,
        meta.get("key_id", ""),
        int(meta.get("rows_read", 0)),
        int(meta.get("rows_rejected", 0)),
        meta,
        has_alternative_column(path, meta),
    )


def check_keys(deliveries: list[DeliveryFile], register_meta: dict[str, str]) -> None:
    """Refuse deliveries that cannot link to the register, naming the partners.

    Every file must carry the register's key_id (K1); one- and two-step files are never mixed; and
    in a two-step run every file must carry the register's ttp_key_id (K2). All problems are
    reported at once.
    """
    _check_steps("adressenregister", register_meta)
    register_key_id = register_meta.get("key_id", "")
    register_steps = steps_of(register_meta)
    register_ttp = register_meta.get("ttp_key_id", "")
    problems = []
    wrong_steps = sorted({d.partner for d in deliveries if d.steps != register_steps})
    if wrong_steps:
        if register_steps == TWO_STEP:
            problems.append(
                "het adressenregister is in twee stappen gepseudonimiseerd (bron en TTP), de levering van "
                f"partner(s) {', '.join(wrong_steps)} in één stap; laat de TTP ook deze levering(en) "
                "omzetten (factlab ttp rekey)"
            )
        else:
            problems.append(
                f"de levering van partner(s) {', '.join(wrong_steps)} is door de TTP omgezet (twee stappen), "
                "het adressenregister niet; laat de TTP ook het register omzetten (factlab ttp rekey)"
            )
    wrong = sorted({d.partner for d in deliveries if d.key_id != register_key_id})
    if wrong:
        problems.append(
            "sleutel komt niet overeen met het adressenregister (key_id "
            f"{register_key_id}) bij partner(s): {', '.join(wrong)}; vraag deze partner(s) opnieuw te "
            "pseudonimiseren met de sleutel van deze periode"
        )
    if register_steps == TWO_STEP:
        wrong_ttp = sorted(
            {d.partner for d in deliveries if d.steps == TWO_STEP and d.ttp_key_id != register_ttp}
        )
        if wrong_ttp:
            problems.append(
                f"TTP-sleutel komt niet overeen met het adressenregister (ttp_key_id {register_ttp}) bij "
                f"partner(s): {', '.join(wrong_ttp)}; laat de TTP deze levering(en) omzetten met dezelfde "
                "sleutel als het register"
            )
    if problems:
        raise LinkageError(
            "; en ".join(problems) + ". Een mix van één- en tweestapsbestanden of van "
            "sleutels wordt geweigerd."
        )


def find_deliveries(folder: Path) -> list[Path]:
    """The pseudonymised deliveries (*.parquet) in `folder`; LinkageError when there are none."""
    files = sorted(p for p in folder.glob("*.parquet") if p.is_file())
    if not files:
        raise LinkageError(f"geen gepseudonimiseerde leveringen (*.parquet) gevonden in {folder}")
    return files
