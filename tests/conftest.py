"""Shared fixtures: the test vectors and key (tests/testdata/vectors/), and isolated Prefect/temp folders."""

from __future__ import annotations

import base64
import csv
import json
import os
from pathlib import Path

import pytest
from testdata_paths import VECTORS

from linkage.keys import Key, compute_key_id

PROJECT_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")


@pytest.fixture(scope="session")
def test_key() -> Key:
    document = json.loads((VECTORS / "testsleutel.json").read_text(encoding="utf-8"))
    secret = base64.b64decode(document["key"])
    return Key(compute_key_id(secret), document["created"], secret)


@pytest.fixture(scope="session")
def vector_rows() -> list[dict[str, str]]:
    with (VECTORS / "pseudoniemen-v1.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


@pytest.fixture(autouse=True)
def _restore_umask():
    """The command line sets a private umask (077) for its process; a CliRunner call must not leak it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)
