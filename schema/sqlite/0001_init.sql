-- The seed's four tables, extended with roles, key metadata, token split, concurrency and allowlists.
-- Times are INTEGER unix milliseconds (UTC); booleans are 0/1.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT UNIQUE NOT NULL,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_id TEXT UNIQUE NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT,
    key_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);

CREATE TABLE rate_limits (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    token_limit_hourly INTEGER,
    token_limit_daily INTEGER,
    request_limit_hourly INTEGER,
    request_limit_daily INTEGER,
    concurrency_limit INTEGER,
    updated_at INTEGER NOT NULL
);

-- No rows for a user: every model is allowed.
CREATE TABLE user_models (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    PRIMARY KEY (user_id, model)
);

-- user_name is kept so history survives the user's deletion.
CREATE TABLE usage_logs (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    user_name TEXT NOT NULL,
    key_id TEXT,
    timestamp INTEGER NOT NULL,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model_name TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    tokens_used INTEGER GENERATED ALWAYS AS (prompt_tokens + completion_tokens) STORED,
    request_duration REAL NOT NULL,
    status_code INTEGER NOT NULL
);
CREATE INDEX usage_logs_timestamp ON usage_logs (timestamp);
CREATE INDEX usage_logs_user_name_timestamp ON usage_logs (user_name, timestamp);

-- Bumped by every admin mutation; gateways poll it to drop cached principals.
CREATE TABLE revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);
