"""The benchmark's stages, each run in a process of its own: `python -m bench.stages NAME ARGS_JSON`.

A stage prints one JSON line (its counts and inner timings) as the last line of its output; the
runner times the process from outside and samples its memory. Stages call the project's public
functions, the same ones the `factlab` commands call, so the numbers are those a user gets.
Nothing here prints a row value, a pseudonym or key material.
"""

from __future__ import annotations

import cProfile
import hashlib
import hmac
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PROJECT_ROOT = str(Path(__file__).resolve().parents[1]) + os.sep
STAGES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def stage(function: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    STAGES[function.__name__] = function
    return function


@stage
def genereren(args: dict[str, Any]) -> dict[str, Any]:
    from bench.synthetic import SCALES, generate

    made = generate(SCALES[args["schaal"]], Path(args["map"]))
    return {"adressen": made.scale.addresses, "records": made.scale.records, "partners": made.scale.partners}


@stage
def sleutel(args: dict[str, Any]) -> dict[str, Any]:
    from linkage.keys import new_key, write_key

    write_key(new_key(), Path(args["sleutel"]))
    return {}


def _validate_one(extract: str) -> tuple[int, int]:
    from pipelines.intake.delivery import validate_delivery
    from schemas.codelist import load_code_list

    result = validate_delivery(Path(extract), load_code_list())
    return result.rows_read, result.rows_rejected


@stage
def valideren(args: dict[str, Any]) -> dict[str, Any]:
    """`factlab validate` on every extract (at the partners; here side by side on this machine)."""
    with ProcessPoolExecutor(max_workers=args["workers"]) as pool:
        counts = list(pool.map(_validate_one, args["extracts"]))
    return {"rijen": sum(r for r, _ in counts), "afgekeurd": sum(a for _, a in counts)}


@stage
def register(args: dict[str, Any]) -> dict[str, Any]:
    """`factlab register`: the key custodian pseudonymises the address register."""
    from linkage.keys import load_key
    from pipelines.intake.register import pseudonymise_register

    result = pseudonymise_register(Path(args["bron"]), load_key(Path(args["sleutel"])), Path(args["uit"]))
    return {"rijen": result.rows_read, "adressen": result.addresses, "afgekeurd": result.rows_rejected}


def _pseudonymise_one(job: tuple[str, str, str]) -> tuple[int, int, float]:
    from linkage.keys import load_key
    from pipelines.intake.delivery import pseudonymise_delivery
    from schemas.codelist import load_code_list

    extract, key_file, out = job
    started = time.perf_counter()
    result = pseudonymise_delivery(
        Path(extract), load_key(Path(key_file)), Path(extract).stem, Path(out), load_code_list()
    )
    return result.rows_read, result.rows_written, time.perf_counter() - started


@stage
def leveringen(args: dict[str, Any]) -> dict[str, Any]:
    """`factlab pseudonymise` for every partner (each at its own site; here side by side)."""
    out_dir = Path(args["uitmap"])
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(e, args["sleutel"], str(out_dir / f"{Path(e).stem}.parquet")) for e in args["extracts"]]
    with ProcessPoolExecutor(max_workers=args["workers"]) as pool:
        done = list(pool.map(_pseudonymise_one, jobs))
    rows = sum(d[0] for d in done)
    busy = sum(d[2] for d in done)
    return {"rijen": rows, "geschreven": sum(d[1] for d in done), "rijen_per_s_per_proces": rows / busy}


def _address_columns(n: int):
    from bench.synthetic import address_columns

    return address_columns(n)


