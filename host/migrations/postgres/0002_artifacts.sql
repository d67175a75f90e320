-- Compiled components, shared by every node on the database so that each component is compiled
-- once per engine configuration rather than once per node. Not tenant-owned: an artifact derives
-- from the component's bytes alone, whichever tenants uploaded them, so it has no tenant_id and
-- no row-level security. An artifact is native code the nodes run, so each carries an HMAC
-- made with a key only the nodes hold: a row forged by someone who can merely write the database
-- fails the check and is compiled afresh instead of run.
CREATE TABLE artifacts (
    digest     TEXT NOT NULL,  -- sha256:<hex> of the component
    engine     TEXT NOT NULL,  -- the runtime's engine fingerprint: artifacts only fit their engine
    bytes      BYTEA NOT NULL, -- wasmtime's serialized component
    signature  BYTEA NOT NULL, -- HMAC-SHA256 over digest, engine and bytes
    size_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (digest, engine)
);

-- A node replaces a row whose signature it cannot verify (e.g. after the key changed).
-- (0001 checked that the role exists.)
GRANT SELECT, INSERT, UPDATE ON artifacts TO mandi_app;
