-- The records of a staged delivery (view `staging`): one per address pseudonym, voorziening and dates
-- (the first row by file and line wins, with its alternative reading, docs/contract.md §3 step 8), in
-- pseudonym order so the file says nothing of the partner's order.
-- `bedrag` (docs/contract.md §12): rows equal in every field count once; rows that differ only in
-- `bedrag` are one record with the sum of their amounts; null when no row of the record has one.
WITH amounts AS (
    SELECT *,
        row_number() OVER (
            PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum, bedrag ORDER BY bron, regel
        ) = 1 AS eerste_met_bedrag
    FROM staging
),
summed AS (
    SELECT *,
        sum(bedrag) FILTER (WHERE eerste_met_bedrag) OVER record AS bedrag_som,
        row_number() OVER (record ORDER BY bron, regel) AS rang
    FROM amounts
    WINDOW record AS (PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum)
)
SELECT adres_pseudoniem, pand_pseudoniem, voorziening, domein, begindatum, einddatum, adres_pseudoniem_alt,
    CAST(bedrag_som AS BIGINT) AS bedrag
FROM summed
WHERE rang = 1
ORDER BY adres_pseudoniem, voorziening, begindatum, einddatum
