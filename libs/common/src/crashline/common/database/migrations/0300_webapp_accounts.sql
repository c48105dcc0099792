-- Webapp accounts: local users, their permissions, and API tokens (stored hashed).
CREATE TABLE IF NOT EXISTS permissions (
    name text PRIMARY KEY,
    description text NOT NULL
);
INSERT INTO permissions (name, description) VALUES
    ('view_pii', 'See protected crash data (protected fields, full crash JSON, comments)'),
    ('view_rawdump', 'Download minidumps and memory reports'),
    ('reprocess_crashes', 'Send crashes back to the processor'),
    ('upload_symbols', 'Upload symbol files'),
    ('admin', 'Manage users, permissions and the site')
ON CONFLICT (name) DO NOTHING;

CREATE TABLE IF NOT EXISTS users (
    id bigserial PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    email text,
    password_hash text,              -- NULL: cannot sign in with a password
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login timestamptz
);

CREATE TABLE IF NOT EXISTS user_permissions (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission text NOT NULL REFERENCES permissions (name),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, permission)
);

CREATE TABLE IF NOT EXISTS api_tokens (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash text NOT NULL UNIQUE,   -- sha256 hex of the key; the key itself is never stored
    key_prefix text NOT NULL,        -- first characters, to tell tokens apart in listings
    notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX IF NOT EXISTS api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE IF NOT EXISTS api_token_permissions (
    token_id bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    permission text NOT NULL REFERENCES permissions (name),
    PRIMARY KEY (token_id, permission)
);
