-- Each tenant's test carts: a cart and the outcome its quote must have (JSON), tried on every
-- deployment before it is made.
CREATE TABLE test_carts (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

ALTER TABLE test_carts ENABLE ROW LEVEL SECURITY;
ALTER TABLE test_carts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON test_carts
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON test_carts TO mandi_app;
CREATE POLICY system_access ON test_carts TO mandi_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON test_carts TO mandi_system;

-- What trying a deployment on the test carts found (JSON); NULL for deployments made before
-- test carts.
ALTER TABLE deployments ADD COLUMN test_carts TEXT;
