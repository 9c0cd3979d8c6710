-- One row per household (linked register address) with at least one record in the period.
CREATE TABLE households AS
SELECT
    g.buurtcode,
    g.wijkcode,
    g.gemeentecode,
    array_to_string(list_sort(list_distinct(list(l.domein))), '+') AS domeinen,
    count(DISTINCT l.voorziening) AS aantal_voorzieningen,
    count(DISTINCT l.partner) AS aantal_organisaties
FROM linked AS l
JOIN register AS g ON g.adres_pseudoniem = l.huishouden
WHERE l.in_periode AND l.huishouden IS NOT NULL
GROUP BY l.huishouden, g.buurtcode, g.wijkcode, g.gemeentecode;
