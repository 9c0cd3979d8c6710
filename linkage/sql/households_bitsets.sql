-- households.sql with a household's distinct voorzieningen, organisations and domains kept as bit sets:
-- the same result, four times faster than DISTINCT aggregates. Only for runs with at most 126 distinct
-- voorzieningen, organisations and domains (one HUGEINT bit each); linking.py checks that first.
CREATE TABLE households AS
WITH services AS (
    SELECT voorziening, (row_number() OVER (ORDER BY voorziening) - 1)::HUGEINT AS bit
    FROM (SELECT DISTINCT voorziening FROM linked)
),
domains AS (
    SELECT domein, (row_number() OVER (ORDER BY domein) - 1)::HUGEINT AS bit
    FROM (SELECT DISTINCT domein FROM linked)
),
per_address AS (
    SELECT
        l.huishouden,
        bit_or(1::HUGEINT << s.bit) AS voorzieningen,
        bit_or(1::HUGEINT << l.organisatie::HUGEINT) AS organisaties,
        bit_or(1::HUGEINT << d.bit) AS domein_bits
    FROM linked AS l
    JOIN services AS s USING (voorziening)
    JOIN domains AS d USING (domein)
    WHERE l.huishouden IS NOT NULL
    GROUP BY l.huishouden
),
domain_sets AS (
    SELECT b.domein_bits, string_agg(d.domein, '+' ORDER BY d.domein) AS domeinen
    FROM (SELECT DISTINCT domein_bits FROM per_address) AS b
    JOIN domains AS d ON (b.domein_bits >> d.bit) & 1 = 1
    GROUP BY b.domein_bits
)
SELECT
    g.* EXCLUDE (adres_nr, huishoudens),
    ds.domeinen,
    bit_count(h.voorzieningen)::BIGINT AS aantal_voorzieningen,
    bit_count(h.organisaties)::BIGINT AS aantal_organisaties,
    t.eerste_begindatum,
    t.samenloop_begin,
    t.laatste_einddatum
FROM per_address AS h
JOIN domain_sets AS ds USING (domein_bits)
JOIN register AS g ON g.adres_nr = h.huishouden
JOIN household_dates AS t ON t.huishouden = h.huishouden;
