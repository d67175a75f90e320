-- A shadow deployment (status 'shadow') runs beside the live one on a sampled share of live
-- checkouts, off the response path; this is its share, in percent. NULL for live deployments.
ALTER TABLE deployments ADD COLUMN sample_percent INTEGER;

-- What each sampled checkout found: the shadow's outcome against the live one.
CREATE TABLE shadow_runs (
    tenant_id       TEXT NOT NULL,
    deployment_id   TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    status          TEXT NOT NULL,  -- identical | different | failed
    live_total      INTEGER,
    shadow_total    INTEGER,
    delta           INTEGER NOT NULL,
    changes         TEXT NOT NULL,  -- JSON array of {path, live, candidate}
    failure         TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX shadow_runs_deployment ON shadow_runs (tenant_id, deployment_id, created_at);
CREATE INDEX shadow_runs_age ON shadow_runs (created_at);
