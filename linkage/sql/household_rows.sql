-- The linked households handed from linking to aggregation: no pseudonym, ordered by content only.
SELECT buurtcode, wijkcode, gemeentecode, domeinen, aantal_voorzieningen, aantal_organisaties
FROM households
ORDER BY ALL;
