-- Mandi's checkout service on SQLite. Every tenant-owned table carries tenant_id and every
-- query filters on it; times are unix milliseconds; money is integer minor units.

CREATE TABLE tenants (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    currency           TEXT NOT NULL,
    time_zone          TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL,
    created_at         INTEGER NOT NULL
);

-- A key is shown once as `mk_<key_id>_<secret>`; only the secret's SHA-256 is kept.
CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE products (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    sku         TEXT NOT NULL,
    title       TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency    TEXT NOT NULL,
    category    TEXT NOT NULL,
    brand       TEXT NOT NULL,
    tags        TEXT NOT NULL,  -- JSON array of strings
    attributes  TEXT NOT NULL,  -- JSON object of string -> string
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);

CREATE TABLE nodes (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    pincode    TEXT NOT NULL,
    tags       TEXT NOT NULL,  -- JSON array of strings
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE stock (
    tenant_id TEXT NOT NULL,
    node_id   TEXT NOT NULL,
    sku       TEXT NOT NULL,
    quantity  INTEGER NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (tenant_id, node_id, sku),
    FOREIGN KEY (tenant_id, node_id) REFERENCES nodes (tenant_id, id)
);

-- Uploaded components, content-addressed per tenant.
CREATE TABLE plugins (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    digest      TEXT NOT NULL,  -- sha256:<hex>
    contract    TEXT NOT NULL,
    hooks       TEXT NOT NULL,  -- JSON array
    size_bytes  INTEGER NOT NULL,
    wasm        BLOB NOT NULL,
    uploaded_at INTEGER NOT NULL,
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
    seq            INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
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
    total_minor     INTEGER NOT NULL,
    body            TEXT NOT NULL,  -- JSON: the order as the API returns it
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX orders_recent ON orders (tenant_id, created_at DESC, id DESC);

CREATE TABLE reservations (
    tenant_id TEXT NOT NULL,
    order_id  TEXT NOT NULL,
    node_id   TEXT NOT NULL,
    sku       TEXT NOT NULL,
    quantity  INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, order_id, node_id, sku),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);

-- Domain events, written in the same transaction as the change they describe.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,  -- JSON
    created_at INTEGER NOT NULL,
    relayed_at INTEGER
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE relayed_at IS NULL;
CREATE INDEX outbox_tenant ON outbox (tenant_id, seq);

CREATE TABLE plugin_runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id         TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    hook              TEXT NOT NULL,
    deployment_id     TEXT NOT NULL,
    plugin_digest     TEXT NOT NULL,
    outcome           TEXT NOT NULL,  -- ok | skipped | failed
    error_kind        TEXT,
    error             TEXT,
    duration_us       INTEGER NOT NULL,
    fuel_used         INTEGER NOT NULL,
    peak_memory_bytes INTEGER NOT NULL,
    input_digest      TEXT NOT NULL,
    logs              TEXT NOT NULL,  -- JSON array, capped by the call's log limit
    logs_truncated    INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX plugin_runs_tenant ON plugin_runs (tenant_id, id DESC);
CREATE INDEX plugin_runs_age ON plugin_runs (created_at);
