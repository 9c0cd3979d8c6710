-- The size of one pseudonymised delivery (all its records, in the period or not).
INSERT INTO deliveries
SELECT $levering, $organisatie, $partner, $key_id, count(*)
FROM read_parquet($path);
