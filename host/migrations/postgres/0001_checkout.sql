-- Mandi's checkout service on PostgreSQL: the same tables as the SQLite schema, plus row-level
-- security. Run by the schema owner; the service connects as `mandi_app`, a role that owns
-- nothing, is no superuser and cannot bypass RLS. Every transaction of the service sets
-- `app.tenant_id` (one tenant's work) or `app.scope = 'system'` (work across tenants: the outbox
-- relay, run-history batches and pruning, API-key lookup, the tenant registry) with
-- set_config(..., true), so a query that forgot its tenant filter still sees one tenant's rows.
-- Integers are BIGINT and flags BIGINT 0/1 so both backends read them alike.

CREATE TABLE tenants (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    currency           TEXT NOT NULL,
    time_zone          TEXT NOT NULL,
    utc_offset_minutes BIGINT NOT NULL,
    created_at         BIGINT NOT NULL
);

-- A key is shown once as `mk_<key_id>_<secret>`; only the secret's SHA-256 is kept.
CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    secret_hash BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE products (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    sku         TEXT NOT NULL,
    title       TEXT NOT NULL,
    price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
    currency    TEXT NOT NULL,
    category    TEXT NOT NULL,
    brand       TEXT NOT NULL,
    tags        TEXT NOT NULL,  -- JSON array of strings
    attributes  TEXT NOT NULL,  -- JSON object of string -> string
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);

CREATE TABLE nodes (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    pincode    TEXT NOT NULL,
    tags       TEXT NOT NULL,  -- JSON array of strings
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE stock (
    tenant_id TEXT NOT NULL,
    node_id   TEXT NOT NULL,
    sku       TEXT NOT NULL,
    quantity  BIGINT NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (tenant_id, node_id, sku),
    FOREIGN KEY (tenant_id, node_id) REFERENCES nodes (tenant_id, id)
);

-- Uploaded components, content-addressed per tenant.
CREATE TABLE plugins (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    digest      TEXT NOT NULL,  -- sha256:<hex>
    contract    TEXT NOT NULL,
    hooks       TEXT NOT NULL,  -- JSON array
    size_bytes  BIGINT NOT NULL,
    wasm        BYTEA NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, digest)
);

-- Every deployment ever made. Per (tenant, hook) at most one is `active`; deploying supersedes
-- it, rolling back marks it `rolled-back` and re-activates the newest `superseded` one.
CREATE TABLE deployments (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    id             TEXT NOT NULL,
    hook           TEXT NOT NULL,
    plugin_digest  TEXT NOT NULL,
    config         TEXT NOT NULL,  -- JSON object
    failure_policy TEXT NOT NULL,
    limits         TEXT NOT NULL,  -- JSON object
    status         TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, plugin_digest) REFERENCES plugins (tenant_id, digest)
);
CREATE UNIQUE INDEX deployments_one_active ON deployments (tenant_id, hook) WHERE status = 'active';
CREATE UNIQUE INDEX deployments_seq ON deployments (tenant_id, hook, seq);

CREATE TABLE orders (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    id              TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    total_minor     BIGINT NOT NULL,
    body            TEXT NOT NULL,  -- JSON: the order as the API returns it
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX orders_recent ON orders (tenant_id, created_at DESC, id DESC);

CREATE TABLE reservations (
    tenant_id TEXT NOT NULL,
    order_id  TEXT NOT NULL,
    node_id   TEXT NOT NULL,
    sku       TEXT NOT NULL,
    quantity  BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, order_id, node_id, sku),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);

-- Domain events, written in the same transaction as the change they describe.
CREATE TABLE outbox (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,  -- JSON
    created_at BIGINT NOT NULL,
    relayed_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE relayed_at IS NULL;
CREATE INDEX outbox_tenant ON outbox (tenant_id, seq);

CREATE TABLE plugin_runs (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    hook              TEXT NOT NULL,
    deployment_id     TEXT NOT NULL,
    plugin_digest     TEXT NOT NULL,
    outcome           TEXT NOT NULL,  -- ok | skipped | failed
    error_kind        TEXT,
    error             TEXT,
    duration_us       BIGINT NOT NULL,
    fuel_used         BIGINT NOT NULL,
    peak_memory_bytes BIGINT NOT NULL,
    input_digest      TEXT NOT NULL,
    logs              TEXT NOT NULL,  -- JSON array, capped by the call's log limit
    logs_truncated    BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX plugin_runs_tenant ON plugin_runs (tenant_id, id DESC);
CREATE INDEX plugin_runs_age ON plugin_runs (created_at);

-- Row-level security on every tenant-owned table, forced so that it holds for the owner too.
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'products', 'nodes', 'stock', 'plugins', 'deployments',
                             'orders', 'reservations', 'outbox', 'plugin_runs'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I
               USING (tenant_id = current_setting(''app.tenant_id'', true)
                      OR current_setting(''app.scope'', true) = ''system'')
               WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true)
                           OR current_setting(''app.scope'', true) = ''system'')', t);
    END LOOP;
END
$$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = current_setting('app.tenant_id', true)
           OR current_setting('app.scope', true) = 'system')
    WITH CHECK (id = current_setting('app.tenant_id', true)
                OR current_setting('app.scope', true) = 'system');

-- The service's role gets rows, never the schema. It is created by whoever provisions the
-- database (see README); a migration that cannot find it says so instead of granting nothing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mandi_app') THEN
        RAISE EXCEPTION 'role mandi_app does not exist: create it first (CREATE ROLE mandi_app LOGIN)';
    END IF;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mandi_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mandi_app;
