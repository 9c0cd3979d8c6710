-- huishoudens.parquet: no pseudonym; ordered by content only, then shuffled by the caller.
SELECT * EXCLUDE (gemeentecode, eerste_begindatum, samenloop_begin, laatste_einddatum)
FROM households
ORDER BY ALL;
