"""Proof that nothing leaks: the whole chain, with canaries, and a scan of every byte it writes.

A municipality other than the sample is generated; every partner extract gets canaries (fictional
names, BSN-like numbers and street names in extra columns, plus rows that are rejected or cannot
link). The chain then runs through the real CLI in subprocesses, once with one-step and once with
two-step (TTP) pseudonymisation, with PREFECT_HOME, TMPDIR and HOME inside the test folder.

Scanned, on the analyst's side: everything under OUT, PREFECT_HOME (SQLite database and logs),
TMPDIR, HOME and the working folder, file names included; the text of rapport.pdf (pdftotext); the
decoded rows of every Parquet file in OUT; and stdout/stderr of `run`. Also the TTP's and the
partners' temporary folders, which must hold nothing. Looked for: the canaries, every BSN and
client number of the extracts, every input postcode (so every postcode + huisnummer too, in any
spelling), canonical address strings, every adres and pand pseudonym of both steps (in hex, also
truncated to 16 characters, and as raw digest bytes) and both keys.

Not scanned, on purpose: the partners' own files (raw extracts and the rejects file `--rejects`,
which stays with the partner and of course holds the bad values) and the pseudonymised inputs
the analyst receives (they are the pseudonyms).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sample_loader import load_sample_generator

from linkage.keys import load_key

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MUNICIPALITY = {"seed": 4711, "gemeentecode": "GM9047", "gemeentenaam": "Lekkerkerk-Oost",
                "n_addresses": 1500, "n_wijken": 5, "n_buurten": 15}
PERIOD = "2026H1"
CANARY_TOKEN = "kanarie"
CANARY_BSNS = ("987650012", "912873645", "999123457")
VALID_CODE = {"jeugd": "45", "wmo": "01", "werk_inkomen": "PW01"}
# (postcode, huisnummer, voorziening or None for the partner's valid code, begindatum): three of
# the four are rejected, the first is valid but lies outside the register.
CANARY_ROWS = (
    ("9871KQ", "17", None, "2026-02-01"),
    ("9872KR", "7", "99", "2026-02-01"),
    ("KANARIE 1", "3", None, "2026-02-01"),
    ("9873KS", "21b", None, "31-02-2026"),
)


def _factlab() -> str:
    beside_python = Path(sys.executable).with_name("factlab")
    return str(beside_python) if beside_python.is_file() else (shutil.which("factlab") or "factlab")


# ---------------------------------------------------------------- the scanner


@dataclass
class LeakScanner:
    """Finds personal data, pseudonyms and keys in bytes; every finding says what and where."""

    bsns: set[bytes] = field(default_factory=set)
    client_numbers: set[bytes] = field(default_factory=set)
    postcodes: set[str] = field(default_factory=set)
    pseudonyms: set[str] = field(default_factory=set)
    secrets: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._prefixes = {p[:16].encode() for p in self.pseudonyms}
        self._digest_heads = np.array(
            sorted({int.from_bytes(bytes.fromhex(p)[:8], "little") for p in self.pseudonyms}), dtype=np.uint64
        )
        self._secret_forms = []
        for secret in self.secrets:
            encoded = base64.b64encode(secret)
            hexed = secret.hex().encode()
            self._secret_forms += [secret, encoded, encoded[:24], hexed, hexed.upper()]

    def scan(self, data: bytes) -> list[str]:
        found: list[str] = []
        lower = data.lower()
        for form in (CANARY_TOKEN.encode(), CANARY_TOKEN.encode("utf-16-le")):
            if (at := lower.find(form)) >= 0:
                found.append(f"kanarie op {at}")
        for match in re.finditer(rb"(?<!\d)\d{9}(?!\d)", data):
            if match.group() in self.bsns:
                found.append(f"BSN op {match.start()}")
        for match in re.finditer(rb"C\d{6}(?!\d)", data):
            if match.group() in self.client_numbers:
                found.append(f"cliëntnummer op {match.start()}")
        if match := re.search(rb"[1-9][0-9]{3}[A-Za-z]{2}\|[0-9]", data):
            found.append(f"canoniek adres op {match.start()}")
        for match in re.finditer(rb"(?<![0-9A-Za-z])([1-9][0-9]{3}) ?([A-Za-z]{2})(?![A-Za-z])", data):
            if (match.group(1) + match.group(2)).decode().upper() in self.postcodes:
                found.append(f"postcode op {match.start()}")
        for match in re.finditer(rb"[0-9a-fA-F]{16,}", data):
            run = match.group().lower()
            if any(run[i:i + 16] in self._prefixes for i in range(len(run) - 15)):
                found.append(f"pseudoniem (hex) op {match.start()}")
        found += self._digest_hits(data)
        for form in self._secret_forms:
            if (at := data.find(form)) >= 0:
                found.append(f"sleutel op {at}")
        return found

    def _digest_hits(self, data: bytes) -> list[str]:
        """Raw 32-byte pseudonym digests, found by their first 8 bytes at every offset."""
        hits = []
        for offset in range(8):
            count = (len(data) - offset) // 8
            if count <= 0 or not len(self._digest_heads):
                continue
            words = np.frombuffer(data, dtype="<u8", count=count, offset=offset)
            positions = np.flatnonzero(np.isin(words, self._digest_heads))
            hits += [f"pseudoniem (bytes) op {offset + 8 * int(p)}" for p in positions[:3]]
        return hits

    def scan_tree(self, root: Path) -> dict[str, list[str]]:
        """Every file (and every name) under `root`; Parquet files also as decoded rows."""
        findings: dict[str, list[str]] = {}
        for path in sorted(root.rglob("*")):
            where = str(path.relative_to(root.parent))
            hits = [f"in de naam: {h}" for h in self.scan(path.name.encode())]
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                hits += self.scan(data)
                if path.suffix == ".parquet":
                    hits += [f"in de rijen: {h}" for h in self.scan(_parquet_text(path))]
                if path.suffix == ".pdf":
                    hits += [f"in de tekst: {h}" for h in self.scan(_pdf_text(path))]
            if hits:
                findings[where] = hits
        return findings


def _parquet_text(path: Path) -> bytes:
    table = pq.read_table(path)
    meta = repr(table.schema.metadata).encode()
    return meta + table.to_pandas().to_csv(index=False).encode()


def _pdf_text(path: Path) -> bytes:
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    assert result.stdout.strip(), "pdftotext vond geen tekst in rapport.pdf"
    return result.stdout


# ---------------------------------------------------------------- canaries in the extracts


def _canary_extract(delivery, style, number: int) -> tuple[bytes, list[str]]:
    """The extract with two extra columns on every row and four canary rows; returns the BSNs used."""
    header = [*delivery.header, "Straatnaam", "Notitie"]
    rows = [[*row, f"Kanarielaan {i + 1}", f"gesprek met mw. Kanarievogel-{number}"]
            for i, row in enumerate(delivery.rows)]
    bsns = []
    for index, (postcode, huisnummer, code, begin) in enumerate(CANARY_ROWS):
        bsn = CANARY_BSNS[(number + index) % len(CANARY_BSNS)]
        bsns.append(bsn)
        values = {
            "postcode": postcode, "huisnummer": huisnummer, "huisletter": "", "toevoeging": "",
            "voorziening": code or VALID_CODE[style.domain], "begindatum": begin, "einddatum": "",
            "naam": f"Anna Kanariepiet-{number}{index}",
            "naam_omgekeerd": f"Kanariepiet, Anna {number}{index}",
            "bsn": bsn, "clientnummer": f"KANARIE{number}{index}", "medewerker": "dhr. Kanarie",
            "uren": "4", "hulpmiddel": "Kanariekooi", "uitkering": "1.234,56", "bedrag_periode": "250,00",
        }
        rows.append([*(values[f] for _, f in style.columns), f"Kanariestraat {index + 1}", "kanarie-rij"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delivery.delimiter, lineterminator=style.line_end)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(delivery.encoding), bsns


# ---------------------------------------------------------------- the chain


@dataclass
class LeakChain:
    root: Path
    sample: object
    keys: dict[str, Path]
    register: dict[str, Path]
    deliveries: dict[str, Path]
    rejects: Path
    extracts: Path
    outs: dict[str, Path] = field(default_factory=dict)
    analyst_dirs: dict[str, list[Path]] = field(default_factory=dict)
    run_output: dict[str, str] = field(default_factory=dict)
    side_temps: list[Path] = field(default_factory=list)
    canary_bsns: set[str] = field(default_factory=set)


def _environment(home: Path) -> dict[str, str]:
    for name in ("prefect", "tmp", "home", "werk"):
        (home / name).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FACTLAB_"))}
    env.update({
        "PREFECT_HOME": str(home / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",  # a busy test machine starts slowly
        # Through Prefect (a temporary server), so its database and logs are there to be scanned too.
        "FACTLAB_PREFECT": "aan",
        "TMPDIR": str(home / "tmp"), "TEMP": str(home / "tmp"), "TMP": str(home / "tmp"),
        "HOME": str(home / "home"), "XDG_CACHE_HOME": str(home / "home" / ".cache"),
        "XDG_CONFIG_HOME": str(home / "home" / ".config"),
    })
    return env


def _factlab_run(args: list[str], home: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([_factlab(), *args], cwd=home / "werk", env=_environment(home),
                            capture_output=True, text=True, timeout=1500, check=False)
    assert result.returncode == 0, (
        f"factlab {args[0]} stopte met code {result.returncode}:\n{result.stderr[-3000:]}"
    )
    return result


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> LeakChain:
    root = tmp_path_factory.mktemp("lekscan")
    generator = load_sample_generator()
    sample = generator.generate(**MUNICIPALITY)
    gemeente = root / "gemeente"
    generator.write_sample(sample, gemeente)
    extracts = root / "partners" / "extracten"
    extracts.mkdir(parents=True)
    canary_bsns: set[str] = set()
    for number, style in enumerate(generator.PARTNERS):
        content, bsns = _canary_extract(sample.deliveries[style.name], style, number)
        (extracts / style.filename).write_bytes(content)
        canary_bsns.update(bsns)

    custodian, ttp, partners = root / "sleutelbeheerder", root / "ttp", root / "partners"
    keys = {"k1": custodian / "k1.json", "k2": ttp / "k2.json"}
    _factlab_run(["key", "new", "--out", str(keys["k1"])], custodian)
    _factlab_run(["key", "new", "--out", str(keys["k2"])], ttp)
    register = {"1": custodian / "register.parquet", "2": ttp / "register.parquet"}
    _factlab_run(["register", str(gemeente / "adressen.csv"), "--key", str(keys["k1"]), "--out",
                  str(register["1"])], custodian)
    deliveries = {"1": partners / "leveringen", "2": ttp / "leveringen"}
    rejects = partners / "afgekeurd"
    for folder in (*deliveries.values(), rejects):
        folder.mkdir(parents=True)
    for style in generator.PARTNERS:
        _factlab_run(["pseudonymise", str(extracts / style.filename), "--key", str(keys["k1"]), "--partner",
                      style.name, "--out", str(deliveries["1"] / f"{style.name}.parquet"), "--rejects",
                      str(rejects / f"{style.name}.csv")], partners)
    to_rekey = [(register["1"], register["2"])]
    to_rekey += [(p, deliveries["2"] / p.name) for p in sorted(deliveries["1"].glob("*.parquet"))]
    for source, target in to_rekey:
        _factlab_run(["ttp", "rekey", str(source), "--key", str(keys["k2"]), "--out", str(target)], ttp)

    built = LeakChain(root, sample, keys, register, deliveries, rejects, extracts, canary_bsns=canary_bsns,
                      side_temps=[custodian / "tmp", ttp / "tmp", partners / "tmp"])
    for steps, pdf in (("1", True), ("2", True)):
        analyst = root / f"analist{steps}"
        out = analyst / "uitvoer"
        args = ["run", "--deliveries", str(deliveries[steps]), "--register", str(register[steps]), "--areas",
                str(gemeente / "gebieden.csv"), "--period", PERIOD, "--out", str(out), "--niveaus",
                "gemeente,wijk"]
        result = _factlab_run(args if pdf else [*args, "--geen-pdf"], analyst)
        built.outs[steps] = out
        built.analyst_dirs[steps] = [analyst]  # OUT, prefect, tmp, home and werk all live here
        built.run_output[steps] = result.stdout + result.stderr
    return built


@pytest.fixture(scope="module")
def scanner(chain) -> LeakScanner:
    bsns = {p.bsn for r in chain.sample.records for p in [r.person]} | chain.canary_bsns
    client_numbers = {r.person.clientnummer for r in chain.sample.records}
    postcodes = {a.postcode for a in chain.sample.register} | {r.parts[0] for r in chain.sample.records}
    postcodes |= {pc for pc, *_ in CANARY_ROWS if re.fullmatch(r"[1-9]\d{3}[A-Z]{2}", pc)}
    pseudonyms: set[str] = set()
    inputs = [*chain.register.values(), *(p for d in chain.deliveries.values() for p in d.glob("*.parquet"))]
    for path in inputs:
        # Deliveries also hold the pseudonyms of alternative readings (docs/contract.md §3 step 8).
        names = pq.read_schema(path).names
        wanted = [c for c in ("adres_pseudoniem", "pand_pseudoniem", "adres_pseudoniem_alt") if c in names]
        table = pq.read_table(path, columns=wanted)
        for column in table.column_names:
            pseudonyms.update(v for v in table.column(column).to_pylist() if v)
    secrets = [load_key(path).secret for path in chain.keys.values()]
    return LeakScanner({b.encode() for b in bsns}, {c.encode() for c in client_numbers}, postcodes,
                       pseudonyms, secrets)


# ---------------------------------------------------------------- the scanner works


def test_the_scanner_finds_what_it_looks_for(chain, scanner):
    """Without this, an empty scan would prove nothing."""
    extract_hits = [h for hits in scanner.scan_tree(chain.extracts).values() for h in hits]
    for kind in ("kanarie", "BSN", "cliëntnummer", "postcode"):
        assert any(h.startswith(kind) for h in extract_hits), kind
    delivery_hits = [h for d in chain.deliveries.values()
                     for hits in scanner.scan_tree(d).values() for h in hits]
    assert any("pseudoniem (hex)" in h for h in delivery_hits)
    key_hits = [h for hits in scanner.scan_tree(chain.keys["k1"].parent).values() for h in hits]
    assert any(h.startswith("sleutel") for h in key_hits)
    some = sorted(scanner.pseudonyms)[0]
    assert any("bytes" in h for h in scanner.scan(b"\x00\x01" + bytes.fromhex(some) + b"\x00"))
    assert scanner.scan(f"log: {some[:20]}…".encode())
    assert scanner.scan(b"adres 1234AB|12|A|3")
    postcode = sorted(scanner.postcodes)[0]
    assert scanner.scan(f"{postcode[:4]} {postcode[4:].lower()} 12".encode())
    assert scanner.scan("Kanarie".encode("utf-16-le"))


def test_canaries_reached_the_chain_and_were_rejected_or_ignored(chain):
    """The canary rows went in: the partners' rejects files hold them (and stay with the partners)."""
    rejects = "".join(p.read_text(encoding="utf-8-sig") for p in chain.rejects.glob("*.csv"))
    assert "KANARIE 1" in rejects and "31-02-2026" in rejects and ";99;" in rejects
    for path in chain.deliveries["1"].glob("*.parquet"):
        meta = pq.read_schema(path).metadata
        assert int(meta[b"rows_rejected"]) >= 3
        assert set(pq.read_schema(path).names) == {
            "adres_pseudoniem", "pand_pseudoniem", "voorziening", "domein", "begindatum", "einddatum",
            "adres_pseudoniem_alt", "bedrag"}


