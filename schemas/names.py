"""The one rule for names Factlab writes into file names, file metadata and CSV cells.

Used for portal accounts and for `factlab pseudonymise --partner`: 2 to 40 lower-case letters, digits,
`-` or `_`, starting with a letter or digit. Such a name can never start a spreadsheet formula, carry a
path or a line break, or be mistaken for an address.
"""

from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


class InvalidNameError(ValueError):
    """A name that breaks the rule (Dutch message)."""


def check_name(naam: str, what: str = "naam") -> str:
    """`naam` itself when it keeps the rule; else InvalidNameError naming `what`."""
    if not NAME_PATTERN.fullmatch(naam):
        shown = naam if len(naam) <= 60 else naam[:60] + "…"
        raise InvalidNameError(
            f"{what} {shown!r} is niet toegestaan; gebruik 2 tot 40 kleine letters, cijfers, '-' of '_' "
            "(bijv. jeugdhulp-noord)"
        )
    return naam
