-- Bug associations (written by the bug-tracker job, read by the Bugs APIs).
CREATE TABLE IF NOT EXISTS bug_associations (
    bug_id bigint NOT NULL,
    signature text NOT NULL,
    PRIMARY KEY (bug_id, signature)
);
CREATE INDEX IF NOT EXISTS bug_associations_signature ON bug_associations (signature);

-- Rate-limit counters, one row per client and fixed window, shared by every webapp worker.
-- Unlogged: losing counters in a crash only resets the limits.
CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_counters (
    client text NOT NULL,
    window_start timestamptz NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (client, window_start)
);

-- When each unprocessed crash was last put on the priority queue (at most once a minute).
CREATE TABLE IF NOT EXISTS priority_requests (
    crash_id text PRIMARY KEY,
    requested_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS priority_requests_requested_at ON priority_requests (requested_at);
