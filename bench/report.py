"""The generated block of docs/benchmarks.md: the command, the machine and the tables of a run.

Only the text between the two markers is replaced; everything else on the page (the hand-written
analysis, the section "Grote aanleveringen") stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.atomic import atomic_path

BEGIN = "<!-- factlab bench: begin (gegenereerd door `factlab bench`; niet met de hand bewerken) -->"
END = "<!-- factlab bench: einde -->"
TITLE = "# Benchmarks\n\n"

STAGE_LABELS = {
    "genereren": "synthetische data maken (niet in eind-tot-eind)",
    "sleutel": "sleutel maken (niet in eind-tot-eind)",
    "valideren": "`factlab validate`, alle partners",
    "register": "`factlab register` (adressenregister pseudonimiseren)",
    "leveringen": "`factlab pseudonymise`, alle partners (naast elkaar)",
    "rapport": "`factlab run` zonder Prefect-server (eigen proces: koppelen, tellen, beveiligen, rapport)",
    "rapport_prefect": "`factlab run` als Prefect-flow via de draaiende server (niet in eind-tot-eind)",
    "samenloop": "koppelen, tellen, beveiligen en `samenloop.csv` schrijven, zonder rapport en Prefect",
    "koppelen": "koppelen + aggregeren (DuckDB), los gemeten",
    "prefect_leeg": "lege Prefect-flow via de draaiende server",
    "prefect_leeg_tijdelijk": "lege Prefect-flow met tijdelijke server (`FACTLAB_PREFECT=aan` zonder server)",
    "kern": "pseudonimiseringskern in geheugen (canonicaliseren + 2 HMAC's)",
    "pandas_baseline": "basislijn: pandas-merge zoals een analist die schrijft",
    "profiel": "profiel van één levering (cProfile)",
    "clkhash": "basislijn: clkhash-codering (eigen virtualenv)",
}
TARGET_LABELS = {
    "pseudonimisering_rijen_per_s": "pseudonimisering (rijen/s)",
    "koppelen_aggregeren_records_per_s": "koppelen + aggregeren (records/s)",
    "land_eind_tot_eind_s": "land eind-tot-eind (s)",
    "land_piek_mb": "land piekgeheugen (MB)",
    "gemeente_eind_tot_eind_s": "gemeente eind-tot-eind (s)",
    "analist_run_boven_werk_s": "`factlab run` boven zijn vijf stappen (s)",
    "partner_1m_s": "`factlab pseudonymise`, 1 miljoen rijen, heel proces (s)",
    "partner_t_o_v_basislijn": "`factlab pseudonymise` t.o.v. pandas + HMAC per rij (×)",
    "voortgang_kosten_pct": "kosten van de voortgangsweergave (%)",
}


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value < 100:
        return f"{value:.2f}".replace(".", ",")
    return f"{round(value):,}".replace(",", ".")


def _rate(stage: dict[str, Any]) -> str:
    for key in ("rijen_per_s", "records_per_s"):
        if stage.get(key):
            return _number(stage[key])
    rows = stage.get("rijen") or stage.get("records")
    if rows and stage.get("seconden"):
        return _number(rows / stage["seconden"])
    return ""


def render(document: dict[str, Any]) -> str:
    """The generated block: machine, targets, every scale, baselines, profile and kernels, as Markdown."""
    lines = _machine_lines(document)
    lines += _target_lines(document["doelen"])
    for name, scale in document["schalen"].items():
        lines += _scale_lines(name, scale)
    lines += _baseline_lines(document["basislijnen"])
    lines += _profile_lines(document["schalen"])
    lines += _kernel_lines(document["schalen"])
    if "partneropdracht" in document:
        lines += _partner_lines(document["partneropdracht"])
    return "\n".join(lines) + "\n"


def _partner_lines(partner: dict[str, Any]) -> list[str]:
    """`factlab pseudonymise` as a whole process per size: plain, with progress forced, the baseline."""
    lines = [
        "",
        "### De partneropdracht (`factlab pseudonymise`, heel proces, beste van 3)",
        "",
        "| rijen | meting | tijd (s) | CPU (s) | rijen/s | maxrss MB | load average bij start "
        "| alle runs (s) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    names = {"factlab": "`factlab pseudonymise`", "met_voortgang": "idem, voortgang geforceerd",
             "basislijn": "pandas + HMAC per rij"}
    for rows, entry in partner["grootten"].items():
        for key, run in entry.items():
            lines.append(
                f"| {_number(int(rows))} | {names.get(key, key)} | {run['wandklok_s']:.2f} | "
                f"{run['cpu_s']:.2f} | {_number(run['rijen_per_s'])} | {run['piek_rss_mb']} | "
                f"{run['load']} | {', '.join(f'{r:.2f}' for r in run['runs'])} |"
            )
    if partner.get("marginaal_rijen_per_s"):
        marginal = _number(partner["marginaal_rijen_per_s"])
        lines += ["", f"Marginaal (1 → 5 miljoen rijen): {marginal} rijen/s."]
    return lines


def _machine_lines(document: dict[str, Any]) -> list[str]:
    machine, versions = document["machine"], document["versies"]
    return [
        f"Laatste meting: {document['gemaakt']}, met `{document['commando']}`.",
        "",
        f"Machine: {machine.get('cpu', '?')}, `nproc` = {machine.get('nproc')}, "
        f"{machine.get('geheugen_gb')} GB geheugen, Python {machine.get('python')}; belasting (load average "
        f"1/5/15 min) bij start {machine.get('load_bij_start')}, bij einde {machine.get('load_bij_einde')}. "
        f"DuckDB {versions['duckdb']}, pyarrow {versions['pyarrow']}, pandas {versions['pandas']}; "
        f"HMAC: {versions['hmac']}. Prefect: {document.get('prefect', '?')}.",
    ]


def _target_lines(targets: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### Doelen",
        "",
        "| doel | gevraagd | gemeten | gehaald | toelichting |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for key, target in targets.items():
        lines.append(
            f"| {TARGET_LABELS.get(key, key)} | {_number(target['doel'])} | {_number(target['gemeten'])} | "
            f"{'ja' if target['gehaald'] else 'nee'} | {_target_note(target)} |"
        )
    return lines


def _target_note(target: dict[str, Any]) -> str:
    """Why a target is missed, the SHA-256 limit and the value per scale, for the toelichting column."""
    note = target.get("waarom", "") if not target["gehaald"] else ""
    if "verhouding_tot_sha256_limiet" in target:
        note = (
            f"{target['verhouding_tot_sha256_limiet']:.0%} van de SHA-256-limiet van deze machine "
            f"({_number(target['sha256_limiet_hmacs_per_s_per_kern'])} HMAC's/s per kern). " + note
        )
    if len(target.get("per_schaal", {})) > 1:
        note = (
            "Per schaal: "
            + ", ".join(f"{name} {_number(value)}" for name, value in target["per_schaal"].items())
            + f"; het oordeel geldt de grootste ({target.get('schaal')}). "
            + note
        )
    if target.get("tekort_factor"):
        note = f"{target['tekort_factor']:.1f}× te langzaam/groot. " + note
    return note


def _scale_lines(name: str, scale: dict[str, Any]) -> list[str]:
    info, e2e = scale["schaal"], scale["eind_tot_eind"]
    lines = [
        "",
        f"### Schaal {name}: {_number(info['adressen'])} adressen, {_number(info['records'])} records, "
        f"{info['partners']} partners, {info['gemeenten']} gemeente(n)",
        "",
        f"Eind-tot-eind ({' + '.join(e2e['stappen'])}): **{_number(e2e['seconden'])} s**, "
        f"piekgeheugen {_number(e2e['piek_mb'])} MB.",
        "",
        "| stap | seconden | rijen of records/s | piek MB (procesboom) | maxrss MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for stage, values in scale["stappen"].items():
        label = STAGE_LABELS.get(stage, stage)
        if values.get("fout"):
            label += f" — **fout**: {values['fout']}"
        lines.append(
            f"| {label} | {_number(values['seconden'])} | {_rate(values)} | "
            f"{_number(values['piek_mb'])} | {_number(values['maxrss_mb'])} |"
        )
    return lines


def _baseline_lines(baselines: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### Basislijnen",
        "",
        "| schaal | vergelijking | Factlab | basislijn | verhouding |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, entry in baselines.items():
        if "pandas_merge_records_per_s" in entry:
            lines.append(
                f"| {name} | koppelen + aggregeren (records/s) vs pandas-merge | "
                f"{_number(entry['factlab_koppelen_records_per_s'])} | "
                f"{_number(entry['pandas_merge_records_per_s'])} | "
                f"{entry['factlab_t_o_v_pandas']:.1f}× |"
            )
        if "pandas_gekoppeld" in entry:
            lines.append(
                f"| {name} | records in de periode gekoppeld aan een adres | "
                f"{_number(entry['factlab_gekoppeld'])} | "
                f"{_number(entry['pandas_gekoppeld'])} | – |"
            )
        if "clkhash_records_per_s" in entry:
            lines.append(
                f"| {name} | pseudonimisering (rijen/s) vs clkhash-codering | "
                f"{_number(entry['factlab_pseudonimisering_rijen_per_s'])} | "
                f"{_number(entry['clkhash_records_per_s'])} | "
                f"{entry['factlab_t_o_v_clkhash']:.0f}× |"
            )
        if "clkhash_fout" in entry:
            lines.append(f"| {name} | clkhash | – | – | niet gemeten: {entry['clkhash_fout']} |")
    return lines


def _profile_lines(scales: dict[str, Any]) -> list[str]:
    """The profile of the largest scale that has one: one delivery and, when measured, the register."""
    profile_scale, profile = next(
        (
            (name, scale["stappen"]["profiel"])
            for name, scale in reversed(list(scales.items()))
            if scale["stappen"].get("profiel", {}).get("levering")
        ),
        (None, None),
    )
    if not profile:
        return []
    parts = [("één levering", profile)]
    if profile.get("register"):
        parts.append((f"het register ({_number(profile['register']['rijen'])} rijen)", profile["register"]))
    lines: list[str] = []
    for title, part in parts:
        functions = part.get("levering") or part.get("functies") or []
        packages = ", ".join(f"{name} {share:.0%}" for name, share in part.get("per_pakket", {}).items())
        lines += [
            "",
            f"### Profiel ({profile_scale}): waar de tijd van {title} heen gaat",
            "",
            f"Eigen tijd per pakket: {packages}.",
            "",
            "| functie | aanroepen | eigen s | aandeel |",
            "| --- | ---: | ---: | ---: |",
        ]
        for row in functions[:12]:
            lines.append(
                f"| `{row['functie']}` | {row['aanroepen']} | {_number(row['eigen_s'])} | "
                f"{row['aandeel_eigen']:.0%} |"
            )
    return lines


def _kernel_lines(scales: dict[str, Any]) -> list[str]:
    """Canonicalisation time per Arrow kernel, from the largest scale that measured the kernel."""
    kernel = next(
        (s["stappen"]["kern"] for s in reversed(list(scales.values())) if s["stappen"].get("kern")),
        None,
    )
    if not (kernel and kernel.get("canonicaliseren_per_kernel_ns_per_rij")):
        return []
    lines = [
        "",
        "### Canonicaliseren per Arrow-kernel (CPU-tijd, één draad)",
        "",
        "| kernel | ns per rij |",
        "| --- | ---: |",
    ]
    for name, value in kernel["canonicaliseren_per_kernel_ns_per_rij"].items():
        lines.append(f"| `{name}` | {_number(float(value))} |")
    return lines


def write_markdown(document: dict[str, Any], path: Path) -> None:
    """Replace the generated block of `path` (made if missing), keep everything around it."""
    block = f"{BEGIN}\n{render(document)}{END}"
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE + f"{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Laatste meting\n\n" + block + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
