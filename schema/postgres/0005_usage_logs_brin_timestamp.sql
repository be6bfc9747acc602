-- Usage rows arrive in time order and are only read by time range (reports that cut an hour,
-- pruning), so the timestamp index can be a BRIN index: it keeps the time range of each run of
-- table pages and costs an insert almost nothing, where the B-tree took ~1.5-2 of the ~8 us of
-- PostgreSQL CPU each row cost (COPY of 1,024-row batches, measured in isolation). autosummarize
-- has autovacuum summarize each run of pages once it fills; a run not yet summarized is read
-- whole by a range scan. Restores load rows in time order too; rows out of order make range
-- scans read more pages, never give wrong answers.
DROP INDEX IF EXISTS usage_logs_timestamp;
CREATE INDEX usage_logs_timestamp ON usage_logs USING brin (timestamp) WITH (autosummarize = on);
