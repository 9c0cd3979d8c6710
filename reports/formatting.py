"""Dutch number formatting shared by the HTML, the charts and the plain-language reading."""

from __future__ import annotations

import math
import re
from datetime import datetime

SECRET = "."
"""What a secret or unpublished cell shows, as CBS does."""

MINUS = "\u2212"


def _is_missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_count(value: int | None) -> str:
    """A count with a dot as thousands separator (1.234); `.` when not published."""
    if _is_missing(value):
        return SECRET
    text = f"{abs(int(value)):,}".replace(",", ".")  # type: ignore[arg-type]
    return (MINUS if int(value) < 0 else "") + text  # type: ignore[arg-type]


def format_rate(value: float | None, decimals: int = 1) -> str:
    """A rate with a decimal comma and thousands dots (1.234,5); `.` when not published."""
    if _is_missing(value):
        return SECRET
    text = f"{abs(float(value)):,.{decimals}f}"  # type: ignore[arg-type]
    text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return (MINUS if round(float(value), decimals) < 0 else "") + text  # type: ignore[arg-type]


def format_percentage(share: float | None, decimals: int = 1) -> str:
    """A share (0..1) as a Dutch percentage, e.g. 87,5%."""
    if _is_missing(share):
        return SECRET
    return format_rate(100 * float(share), decimals) + "%"  # type: ignore[arg-type]


def format_signed_count(value: int | None) -> str:
    """A difference of counts with its sign (+15, −5, 0); `.` when not available."""
    if _is_missing(value):
        return SECRET
    return ("+" if int(value) > 0 else "") + format_count(value)  # type: ignore[arg-type]


def format_signed_rate(value: float | None, decimals: int = 1) -> str:
    """A difference of rates with its sign (+1,5; −0,3)."""
    if _is_missing(value):
        return SECRET
    return ("+" if round(float(value), decimals) > 0 else "") + format_rate(value, decimals)  # type: ignore[arg-type]


MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
ORDINALS = {"1": "eerste", "2": "tweede", "3": "derde", "4": "vierde"}


def format_date(value: str) -> str:
    """An ISO date or timestamp in Dutch (30 juni 2026; 15 juli 2026, 10:00); other text as it is."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    text = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
    if "T" in value or " " in value.strip():
        text += f", {moment:%H:%M}"
    return text


def period_label(label: str) -> str:
    """A period code (contract §6) in words (2026H1 → eerste halfjaar 2026); other labels as they are."""
    text = label.strip()
    if match := re.fullmatch(r"(\d{4})H([12])", text):
        return f"{ORDINALS[match[2]]} halfjaar {match[1]}"
    if match := re.fullmatch(r"(\d{4})Q([1-4])", text):
        return f"{ORDINALS[match[2]]} kwartaal {match[1]}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"peildatum {format_date(text)}"
    return text
