-- Per linked household with a record in the period: its area (and kenmerk_<naam> values, §9), its domain
-- set and the sum of the amounts of its records (eurocent; a record without an amount adds nothing).
-- No pseudonym; ordered by content.
-- The amounts stay inside the run: only protected sums per area leave it (disclosure/magnitude.py).
SELECT g.* EXCLUDE (adres_nr, huishoudens), h.domeinen, h.bedrag, h.records_met_bedrag
FROM (
    SELECT
        huishouden,
        array_to_string(list_sort(list_distinct(list(domein))), '+') AS domeinen,
        coalesce(sum(bedrag), 0)::BIGINT AS bedrag,
        count(bedrag) AS records_met_bedrag
    FROM linked
    WHERE huishouden IS NOT NULL
    GROUP BY huishouden
) AS h
JOIN register AS g ON g.adres_nr = h.huishouden
ORDER BY ALL;
