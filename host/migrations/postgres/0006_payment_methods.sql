-- Each tenant's payment methods, in the order shoppers are offered them; a payment plugin may
-- hide, rename or reorder them per checkout.
CREATE TABLE payment_methods (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    position  BIGINT NOT NULL,
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE payment_methods ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_methods FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payment_methods
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON payment_methods TO mandi_app;
CREATE POLICY system_access ON payment_methods TO mandi_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON payment_methods TO mandi_system;
