-- Hourly rollups: reports stay fast and history survives pruning of raw usage rows.
-- model is '' when the request named none, so it can be part of the key.
CREATE TABLE usage_hourly (
    hour TIMESTAMPTZ NOT NULL,
    user_name TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    requests BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    PRIMARY KEY (hour, user_name, model, endpoint)
);
CREATE INDEX usage_hourly_user_name_hour ON usage_hourly (user_name, hour);
