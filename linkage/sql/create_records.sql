-- The records of one run that fall in the period. `levering` numbers the delivery file,
-- `organisatie` the partner (several files of one partner share it). `adres_pseudoniem_alt` is the
-- alternative reading of docs/contract.md §3 step 8: null when the record has none.
CREATE TABLE records (
    levering INTEGER NOT NULL,
    organisatie INTEGER NOT NULL,
    adres_pseudoniem VARCHAR NOT NULL,
    pand_pseudoniem VARCHAR NOT NULL,
    voorziening VARCHAR NOT NULL,
    domein VARCHAR NOT NULL,
    adres_pseudoniem_alt VARCHAR,
    begindatum DATE,
    einddatum DATE,
    bedrag BIGINT  -- eurocent in the period (docs/contract.md §12); null = unknown
);
