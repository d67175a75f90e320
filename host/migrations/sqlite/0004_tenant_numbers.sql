-- Ids a tenant sees count only its own activity: each tenant numbers its events (the SSE id,
-- `Last-Event-ID`) and runs 1, 2, 3, ... from a counter row of its own, instead of sequences all
-- tenants share. The shared outbox position stays internal (the relay and the tail follow it).

CREATE TABLE tenant_counters (
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,  -- 'event' | 'run'
    value     INTEGER NOT NULL, -- the last number given out
    PRIMARY KEY (tenant_id, name)
);

ALTER TABLE outbox ADD COLUMN tenant_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plugin_runs ADD COLUMN number INTEGER NOT NULL DEFAULT 0;

-- Existing rows are numbered in their order, per tenant.
UPDATE outbox SET tenant_seq =
    (SELECT COUNT(*) FROM outbox AS o WHERE o.tenant_id = outbox.tenant_id AND o.seq <= outbox.seq);
UPDATE plugin_runs SET number =
    (SELECT COUNT(*) FROM plugin_runs AS r WHERE r.tenant_id = plugin_runs.tenant_id AND r.id <= plugin_runs.id);
INSERT INTO tenant_counters (tenant_id, name, value)
    SELECT tenant_id, 'event', MAX(tenant_seq) FROM outbox GROUP BY tenant_id;
INSERT INTO tenant_counters (tenant_id, name, value)
    SELECT tenant_id, 'run', MAX(number) FROM plugin_runs GROUP BY tenant_id;

CREATE UNIQUE INDEX outbox_tenant_seq ON outbox (tenant_id, tenant_seq);
CREATE UNIQUE INDEX plugin_runs_tenant_number ON plugin_runs (tenant_id, number);
DROP INDEX plugin_runs_tenant;
DROP INDEX outbox_tenant;
