-- A counter that every change able to alter what an API token may do moves forward, in the
-- change's own transaction: revoked or expired early, permissions granted or taken away,
-- the user deactivated or renamed. Web workers keep the tokens they resolved in memory,
-- each with the counter's value it was resolved under, and trust one only while the
-- counter has not moved (crashline.webapp.auth.tokencache); they read the counter in the
-- statement that counts each API request against its rate limits, so a cached token costs
-- no round trip of its own and a revocation holds from the moment it commits.
-- Statement triggers, and no trigger on columns nobody's permissions depend on
-- (last_used_at, last_login, notes, password hashes).
CREATE TABLE IF NOT EXISTS account_generation (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation bigint NOT NULL
);
INSERT INTO account_generation (generation) VALUES (0) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION crashline_accounts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS accounts_changed ON users;
CREATE TRIGGER accounts_changed AFTER UPDATE OF is_active, username OR DELETE OR TRUNCATE
    ON users FOR EACH STATEMENT EXECUTE FUNCTION crashline_accounts_changed();

DROP TRIGGER IF EXISTS accounts_changed ON user_permissions;
CREATE TRIGGER accounts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON user_permissions FOR EACH STATEMENT EXECUTE FUNCTION crashline_accounts_changed();

DROP TRIGGER IF EXISTS accounts_changed ON api_tokens;
CREATE TRIGGER accounts_changed AFTER UPDATE OF expires_at, key_hash, user_id OR DELETE
    OR TRUNCATE ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION crashline_accounts_changed();

DROP TRIGGER IF EXISTS accounts_changed ON api_token_permissions;
CREATE TRIGGER accounts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON api_token_permissions FOR EACH STATEMENT EXECUTE FUNCTION crashline_accounts_changed();
