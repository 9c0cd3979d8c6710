-- One row per household (linked register address) with at least one record in the period.
CREATE TABLE households AS
WITH per_address AS (
    SELECT
        huishouden,
        array_to_string(list_sort(list_distinct(list(domein))), '+') AS domeinen,
        count(DISTINCT voorziening) AS aantal_voorzieningen,
        count(DISTINCT organisatie) AS aantal_organisaties
    FROM linked
    WHERE huishouden IS NOT NULL
    GROUP BY huishouden
)
SELECT g.* EXCLUDE (adres_nr, huishoudens), h.domeinen, h.aantal_voorzieningen, h.aantal_organisaties,
    t.eerste_begindatum, t.samenloop_begin, t.laatste_einddatum
FROM per_address AS h
JOIN register AS g ON g.adres_nr = h.huishouden
JOIN household_dates AS t ON t.huishouden = h.huishouden;
