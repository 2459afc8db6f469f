//! What every reconcile shares: the Kubernetes client, the events' reporter, the metrics, the
//! settings from the command line, the trigger package, and the caches.

use std::sync::Arc;
use std::time::Duration;

use kube::api::Api;
use kube::runtime::events::Reporter;

use super::FIELD_MANAGER;
use super::caches::Caches;
use super::errors::Error;
use super::key_store::KeyStore;
use super::secrets::namespace_and_name;
use crate::aws::Clients;
use crate::crd::PasswordlessPool;
use crate::metrics::Metrics;
use crate::tenancy::Platform;
use crate::trigger_code::TriggerCode;

/// What `run` needs from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Where the signing-key Secrets live.
    pub keys_namespace: String,
    /// Where an older release kept them: each one found there is moved on its first read.
    pub keys_migrate_from: Option<String>,
    /// How often an in-sync pool is compared with AWS again.
    pub resync: Duration,
    /// Pools reconciled at once, across all namespaces ([`super::DEFAULT_CONCURRENCY`] unless set).
    pub concurrency: usize,
    /// Names this replica in events.
    pub identity: String,
    /// The cluster id and the platform team's rules per namespace.
    pub platform: Platform,
}

pub struct Context {
    pub(super) client: kube::Client,
    /// Names this replica in the events it publishes.
    pub(super) reporter: Reporter,
    pub(super) metrics: Arc<Metrics>,
    pub(super) settings: Settings,
    /// The trigger Lambdas' code, deployed to every pool.
    pub(super) code: TriggerCode,
    pub(super) caches: Caches,
}

impl Context {
    pub fn new(
        client: kube::Client,
        settings: Settings,
        code: TriggerCode,
        metrics: Arc<Metrics>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: Some(settings.identity.clone()),
        };
        Self {
            reporter,
            client,
            metrics,
            settings,
            code,
            caches: Caches::default(),
        }
    }

    /// The PasswordlessPools of the pool's namespace.
    pub(super) fn api(&self, pool: &PasswordlessPool) -> Result<Api<PasswordlessPool>, Error> {
        let (namespace, _) = namespace_and_name(pool)?;
        Ok(Api::namespaced(self.client.clone(), namespace))
    }

    /// The signing-key Secrets, in the keys namespace.
    pub(super) fn key_store(&self) -> KeyStore {
        KeyStore::new(
            self.client.clone(),
            &self.settings.keys_namespace,
            self.settings.keys_migrate_from.as_deref(),
        )
    }

    /// The AWS clients for `region` (`None`: the default), in the account the platform team
    /// mapped the pool's namespace to.
    pub(super) async fn clients(
        &self,
        pool: &PasswordlessPool,
        region: Option<&str>,
    ) -> Result<Clients, Error> {
        let (namespace, _) = namespace_and_name(pool)?;
        let account = self
            .settings
            .platform
            .tenancy
            .account(namespace)
            .map_err(crate::reconcile::Error::from)?;
        Ok(self.caches.clients(region, &account, &self.metrics).await?)
    }
}
