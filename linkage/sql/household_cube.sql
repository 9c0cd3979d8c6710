-- Households per buurt and profile (domain set, capped counts): small enough to aggregate in Python.
SELECT
    buurtcode,
    wijkcode,
    gemeentecode,
    domeinen,
    least(aantal_voorzieningen, $max_voorzieningen) AS voorzieningen,
    least(aantal_organisaties, $max_organisaties) AS organisaties,
    count(*) AS aantal
FROM households
GROUP BY ALL
ORDER BY ALL;
