-- PostgreSQL turns its usage_logs timestamp index into a BRIN index here. SQLite has only B-tree
-- indexes, so it keeps its own: this migration only keeps the two dialects' lists alike.
SELECT 1;
