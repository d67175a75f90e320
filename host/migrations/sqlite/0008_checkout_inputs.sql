-- What each checkout that called a plugin gave the pipeline (a `mandi plugin quote` input, JSON):
-- its context, the cart at catalog prices, the stock of its skus, the catalog lines looked up and
-- the payment methods. Replays re-run a tenant's recorded checkouts from it. Kept as long as the
-- plugin runs of the same request (the run retention), found by request id and time.
CREATE TABLE checkout_inputs (
    tenant_id  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    input      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX checkout_inputs_request ON checkout_inputs (tenant_id, request_id);
CREATE INDEX checkout_inputs_age ON checkout_inputs (created_at);
