-- Rows of a staged delivery that repeat an earlier row: same address pseudonym, voorziening and dates
-- (table `repeated`, delivery_repeated.sql). The first row (by file, then line) is kept; each later one
-- is named with it. `zelfde_bedrag`: the row repeats an earlier row in every field, `bedrag` included,
-- and counts once; otherwise its amount is added to the record's (docs/contract.md §12).
SELECT bron, regel, eerste_bron, eerste_regel, zelfde_bedrag
FROM repeated
WHERE bron <> eerste_bron OR regel <> eerste_regel
ORDER BY bron, regel
