-- Products seen in crash reports; the processor adds them, the webapp lists them.
CREATE TABLE IF NOT EXISTS products (
    name text PRIMARY KEY,
    first_seen timestamptz NOT NULL DEFAULT now(),
    sort_order integer NOT NULL DEFAULT 100
);
