-- All delivered records of one run, with the partner they came from.
CREATE TABLE records (
    partner VARCHAR NOT NULL,
    key_id VARCHAR NOT NULL,
    adres_pseudoniem VARCHAR NOT NULL,
    pand_pseudoniem VARCHAR NOT NULL,
    voorziening VARCHAR NOT NULL,
    domein VARCHAR NOT NULL,
    begindatum DATE NOT NULL,
    einddatum DATE,
    in_periode BOOLEAN NOT NULL
);
