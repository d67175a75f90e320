-- A shadow deployment (status 'shadow') runs beside the live one on a sampled share of live
-- checkouts, off the response path; this is its share, in percent. NULL for live deployments.
ALTER TABLE deployments ADD COLUMN sample_percent BIGINT;

-- What each sampled checkout found: the shadow's outcome against the live one.
CREATE TABLE shadow_runs (
    tenant_id       TEXT NOT NULL,
    deployment_id   TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    status          TEXT NOT NULL,  -- identical | different | failed
    live_total      BIGINT,
    shadow_total    BIGINT,
    delta           BIGINT NOT NULL,
    changes         TEXT NOT NULL,  -- JSON array of {path, live, candidate}
    failure         TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX shadow_runs_deployment ON shadow_runs (tenant_id, deployment_id, created_at);
CREATE INDEX shadow_runs_age ON shadow_runs (created_at);

ALTER TABLE shadow_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE shadow_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shadow_runs
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT ON shadow_runs TO mandi_app;
CREATE POLICY system_access ON shadow_runs TO mandi_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON shadow_runs TO mandi_system;
