SELECT
    (SELECT count(*) FROM register) AS register_adressen,
    (SELECT coalesce(sum(records), 0)::BIGINT FROM deliveries) AS records,
    (SELECT count(*) FROM records) AS records_in_periode,
    (SELECT count(*) FROM linked WHERE huishouden IS NOT NULL) AS records_gekoppeld,
    (SELECT count(*) FROM households) AS huishoudens_met_voorziening;
