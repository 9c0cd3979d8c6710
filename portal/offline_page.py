"""The in-browser pseudonymiser: one self-contained HTML page that works offline, also from file://.

The page's script (`static/pseudonimiseer.js`) implements canonical address v1 (docs/contract.md §3) and
the CSV reading of §4 in JavaScript. Everything it must agree on with Python is injected here from
the one Python source: the regular expressions of `schemas.canonical`, the column names of
`schemas.readers.csv_reader` and the Dutch messages of `schemas/meldingen.csv`. Its own
Content-Security-Policy forbids any network connection, so the raw file cannot leave the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from linkage.pseudonyms import ADDRESS_PREFIX, BUILDING_PREFIX
from portal.intake import BROWSER_COLUMNS, BROWSER_FORMAT, BROWSER_VERSION
from schemas.canonical import (
    ADDITION_INVALID,
    CANONICAL_VERSION,
    FORBIDDEN_POSTCODE_LETTERS,
    HOUSE_LETTER_INVALID,
    HOUSE_NUMBER_INVALID,
    HOUSE_NUMBER_MISSING,
    HOUSE_NUMBER_RANGE,
    HOUSE_NUMBER_SPLIT,
    MAX_HOUSE_NUMBER,
    POSTCODE_FORBIDDEN,
    POSTCODE_INVALID,
    POSTCODE_MISSING,
    POSTCODE_PATTERN,
)
from schemas.codelist import CodeList
from schemas.messages import message
from schemas.readers.csv_reader import _EXCEL_SEP_LINE, COLUMN_ALIASES, DELIVERY_COLUMNS, REQUIRED_COLUMNS

STATIC = Path(__file__).parent / "static"
RULES_SHOWN_IN_BROWSER = (
    POSTCODE_MISSING,
    POSTCODE_INVALID,
    POSTCODE_FORBIDDEN,
    HOUSE_NUMBER_MISSING,
    HOUSE_NUMBER_INVALID,
    HOUSE_NUMBER_RANGE,
    HOUSE_LETTER_INVALID,
    ADDITION_INVALID,
    "velden_aantal",
)
UPLOAD_PATH = "/aanleveren/controleren"
# What Python's `\s` and str.strip() mean (all below U+FFFF, so the page can write them as \uXXXX).
PYTHON_WHITESPACE = [i for i in range(0x10000) if chr(i).isspace()]


def js_pattern(python_pattern: str) -> str:
    """A Python regular expression as JavaScript source: named groups `(?P<` become `(?<`.

    Python's `\\s` is kept as `\\s`; the page widens it to Python's set of whitespace itself.
    """
    return python_pattern.replace("(?P<", "(?<")


def _json_for_html(value: object) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@dataclass(frozen=True)
class RenderedPage:
    html: str
    csp: str


class OfflinePage:
    """Renders the page with the rules injected; `csrf` None gives the downloadable, upload-free copy."""

    def __init__(self, codes: CodeList, key_id: str) -> None:
        self.codes = codes
        self.key_id = key_id
        self._env = Environment(
            loader=PackageLoader("portal", "templates"), autoescape=select_autoescape(["html"])
        )

    @cached_property
    def script(self) -> str:
        return (STATIC / "pseudonimiseer.js").read_text(encoding="utf-8")

    @cached_property
    def style(self) -> str:
        return (STATIC / "portal.css").read_text(encoding="utf-8")

    def config(self, csrf: str | None) -> dict:
        return {
            "key_id": self.key_id,
            "canonical_version": CANONICAL_VERSION,
            "postcode_pattern": js_pattern(POSTCODE_PATTERN),
            "house_number_split": js_pattern(HOUSE_NUMBER_SPLIT),
            # The reader's own pattern for Excel's `sep=;` first line (case-insensitive there and here).
            "excel_sep_line": js_pattern(_EXCEL_SEP_LINE.pattern),
            "forbidden_postcode_letters": list(FORBIDDEN_POSTCODE_LETTERS),
            "whitespace": PYTHON_WHITESPACE,
            "max_house_number_digits": len(str(MAX_HOUSE_NUMBER)),
            "address_prefix": ADDRESS_PREFIX,
            "building_prefix": BUILDING_PREFIX,
            "required_columns": list(REQUIRED_COLUMNS),
            "known_columns": list(DELIVERY_COLUMNS),
            "column_aliases": COLUMN_ALIASES,
            "messages": {code: message(code, "{waarde}", "{verwacht}") for code in RULES_SHOWN_IN_BROWSER},
            "voorzieningen": {code: v.naam for code, v in sorted(self.codes.entries.items())},
            "format": BROWSER_FORMAT,
            "format_version": BROWSER_VERSION,
            "columns": BROWSER_COLUMNS,
            "csrf": csrf,
            "upload_url": UPLOAD_PATH if csrf else None,
        }

    def render(self, csrf: str | None) -> RenderedPage:
        csp = "; ".join(
            [
                "default-src 'none'",
                f"script-src {_csp_hash(self.script)}",
                f"style-src {_csp_hash(self.style)}",
                "img-src data:",
                "connect-src 'none'",
                "form-action 'self'",
                "base-uri 'none'",
            ]
        )
        html = self._env.get_template("pseudonimiseren.html").render(
            script=self.script,
            style=self.style,
            config=_json_for_html(self.config(csrf)),
            csp=csp,
            online=csrf is not None,
            key_id=self.key_id,
        )
        # frame-ancestors is only honoured in a header, not in the page's own <meta> policy.
        return RenderedPage(html, csp + "; frame-ancestors 'none'")
