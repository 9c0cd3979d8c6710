-- Rows of a staged delivery (view `staging`) that repeat an earlier row: same address pseudonym,
-- voorziening and dates. The first row (by file, then line) is kept; each later one is named with it.
-- `zelfde_bedrag`: the row repeats an earlier row in every field, `bedrag` included, and counts once;
-- otherwise its amount is added to the record's (docs/contract.md §12).
SELECT bron, regel,
    first_value(bron) OVER duplicates AS eerste_bron,
    first_value(regel) OVER duplicates AS eerste_regel,
    row_number() OVER (
        PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum, bedrag ORDER BY bron, regel
    ) > 1 AS zelfde_bedrag
FROM staging
WINDOW duplicates AS (
    PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum ORDER BY bron, regel)
QUALIFY bron <> eerste_bron OR regel <> eerste_regel
ORDER BY bron, regel
