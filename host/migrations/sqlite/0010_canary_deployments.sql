-- A canary deployment (status 'canary') serves `sample_percent` of its hook's checkouts (sticky
-- per customer or cart) and is rolled back by the platform when its failure rate or p99 exceeds
-- the live version's by these rules (JSON); NULL for other deployments.
ALTER TABLE deployments ADD COLUMN canary TEXT;

-- The canary watch reads a deployment's recent calls every second.
CREATE INDEX plugin_runs_deployment ON plugin_runs (tenant_id, deployment_id, number);
