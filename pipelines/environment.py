"""Process-wide settings that must be in place before Prefect is imported."""

from __future__ import annotations

import logging
import os
import sys
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def configure_prefect() -> None:
    """Keep Prefect's state inside the project, without analytics or pickled results."""
    os.environ.setdefault("PREFECT_HOME", str(PROJECT_ROOT / ".prefect"))
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