# ---------------------------------------------------------------- nothing leaks


@pytest.mark.parametrize("steps", ["1", "2"])
def test_nothing_the_analyst_side_writes_holds_personal_data_pseudonyms_or_keys(chain, scanner, steps):
    out = chain.outs[steps]
    assert (out / "rapport.pdf").is_file() and (out / "samenloop.csv").is_file()
    assert (chain.analyst_dirs[steps][0] / "prefect").is_dir()
    assert any((chain.analyst_dirs[steps][0] / "prefect").rglob("*.db")), "Prefect-database niet gevonden"
    findings = {}
    for folder in chain.analyst_dirs[steps]:
        findings.update(scanner.scan_tree(folder))
    assert findings == {}


@pytest.mark.parametrize("steps", ["1", "2"])
def test_run_prints_no_personal_data_pseudonyms_or_keys(chain, scanner, steps):
    assert chain.run_output[steps].strip()
    assert scanner.scan(chain.run_output[steps].encode()) == []


def test_key_holders_and_partners_leave_no_temporary_files(chain):
    for folder in chain.side_temps:
        assert list(folder.rglob("*")) == [], folder


# ---------------------------------------------------------------- the outputs


def test_two_step_chain_reproduces_the_one_step_figures_exactly(chain):
    one, two = chain.outs["1"], chain.outs["2"]
    assert (one / "samenloop.csv").read_bytes() == (two / "samenloop.csv").read_bytes()
    assert (one / "kwaliteit.csv").read_bytes() == (two / "kwaliteit.csv").read_bytes()
    manifests = [json.loads((o / "manifest.json").read_text(encoding="utf-8")) for o in (one, two)]
    k1, k2 = (load_key(chain.keys[k]).key_id for k in ("k1", "k2"))
    assert manifests[0]["pseudonimisering"] == {"stappen": 1, "ttp_key_id": None}
    assert manifests[1]["pseudonimisering"] == {"stappen": 2, "ttp_key_id": k2}
    assert manifests[0]["key_id"] == manifests[1]["key_id"] == k1
    households = [pq.read_table(o / "huishoudens.parquet").to_pandas() for o in (one, two)]
    columns = list(households[0].columns)
    pd.testing.assert_frame_equal(*(h.sort_values(columns).reset_index(drop=True) for h in households))


