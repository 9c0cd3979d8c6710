SELECT buurtcode, wijkcode, gemeentecode, sum(huishoudens)::BIGINT AS huishoudens
FROM register
GROUP BY ALL
ORDER BY ALL;
