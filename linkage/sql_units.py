"""Named SQL units: each statement lives in `linkage/sql/<name>.sql` and takes DuckDB parameters."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import duckdb


@cache
def sql(name: str) -> str:
    return resources.files("linkage").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def execute(con: duckdb.DuckDBPyConnection, name: str, parameters: dict[str, Any] | None = None):
    return con.execute(sql(name), parameters or {})


def stream(con: duckdb.DuckDBPyConnection, name: str, batch_rows: int):
    """The rows of a unit without parameters as a stream of Arrow batches of `batch_rows`.

    Unlike `execute(...).to_arrow_reader()`, which first copies the whole result into memory, the
    batches come as DuckDB produces them: memory stays within DuckDB's limit whatever the result's size.
    """
    return con.sql(sql(name)).to_arrow_reader(batch_rows)