def _households_in_pseudonym_order(chain, steps: str) -> pd.DataFrame:
    """What huishoudens.parquet would look like if its rows followed the pseudonyms (the analyst's view)."""
    register = pq.read_table(chain.register[steps]).to_pandas()
    records = pd.concat([pq.read_table(p).to_pandas().assign(partner=p.stem)
                         for p in chain.deliveries[steps].glob("*.parquet")])
    start, end = pd.Timestamp("2026-01-01").date(), pd.Timestamp("2026-06-30").date()
    ongoing = records["einddatum"].isna() | (records["einddatum"] >= start)
    records = records[(records["begindatum"] <= end) & ongoing]
    unique_pand = register.groupby("pand_pseudoniem").filter(lambda g: len(g) == 1)
    linked = records.merge(register[["adres_pseudoniem"]], on="adres_pseudoniem")
    rest = records[~records["adres_pseudoniem"].isin(register["adres_pseudoniem"])]
    # docs/contract.md §7 (v2): then the alternative reading (register pseudonyms are unique), then the pand
    by_alternative = rest["adres_pseudoniem_alt"].isin(register["adres_pseudoniem"])
    alternative = rest[by_alternative]
    alternative = alternative.assign(adres_pseudoniem=alternative["adres_pseudoniem_alt"].to_numpy())
    linked = pd.concat([linked, alternative])
    rest = rest[~by_alternative]
    by_pand = rest.merge(unique_pand[["pand_pseudoniem", "adres_pseudoniem"]], on="pand_pseudoniem",
                         suffixes=("", "_pand"))
    linked = pd.concat([linked, by_pand.assign(adres_pseudoniem=by_pand["adres_pseudoniem_pand"])])
    households = linked.groupby("adres_pseudoniem").agg(
        domeinen=("domein", lambda s: frozenset(s)),
        aantal_voorzieningen=("voorziening", "nunique"),
        aantal_organisaties=("partner", "nunique"),
    ).join(register.set_index("adres_pseudoniem")["buurtcode"]).sort_index()
    return households.reset_index(drop=True)


