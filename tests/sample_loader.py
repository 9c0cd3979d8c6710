"""Loads the sample generator (`data/sample/generate.py`) once, by path: it is a script, not a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_module(name: str, path: Path) -> ModuleType:
    """Import a file as module `name`, once per test session."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_sample_generator() -> ModuleType:
    return load_module("factlab_sample_generator", ROOT / "data" / "sample" / "generate.py")
