-- The records of one run that fall in the period. `levering` numbers the delivery file,
-- `organisatie` the partner (several files of one partner share it).
CREATE TABLE records (
    levering INTEGER NOT NULL,
    organisatie INTEGER NOT NULL,
    adres_pseudoniem VARCHAR NOT NULL,
    pand_pseudoniem VARCHAR NOT NULL,
    voorziening VARCHAR NOT NULL,
    domein VARCHAR NOT NULL,
    bedrag BIGINT  -- eurocent in the period (docs/contract.md §12); null = unknown
);
