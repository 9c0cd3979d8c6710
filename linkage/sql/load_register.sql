CREATE TABLE register AS
SELECT adres_pseudoniem, pand_pseudoniem, buurtcode, wijkcode, gemeentecode, huishoudens
FROM read_parquet($path);
