//! Deployment changes across nodes. On PostgreSQL a deploy or rollback notifies the
//! `mandi_deployments` channel with the tenant's id inside its transaction, so the notification
//! goes out exactly when the change commits; every node listens and drops that tenant's cached
//! hooks, so the next request anywhere runs the new version. SQLite is one process: the node
//! that deploys already knows.

use sqlx::postgres::PgListener;

use super::{Backend, Result, Store, Tx};

const CHANNEL: &str = "mandi_deployments";

/// What a [`DeploymentWatch`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentChange {
    /// This tenant's deployments changed.
    Tenant(String),
    /// The connection dropped and was re-established: notifications may have been missed, so
    /// any tenant may have changed.
    Unknown,
}

/// A listener for other nodes' deployment changes.
#[derive(Debug)]
pub struct DeploymentWatch {
    listener: PgListener,
}

impl DeploymentWatch {
    /// The next change; reconnects by itself after a dropped connection.
    pub async fn next(&mut self) -> Result<DeploymentChange> {
        Ok(match self.listener.try_recv().await? {
            Some(notification) => DeploymentChange::Tenant(notification.payload().to_owned()),
            None => DeploymentChange::Unknown,
        })
    }
}

impl Store {
    /// Listens for deployment changes made by any node; `None` on SQLite (a single process).
    pub async fn watch_deployments(&self) -> Result<Option<DeploymentWatch>> {
        let Some(url) = &self.listen_url else {
            return Ok(None);
        };
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(DeploymentWatch { listener }))
    }

    /// Tells every node, when `tx` commits, that `tenant`'s deployments changed.
    pub(super) async fn notify_deployment(&self, tx: &mut Tx, tenant: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(tenant)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}
