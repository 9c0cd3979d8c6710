"""Print the report HTML to an A4 PDF with Debian's headless chromium, driven by Playwright.

The browser gets no network: every request other than the local file is aborted, so printing is as
offline as reading the HTML. No browser is ever downloaded; set FACTLAB_CHROMIUM to use another binary.
"""

from __future__ import annotations

import html
import os
import queue
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from schemas.clock import source_date_epoch

if TYPE_CHECKING:  # playwright is imported only when a PDF is printed: `factlab run` checks CHROMIUM early
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = os.environ.get("FACTLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
A4_MARGIN_MM = {"top": 14, "bottom": 16, "left": 13, "right": 13}
PRINT_WIDTH_PX = round((210 - A4_MARGIN_MM["left"] - A4_MARGIN_MM["right"]) / 25.4 * 96)
"""Lay the page out at the printable width of A4, so the charts are drawn at the size they are printed."""

CHARTS_RENDERED = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.every(d => d._fullLayout && d.querySelector('.main-svg'));
}"""


class PdfError(RuntimeError):
    """Printing the report to PDF failed; the message is Dutch."""


@contextmanager
def chromium_browser() -> Iterator[Browser]:
    """A headless Debian chromium under Playwright, with the flags Factlab needs; closed on exit."""
    if not Path(CHROMIUM).exists():
        raise PdfError(
            f"Chromium niet gevonden op {CHROMIUM}; installeer het Debian-pakket chromium (make system)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


T = TypeVar("T")
_UNAVAILABLE = object()


class _BrowserAhead:
    """Chromium launched ahead of the print job, in a thread of its own.

    Playwright's sync API keeps to the thread that started it, so every job (a function of the browser)
    runs on that thread, one at a time. If the launch fails, `run` says so and the caller launches the
    browser itself, which then reports the fault as it always did.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="factlab-chromium", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with suppress(Exception), chromium_browser() as browser:
            _spare_pages[id(browser)] = _print_page(browser)  # opening a page costs ~0.2 s: now, not later
            try:
                while (job := self._jobs.get()) is not None:
                    work, answer = job
                    try:
                        answer.put((True, work(browser)))
                    except Exception as exc:  # the job's own fault, raised again in the caller
                        answer.put((False, exc))
            finally:
                _spare_pages.pop(id(browser), None)

    def run(self, work: Callable[[Browser], T]) -> T | object:
        """`work(browser)` on the browser thread; `_UNAVAILABLE` when that thread has no browser."""
        answer: queue.SimpleQueue = queue.SimpleQueue()
        self._jobs.put((work, answer))
        while True:
            try:
                ok, value = answer.get(timeout=0.1)
            except queue.Empty:
                if not self._thread.is_alive() and answer.empty():
                    return _UNAVAILABLE
                continue
            if ok:
                return value
            raise value

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)


_ahead: _BrowserAhead | None = None


@contextmanager
def browser_ahead(wanted: bool = True) -> Iterator[None]:
    """Launch Chromium now, beside the work of this block, for a PDF printed within it; closed at its end.

    Starting Playwright and Chromium (and opening the print page) costs about a second; `factlab run`
    spends it once its inputs are checked, beside its imports and the linking, instead of after the report
    is written (docs/benchmarks.md, "Vijfde ronde"). Nothing changes in what is printed: the job is the
    same, only the browser was started earlier. Blocks may nest: the outer one starts the browser.
    """
    global _ahead
    if not wanted or _ahead is not None or not Path(CHROMIUM).exists():
        yield
        return
    _ahead = _BrowserAhead()
    try:
        yield
    finally:
        ahead, _ahead = _ahead, None
        ahead.stop()


def with_browser(work: Callable[[Browser], T]) -> T:
    """`work(browser)` on the browser launched ahead (`browser_ahead`), or else on one launched now."""
    ahead = _ahead
    if ahead is not None:
        value = ahead.run(work)
        if value is not _UNAVAILABLE:
            return value  # type: ignore[return-value]
    with chromium_browser() as browser:
        return work(browser)


def block_network(page: Page, allowed_url: str) -> list[str]:
    """Abort every request except `allowed_url`; returns the list of URLs requested, for tests and checks."""
    requested: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if url == allowed_url:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", handle)
    return requested


