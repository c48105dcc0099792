-- Written by the processor for every crash it saves (idempotent upserts).

-- Every signature ever seen, with the earliest submission date and build id. Both only ever
-- move earlier (LEAST), so replays and concurrent workers cannot push them later.
CREATE TABLE IF NOT EXISTS signatures (
    signature text PRIMARY KEY,
    first_date timestamptz NOT NULL,
    first_build bigint
);
CREATE INDEX IF NOT EXISTS signatures_first_date_idx ON signatures (first_date);

-- Versions and release channels seen per product, first and last submission dates.
CREATE TABLE IF NOT EXISTS product_versions (
    product text NOT NULL REFERENCES products (name),
    version text NOT NULL,
    release_channel text NOT NULL DEFAULT '',
    first_date timestamptz NOT NULL,
    last_date timestamptz NOT NULL,
    PRIMARY KEY (product, version, release_channel)
);
CREATE INDEX IF NOT EXISTS product_versions_last_date_idx ON product_versions (product, last_date);
