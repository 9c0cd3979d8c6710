-- Per delivery file: its number, its partner's number, the partner, the key and its size.
CREATE TABLE deliveries (
    levering INTEGER NOT NULL,
    organisatie INTEGER NOT NULL,
    partner VARCHAR NOT NULL,
    key_id VARCHAR NOT NULL,
    records BIGINT NOT NULL
);
