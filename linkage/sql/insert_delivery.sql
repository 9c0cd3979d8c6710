-- The records of one pseudonymised delivery that fall in the period: a record is in the period when
-- it starts on or before the period end and has not ended before the period start (docs/contract.md §6).
INSERT INTO records
SELECT $levering, $organisatie, adres_pseudoniem, pand_pseudoniem, voorziening, domein, begindatum, einddatum
FROM read_parquet($path)
WHERE begindatum <= $period_end AND (einddatum IS NULL OR einddatum >= $period_start);