@stage
def kern(args: dict[str, Any]) -> dict[str, Any]:
    """The pseudonymisation kernel in memory: canonicalise, then both HMACs, over n messy addresses."""
    import pyarrow as pa

    from linkage import pseudonyms
    from linkage.keys import new_key
    from schemas.canonical import canonicalise_arrow

    key = new_key()
    columns = [
        column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        for column in _address_columns(args["n"]).values()
    ]
    n = len(columns[0])
    timings: dict[str, float] = {}
    best_total = float("inf")
    for _ in range(args.get("herhalingen", 3)):
        started = time.perf_counter()
        canonical = canonicalise_arrow(*columns)
        after_canonical = time.perf_counter()
        valid = canonical["canoniek"].is_valid()
        address = pseudonyms.address_pseudonym_column(key, canonical["canoniek"].filter(valid))
        building = pseudonyms.building_pseudonym_column(key, canonical["pand"].filter(valid))
        done = time.perf_counter()
        if done - started < best_total:
            best_total = done - started
            timings = {"canonicaliseren_s": after_canonical - started, "hmac_s": done - after_canonical}
    limit = _hmac_limit(key.secret)
    kernels = _kernel_profile([column.slice(0, 500_000) for column in columns])
    return {
        "rijen": n,
        "geldig": len(address),
        "kern_s": best_total,
        **timings,
        "rijen_per_s": n / best_total,
        "canonicaliseren_rijen_per_s": n / timings["canonicaliseren_s"],
        "hmacs_per_s": (len(address) + len(building)) / timings["hmac_s"],
        "hmac_implementatie": pseudonyms.bulk_hmac_in_use(),
        **limit,
        "canonicaliseren_per_kernel_ns_per_rij": kernels,
        "_check": pa.array([len(address), len(building)]).to_pylist(),
    }


