"""Process-wide settings that must be in place before Prefect is imported."""

from __future__ import annotations

import os
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
