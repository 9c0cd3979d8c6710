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
