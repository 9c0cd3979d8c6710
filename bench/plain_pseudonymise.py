"""Baseline for `factlab pseudonymise`: the plain script one would write (pandas, one HMAC per row).

    python -m bench.plain_pseudonymise EXTRACT.csv KEYFILE OUT.parquet

Reads the extract with pandas (Windows-1252, `;`), keeps rows whose postcode looks Dutch, normalises
postcode and house number with pandas string methods, computes the address and building pseudonyms with
`hmac.new` per row, drops exact repeats and writes Parquet. No code list, no dates, no rejected-rows list,
no alternative reading: less work than Factlab does, so the comparison flatters the baseline.
Measured beside the command in docs/benchmarks.md ("De partneropdracht").
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    import pandas as pd

    from linkage.keys import load_key

    source, keyfile, out = (Path(a) for a in argv)
    secret = load_key(keyfile).secret
    frame = pd.read_csv(source, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    postcode = frame["postcode"].str.replace(" ", "", regex=False).str.upper()
    frame = frame[postcode.str.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}")].copy()
    frame["postcode"] = postcode
    frame["huisnummer"] = frame["huisnummer"].str.strip().str.upper()
    address = frame["postcode"] + "|" + frame["huisnummer"] + "|" + frame["toevoeging"].str.strip()
    number = frame["huisnummer"].str.extract(r"^([0-9]+)", expand=False).fillna("")
    building = frame["postcode"] + "|" + number
    frame["adres_pseudoniem"] = [hmac.new(secret, a.encode(), hashlib.sha256).hexdigest() for a in address]
    frame["pand_pseudoniem"] = [hmac.new(secret, b.encode(), hashlib.sha256).hexdigest() for b in building]
    kept = frame[["adres_pseudoniem", "pand_pseudoniem", "voorziening", "begindatum", "einddatum"]]
    kept = kept.drop_duplicates().sort_values("adres_pseudoniem")
    kept.to_parquet(out, index=False)
    print(f"{len(kept)} records")


if __name__ == "__main__":
    main(sys.argv[1:])
