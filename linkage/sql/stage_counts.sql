SELECT
    (SELECT count(*) FROM register) AS register_adressen,
    (SELECT count(*) FROM records) AS records,
    (SELECT count(*) FROM records WHERE in_periode) AS records_in_periode,
    (SELECT count(*) FROM linked WHERE in_periode AND huishouden IS NOT NULL) AS records_gekoppeld,
    (SELECT count(*) FROM households) AS huishoudens_met_voorziening;
