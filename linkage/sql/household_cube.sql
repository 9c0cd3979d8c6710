-- Households per buurt (and kenmerk values) and profile (domain set, capped counts, and the §10 classes against the period):
-- small enough to aggregate in Python. duur: 0 = samenloop < 365 days at the period end, 1 = 365-729,
-- 2 = 730 or more, -1 = no samenloop.
SELECT
    * EXCLUDE (domeinen, aantal_voorzieningen, aantal_organisaties, eerste_begindatum, samenloop_begin,
               laatste_einddatum),
    domeinen,
    least(aantal_voorzieningen, $max_voorzieningen) AS voorzieningen,
    least(aantal_organisaties, $max_organisaties) AS organisaties,
    eerste_begindatum >= $period_start AS instroom,
    coalesce(samenloop_begin >= $period_start, false) AS instroom_samenloop,
    coalesce(laatste_einddatum <= $period_end, false) AS uitstroom,
    CASE
        WHEN samenloop_begin IS NULL THEN -1
        WHEN datediff('day', samenloop_begin, $period_end) < 365 THEN 0
        WHEN datediff('day', samenloop_begin, $period_end) < 730 THEN 1
        ELSE 2
    END AS duur,
    count(*) AS aantal
FROM households
GROUP BY ALL
ORDER BY ALL;
