//! Compiled components shared by every node on the database, keyed by the component's digest and
//! the engine's fingerprint, so that a component is compiled once per engine configuration, not
//! once per node. Not tenant-owned: an artifact derives from the component's bytes alone.

use sqlx::Row;

use super::{Result, Store, now_ms};

/// A stored artifact and the signature its node made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedArtifact {
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Store {
    /// The artifact some node stored for component `digest` on engine `engine`, if any.
    pub async fn artifact(&self, digest: &str, engine: &str) -> Result<Option<SignedArtifact>> {
        // The table has no tenant and no row-level security; only the system role may read it
        // (the tenant-serving role has no rights on it at all).
        let mut tx = self.system_tx(false).await?;
        let row =
            sqlx::query("SELECT bytes, signature FROM artifacts WHERE digest = $1 AND engine = $2")
                .bind(digest)
                .bind(engine)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        row.map(|r| {
            Ok(SignedArtifact {
                bytes: r.try_get("bytes")?,
                signature: r.try_get("signature")?,
            })
        })
        .transpose()
    }

    /// Stores an artifact, replacing any other for the same component and engine: a node only
    /// stores one after the stored one was missing or failed its check, and when nodes race,
    /// any of theirs is as good (the same compiler compiled the same bytes).
    pub async fn put_artifact(
        &self,
        digest: &str,
        engine: &str,
        artifact: &SignedArtifact,
    ) -> Result<()> {
        let mut tx = self.system_tx(true).await?;
        sqlx::query(
            "INSERT INTO artifacts (digest, engine, bytes, signature, size_bytes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (digest, engine) DO UPDATE SET
               bytes = excluded.bytes, signature = excluded.signature,
               size_bytes = excluded.size_bytes, created_at = excluded.created_at",
        )
        .bind(digest)
        .bind(engine)
        .bind(&artifact.bytes)
        .bind(&artifact.signature)
        .bind(i64::try_from(artifact.bytes.len()).unwrap_or(i64::MAX))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
