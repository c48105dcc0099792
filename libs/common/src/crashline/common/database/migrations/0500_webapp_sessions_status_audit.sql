-- Webapp sign-in sessions, the site-wide status message and the audit log of admin actions.

-- A signed-in browser: the cookie holds a random id, this table only its SHA-256, so a
-- database leak reveals no usable session. Deleting a row signs that browser out at once.
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL        -- sliding: pushed on by use, up to a hard limit
);
CREATE INDEX IF NOT EXISTS web_sessions_user_id ON web_sessions (user_id);
CREATE INDEX IF NOT EXISTS web_sessions_expires_at ON web_sessions (expires_at);

-- Banners shown on every page while enabled (the reference's status messages).
CREATE TABLE IF NOT EXISTS status_messages (
    id bigserial PRIMARY KEY,
    message text NOT NULL CHECK (length(message) BETWEEN 1 AND 2000),
    severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text
);
CREATE INDEX IF NOT EXISTS status_messages_enabled ON status_messages (created_at)
    WHERE enabled;

-- Who changed users, permissions, tokens or the site, and when. Actors and targets are kept
-- as names (not foreign keys), so the record outlives the accounts it names.
CREATE TABLE IF NOT EXISTS audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,                -- a username, or cli:<os user> for crashline admin
    action text NOT NULL,               -- user.create, user.grant, token.revoke, status.set...
    target text NOT NULL DEFAULT '',
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC);
