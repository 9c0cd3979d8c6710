-- docs/contract.md §7: link on the adres pseudonym; failing that on the alternative reading's adres
-- pseudonym (§3 step 8) when exactly one register address has it; failing that on the pand pseudonym
-- when exactly one register address has it; otherwise the record stays unlinked. Only records in the
-- period are linked. A linked record carries the register's address number, never a pseudonym.
CREATE TABLE linked AS
WITH on_address AS (
    SELECT r.levering, r.organisatie, r.voorziening, r.domein, r.pand_pseudoniem, r.adres_pseudoniem_alt,
        a.adres_nr, r.begindatum, r.einddatum, r.bedrag
    FROM records AS r
    LEFT JOIN (
        SELECT CAST(file_row_number AS INTEGER) AS adres_nr, adres_pseudoniem
        FROM read_parquet($register, file_row_number = true)
    ) AS a ON r.adres_pseudoniem = a.adres_pseudoniem
),
wanted_alternative AS (
    SELECT DISTINCT adres_pseudoniem_alt FROM on_address
    WHERE adres_nr IS NULL AND adres_pseudoniem_alt IS NOT NULL
),
unique_alternative AS (
    -- Only the alternative pseudonyms an unlinked record asks for are counted in the register.
    SELECT g.adres_pseudoniem, min(g.adres_nr) AS adres_nr
    FROM (
        SELECT CAST(file_row_number AS INTEGER) AS adres_nr, adres_pseudoniem
        FROM read_parquet($register, file_row_number = true)
    ) AS g
    SEMI JOIN wanted_alternative AS w ON g.adres_pseudoniem = w.adres_pseudoniem_alt
    GROUP BY g.adres_pseudoniem
    HAVING count(*) = 1
),
on_alternative AS (
    SELECT o.levering, o.organisatie, o.voorziening, o.domein, o.pand_pseudoniem, o.adres_nr,
        u.adres_nr AS alternatief_nr, o.begindatum, o.einddatum, o.bedrag
    FROM on_address AS o
    LEFT JOIN unique_alternative AS u
        ON o.adres_nr IS NULL AND o.adres_pseudoniem_alt = u.adres_pseudoniem
),
wanted_pand AS (
    SELECT DISTINCT pand_pseudoniem FROM on_alternative WHERE adres_nr IS NULL AND alternatief_nr IS NULL
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
    coalesce(o.adres_nr, o.alternatief_nr, p.adres_nr) AS huishouden,
    CASE
        WHEN o.adres_nr IS NOT NULL THEN 'adres'
        WHEN o.alternatief_nr IS NOT NULL THEN 'alternatief'
        WHEN p.adres_nr IS NOT NULL THEN 'pand'
    END AS koppeling,
    o.begindatum,
    o.einddatum,
    o.bedrag
FROM on_alternative AS o
LEFT JOIN unique_pand AS p
    ON o.adres_nr IS NULL AND o.alternatief_nr IS NULL AND o.pand_pseudoniem = p.pand_pseudoniem;