def open_report(page: Page, html_path: Path, *, timeout_s: float = 30) -> list[str]:
    """Load the report offline and wait until every plotly chart is drawn; returns the URLs requested."""
    url = html_path.resolve().as_uri()
    requested = block_network(page, url)
    page.goto(url, wait_until="load", timeout=timeout_s * 1000)
    page.wait_for_function(CHARTS_RENDERED, timeout=timeout_s * 1000)
    page.evaluate("document.fonts.ready")
    return requested


def footer_template(title: str) -> str:
    return (
        '<div style="width:100%;font-size:8px;font-family:DejaVu Sans,sans-serif;color:#555;'
        'padding:0 13mm;display:flex;justify-content:space-between">'
        f"<span>{html.escape(title)}</span>"
        '<span>pagina <span class="pageNumber"></span> van <span class="totalPages"></span></span></div>'
    )


_spare_pages: dict[int, Page] = {}
"""A print page opened ahead per browser (by id), used by the first print job; only the browser's thread
touches it."""


def _print_page(browser: Browser) -> Page:
    page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1100})
    page.emulate_media(media="print")
    return page


def print_pdf(
    html_path: Path, pdf_path: Path, *, title: str = "Stapelingsrapport", timeout_s: float = 30
) -> Path:
    """Print `html_path` to an A4 PDF at `pdf_path` with page numbers ("pagina X van Y") in the footer."""

    def printed(browser: Browser) -> None:
        page = _spare_pages.pop(id(browser), None) or _print_page(browser)
        try:
            open_report(page, html_path, timeout_s=timeout_s)
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            page.pdf(
                path=str(pdf_path),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer_template(title),
                margin={side: f"{mm}mm" for side, mm in A4_MARGIN_MM.items()},
                tagged=True,  # a structure tree (headings, tables, figures with alt text) for screen readers
                outline=True,  # bookmarks from the headings: the chapters in the PDF reader's side bar
            )
        finally:
            page.close()

    try:
        with_browser(printed)
    except PdfError:
        raise
    except Exception as exc:  # Playwright raises its own error types; the analyst needs one clear message
        raise PdfError(f"Het rapport kon niet als PDF worden afgedrukt: {exc}") from exc
    stamp_pdf_dates(pdf_path)
    return pdf_path


_PDF_DATE = re.compile(rb"D:(\d{14})([+-]\d\d'\d\d'|Z)?")


def stamp_pdf_dates(pdf_path: Path) -> None:
    """Under SOURCE_DATE_EPOCH, set Chromium's CreationDate and ModDate to that moment (UTC).

    The new date has exactly the length of the old one, so the PDF's cross-reference offsets stay valid.
    """
    fixed = source_date_epoch()
    if fixed is None:
        return
    digits = fixed.strftime("%Y%m%d%H%M%S").encode()

    def utc(match: re.Match[bytes]) -> bytes:
        zone = match[2] or b""
        return b"D:" + digits + (b"Z" if zone == b"Z" else b"+00'00'" if zone else b"")

    pdf_path.write_bytes(_PDF_DATE.sub(utc, pdf_path.read_bytes()))


def write_html_and_pdf(document: str, html_path: Path, pdf_path: Path | None, title: str) -> None:
    """The HTML (and the PDF printed from it) under temporary names beside them, renamed into place only
    when both succeeded; no temporary file is left behind. Both readable by others (0644), as published."""
    folder = html_path.parent
    # The suffixes stay .html/.pdf: chromium decides by extension how to open a file:// URL.
    html_tmp = _temporary(folder, html_path.stem, ".html")
    pdf_tmp = _temporary(folder, html_path.stem, ".pdf") if pdf_path is not None else None
    try:
        html_tmp.write_text(document, encoding="utf-8")
        html_tmp.chmod(0o644)
        if pdf_tmp is not None:
            print_pdf(html_tmp, pdf_tmp, title=title)
            pdf_tmp.chmod(0o644)
            os.replace(pdf_tmp, pdf_path)
        os.replace(html_tmp, html_path)
    finally:
        for leftover in (html_tmp, pdf_tmp):
            if leftover is not None:
                with suppress(FileNotFoundError):
                    leftover.unlink()


def _temporary(folder: Path, stem: str, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{stem}-", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    return Path(name)
