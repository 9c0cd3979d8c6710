-- kwaliteit.csv: per partner, its records, those in the period, how they linked (docs/contract.md §7:
-- adres, alternatief, pand or not at all) and how many of those in the period have an amount (§12).
WITH delivered AS (
    SELECT partner, key_id, sum(records)::BIGINT AS records
    FROM deliveries
    GROUP BY partner, key_id
),
in_period AS (
    SELECT
        d.partner,
        d.key_id,
        count(*) AS records_in_periode,
        count(*) FILTER (WHERE l.koppeling = 'adres') AS gekoppeld_adres,
        count(*) FILTER (WHERE l.koppeling = 'alternatief') AS gekoppeld_alternatief,
        count(*) FILTER (WHERE l.koppeling = 'pand') AS gekoppeld_pand,
        count(*) FILTER (WHERE l.koppeling IS NULL) AS niet_gekoppeld,
        count(l.bedrag) AS records_met_bedrag
    FROM linked AS l
    JOIN deliveries AS d USING (levering)
    GROUP BY d.partner, d.key_id
)
SELECT
    d.partner,
    d.key_id,
    d.records,
    coalesce(p.records_in_periode, 0) AS records_in_periode,
    coalesce(p.gekoppeld_adres, 0) AS gekoppeld_adres,
    coalesce(p.gekoppeld_alternatief, 0) AS gekoppeld_alternatief,
    coalesce(p.gekoppeld_pand, 0) AS gekoppeld_pand,
    coalesce(p.niet_gekoppeld, 0) AS niet_gekoppeld,
    coalesce(p.records_met_bedrag, 0) AS records_met_bedrag
FROM delivered AS d
LEFT JOIN in_period AS p USING (partner, key_id)
ORDER BY d.partner, d.key_id;
