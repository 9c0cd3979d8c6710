-- insert_delivery.sql for a delivery written before amounts existed (no column `bedrag`, §12):
-- every amount is unknown.
INSERT INTO records
SELECT $levering, $organisatie, adres_pseudoniem, pand_pseudoniem, voorziening, domein, NULL
FROM read_parquet($path)
WHERE begindatum <= $period_end AND (einddatum IS NULL OR einddatum >= $period_start);
