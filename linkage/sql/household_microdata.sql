-- huishoudens.parquet: no pseudonym; ordered by content only, then shuffled by the caller.
SELECT buurtcode, wijkcode, domeinen, aantal_voorzieningen, aantal_organisaties
FROM households
ORDER BY ALL;
