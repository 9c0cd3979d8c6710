-- The records of one pseudonymised delivery (the view `delivery`, linkage/linking.py delivery_view) that
-- fall in the period: a record is in the period when it starts on or before the period end and has not
-- ended before the period start (docs/contract.md §6). A column an older file lacks is null in the view:
-- `adres_pseudoniem_alt` (format version 1, §3 step 8) and `bedrag` (written before amounts, §12).
-- `bedrag` (§12, eurocent): as delivered, or with $pro_rata (a 301 Budget for the whole toewijzing) the
-- share of the toewijzing's days that fall in the period; a toewijzing without einddatum has no amount.
INSERT INTO records
SELECT $levering, $organisatie, adres_pseudoniem, pand_pseudoniem, voorziening, domein, adres_pseudoniem_alt,
    begindatum, einddatum,
    CASE
        WHEN NOT $pro_rata THEN bedrag
        WHEN einddatum IS NULL THEN NULL
        ELSE CAST(round(bedrag
            * (datediff('day', greatest(begindatum, $period_start), least(einddatum, $period_end)) + 1)
            / (datediff('day', begindatum, einddatum) + 1)) AS BIGINT)
    END
FROM delivery
WHERE begindatum <= $period_end AND (einddatum IS NULL OR einddatum >= $period_start);
