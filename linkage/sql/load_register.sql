-- The register's areas per address number (the row number in the register file). The pseudonyms
-- themselves stay in the Parquet file: linking reads them from there once and keeps only numbers.
-- Any kenmerk_<naam> columns (docs/contract.md §9) come along after huishoudens.
CREATE TABLE register AS
SELECT
    CAST(file_row_number AS INTEGER) AS adres_nr,
    buurtcode,
    wijkcode,
    gemeentecode,
    huishoudens,
    * EXCLUDE (file_row_number, adres_pseudoniem, pand_pseudoniem, buurtcode, wijkcode, gemeentecode, huishoudens)
FROM read_parquet($path, file_row_number = true);