class _TimedCompute:
    """Stands in for `pyarrow.compute` inside schemas.canonical and adds up the CPU time per kernel."""

    def __init__(self, compute: Any) -> None:
        self.compute, self.seconds = compute, {}

    def __getattr__(self, name: str) -> Any:
        function = getattr(self.compute, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - started

        return timed


def _kernel_profile(columns: list[Any]) -> dict[str, float]:
    """CPU time per Arrow kernel of one single-threaded canonicalisation, in ns per row."""
    from schemas import canonical

    timed = _TimedCompute(canonical.pc)
    canonical.pc = timed
    try:
        started = time.process_time()
        canonical._canonicalise_chunk(*columns)
        total = time.process_time() - started
    finally:
        canonical.pc = timed.compute
    n = len(columns[0])
    per_kernel = {
        name: round(seconds * 1e9 / n, 1)
        for name, seconds in sorted(timed.seconds.items(), key=lambda item: -item[1])
    }
    per_kernel["(numpy en Python ertussen)"] = round((total - sum(timed.seconds.values())) * 1e9 / n, 1)
    per_kernel["totaal"] = round(total * 1e9 / n, 1)
    return per_kernel


def _hmac_limit(secret: bytes) -> dict[str, float]:
    """What one core can hash here: the bulk HMAC on one thread, and Python's hmac for comparison."""
    import pyarrow as pa

    from linkage import pseudonyms

    values = pa.array([f"{1000 + i % 9000}AB|{i % 300 + 1}||" for i in range(400_000)])
    limit: dict[str, float] = {}
    if pseudonyms._hmac_bulk is not None:
        _, offsets, data = values.buffers()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            pseudonyms._hmac_bulk.hmac_hex_column(secret, b"adres:v1:", offsets, data, 4, 0, len(values))
            best = min(best, time.perf_counter() - started)
        limit["hmac_limiet_per_kern_per_s"] = len(values) / best
    sample = [("adres:v1:" + v).encode() for v in values.to_pylist()[:100_000]]
    started = time.perf_counter()
    for message in sample:
        hmac.digest(secret, message, hashlib.sha256)
    limit["python_hmac_per_kern_per_s"] = len(sample) / (time.perf_counter() - started)
    return limit


@stage
def koppelen(args: dict[str, Any]) -> dict[str, Any]:
    """Linking (DuckDB) and aggregation to counts per area and indicator."""
    from linkage.linking import aggregate_households, describe_delivery, link_records
    from pipelines.run_outputs import find_deliveries
    from schemas.periods import parse_period

    deliveries = [describe_delivery(p) for p in find_deliveries(Path(args["leveringen"]))]
    period = parse_period(args["periode"])
    started = time.perf_counter()
    linked = link_records(deliveries, Path(args["register"]), period)
    linked_at = time.perf_counter()
    result = aggregate_households(linked, ("gemeente", "wijk"))
    done = time.perf_counter()
    records = linked.stage_counts["records"]
    return {
        "records": records,
        "register_adressen": linked.stage_counts["register_adressen"],
        "huishoudens": linked.stage_counts["huishoudens_met_voorziening"],
        "gekoppeld": linked.stage_counts["records_gekoppeld"],
        "cellen": len(result.counts),
        "koppelen_s": linked_at - started,
        "aggregeren_s": done - linked_at,
        "koppelen_aggregeren_s": done - started,
        "records_per_s": records / (done - started),
        "sql_s": dict(sorted(linked.unit_seconds.items(), key=lambda item: -item[1])),
    }


@stage
def rapport(args: dict[str, Any]) -> dict[str, Any]:
    """`factlab run` (link, aggregate, protect, report), with or without the PDF.

    Without a Prefect server (`prefect` false) it is `factlab run` as the analyst types it on a machine
    without a server (the steps run in this process); with `prefect` true, the Prefect flow on the server
    of the environment.
    """
    import pipelines.stapeling_steps
    import reports.pdf

    parameters = {
        "deliveries": args["leveringen"],
        "register": args["register"],
        "areas": args["gebieden"],
        "period": args["periode"],
        "out": args["uit"],
        "pdf": args["pdf"],
    }
    # The fifth step (writing the outputs, with the PDF) is not in the manifest, which it writes itself.
    spent: dict[str, float] = {"rapporteren": 0.0, "pdf": 0.0}
    _time_calls(pipelines.stapeling_steps, "assemble_outputs", spent, "rapporteren")
    _time_calls(reports.pdf, "print_pdf", spent, "pdf")
    if args.get("prefect", True):
        from pipelines.environment import configure_prefect

        configure_prefect()
        from pipelines.stapeling_flow import stapelingsmonitor

        started = time.perf_counter()
        stapelingsmonitor(**parameters)
    else:
        # `factlab run` itself (in this process, so that the timers above see its steps), on a machine
        # without a Prefect server: it checks the inputs, starts Chromium and runs the steps here.
        from pipelines.cli.main import main as factlab
        from pipelines.environment import PREFECT_CHOICE

        os.environ[PREFECT_CHOICE] = "uit"
        command = ["run", "--deliveries", parameters["deliveries"], "--register", parameters["register"],
                   "--areas", parameters["areas"], "--period", parameters["period"],
                   "--out", parameters["out"]]
        started = time.perf_counter()
        factlab.main([*command, *([] if parameters["pdf"] else ["--geen-pdf"])], standalone_mode=False)
    out = Path(args["uit"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {
        "seconden_in_flow": time.perf_counter() - started,
        "flow_stappen_s": {**manifest.get("duur_seconden", {}),
                           "rapporteren": round(spent["rapporteren"], 3)},
        "pdf_s": round(spent["pdf"], 3),
        "pdf": (out / "rapport.pdf").exists(),
        "samenloop_regels": _count_lines(out / "samenloop.csv") - 1,
    }


def _time_calls(module: Any, name: str, spent: dict[str, float], key: str) -> None:
    """Add the time of every call of `module.name` to `spent[key]` (a module-level function, looked up when
    it is called)."""
    original = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - started

    setattr(module, name, timed)


@stage
def samenloop(args: dict[str, Any]) -> dict[str, Any]:
    """Pseudonymised files to samenloop.csv with the functions the flow's tasks call."""
    from disclosure.audit import audit_protection
    from disclosure.protect import protect_with_proofs
    from disclosure.rules import load_rules
    from linkage.linking import aggregate_households, describe_delivery, link_records
    from pipelines.outputs import write_samenloop
    from pipelines.run_outputs import find_deliveries
    from schemas.areas import read_area_names
    from schemas.periods import parse_period

    timings: dict[str, float] = {}
    started = time.perf_counter()
    deliveries = [describe_delivery(p) for p in find_deliveries(Path(args["leveringen"]))]
    linked = link_records(deliveries, Path(args["register"]), parse_period(args["periode"]))
    timings["koppelen_s"] = time.perf_counter() - started
    step = time.perf_counter()
    counts = aggregate_households(linked, ("gemeente", "wijk"))
    timings["aggregeren_s"] = time.perf_counter() - step
    step = time.perf_counter()
    rules = load_rules(None)
    protected, proofs = protect_with_proofs(counts.counts, rules)
    timings["beveiligen_s"] = time.perf_counter() - step
    step = time.perf_counter()
    audit = audit_protection(protected, rules, counts.counts, proofs)
    timings["audit_s"] = time.perf_counter() - step
    step = time.perf_counter()
    out = Path(args["uit"])
    out.mkdir(parents=True, exist_ok=True)
    write_samenloop(protected, read_area_names(Path(args["gebieden"])), out / "samenloop.csv")
    timings["schrijven_s"] = time.perf_counter() - step
    return {
        "records": linked.stage_counts["records"],
        "cellen": len(protected),
        "geheim": int(protected["geheim"].sum()),
        "audit_geslaagd": bool(audit.passed),
        **timings,
    }


@stage
def prefect_leeg(args: dict[str, Any]) -> dict[str, Any]:
    """An empty Prefect flow: what starting Prefect costs in every `factlab run`."""
    from pipelines.environment import configure_prefect

    configure_prefect()
    from prefect import flow

    @flow(name="factlab-bench-leeg", persist_result=False)
    def leeg() -> int:
        return 0

    started = time.perf_counter()
    leeg()
    return {"seconden_in_flow": time.perf_counter() - started}


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


@stage
def pandas_baseline(args: dict[str, Any]) -> dict[str, Any]:
    """What an analyst would write in pandas on the raw extracts: no canonical address, no key."""
    import pandas as pd

    from schemas.codelist import load_code_list

    codes = load_code_list()
    domains = {code: v.domein for code, v in codes.entries.items()}
    year = int(args["periode"][:4])
    started = time.perf_counter()
    frames = []
    for number, extract in enumerate(args["extracts"]):
        with open(extract, encoding="utf-8") as handle:
            delimiter = ";" if ";" in handle.readline() else ","
        frame = pd.read_csv(extract, sep=delimiter, dtype=str, keep_default_na=False)
        frame["partner"] = number
        # Each partner writes its dates one way; the analyst looks once and gives pandas the format.
        iso = frame["begindatum"].str.match(r"^\d{4}-").mean() > 0.5
        dates = "%Y-%m-%d" if iso else "%d-%m-%Y"
        begin = pd.to_datetime(frame["begindatum"], format=dates, errors="coerce")
        end = pd.to_datetime(frame["einddatum"], format=dates, errors="coerce")
        frame["in_periode"] = (begin <= pd.Timestamp(year, 12, 31)) & (
            end.isna() | (end >= pd.Timestamp(year, 1, 1))
        )
        frames.append(frame)
    records = pd.concat(frames, ignore_index=True)
    register = pd.read_csv(args["register"], sep=";", dtype=str, keep_default_na=False)
    records["postcode"] = records["postcode"].str.replace(" ", "").str.upper()
    records["huisletter"] = records["huisletter"].str.upper()
    records["domein"] = records["voorziening"].map(domains)
    in_period = records["in_periode"]
    read_at = time.perf_counter()
    keys = ["postcode", "huisnummer", "huisletter", "huisnummertoevoeging"]
    linked = records[in_period].merge(register, on=keys, how="inner")
    linked["wijkcode"] = "WK" + linked["buurtcode"].str[2:8]
    households = linked.groupby(keys + ["wijkcode"]).agg(
        voorzieningen=("voorziening", "nunique"), organisaties=("partner", "nunique")
    )
    domain_bits = linked["domein"].map({"jeugd": 1, "wmo": 2, "werk_inkomen": 4})
    unique_domains = linked.assign(bit=domain_bits).drop_duplicates(keys + ["bit"])
    households["domeinen"] = unique_domains.groupby(keys + ["wijkcode"])["bit"].sum()
    households = households.reset_index()
    table = households.groupby(["wijkcode", "domeinen", "voorzieningen", "organisaties"]).size()
    done = time.perf_counter()
    return {
        "records": len(records),
        "gekoppeld": len(linked),
        "huishoudens": len(households),
        "cellen": len(table),
        "inlezen_s": read_at - started,
        "koppelen_aggregeren_s": done - read_at,
        "records_per_s": len(records) / (done - read_at),
    }


@stage
def profiel(args: dict[str, Any]) -> dict[str, Any]:
    """Where the partner's and the custodian's steps spend their time: warm-up run first, then profiled."""
    from linkage.keys import load_key
    from pipelines.intake.delivery import pseudonymise_delivery
    from pipelines.intake.register import pseudonymise_register
    from schemas.codelist import load_code_list

    key, codes = load_key(Path(args["sleutel"])), load_code_list()
    extract, out = Path(args["extract"]), Path(args["uit"])
    started = time.perf_counter()
    first = pseudonymise_delivery(extract, key, "profiel", out, codes)
    warm_up = time.perf_counter() - started
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    pseudonymise_delivery(extract, key, "profiel", out, codes)
    profiler.disable()
    steady = time.perf_counter() - started
    result: dict[str, Any] = {
        "rijen": first.rows_read,
        "eerste_keer_s": warm_up,
        "tweede_keer_s": steady,
        "rijen_per_s": first.rows_read / steady,
        "levering": _top(profiler, args.get("top", 15)),
        "per_pakket": _by_package(profiler),
    }
    if args.get("register"):
        part = out.with_name("register-deel.csv")
        with open(args["register"], encoding="utf-8") as source, part.open("w", encoding="utf-8") as target:
            for number, line in enumerate(source):
                if number > args.get("register_rijen", 300_000):
                    break
                target.write(line)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        register = pseudonymise_register(part, key, out.with_name("register-deel.parquet"))
        profiler.disable()
        seconds = time.perf_counter() - started
        result["register"] = {
            "rijen": register.rows_read,
            "seconden": seconds,
            "rijen_per_s": register.rows_read / seconds,
            "functies": _top(profiler, args.get("top", 15)),
            "per_pakket": _by_package(profiler),
        }
    return result


def _by_package(profiler: cProfile.Profile) -> dict[str, float]:
    """Own time per top-level package: which part of the stack the rows spend their time in."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    totals: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        short = _short(filename)
        package = short.split("/", 1)[0] if "/" in short else ("(ingebouwd)" if filename == "~" else short)
        totals[package] = totals.get(package, 0.0) + own
    total = sum(totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:10]
    return {package: round(seconds / total, 3) for package, seconds in ranked}


def _top(profiler: cProfile.Profile, count: int) -> list[dict[str, Any]]:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        rows.append(
            {
                "functie": f"{_short(filename)}:{line}({name})",
                "aanroepen": calls,
                "eigen_s": round(own, 3),
                "cumulatief_s": round(cumulative, 3),
            }
        )
    rows.sort(key=lambda r: -r["eigen_s"])
    return [{**r, "aandeel_eigen": round(r["eigen_s"] / total, 3) if total else 0.0} for r in rows[:count]]


def _short(filename: str) -> str:
    for marker in ("site-packages/", PROJECT_ROOT, "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return os.path.basename(filename)


@stage
def openbaarmaking(args: dict[str, Any]) -> dict[str, Any]:
    """Disclosure control on a generated gemeente (bench/disclosure_scale.py): protect, then audit."""
    from bench.disclosure_scale import ScaleSpec, scale_counts
    from disclosure.audit import audit_protection
    from disclosure.protect import protect_with_proofs
    from disclosure.rules import load_rules

    spec = ScaleSpec(**args["spec"])
    counts = scale_counts(spec, tuple(args["niveaus"]), division=bool(args["eigen_indeling"]))
    rules = load_rules(None)
    started = time.process_time()
    protected, proofs = protect_with_proofs(counts, rules)
    protect_cpu = time.process_time() - started
    started = time.process_time()
    audit = audit_protection(protected, rules, counts, proofs)
    return {
        "cellen": len(protected),
        "geheim": int(protected["geheim"].sum()),
        "beveiligen_cpu_s": round(protect_cpu, 2),
        "audit_cpu_s": round(time.process_time() - started, 2),
        "audit_geslaagd": bool(audit.passed),
        "aandeel_grote_cellen_gepubliceerd": audit.published_share_of_large_cells,
    }


def main(argv: list[str]) -> int:
    name, raw = argv[1], argv[2] if len(argv) > 2 else "{}"
    result = STAGES[name](json.loads(raw))
    result.pop("_check", None)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
