"""The privacy-preserving-linkage peer: clkhash (CSIRO/Data61) Bloom-filter encoding of the same addresses.

clkhash pins an old `cryptography`, so it never enters the project's environment: `make_venv` builds a
throw-away virtualenv on demand, and `encode_in_venv` runs this file there as a script (it imports
nothing of Factlab). The result is records per second for encoding the register's addresses with a
schema of the four address fields, as a partner would before sending them to a linkage service.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CLKHASH_VERSION = "0.18.3"
DEFAULT_VENV = Path("/tmp/clkhash-venv")
ADDRESS_FIELDS = ("postcode", "huisnummer", "huisletter", "huisnummertoevoeging")


def _schema() -> dict:
    def feature(identifier: str, bits: int) -> dict:
        return {
            "identifier": identifier,
            "format": {"type": "string", "encoding": "utf-8", "case": "mixed"},
            "hashing": {
                "comparison": {"type": "ngram", "n": 2},
                "strategy": {"bitsPerToken": bits},
                "hash": {"type": "doubleHash"},
            },
        }

    return {
        "version": 3,
        "clkConfig": {
            "l": 1024,
            "kdf": {
                "type": "HKDF",
                "hash": "SHA256",
                "keySize": 64,
                "salt": "ZmFjdGxhYi1iZW5jaG1hcms=",
                "info": "YWRyZXM=",
            },
        },
        "features": [
            feature("postcode", 30),
            feature("huisnummer", 30),
            feature("huisletter", 20),
            feature("huisnummertoevoeging", 20),
        ],
    }


def make_venv(venv: Path = DEFAULT_VENV, timeout: float = 600) -> str | None:
    """Create the throw-away virtualenv with clkhash; returns an error text, or None when it is ready."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import clkhash, sys; sys.exit(clkhash.__version__ != '{CLKHASH_VERSION}')"]
    if python.exists() and subprocess.run(check, capture_output=True, timeout=120).returncode == 0:
        return None
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", f"clkhash=={CLKHASH_VERSION}"],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"{' '.join(step[:3])}: na {timeout:.0f} s afgebroken"
        if done.returncode != 0:
            return (
                (done.stderr or done.stdout).strip().splitlines()[-1][:300]
                if (done.stderr or done.stdout)
                else "?"
            )
    return None


def encode_in_venv(register_csv: Path, count: int, venv: Path = DEFAULT_VENV) -> list[str]:
    """The command that encodes `count` addresses of the register inside the clkhash venv."""
    return [str(venv / "bin" / "python"), str(Path(__file__).resolve()), str(register_csv), str(count)]


def _read_addresses(register_csv: Path, count: int) -> list[list[str]]:
    with register_csv.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        rows = []
        for row in reader:
            rows.append([row.get(name, "") or "" for name in ADDRESS_FIELDS])
            if len(rows) >= count:
                break
    return rows


def main(argv: list[str]) -> int:
    from clkhash import clk
    from clkhash.schema import from_json_dict

    register_csv, count = Path(argv[1]), int(argv[2])
    rows = _read_addresses(register_csv, count)
    schema = from_json_dict(_schema())
    secret = os.urandom(32).hex()  # a throw-away secret, never stored
    workers = os.cpu_count() or 1
    started = time.perf_counter()
    encodings = clk.generate_clks(rows, schema, secret, max_workers=workers)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "records": len(encodings),
                "seconden_codering": seconds,
                "records_per_s": len(encodings) / seconds,
                "clkhash": CLKHASH_VERSION,
                "processen": workers,
                "bits": 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
