-- The rows of a staged delivery (view `staging`) whose record has more than one row (same address
-- pseudonym, voorziening and dates), into the temporary table `repeated`: one hash aggregate finds
-- these few records, and only their rows are ordered, instead of every row of the delivery.
-- Per row: the first row of its record (by file, then line), which is kept; `zelfde_bedrag`: the row
-- repeats an earlier row of its record in `bedrag` too and counts once (docs/contract.md §12);
-- `bedrag_som`: the record's amount, the sum of its distinct amounts (null when no row has one).
CREATE TEMP TABLE repeated AS
WITH records AS (
    SELECT adres_pseudoniem, voorziening, begindatum, einddatum
    FROM staging
    GROUP BY adres_pseudoniem, voorziening, begindatum, einddatum
    HAVING count(*) > 1
),
amounts AS (
    SELECT s.*,
        row_number() OVER (
            PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum, bedrag ORDER BY bron, regel
        ) = 1 AS eerste_met_bedrag
    FROM staging AS s SEMI JOIN records AS r
        ON s.adres_pseudoniem = r.adres_pseudoniem AND s.voorziening = r.voorziening
        AND s.begindatum IS NOT DISTINCT FROM r.begindatum AND s.einddatum IS NOT DISTINCT FROM r.einddatum
)
SELECT bron, regel,
    first_value(bron) OVER record AS eerste_bron,
    first_value(regel) OVER record AS eerste_regel,
    NOT eerste_met_bedrag AS zelfde_bedrag,
    CAST(sum(bedrag) FILTER (WHERE eerste_met_bedrag) OVER record AS BIGINT) AS bedrag_som
FROM amounts
WINDOW record AS (
    PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum ORDER BY bron, regel
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
