-- docs/contract.md §11 voorziening:<code>: linked households per buurt (and kenmerk values, §9) that
-- have each delivered code.
SELECT g.* EXCLUDE (adres_nr, huishoudens), s.voorziening, count(*) AS aantal
FROM (SELECT DISTINCT huishouden, voorziening FROM linked WHERE huishouden IS NOT NULL) AS s
JOIN register AS g ON g.adres_nr = s.huishouden
GROUP BY ALL
ORDER BY ALL;
