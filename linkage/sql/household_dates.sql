-- Per linked household, the dates of docs/contract.md §10 over its records in the period: the earliest
-- begindatum, the start of samenloop (the second earliest of the earliest begindatum per domain; NULL
-- with one domain) and the latest einddatum when every record has one (NULL when one is still open).
CREATE TABLE household_dates AS
WITH per_domain AS (
    SELECT huishouden, domein, min(begindatum) AS begin
    FROM linked
    WHERE huishouden IS NOT NULL
    GROUP BY ALL
),
starts AS (
    SELECT huishouden, min(begin) AS eerste_begindatum, list_sort(list(begin))[2] AS samenloop_begin
    FROM per_domain
    GROUP BY huishouden
),
ends AS (
    SELECT huishouden, CASE WHEN bool_and(einddatum IS NOT NULL) THEN max(einddatum) END AS laatste_einddatum
    FROM linked
    WHERE huishouden IS NOT NULL
    GROUP BY huishouden
)
SELECT s.huishouden, s.eerste_begindatum, s.samenloop_begin, e.laatste_einddatum
FROM starts AS s
JOIN ends AS e USING (huishouden);
