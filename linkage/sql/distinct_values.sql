-- How many distinct voorzieningen and domains the linked records have (decides households_bitsets).
SELECT count(DISTINCT voorziening) AS voorzieningen, count(DISTINCT domein) AS domeinen
FROM linked;
