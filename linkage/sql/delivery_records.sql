-- The records of a staged delivery (view `staging`): one per address pseudonym, voorziening and dates
-- (the first row by file and line wins, with its alternative reading, docs/contract.md §3 step 8), in
-- pseudonym order so the file says nothing of the partner's order.
SELECT adres_pseudoniem, pand_pseudoniem, voorziening, domein, begindatum, einddatum, adres_pseudoniem_alt
FROM staging
QUALIFY row_number() OVER (
    PARTITION BY adres_pseudoniem, voorziening, begindatum, einddatum ORDER BY bron, regel) = 1
ORDER BY adres_pseudoniem, voorziening, begindatum, einddatum
