-- Register households per buurt (and per combination of kenmerk_<naam> values, docs/contract.md §9).
SELECT * EXCLUDE (adres_nr, huishoudens), sum(huishoudens)::BIGINT AS huishoudens
FROM register
GROUP BY ALL
ORDER BY ALL;
