-- households.sql with a household's distinct voorzieningen, organisations and domains kept as bit sets,
-- and its §10 dates (household_dates.sql) taken in the same pass over the linked records: the same result
-- in one grouping per household and domain instead of three. Only for runs with at most 126 distinct
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
per_domain AS (
    SELECT
        l.huishouden,
        d.bit AS domein_bit,
        bit_or(1::HUGEINT << s.bit) AS voorzieningen,
        bit_or(1::HUGEINT << l.organisatie::HUGEINT) AS organisaties,
        min(l.begindatum) AS begin,
        bool_and(l.einddatum IS NOT NULL) AS alle_einden,
        max(l.einddatum) AS laatste_einde
    FROM linked AS l
    JOIN services AS s USING (voorziening)
    JOIN domains AS d USING (domein)
    WHERE l.huishouden IS NOT NULL
    GROUP BY l.huishouden, d.bit
),
per_address AS (
    -- The dates of household_dates.sql: the earliest begindatum, the second earliest of the earliest
    -- begindatum per domain, and the latest einddatum when every record has one.
    SELECT
        huishouden,
        bit_or(voorzieningen) AS voorzieningen,
        bit_or(organisaties) AS organisaties,
        bit_or(1::HUGEINT << domein_bit) AS domein_bits,
        min(begin) AS eerste_begindatum,
        list_sort(list(begin))[2] AS samenloop_begin,
        CASE WHEN bool_and(alle_einden) THEN max(laatste_einde) END AS laatste_einddatum
    FROM per_domain
    GROUP BY huishouden
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
    h.eerste_begindatum,
    h.samenloop_begin,
    h.laatste_einddatum
FROM per_address AS h
JOIN domain_sets AS ds USING (domein_bits)
JOIN register AS g ON g.adres_nr = h.huishouden;
