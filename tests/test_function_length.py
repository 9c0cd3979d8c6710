"""No function longer than 80 lines in the project's code (the standard in HELPERS.md, Factlab issue 16).

Every function and method under the stage folders and the sample generator counts, nested ones too, from
its `def` line to its last line. A long function is split into named parts, not allowed here.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("schemas", "linkage", "disclosure", "reports", "pipelines", "portal", "bench", "data/sample")
MAX_LINES = 80



def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, int, int]]:
    """(qualified name, first line, number of lines) of every function in `tree`, nested ones included."""
    found = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + node.name
            found.append((name, node.lineno, node.end_lineno - node.lineno + 1))
            found += _functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, prefix + node.name + ".")
        else:
            found += _functions(node, prefix)
    return found


@cache
def _lengths() -> dict[str, tuple[int, int]]:
    """`path:qualified name` → (first line, number of lines) for every function in FOLDERS."""
    lengths = {}
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        for name, line, length in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            lengths[f"{relative}:{name}"] = (line, length)
    return lengths


def test_the_walk_sees_every_folder_and_measures_functions():
    seen = {folder for folder in FOLDERS for p in _sources() if p.is_relative_to(ROOT / folder)}
    assert seen == set(FOLDERS)
    assert len(_lengths()) > 500


def test_the_measure_counts_from_def_to_last_line_and_finds_nested_functions():
    tree = ast.parse("class A:\n    def f(self):\n        def g():\n            pass\n        return g\n")
    assert _functions(tree) == [("A.f", 2, 4), ("A.f.g", 3, 2)]


def test_no_function_is_longer_than_80_lines():
    too_long = [
        f"{name} (regel {line}): {length} regels"
        for name, (line, length) in sorted(_lengths().items())
        if length > MAX_LINES
    ]
    assert not too_long, f"functies langer dan {MAX_LINES} regels; splits ze in benoemde delen: {too_long}"

