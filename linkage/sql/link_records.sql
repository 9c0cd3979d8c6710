-- docs/contract.md §7: link on the adres pseudonym; failing that on the pand pseudonym when exactly one
-- register address has it; otherwise the record stays unlinked. Only records in the period are
-- linked. A linked record carries the register's address number, never a pseudonym.
CREATE TABLE linked AS
WITH on_address AS (
    SELECT r.levering, r.organisatie, r.voorziening, r.domein, r.pand_pseudoniem, r.bedrag, a.adres_nr
    FROM records AS r
    LEFT JOIN (
        SELECT CAST(file_row_number AS INTEGER) AS adres_nr, adres_pseudoniem
        FROM read_parquet($register, file_row_number = true)
    ) AS a ON r.adres_pseudoniem = a.adres_pseudoniem
),
wanted_pand AS (
    SELECT DISTINCT pand_pseudoniem FROM on_address WHERE adres_nr IS NULL
),
unique_pand AS (
    -- Only the pand pseudonyms an unlinked record asks for are counted in the register.
    SELECT g.pand_pseudoniem, min(g.adres_nr) AS adres_nr
    FROM (
        SELECT CAST(file_row_number AS INTEGER) AS adres_nr, pand_pseudoniem
        FROM read_parquet($register, file_row_number = true)
    ) AS g
    SEMI JOIN wanted_pand AS w ON g.pand_pseudoniem = w.pand_pseudoniem
    GROUP BY g.pand_pseudoniem
    HAVING count(*) = 1
)
SELECT
    o.levering,
    o.organisatie,
    o.voorziening,
    o.domein,
    coalesce(o.adres_nr, p.adres_nr) AS huishouden,
    CASE
        WHEN o.adres_nr IS NOT NULL THEN 'adres'
        WHEN p.adres_nr IS NOT NULL THEN 'pand'
    END AS koppeling,
    o.bedrag
FROM on_address AS o
LEFT JOIN unique_pand AS p ON o.adres_nr IS NULL AND o.pand_pseudoniem = p.pand_pseudoniem;
