"""The audit trail of a run: `manifest.json` (inputs with SHA-256, counts, rules, versions, timings)."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from schemas.clock import now_iso  # noqa: F401  (re-exported: the manifest's `gemaakt`)

CONTRACT_VERSION = 1
_PACKAGES = ("factlab", "pandas", "pyarrow", "duckdb", "prefect", "great-expectations", "plotly", "highspy")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "niet geïnstalleerd"
    return versions


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    path.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )
