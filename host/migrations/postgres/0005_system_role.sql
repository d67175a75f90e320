-- Work across tenants runs as its own role. Until now the service's role could enter "system
-- scope" by setting a variable (`set_config('app.scope', 'system')`), so one SQL injection in
-- a tenant's request could have read every tenant. Now the tenant-serving role `mandi_app` sees
-- only the rows of the tenant its transaction names, whatever it sets; the cross-tenant work
-- (tenant registry, API-key lookup, outbox relay and tail, run-history batches and pruning,
-- shared artifacts) connects as `mandi_system`, which the policies let through by role, not by
-- a setting anyone can change. Like `mandi_app`, the role is created by whoever provisions the
-- database (see README).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mandi_system') THEN
        RAISE EXCEPTION 'role mandi_system does not exist: create it first (CREATE ROLE mandi_system LOGIN)';
    END IF;
END
$$;

DO $$
DECLARE
    t TEXT;
    tenant_column TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'api_keys', 'products', 'nodes', 'stock', 'plugins',
                             'deployments', 'orders', 'reservations', 'outbox', 'plugin_runs',
                             'tenant_counters'] LOOP
        tenant_column := CASE WHEN t = 'tenants' THEN 'id' ELSE 'tenant_id' END;
        EXECUTE format('DROP POLICY tenant_isolation ON %I', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I
               USING (%I = current_setting(''app.tenant_id'', true))
               WITH CHECK (%I = current_setting(''app.tenant_id'', true))',
            t, tenant_column, tenant_column);
        EXECUTE format(
            'CREATE POLICY system_access ON %I TO mandi_system USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mandi_system;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mandi_system;

-- What only cross-tenant work does, the tenant-serving role may no longer do at all.
REVOKE ALL ON artifacts FROM mandi_app;
-- (UPDATE stays: a tenant's writers serialize on its row with SELECT ... FOR NO KEY UPDATE.)
REVOKE INSERT, DELETE ON tenants FROM mandi_app;
REVOKE INSERT, UPDATE, DELETE ON plugin_runs FROM mandi_app;
REVOKE UPDATE, DELETE ON outbox FROM mandi_app;
