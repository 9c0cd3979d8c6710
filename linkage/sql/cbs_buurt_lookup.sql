-- The CBS buurt per register row (pipelines/intake/cbs_buurten.py): the pc6hnr table is streamed once and
-- joined on postcode + huisnummer to the register's pand keys (`POSTCODE|huisnummer`).
-- Codes without prefix become BU…; a code that a program stored as a number gets its leading zeros back.
-- `buurten` > 1 means the CBS table gives this address more than one buurt.
WITH cbs AS (
    SELECT
        upper(replace(trim(pc6), ' ', '')) || '|' || ltrim(trim(huisnummer), '0') AS pand,
        upper(trim(buurt)) AS code
    FROM read_csv($path, delim = $delim, header = false, skip = 1, all_varchar = true, names = $names,
                  quote = '"', null_padding = true)
)
SELECT
    r.nr,
    CASE
        WHEN min(cbs.code) IS NULL THEN NULL
        WHEN regexp_full_match(min(cbs.code), '[0-9]{1,8}') THEN 'BU' || lpad(min(cbs.code), 8, '0')
        WHEN starts_with(min(cbs.code), 'BU') THEN min(cbs.code)
        ELSE 'BU' || min(cbs.code)
    END AS buurt,
    count(DISTINCT cbs.code) AS buurten
FROM register_pand AS r
LEFT JOIN cbs ON cbs.pand = r.pand
GROUP BY r.nr
ORDER BY r.nr
