"""Progress of a long command on the terminal: stage, rows done, rate and time left (with `rich`).

Shown on stderr only when both stdout and stderr are a terminal, and only once the work has taken
`DELAY_SECONDS`: a quick command, or one whose output goes to a file or a pipe, prints nothing extra.
`FACTLAB_VOORTGANG=aan` shows it anyway (as on a terminal), `uit` never. A progress line holds a stage
name chosen by Factlab and counts; never a value from the data (no address, pseudonym or key).

The steps report through a plain callback (`Progress.stage`, `Progress.advance`); `Progress.off()` is
the one that does nothing, for callers without a terminal (flows, portal, tests).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

ENV = "FACTLAB_VOORTGANG"
DELAY_SECONDS = 1.0
REFRESH_PER_SECOND = 2


def wanted() -> bool:
    """Whether progress is to be shown: forced by `FACTLAB_VOORTGANG`, else when both streams are ttys."""
    setting = os.environ.get(ENV, "").strip().lower()
    if setting in ("aan", "1", "ja"):
        return True
    if setting in ("uit", "0", "nee"):
        return False
    return sys.stdout.isatty() and sys.stderr.isatty()


class Progress:
    """The progress of one command; silent unless `shown`, and until `delay` seconds have passed."""

    def __init__(self, shown: bool, delay: float = DELAY_SECONDS, stream: Any = None,
                 first: Callable[[], None] | None = None, unit: str = "rijen") -> None:
        self.shown = shown
        self._unit = unit
        self._first = first
        self._delay = delay
        self._stream = stream
        self._bar: Any = None
        self._task: Any = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._pending: tuple[str, int | None, int] = ("", None, 0)
        self._stage_unit = unit

    @property
    def current(self) -> str:
        return self._pending[0]

    @classmethod
    def off(cls) -> Progress:
        return cls(False)

    def start(self) -> None:
        if self.shown:
            self._timer = threading.Timer(self._delay, self._show)
            self._timer.daemon = True
            self._timer.start()

    def _show(self) -> None:
        from rich import progress as rp
        from rich.console import Console

        with self._lock:
            if not self.shown or self._bar is not None:
                return
            console = Console(file=self._stream or sys.stderr, force_terminal=True)
            self._bar = rp.Progress(
                rp.TextColumn("{task.description}"), rp.BarColumn(bar_width=20), rp.MofNCompleteColumn(),
                rp.TextColumn("{task.fields[unit]}, {task.fields[rate]}"), rp.TimeElapsedColumn(),
                rp.TextColumn("nog"), rp.TimeRemainingColumn(), console=console, transient=True,
                refresh_per_second=REFRESH_PER_SECOND,
            )
            description, total, done = self._pending
            self._task = self._bar.add_task(description, total=total, completed=done, rate="",
                                            unit=self._stage_unit)
            self._bar.start()

    def stage(self, description: str, total: int | None = None, done: int = 0,
              unit: str | None = None) -> None:
        """A new stage of the work (a Dutch name), with its number of rows when known (`done` so far).

        `unit` names what this stage counts when it is not the command's unit (e.g. cellen, not stappen).
        """
        if not self.shown:
            return
        with self._lock:
            self._pending = (description, total, done)
            self._stage_unit = unit or self._unit
            if self._bar is not None:  # a task of its own: rich cannot reset a total to unknown
                self._bar.remove_task(self._task)
                self._task = self._bar.add_task(description, total=total, completed=done, rate="",
                                                unit=self._stage_unit)

    def total(self, rows: int, stage: str | None = None) -> None:
        """The number of rows of the current stage (or only of `stage`), once known or estimated."""
        if not self.shown:
            return
        with self._lock:
            description, _, done = self._pending
            if stage is not None and stage != description:
                return
            self._pending = (description, rows, done)
            if self._bar is not None:
                self._bar.update(self._task, total=max(rows, done))

    def advance(self, rows: int) -> None:
        """`rows` more rows of the current stage are done."""
        if self._first is not None:
            first, self._first = self._first, None
            first()
        if not self.shown:
            return
        with self._lock:
            description, total, done = self._pending
            self._pending = (description, total, done + rows)
            if self._bar is not None:
                self._bar.update(self._task, completed=done + rows)
                speed = self._bar.tasks[-1].speed
                if speed:
                    self._bar.update(self._task, rate=f"{speed:,.0f}/s".replace(",", "."))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self.shown = False
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


@contextmanager
def progress(shown: bool | None = None, stream: Any = None,
             first: Callable[[], None] | None = None, unit: str = "rijen") -> Iterator[Progress]:
    """The progress of a command for the `with` block; `shown` None asks `wanted()`.

    `first` is called once, at the first rows done (whether or not progress is shown).
    """
    bar = Progress(wanted() if shown is None else shown, stream=stream, first=first, unit=unit)
    bar.start()
    try:
        yield bar
    finally:
        bar.close()


def count_lines_later(path: Path, bar: Progress) -> None:
    """Tell `bar` the lines of a text file (minus its header), counted on a thread beside the work.

    Only when progress is shown: the count gives the time left, and costs nothing otherwise.
    """
    if not bar.shown or not path.is_file():
        return
    stage = bar.current

    def count() -> None:
        import numpy as np  # already loaded by every command that counts

        lines = 0
        try:
            with path.open("rb") as handle:
                while block := handle.read(1 << 22):
                    # numpy compares and counts without holding the GIL (bytes.count holds it), so the
                    # count runs on the other core instead of pausing the work: ~50 ms per million rows.
                    lines += int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))
        except OSError:
            return
        bar.total(max(lines - 1, 0), stage)

    threading.Thread(target=count, daemon=True).start()


_ACTIVE: ContextVar[Progress | None] = ContextVar("factlab_progress", default=None)


@contextmanager
def activated(bar: Progress) -> Iterator[Progress]:
    """Make `bar` the progress that work deeper down may report to (`active`) within the block."""
    token = _ACTIVE.set(bar)
    try:
        yield bar
    finally:
        _ACTIVE.reset(token)


def active() -> Progress | None:
    """The progress of the running command, when one is shown; None otherwise (flows, portal, tests)."""
    bar = _ACTIVE.get()
    return bar if bar is not None and bar.shown else None


def stage_hook(bar: Progress, unit: str = "cellen") -> Callable[[str, int, int], None]:
    """A (stage, done, total) callback for a layer that may not import this one (e.g. disclosure)."""
    current = {"stage": None, "done": 0}

    def hook(stage: str, done: int, total: int) -> None:
        if stage != current["stage"]:
            current.update(stage=stage, done=done)
            bar.stage(stage, total, done=done, unit=unit)
        elif done > current["done"]:
            bar.advance(done - current["done"])
            current["done"] = done

    return hook
