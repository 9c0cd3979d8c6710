-- One pseudonymised delivery; a record is in the period when it starts on or before the period
-- end and has not ended before the period start (CONTRACT §6).
INSERT INTO records
SELECT
    $partner,
    $key_id,
    adres_pseudoniem,
    pand_pseudoniem,
    voorziening,
    domein,
    begindatum,
    einddatum,
    begindatum <= $period_end AND (einddatum IS NULL OR einddatum >= $period_start)
FROM read_parquet($path);
