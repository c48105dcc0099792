-- The crontabber's runner: one row per job (its schedule state and its lock), and a log of
-- every run.
CREATE TABLE IF NOT EXISTS cron_jobs (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL,
    next_run timestamptz NOT NULL,      -- due once this has passed
    last_run timestamptz,               -- when a run last ended, successful or not
    last_success timestamptz,           -- the slot of the last successful run
    error_count integer NOT NULL DEFAULT 0,   -- failures in a row; 0 after a success
    last_error jsonb,                   -- {type, value, traceback, slot, at} of the last failure
    last_result jsonb,                  -- what the last successful run reported
    ongoing timestamptz,                -- the lock: when its holder last said it is alive
    ongoing_by text                     -- who holds it: host, pid and a token per claim
);

CREATE TABLE IF NOT EXISTS cron_log (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    slot timestamptz NOT NULL,          -- the run time the job was run for
    started_at timestamptz NOT NULL,
    duration double precision NOT NULL, -- seconds
    success boolean NOT NULL,
    result jsonb,
    exc_type text,
    exc_value text,
    traceback text
);
CREATE INDEX IF NOT EXISTS cron_log_name_started ON cron_log (name, started_at DESC);
CREATE INDEX IF NOT EXISTS cron_log_started ON cron_log (started_at);

-- Crashes stored but found unprocessed or unindexed by verify-processed, and queued again;
-- is_processed turns true once a later run finds them in both places.
CREATE TABLE IF NOT EXISTS missing_processed_crashes (
    crash_id text PRIMARY KEY,
    is_processed boolean NOT NULL DEFAULT false,
    created timestamptz NOT NULL DEFAULT now(),
    missing text[] NOT NULL,            -- what was missing when found: processed, indexed
    checked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS missing_processed_crashes_open
    ON missing_processed_crashes (is_processed, created);

-- Failed crashes the failed-crashes job has sent back to be processed, so that a crash
-- whose transient failure keeps coming back is requeued a bounded number of times.
CREATE TABLE IF NOT EXISTS failed_crash_requeues (
    crash_id text PRIMARY KEY,
    requeues integer NOT NULL,
    last_requeued_at timestamptz NOT NULL,
    last_reason text NOT NULL
);

-- The ledger: per closed hour, crashes received (collector receipts), stored (raw crash),
-- processed (processed crash) and indexed (search document), and the crash ids behind
-- every difference (at most CRASHLINE_CRONTABBER_LEDGER_MAX_IDS of each kind per hour).
CREATE TABLE IF NOT EXISTS ledger_hours (
    hour timestamptz PRIMARY KEY,
    received integer NOT NULL,
    stored integer NOT NULL,
    deferred integer NOT NULL,          -- stored, not meant to be processed (throttle DEFER)
    processed integer NOT NULL,
    indexed integer NOT NULL,
    differences jsonb NOT NULL,         -- {kind: number of crashes}
    balanced boolean NOT NULL,
    counted_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_hours_unbalanced ON ledger_hours (hour) WHERE NOT balanced;

CREATE TABLE IF NOT EXISTS ledger_differences (
    hour timestamptz NOT NULL REFERENCES ledger_hours (hour) ON DELETE CASCADE,
    kind text NOT NULL,
    crash_id text NOT NULL,
    PRIMARY KEY (hour, kind, crash_id)
);
