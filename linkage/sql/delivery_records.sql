-- The records of a staged delivery (view `staging`, table `repeated` from delivery_repeated.sql): one per
-- address pseudonym, voorziening and dates (the first row by file and line wins, with its alternative
-- reading, docs/contract.md §3 step 8), in pseudonym order so the file says nothing of the partner's order.
-- `bedrag` (docs/contract.md §12): rows equal in every field count once; rows that differ only in
-- `bedrag` are one record with the sum of their amounts; null when no row of the record has one.
-- A row not in `repeated` is a record on its own, with its own amount.
SELECT s.adres_pseudoniem, s.pand_pseudoniem, s.voorziening, s.domein, s.begindatum, s.einddatum,
    s.adres_pseudoniem_alt,
    CASE WHEN r.bron IS NULL THEN CAST(s.bedrag AS BIGINT) ELSE r.bedrag_som END AS bedrag
FROM staging AS s LEFT JOIN repeated AS r ON s.bron = r.bron AND s.regel = r.regel
WHERE r.bron IS NULL OR (r.bron = r.eerste_bron AND r.regel = r.eerste_regel)
ORDER BY s.adres_pseudoniem, s.voorziening, s.begindatum, s.einddatum
