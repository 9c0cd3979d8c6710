"""Process-wide settings that must be in place before Prefect is imported."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


PRIVATE_UMASK = 0o077
"""Every file and folder the process creates is its owner's only: folders 0700, files 0600."""


def private_umask() -> None:
    """Make everything this process creates private (temporary folders, DuckDB spill, Prefect's state)."""
    os.umask(PRIVATE_UMASK)


def configure_prefect() -> None:
    """Keep Prefect's state inside the project, private, without analytics or pickled results."""
    os.environ.setdefault("PREFECT_HOME", str(PROJECT_ROOT / ".prefect"))
    home = Path(os.environ["PREFECT_HOME"]).expanduser()
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if home.stat().st_uid == os.getuid():
            home.chmod(0o700)  # its database holds run names and logs: nobody else reads them
    except OSError:
        pass  # Prefect itself reports a PREFECT_HOME it cannot use
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    # The temporary server needs longer than Prefect's 20 s default on a busy two-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


PREFECT_CHOICE = "FACTLAB_PREFECT"
"""`auto` (default): Prefect when a server is configured, else in-process; `aan`: always Prefect (a
temporary server when none is configured); `uit`: never."""


def _profile_api_url() -> str | None:
    """PREFECT_API_URL of Prefect's active profile, read from its profiles.toml without importing Prefect."""
    home = Path(os.environ.get("PREFECT_HOME", str(PROJECT_ROOT / ".prefect")))
    try:
        profiles = tomllib.loads((home / "profiles.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    settings = profiles.get("profiles", {}).get(active, {})
    value = settings.get("PREFECT_API_URL") if isinstance(settings, dict) else None
    return value if isinstance(value, str) and value else None


def use_prefect() -> bool:
    """Whether `factlab run` goes through Prefect: a server to record the run is configured, or it is asked.

    Without a server Prefect would start a temporary one for every run (6-14 s, most of a gemeente's run);
    the steps then run in this process and the manifest is the audit trail (docs/prefect.md).
    """
    choice = os.environ.get(PREFECT_CHOICE, "auto").strip().lower()
    if choice in ("aan", "ja", "1", "true"):
        return True
    if choice in ("uit", "nee", "0", "false"):
        return False
    return bool(os.environ.get("PREFECT_API_URL") or _profile_api_url())


def show_run_progress() -> None:
    """The run's log lines (counts only) on stderr, as Prefect would show them."""
    logger = logging.getLogger("factlab.run")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s | %(levelname)-7s | %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


PREFECT_RUN_LOGGERS = ("prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.engine")


class _NoTracebackFor(logging.Filter):
    """Drops the traceback (not the line) of a log record whose exception Factlab explains itself."""

    def __init__(self, known: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.known = known

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], self.known):
            record.exc_info, record.exc_text = None, None
        return True


@contextlib.contextmanager
def without_tracebacks_for(known: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Prefect logs a failed task and flow with a traceback; for a fault with a Dutch message (a wrong file,
    a wrong key) the command line prints that message instead, so Prefect keeps only its one-line summary.
    """
    quiet = _NoTracebackFor(known)
    loggers = [logging.getLogger(name) for name in PREFECT_RUN_LOGGERS]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
