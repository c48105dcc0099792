-- Symbol files in the store (crash storage, under v1/symbols/), one row per file, written
-- by uploads. What arrived when is what the reprocessing of crashes that missed it needs.
CREATE TABLE IF NOT EXISTS symbol_files (
    debug_file text NOT NULL,
    debug_id text NOT NULL,
    os text NOT NULL,
    arch text NOT NULL,
    size bigint NOT NULL,
    crc32 bigint NOT NULL,
    -- When this content arrived (its first upload, or one that changed it).
    uploaded_at timestamptz NOT NULL,
    uploaded_by text,
    -- When the crashes that missed it were last looked for (NULL: not yet).
    scanned_at timestamptz,
    PRIMARY KEY (debug_file, debug_id)
);
CREATE INDEX IF NOT EXISTS symbol_files_unscanned ON symbol_files (uploaded_at)
    WHERE scanned_at IS NULL;

-- Crashes to reprocess because symbols they missed have arrived: found in the search engine,
-- then put on the reprocessing queue a few at a time, only while no fresh crash waits.
CREATE TABLE IF NOT EXISTS symbol_reprocessing (
    crash_id text NOT NULL,
    module text NOT NULL,  -- <debug_file>/<debug_id> of the symbols that arrived
    found_at timestamptz NOT NULL,
    queued_at timestamptz,
    PRIMARY KEY (crash_id, module)
);
CREATE INDEX IF NOT EXISTS symbol_reprocessing_waiting ON symbol_reprocessing (found_at)
    WHERE queued_at IS NULL;
CREATE INDEX IF NOT EXISTS symbol_reprocessing_queued ON symbol_reprocessing (queued_at)
    WHERE queued_at IS NOT NULL;
