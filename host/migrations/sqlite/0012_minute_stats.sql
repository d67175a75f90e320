-- Each tenant's quotes and hook calls by the minute, for the console: every node writes its own
-- row per tenant, hook and minute (so two nodes never write one row), the reader sums them.
-- `hook` is a hook's name, or 'quote' for whole quotes. Pruned with run history.
CREATE TABLE minute_stats (
    tenant_id  TEXT NOT NULL,
    hook       TEXT NOT NULL,
    minute     BIGINT NOT NULL,  -- Unix ms at the minute's start
    node       TEXT NOT NULL,
    calls      BIGINT NOT NULL,
    failed     BIGINT NOT NULL,  -- failures: timeouts, traps, limits, invalid output
    rejected   BIGINT NOT NULL,  -- refusals the plugin chose (its error): business rules
    degraded   BIGINT NOT NULL,  -- calls that failed and were skipped (fail-open)
    durations  TEXT NOT NULL,    -- JSON: [[bucket, count], ...] of a log-scale histogram
    PRIMARY KEY (tenant_id, hook, minute, node)
);
CREATE INDEX minute_stats_minute ON minute_stats (minute);