@pytest.mark.parametrize("steps", ["1", "2"])
def test_households_file_cannot_be_joined_back_to_a_delivery(chain, scanner, steps):
    frame = pq.read_table(chain.outs[steps] / "huishoudens.parquet").to_pandas()
    assert not [c for c in frame.columns if re.search(r"pseudon|adres|pand|postcode|huisnummer|_id$", c)]
    for column in frame.columns:
        if frame[column].dtype == object:
            assert not frame[column].astype(str).str.fullmatch(r"[0-9a-f]{16,}").any(), column

    expected = _households_in_pseudonym_order(chain, steps)
    assert len(expected) == len(frame), "de test rekent de huishoudens anders dan de keten"
    assert sorted(expected["buurtcode"]) == sorted(frame["buurtcode"])
    # In pseudonym order (the order of every delivery and of the register) the buurt sequence would be
    # identical; a shuffled file agrees only by chance (about the sum of squared buurt shares).
    agreement = float((expected["buurtcode"].to_numpy() == frame["buurtcode"].to_numpy()).mean())
    chance = float((frame["buurtcode"].value_counts(normalize=True) ** 2).sum())
    assert agreement < max(0.5, 3 * chance)
    # Nor is it sorted by content, which would make rows line up with a sorted delivery.
    assert not frame.equals(frame.sort_values(list(frame.columns)).reset_index(drop=True))


