"""Benchmark for big deliveries: validate and pseudonymise a generated messy extract in bounded memory.

    python -m bench.big_extract                 # 250 000 and 1 000 000 rows
    python -m bench.big_extract --rijen 1000000

Generates a fictional extract the way partners export it (Windows-1252, `;`, CRLF, names and BSN
in extra columns, Excel-mangled codes, mixed date forms, `12a`/`12-2` house numbers, about 2% invalid
rows and 1% duplicates) in a temporary folder, then runs `validate_delivery` and
`pseudonymise_delivery` each in a fresh process and reports wall time, CPU time, the part of it spent
in the Great Expectations suite, and peak RSS. Running two sizes shows whether memory grows with the
file. The extract is generated in its own process too, so no step inherits its memory high-water mark.
Results go in docs/benchmarks.md ("Grote aanleveringen").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SIZES = (250_000, 1_000_000)
SEED = 20260401


def generate_extract(path: Path, rows: int, seed: int = SEED) -> None:
    """A fictional messy extract of `rows` rows (vectorised, a few seconds per million rows)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = rows
    digits = rng.integers(1000, 9999, n).astype(str)
    letters = rng.choice(list("ABCEGHJKLMNPRTVWXZ"), (n, 2))
    letters = pd.Series(letters[:, 0]) + pd.Series(letters[:, 1])
    postcode_form = rng.integers(0, 3, n)
    postcode = pd.Series(digits) + np.where(postcode_form == 1, " ", "") + letters
    postcode = postcode.where(postcode_form != 2, postcode.str.lower())
    number = rng.integers(1, 400, n).astype(str)
    suffix = rng.choice(["", "", "", "", "a", "-2", " bis", "B"], n)
    huisnummer = pd.Series(number) + suffix
    code_values = rng.choice(["1", "01", "2.0", "45", "45.0", "PW01", "pw03", "12", "55", "40"], n)
    day, month, year = rng.integers(1, 29, n), rng.integers(1, 13, n), rng.integers(2019, 2027, n)
    date_form = rng.integers(0, 3, n)
    d, m, y = (pd.Series(part.astype(str)) for part in (day, month, year))
    iso = y + "-" + m.str.zfill(2) + "-" + d.str.zfill(2)
    dutch = d + "-" + m + "-" + y
    slash = d.str.zfill(2) + "/" + m.str.zfill(2) + "/" + y
    begin = iso.where(date_form == 0, dutch.where(date_form == 1, slash))
    end = pd.Series(np.where(rng.random(n) < 0.6, "", (year + 1).astype(str) + "-12-31"))
    frame = pd.DataFrame({
        "Naam": rng.choice(["Jansen", "de Vries", "Müller", "Zoë Bakker", "El Amrani"], n),
        "BSN": rng.integers(100_000_000, 999_999_999, n).astype(str),
        "Postcode": postcode,
        "Huisnummer": huisnummer,
        "Toevoeging": "",
        "Voorziening": code_values,
        "Begindatum": begin,
        "Einddatum": end,
    })
    invalid = rng.random(n) < 0.02
    frame.loc[invalid, "Postcode"] = "12345"
    duplicate = np.flatnonzero(rng.random(n) < 0.01)
    if len(duplicate):
        frame.iloc[duplicate, 2:] = frame.iloc[np.maximum(duplicate - 1, 0), 2:].to_numpy()
    frame.to_csv(path, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")


def _machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.splitlines()
    total = memory[1].split()[1] if len(memory) > 1 else "?"
    return {"cpu": cpu, "nproc": str(os.cpu_count()), "geheugen": total, "python": platform.python_version()}


def _reset_peak() -> None:
    """Forget the memory high-water mark (Linux: clear_refs 5), so the peak is this step's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_step(step: str, source: Path) -> dict[str, float | int]:
    """One step in this process: the numbers for it, with the memory after imports as baseline."""
    from linkage.keys import new_key
    from pipelines.intake.delivery import pseudonymise_delivery, validate_delivery
    from schemas.codelist import load_code_list
    from schemas.expectation_suites import CSV_SUITE, RowRuleSuite, suite_for

    codes = load_code_list()
    suite_for(CSV_SUITE, codes.codes())._build()  # GX import and suite: fixed cost, counted apart
    _reset_peak()
    baseline = _peak_mb()
    gx_seconds = [0.0]
    run_suite = RowRuleSuite.failures

    def timed_failures(self, frame):  # type: ignore[no-untyped-def]
        began = time.process_time()
        try:
            return run_suite(self, frame)
        finally:
            gx_seconds[0] += time.process_time() - began

    RowRuleSuite.failures = timed_failures  # type: ignore[method-assign]
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="factlab-bench-") as work:
        if step == "validate":
            result = validate_delivery(source, codes, Path(work) / "afgekeurd.csv")
        else:
            result = pseudonymise_delivery(source, new_key(), "bench", Path(work) / "uit.parquet", codes,
                                           Path(work) / "afgekeurd.csv")
    return {"seconden": round(time.perf_counter() - start, 1),
            "cpu_seconden": round(_cpu_seconds() - cpu_start, 1), "gx_cpu_seconden": round(gx_seconds[0], 1),
            "piek_rss_mb": round(_peak_mb()),
            "rss_na_imports_mb": round(baseline), "rijen": result.rows_read,
            "afgekeurd": result.rows_rejected, "dubbel": result.rows_duplicate,
            "geschreven": result.rows_written}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rijen", type=int, nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--stap", choices=["genereer", "validate", "pseudonymise"], help=argparse.SUPPRESS)
    parser.add_argument("--bestand", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stap == "genereer":
        generate_extract(args.bestand, args.rijen[0])
        return
    if args.stap:
        print(json.dumps(run_step(args.stap, args.bestand)))
        return
    machine = _machine()
    print(f"machine: {machine['cpu']}, {machine['nproc']} cores, {machine['geheugen']} geheugen, "
          f"Python {machine['python']}")
    print("| rijen | bestand | stap | tijd (s) | CPU (s) | waarvan GX, CPU (s) | rijen/s | piek RSS (MB) "
          "| RSS na imports (MB) | afgekeurd | dubbel |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="factlab-bench-") as work:
        for rows in args.rijen:
            source = Path(work) / f"levering-{rows}.csv"
            subprocess.run([sys.executable, "-m", "bench.big_extract", "--stap", "genereer",
                            "--rijen", str(rows), "--bestand", str(source)], check=True)
            size_mb = source.stat().st_size / 1024 / 1024
            for step in ("validate", "pseudonymise"):
                completed = subprocess.run(
                    [sys.executable, "-m", "bench.big_extract", "--stap", step,
                     "--bestand", str(source)],
                    capture_output=True, text=True, check=True,
                )
                numbers = json.loads(completed.stdout.strip().splitlines()[-1])
                rate = numbers["rijen"] / numbers["seconden"] if numbers["seconden"] else 0
                print(f"| {rows:,} | {size_mb:.0f} MB | {step} | {numbers['seconden']} | "
                      f"{numbers['cpu_seconden']} | {numbers['gx_cpu_seconden']} | {rate:,.0f} | "
                      f"{numbers['piek_rss_mb']} | {numbers['rss_na_imports_mb']} | "
                      f"{numbers['afgekeurd']:,} | "
                      f"{numbers['dubbel']:,} |".replace(",", " "), flush=True)
            source.unlink()


if __name__ == "__main__":
    main()
