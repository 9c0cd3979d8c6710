-- The linked households handed from linking to aggregation: no pseudonym, ordered by content only.
-- Columns: buurtcode, wijkcode, gemeentecode, any kenmerk_<naam>, then the household's profile and dates.
SELECT *
FROM households
ORDER BY ALL;