# ---------------------------------------------------------------- refusals by `run`


def _run_refused(chain, deliveries: Path, register: Path, name: str) -> subprocess.CompletedProcess:
    home = chain.root / name
    out = home / "uitvoer"
    result = subprocess.run(
        [_factlab(), "run", "--deliveries", str(deliveries), "--register", str(register), "--areas",
         str(chain.root / "gemeente" / "gebieden.csv"), "--period", PERIOD, "--out", str(out), "--geen-pdf"],
        cwd=home / "werk", env=_environment(home), capture_output=True, text=True, timeout=1500, check=False,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert not out.exists(), "een geweigerde run schrijft geen uitvoer"
    return result


def test_run_refuses_a_delivery_made_with_another_key_by_name(chain, scanner):
    partner = "wmo_hulpmiddelen"
    home = chain.root / "andere_sleutel"
    folder = home / "leveringen"
    folder.mkdir(parents=True)
    for path in chain.deliveries["1"].glob("*.parquet"):
        if path.stem != partner:
            shutil.copy(path, folder / path.name)
    other_key = home / "k3.json"
    _factlab_run(["key", "new", "--out", str(other_key)], home)
    _factlab_run(["pseudonymise", str(chain.extracts / f"{partner}.csv"), "--key", str(other_key),
                  "--partner", partner, "--out", str(folder / f"{partner}.parquet")], home)
    result = _run_refused(chain, folder, chain.register["1"], "analist_andere_sleutel")
    assert re.search(rf"sleutel komt niet overeen .*partner\(s\): {partner};", result.stderr)
    others = [p.stem for p in chain.deliveries["1"].glob("*.parquet") if p.stem != partner]
    assert not [p for p in others if f"): {p}" in result.stderr or f", {p}" in result.stderr]
    assert scanner.scan((result.stdout + result.stderr).encode()) == []


def test_run_refuses_a_mix_of_one_and_two_step_files_by_name(chain):
    partner = "jeugd_ggz"
    folder = chain.root / "mix" / "leveringen"
    folder.mkdir(parents=True)
    for path in chain.deliveries["2"].glob("*.parquet"):
        shutil.copy(path, folder / path.name)
    shutil.copy(chain.deliveries["1"] / f"{partner}.parquet", folder / f"{partner}.parquet")
    result = _run_refused(chain, folder, chain.register["2"], "analist_mix")
    assert re.search(rf"twee stappen.*partner\(s\) {partner} in één stap", result.stderr)


def test_a_delivery_from_another_gemeente_is_flagged_loudly(chain, scanner):
    """Right key, wrong municipality: nothing links, and the run says so by partner name."""
    partner = "schuldhulp_plus"
    generator = load_sample_generator()
    elsewhere = generator.generate(**{**MUNICIPALITY, "seed": 815, "gemeentecode": "GM9048"})
    home = chain.root / "andere_gemeente"
    folder = home / "leveringen"
    folder.mkdir(parents=True)
    extract = home / f"{partner}.csv"
    extract.write_bytes(elsewhere.deliveries[partner].content)
    for path in chain.deliveries["1"].glob("*.parquet"):
        if path.stem != partner:
            shutil.copy(path, folder / path.name)
    _factlab_run(["pseudonymise", str(extract), "--key", str(chain.keys["k1"]), "--partner", partner,
                  "--out", str(folder / f"{partner}.parquet")], home)
    out = home / "uitvoer"
    result = _factlab_run(["run", "--deliveries", str(folder), "--register", str(chain.register["1"]),
                           "--areas", str(chain.root / "gemeente" / "gebieden.csv"), "--period", PERIOD,
                           "--out", str(out), "--geen-pdf"], home)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    signals = manifest["kwaliteit_signalen"]
    assert [s["partner"] for s in signals] == [partner]
    assert signals[0]["koppelpercentage"] < 10 and "andere gemeente" in signals[0]["signaal"]
    assert f"kwaliteitssignaal: Partner {partner}" in result.stdout + result.stderr
    quality = pd.read_csv(out / "kwaliteit.csv").set_index("partner")
    assert quality.loc[partner, "niet_gekoppeld"] > 0.9 * quality.loc[partner, "records_in_periode"]
    normal = json.loads((chain.outs["1"] / "manifest.json").read_text(encoding="utf-8"))
    assert normal["kwaliteit_signalen"] == []

    table = pq.read_table(folder / f"{partner}.parquet")
    strange = LeakScanner(
        {r.person.bsn.encode() for r in elsewhere.records} | scanner.bsns,
        {r.person.clientnummer.encode() for r in elsewhere.records} | scanner.client_numbers,
        {r.parts[0] for r in elsewhere.records} | scanner.postcodes,
        set(table.column("adres_pseudoniem").to_pylist()) | set(table.column("pand_pseudoniem").to_pylist())
        | set(table.column("adres_pseudoniem_alt").drop_null().to_pylist()) | scanner.pseudonyms,
        scanner.secrets,
    )
    assert strange.scan((result.stdout + result.stderr).encode()) == []
    findings = {}
    for name in ("uitvoer", "prefect", "tmp", "home", "werk"):
        findings.update(strange.scan_tree(home / name))
    assert findings == {}
