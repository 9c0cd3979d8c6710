-- The records of one pseudonymised delivery that fall in the period: a record is in the period when
-- it starts on or before the period end and has not ended before the period start (docs/contract.md §6).
-- `bedrag` (§12, eurocent): as delivered, or with $pro_rata (a 301 Budget for the whole toewijzing) the
-- share of the toewijzing's days that fall in the period; a toewijzing without einddatum has no amount.
INSERT INTO records
SELECT $levering, $organisatie, adres_pseudoniem, pand_pseudoniem, voorziening, domein,
    CASE
        WHEN NOT $pro_rata THEN bedrag
        WHEN einddatum IS NULL THEN NULL
        ELSE CAST(round(bedrag
            * (datediff('day', greatest(begindatum, $period_start), least(einddatum, $period_end)) + 1)
            / (datediff('day', begindatum, einddatum) + 1)) AS BIGINT)
    END
FROM read_parquet($path)
WHERE begindatum <= $period_end AND (einddatum IS NULL OR einddatum >= $period_start);
