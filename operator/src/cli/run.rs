//! `run`: the in-cluster controller. Serves the probes and metrics at once, then leads (see
//! `controller::lead`) until SIGTERM, handing the Lease back. A lost Lease stops the
//! reconciles and waits to lead again, in the same process.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use futures::FutureExt;
use passwordless_operator::controller::{self, leader};
use passwordless_operator::http;
use passwordless_operator::metrics::Metrics;
use passwordless_operator::tenancy::Tenancy;
use passwordless_operator::trigger_code::TriggerCode;

use super::args::RunArgs;

/// Leader election, then the controllers, until SIGTERM.
pub async fn run(args: RunArgs) -> Result<()> {
    // Read once for its digest; read again only to deploy a function.
    let code = TriggerCode::from_file(&args.trigger.zip).with_context(|| {
        format!(
            "reading the trigger zip {} (build it with `make triggers`, or set PWP_TRIGGER_ZIP)",
            args.trigger.zip.display()
        )
    })?;
    // A bad tenancy file stops the start: running with rules other than the platform team's
    // would be worse than not running.
    let platform = args.platform.platform(Tenancy::default())?;
    let client = kube::Client::try_default()
        .await
        .context("connecting to Kubernetes")?;
    let metrics = Arc::new(Metrics::default());
    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("listening on {}", args.http_addr))?;
    tokio::spawn(http::serve(listener, metrics.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopping = stopped.map(|_| ()).shared();
    tokio::spawn(async move {
        termination().await;
        tracing::info!("termination signal: finishing reconciles in flight");
        let _ = stop.send(());
    });
    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let lease = leader::Leader::new(
        client.clone(),
        leader::LeaseSettings {
            name: args.lease_name,
            namespace: args.operator_namespace.clone(),
            identity: identity.clone(),
            duration: Duration::from_secs(args.lease_seconds.max(2)),
        },
    );
    let ctx = Arc::new(controller::Context::new(
        client,
        controller::Settings {
            namespaces: args.namespaces,
            keys_namespace: args.keys_namespace.unwrap_or(args.operator_namespace),
            keys_migrate_from: args.keys_migrate_from,
            resync: Duration::from_secs(args.resync_seconds.max(1)),
            concurrency: args.concurrency.max(1),
            identity,
            platform,
        },
        code,
        metrics,
    ));
    controller::lead(ctx, &lease, stopping).await;
    Ok(())
}

/// Resolves on SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `<hostname>-<pid>`: distinct per replica, and per restart of one.
fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "passwordless-operator".into());
    format!("{host}-{}", std::process::id())
}
