//! The in-cluster controller: a kube-runtime Controller over PasswordlessPools that calls the
//! same reconcile core as the CLI, keeps signing keys in the operator's namespace, writes the
//! output Secret and the status, emits events on transitions, and cleans AWS up behind a
//! finalizer.
//!
//! | module | job |
//! |---|---|
//! | `wiring` | `lead` and `run`: leader election, the Controllers, their watches, the bound on reconciles, the error policy |
//! | `reconcile` | one pool: Apply (AWS, status, output Secret) and Cleanup behind the finalizer |
//! | `reporting` | status patches (only when changed), IDs as assigned, events on transitions |
//! | `schedule` | when a pool is looked at again: resync, rechecks, backoff (pure) |
//! | `errors` | the `Error`, its stable metric label and `Ready` reason |
//! | `context`, `caches` | what reconciles share, and what they remember |
//! | `keys`, `output`, `secrets` | the signing-key Secrets, the output Secret, both's common ground |
//! | `leader` | the leader Lease |

mod caches;
mod context;
mod errors;
mod finalize;
pub mod key_store;
pub mod leader;
pub mod output;
mod reporting;
mod schedule;
mod secrets;
mod wiring;

pub use context::{Context, Settings};
pub use errors::Error;
pub use schedule::backoff;
pub use wiring::{lead, run};

/// Pools reconciled at once, unless `--concurrency` (the chart's `concurrency`) says otherwise.
/// Enough that one account's first apply of a fleet keeps the pacer's queues full (a new
/// pool's reconcile is a few seconds of calls in series, most of it waiting on AWS): at 8, a
/// fleet across three accounts used half their read quotas. Across ten accounts the bench's
/// emulator binds (each account's quotas at 15 %; at 96 the time per call tripled, no faster),
/// and each reconcile in flight costs memory (RSS at rest 72 MiB at 32, 88 MiB at 96).
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Guards the AWS cleanup of a pool.
pub const FINALIZER: &str = "passwordless-operator.dev/aws-cleanup";
/// The server-side apply field manager of everything this operator writes.
pub const FIELD_MANAGER: &str = "passwordless-operator.dev";
/// Marks the Secrets this operator writes; its Secret watch selects on it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
