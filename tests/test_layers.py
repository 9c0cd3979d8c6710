"""Imports run only downward: each stage may use the stages below it, never one above or beside it.

schemas/ is the ground (formats, readers, rules); linkage/ and disclosure/ stand on it side by side;
reports/ reads published files; pipelines/ wires the stages into intake steps and flows; portal/ is a web
adapter over pipelines; bench/ measures them all. The command line (pipelines/cli/) is the roof and may
attach every stage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RANK = {"schemas": 0, "linkage": 1, "disclosure": 1, "reports": 2, "pipelines": 3, "portal": 4, "bench": 5}
ROOF = ROOT / "pipelines" / "cli"


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _modules() -> list[Path]:
    return sorted(p for stage in RANK for p in (ROOT / stage).rglob("*.py") if ROOF not in p.parents)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_downward(path: Path):
    stage = path.relative_to(ROOT).parts[0]
    wrong = []
    for line, module in _imports(path):
        target = module.split(".")[0]
        if target in RANK and target != stage and RANK[target] >= RANK[stage]:
            wrong.append(f"regel {line}: {module}")
    assert not wrong, f"{path.relative_to(ROOT)} importeert van een gelijke of hogere laag: {wrong}"


def test_the_walk_sees_every_stage():
    stages = {p.relative_to(ROOT).parts[0] for p in _modules()}
    assert stages == set(RANK)
