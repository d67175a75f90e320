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

ALTER TABLE minute_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE minute_stats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON minute_stats
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON minute_stats TO mandi_app;
CREATE POLICY system_access ON minute_stats TO mandi_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON minute_stats TO mandi_system;
