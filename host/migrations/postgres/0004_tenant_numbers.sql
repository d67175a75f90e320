-- Ids a tenant sees count only its own activity. Event ids (the SSE id, `Last-Event-ID`) and
-- run ids came from sequences all tenants share, so one tenant could measure another's order
-- volume from the gaps. Each tenant now numbers its events and runs 1, 2, 3, ... from a counter
-- row of its own; the shared outbox position stays internal (the relay and the tail follow it).

CREATE TABLE tenant_counters (
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,  -- 'event' | 'run'
    value     BIGINT NOT NULL, -- the last number given out
    PRIMARY KEY (tenant_id, name)
);

ALTER TABLE outbox ADD COLUMN tenant_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE plugin_runs ADD COLUMN number BIGINT NOT NULL DEFAULT 0;

-- Existing rows are numbered in their order, per tenant. The owner running this is subject to
-- the forced row-level security like everyone else, so it is lifted for the renumbering only.
ALTER TABLE outbox NO FORCE ROW LEVEL SECURITY;
ALTER TABLE plugin_runs NO FORCE ROW LEVEL SECURITY;
UPDATE outbox SET tenant_seq = numbered.n
FROM (SELECT seq, row_number() OVER (PARTITION BY tenant_id ORDER BY seq) AS n FROM outbox) AS numbered
WHERE outbox.seq = numbered.seq;
UPDATE plugin_runs SET number = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS n FROM plugin_runs) AS numbered
WHERE plugin_runs.id = numbered.id;
INSERT INTO tenant_counters (tenant_id, name, value)
    SELECT tenant_id, 'event', MAX(tenant_seq) FROM outbox GROUP BY tenant_id;
INSERT INTO tenant_counters (tenant_id, name, value)
    SELECT tenant_id, 'run', MAX(number) FROM plugin_runs GROUP BY tenant_id;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
ALTER TABLE plugin_runs FORCE ROW LEVEL SECURITY;

CREATE UNIQUE INDEX outbox_tenant_seq ON outbox (tenant_id, tenant_seq);
CREATE UNIQUE INDEX plugin_runs_tenant_number ON plugin_runs (tenant_id, number);
DROP INDEX plugin_runs_tenant;
DROP INDEX outbox_tenant;

ALTER TABLE tenant_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_counters
    USING (tenant_id = current_setting('app.tenant_id', true)
           OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true)
                OR current_setting('app.scope', true) = 'system');
GRANT SELECT, INSERT, UPDATE ON tenant_counters TO mandi_app;
