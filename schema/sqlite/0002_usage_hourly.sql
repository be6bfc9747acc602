-- Hourly rollups: reports stay fast and history survives pruning of raw usage rows.
-- hour is unix milliseconds at the start of the hour; model is '' when the request named none.
CREATE TABLE usage_hourly (
    hour INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    requests INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    PRIMARY KEY (hour, user_name, model, endpoint)
);
CREATE INDEX usage_hourly_user_name_hour ON usage_hourly (user_name, hour);
