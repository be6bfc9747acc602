-- The seed's four tables, extended with roles, key metadata, token split, concurrency and allowlists.

CREATE TABLE users (
    id UUID PRIMARY KEY,
    username VARCHAR(255) UNIQUE NOT NULL,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    key_id TEXT UNIQUE NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT,
    key_hash VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);

-- Token limits are BIGINT: a daily budget can pass 2^31 tokens on a busy box.
CREATE TABLE rate_limits (
    user_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    token_limit_hourly BIGINT,
    token_limit_daily BIGINT,
    request_limit_hourly INTEGER,
    request_limit_daily INTEGER,
    concurrency_limit INTEGER,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- No rows for a user: every model is allowed.
CREATE TABLE user_models (
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    PRIMARY KEY (user_id, model)
);

-- user_name is kept so history survives the user's deletion.
CREATE TABLE usage_logs (
    id UUID PRIMARY KEY,
    user_id UUID REFERENCES users(id) ON DELETE SET NULL,
    user_name TEXT NOT NULL,
    key_id TEXT,
    timestamp TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    method TEXT NOT NULL,
    endpoint VARCHAR(255) NOT NULL,
    model_name VARCHAR(255),
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    tokens_used INTEGER GENERATED ALWAYS AS (prompt_tokens + completion_tokens) STORED,
    request_duration DOUBLE PRECISION NOT NULL,
    status_code INTEGER NOT NULL
);
CREATE INDEX usage_logs_timestamp ON usage_logs (timestamp);
CREATE INDEX usage_logs_user_name_timestamp ON usage_logs (user_name, timestamp);

-- Bumped by every admin mutation; gateways poll it to drop cached principals.
CREATE TABLE revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);
