-- CONTRACT §7: link on the adres pseudonym; failing that on the pand pseudonym when exactly one
-- register address has it; otherwise the record stays unlinked.
CREATE TABLE linked AS
WITH unique_pand AS (
    SELECT pand_pseudoniem, any_value(adres_pseudoniem) AS adres_pseudoniem
    FROM register
    GROUP BY pand_pseudoniem
    HAVING count(*) = 1
)
SELECT
    r.partner,
    r.key_id,
    r.voorziening,
    r.domein,
    r.in_periode,
    coalesce(a.adres_pseudoniem, p.adres_pseudoniem) AS huishouden,
    CASE
        WHEN a.adres_pseudoniem IS NOT NULL THEN 'adres'
        WHEN p.adres_pseudoniem IS NOT NULL THEN 'pand'
    END AS koppeling
FROM records AS r
LEFT JOIN register AS a ON r.adres_pseudoniem = a.adres_pseudoniem
LEFT JOIN unique_pand AS p ON a.adres_pseudoniem IS NULL AND r.pand_pseudoniem = p.pand_pseudoniem;
