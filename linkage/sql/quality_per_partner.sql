-- kwaliteit.csv: per partner, the records of the period and how they linked.
SELECT
    partner,
    key_id,
    count(*) AS records,
    count(*) FILTER (WHERE in_periode) AS records_in_periode,
    count(*) FILTER (WHERE in_periode AND koppeling = 'adres') AS gekoppeld_adres,
    count(*) FILTER (WHERE in_periode AND koppeling = 'pand') AS gekoppeld_pand,
    count(*) FILTER (WHERE in_periode AND koppeling IS NULL) AS niet_gekoppeld
FROM linked
GROUP BY partner, key_id
ORDER BY partner, key_id;
