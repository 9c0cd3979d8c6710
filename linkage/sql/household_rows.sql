-- The linked households handed from linking to aggregation: no pseudonym, ordered by content only.
SELECT buurtcode, wijkcode, gemeentecode, domeinen, aantal_voorzieningen, aantal_organisaties,
    eerste_begindatum, samenloop_begin, laatste_einddatum
FROM households
ORDER BY ALL;
