-- docs/contract.md §11 voorziening:<code>: linked households per buurt that have each delivered code.
SELECT g.buurtcode, g.wijkcode, g.gemeentecode, s.voorziening, count(*) AS aantal
FROM (SELECT DISTINCT huishouden, voorziening FROM linked WHERE huishouden IS NOT NULL) AS s
JOIN register AS g ON g.adres_nr = s.huishouden
GROUP BY ALL
ORDER BY ALL;
