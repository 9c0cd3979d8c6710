-- insert_delivery.sql for a delivery of format version 1, which has no `adres_pseudoniem_alt`: read as if
-- it were null everywhere (docs/contract.md §3 step 8).
INSERT INTO records
SELECT $levering, $organisatie, adres_pseudoniem, pand_pseudoniem, voorziening, domein, NULL,
    begindatum, einddatum
FROM read_parquet($path)
WHERE begindatum <= $period_end AND (einddatum IS NULL OR einddatum >= $period_start);
