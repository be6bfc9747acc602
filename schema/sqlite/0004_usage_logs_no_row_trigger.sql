-- PostgreSQL drops its foreign key on usage_logs.user_id here (a trigger per row). SQLite's
-- check is an index lookup of under 1 us a row, and dropping it would rebuild the table, so
-- SQLite keeps it: this migration only keeps the two dialects' lists alike.
SELECT 1;
