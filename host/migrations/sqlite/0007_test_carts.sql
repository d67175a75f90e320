-- Each tenant's test carts: a cart and the outcome its quote must have (JSON), tried on every
-- deployment before it is made.
CREATE TABLE test_carts (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- What trying a deployment on the test carts found (JSON); NULL for rollbacks' re-activations
-- and deployments made before test carts.
ALTER TABLE deployments ADD COLUMN test_carts TEXT;
