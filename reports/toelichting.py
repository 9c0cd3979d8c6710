"""The gemeente's own words in the report (docs/contract.md §14): `factlab run --toelichting TOELICHTING.md`.

The file is Markdown with one heading `## <hoofdstuktitel>` per chapter it comments on. Each part is shown
at its chapter, marked as the gemeente's own text. Raw HTML is never passed on (it shows as text), images
are not rendered (the report loads nothing), and only http(s) and mailto links become links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

CHAPTERS = {
    "kerncijfers": "Kerncijfers",
    "kort": "In het kort",
    "combinaties": "Welke domeinen komen samen?",
    "wijken": "Samenloop per wijk",
    "groepen": "Bij welke groepen?",
    "verdeling": "Voorzieningen en organisaties per huishouden",
    "verandering": "Verandering sinds de vorige periode",
    "kwaliteit": "Kwaliteit van de aanlevering",
    "methode": "Methode en privacy",
}
"""The report's chapters (section id: title, as the h2 in rapport.html.j2) a part can comment on."""
PREFIX_CHAPTERS = {"verandering": "verandering sinds"}
"""Chapters whose title ends in a period name: a heading that starts like this names them."""
DIVISION_PREFIX = "samenloop per "
"""The chapter of an own division (§9) is "Samenloop per <indeling>": its key is `division_chapter`."""
DIVISION_HINT = "Samenloop per <eigen indeling>"
SAFE_SCHEMES = ("http://", "https://", "mailto:")
CHAPTER_HEADING = re.compile(r"^##(?!#)\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


class ToelichtingError(ValueError):
    """The toelichting file cannot be read; the message is Dutch and names the file."""


@dataclass
class Part:
    heading: str
    text: str
    line: int


@dataclass
class Toelichting:
    """A toelichting split into its parts: per chapter, and the parts whose heading names no chapter."""

    source: str
    chapters: dict[str, list[Part]] = field(default_factory=dict)
    unplaced: list[Part] = field(default_factory=list)

    def warnings(self, present: set[str] | None = None) -> list[str]:
        """Dutch warnings: each heading that names no chapter (of the chapters `present`, when given)."""
        lines = [
            f"{self.source} regel {p.line}: de kop '{p.heading}' noemt geen hoofdstuk van het rapport; "
            f"de tekst staat aan het eind onder 'Overige toelichting' (hoofdstukken: "
            f"{', '.join([*CHAPTERS.values(), DIVISION_HINT])})"
            for p in self.unplaced
        ]
        for key, parts in self.chapters.items():
            if present is not None and key not in present:
                lines += [
                    f"{self.source} regel {p.line}: het hoofdstuk '{p.heading}' staat niet in dit "
                    "rapport; de tekst staat aan het eind onder 'Overige toelichting'"
                    for p in parts
                ]
        return lines


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().strip("?.:!").strip().casefold()


def division_chapter(title: str) -> str:
    """The chapter key of the own division whose chapter is "Samenloop per <title>" (§9)."""
    return "indeling:" + _normalise(title)


def chapter_of(heading: str) -> str | None:
    """The chapter a `## heading` names: its title or its section id, case and punctuation aside; any other
    "Samenloop per <x>" names the chapter of an own division x (whether the report has it, it decides)."""
    wanted = _normalise(heading)
    for key, title in CHAPTERS.items():
        if wanted in (_normalise(title), key) or wanted.startswith(PREFIX_CHAPTERS.get(key, "\0")):
            return key
    if wanted.startswith(DIVISION_PREFIX) and wanted[len(DIVISION_PREFIX):].strip():
        return division_chapter(wanted[len(DIVISION_PREFIX):])
    return None


def _split(text: str) -> list[Part]:
    parts: list[Part] = []
    current = Part("", "", 1)
    in_fence = False
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else CHAPTER_HEADING.match(line)
        if match:
            current.text = "\n".join(lines).strip()
            parts.append(current)
            current, lines = Part(match.group(1), "", number), []
        else:
            lines.append(line)
    current.text = "\n".join(lines).strip()
    parts.append(current)
    return [p for p in parts if p.heading or p.text]


def parse_toelichting(text: str, source: str = "toelichting") -> Toelichting:
    """Split Markdown text into parts per chapter; text before the first `##` heading names no chapter."""
    result = Toelichting(source)
    for part in _split(text):
        key = chapter_of(part.heading) if part.heading else None
        if key is None:
            result.unplaced.append(part)
        else:
            result.chapters.setdefault(key, []).append(part)
    return result


def read_toelichting(path: Path) -> Toelichting:
    """Read TOELICHTING.md (UTF-8); a missing or unreadable file is a ToelichtingError."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ToelichtingError(
            f"toelichting {path}: geen UTF-8 (byte {exc.start}); sla het bestand op als UTF-8"
        ) from exc
    except OSError as exc:
        raise ToelichtingError(f"toelichting {path} kan niet gelezen worden ({exc.strerror})") from exc
    return parse_toelichting(text, Path(path).name)


def safe_link(url: str) -> bool:
    """Only web and mail links: never javascript:, data:, file: or a relative path."""
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    md.validateLink = safe_link

    def heading_open(renderer, tokens, idx, options, env):  # the part sits under a chapter's h2: from h3
        level = min(int(tokens[idx].tag[1]) + 1, 6)
        tokens[idx].tag = f"h{max(level, 3)}"
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("heading_open", heading_open)
    md.add_render_rule("heading_close", heading_open)
    return md


def render_markdown(text: str) -> Markup:
    """Markdown as safe HTML: raw HTML shown as text, links only http(s)/mailto, no images."""
    links_out = _markdown().render(text)
    return Markup(links_out.replace("<a href=", '<a rel="noopener noreferrer" href='))


def toelichting_context(toelichting: Toelichting | None, present: set[str]) -> dict[str, object] | None:
    """What the template shows: rendered parts per present chapter, and the rest for the end."""
    if toelichting is None:
        return None
    per_chapter = {
        key: [render_markdown(p.text) for p in parts]
        for key, parts in toelichting.chapters.items()
        if key in present
    }
    rest = list(toelichting.unplaced) + [
        p for key, parts in toelichting.chapters.items() if key not in present for p in parts
    ]
    return {
        "hoofdstukken": per_chapter,
        "overig": [{"kop": p.heading, "html": render_markdown(p.text)} for p in rest],
        "bestand": toelichting.source,
    }
