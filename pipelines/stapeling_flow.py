"""The Prefect flow behind the deployments in prefect.yaml, and behind `factlab run` when a server is set.

The steps themselves are plain functions in `pipelines.stapeling_steps`; here each becomes a Prefect task
(with its retries on file errors and its time limit) that reports to Prefect's run logger and artifacts.
Parameters are paths and settings, never row values; logs and artifacts carry counts only.
"""

from __future__ import annotations

import warnings
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from pipelines.progress import active
from pipelines.stapeling_steps import (
    FILE_ERRORS,
    RETRIES,
    RETRY_DELAY_SECONDS,
    STEPS,
    TIMEOUT_SECONDS,
    reported,
    run_chain,
    run_settings,
)


def retry_on_file_errors(task, task_run, state) -> bool:
    """Retry a task only when it failed on file I/O; a wrong key or a bad file fails at once."""
    try:
        state.result()
    except FILE_ERRORS:
        return True
    except BaseException:
        return False
    return False


class PrefectReporter:
    """A step's log lines and artifacts, in the Prefect run that executes it."""

    def info(self, message: str, *args: object) -> None:
        get_run_logger().info(message, *args)

    def warning(self, message: str, *args: object) -> None:
        get_run_logger().warning(message, *args)

    def table(self, rows: list[dict[str, Any]], key: str, description: str) -> None:
        create_table_artifact(rows, key=key, description=description)

    def markdown(self, text: str, key: str, description: str) -> None:
        create_markdown_artifact(text, key=key, description=description)


def _as_task(name: str, step):
    options: dict[str, Any] = {"name": name, "cache_policy": NONE, "timeout_seconds": TIMEOUT_SECONDS[name]}
    if RETRIES[name]:
        options.update(
            retries=RETRIES[name],
            retry_delay_seconds=RETRY_DELAY_SECONDS,
            retry_condition_fn=retry_on_file_errors,
        )
    return task(**options)(step)


TASKS = {name: _as_task(name, step) for name, step in STEPS.items()}


def shown_tasks() -> dict[str, Any]:
    """The tasks, each shown on the terminal's progress when the command that started the flow shows one
    (`factlab run` with a Prefect server); the tasks themselves otherwise (deployments, the inbox flow)."""
    bar = active()
    if bar is None:
        return TASKS
    return {name: reported(name, step, bar, number) for number, (name, step) in enumerate(TASKS.items())}


# Prefect checks parameters with a pydantic model, where the contract's parameter name `register` shadows
# a BaseModel attribute; harmless for a str field, and noise in every deploy and run.
warnings.filterwarnings(
    "ignore", message='Field name "register" in "StapelingsmonitorModel"', category=UserWarning
)


@flow(
    name="stapelingsmonitor",
    flow_run_name="stapelingsmonitor {period}",
    log_prints=False,
    persist_result=False,
)
def stapelingsmonitor(
    deliveries: str,
    register: str,
    areas: str,
    period: str,
    out: str,
    niveaus: str = "gemeente,wijk",
    regels: str | None = None,
    vorige: str | None = None,
    geojson: str | None = None,
    pdf: bool = True,
    toelichting: str | None = None,
    reeks: list[str] | None = None,
    normen: str | None = None,
    status: str = "voorlopig",
    herziening: str | None = None,
    indeling_kaarten: dict[str, str] | None = None,
) -> str:
    """Link pseudonymised deliveries, count samenloop per area, protect, and report.

    `toelichting`: a Markdown file with the gemeente's own text per chapter (docs/contract.md §14);
    `indeling_kaarten`: niveau -> path of a GeoJSON per own division (docs/contract.md §9), paths only.
    """
    settings = run_settings(
        deliveries, register, areas, period, out, niveaus, regels, vorige, geojson, pdf, toelichting,
        reeks, normen, status, herziening, indeling_kaarten,
    )
    return str(run_chain(settings, shown_tasks(), PrefectReporter()))
