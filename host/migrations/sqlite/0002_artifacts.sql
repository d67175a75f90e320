-- Compiled components, shared by every node on the database so that each component is compiled
-- once per engine configuration rather than once per node. Not tenant-owned: an artifact derives
-- from the component's bytes alone, whichever tenants uploaded them. An artifact is native code
-- the nodes run, so each carries an HMAC made with a key only the nodes hold.
CREATE TABLE artifacts (
    digest     TEXT NOT NULL,  -- sha256:<hex> of the component
    engine     TEXT NOT NULL,  -- the runtime's engine fingerprint: artifacts only fit their engine
    bytes      BLOB NOT NULL,  -- wasmtime's serialized component
    signature  BLOB NOT NULL,  -- HMAC-SHA256 over digest, engine and bytes
    size_bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (digest, engine)
);
