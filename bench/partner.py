"""The partner's command measured whole: `factlab pseudonymise` as a process, against the plain script.

    python -m bench.partner                       # 1 000 000 and 5 000 000 rows, 3 runs each
    python -m bench.partner --rijen 1000000 --herhaal 3

Generates the messy extracts of `bench.big_extract.generate_extract`, then runs, each as its own process
and `--herhaal` times (the best run counts, with the load average of the machine beside it):
`factlab pseudonymise` (what the partner types), the same with progress forced on
(`FACTLAB_VOORTGANG=aan`, its stderr to a file, in turns with the first) to price the progress display
by the medians, and the plain pandas script of `bench.plain_pseudonymise` on the smallest size. Reports
whole-process rows/s and the marginal rows/s between the two sizes (the rows added divided by the time
added: the rate once the fixed costs of starting are paid). Results go in docs/benchmarks.md
("De partneropdracht").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_SIZES = (1_000_000, 5_000_000)
ROOT = Path(__file__).resolve().parent.parent


def _factlab() -> str:
    """The `factlab` script beside this Python (the CLI settles its heap only under that name)."""
    return str(Path(sys.executable).with_name("factlab"))


def timed(command: list[str], env: dict[str, str] | None = None,
          stderr: Path | None = None) -> dict[str, Any]:
    """Wall time, CPU time and peak RSS of one process, with the load average when it started."""
    load = os.getloadavg()
    started = time.perf_counter()
    with open(stderr or os.devnull, "wb") as err:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{command[0]}: exitcode {process.returncode}")
    return {"wandklok_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "piek_rss_mb": round(usage.ru_maxrss / 1024), "load": [round(x, 2) for x in load]}


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run, with every run's wall time and the median wall and CPU time beside it."""
    return min(runs, key=lambda r: r["wandklok_s"]) | {
        "runs": [r["wandklok_s"] for r in runs],
        "mediaan_s": round(statistics.median(r["wandklok_s"] for r in runs), 2),
        "cpu_mediaan_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
    }


def measure(sizes: tuple[int, ...], repeat: int, work: Path) -> dict[str, Any]:
    from linkage.keys import new_key, write_key

    key = work / "sleutel.json"
    write_key(new_key(), key)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FACTLAB_VOORTGANG", None)
    forced = {**env, "FACTLAB_VOORTGANG": "aan"}
    results: dict[str, Any] = {"grootten": {}}
    for rows in sizes:
        extract = work / f"extract-{rows}.csv"
        # In its own process: a child forked from a big parent would count the parent's pages in its peak.
        subprocess.run([sys.executable, "-m", "bench.big_extract", "--stap", "genereer", "--rijen", str(rows),
                        "--bestand", str(extract)], env=env, check=True)
        command = [_factlab(), "pseudonymise", str(extract), "--key", str(key), "--partner", "bench",
                   "--out", str(work / "uit.parquet"), "--rejects", str(work / "afgekeurd.csv")]
        # With and without progress in turns, so that a machine that speeds up or slows down during the
        # measurement weighs on both alike (their difference is a few per cent).
        plain_runs, progress_runs = [], []
        for _ in range(repeat):
            plain_runs.append(timed(command, env))
            progress_runs.append(timed(command, forced, work / "voortgang.txt"))
        entry = {"factlab": best(plain_runs), "met_voortgang": best(progress_runs)}
        if rows == min(sizes):
            plain = [sys.executable, "-m", "bench.plain_pseudonymise", str(extract), str(key),
                     str(work / "plain.parquet")]
            entry["basislijn"] = best([timed(plain, env) for _ in range(repeat)])
        for run in entry.values():
            run["rijen_per_s"] = round(rows / run["wandklok_s"])
        results["grootten"][str(rows)] = entry
        extract.unlink()
    return _summary(results, sizes)


def _summary(results: dict[str, Any], sizes: tuple[int, ...]) -> dict[str, Any]:
    small, large = str(min(sizes)), str(max(sizes))
    entries = results["grootten"]
    if small != large:
        added = entries[large]["factlab"]["wandklok_s"] - entries[small]["factlab"]["wandklok_s"]
        results["marginaal_rijen_per_s"] = round((int(large) - int(small)) / added) if added > 0 else None
    base = entries[small].get("basislijn")
    if base:
        factlab = entries[small]["factlab"]["wandklok_s"]
        results["verhouding_basislijn"] = round(base["wandklok_s"] / factlab, 2)
    # The cost of the progress display: the medians of runs taken in turns (a best run is one draw of the
    # machine's noise, which is as large as the cost itself).
    results["voortgang_kosten_pct"] = {
        size: round(100 * (e["met_voortgang"]["mediaan_s"] / e["factlab"]["mediaan_s"] - 1), 1)
        for size, e in entries.items()
    }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rijen", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--herhaal", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="factlab-partner-") as work:
        results = measure(tuple(args.rijen), args.herhaal, Path(work))
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
