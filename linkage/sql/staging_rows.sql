-- Rows in a staged delivery (view `staging`).
SELECT count(*) FROM staging
