-- The records of one pseudonymised delivery that fall in the period: a record is in the period when
-- it starts on or before the period end and has not ended before the period start (docs/contract.md §6).
-- For a delivery of format version 2, with its `adres_pseudoniem_alt` (§3 step 8); version 1 deliveries
-- go through insert_delivery_v1.sql.
INSERT INTO records
SELECT $levering, $organisatie, adres_pseudoniem, pand_pseudoniem, voorziening, domein, adres_pseudoniem_alt,
    begindatum, einddatum
FROM read_parquet($path)
WHERE begindatum <= $period_end AND (einddatum IS NULL OR einddatum >= $period_start);
