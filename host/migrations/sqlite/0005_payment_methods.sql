-- Each tenant's payment methods, in the order shoppers are offered them; a payment plugin may
-- hide, rename or reorder them per checkout.
CREATE TABLE payment_methods (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    position  INTEGER NOT NULL,
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
